//! Backing up, listing, verifying and restoring backups, and showing their folder.

use dockhand_core::facade::BackupRow;
use dockhand_core::facade::{BackupScope, Restored, Verification};
use tauri::Emitter;
use tauri::{AppHandle, Runtime, State};

use super::{progress_events, Res};
use crate::error::UiError;
use crate::notify;
use crate::state::AppState;

/// Backs up every database of one service ("Back up now"), reporting bytes as it goes.
#[tauri::command]
pub async fn backup_service<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
) -> Res<Vec<BackupRow>> {
    let m = state.manager().await?;
    let progress = progress_events(&app);
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
    let progress = progress_events(&app);
    let (done, failed) = m.backup_all_running("manual", &progress).await?;
    let first_failure = failed.into_iter().next();
    crate::announce_news(&app, |describe| {
        let first = first_failure
            .as_ref()
            .map(|(s, e)| (s.as_str(), e.to_string()));
        notify::backup_all_news(&done, first, describe)
    })
    .await;
    let _ = app.emit("backups-changed", ());
    match first_failure {
        Some((_, e)) => Err(e.into()),
        None => Ok(done),
    }
}

async fn announce_backups<R: Runtime>(
    app: &AppHandle<R>,
    service: &str,
    r: &Result<Vec<BackupRow>, dockhand_core::CoreError>,
) {
    crate::announce_news(app, |describe| {
        let result = r.as_deref().map_err(|e| e.to_string());
        notify::service_backup_news(service, result, describe)
            .into_iter()
            .collect()
    })
    .await
}

#[tauri::command]
pub async fn backups(state: State<'_, AppState>) -> Res<Vec<BackupRow>> {
    Ok(state.manager().await?.backups(None, None)?)
}

#[tauri::command]
pub async fn verify_backup(state: State<'_, AppState>, id: i64) -> Res<Verification> {
    Ok(state.manager().await?.verify(id).await?)
}

/// Restores a backup into `into` (default: its own database). Replacing an existing database
/// (`overwrite`) is confirmed with a native dialog first (`None` when the user says no); the core
/// backs the database up before replacing it.
#[tauri::command]
pub async fn restore_backup<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: i64,
    into: Option<String>,
    overwrite: bool,
) -> Res<Option<Restored>> {
    let m = state.manager().await?;
    let into = into.filter(|s| !s.trim().is_empty());
    if overwrite {
        let target = match &into {
            Some(db) => db.clone(),
            None => m
                .backups(None, None)?
                .into_iter()
                .find(|b| b.id == id)
                .map(|b| b.database)
                .unwrap_or_else(|| format!("the database of backup {id}")),
        };
        let question = format!(
            "Replace database “{target}” with backup {id}?\n\nIts current contents are backed up first."
        );
        if !crate::dialogs::confirm(&app, "Replace database", &question, "Replace").await {
            return Ok(None);
        }
    }
    let r = m
        .restore(id, into.as_deref(), overwrite, &progress_events(&app))
        .await;
    let _ = app.emit("backups-changed", ());
    Ok(Some(r?))
}

/// Opens the backups folder in the file manager. The window always shows the path with a copy
/// button too: without a file manager (or a handler for folders) `xdg-open` fails, and that is
/// said rather than nothing happening.
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
    let cant = |why: String| {
        UiError::new(
            "no_file_manager",
            format!(
                "could not open {} ({why}); copy its path instead",
                dir.display()
            ),
        )
    };
    let mut child = tokio::process::Command::new(opener)
        .arg(&dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(false)
        .spawn()
        .map_err(|e| cant(format!("{opener}: {e}")))?;
    // xdg-open returns at once when a file manager took the folder and fails when none can;
    // a file manager that keeps running in its place is a success too.
    match tokio::time::timeout(std::time::Duration::from_secs(3), child.wait()).await {
        Ok(Ok(s)) if !s.success() && !cfg!(windows) => Err(cant(format!(
            "{opener} exited with {s}: no file manager handles folders here"
        ))),
        Ok(Err(e)) => Err(cant(format!("{opener}: {e}"))),
        _ => Ok(dir.display().to_string()),
    }
}

/// Where backups go (for the window to show with a copy button).
#[tauri::command]
pub async fn backups_folder(state: State<'_, AppState>) -> Res<String> {
    Ok(state
        .manager()
        .await?
        .backup_policy()?
        .dir
        .display()
        .to_string())
}
