//! Major-version upgrades from the details panel: the choices, the upgrade, its rollback and
//! the removal of the data it kept — each after a native confirmation that says what happens.

use dockhand_core::facade::{Finished, RolledBack, UpgradeChoices, Upgraded};
use tauri::{AppHandle, Emitter, Runtime, State};

use super::{after_action, progress_events, Res};
use crate::state::AppState;

#[tauri::command]
pub async fn upgrade_choices(state: State<'_, AppState>, service: String) -> Res<UpgradeChoices> {
    Ok(state.manager().await?.upgrade_choices(&service)?)
}

/// `None` when the user said no.
#[tauri::command]
pub async fn upgrade_service<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    service: String,
    to: String,
    label: String,
) -> Res<Option<Upgraded>> {
    let question = format!(
        "Upgrade {service} to {label}?\n\nEvery database is backed up first. Projects cannot connect \
         while the data is copied and checked (seconds for small databases, minutes for large ones); \
         then {service} runs {label} on the same port, so projects' URLs keep working. The old data \
         is kept for a rollback until you remove it."
    );
    if !crate::dialogs::confirm(&app, "Upgrade", &question, "Back up and upgrade").await {
        return Ok(None);
    }
    let m = state.manager().await?;
    let r = m.upgrade(&service, &to, None, &progress_events(&app)).await;
    let _ = app.emit("backups-changed", ());
    after_action(&app, &state).await;
    Ok(Some(r?))
}

#[tauri::command]
pub async fn rollback_upgrade<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    service: String,
) -> Res<Option<RolledBack>> {
    let m = state.manager().await?;
    let Some(u) = m.upgrade_status(&service)? else {
        return Err(dockhand_core::CoreError::InvalidInput(format!(
            "'{service}' has no upgrade to roll back"
        ))
        .into());
    };
    let question = format!(
        "Roll {service} back to {}?\n\nChanges made since the upgrade to {} are not in the {} data: \
         every database is backed up first, and the {} data is kept until you remove it.",
        u.from_version, u.to_version, u.from_version, u.to_version
    );
    if !crate::dialogs::confirm(&app, "Roll back", &question, "Back up and roll back").await {
        return Ok(None);
    }
    let r = m.rollback_upgrade(&service, &progress_events(&app)).await;
    let _ = app.emit("backups-changed", ());
    after_action(&app, &state).await;
    Ok(Some(r?))
}

#[tauri::command]
pub async fn finish_upgrade<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    service: String,
) -> Res<Option<Finished>> {
    let m = state.manager().await?;
    let Some(u) = m.upgrade_status(&service)? else {
        return Err(dockhand_core::CoreError::InvalidInput(format!(
            "'{service}' keeps no data from an upgrade"
        ))
        .into());
    };
    let kept = match u.step {
        dockhand_core::facade::UpgradeStep::RolledBack => &u.to_version,
        _ => &u.from_version,
    };
    let question = format!(
        "Delete the {kept} data {service} kept from its upgrade?\n\nAfter this there is no rollback; \
         the backups taken before the upgrade stay in Backups."
    );
    if !crate::dialogs::confirm(&app, "Delete kept data", &question, "Delete the data").await {
        return Ok(None);
    }
    let r = m.finish_upgrade(&service).await;
    after_action(&app, &state).await;
    Ok(Some(r?))
}
