//! Backing up, listing, verifying and restoring backups, and showing their folder.

use dockhand_core::backup::{BackupProgress, BackupScope, Restored, Verification};
use dockhand_core::store::BackupRow;
use dockhand_core::supervisor::SupervisorEvent;
use tauri::Emitter;
use tauri::{AppHandle, Runtime, State};

use super::Res;
use crate::error::UiError;
use crate::state::AppState;

/// Backs up every database of one service ("Back up now"), reporting bytes as it goes.
#[tauri::command]
pub async fn backup_service<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
) -> Res<Vec<BackupRow>> {
    let m = state.manager().await?;
    let progress = backup_progress(&app);
    let r = m
        .backup(&name, &BackupScope::All, "manual", &progress)
        .await;
    announce_backups(&app, &name, &r).await;
    let _ = app.emit("backups-changed", ());
    Ok(r?)
}

/// Backs up every database of every running service ("Back up all now").
#[tauri::command]
pub async fn backup_all<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Res<Vec<BackupRow>> {
    let m = state.manager().await?;
    let progress = backup_progress(&app);
    let (done, failed) = m.backup_all_running("manual", &progress).await?;
    for b in &done {
        crate::announce(&app, &SupervisorEvent::BackupDone { backup: b.clone() }).await;
    }
    let first_failure = failed.into_iter().next();
    if let Some((service, e)) = &first_failure {
        crate::announce(
            &app,
            &SupervisorEvent::BackupFailed {
                service: service.clone(),
                reason: e.to_string(),
            },
        )
        .await;
    }
    let _ = app.emit("backups-changed", ());
    match first_failure {
        Some((_, e)) => Err(e.into()),
        None => Ok(done),
    }
}

/// Bytes written so far, for the window's progress line.
fn backup_progress<R: Runtime>(app: &AppHandle<R>) -> impl Fn(BackupProgress) + Send + Sync {
    let app = app.clone();
    move |p: BackupProgress| {
        let _ = app.emit("backup-progress", &p);
    }
}

async fn announce_backups<R: Runtime>(
    app: &AppHandle<R>,
    service: &str,
    r: &Result<Vec<BackupRow>, dockhand_core::CoreError>,
) {
    match r {
        Ok(rows) => {
            for b in rows {
                crate::announce(app, &SupervisorEvent::BackupDone { backup: b.clone() }).await;
            }
        }
        Err(e) => {
            crate::announce(
                app,
                &SupervisorEvent::BackupFailed {
                    service: service.to_string(),
                    reason: e.to_string(),
                },
            )
            .await
        }
    }
}

#[tauri::command]
pub async fn backups(state: State<'_, AppState>) -> Res<Vec<BackupRow>> {
    Ok(state.manager().await?.backups(None, None)?)
}

#[tauri::command]
pub async fn verify_backup(state: State<'_, AppState>, id: i64) -> Res<Verification> {
    Ok(state.manager().await?.verify(id).await?)
}

/// Restores a backup into `into` (default: its own database). The window asks before it
/// passes `overwrite`; the core backs the database up before replacing it.
#[tauri::command]
pub async fn restore_backup<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: i64,
    into: Option<String>,
    overwrite: bool,
) -> Res<Restored> {
    let m = state.manager().await?;
    let into = into.filter(|s| !s.trim().is_empty());
    let r = m.restore(id, into.as_deref(), overwrite, &|_| {}).await;
    let _ = app.emit("backups-changed", ());
    Ok(r?)
}

/// Opens the backups folder in the file manager.
#[tauri::command]
pub async fn reveal_backups(state: State<'_, AppState>) -> Res<String> {
    let dir = state.manager().await?.backup_policy()?.dir;
    std::fs::create_dir_all(&dir)
        .map_err(|e| UiError::new("io", format!("{}: {e}", dir.display())))?;
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(&dir)
        .spawn()
        .map_err(|e| {
            UiError::new(
                "io",
                format!("could not open {} with {opener}: {e}", dir.display()),
            )
        })?;
    Ok(dir.display().to_string())
}
