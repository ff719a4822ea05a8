//! A project's databases on servers Dockhand does not run (the project card's "External
//! database"): the URL typed in the window goes to the keychain and nowhere else.

use dockhand_core::facade::ExternalRow;
use dockhand_core::facade::Secret;
use dockhand_core::Kind;
use tauri::{AppHandle, Runtime, State};

use super::{after_action, Res};
use crate::state::AppState;

#[tauri::command]
pub async fn add_external<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
    kind: String,
    url: String,
) -> Res<ExternalRow> {
    let m = state.manager().await?;
    let p = m.project_for(Some(&project), std::path::Path::new("/"))?;
    let kind = Kind::parse(&kind)?;
    let r = m.add_external(&p, kind, &Secret::new(url), None).await;
    after_action(&app, &state).await;
    Ok(r?)
}

#[tauri::command]
pub async fn remove_external<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
    name: String,
) -> Res<ExternalRow> {
    let m = state.manager().await?;
    let p = m.project_for(Some(&project), std::path::Path::new("/"))?;
    let r = m.remove_external(&p, &name);
    after_action(&app, &state).await;
    Ok(r?)
}
