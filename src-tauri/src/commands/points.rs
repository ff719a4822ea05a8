//! Copies of a project's data from its card: restore points (take, reset, delete) and its git
//! branches' databases (the toggle, delete). What loses something asks first in a native
//! dialog; taking a point while the project's app is connected asks before ending its sessions
//! (PostgreSQL copies a database only while nobody is connected).

use dockhand_core::CoreError;
use tauri::{AppHandle, Emitter as _, Runtime, State};

use super::{after_action, progress_events, Res};
use crate::state::AppState;

/// Takes a restore point (named after the time when `label` is empty). `None` when the user
/// would not have the project's sessions ended.
#[tauri::command]
pub async fn take_point<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
    label: Option<String>,
) -> Res<Option<dockhand_core::facade::TakenPoint>> {
    let m = state.manager().await?;
    let label = label
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty());
    let taken = match m
        .take_restore_point(&project, label.as_deref(), false)
        .await
    {
        Err(CoreError::SessionsOpen {
            database, sessions, ..
        }) => {
            let question = format!(
                "End {sessions} session(s) of “{project}” and take the restore point?\n\n\
                 PostgreSQL copies a database only while nobody is connected to it, and \
                 {sessions} session(s) are connected to {database} (your app, a psql, a test \
                 run). Only the project's own sessions are ended; other projects are not touched."
            );
            if !crate::dialogs::confirm(&app, "Take restore point", &question, "End them and take")
                .await
            {
                return Ok(None);
            }
            m.take_restore_point(&project, label.as_deref(), true).await
        }
        other => other,
    };
    after_action(&app, &state).await;
    Ok(Some(taken?))
}

/// Resets the project's databases to a restore point, after a native confirmation; each is
/// backed up first. `None` when the user said no.
#[tauri::command]
pub async fn reset_point<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
    label: String,
) -> Res<Option<dockhand_core::facade::ResetDone>> {
    let m = state.manager().await?;
    let question = format!(
        "Reset “{project}” to the restore point “{label}”?\n\nWhat its databases hold now is \
         replaced by the point's data. Each is backed up first (Backups can restore it), and the \
         project's open sessions on them are ended."
    );
    if !crate::dialogs::confirm(
        &app,
        "Reset to restore point",
        &question,
        "Back up and reset",
    )
    .await
    {
        return Ok(None);
    }
    let done = m
        .reset_to_restore_point(&project, &label, &progress_events(&app))
        .await;
    let _ = app.emit("backups-changed", ());
    after_action(&app, &state).await;
    Ok(Some(done?))
}

/// Deletes a restore point after a native confirmation. False when the user said no.
#[tauri::command]
pub async fn delete_point<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
    label: String,
) -> Res<bool> {
    let m = state.manager().await?;
    let question = format!(
        "Delete the restore point “{label}” of “{project}”?\n\nThe project's databases are not \
         touched; only this copy of them goes."
    );
    if !crate::dialogs::confirm(&app, "Delete restore point", &question, "Delete the point").await {
        return Ok(false);
    }
    let done = m.delete_restore_point(&project, &label).await;
    after_action(&app, &state).await;
    done?;
    Ok(true)
}

/// The project card's "A database per git branch" toggle.
#[tauri::command]
pub async fn set_follow_branches<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
    on: bool,
) -> Res<()> {
    let m = state.manager().await?;
    let p = m.project_for(Some(&project), std::path::Path::new("/"))?;
    let r = m.set_follow_branches(&p, on);
    crate::refresh(&app).await;
    Ok(r?)
}

/// Drops a git branch's databases after a native confirmation. False when the user said no.
#[tauri::command]
pub async fn delete_branch<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
    branch: String,
) -> Res<bool> {
    let m = state.manager().await?;
    let p = m.project_for(Some(&project), std::path::Path::new("/"))?;
    let question = format!(
        "Drop the databases of git branch “{branch}” of “{project}”?\n\nWhat that branch wrote \
         into its own copy of the data goes. The git branch and the other branches' data are not \
         touched."
    );
    if !crate::dialogs::confirm(&app, "Delete branch database", &question, "Drop them").await {
        return Ok(false);
    }
    let r = m.delete_branch(&p, &branch).await;
    after_action(&app, &state).await;
    r?;
    Ok(true)
}
