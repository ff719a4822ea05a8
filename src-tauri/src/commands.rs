//! What the dashboard can ask for. Every command returns `{code, message}` on failure; secrets go
//! from the core straight to the clipboard, not through the webview (except the `.env` snippet
//! the user explicitly asks to see).

use dockhand_core::backup::{BackupPolicy, BackupProgress, BackupScope, Restored, Verification};
use dockhand_core::env::{dotenv_line, Audience};
use dockhand_core::store::{BackupRow, EventRow};
use dockhand_core::supervisor::SupervisorEvent;
use dockhand_core::UpRequest;
use futures_util::StreamExt;
use serde::Serialize;
use tauri::Emitter;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_clipboard_manager::ClipboardExt as _;

use crate::error::UiError;
use crate::state::{AppState, Snapshot};

type Res<T> = Result<T, UiError>;

/// After the user changed a service: the supervisor looks at once, then tray and window follow.
async fn after_action<R: Runtime>(app: &AppHandle<R>, state: &AppState) {
    state.settle().await;
    crate::refresh(app).await;
}

#[tauri::command]
pub async fn status<R: Runtime>(app: AppHandle<R>) -> Res<Snapshot> {
    Ok(crate::refresh(&app).await)
}

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

/// Copies one of a project's variables (`DATABASE_URL`, `REDIS_URL`, …) to the clipboard.
#[tauri::command]
pub async fn copy_project_var<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
    var: String,
) -> Res<()> {
    let vars = state
        .manager()
        .await?
        .project_env(&project, Audience::Host)?;
    let value = vars
        .into_iter()
        .find(|(k, _)| *k == var)
        .map(|(_, v)| v)
        .ok_or_else(|| {
            UiError::new(
                "unknown_variable",
                format!("project '{project}' has no {var}"),
            )
        })?;
    app.clipboard()
        .write_text(value)
        .map_err(|e| UiError::new("clipboard", format!("could not use the clipboard: {e}")))
}

/// A ready `.env` snippet for a project (shown only when the user asks: it holds passwords).
#[tauri::command]
pub async fn env_snippet(
    state: State<'_, AppState>,
    project: String,
    audience: Option<String>,
) -> Res<String> {
    let audience = Audience::parse(audience.as_deref().unwrap_or("host")).ok_or_else(|| {
        UiError::new(
            "invalid_input",
            "audience is host, container or docker-desktop",
        )
    })?;
    let vars = state.manager().await?.project_env(&project, audience)?;
    Ok(vars.iter().map(|(k, v)| dotenv_line(k, v) + "\n").collect())
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

#[tauri::command]
pub async fn events(state: State<'_, AppState>, limit: Option<usize>) -> Res<Vec<EventRow>> {
    Ok(state
        .manager()
        .await?
        .store()
        .events(None, limit.unwrap_or(200))?)
}

#[tauri::command]
pub async fn project_up<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
) -> Res<()> {
    let m = state.manager().await?;
    let p = m.project_for(Some(&project), std::path::Path::new("/"))?;
    let r = m.hold_project(&p, None, &|_| {}).await;
    after_action(&app, &state).await;
    r.map(|_| ()).map_err(Into::into)
}

#[tauri::command]
pub async fn project_down<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
) -> Res<()> {
    let m = state.manager().await?;
    let p = m.project_for(Some(&project), std::path::Path::new("/"))?;
    let r = m.project_down(&p).await;
    after_action(&app, &state).await;
    r.map(|_| ()).map_err(Into::into)
}

#[tauri::command]
pub async fn get_autostart<R: Runtime>(app: AppHandle<R>) -> Res<bool> {
    app.autolaunch()
        .is_enabled()
        .map_err(|e| UiError::new("autostart", format!("could not read the login item: {e}")))
}

#[tauri::command]
pub async fn set_autostart<R: Runtime>(app: AppHandle<R>, enabled: bool) -> Res<bool> {
    crate::set_autostart(&app, enabled)?;
    crate::refresh(&app).await;
    Ok(enabled)
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
        .set_grace_period(std::time::Duration::from_secs(secs))?;
    crate::refresh(&app).await;
    Ok(())
}

/// Backs up every database of one service ("Back up now"), reporting bytes as it goes.
#[tauri::command]
pub async fn backup_service<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
) -> Res<Vec<BackupRow>> {
    let m = state.manager().await?;
    let progress = backup_progress(&app);
    let r = m
        .backup(&name, &BackupScope::All, "manual", &progress)
        .await;
    announce_backups(&app, &name, &r).await;
    let _ = app.emit("backups-changed", ());
    Ok(r?)
}

/// Backs up every database of every running service ("Back up all now").
#[tauri::command]
pub async fn backup_all<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Res<Vec<BackupRow>> {
    let m = state.manager().await?;
    let progress = backup_progress(&app);
    let (done, failed) = m.backup_all_running("manual", &progress).await?;
    for b in &done {
        crate::announce(&app, &SupervisorEvent::BackupDone { backup: b.clone() }).await;
    }
    let first_failure = failed.into_iter().next();
    if let Some((service, e)) = &first_failure {
        crate::announce(
            &app,
            &SupervisorEvent::BackupFailed {
                service: service.clone(),
                reason: e.to_string(),
            },
        )
        .await;
    }
    let _ = app.emit("backups-changed", ());
    match first_failure {
        Some((_, e)) => Err(e.into()),
        None => Ok(done),
    }
}

/// Bytes written so far, for the window's progress line.
fn backup_progress<R: Runtime>(app: &AppHandle<R>) -> impl Fn(BackupProgress) + Send + Sync {
    let app = app.clone();
    move |p: BackupProgress| {
        let _ = app.emit("backup-progress", &p);
    }
}

async fn announce_backups<R: Runtime>(
    app: &AppHandle<R>,
    service: &str,
    r: &Result<Vec<BackupRow>, dockhand_core::CoreError>,
) {
    match r {
        Ok(rows) => {
            for b in rows {
                crate::announce(app, &SupervisorEvent::BackupDone { backup: b.clone() }).await;
            }
        }
        Err(e) => {
            crate::announce(
                app,
                &SupervisorEvent::BackupFailed {
                    service: service.to_string(),
                    reason: e.to_string(),
                },
            )
            .await
        }
    }
}

#[tauri::command]
pub async fn backups(state: State<'_, AppState>) -> Res<Vec<BackupRow>> {
    Ok(state.manager().await?.backups(None, None)?)
}

#[tauri::command]
pub async fn verify_backup(state: State<'_, AppState>, id: i64) -> Res<Verification> {
    Ok(state.manager().await?.verify(id).await?)
}

/// Restores a backup into `into` (default: its own database). The window asks before it
/// passes `overwrite`; the core backs the database up before replacing it.
#[tauri::command]
pub async fn restore_backup<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: i64,
    into: Option<String>,
    overwrite: bool,
) -> Res<Restored> {
    let m = state.manager().await?;
    let into = into.filter(|s| !s.trim().is_empty());
    let r = m.restore(id, into.as_deref(), overwrite, &|_| {}).await;
    let _ = app.emit("backups-changed", ());
    Ok(r?)
}

/// Opens the backups folder in the file manager.
#[tauri::command]
pub async fn reveal_backups(state: State<'_, AppState>) -> Res<String> {
    let dir = state.manager().await?.backup_policy()?.dir;
    std::fs::create_dir_all(&dir)
        .map_err(|e| UiError::new("io", format!("{}: {e}", dir.display())))?;
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(&dir)
        .spawn()
        .map_err(|e| {
            UiError::new(
                "io",
                format!("could not open {} with {opener}: {e}", dir.display()),
            )
        })?;
    Ok(dir.display().to_string())
}

/// The answer to the Quit question: stop the services or keep them running; remembered.
#[tauri::command]
pub async fn quit_app<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    stop_services: bool,
) -> Res<()> {
    set_quit_answer(&state, Some(stop_services)).await?;
    crate::finish_quit(&app, stop_services).await;
    Ok(())
}

async fn set_quit_answer(state: &State<'_, AppState>, stop: Option<bool>) -> Res<()> {
    let m = state.manager().await?;
    match stop {
        Some(stop) => m
            .store()
            .set_setting(crate::QUIT_KEY, if stop { "yes" } else { "no" })?,
        None => m.store().delete_setting(crate::QUIT_KEY)?,
    }
    Ok(())
}

/// Settings: "ask", "keep" or "stop".
#[tauri::command]
pub async fn set_quit_behaviour(state: State<'_, AppState>, behaviour: String) -> Res<()> {
    let stop = match behaviour.as_str() {
        "ask" => None,
        "keep" => Some(false),
        "stop" => Some(true),
        other => {
            return Err(UiError::new(
                "invalid_input",
                format!("'{other}' is not ask, keep or stop"),
            ))
        }
    };
    set_quit_answer(&state, stop).await
}

/// A kind's default version and the versions to choose from.
#[derive(Serialize)]
pub struct DefaultVersion {
    kind: &'static str,
    name: &'static str,
    version: String,
    versions: &'static [&'static str],
}

#[tauri::command]
pub async fn set_default_version(
    state: State<'_, AppState>,
    kind: String,
    version: String,
) -> Res<()> {
    let m = state.manager().await?;
    m.set_default_version(dockhand_core::Kind::parse(&kind)?, &version)?;
    Ok(())
}

#[derive(Serialize)]
pub struct Settings {
    quit: &'static str,
    default_versions: Vec<DefaultVersion>,
    backup: BackupPolicy,
    notifications: Vec<(String, bool)>,
    restart_on_failure: Vec<(String, bool)>,
}

#[tauri::command]
pub async fn settings(state: State<'_, AppState>) -> Res<Settings> {
    let m = state.manager().await?;
    Ok(Settings {
        quit: match m.store().setting(crate::QUIT_KEY)?.as_deref() {
            Some("yes") => "stop",
            Some(_) => "keep",
            None => "ask",
        },
        default_versions: dockhand_core::Kind::ALL
            .iter()
            .map(|k| DefaultVersion {
                kind: k.as_str(),
                name: k.spec().display_name,
                version: m.default_version(*k),
                versions: k.spec().versions,
            })
            .collect(),
        backup: m.backup_policy()?,
        notifications: crate::notify::KINDS
            .iter()
            .map(|k| (k.to_string(), crate::notify::enabled(Some(&m), k)))
            .collect(),
        restart_on_failure: m
            .store()
            .services()?
            .into_iter()
            .map(|r| {
                let on = m.restart_on_failure(&r.name);
                (r.name, on)
            })
            .collect(),
    })
}

/// One of keep, max-age-days, schedule, dir.
#[tauri::command]
pub async fn set_backup_setting(state: State<'_, AppState>, key: String, value: String) -> Res<()> {
    Ok(state.manager().await?.set_backup_setting(&key, &value)?)
}

#[tauri::command]
pub async fn set_notify(state: State<'_, AppState>, kind: String, on: bool) -> Res<()> {
    if !crate::notify::KINDS.contains(&kind.as_str()) {
        return Err(UiError::new(
            "invalid_input",
            format!("unknown notification kind '{kind}'"),
        ));
    }
    state
        .manager()
        .await?
        .store()
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
    state.manager().await?.set_restart_on_failure(&name, on)?;
    after_action(&app, &state).await;
    Ok(())
}
