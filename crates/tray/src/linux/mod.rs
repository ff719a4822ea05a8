//! The tray process on Linux: the icon and its menu (the core's `MenuModel` as a
//! StatusNotifierItem), the supervisor, the notifications, the clipboard the "Copy" items fill,
//! and the window, started as a process of its own when it is wanted.

mod autostart;
mod clipboard;
mod icon;
mod window;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dockhand_core::facade::menu::{self, ItemKind, MenuAction, MenuItem as ModelItem, MenuModel};
use dockhand_core::facade::supervisor::SupervisorEvent;
use dockhand_core::facade::QuitBehaviour;
use dockhand_core::UpRequest;
use ksni::TrayMethods as _;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;

use crate::core_state::CoreState;
use crate::ipc::{self, Request};
use crate::launch::{opens_window, view_arg, AT_LOGIN_ARG};
use crate::notify::{self, Notifier};

/// How often the tray looks at its services when nothing happens.
const POLL: Duration = Duration::from_secs(3);

pub fn run() -> i32 {
    if let Some(why) = crate::desktop::display_problem() {
        eprintln!("{why}");
        return 2;
    }
    if let Some(why) = unreachable_display() {
        eprintln!("{why}");
        return 2;
    }
    dockhand_core::facade::init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let home = match dockhand_core::Home::resolve() {
        Ok(h) => h.root().to_path_buf(),
        Err(e) => {
            eprintln!("dockhand-app could not start: {e}");
            return 1;
        }
    };
    // One tray per home: a second launch hands its wish to the first and ends.
    let lock = match hold_lock(&home) {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            if args.iter().any(|a| a == AT_LOGIN_ARG) {
                return 0;
            }
            return match ipc::send(&home, &Request::Show(view_arg(&args))) {
                Ok(_) => 0,
                Err(e) => {
                    eprintln!("dockhand-app is already running but did not answer: {e}");
                    1
                }
            };
        }
        Err(e) => {
            eprintln!("dockhand-app could not start: {e}");
            return 1;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dockhand-app could not start: {e}");
            return 1;
        }
    };
    rt.block_on(tray_main(home, args));
    drop(lock);
    0
}

/// A DISPLAY that cannot be opened, said in one line (GTK would panic with a backtrace in the
/// window process; the clipboard needs it here).
fn unreachable_display() -> Option<String> {
    let display = std::env::var("DISPLAY").ok().filter(|d| !d.is_empty())?;
    if std::env::var_os("WAYLAND_DISPLAY").is_some_and(|w| !w.is_empty()) {
        return None;
    }
    match x11rb::connect(Some(&display)) {
        Ok(_) => None,
        Err(e) => Some(format!(
            "dockhand-app cannot open the display {display:?} ({e}); run it inside your desktop session"
        )),
    }
}

/// Holds `tray.lock` for the process's life; `None` when another tray holds it.
fn hold_lock(home: &Path) -> std::io::Result<Option<std::fs::File>> {
    use std::os::fd::AsRawFd as _;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(ipc::lock_path(home))?;
    // SAFETY: flock on a descriptor this function owns.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(Some(f));
    }
    let e = std::io::Error::last_os_error();
    if e.kind() == std::io::ErrorKind::WouldBlock {
        Ok(None)
    } else {
        Err(e)
    }
}

struct Shared {
    core: CoreState,
    notes: Notifier,
    clipboard: clipboard::Clipboard,
    home: PathBuf,
    tray: tokio::sync::Mutex<Option<ksni::Handle<DockTray>>>,
    /// The menu last shown (rebuilt only when it changes).
    shown: std::sync::Mutex<Option<MenuModel>>,
    wake: tokio::sync::Notify,
}

async fn tray_main(home: PathBuf, args: Vec<String>) {
    let (clicks, mut clicked) = mpsc::unbounded_channel::<String>();
    let shared = Arc::new(Shared {
        core: CoreState::new(true),
        notes: Notifier::default(),
        clipboard: Default::default(),
        home,
        tray: Default::default(),
        shown: Default::default(),
        wake: Default::default(),
    });
    let initial = menu::build(&[], &[], autostart::enabled(), None);
    // A tray host that comes later (a desktop still starting) still gets the icon.
    match DockTray::new(initial, clicks)
        .assume_sni_available(true)
        .spawn()
        .await
    {
        Ok(h) => *shared.tray.lock().await = Some(h),
        Err(e) => tracing::warn!("no tray icon: {e}"),
    }
    let host = crate::desktop::tray_host().await;
    if let Some(hint) = &host.hint {
        tracing::warn!("{hint}");
        eprintln!("dockhand-app: {hint}");
    }
    // An icon nobody shows would leave the app invisible: without a tray host the window opens.
    let show = !host.present
        || opens_window(
            &args,
            std::env::var_os("DOCKHAND_SHOW_WINDOW").is_some(),
            // An unreadable state shows the window: it says what is wrong.
            || dockhand_core::has_services_default().unwrap_or(false),
        );
    if show {
        open_window(view_arg(&args).as_deref());
    }
    match bind(&shared.home) {
        Ok(listener) => {
            tokio::spawn(serve(shared.clone(), listener));
        }
        Err(e) => tracing::warn!(
            "a second start of the app cannot reach this one ({}): {e}",
            ipc::socket_path(&shared.home).display()
        ),
    }
    let s = shared.clone();
    tokio::spawn(async move {
        while let Some(id) = clicked.recv().await {
            let s = s.clone();
            tokio::spawn(async move { on_click(&s, &id).await });
        }
    });
    refresh_loop(shared).await;
}

fn open_window(view: Option<&str>) {
    if let Err(e) = window::open(view) {
        tracing::warn!("{e}");
        notify::show(notify::Note {
            kind: "error",
            summary: "Dockhand".into(),
            body: e,
        });
    }
}

/// The tray follows the services: supervisor news at once, projects and leases every POLL.
async fn refresh_loop(shared: Arc<Shared>) {
    let mut snapshots = None;
    loop {
        refresh(&shared).await;
        if snapshots.is_none() {
            if let Some(sup) = shared.core.supervisor() {
                tokio::spawn(notify_from(shared.clone(), sup.events()));
                let mut rx = sup.snapshots();
                rx.borrow_and_update();
                snapshots = Some(rx);
            }
        }
        match snapshots.as_mut() {
            Some(rx) => {
                tokio::select! {
                    _ = rx.changed() => {}
                    _ = shared.wake.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
            None => {
                tokio::select! {
                    _ = shared.wake.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
        }
    }
}

async fn refresh(shared: &Shared) {
    let snap = shared.core.refresh().await;
    let model = menu::build(
        &snap.statuses(),
        &snap.project_entries(),
        autostart::enabled(),
        snap.engine_error.as_deref(),
    );
    if shared.shown.lock().unwrap().as_ref() == Some(&model) {
        return;
    }
    if let Some(h) = shared.tray.lock().await.as_ref() {
        let m = model.clone();
        h.update(move |t| t.set(m)).await;
    }
    *shared.shown.lock().unwrap() = Some(model);
}

async fn notify_from(
    shared: Arc<Shared>,
    mut events: tokio::sync::broadcast::Receiver<SupervisorEvent>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let e = match events.recv().await {
            Ok(e) => e,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        let last = shared.core.last.lock().unwrap().clone();
        let describe = |s: &str| notify::describe_in(last.as_ref(), s);
        if let Some((subject, note)) = notify::note_for(&e, &describe) {
            announce(&shared, subject, note);
        }
    }
}

fn announce(shared: &Shared, subject: String, note: notify::Note) {
    notify::deliver(
        &shared.notes,
        shared.core.opened().as_deref(),
        subject,
        note,
    );
}

fn bind(home: &Path) -> std::io::Result<tokio::net::UnixListener> {
    let path = ipc::socket_path(home);
    // This process holds the home's tray lock: a socket file left there is a dead tray's.
    let _ = std::fs::remove_file(&path);
    let l = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

async fn serve(shared: Arc<Shared>, listener: tokio::net::UnixListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut line = String::new();
            let read = tokio::time::timeout(
                Duration::from_secs(5),
                tokio::io::BufReader::new(r).read_line(&mut line),
            )
            .await;
            let Some(req) = read
                .ok()
                .and_then(|r| r.ok())
                .and_then(|_| Request::parse(&line))
            else {
                let _ = w.write_all(b"unknown request\n").await;
                return;
            };
            let _ = w.write_all(b"ok\n").await;
            drop(w);
            match req {
                Request::Show(view) => open_window(view.as_deref()),
                Request::Quit { stop_services } => finish_quit(&shared, stop_services).await,
            }
        });
    }
}

/// Quit from the tray: the first time, the window asks whether services should stop with the
/// app (the answer is kept; Settings changes it); after that, the answer is followed.
async fn quit(shared: &Shared) {
    let m = shared.core.manager().await.ok();
    match m.and_then(|m| m.quit_behaviour().ok()) {
        Some(QuitBehaviour::Stop) => finish_quit(shared, true).await,
        Some(QuitBehaviour::Keep) => finish_quit(shared, false).await,
        Some(QuitBehaviour::Ask) | None => open_window(Some("quit")),
    }
}

/// Stops the services if asked (the core leaves those a running `dockhand run` or attach still
/// uses), then ends the app — its window with it.
async fn finish_quit(shared: &Shared, stop_services: bool) {
    if stop_services {
        if let Ok(m) = shared.core.manager().await {
            if let Err(e) = m.stop_for_quit().await {
                tracing::warn!("could not tell which services to stop on quit: {e}");
            }
        }
    }
    if let Some(h) = shared.tray.lock().await.take() {
        h.shutdown().await;
    }
    let _ = std::fs::remove_file(ipc::socket_path(&shared.home));
    // A URL copied just before stays pasteable: the clipboard is handed to a clipboard manager.
    drop(shared.clipboard.take());
    std::process::exit(0);
}

async fn on_click(shared: &Shared, id: &str) {
    let Some(action) = MenuAction::parse(id) else {
        return;
    };
    let none = |_| {};
    let result: Result<(), String> = async {
        let m = || async { shared.core.manager().await.map_err(|e| e.to_string()) };
        match action {
            MenuAction::Start(name) => {
                let m = m().await?;
                let req = UpRequest::for_service(&m.resolve(&name).map_err(|e| e.to_string())?);
                m.up(&req, &none)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            MenuAction::Stop(name) => m()
                .await?
                .down(&name)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            MenuAction::Restart(name) => m()
                .await?
                .restart(&name, &none)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            MenuAction::CopyAdminUrl(name) => {
                let url = m().await?.admin_url(&name).map_err(|e| e.to_string())?;
                shared.clipboard.set(url)
            }
            MenuAction::CopyProjectVar { project, var } => {
                let (value, _) = m()
                    .await?
                    .project_var_for_copy(&project, &var, &none)
                    .await
                    .map_err(|e| e.to_string())?;
                shared.clipboard.set(value)
            }
            MenuAction::ProjectUp(p) => {
                let m = m().await?;
                let row = m
                    .project_for(Some(&p), Path::new("/"))
                    .map_err(|e| e.to_string())?;
                m.hold_project(&row, None, &none)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            MenuAction::ProjectDown(p) => {
                let m = m().await?;
                let row = m
                    .project_for(Some(&p), Path::new("/"))
                    .map_err(|e| e.to_string())?;
                m.project_down(&row)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            MenuAction::BackUp(name) => {
                let m = m().await?;
                let r = m
                    .backup(
                        &name,
                        &dockhand_core::facade::BackupScope::All,
                        "manual",
                        &none,
                    )
                    .await;
                let last = shared.core.last.lock().unwrap().clone();
                let describe = |s: &str| notify::describe_in(last.as_ref(), s);
                let news = notify::service_backup_news(
                    &name,
                    r.as_deref().map_err(|e| e.to_string()),
                    &describe,
                );
                if let Some((subject, note)) = news {
                    announce(shared, subject, note);
                }
                // Its failure was the notification.
                Ok(())
            }
            MenuAction::BackUpAll => {
                let m = m().await?;
                let (done, failed) = m
                    .backup_all_running("manual", &none)
                    .await
                    .map_err(|e| e.to_string())?;
                let last = shared.core.last.lock().unwrap().clone();
                let describe = |s: &str| notify::describe_in(last.as_ref(), s);
                let first = failed.first().map(|(s, e)| (s.as_str(), e.to_string()));
                for (subject, note) in notify::backup_all_news(&done, first, &describe) {
                    announce(shared, subject, note);
                }
                Ok(())
            }
            MenuAction::TakePoint(project) => {
                let m = m().await?;
                // Ending the project's sessions needs the user's word: the tray cannot ask, so
                // the error says where it can be given (the window asks).
                let taken = m
                    .take_restore_point(&project, None, false)
                    .await
                    .map_err(|e| {
                        e.agree_by(
                            "take it from the project's card in the window, which asks before \
                             ending them",
                        )
                        .to_string()
                    });
                let (subject, note) =
                    notify::point_news(&project, taken.as_ref().map_err(String::clone));
                announce(shared, subject, note);
                refresh(shared).await;
                Ok(())
            }
            MenuAction::ResetToPoint { project, point } => {
                // A reset replaces data: the window asks first, in a native dialog.
                open_window(Some(&format!("reset:{project}:{point}")));
                Ok(())
            }
            MenuAction::OpenLogs(name) => {
                open_window(Some(&format!("logs:{name}")));
                Ok(())
            }
            MenuAction::NewService { kind, version } => {
                let view = match version {
                    Some(v) => format!("new:{kind}:{v}"),
                    None => format!("new:{kind}"),
                };
                open_window(Some(&view));
                Ok(())
            }
            MenuAction::OpenDashboard => {
                open_window(None);
                Ok(())
            }
            MenuAction::ToggleAutostart => autostart::set(!autostart::enabled()),
            MenuAction::Quit => {
                quit(shared).await;
                Ok(())
            }
        }
    }
    .await;
    // What the user changed shows at once in the menu.
    shared.core.settle().await;
    shared.wake.notify_one();
    if let Err(message) = result {
        notify::show(notify::Note {
            kind: "error",
            summary: "Dockhand".into(),
            body: message,
        });
    }
}

/// The StatusNotifierItem: the icon of the services' health and the menu the core builds.
struct DockTray {
    model: MenuModel,
    icon: ksni::Icon,
    clicks: mpsc::UnboundedSender<String>,
}

impl DockTray {
    fn new(model: MenuModel, clicks: mpsc::UnboundedSender<String>) -> DockTray {
        DockTray {
            icon: icon::pixmap(model.health),
            model,
            clicks,
        }
    }

    fn set(&mut self, model: MenuModel) {
        if model.health != self.model.health {
            self.icon = icon::pixmap(model.health);
        }
        self.model = model;
    }
}

impl ksni::Tray for DockTray {
    fn id(&self) -> String {
        "dockhand".into()
    }

    fn title(&self) -> String {
        "Dockhand".into()
    }

    fn category(&self) -> ksni::Category {
        ksni::Category::ApplicationStatus
    }

    fn icon_pixmap(&self) -> Vec<ksni::Icon> {
        vec![self.icon.clone()]
    }

    /// A left click on the icon opens the window (the menu is on the right button).
    fn activate(&mut self, _x: i32, _y: i32) {
        let _ = self.clicks.send("open-dashboard".into());
    }

    fn menu(&self) -> Vec<ksni::MenuItem<Self>> {
        render(&self.model.items)
    }
}

/// In D-Bus menus an underscore marks the access key: a literal one is doubled
/// ("Copy DATABASE_URL" would show as "Copy DATABASEURL").
fn label(text: &str) -> String {
    text.replace('_', "__")
}

fn render(items: &[ModelItem]) -> Vec<ksni::MenuItem<DockTray>> {
    items
        .iter()
        .map(|i| {
            let id = i.id.clone();
            let click = Box::new(move |t: &mut DockTray| {
                let _ = t.clicks.send(id.clone());
            });
            match &i.kind {
                ItemKind::Separator => ksni::MenuItem::Separator,
                ItemKind::Action => ksni::menu::StandardItem {
                    label: label(&i.label),
                    enabled: i.enabled,
                    activate: click,
                    ..Default::default()
                }
                .into(),
                ItemKind::Check(on) => ksni::menu::CheckmarkItem {
                    label: label(&i.label),
                    enabled: i.enabled,
                    checked: *on,
                    activate: click,
                    ..Default::default()
                }
                .into(),
                ItemKind::Submenu(sub) => ksni::menu::SubMenu {
                    label: label(&i.label),
                    enabled: i.enabled,
                    submenu: render(sub),
                    ..Default::default()
                }
                .into(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_menu_is_the_core_model_with_literal_underscores() {
        let model = menu::build(&[], &[], true, None);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut tray = DockTray::new(model.clone(), tx);
        let items = render(&model.items);
        assert_eq!(items.len(), model.items.len());
        assert_eq!(label("Copy DATABASE_URL"), "Copy DATABASE__URL");
        // Clicking an item sends the model's id.
        let quit = model.items.iter().position(|i| i.id == "quit").unwrap();
        match &items[quit] {
            ksni::MenuItem::Standard(s) => (s.activate)(&mut tray),
            _ => panic!("Quit is a plain item"),
        }
        assert_eq!(rx.try_recv().unwrap(), "quit");
        // The login item is a check item showing its state.
        let login = model
            .items
            .iter()
            .position(|i| matches!(i.kind, ItemKind::Check(_)))
            .unwrap();
        assert!(matches!(&items[login], ksni::MenuItem::Checkmark(c) if c.checked));
    }
}
