//! What the dashboard can ask for, by area. Every command returns `{code, message}` on failure;
//! secrets go from the core straight to the clipboard, not through the webview (except the
//! `.env` snippet the user explicitly asks to see).

pub mod adopt;
pub mod backups;
pub mod databases;
pub mod externals;
pub mod images;
pub mod logs;
pub mod points;
pub mod projects;
pub mod services;
pub mod settings;
pub mod tasks;
pub mod upgrades;
pub mod window;

use tauri::{AppHandle, Emitter as _, Runtime};

use crate::error::UiError;
use crate::state::AppState;

pub(crate) type Res<T> = Result<T, UiError>;

/// After the user changed a service: the supervisor looks at once, then tray and window follow.
pub(crate) async fn after_action<R: Runtime>(app: &AppHandle<R>, state: &AppState) {
    state.settle().await;
    crate::refresh(app).await;
}

/// Every long operation's progress goes to the window as one `progress` event carrying the
/// core's [`dockhand_core::Progress`]; the window shows it where that operation is shown.
pub(crate) fn progress_events<R: Runtime>(
    app: &AppHandle<R>,
) -> impl Fn(dockhand_core::Progress) + Send + Sync {
    let a = app.clone();
    move |p: dockhand_core::Progress| {
        let _ = a.emit("progress", &p);
    }
}

#[cfg(test)]
mod tests {
    /// One channel for progress: the window listens to `progress` and no per-operation event,
    /// and the app emits it from one place (a second name would be a contract the window misses).
    #[test]
    fn progress_reaches_the_window_as_one_event() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let js = std::fs::read_to_string(format!("{root}/ui/app.js")).unwrap();
        assert!(
            js.contains(r#"listen("progress""#),
            "ui/app.js listens to progress"
        );
        let per_op: Vec<&str> = js
            .split("listen(\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .filter(|name| name.ends_with("-progress"))
            .collect();
        assert!(
            per_op.is_empty(),
            "per-operation progress events: {per_op:?}"
        );

        let mut emits = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(format!("{root}/src-tauri/src"))];
        while let Some(dir) = dirs.pop() {
            for e in std::fs::read_dir(dir).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for name in text
                    .split(".emit(\"")
                    .skip(1)
                    .filter_map(|s| s.split('"').next())
                {
                    if name.contains("progress") {
                        emits.push(format!("{}: {name}", path.display()));
                    }
                }
            }
        }
        assert_eq!(emits.len(), 1, "progress emitted from: {emits:?}");
        assert!(emits[0].ends_with("commands/mod.rs: progress"), "{emits:?}");
    }
}
