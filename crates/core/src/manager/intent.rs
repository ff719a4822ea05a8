//! What the user (or Dockhand on their behalf) is doing to a service right now — stopping it,
//! starting it — kept in the state database so that every process sees it: the tray app's
//! supervisor then reads the transitions that follow (a container shutting down, a server not
//! answering yet) as expected steps, not as failures, whichever process started them.

use std::time::Duration;

use super::Manager;
use crate::state::ServiceState;
use crate::store::now_ms;

/// An intent older than this is left over from a process that died mid-way: ignored, so a
/// real failure later is reported as one. Longer than any kind's ready deadline plus a stop.
const INTENT_TTL: Duration = Duration::from_secs(180);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intent {
    Stop,
    Start,
}

impl Intent {
    fn as_str(self) -> &'static str {
        match self {
            Intent::Stop => "stop",
            Intent::Start => "start",
        }
    }
}

fn key(service: &str) -> String {
    format!("intent.{service}")
}

/// Reads a recorded intent (`start:<ms>[:<pid>:<pid start>]`): none when it is older than
/// [`INTENT_TTL`] or its process is gone — a process killed mid-start must not make a stopped
/// service read "starting…" for minutes.
fn read_intent(
    value: &str,
    now_ms: i64,
    alive: impl Fn(u32, Option<&str>) -> bool,
) -> Option<Intent> {
    let mut parts = value.splitn(4, ':');
    let what = parts.next()?;
    let at: i64 = parts.next()?.parse().ok()?;
    if now_ms.saturating_sub(at) > INTENT_TTL.as_millis() as i64 {
        return None;
    }
    if let Some(pid) = parts.next().and_then(|p| p.parse().ok()) {
        let start = parts.next().filter(|s| !s.is_empty());
        if !alive(pid, start) {
            return None;
        }
    }
    match what {
        "stop" => Some(Intent::Stop),
        "start" => Some(Intent::Start),
        _ => None,
    }
}

impl Manager {
    /// Records that `service` is being stopped or started, until [`Manager::clear_intent`].
    pub(crate) fn note_intent(&self, service: &str, intent: Intent) {
        let (pid, start) = crate::leases::this_process();
        let value = format!(
            "{}:{}:{pid}:{}",
            intent.as_str(),
            now_ms(),
            start.unwrap_or_default()
        );
        if let Err(e) = self.store.set_setting(&key(service), &value) {
            tracing::warn!("could not record that {service} is being {intent:?}ped: {e}");
        }
    }

    pub(crate) fn clear_intent(&self, service: &str) {
        if let Err(e) = self.store.delete_setting(&key(service)) {
            tracing::warn!("could not clear the intent of {service}: {e}");
        }
    }

    /// The operation under way on `service`, if one was noted recently.
    pub(crate) fn intent(&self, service: &str) -> Option<Intent> {
        let value = self.store.setting(&key(service)).ok()??;
        read_intent(&value, now_ms(), crate::leases::process_alive)
    }
}

/// What an observed state means while an operation is under way: a server not answering (or
/// not yet created, or still exited) while it is being started is starting; one not answering
/// or exited while it is being stopped is stopping. Anything else is what it is.
pub(crate) fn expected(
    intent: Option<Intent>,
    state: ServiceState,
    detail: Option<String>,
) -> (ServiceState, Option<String>) {
    use ServiceState as S;
    match (intent, state) {
        (
            Some(Intent::Start),
            S::Unhealthy | S::Exited | S::Stopped | S::Missing | S::Created | S::Creating,
        ) => (S::Starting, Some("starting…".into())),
        // Missing: a container removed on purpose (an upgrade's switch removes the old one
        // before the new one is started; `down` of an ephemeral service removes it).
        (Some(Intent::Stop), S::Unhealthy | S::Exited | S::Failed | S::Missing) => {
            (S::Stopped, Some("stopping…".into()))
        }
        _ => (state, detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServiceState as S;

    #[test]
    fn an_intent_of_a_dead_process_or_too_old_is_none() {
        let now = 1_000_000;
        let live = |_: u32, _: Option<&str>| true;
        let dead = |_: u32, _: Option<&str>| false;
        assert_eq!(
            read_intent("start:999000:42:777", now, live),
            Some(Intent::Start)
        );
        assert_eq!(read_intent("start:999000:42:777", now, dead), None);
        assert_eq!(
            read_intent("stop:999000:42:", now, live),
            Some(Intent::Stop)
        );
        // Recorded before the PID was: the age alone decides.
        assert_eq!(read_intent("stop:999000", now, dead), Some(Intent::Stop));
        let old = now - INTENT_TTL.as_millis() as i64 - 1;
        assert_eq!(read_intent(&format!("start:{old}:42:7"), now, live), None);
        assert_eq!(read_intent("pause:999000", now, live), None);
        // This very process is alive.
        let (pid, start) = crate::leases::this_process();
        let mine = format!("start:999000:{pid}:{}", start.unwrap_or_default());
        assert_eq!(
            read_intent(&mine, now, crate::leases::process_alive),
            Some(Intent::Start)
        );
    }

    #[test]
    fn expected_steps_read_as_starting_or_stopping_and_nothing_else_changes() {
        let refused = || Some("the port accepts connections but the server closes them".into());
        assert_eq!(
            expected(Some(Intent::Start), S::Unhealthy, refused()),
            (S::Starting, Some("starting…".into()))
        );
        assert_eq!(
            expected(Some(Intent::Start), S::Exited, None).0,
            S::Starting
        );
        assert_eq!(
            expected(Some(Intent::Stop), S::Unhealthy, refused()),
            (S::Stopped, Some("stopping…".into()))
        );
        assert_eq!(
            expected(Some(Intent::Stop), S::Missing, None),
            (S::Stopped, Some("stopping…".into()))
        );
        // Without an operation under way, a failure is a failure.
        assert_eq!(expected(None, S::Exited, None), (S::Exited, None));
        assert_eq!(
            expected(None, S::Unhealthy, refused()),
            (S::Unhealthy, refused())
        );
        assert_eq!(
            expected(Some(Intent::Start), S::Running, None),
            (S::Running, None)
        );
    }
}
