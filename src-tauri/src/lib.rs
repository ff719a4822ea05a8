//! Dockhand's tray app: a thin Tauri shell over `dockhand-core`. The dashboard window is static
//! HTML talking to `commands`; a background task refreshes snapshots, the tray and notifications.
//!
//! On Linux the app is two processes: `dockhand-app` hands over at once to `dockhand-tray` (the
//! icon, the supervisor, the notifications; no webview, no GTK), which starts
//! `dockhand-app --window` when the window is wanted; that process ends when the window closes
//! (docs/BENCHMARK.md: the memory a tray app keeps all day). Elsewhere — or when
//! `dockhand-tray` is missing — one process does both, the tray drawn by Tauri (`tray`).

pub mod commands;
pub mod dialogs;
pub mod error;
pub mod state;
pub mod terminal;
pub mod tray;

pub use dockhand_tray::launch::{opens_window, AT_LOGIN_ARG};
pub use dockhand_tray::{desktop, notify};

use std::sync::Mutex;
use std::time::Duration;

use dockhand_core::facade::QuitBehaviour;
use tauri::{AppHandle, Emitter, Manager as _, Runtime, WindowEvent};
use tauri_plugin_autostart::ManagerExt as _;

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
    /// The window process of Linux's two-process app: it only watches the services (the tray
    /// process supervises and notifies), ends when its window closes, and hands Quit to the tray.
    pub window_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tray: true,
            single_instance: true,
            window_only: false,
        }
    }
}

/// Whether this process is the window process of the two-process app.
struct WindowOnly(bool);

fn window_only<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.try_state::<WindowOnly>().is_some_and(|w| w.0)
}

/// The app, generic over the runtime so `tauri::test::mock_builder()` can build it.
pub fn build_app<R: Runtime>(builder: tauri::Builder<R>, opts: Options) -> tauri::Builder<R> {
    let with_tray = opts.tray;
    let builder = if opts.single_instance {
        // Registered first: a second launch only brings the dashboard forward (on the view it
        // names: the tray's "New service ▸ PostgreSQL 16" while the window is open).
        builder.plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            show_dashboard(app, dockhand_tray::launch::view_arg(&argv).as_deref())
        }))
    } else {
        builder
    };
    let builder = builder
        .plugin(
            // macOS: a LaunchAgent (the builder's default).
            tauri_plugin_autostart::Builder::new()
                // The same item Linux's tray process writes (dockhand_tray's autostart).
                .app_name(LOGIN_ITEM_NAME)
                // The login item says so: a start at login stays in the tray (`opens_window`).
                .args([AT_LOGIN_ARG])
                .build(),
        )
        .plugin(tauri_plugin_clipboard_manager::init());
    #[cfg(not(target_os = "linux"))]
    let builder = builder.plugin(tauri_plugin_dialog::init());
    builder
        .manage(AppState::new(!opts.window_only))
        .manage(WindowOnly(opts.window_only))
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
            commands::points::take_point,
            commands::points::reset_point,
            commands::points::delete_point,
            commands::points::set_follow_branches,
            commands::points::delete_branch,
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
            if opts.window_only {
                let args: Vec<String> = std::env::args().collect();
                show_dashboard(&handle, dockhand_tray::launch::view_arg(&args).as_deref());
                // Whether closing is Quit (no tray icon to come back through).
                let h = handle.clone();
                tauri::async_runtime::spawn(async move {
                    let host = desktop::tray_host().await;
                    *h.state::<AppState>().tray_host.lock().unwrap() = Some(host);
                });
            } else if with_tray {
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
            if !opts.window_only
                && opens_window(
                    &args,
                    std::env::var_os("DOCKHAND_SHOW_WINDOW").is_some(),
                    || {
                        // An unreadable state shows the window: it says what is wrong.
                        dockhand_core::has_services_default().unwrap_or(false)
                    },
                )
            {
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
                            tauri::async_runtime::spawn(notify_from(h, events, !opts.window_only));
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

/// The login item's name (the app's product name; Linux's tray process writes the same item).
pub const LOGIN_ITEM_NAME: &str = "Dockhand";

pub fn run() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let window_only =
        cfg!(target_os = "linux") && args.iter().any(|a| a == dockhand_tray::launch::WINDOW_ARG);
    #[cfg(target_os = "linux")]
    if !window_only {
        hand_over_to_the_tray(&args);
    }
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
        let opts = Options {
            tray: !window_only,
            window_only,
            ..Options::default()
        };
        build_app(tauri::Builder::default(), opts).build(tauri::generate_context!())
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
    app.run(move |_app, event| {
        // The last window closing is no reason to leave the tray; Quit passes an exit code.
        // The window process has no tray: its window closing ends it.
        if let tauri::RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            if !window_only {
                api.prevent_exit();
            }
        }
    });
}

/// Linux: the tray is a process of its own (`dockhand-tray`, installed beside this binary),
/// which starts this one with `--window` when the window is wanted. `exec` keeps the process
/// (its pid, its place in the login session) and drops WebKit's libraries from memory.
#[cfg(target_os = "linux")]
fn hand_over_to_the_tray(args: &[String]) {
    use std::os::unix::process::CommandExt as _;
    let Some(tray) = dockhand_tray::launch::sibling("dockhand-tray") else {
        eprintln!(
            "dockhand-app: dockhand-tray is not beside this binary; the tray runs in this process \
             (with the window's memory: reinstall Dockhand, or `cargo build -p dockhand-tray`)"
        );
        return;
    };
    let e = std::process::Command::new(&tray).args(args).exec();
    eprintln!(
        "dockhand-app: could not start {}: {e}; the tray runs in this process",
        tray.display()
    );
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

/// Turns the supervisor's events into desktop notifications (unless another process of the app
/// announces them) and tells the window.
async fn notify_from<R: Runtime>(
    app: AppHandle<R>,
    mut events: tokio::sync::broadcast::Receiver<
        dockhand_core::facade::supervisor::SupervisorEvent,
    >,
    announces: bool,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let e = match events.recv().await {
            Ok(e) => e,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        let _ = app.emit("supervisor-event", &e);
        if announces {
            announce_news(&app, |describe| {
                notify::note_for(&e, describe).into_iter().collect()
            })
            .await;
        }
    }
}

/// Shows the notifications some news deserves (the services described as the last snapshot
/// knows them), unless switched off or said within the minute.
pub async fn announce_news<R: Runtime>(
    app: &AppHandle<R>,
    news: impl FnOnce(&notify::Describe<'_>) -> Vec<(String, notify::Note)>,
) {
    let state = app.state::<AppState>();
    let last = state.last.lock().unwrap().clone();
    let describe = |s: &str| notify::describe_in(last.as_ref(), s);
    let notes = news(&describe);
    let m = state.manager().await.ok();
    for (subject, note) in notes {
        notify::deliver(&app.state::<Notes>().0, m.as_deref(), subject, note);
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
    // The window process: the tray process stops the services and ends (this window with it).
    if window_only(app) {
        let home = dockhand_core::Home::resolve().map(|h| h.root().to_path_buf());
        let asked = home.map(|h| {
            dockhand_tray::ipc::send(&h, &dockhand_tray::ipc::Request::Quit { stop_services })
        });
        match asked {
            Ok(Ok(true)) => {
                app.exit(0);
                return;
            }
            // No tray process (it ended, or was never started): this process does it.
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!("the tray process did not answer Quit: {e}"),
            Err(e) => tracing::warn!("the tray process cannot be asked to quit: {e}"),
        }
    }
    if stop_services {
        if let Ok(m) = app.state::<AppState>().manager().await {
            if let Err(e) = m.stop_for_quit().await {
                tracing::warn!("could not tell which services to stop on quit: {e}");
            }
        }
    }
    app.exit(0);
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
