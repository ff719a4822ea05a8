//! The state of one service, as Dockhand observed it last: one enum for the store, the status
//! snapshot, the supervisor, the tray menu and the window, serialised as the same words it has
//! always been (`dockhand status --json` and the window read them).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceState {
    /// Its container runs and the server answers a real round trip.
    Running,
    /// Its container runs but the server does not answer (yet, or any more).
    Unhealthy,
    /// Docker is starting (or restarting) its container.
    Starting,
    /// Its container is being created.
    Creating,
    /// Its container exists and was never started.
    Created,
    /// Stopped by the user or by the idle stopper.
    Stopped,
    /// Its container exited while it should run.
    Exited,
    /// Its last start failed.
    Failed,
    /// Its container is gone from Docker.
    Missing,
    Paused,
    /// Docker reports something Dockhand does not know.
    Unknown,
    /// Docker cannot be reached, so nothing is known (the app shows this while Docker is down).
    EngineUnavailable,
}

impl ServiceState {
    pub const ALL: [ServiceState; 12] = [
        ServiceState::Running,
        ServiceState::Unhealthy,
        ServiceState::Starting,
        ServiceState::Creating,
        ServiceState::Created,
        ServiceState::Stopped,
        ServiceState::Exited,
        ServiceState::Failed,
        ServiceState::Missing,
        ServiceState::Paused,
        ServiceState::Unknown,
        ServiceState::EngineUnavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceState::Running => "running",
            ServiceState::Unhealthy => "unhealthy",
            ServiceState::Starting => "starting",
            ServiceState::Creating => "creating",
            ServiceState::Created => "created",
            ServiceState::Stopped => "stopped",
            ServiceState::Exited => "exited",
            ServiceState::Failed => "failed",
            ServiceState::Missing => "missing",
            ServiceState::Paused => "paused",
            ServiceState::Unknown => "unknown",
            ServiceState::EngineUnavailable => "engine-unavailable",
        }
    }

    /// The state a stored word names; a word this version does not know (written by a newer
    /// one) is `Unknown` rather than an error, so an old binary still lists the service.
    pub fn parse(s: &str) -> ServiceState {
        ServiceState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .unwrap_or(ServiceState::Unknown)
    }

    /// The server answers: the one state where nothing is wrong with a running service.
    pub fn is_healthy(self) -> bool {
        self == ServiceState::Running
    }

    /// Its container runs (answering or not): it can be restarted and backed up, not started.
    pub fn is_up(self) -> bool {
        matches!(self, ServiceState::Running | ServiceState::Unhealthy)
    }

    /// Something went wrong: it should run (or did) and does not answer.
    pub fn is_failing(self) -> bool {
        matches!(
            self,
            ServiceState::Failed
                | ServiceState::Exited
                | ServiceState::Unhealthy
                | ServiceState::Missing
        )
    }

    /// On its way up.
    pub fn is_starting(self) -> bool {
        self == ServiceState::Starting
    }

    pub fn is_stopped(self) -> bool {
        self == ServiceState::Stopped
    }
}

impl std::fmt::Display for ServiceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ServiceState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_and_displays_as_the_words_users_already_read() {
        let words = [
            "running",
            "unhealthy",
            "starting",
            "creating",
            "created",
            "stopped",
            "exited",
            "failed",
            "missing",
            "paused",
            "unknown",
            "engine-unavailable",
        ];
        for (st, word) in ServiceState::ALL.into_iter().zip(words) {
            assert_eq!(st.to_string(), word);
            assert_eq!(serde_json::to_string(&st).unwrap(), format!("\"{word}\""));
            assert_eq!(ServiceState::parse(word), st);
            let back: ServiceState = serde_json::from_str(&format!("\"{word}\"")).unwrap();
            assert_eq!(back, st);
        }
        assert_eq!(ServiceState::parse("hibernating"), ServiceState::Unknown);
    }

    #[test]
    fn health_follows_the_state() {
        assert!(ServiceState::Running.is_healthy() && ServiceState::Running.is_up());
        assert!(ServiceState::Unhealthy.is_up() && !ServiceState::Unhealthy.is_healthy());
        assert!(ServiceState::Unhealthy.is_failing());
        assert!(!ServiceState::Stopped.is_up() && !ServiceState::Stopped.is_failing());
        assert!(ServiceState::Missing.is_failing());
    }
}
