//! The window itself: its snapshot, the event log, the login item, and the answer to Quit.

use dockhand_core::facade::EventRow;
use dockhand_core::facade::Snapshot;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_autostart::ManagerExt as _;

use super::Res;
use crate::error::UiError;
use crate::state::AppState;

#[tauri::command]
pub async fn status<R: Runtime>(app: AppHandle<R>) -> Res<Snapshot> {
    Ok(crate::refresh(&app).await)
}

#[tauri::command]
pub async fn events(state: State<'_, AppState>, limit: Option<usize>) -> Res<Vec<EventRow>> {
    Ok(state.manager().await?.events(None, limit.unwrap_or(200))?)
}

/// What About shows: the release and the commit it was built from (set by build.rs).
#[derive(Debug, serde::Serialize)]
pub struct About {
    pub version: &'static str,
    pub commit: &'static str,
}

#[tauri::command]
pub fn about() -> About {
    About {
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("DOCKHAND_GIT_COMMIT"),
    }
}

#[tauri::command]
pub async fn get_autostart<R: Runtime>(app: AppHandle<R>) -> Res<bool> {
    app.autolaunch()
        .is_enabled()
        .map_err(|e| UiError::new("autostart", format!("could not read the login item: {e}")))
}

#[tauri::command]
pub async fn set_autostart<R: Runtime>(app: AppHandle<R>, enabled: bool) -> Res<bool> {
    crate::set_autostart(&app, enabled)?;
    crate::refresh(&app).await;
    Ok(enabled)
}

/// The answer to the Quit question: stop the services or keep them running; remembered.
#[tauri::command]
pub async fn quit_app<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    stop_services: bool,
) -> Res<()> {
    state
        .manager()
        .await?
        .set_setting("quit", if stop_services { "stop" } else { "keep" })?;
    crate::finish_quit(&app, stop_services).await;
    Ok(())
}

/// What the window needs to know about the desktop and the engine beyond the snapshot: whether
/// a tray icon can be seen (and how to get one), and how to start Docker on this OS.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ShellInfo {
    pub tray: crate::desktop::TrayHost,
    pub start_docker: &'static str,
}

#[tauri::command]
pub async fn shell_info(state: State<'_, AppState>) -> Res<ShellInfo> {
    let tray = state.tray_host.lock().unwrap().clone();
    let tray = match tray {
        Some(t) => t,
        None => crate::desktop::tray_host().await,
    };
    Ok(ShellInfo {
        tray,
        start_docker: if cfg!(target_os = "macos") {
            "Open Docker Desktop (or run `colima start`), then press Check again."
        } else if cfg!(windows) {
            "Start Docker Desktop, then press Check again."
        } else {
            "Start it with `sudo systemctl start docker` (install it with `sudo apt install docker.io`, and add yourself to the docker group: `sudo usermod -aG docker $USER`, then log in again), then press Check again."
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_names_the_release_and_a_commit() {
        let about = about();
        assert_eq!(about.version, env!("CARGO_PKG_VERSION"));
        assert!(!about.commit.is_empty(), "empty commit");
    }
}
