//! Renders the core's [`MenuModel`] as the tray menu, keeps it and the icon in step with each
//! snapshot, and turns clicks into actions.

use dockhand_core::facade::menu::{self, ItemKind, MenuAction, MenuItem as ModelItem, MenuModel};
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager as _, Runtime};

use crate::state::{AppState, Snapshot};

pub const TRAY_ID: &str = "main";

pub fn icon(health: menu::Health) -> Image<'static> {
    let bytes: &'static [u8] = match health {
        menu::Health::Healthy => include_bytes!("../../icons/tray-healthy.png"),
        menu::Health::Starting => include_bytes!("../../icons/tray-starting.png"),
        menu::Health::Failing => include_bytes!("../../icons/tray-failing.png"),
        menu::Health::EngineUnavailable => include_bytes!("../../icons/tray-unavailable.png"),
        menu::Health::Idle => include_bytes!("../../icons/tray-idle.png"),
    };
    Image::from_bytes(bytes).expect("bundled icons are valid PNGs")
}

fn render_items<R: Runtime>(
    app: &AppHandle<R>,
    items: &[ModelItem],
) -> tauri::Result<Vec<Box<dyn IsMenuItem<R>>>> {
    let mut out: Vec<Box<dyn IsMenuItem<R>>> = Vec::new();
    for i in items {
        match &i.kind {
            ItemKind::Separator => out.push(Box::new(PredefinedMenuItem::separator(app)?)),
            ItemKind::Action => out.push(Box::new(MenuItem::with_id(
                app,
                &i.id,
                &i.label,
                i.enabled,
                None::<&str>,
            )?)),
            ItemKind::Check(on) => out.push(Box::new(CheckMenuItem::with_id(
                app,
                &i.id,
                &i.label,
                i.enabled,
                *on,
                None::<&str>,
            )?)),
            ItemKind::Submenu(sub) => {
                let children = render_items(app, sub)?;
                let refs: Vec<&dyn IsMenuItem<R>> = children.iter().map(|b| b.as_ref()).collect();
                out.push(Box::new(Submenu::with_id_and_items(
                    app, &i.id, &i.label, i.enabled, &refs,
                )?));
            }
        }
    }
    Ok(out)
}

pub fn render<R: Runtime>(app: &AppHandle<R>, model: &MenuModel) -> tauri::Result<Menu<R>> {
    let items = render_items(app, &model.items)?;
    let refs: Vec<&dyn IsMenuItem<R>> = items.iter().map(|b| b.as_ref()).collect();
    Menu::with_items(app, &refs)
}

pub fn model(snapshot: &Snapshot, autostart: bool) -> MenuModel {
    menu::build(
        &snapshot.statuses(),
        &snapshot.project_entries(),
        autostart,
        snapshot.engine_error.as_deref(),
    )
}

pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let initial = menu::build(&[], &[], crate::autostart_enabled(app), None);
    let menu = render(app, &initial)?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(initial.health))
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| {
            let id = event.id().as_ref().to_string();
            let app = app.clone();
            tauri::async_runtime::spawn(async move { on_click(&app, &id).await });
        })
        .build(app)?;
    Ok(())
}

/// Updates the tray when what it shows has changed.
pub fn update<R: Runtime>(app: &AppHandle<R>, model: &MenuModel, last: &mut Option<MenuModel>) {
    if last.as_ref() == Some(model) {
        return;
    }
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    match render(app, model) {
        Ok(menu) => {
            let _ = tray.set_menu(Some(menu));
            let _ = tray.set_icon(Some(icon(model.health)));
            *last = Some(model.clone());
        }
        Err(e) => tracing::warn!("could not build the tray menu: {e}"),
    }
}

async fn on_click<R: Runtime>(app: &AppHandle<R>, id: &str) {
    let Some(action) = MenuAction::parse(id) else {
        return;
    };
    let state = app.state::<AppState>();
    let result: Result<(), String> = async {
        match action {
            MenuAction::Start(name) => {
                crate::commands::services::start(app.clone(), state.clone(), name)
                    .await
                    .map(|_| ())
            }
            MenuAction::Stop(name) => {
                crate::commands::services::stop(app.clone(), state.clone(), name).await
            }
            MenuAction::Restart(name) => {
                crate::commands::services::restart(app.clone(), state.clone(), name)
                    .await
                    .map(|_| ())
            }
            MenuAction::CopyAdminUrl(name) => {
                crate::commands::services::copy_admin_url(app.clone(), state.clone(), name).await
            }
            MenuAction::CopyProjectVar { project, var } => {
                crate::commands::projects::copy_project_var(
                    app.clone(),
                    state.clone(),
                    project,
                    var,
                )
                .await
            }
            MenuAction::ProjectUp(p) => {
                crate::commands::projects::project_up(app.clone(), state.clone(), p).await
            }
            MenuAction::ProjectDown(p) => {
                crate::commands::projects::project_down(app.clone(), state.clone(), p).await
            }
            MenuAction::BackUp(name) => {
                crate::commands::backups::backup_service(app.clone(), state.clone(), name)
                    .await
                    .map(|_| ())
            }
            MenuAction::BackUpAll => {
                crate::commands::backups::backup_all(app.clone(), state.clone())
                    .await
                    .map(|_| ())
            }
            MenuAction::TakePoint(project) => {
                // Asks in a native dialog before ending the project's sessions, if any.
                let taken = crate::commands::points::take_point(
                    app.clone(),
                    state.clone(),
                    project.clone(),
                    None,
                )
                .await;
                match taken {
                    Ok(None) => Ok(()),
                    Ok(Some(t)) => {
                        let (_, note) = crate::notify::point_news(&project, Ok(&t));
                        crate::notify::show(note);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            MenuAction::ResetToPoint { project, point } => {
                crate::commands::points::reset_point(app.clone(), state.clone(), project, point)
                    .await
                    .map(|_| ())
            }
            MenuAction::OpenLogs(name) => {
                crate::show_dashboard(app, Some(&format!("logs:{name}")));
                Ok(())
            }
            MenuAction::NewService { kind, version } => {
                let view = match version {
                    Some(v) => format!("new:{kind}:{v}"),
                    None => format!("new:{kind}"),
                };
                crate::show_dashboard(app, Some(&view));
                Ok(())
            }
            MenuAction::OpenDashboard => {
                crate::show_dashboard(app, None);
                Ok(())
            }
            MenuAction::ToggleAutostart => {
                let on = !crate::autostart_enabled(app);
                let r = crate::set_autostart(app, on);
                crate::refresh(app).await;
                r
            }
            MenuAction::Quit => {
                crate::quit(app).await;
                Ok(())
            }
        }
        .map_err(|e| e.to_string())
    }
    .await;
    if let Err(message) = result {
        crate::notify::show(crate::notify::Note {
            kind: "error",
            summary: "Dockhand".into(),
            body: message,
        });
    }
}
