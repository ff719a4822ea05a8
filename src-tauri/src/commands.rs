//! What the dashboard can ask for. Every command returns `{code, message}` on failure; secrets go
//! from the core straight to the clipboard, not through the webview (except the `.env` snippet
//! the user explicitly asks to see).

use dockhand_core::env::{dotenv_line, Audience};
use dockhand_core::store::EventRow;
use dockhand_core::{ServiceSpec, UpRequest};
use futures_util::StreamExt;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_clipboard_manager::ClipboardExt as _;

use crate::error::UiError;
use crate::state::{AppState, Snapshot};

type Res<T> = Result<T, UiError>;

#[tauri::command]
pub async fn status<R: Runtime>(app: AppHandle<R>) -> Res<Snapshot> {
    Ok(crate::refresh(&app).await)
}

#[tauri::command]
pub async fn start<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
) -> Res<u64> {
    let m = state.manager().await?;
    let row = m.resolve(&name)?;
    let req = UpRequest {
        spec: ServiceSpec {
            kind: row.kind,
            version: row.version.clone(),
        },
        name: Some(row.name.clone()),
        port: None,
        image: None,
    };
    let out = m.up(&req, &|_| {}).await;
    crate::refresh(&app).await;
    Ok(out?.ready_ms)
}

#[tauri::command]
pub async fn stop<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
) -> Res<()> {
    let m = state.manager().await?;
    let r = m.down(&name).await;
    crate::refresh(&app).await;
    r.map(|_| ()).map_err(Into::into)
}

#[tauri::command]
pub async fn restart<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
) -> Res<u64> {
    let m = state.manager().await?;
    let r = m.restart(&name, &|_| {}).await;
    crate::refresh(&app).await;
    Ok(r?.ready_ms)
}

#[tauri::command]
pub async fn copy_admin_url<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
) -> Res<()> {
    let url = state.manager().await?.admin_url(&name)?;
    app.clipboard()
        .write_text(url)
        .map_err(|e| UiError::new("clipboard", format!("could not use the clipboard: {e}")))
}

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
pub async fn logs(state: State<'_, AppState>, name: String, tail: Option<usize>) -> Res<String> {
    let m = state.manager().await?;
    let mut stream = m.logs(&name, Some(tail.unwrap_or(200)), false)?;
    let mut text = Vec::new();
    let collect = async {
        while let Some(Ok(chunk)) = stream.next().await {
            text.extend_from_slice(&chunk.bytes);
        }
    };
    if tokio::time::timeout(std::time::Duration::from_secs(15), collect)
        .await
        .is_err()
    {
        return Err(UiError::new(
            "engine_timeout",
            "Docker did not return the logs within 15 s",
        ));
    }
    Ok(String::from_utf8_lossy(&text).to_string())
}

#[tauri::command]
pub async fn events(state: State<'_, AppState>, limit: Option<usize>) -> Res<Vec<EventRow>> {
    Ok(state
        .manager()
        .await?
        .store()
        .events(None, limit.unwrap_or(200))?)
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
    crate::refresh(&app).await;
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
    crate::refresh(&app).await;
    r.map(|_| ()).map_err(Into::into)
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

#[tauri::command]
pub async fn set_grace_period<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    secs: u64,
) -> Res<()> {
    state
        .manager()
        .await?
        .set_grace_period(std::time::Duration::from_secs(secs))?;
    crate::refresh(&app).await;
    Ok(())
}
