//! Long operations of every Dockhand process (the window's own, the tray's, the CLI's in a
//! terminal): the window polls this for its footer and the Events view's task list.

use dockhand_core::facade::TaskRow;
use tauri::State;

use super::Res;
use crate::state::AppState;

/// Running tasks (with their progress), then the `history` most recent finished ones
/// (default 20).
#[tauri::command]
pub async fn tasks(state: State<'_, AppState>, history: Option<usize>) -> Res<Vec<TaskRow>> {
    Ok(state.manager().await?.tasks(history.unwrap_or(20))?)
}
