//! Dockhand's tray app: a thin Tauri shell over `dockhand-core`. The tray menu is the core's
//! `MenuModel` rendered; the dashboard window is static HTML talking to `commands`; a background
//! task refreshes snapshots, the tray and notifications.

pub mod commands;
pub mod desktop;
pub mod dialogs;
pub mod error;
pub mod notify;
pub mod state;
pub mod terminal;
pub mod tray;

use std::sync::Mutex;
use std::time::Duration;

use dockhand_core::facade::QuitBehaviour;
use tauri::{AppHandle, Emitter, Manager as _, Runtime, WindowEvent};
use tauri_plugin_autostart::{MacosLauncher, ManagerExt as _};

use crate::error::UiError;
use crate::state::{AppState, Snapshot};

/// How often the app looks at its services when nothing happens.
const POLL: Duration = Duration::from_secs(3);

#[derive(Default)]
struct TrayCache(Mutex<Option<dockhand_core::facade::menu::MenuModel>>);

#[derive(Default)]
struct Notes(notify::Notifier);

/// What to include; tests of commands run without a tray and without the single-instance guard
/// (which would end a test process that builds a second app).
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub tray: bool,
    pub single_instance: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tray: true,
            single_instance: true,
        }
    }
}

/// The app, generic over the runtime so `tauri::test::mock_builder()` can build it.
pub fn build_app<R: Runtime>(builder: tauri::Builder<R>, opts: Options) -> tauri::Builder<R> {
    let with_tray = opts.tray;
    let builder = if opts.single_instance {
        // Registered first: a second launch only brings the dashboard forward.
        builder.plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            show_dashboard(app, None)
        }))
    } else {
        builder
    };
    let builder = builder
        .plugin(tauri_plugin_autostart::init(
            MacosLauncher::LaunchAgent,
            // The login item says so: a start at login stays in the tray (see `opens_window`).
            Some(vec![AT_LOGIN_ARG]),
        ))
        .plugin(tauri_plugin_clipboard_manager::init());
    #[cfg(not(target_os = "linux"))]
    let builder = builder.plugin(tauri_plugin_dialog::init());
    builder
        .manage(AppState::default())
        .manage(TrayCache::default())
        .manage(Notes::default())
        .invoke_handler(tauri::generate_handler![
            commands::window::status,
            commands::window::about,
            commands::services::start,
            commands::services::stop,
            commands::services::restart,
            commands::services::copy_admin_url,
            commands::projects::copy_project_var,
            commands::projects::env_snippet,
            commands::services::logs,
            commands::window::events,
            commands::projects::project_up,
            commands::projects::project_down,
            commands::window::get_autostart,
            commands::window::set_autostart,
            commands::settings::set_grace_period,
            commands::backups::backup_service,
            commands::backups::backup_all,
            commands::backups::backups,
            commands::backups::verify_backup,
            commands::backups::restore_backup,
            commands::backups::reveal_backups,
            commands::settings::settings,
            commands::settings::set_setting,
            commands::settings::set_backup_setting,
            commands::settings::set_notify,
            commands::settings::set_restart_on_failure,
            commands::window::quit_app,
            commands::settings::set_default_version,
            commands::settings::set_quit_behaviour,
            commands::services::new_service_form,
            commands::services::check_port,
            commands::services::create_service,
            commands::services::service_details,
            commands::services::destroy_service,
            commands::logs::follow_logs,
            commands::logs::stop_logs,
            commands::databases::databases,
            commands::databases::create_database,
            commands::databases::drop_database,
            commands::adopt::detect_containers,
            commands::adopt::adopt_container,
            commands::externals::add_external,
            commands::externals::remove_external,
            commands::images::images,
            commands::images::prune_images,
            commands::upgrades::upgrade_choices,
            commands::upgrades::upgrade_service,
            commands::upgrades::rollback_upgrade,
            commands::upgrades::finish_upgrade,
            commands::projects::pick_project_folder,
            commands::projects::inspect_project_folder,
            commands::projects::add_project,
            commands::projects::attach_project,
            commands::projects::detach_project,
            commands::projects::remove_project,
            commands::projects::write_env,
            commands::projects::preview_env,
            commands::projects::ignore_env_in_git,
            commands::projects::open_client,
            commands::projects::copy_text,
            commands::backups::backups_folder,
            commands::window::shell_info,
            commands::tasks::tasks,
        ])
        .on_window_event(|window, event| match event {
            // Without a tray icon the window is the only way back to the app: closing it is
            // Quit (which asks, keeps or stops the services as the user chose).
            WindowEvent::CloseRequested { api, .. } if !tray_visible(window.app_handle()) => {
                api.prevent_close();
                let app = window.app_handle().clone();
                tauri::async_runtime::spawn(async move { quit(&app).await });
            }
            // Closing the dashboard destroys its webview (WebKit's memory goes with it); the
            // app lives on in the tray and "Open Dashboard…" builds a new one.
            WindowEvent::Destroyed => tracing::debug!("window {} closed", window.label()),
            _ => {}
        })
        .setup(move |app| {
            let handle = app.handle().clone();
            if with_tray {
                tray::create(&handle)?;
                // An icon nobody shows would leave the app invisible: without a tray host the
                // window opens instead and says how to get one.
                let h = handle.clone();
                tauri::async_runtime::spawn(async move {
                    let host = desktop::tray_host().await;
                    if let Some(hint) = &host.hint {
                        tracing::warn!("{hint}");
                        eprintln!("dockhand-app: {hint}");
                    }
                    let missing = !host.present;
                    *h.state::<AppState>().tray_host.lock().unwrap() = Some(host);
                    if missing {
                        show_dashboard(&h, None);
                    }
                });
            }
            let args: Vec<String> = std::env::args().skip(1).collect();
            if opens_window(
                &args,
                std::env::var_os("DOCKHAND_SHOW_WINDOW").is_some(),
                || {
                    // An unreadable state shows the window: it says what is wrong.
                    dockhand_core::has_services_default().unwrap_or(false)
                },
            ) {
                show_dashboard(&handle, None);
            }
            tauri::async_runtime::spawn(async move {
                // One receiver for the app's life: a fresh clone would see the same change again.
                let mut snapshots: Option<tokio::sync::watch::Receiver<_>> = None;
                loop {
                    refresh(&handle).await;
                    if snapshots.is_none() {
                        if let Some(sup) = handle.state::<AppState>().supervisor() {
                            let (h, events) = (handle.clone(), sup.events());
                            tauri::async_runtime::spawn(notify_from(h, events));
                            let mut rx = sup.snapshots();
                            rx.borrow_and_update();
                            snapshots = Some(rx);
                        }
                    }
                    match snapshots.as_mut() {
                        // Supervisor news shows at once; projects and leases every POLL.
                        Some(rx) => {
                            tokio::select! {
                                _ = rx.changed() => {}
                                _ = tokio::time::sleep(POLL) => {}
                            }
                        }
                        None => tokio::time::sleep(POLL).await,
                    }
                }
            });
            Ok(())
        })
}

pub fn run() {
    if let Some(why) = desktop::display_problem() {
        eprintln!("{why}");
        std::process::exit(2);
    }
    dockhand_core::facade::init_logging();
    // GTK panics (with a backtrace) when the display named in DISPLAY cannot be opened: catch
    // that and say it in one line.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        build_app(tauri::Builder::default(), Options::default()).build(tauri::generate_context!())
    }));
    std::panic::set_hook(hook);
    let app = match built {
        Ok(Ok(app)) => app,
        Ok(Err(e)) => {
            eprintln!("dockhand-app could not start: {e}");
            std::process::exit(1);
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("the window system failed to start");
            let display = std::env::var("WAYLAND_DISPLAY")
                .or_else(|_| std::env::var("DISPLAY"))
                .unwrap_or_default();
            eprintln!(
                "dockhand-app cannot open the display {display:?} ({what}); run it inside your desktop session"
            );
            std::process::exit(2);
        }
    };
    app.run(|_app, event| {
        // The last window closing is no reason to leave the tray; Quit passes an exit code.
        if let tauri::RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            api.prevent_exit();
        }
    });
}

/// Takes a snapshot and brings everything up to date: window, tray, notifications.
pub async fn refresh<R: Runtime>(app: &AppHandle<R>) -> Snapshot {
    let state = app.state::<AppState>();
    let prev = state.last.lock().unwrap().clone();
    let snap = state.refresh().await;
    // The window re-renders on each snapshot: only tell it about changes.
    if prev.as_ref() != Some(&snap) {
        let _ = app.emit("snapshot", &snap);
    }
    let model = tray::model(&snap, autostart_enabled(app));
    tray::update(app, &model, &mut app.state::<TrayCache>().0.lock().unwrap());
    snap
}

/// Turns the supervisor's events into desktop notifications (and tells the window).
async fn notify_from<R: Runtime>(
    app: AppHandle<R>,
    mut events: tokio::sync::broadcast::Receiver<
        dockhand_core::facade::supervisor::SupervisorEvent,
    >,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let e = match events.recv().await {
            Ok(e) => e,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        let _ = app.emit("supervisor-event", &e);
        announce(&app, &e).await;
    }
}

/// Shows the notification an event deserves, unless switched off or said within the minute.
pub async fn announce<R: Runtime>(
    app: &AppHandle<R>,
    e: &dockhand_core::facade::supervisor::SupervisorEvent,
) {
    let state = app.state::<AppState>();
    let last = state.last.lock().unwrap().clone();
    let describe = |service: &str| {
        last.as_ref()
            .and_then(|s| s.services.iter().find(|x| x.name == service))
            .map(|s| format!("{} {} ({})", s.kind.spec().display_name, s.version, s.name))
            .unwrap_or_else(|| service.to_string())
    };
    let Some((subject, note)) = notify::note_for(e, &describe) else {
        return;
    };
    deliver(app, subject, note).await;
}

/// One service's backup ("Back up now"): one notification for all its databases.
pub async fn announce_service_backup<R: Runtime>(
    app: &AppHandle<R>,
    service: &str,
    rows: &[dockhand_core::facade::BackupRow],
) {
    let describe = |s: &str| s.to_string();
    if let Some((subject, note)) = notify::note_for_service_backup(service, rows, &describe) {
        deliver(app, subject, note).await;
    }
}

/// Shows a notification unless the user switched its kind off or it repeats too soon.
async fn deliver<R: Runtime>(app: &AppHandle<R>, subject: String, mut note: notify::Note) {
    let state = app.state::<AppState>();
    let m = state.manager().await.ok();
    // A start the supervisor did not watch from its beginning (the user's own Start) was timed
    // by the manager, which recorded it with the "started" event.
    if note.kind == "started" && note.body == "ready" {
        if let Some(ready) = m
            .as_ref()
            .and_then(|m| m.events(Some(&subject), 10).ok())
            .and_then(|ev| ev.into_iter().find(|e| e.kind == "started"))
            .filter(|e| e.message.starts_with("ready in"))
        {
            note.body = ready.message;
        }
    }
    let enabled = |kind: &str| notify::enabled(m.as_deref(), kind);
    if app.state::<Notes>().0.admit(&subject, &note, enabled) {
        notify::show(note);
    }
}

/// Quit from the tray: the first time, the dashboard asks whether services should stop with
/// the app (the answer is kept; Settings changes it); after that, the answer is followed.
pub async fn quit<R: Runtime>(app: &AppHandle<R>) {
    let m = app.state::<AppState>().manager().await.ok();
    match m.and_then(|m| m.quit_behaviour().ok()) {
        Some(QuitBehaviour::Stop) => finish_quit(app, true).await,
        Some(QuitBehaviour::Keep) => finish_quit(app, false).await,
        Some(QuitBehaviour::Ask) | None => show_dashboard(app, Some("quit")),
    }
}

/// Stops the services if asked (the core leaves those a running `dockhand run` or attach still
/// uses), then ends the app.
pub async fn finish_quit<R: Runtime>(app: &AppHandle<R>, stop_services: bool) {
    if stop_services {
        if let Ok(m) = app.state::<AppState>().manager().await {
            if let Err(e) = m.stop_for_quit().await {
                tracing::warn!("could not tell which services to stop on quit: {e}");
            }
        }
    }
    app.exit(0);
}

/// The argument the login item starts the app with.
pub const AT_LOGIN_ARG: &str = "--at-login";

/// Whether the app opens its window as it starts. Started by the user (the app menu, a
/// terminal) it does, as Postgres.app and DBngin do — an app that shows only a tray icon looks
/// as if it did not start. Started at login it stays in the tray, unless there is no service
/// yet (the window's welcome is how one is made). `--show` or DOCKHAND_SHOW_WINDOW always open it.
pub fn opens_window(args: &[String], forced: bool, has_services: impl FnOnce() -> bool) -> bool {
    if forced || args.iter().any(|a| a == "--show") {
        return true;
    }
    !args.iter().any(|a| a == AT_LOGIN_ARG) || !has_services()
}

/// Shows the dashboard, building its webview if it is closed (it only exists while shown).
/// Always done on the main thread, one request after another: two callers at once (the tray
/// host check and `--show` at start) must not each build a window labelled "main" — the second
/// webview would get none of the commands' answers.
pub fn show_dashboard<R: Runtime>(app: &AppHandle<R>, view: Option<&str>) {
    let handle = app.clone();
    let view = view.map(str::to_string);
    if let Err(e) = app.run_on_main_thread(move || open_dashboard(&handle, view.as_deref())) {
        tracing::warn!("could not open the dashboard: {e}");
    }
}

fn open_dashboard<R: Runtime>(app: &AppHandle<R>, view: Option<&str>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
        if let Some(v) = view {
            let _ = app.emit("navigate", v);
        }
        return;
    }
    let Some(mut config) = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == "main")
        .cloned()
    else {
        return;
    };
    if let Some(v) = view {
        // A new page cannot hear an event sent before it loaded: the view rides in the URL.
        config.url = tauri::WebviewUrl::App(format!("index.html#{v}").into());
    }
    match tauri::WebviewWindowBuilder::from_config(app, &config).and_then(|b| b.build()) {
        Ok(w) => {
            let _ = w.set_focus();
        }
        Err(e) => tracing::warn!("could not open the dashboard: {e}"),
    }
}

/// Whether the tray icon can be seen (assumed until the tray host was asked).
fn tray_visible<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.state::<AppState>()
        .tray_host
        .lock()
        .unwrap()
        .as_ref()
        .is_none_or(|t| t.present)
}

pub fn autostart_enabled<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.autolaunch().is_enabled().unwrap_or(false)
}

pub fn set_autostart<R: Runtime>(app: &AppHandle<R>, on: bool) -> Result<(), UiError> {
    let l = app.autolaunch();
    let r = if on { l.enable() } else { l.disable() };
    r.map_err(|e| UiError::new("autostart", format!("could not change the login item: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_window_opens_unless_started_at_login_with_services() {
        // Started by the user: the window, services or not.
        assert!(opens_window(&args(&[]), false, || true));
        // At login: the tray only, unless there is nothing yet (the welcome makes the first).
        assert!(!opens_window(&args(&[AT_LOGIN_ARG]), false, || true));
        assert!(opens_window(&args(&[AT_LOGIN_ARG]), false, || false));
        // Asked for, always.
        assert!(opens_window(
            &args(&[AT_LOGIN_ARG, "--show"]),
            false,
            || true
        ));
        assert!(opens_window(&args(&[AT_LOGIN_ARG]), true, || true));
    }
}
