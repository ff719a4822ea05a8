//! What the dashboard can ask for, by area. Every command returns `{code, message}` on failure;
//! secrets go from the core straight to the clipboard, not through the webview (except the
//! `.env` snippet the user explicitly asks to see).

pub mod adopt;
pub mod backups;
pub mod databases;
pub mod images;
pub mod logs;
pub mod projects;
pub mod services;
pub mod settings;
pub mod upgrades;
pub mod window;

use tauri::{AppHandle, Emitter as _, Runtime};

use crate::error::UiError;
use crate::state::AppState;

pub(crate) type Res<T> = Result<T, UiError>;

/// After the user changed a service: the supervisor looks at once, then tray and window follow.
pub(crate) async fn after_action<R: Runtime>(app: &AppHandle<R>, state: &AppState) {
    state.settle().await;
    crate::refresh(app).await;
}

/// Image pulls and first starts take a while: the window shows how far along they are.
pub(crate) fn progress_events<R: Runtime>(
    app: &AppHandle<R>,
) -> impl Fn(dockhand_core::Progress) + Send + Sync {
    let a = app.clone();
    move |p: dockhand_core::Progress| {
        if let Some(text) = p.describe() {
            let _ = a.emit(
                "up-progress",
                serde_json::json!({ "service": p.service(), "text": text }),
            );
        }
    }
}
