//! "Launch at Login": the same XDG autostart entry the window's plugin
//! (tauri-plugin-autostart) reads and writes — `~/.config/autostart/Dockhand.desktop`, starting
//! `dockhand-app --at-login`.

use auto_launch::{AutoLaunch, AutoLaunchBuilder, LinuxLaunchMode};

use crate::launch::{sibling, AT_LOGIN_ARG};

/// The name of the login item (the app's product name, as the plugin uses it).
pub const NAME: &str = "Dockhand";

fn item() -> Option<AutoLaunch> {
    // The entry starts the app as the user does, through dockhand-app.
    let app = sibling("dockhand-app").or_else(|| std::env::current_exe().ok())?;
    AutoLaunchBuilder::new()
        .set_app_name(NAME)
        .set_app_path(&app.display().to_string())
        .set_args(&[AT_LOGIN_ARG])
        .set_linux_launch_mode(LinuxLaunchMode::XdgAutostart)
        .build()
        .ok()
}

pub fn enabled() -> bool {
    item().is_some_and(|i| i.is_enabled().unwrap_or(false))
}

pub fn set(on: bool) -> Result<(), String> {
    let i = item().ok_or("could not find dockhand-app to start at login")?;
    let r = if on { i.enable() } else { i.disable() };
    r.map_err(|e| format!("could not change the login item: {e}"))
}
