//! The window is a process of its own (`dockhand-app --window`), started when it is wanted and
//! gone when it is closed — with it WebKit's processes and the OpenGL stack GTK loads. A second
//! start while one is open only brings that one forward (the window's single-instance plugin).

use std::os::unix::process::CommandExt as _;
use std::process::Command;

use crate::launch::{sibling, VIEW_ARG, WINDOW_ARG};

/// Opens the window (on a view, if given). Errors say what is missing.
pub fn open(view: Option<&str>) -> Result<(), String> {
    let app = sibling("dockhand-app").ok_or(
        "dockhand-app is not installed beside dockhand-tray: reinstall Dockhand (or build both: \
         cargo build -p dockhand-app -p dockhand-tray)",
    )?;
    let view = view.map(str::to_string);
    // The thread that starts the window waits for it: a window outlives neither that thread
    // nor the tray (PR_SET_PDEATHSIG is tied to the thread that forked), and its exit status
    // is collected (no zombie).
    std::thread::Builder::new()
        .name("window".into())
        .spawn(move || {
            let tray = std::process::id() as libc::pid_t;
            let mut cmd = Command::new(&app);
            cmd.arg(WINDOW_ARG);
            if let Some(v) = &view {
                cmd.args([VIEW_ARG, v]);
            }
            // SAFETY: prctl, getppid and raise are async-signal-safe.
            unsafe {
                cmd.pre_exec(move || {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    // The tray ended before the line above took effect.
                    if libc::getppid() != tray {
                        libc::raise(libc::SIGTERM);
                    }
                    Ok(())
                });
            }
            match cmd.spawn() {
                Ok(mut child) => {
                    let status = child.wait();
                    tracing::debug!("window process ended: {status:?}");
                }
                Err(e) => tracing::warn!("could not start {}: {e}", app.display()),
            }
        })
        .map(|_| ())
        .map_err(|e| format!("could not start the window: {e}"))
}
