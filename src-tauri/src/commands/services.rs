//! A service's buttons: start, stop, restart, its admin URL and its logs.

use dockhand_core::UpRequest;
use futures_util::StreamExt;
use tauri::Emitter;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_clipboard_manager::ClipboardExt as _;

use super::{after_action, Res};
use crate::error::UiError;
use crate::state::AppState;

#[tauri::command]
pub async fn start<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
) -> Res<u64> {
    let m = state.manager().await?;
    let req = UpRequest::for_service(&m.resolve(&name)?);
    // Image pulls and first starts take a while: the window shows how far along they are.
    let a = app.clone();
    let progress = move |p: dockhand_core::Progress| {
        if let Some(text) = p.describe() {
            let _ = a.emit(
                "up-progress",
                serde_json::json!({ "service": p.service(), "text": text }),
            );
        }
    };
    let out = m.up(&req, &progress).await;
    after_action(&app, &state).await;
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
    after_action(&app, &state).await;
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
    after_action(&app, &state).await;
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

#[tauri::command]
pub async fn logs(state: State<'_, AppState>, name: String, tail: Option<usize>) -> Res<String> {
    let m = state.manager().await?;
    let mut stream = m.logs(&name, Some(tail.unwrap_or(200)), false).await?;
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
