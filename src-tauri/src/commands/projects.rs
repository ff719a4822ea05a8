//! A project's variables, `.env` snippet, and keeping its services running.

use dockhand_core::env::{dotenv_line, Audience};
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_clipboard_manager::ClipboardExt as _;

use super::{after_action, Res};
use crate::error::UiError;
use crate::state::AppState;

/// Copies one of a project's variables (`DATABASE_URL`, `REDIS_URL`, …) to the clipboard.
#[tauri::command]
pub async fn copy_project_var<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
    var: String,
) -> Res<()> {
    let vars = state
        .manager()
        .await?
        .project_env(&project, Audience::Host)?;
    let value = vars
        .into_iter()
        .find(|(k, _)| *k == var)
        .map(|(_, v)| v)
        .ok_or_else(|| {
            UiError::new(
                "unknown_variable",
                format!("project '{project}' has no {var}"),
            )
        })?;
    app.clipboard()
        .write_text(value)
        .map_err(|e| UiError::new("clipboard", format!("could not use the clipboard: {e}")))
}

/// A ready `.env` snippet for a project (shown only when the user asks: it holds passwords).
#[tauri::command]
pub async fn env_snippet(
    state: State<'_, AppState>,
    project: String,
    audience: Option<String>,
) -> Res<String> {
    let audience = Audience::parse(audience.as_deref().unwrap_or("host")).ok_or_else(|| {
        UiError::new(
            "invalid_input",
            "audience is host, container or docker-desktop",
        )
    })?;
    let vars = state.manager().await?.project_env(&project, audience)?;
    Ok(vars.iter().map(|(k, v)| dotenv_line(k, v) + "\n").collect())
}

#[tauri::command]
pub async fn project_up<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
) -> Res<()> {
    let m = state.manager().await?;
    let p = m.project_for(Some(&project), std::path::Path::new("/"))?;
    let r = m.hold_project(&p, None, &|_| {}).await;
    after_action(&app, &state).await;
    r.map(|_| ()).map_err(Into::into)
}

#[tauri::command]
pub async fn project_down<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
) -> Res<()> {
    let m = state.manager().await?;
    let p = m.project_for(Some(&project), std::path::Path::new("/"))?;
    let r = m.project_down(&p).await;
    after_action(&app, &state).await;
    r.map(|_| ()).map_err(Into::into)
}
