//! The app's state: the core's manager (opened lazily, so the app starts — and says why — when
//! Docker is not running), its supervisor, and the last snapshot the core gave.

use std::sync::{Arc, Mutex};

use dockhand_core::facade::supervisor::{self, SupervisorHandle};
pub use dockhand_core::facade::Snapshot;
use dockhand_core::{CoreError, Manager};

#[derive(Default)]
pub struct AppState {
    manager: tokio::sync::Mutex<Option<Arc<Manager>>>,
    supervisor: Mutex<Option<SupervisorHandle>>,
    pub last: Mutex<Option<Snapshot>>,
    /// The log stream the window follows (one at a time).
    pub logs: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
    /// Whether the desktop shows tray icons (asked once at start).
    pub tray_host: Mutex<Option<crate::desktop::TrayHost>>,
}

impl AppState {
    /// The manager, connecting to Docker on first use (and again after a failed attempt).
    pub async fn manager(&self) -> Result<Arc<Manager>, CoreError> {
        let mut m = self.manager.lock().await;
        if let Some(m) = m.as_ref() {
            return Ok(m.clone());
        }
        let opened = Arc::new(dockhand_core::open_default().await?);
        *m = Some(opened.clone());
        // The app acts on health (records transitions, restarts failed services whose policy
        // says so, runs the backup schedule) unless `dockhand supervise` already does.
        let (sup, acting) = supervisor::spawn_exclusive(opened.clone())?;
        if !acting {
            tracing::info!("another process supervises this home; the app only watches");
        }
        *self.supervisor.lock().unwrap() = Some(sup);
        Ok(opened)
    }

    pub fn supervisor(&self) -> Option<SupervisorHandle> {
        self.supervisor.lock().unwrap().clone()
    }

    /// Has the supervisor look at every service now (after the user acted on one) and waits
    /// until its snapshot shows the result.
    pub async fn settle(&self) {
        if let Some(s) = self.supervisor() {
            s.refresh_now(std::time::Duration::from_secs(5)).await;
        }
    }

    /// A fresh snapshot: reconciles with Docker (the app does the supervisor's work of stopping
    /// services nobody uses any more) and probes every running service.
    pub async fn refresh(&self) -> Snapshot {
        let snap = match self.manager().await {
            Ok(m) => match m.snapshot(self.supervisor().map(|s| s.current())).await {
                Ok(s) => s,
                Err(e) => Snapshot::offline(Some(&m), e.to_string()),
            },
            Err(e) => Snapshot::offline(None, e.to_string()),
        };
        *self.last.lock().unwrap() = Some(snap.clone());
        snap
    }
}
