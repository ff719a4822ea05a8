//! What the desktop around the app offers: a display to draw on and a tray host to show the
//! icon. Without a display GTK would panic with a backtrace; without a tray host (no
//! StatusNotifierWatcher — GNOME without the AppIndicator extension) the app would run
//! invisibly. Both are detected here and said in one line.

use serde::Serialize;

/// Why the app cannot open any window here, or `None` when a display is configured.
pub fn display_problem() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let set = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    if set("DISPLAY") || set("WAYLAND_DISPLAY") {
        return None;
    }
    Some(
        "dockhand-app needs a graphical session: neither DISPLAY nor WAYLAND_DISPLAY is set. \
         Start it from your desktop (or over `ssh -X`); the `dockhand` command works without one."
            .into(),
    )
}

/// Whether a tray icon can be seen, and what to do when it cannot.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TrayHost {
    pub present: bool,
    /// What the user can do to get a tray icon (shown in the window when there is none).
    pub hint: Option<String>,
}

impl TrayHost {
    fn present() -> TrayHost {
        TrayHost {
            present: true,
            hint: None,
        }
    }

    fn missing(why: &str) -> TrayHost {
        TrayHost {
            present: false,
            hint: Some(format!(
                "No tray icon: {why}. Dockhand keeps this window open instead. On GNOME, install and \
                 enable the “AppIndicator and KStatusNotifierItem Support” extension \
                 (Debian/Ubuntu: gnome-shell-extension-appindicator), then start Dockhand again."
            )),
        }
    }
}

/// The well-known name a Linux tray host (KDE, GNOME's AppIndicator extension, waybar, …)
/// owns on the session bus; libappindicator registers the icon with it.
pub const WATCHER: &str = "org.kde.StatusNotifierWatcher";

/// Asks the session bus whether a tray host is there (within 3 s). macOS and Windows always
/// have one.
pub async fn tray_host() -> TrayHost {
    #[cfg(target_os = "linux")]
    {
        let ask = async {
            let conn = zbus::Connection::session().await?;
            let bus = zbus::fdo::DBusProxy::new(&conn).await?;
            let name = zbus::names::BusName::try_from(WATCHER)?;
            bus.name_has_owner(name).await.map_err(zbus::Error::from)
        };
        match tokio::time::timeout(std::time::Duration::from_secs(3), ask).await {
            Ok(Ok(true)) => TrayHost::present(),
            Ok(Ok(false)) => TrayHost::missing("this desktop has no tray host (nothing owns org.kde.StatusNotifierWatcher on the session bus)"),
            Ok(Err(e)) => TrayHost::missing(&format!("the session bus could not be asked for a tray host ({e})")),
            Err(_) => TrayHost::missing("the session bus did not answer within 3 s"),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        TrayHost::present()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tray_host_says_how_to_get_one() {
        let t = TrayHost::missing("no watcher");
        assert!(!t.present);
        let hint = t.hint.unwrap();
        assert!(
            hint.contains("no watcher") && hint.contains("gnome-shell-extension-appindicator"),
            "{hint}"
        );
    }
}
