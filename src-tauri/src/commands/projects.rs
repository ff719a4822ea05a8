//! Projects: adding one from its folder, attaching and detaching services, removing it, its
//! variables (copied, shown as a `.env` snippet, written to its folder's `.env`), and keeping its
//! services running.

use dockhand_core::facade::env::{dotenv_line, Audience};
use tauri::{AppHandle, Emitter, Runtime, State};
use tauri_plugin_clipboard_manager::ClipboardExt as _;

use super::{after_action, progress_events, Res};
use crate::error::UiError;
use crate::state::AppState;

/// Copies one of a project's variables (`DATABASE_URL`, `REDIS_URL`, …) to the clipboard.
#[tauri::command]
pub async fn copy_project_var<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
    var: String,
) -> Res<()> {
    let m = state.manager().await?;
    // A copied URL must work when pasted: a stopped server of the project is started first.
    let (value, started) = m
        .project_var_for_copy(&project, &var, &progress_events(&app))
        .await?;
    if !started.is_empty() {
        after_action(&app, &state).await;
    }
    app.clipboard()
        .write_text(value)
        .map_err(|e| UiError::new("clipboard", format!("could not use the clipboard: {e}")))
}

/// "Open in terminal": the kind's own client (psql, mariadb, redis-cli) on one of the project's
/// databases, as its user, in a new terminal window. A stopped server of the project is started
/// first, as for a copied URL. Returns what was opened, for the window to say.
#[tauri::command]
pub async fn open_client<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
    service: Option<String>,
) -> Res<String> {
    let m = state.manager().await?;
    let p = m.project_for(Some(&project), std::path::Path::new("/"))?;
    // Which client first: a missing psql is said before anything is started.
    let launch = m.client_for(&project, service.as_deref(), &[])?;
    let started = m.ready_for_url(&p, &progress_events(&app)).await?;
    if !started.is_empty() {
        after_action(&app, &state).await;
    }
    let terminal = crate::terminal::open(&launch.program, &launch.args, &launch.env)
        .map_err(|e| UiError::new("terminal", e))?;
    Ok(format!("{} — in {terminal}", launch.describe))
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
pub async fn project_up<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
) -> Res<()> {
    let m = state.manager().await?;
    let p = m.project_for(Some(&project), std::path::Path::new("/"))?;
    let r = m.hold_project(&p, None, &progress_events(&app)).await;
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

/// A folder as the "Add project" step shows it: its path, the name the project will get, and
/// what its `dockhand.toml` asks for (or why that file cannot be read).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FolderView {
    pub path: String,
    pub name: String,
    pub has_config: bool,
    pub needs: Vec<NeedView>,
    pub config_error: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct NeedView {
    pub kind: String,
    pub display_name: &'static str,
    pub version: String,
    pub service: Option<String>,
    /// What `attach` is given for this need (`postgres:16`, or the service's name).
    pub target: String,
}

fn folder_view(dir: &std::path::Path) -> FolderView {
    let fallback = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    match dockhand_core::facade::read_project_config(dir) {
        Ok(Some(c)) => FolderView {
            path: dir.display().to_string(),
            name: c.name.unwrap_or(fallback),
            has_config: true,
            needs: c
                .needs
                .into_iter()
                .map(|n| NeedView {
                    kind: n.kind.to_string(),
                    display_name: n.kind.spec().display_name,
                    target: match &n.service {
                        Some(s) => s.clone(),
                        None if n.version.is_empty() => n.kind.to_string(),
                        None => format!("{}:{}", n.kind, n.version),
                    },
                    version: n.version,
                    service: n.service,
                })
                .collect(),
            config_error: None,
        },
        Ok(None) => FolderView {
            path: dir.display().to_string(),
            name: fallback,
            has_config: false,
            needs: vec![],
            config_error: None,
        },
        Err(e) => FolderView {
            path: dir.display().to_string(),
            name: fallback,
            has_config: true,
            needs: vec![],
            config_error: Some(e.to_string()),
        },
    }
}

/// The native folder picker, then what the chosen folder's `dockhand.toml` asks for. `None`
/// when the user cancels.
#[tauri::command]
pub async fn pick_project_folder<R: Runtime>(app: AppHandle<R>) -> Res<Option<FolderView>> {
    let picked = crate::dialogs::pick_folder(&app, "Choose the project's folder").await;
    tracing::debug!("project folder picked: {picked:?}");
    Ok(picked.map(|d| folder_view(&d)))
}

/// The same for a folder typed by hand.
#[tauri::command]
pub async fn inspect_project_folder(path: String) -> Res<FolderView> {
    let dir = std::path::Path::new(path.trim());
    if !dir.is_dir() {
        return Err(UiError::new(
            "invalid_input",
            format!(
                "{} is not a folder; choose the project's folder",
                dir.display()
            ),
        ));
    }
    Ok(folder_view(dir))
}

#[tauri::command]
pub async fn add_project<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    path: String,
    name: Option<String>,
) -> Res<String> {
    let m = state.manager().await?;
    let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    let (row, _) = m.add_project(std::path::Path::new(path.trim()), name.as_deref())?;
    crate::refresh(&app).await;
    Ok(row.name)
}

/// Attaches a project to services (names, or KIND[:VERSION] — an existing service of that kind
/// and version line, else a new one); with none, what its `dockhand.toml` lists.
#[tauri::command]
pub async fn attach_project<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
    targets: Vec<String>,
    dedicated: Option<bool>,
) -> Res<Vec<dockhand_core::facade::AttachmentRow>> {
    let m = state.manager().await?;
    let p = m.project_for(Some(&project), std::path::Path::new("/"))?;
    let r = m
        .attach_as(
            &p,
            &targets,
            dedicated.unwrap_or(false),
            &progress_events(&app),
        )
        .await;
    after_action(&app, &state).await;
    Ok(r?)
}

#[tauri::command]
pub async fn detach_project<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
    service: String,
) -> Res<()> {
    let m = state.manager().await?;
    let p = m.project_for(Some(&project), std::path::Path::new("/"))?;
    let r = m.detach(&p, &service).await;
    after_action(&app, &state).await;
    Ok(r?)
}

/// Forgets a project; with `drop_data` its databases and users go too — after a native
/// confirmation and a backup of each (the core's resumable path). False when the user said no.
#[tauri::command]
pub async fn remove_project<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    project: String,
    drop_data: bool,
) -> Res<bool> {
    let m = state.manager().await?;
    let p = m.project_for(Some(&project), std::path::Path::new("/"))?;
    if drop_data {
        let question = format!(
            "Remove project “{}” and drop its databases and users?\n\nEach database is backed up \
             first (Backups can restore it).",
            p.name
        );
        if !crate::dialogs::confirm(
            &app,
            "Remove project and data",
            &question,
            "Back up and drop",
        )
        .await
        {
            return Ok(false);
        }
    }
    let r = m.remove_project(&p, drop_data).await;
    let _ = app.emit("backups-changed", ());
    after_action(&app, &state).await;
    r?;
    Ok(true)
}

/// Writes (merges) the project's variables into `.env` in its folder, mode 0600; says when git
/// would commit the file.
#[tauri::command]
pub async fn write_env(
    state: State<'_, AppState>,
    project: String,
) -> Res<dockhand_core::facade::EnvWritten> {
    Ok(state.manager().await?.write_project_env(&project, None)?)
}

/// What "Write .env" would add and change, and whether git would commit the file, without
/// writing: the window shows it and asks first.
#[tauri::command]
pub async fn preview_env(
    state: State<'_, AppState>,
    project: String,
) -> Res<dockhand_core::facade::EnvWritten> {
    Ok(state.manager().await?.preview_project_env(&project)?)
}

/// Adds the project's `.env` to the `.gitignore` in its folder; returns that file's path.
#[tauri::command]
pub async fn ignore_env_in_git(state: State<'_, AppState>, project: String) -> Res<String> {
    Ok(state.manager().await?.ignore_project_env_in_git(&project)?)
}

/// Puts a non-secret text (a path, a host:port) on the clipboard.
#[tauri::command]
pub async fn copy_text<R: Runtime>(app: AppHandle<R>, text: String) -> Res<()> {
    app.clipboard()
        .write_text(text)
        .map_err(|e| UiError::new("clipboard", format!("could not use the clipboard: {e}")))
}
