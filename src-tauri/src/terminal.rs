//! A command in a new terminal window, for "Open in terminal": the user's own terminal
//! (`$TERMINAL`), else the desktop's. The command's environment (the database password among
//! it) is handed to the terminal's environment, never its command line.

use std::path::Path;
use std::process::{Command, Stdio};

use dockhand_core::facade::platform::find_program;

/// Terminals Dockhand knows, each with what comes between its name and the command to run.
/// Debian's `x-terminal-emulator` (the desktop's chosen one) first.
const KNOWN: &[(&str, &[&str])] = &[
    ("x-terminal-emulator", &["-e"]),
    ("gnome-terminal", &["--"]),
    ("konsole", &["-e"]),
    ("xfce4-terminal", &["-x"]),
    ("mate-terminal", &["-x"]),
    ("tilix", &["-e"]),
    ("kitty", &[]),
    ("alacritty", &["-e"]),
    ("foot", &[]),
    ("wezterm", &["start", "--"]),
    ("xterm", &["-e"]),
];

/// Starts `program args` in a new terminal window; returns the terminal's name.
pub fn open(program: &Path, args: &[String], env: &[(String, String)]) -> Result<String, String> {
    if cfg!(not(target_os = "linux")) {
        return Err("opening a terminal is only done on Linux so far; `dockhand connect` in your own terminal does the same".into());
    }
    let chosen = std::env::var("TERMINAL")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .and_then(|t| find_program(t.trim()).map(|p| (p, vec!["-e"])))
        .or_else(|| {
            KNOWN
                .iter()
                .find_map(|(name, pre)| find_program(name).map(|p| (p, pre.to_vec())))
        });
    let Some((terminal, pre)) = chosen else {
        return Err(format!(
            "no terminal program found (tried $TERMINAL, {}); install one, or run `dockhand connect` in yours",
            KNOWN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ));
    };
    let name = terminal
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut child = Command::new(&terminal)
        .args(pre)
        .arg(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start {name}: {e}"))?;
    tracing::info!(terminal = %name, pid = child.id(), "opened a client in a terminal");
    // Reaped when it ends, so no zombie is left behind while the app runs.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(name)
}
