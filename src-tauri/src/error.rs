//! The one error type that crosses into the webview: a stable code and a sentence for people.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct UiError {
    pub code: String,
    pub message: String,
}

impl From<dockhand_core::CoreError> for UiError {
    fn from(e: dockhand_core::CoreError) -> Self {
        UiError {
            code: e.code().to_string(),
            message: in_window_words(&e).unwrap_or_else(|| e.to_string()),
        }
    }
}

/// The core's errors end with what to do in a terminal (`--port`, `dockhand up …`); in the
/// window the same advice names the window's own controls. Errors without a command line in
/// their advice pass as the core words them.
fn in_window_words(e: &dockhand_core::CoreError) -> Option<String> {
    use dockhand_core::CoreError as E;
    Some(match e {
        E::ImagePull { image, reason, .. } => format!(
            "Could not download the image {image}: {reason}. Check your network (or registry \
             login), or choose a version marked \u{201c}downloaded\u{201d} in the list."
        ),
        E::PortInUse { port, by } => format!(
            "Port {port} on 127.0.0.1 is already in use{by}. Type another port, or stop what \
             is listening there."
        ),
        E::NoFreePort { kind, from, to } => {
            format!("No free port between {from} and {to} for {kind}. Type a port of your choice.")
        }
        E::SpecMismatch {
            name,
            existing,
            requested,
        } => format!(
            "A service named {name} already exists and is {existing}, not {requested}. To run \
             both side by side, give the new one another name."
        ),
        E::ForeignResource { what, name, why } => format!(
            "{what} {name} exists but was not made by Dockhand ({why}); nothing was changed. \
             Give the service another name, or remove it in Docker yourself."
        ),
        E::TakenOnServer { service, what } => format!(
            "{service} already has {what}, which Dockhand did not create: giving it to the \
             project would hand it someone else's data. Nothing was changed — add the project \
             again under another name, or rename or drop them on the server yourself."
        ),
        _ => return None,
    })
}

impl UiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        UiError {
            code: code.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockhand_core::CoreError;

    #[test]
    fn the_window_names_its_own_controls_not_command_lines() {
        let errors = [
            CoreError::ImagePull {
                image: "postgres:19".into(),
                kind: "postgres".into(),
                reason: "manifest unknown".into(),
            },
            CoreError::PortInUse {
                port: 5432,
                by: " by postgres (PID 7)".into(),
            },
            CoreError::NoFreePort {
                kind: "postgres".into(),
                from: 5432,
                to: 5532,
            },
        ];
        for e in errors {
            let ui = UiError::from(e);
            assert!(!ui.message.contains('`'), "{}", ui.message);
            assert!(!ui.message.contains("dockhand "), "{}", ui.message);
            assert!(!ui.message.contains("--"), "{}", ui.message);
        }
        let pull = UiError::from(CoreError::ImagePull {
            image: "postgres:19".into(),
            kind: "postgres".into(),
            reason: "manifest unknown".into(),
        });
        assert!(pull.message.contains("postgres:19") && pull.message.contains("manifest unknown"));
        assert_eq!(pull.code, "image_pull_failed");
    }
}
