//! The health of one service as the supervisor judges it from successive observations, and the
//! timing rules (how often to look, when to retry a failed service). Pure: no I/O, no clock of
//! its own, so every rule is unit-tested with plain values.

use std::time::Duration;

use serde::Serialize;

use crate::manager::ServiceStatus;
use crate::state::ServiceState;
use crate::store::Desired;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Health {
    Stopped,
    Starting,
    Healthy,
    Unhealthy,
    Failed,
    EngineUnavailable,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Stopped => "stopped",
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
            Health::Failed => "failed",
            Health::EngineUnavailable => "engine-unavailable",
        }
    }

    /// States worth looking at often.
    pub fn is_transient(self) -> bool {
        matches!(self, Health::Starting | Health::Unhealthy)
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Polling intervals: quick while a service is on its way up, relaxed once it is stable.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    pub transient: Duration,
    pub stable: Duration,
    pub engine_check: Duration,
}

impl Default for Intervals {
    fn default() -> Self {
        Intervals {
            transient: Duration::from_millis(500),
            stable: Duration::from_secs(5),
            engine_check: Duration::from_secs(2),
        }
    }
}

/// Delay before the n-th automatic restart (n from 0): 1 s, 2 s, 4 s … at most a minute.
pub fn restart_backoff(n: u32) -> Duration {
    Duration::from_secs(1u64 << n.min(6)).min(Duration::from_secs(60))
}

/// How long a service must stay healthy before its restart count starts again from zero.
pub const STABLE_AFTER: Duration = Duration::from_secs(60);

/// The health a status observation shows, given what the service was before and how long it has
/// been starting (a server that does not answer yet is "starting" until its kind's deadline).
pub fn judge(
    status: &ServiceStatus,
    previous: Option<Health>,
    starting_for: Duration,
) -> (Health, Option<String>) {
    let deadline = status.kind.spec().ready_deadline;
    match status.state {
        ServiceState::Running => (Health::Healthy, None),
        ServiceState::Starting => (Health::Starting, status.detail.clone()),
        ServiceState::Unhealthy => {
            let was_up = matches!(previous, Some(Health::Healthy) | Some(Health::Unhealthy));
            if !was_up && starting_for < deadline {
                (Health::Starting, None)
            } else {
                (Health::Unhealthy, status.detail.clone())
            }
        }
        ServiceState::Exited | ServiceState::Failed => (Health::Failed, status.detail.clone()),
        ServiceState::Missing if status.desired == Desired::Running => (
            Health::Failed,
            Some("its container is gone from Docker".into()),
        ),
        _ => (Health::Stopped, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Kind;

    fn status(state: ServiceState, desired: Desired, detail: Option<&str>) -> ServiceStatus {
        ServiceStatus {
            name: "pg".into(),
            kind: Kind::Postgres,
            version: "15".into(),
            image: "postgres:15".into(),
            host: "127.0.0.1".into(),
            host_port: 5432,
            desired,
            state,
            detail: detail.map(String::from),
            container_id: None,
            started_at: None,
            pinned: true,
            lifetime: None,
            consumers: vec![],
            projects: vec![],
            restart_on_failure: false,
            dedicated_to: None,
            origin: crate::store::Origin::Managed,
            mode: Default::default(),
            memory_limit_mb: None,
        }
    }

    #[test]
    fn a_server_that_does_not_answer_yet_is_starting_until_its_deadline() {
        let s = status(
            ServiceState::Unhealthy,
            Desired::Running,
            Some("connection refused"),
        );
        let (h, _) = judge(&s, Some(Health::Stopped), Duration::from_secs(1));
        assert_eq!(h, Health::Starting);
        let (h, why) = judge(&s, Some(Health::Starting), Duration::from_secs(120));
        assert_eq!(h, Health::Unhealthy);
        assert_eq!(why.as_deref(), Some("connection refused"));
        // A healthy server that stops answering is unhealthy at once.
        let (h, _) = judge(&s, Some(Health::Healthy), Duration::ZERO);
        assert_eq!(h, Health::Unhealthy);
    }

    #[test]
    fn exits_and_lost_containers_are_failures_with_reasons() {
        let s = status(
            ServiceState::Exited,
            Desired::Running,
            Some("exited with code 137 (out of memory)"),
        );
        assert_eq!(
            judge(&s, Some(Health::Healthy), Duration::ZERO),
            (
                Health::Failed,
                Some("exited with code 137 (out of memory)".into())
            )
        );
        let gone = status(ServiceState::Missing, Desired::Running, None);
        assert_eq!(judge(&gone, None, Duration::ZERO).0, Health::Failed);
        let removed = status(ServiceState::Missing, Desired::Stopped, None);
        assert_eq!(judge(&removed, None, Duration::ZERO).0, Health::Stopped);
        let stopped = status(ServiceState::Stopped, Desired::Stopped, None);
        assert_eq!(judge(&stopped, None, Duration::ZERO).0, Health::Stopped);
    }

    #[test]
    fn restarts_back_off_up_to_a_minute() {
        let secs: Vec<u64> = (0..9).map(|n| restart_backoff(n).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
