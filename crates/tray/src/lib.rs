//! Dockhand's desktop side without a webview. On Linux the tray runs as a process of its own
//! (`dockhand-tray`): the icon and its menu (a StatusNotifierItem over D-Bus, no GTK), the
//! supervisor and the notifications. The window is a second process (`dockhand-app --window`)
//! that exists only while it is open, so WebKit's memory (and the OpenGL stack GTK loads) goes
//! with it (docs/BENCHMARK.md has the figures). This library also holds what both processes
//! share: the notifications, the desktop checks, the start rules and how they talk.

pub mod core_state;
pub mod desktop;
pub mod ipc;
pub mod launch;
pub mod notify;

#[cfg(target_os = "linux")]
mod linux;

#[cfg(target_os = "linux")]
pub use linux::run;

/// Elsewhere the tray lives in the Tauri app (macOS and Windows draw it without GTK).
#[cfg(not(target_os = "linux"))]
pub fn run() -> i32 {
    eprintln!("dockhand-tray is Linux's tray process; run dockhand-app on this system");
    2
}
