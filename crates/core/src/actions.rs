//! Which actions a service offers in its state: the one rule the tray menu, the window and the
//! CLI follow, so that a button is never enabled in one place and refused in another.

use serde::Serialize;

use crate::state::ServiceState;

/// One thing a user can do to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Start,
    Stop,
    Restart,
    Backup,
    CopyAdminUrl,
    Logs,
    Destroy,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
            Action::Backup => "backup",
            Action::CopyAdminUrl => "copy-admin-url",
            Action::Logs => "logs",
            Action::Destroy => "destroy",
        }
    }
}

/// The actions enabled for one service (serialised into each service of the window's snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Actions {
    pub start: bool,
    pub stop: bool,
    pub restart: bool,
    pub backup: bool,
    pub copy_admin_url: bool,
    pub logs: bool,
    /// Remove the container (data kept or deleted): the window's service details.
    pub destroy: bool,
}

impl Actions {
    pub fn allows(&self, a: Action) -> bool {
        match a {
            Action::Start => self.start,
            Action::Stop => self.stop,
            Action::Restart => self.restart,
            Action::Backup => self.backup,
            Action::CopyAdminUrl => self.copy_admin_url,
            Action::Logs => self.logs,
            Action::Destroy => self.destroy,
        }
    }
}

/// The actions a service in `state` offers. Without Docker (`EngineUnavailable`) only the admin
/// URL, which comes from the store and the keychain, can still be had. A `Missing` service has
/// no container: nothing to stop and no logs, only Start (which recreates it) or Destroy.
pub fn actions_for(state: ServiceState) -> Actions {
    let engine = state != ServiceState::EngineUnavailable;
    let container = state != ServiceState::Missing;
    Actions {
        start: engine && !state.is_up(),
        stop: engine && container && !state.is_stopped(),
        restart: engine && state.is_up(),
        backup: engine && state.is_up(),
        copy_admin_url: true,
        logs: engine && container,
        destroy: engine,
    }
}

/// Why `action` is refused for a service named `name` in `state`, in words that say what to do
/// instead; `None` when the action is enabled.
pub fn refusal(name: &str, state: ServiceState, action: Action) -> Option<String> {
    if actions_for(state).allows(action) {
        return None;
    }
    Some(match (action, state) {
        (_, ServiceState::EngineUnavailable) => {
            format!(
                "cannot {} '{name}': Docker is not reachable",
                action.as_str()
            )
        }
        (Action::Restart | Action::Backup, _) => format!(
            "'{name}' is {state}, so it cannot be {}; `dockhand up {name}` starts it",
            if action == Action::Restart {
                "restarted"
            } else {
                "backed up"
            }
        ),
        (Action::Start, _) => format!("'{name}' is already {state}"),
        (Action::Stop | Action::Logs, ServiceState::Missing) => format!(
            "'{name}' has no container (it was removed outside Dockhand); `dockhand up {name}` \
             recreates it with its data, `dockhand destroy {name}` forgets it"
        ),
        (Action::Stop, _) => format!("'{name}' is already stopped"),
        _ => format!("cannot {} '{name}' while it is {state}", action.as_str()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expected actions of every state, written out: a new state must be added here.
    #[test]
    fn every_state_has_its_actions() {
        use ServiceState::*;
        // (state, start, stop, restart, backup, copy, logs)
        let table = [
            (Running, false, true, true, true, true, true),
            (Unhealthy, false, true, true, true, true, true),
            (Starting, true, true, false, false, true, true),
            (Creating, true, true, false, false, true, true),
            (Created, true, true, false, false, true, true),
            (Stopped, true, false, false, false, true, true),
            (Exited, true, true, false, false, true, true),
            (Failed, true, true, false, false, true, true),
            (Missing, true, false, false, false, true, false),
            (Paused, true, true, false, false, true, true),
            (Unknown, true, true, false, false, true, true),
            (EngineUnavailable, false, false, false, false, true, false),
        ];
        assert_eq!(table.len(), ServiceState::ALL.len());
        for (st, start, stop, restart, backup, copy_admin_url, logs) in table {
            let destroy = st != EngineUnavailable;
            assert_eq!(
                actions_for(st),
                Actions {
                    start,
                    stop,
                    restart,
                    backup,
                    copy_admin_url,
                    logs,
                    destroy
                },
                "{st}"
            );
        }
    }

    #[test]
    fn refusals_say_what_to_do_instead() {
        assert_eq!(refusal("pg", ServiceState::Running, Action::Restart), None);
        let why = refusal("pg", ServiceState::Stopped, Action::Restart).unwrap();
        assert!(
            why.contains("stopped") && why.contains("dockhand up pg"),
            "{why}"
        );
        let why = refusal("pg", ServiceState::EngineUnavailable, Action::Stop).unwrap();
        assert!(why.contains("Docker"), "{why}");
    }

    #[test]
    fn actions_serialise_as_the_window_reads_them() {
        let v = serde_json::to_value(actions_for(ServiceState::Stopped)).unwrap();
        assert_eq!(v["start"], true);
        assert_eq!(v["copy_admin_url"], true);
        assert_eq!(v["restart"], false);
    }
}
