//! What the dashboard can ask for, by area. Every command returns `{code, message}` on failure;
//! secrets go from the core straight to the clipboard, not through the webview (except the
//! `.env` snippet the user explicitly asks to see).

pub mod backups;
pub mod projects;
pub mod services;
pub mod settings;
pub mod window;

use tauri::{AppHandle, Runtime};

use crate::error::UiError;
use crate::state::AppState;

pub(crate) type Res<T> = Result<T, UiError>;

/// After the user changed a service: the supervisor looks at once, then tray and window follow.
pub(crate) async fn after_action<R: Runtime>(app: &AppHandle<R>, state: &AppState) {
    state.settle().await;
    crate::refresh(app).await;
}
