//! A service's buttons: start, stop, restart, its admin URL and its logs.

use dockhand_core::facade::{parse_memory, Mode, ServiceOptions};
use dockhand_core::UpRequest;
use futures_util::StreamExt;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_clipboard_manager::ClipboardExt as _;

use super::{after_action, progress_events, Res};
use crate::error::UiError;
use crate::state::AppState;

#[tauri::command]
pub async fn start<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
) -> Res<u64> {
    let m = state.manager().await?;
    let req = UpRequest::for_service(&m.resolve(&name)?);
    let out = m.up(&req, &progress_events(&app)).await;
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
    let r = m.restart(&name, &progress_events(&app)).await;
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

/// The new-service dialog's defaults for a kind (and version): name, free port, image, the
/// catalog's versions with the ones already downloaded marked.
#[tauri::command]
pub async fn new_service_form(
    state: State<'_, AppState>,
    kind: String,
    version: Option<String>,
) -> Res<dockhand_core::facade::NewServiceForm> {
    let m = state.manager().await?;
    let kind = dockhand_core::Kind::parse(&kind)?;
    let version = version.filter(|v| !v.trim().is_empty());
    Ok(m.new_service_form(kind, version.as_deref()).await?)
}

/// Whether a host port is free, and if not, who holds it (a Dockhand service, or a process by
/// PID and program name where the OS lets us see it).
#[tauri::command]
pub async fn check_port(
    state: State<'_, AppState>,
    port: u16,
) -> Res<dockhand_core::facade::PortCheck> {
    Ok(state.manager().await?.check_port(port).await?)
}

/// What the dialog shows when the new service answers: where to connect, as whom.
#[derive(serde::Serialize)]
pub struct Created {
    pub name: String,
    pub kind: String,
    pub display_name: &'static str,
    pub version: String,
    pub host: String,
    pub host_port: u16,
    pub admin_user: &'static str,
    pub ready_ms: u64,
    pub mode: Mode,
    /// What the user must know of its mode (data loss); none when durable.
    pub mode_warning: Option<&'static str>,
    pub memory_limit_mb: Option<u32>,
}

/// Creates and starts a service exactly as `dockhand up [--name] [--port] [--image] [--with]
/// [--ephemeral] [--fast] [--memory] KIND:VERSION` would, reporting pull and start progress as `up-progress` events. `extensions`
/// (the form's checkboxes) choose the image that carries them unless `image` names one.
// A Tauri command's arguments are the webview's named fields, one per form field.
#[allow(clippy::too_many_arguments)]
#[tauri::command]
pub async fn create_service<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    kind: String,
    version: String,
    name: Option<String>,
    port: Option<u16>,
    image: Option<String>,
    extensions: Option<Vec<String>>,
    mode: Option<String>,
    memory: Option<String>,
) -> Res<Created> {
    let m = state.manager().await?;
    let spec = m.parse_spec(&format!("{}:{}", kind.trim(), version.trim()))?;
    let wanted =
        dockhand_core::facade::parse_extensions(spec.kind, &extensions.unwrap_or_default())
            .map_err(dockhand_core::CoreError::from)?;
    let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if let Some(n) = &name {
        if m.service_named(n)?.is_some() {
            return Err(UiError::new(
                "invalid_input",
                format!("a service called '{n}' exists already; choose another name"),
            ));
        }
    }
    let req = UpRequest {
        spec,
        name,
        port,
        image: image
            .map(|i| i.trim().to_string())
            .filter(|i| !i.is_empty()),
        // The dialog's mode and memory fields, as `--ephemeral`/`--fast` and `--memory`.
        options: ServiceOptions {
            mode: mode
                .as_deref()
                .map(Mode::parse)
                .transpose()
                .map_err(dockhand_core::CoreError::from)?,
            memory_mb: memory
                .as_deref()
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(parse_memory)
                .transpose()
                .map_err(dockhand_core::CoreError::from)?,
        },
    };
    let out = m
        .up_with_extensions(req, &wanted, &progress_events(&app))
        .await;
    after_action(&app, &state).await;
    let out = out?;
    let host = m.service_status(&out.name).await?.host;
    Ok(Created {
        display_name: out.kind.spec().display_name,
        admin_user: out.kind.spec().admin_user,
        kind: out.kind.to_string(),
        name: out.name,
        version: out.version,
        host,
        host_port: out.host_port,
        ready_ms: out.ready_ms,
        mode: out.mode,
        mode_warning: out.mode.warning(),
        memory_limit_mb: out.memory_limit_mb,
    })
}

/// Everything the details panel shows: state, image and its digest, addresses, volume and its
/// size, mode, memory and CPU now, uptime, the last health change, its databases (what
/// `dockhand inspect` prints, without the event list the Events view has).
#[tauri::command]
pub async fn service_details(
    state: State<'_, AppState>,
    name: String,
) -> Res<dockhand_core::facade::Inspection> {
    Ok(state.manager().await?.inspect(&name, 0).await?)
}

/// Removes a service's container. With `purge` its data volume and password go too — only after
/// a native confirmation, and after a backup of every database when `backup_first`. Returns
/// false when the user said no.
#[tauri::command]
pub async fn destroy_service<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
    purge: bool,
    backup_first: bool,
) -> Res<bool> {
    let m = state.manager().await?;
    let row = m.resolve(&name)?;
    if purge {
        let backup = if backup_first {
            "Every database is backed up first; then the"
        } else {
            "Nothing is backed up first: the"
        };
        let question = format!(
            "Delete {} and all its data?\n\n{backup} container, its data volume and its password \
             are removed for good. Projects attached to it are detached.",
            row.name
        );
        if !crate::dialogs::confirm(&app, "Delete service and data", &question, "Delete").await {
            return Ok(false);
        }
        if backup_first {
            let status = m.service_status(&row.name).await?;
            if status.state.is_up() {
                super::backups::backup_service(app.clone(), state.clone(), row.name.clone())
                    .await?;
            } else {
                return Err(UiError::new(
                    "not_running",
                    format!(
                        "'{}' is {}, so it cannot be backed up first; start it, or delete without a backup",
                        row.name, status.state
                    ),
                ));
            }
        }
    }
    let r = m.destroy(&row.name, purge).await;
    after_action(&app, &state).await;
    r?;
    Ok(true)
}
