//! The databases in a service: listed from the server, created with their own user (as a
//! project's are), dropped after a backup and a native confirmation.

use dockhand_core::facade::DatabaseView;
use dockhand_core::facade::{AttachmentRow, BackupRow};
use tauri::{AppHandle, Emitter, Runtime, State};

use super::{after_action, progress_events, Res};
use crate::state::AppState;

#[tauri::command]
pub async fn databases(state: State<'_, AppState>, service: String) -> Res<Vec<DatabaseView>> {
    Ok(state.manager().await?.databases(&service).await?)
}

/// A new database with its own user and password (in the keychain), registered as a project
/// without a folder so its URL can be copied and it can be backed up and removed like any other.
#[tauri::command]
pub async fn create_database<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    service: String,
    name: String,
) -> Res<AttachmentRow> {
    let m = state.manager().await?;
    let r = m.create_database(&service, name.trim()).await;
    after_action(&app, &state).await;
    Ok(r?)
}

/// Drops a database after a native confirmation; the core backs it up first and refuses to drop
/// when the backup fails. `None` when the user said no.
#[tauri::command]
pub async fn drop_database<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    service: String,
    name: String,
) -> Res<Option<BackupRow>> {
    let question = format!(
        "Drop database “{name}” on {service}?\n\nIt is backed up first (Backups can restore it); \
         then the database and its user are removed."
    );
    if !crate::dialogs::confirm(&app, "Drop database", &question, "Back up and drop").await {
        return Ok(None);
    }
    let m = state.manager().await?;
    let r = m
        .drop_database(&service, &name, &progress_events(&app))
        .await;
    let _ = app.emit("backups-changed", ());
    after_action(&app, &state).await;
    Ok(r?)
}
