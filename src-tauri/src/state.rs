//! The app's state: the core as a desktop process holds it ([`CoreState`]: the manager, its
//! supervisor, the last snapshot), the log stream the window follows, and whether a tray icon
//! can be seen.

use std::sync::Mutex;

pub use dockhand_core::facade::Snapshot;
use dockhand_tray::core_state::CoreState;

pub struct AppState {
    core: CoreState,
    /// The log stream the window follows (one at a time).
    pub logs: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
    /// Whether the desktop shows tray icons (asked once at start).
    pub tray_host: Mutex<Option<crate::desktop::TrayHost>>,
}

impl Default for AppState {
    fn default() -> Self {
        AppState::new(true)
    }
}

impl AppState {
    /// `supervising`: this process acts on health; the window process of Linux's tray only
    /// watches (the tray process acts).
    pub fn new(supervising: bool) -> AppState {
        AppState {
            core: CoreState::new(supervising),
            logs: Default::default(),
            tray_host: Default::default(),
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = CoreState;

    fn deref(&self) -> &CoreState {
        &self.core
    }
}
