//! Waiting for a freshly started server: probe it through its published port until it answers,
//! watching the container meanwhile so a crash is reported at once (exit code, OOM, last log
//! lines) rather than after the deadline.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::engine::{log_tail, Engine, RunState};
use crate::error::human_duration;
use crate::probe::ProbeError;

/// Probing starts tight (a restart of a warm server is ready in a few hundred ms, and a coarse
/// poll would double that), then backs off for slow first starts.
const FIRST_INTERVAL: Duration = Duration::from_millis(5);
const FIRST_PHASE: Duration = Duration::from_secs(1);
const FAST_INTERVAL: Duration = Duration::from_millis(15);
const FAST_PHASE: Duration = Duration::from_secs(3);
const MAX_INTERVAL: Duration = Duration::from_millis(500);
/// One probe attempt never takes longer than this.
pub const ATTEMPT_LIMIT: Duration = Duration::from_secs(2);
/// How often the container's own state is checked while waiting.
const INSPECT_EVERY: Duration = Duration::from_millis(250);
/// A wrong password does not fix itself; a few in a row end the wait.
const AUTH_FAILURES_TO_GIVE_UP: u32 = 3;
const LOG_LINES: usize = 15;

/// Why a server did not become ready, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady(pub String);

pub async fn wait_ready<F, Fut>(
    engine: &dyn Engine,
    container: &str,
    deadline: Duration,
    mut probe: F,
    on_wait: &(dyn Fn(Duration) + Send + Sync),
) -> Result<Duration, NotReady>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<(), ProbeError>>,
{
    let start = Instant::now();
    let mut interval = FIRST_INTERVAL;
    let mut last_inspect: Option<Instant> = None;
    let mut last_err: Option<ProbeError>;
    let mut auth_failures = 0;
    loop {
        let elapsed = start.elapsed();
        let remaining = deadline.saturating_sub(elapsed);
        match probe(ATTEMPT_LIMIT.min(remaining.max(Duration::from_millis(50)))).await {
            Ok(()) => return Ok(start.elapsed()),
            Err(e) => {
                if e.is_permanent() {
                    auth_failures += 1;
                    if auth_failures >= AUTH_FAILURES_TO_GIVE_UP {
                        return Err(NotReady(e.to_string()));
                    }
                } else {
                    auth_failures = 0;
                }
                last_err = Some(e);
            }
        }
        if last_inspect.is_none_or(|t| t.elapsed() >= INSPECT_EVERY) {
            last_inspect = Some(Instant::now());
            match engine.inspect_container(container).await {
                Ok(None) => {
                    return Err(NotReady(
                        "its container disappeared while starting (removed by someone else?)"
                            .into(),
                    ))
                }
                Ok(Some(c)) if matches!(c.state, RunState::Exited | RunState::Dead) => {
                    let code = c.exit_code.unwrap_or(-1);
                    let why = if c.oom_killed {
                        format!("it was killed for running out of memory (exit code {code})")
                    } else {
                        format!("its container exited with code {code}")
                    };
                    let tail = log_tail(engine, container, LOG_LINES).await;
                    return Err(NotReady(with_logs(why, &tail)));
                }
                // A failing engine is reported by the next engine call; keep probing until then.
                _ => {}
            }
        }
        let elapsed = start.elapsed();
        if elapsed >= deadline {
            let why = format!(
                "no answer within {} ({})",
                human_duration(deadline),
                last_err.map_or_else(|| "no probe completed".into(), |e| e.to_string())
            );
            let tail = log_tail(engine, container, LOG_LINES).await;
            return Err(NotReady(with_logs(why, &tail)));
        }
        on_wait(elapsed);
        tokio::time::sleep(interval.min(deadline - elapsed)).await;
        interval = if elapsed < FIRST_PHASE {
            FIRST_INTERVAL
        } else if elapsed < FAST_PHASE {
            FAST_INTERVAL
        } else {
            (interval * 2).min(MAX_INTERVAL)
        };
    }
}

fn with_logs(why: String, tail: &str) -> String {
    if tail.is_empty() {
        why
    } else {
        format!("{why}; last log lines:\n{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fake::FakeEngine;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    fn quiet(_: Duration) {}

    #[tokio::test(start_paused = true)]
    async fn ready_as_soon_as_the_probe_answers() {
        let e = FakeEngine::with_running("c");
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let took = wait_ready(
            &e,
            "c",
            Duration::from_secs(30),
            move |_| {
                let n = c.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 10 {
                        Err(ProbeError::Closed)
                    } else {
                        Ok(())
                    }
                }
            },
            &quiet,
        )
        .await
        .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 11);
        // Ten fast polls: well under a second of (virtual) waiting.
        assert!(took < Duration::from_millis(300), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_crashed_container_is_reported_with_its_code_and_logs() {
        let e = FakeEngine::with_running("c");
        e.set_exited("c", 1, false, "FATAL: data directory has wrong ownership\n");
        let err = wait_ready(
            &e,
            "c",
            Duration::from_secs(30),
            |_| async { Err(ProbeError::Closed) },
            &quiet,
        )
        .await
        .unwrap_err();
        assert!(err.0.contains("exited with code 1"), "{}", err.0);
        assert!(err.0.contains("wrong ownership"), "{}", err.0);
    }

    #[tokio::test(start_paused = true)]
    async fn oom_kills_are_named() {
        let e = FakeEngine::with_running("c");
        e.set_exited("c", 137, true, "");
        let err = wait_ready(
            &e,
            "c",
            Duration::from_secs(30),
            |_| async { Err(ProbeError::Closed) },
            &quiet,
        )
        .await
        .unwrap_err();
        assert!(err.0.contains("out of memory"), "{}", err.0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_ends_the_wait_with_the_last_reason() {
        let e = FakeEngine::with_running("c");
        let start = Instant::now();
        let err = wait_ready(
            &e,
            "c",
            Duration::from_secs(20),
            |_| async {
                Err(ProbeError::Starting(
                    "the database system is starting up".into(),
                ))
            },
            &quiet,
        )
        .await
        .unwrap_err();
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_secs(20) && waited < Duration::from_secs(21),
            "{waited:?}"
        );
        assert!(err.0.contains("no answer within 20.0 s"), "{}", err.0);
        assert!(err.0.contains("starting up"), "{}", err.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wrong_password_gives_up_early() {
        let e = FakeEngine::with_running("c");
        let start = Instant::now();
        let err = wait_ready(
            &e,
            "c",
            Duration::from_secs(60),
            |_| async { Err(ProbeError::Auth("password authentication failed".into())) },
            &quiet,
        )
        .await
        .unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(err.0.contains("another admin password"), "{}", err.0);
    }
}
