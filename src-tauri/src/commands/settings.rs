//! The Settings view: everything read at once from the core, each change made by its name.

use dockhand_core::facade::Settings;
use tauri::{AppHandle, Runtime, State};

use super::{after_action, Res};
use crate::state::AppState;

#[tauri::command]
pub async fn settings(state: State<'_, AppState>) -> Res<Settings> {
    Ok(state.manager().await?.settings()?)
}

/// Any setting by its name (the core's settings table), as `dockhand config set` does.
#[tauri::command]
pub async fn set_setting<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
    value: String,
) -> Res<()> {
    state.manager().await?.set_setting(&name, &value)?;
    crate::refresh(&app).await;
    Ok(())
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
        .set_setting("grace-period", &secs.to_string())?;
    crate::refresh(&app).await;
    Ok(())
}

/// One of keep, max-age-days, schedule, dir (or their `backup-` names).
#[tauri::command]
pub async fn set_backup_setting(state: State<'_, AppState>, key: String, value: String) -> Res<()> {
    state.manager().await?.set_setting(&key, &value)?;
    Ok(())
}

#[tauri::command]
pub async fn set_notify(state: State<'_, AppState>, kind: String, on: bool) -> Res<()> {
    state
        .manager()
        .await?
        .set_setting(&format!("notify.{kind}"), if on { "on" } else { "off" })?;
    Ok(())
}

#[tauri::command]
pub async fn set_restart_on_failure<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
    on: bool,
) -> Res<()> {
    state.manager().await?.set_setting(
        &format!("restart-on-failure.{name}"),
        if on { "on" } else { "off" },
    )?;
    after_action(&app, &state).await;
    Ok(())
}

#[tauri::command]
pub async fn set_default_version(
    state: State<'_, AppState>,
    kind: String,
    version: String,
) -> Res<()> {
    state
        .manager()
        .await?
        .set_setting(&format!("default-version.{kind}"), &version)?;
    Ok(())
}

/// Settings: "ask", "keep" or "stop".
#[tauri::command]
pub async fn set_quit_behaviour(state: State<'_, AppState>, behaviour: String) -> Res<()> {
    state.manager().await?.set_setting("quit", &behaviour)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use dockhand_core::facade::SETTINGS;

    /// Every setting of the core's table has its control in the window (marked with its name),
    /// so none is reachable from the CLI only.
    #[test]
    fn every_setting_has_a_control_in_the_window() {
        let page =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/index.html"))
                .unwrap();
        let missing: Vec<&str> = SETTINGS
            .iter()
            .map(|d| d.name)
            .filter(|name| !page.contains(&format!("data-setting=\"{name}\"")))
            .collect();
        assert!(
            missing.is_empty(),
            "settings without a control in ui/index.html: {missing:?}"
        );
    }
}
