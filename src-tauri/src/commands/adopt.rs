//! Database containers Dockhand did not create (Settings ▸ Containers outside Dockhand): listed
//! with whether they can be adopted, and adopted on request.

use dockhand_core::facade::Detected;
use dockhand_core::facade::Secret;
use dockhand_core::facade::ServiceRow;
use tauri::{AppHandle, Runtime, State};

use super::{after_action, Res};
use crate::state::AppState;

#[tauri::command]
pub async fn detect_containers(state: State<'_, AppState>) -> Res<Vec<Detected>> {
    Ok(state.manager().await?.detect().await?)
}

/// `password`: the superuser's, when the container's configuration does not hold it (typed in
/// the window; it goes to the keychain and nowhere else).
#[tauri::command]
pub async fn adopt_container<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    container: String,
    name: Option<String>,
    password: Option<String>,
) -> Res<ServiceRow> {
    let m = state.manager().await?;
    let r = m
        .adopt(
            &container,
            name.as_deref().filter(|n| !n.is_empty()),
            password.filter(|p| !p.is_empty()).map(Secret::new),
        )
        .await;
    after_action(&app, &state).await;
    Ok(r?)
}
