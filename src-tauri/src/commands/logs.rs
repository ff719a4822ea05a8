//! A service's logs: the last lines, then new ones as they come (`log-chunk` events) until the
//! window closes the panel or opens another service's logs.

use futures_util::StreamExt;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager as _, Runtime, State};

use super::Res;
use crate::state::AppState;

#[derive(Debug, Clone, Serialize)]
struct LogChunk {
    service: String,
    text: String,
}

/// Streams `name`'s logs to the window, starting with the last `tail` lines. One stream at a
/// time: a new one ends the previous.
#[tauri::command]
pub async fn follow_logs<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
    tail: Option<usize>,
) -> Res<()> {
    let m = state.manager().await?;
    // Opening the stream has the core's deadline; waiting for new lines has none (a quiet
    // server writes nothing for hours, and that is not an error).
    let mut stream = m.logs(&name, Some(tail.unwrap_or(300)), true).await?;
    let a = app.clone();
    let task = tauri::async_runtime::spawn(async move {
        let mut reason = "the log stream ended (the container stopped or was removed)".to_string();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(c) => {
                    let _ = a.emit(
                        "log-chunk",
                        LogChunk {
                            service: name.clone(),
                            text: String::from_utf8_lossy(&c.bytes).into_owned(),
                        },
                    );
                }
                Err(e) => {
                    reason = format!("the log stream broke: {e}");
                    break;
                }
            }
        }
        let _ = a.emit(
            "log-end",
            serde_json::json!({ "service": name, "reason": reason }),
        );
    });
    if let Some(old) = app.state::<AppState>().logs.lock().unwrap().replace(task) {
        old.abort();
    }
    Ok(())
}

#[tauri::command]
pub async fn stop_logs(state: State<'_, AppState>) -> Res<()> {
    if let Some(t) = state.logs.lock().unwrap().take() {
        t.abort();
    }
    Ok(())
}
