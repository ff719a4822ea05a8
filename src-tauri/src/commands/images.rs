//! The images of Dockhand's kinds (Settings ▸ Images): listed with their size and users; unused
//! ones removed after a native confirmation that names them.

use dockhand_core::facade::{ImageView, PruneReport};
use tauri::{AppHandle, Runtime, State};

use super::Res;
use crate::state::AppState;

#[tauri::command]
pub async fn images(state: State<'_, AppState>) -> Res<Vec<ImageView>> {
    Ok(state.manager().await?.images().await?)
}

/// `None` when there was nothing to remove or the user said no.
#[tauri::command]
pub async fn prune_images<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Res<Option<PruneReport>> {
    let m = state.manager().await?;
    let would = m.prune_images(true).await?;
    if would.removed.is_empty() {
        return Ok(None);
    }
    let names: Vec<String> = would.removed.iter().map(|i| i.reference.clone()).collect();
    let question = format!(
        "Remove {} unused image(s)?\n\n{}\n\nNo service uses them; creating a service of one of these versions \
         later downloads it again. Images a service, a kept upgrade or any container uses stay.",
        names.len(),
        names.join(", ")
    );
    if !crate::dialogs::confirm(&app, "Remove unused images", &question, "Remove them").await {
        return Ok(None);
    }
    Ok(Some(m.prune_images(false).await?))
}
