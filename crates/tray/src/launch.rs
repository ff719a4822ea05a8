//! How the app starts: whether its window opens, and which binary does what.

use std::path::PathBuf;

/// The argument the login item starts the app with.
pub const AT_LOGIN_ARG: &str = "--at-login";

/// The argument that makes `dockhand-app` the window process (started by the tray).
pub const WINDOW_ARG: &str = "--window";

/// The argument naming the view the window opens on (`new:postgres:16`, `logs:pg`, `quit`).
pub const VIEW_ARG: &str = "--view";

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

/// The view named after `--view`, if any.
pub fn view_arg(args: &[String]) -> Option<String> {
    args.iter()
        .position(|a| a == VIEW_ARG)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// A binary installed beside the running one (`/usr/bin/dockhand-tray` beside
/// `/usr/bin/dockhand-app`, or both in `target/release`).
pub fn sibling(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.join(name);
    path.is_file().then_some(path)
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

    #[test]
    fn the_view_rides_after_its_flag() {
        assert_eq!(
            view_arg(&args(&[WINDOW_ARG, VIEW_ARG, "new:postgres:16"])).as_deref(),
            Some("new:postgres:16")
        );
        assert_eq!(view_arg(&args(&[WINDOW_ARG])), None);
        assert_eq!(view_arg(&args(&[VIEW_ARG])), None);
    }
}
