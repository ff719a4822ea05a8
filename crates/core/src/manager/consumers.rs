//! Consumers and reference counting: a service that the user did not pin with `up` runs while
//! consumers hold leases on it — a project that is "up" (attaching brings it up, `project down`
//! lets it go), a `dockhand run`, a backup — starts with the first lease and stops a grace
//! period after the last one ends. Start and stop decisions run under the service's lock, so a
//! consumer arriving as the last one leaves is never left with a stopped server, and 50 racing
//! consumers make one container.

use std::time::Duration;

use serde::Serialize;

use super::{Manager, ProgressFn, UpOutcome};
use crate::engine::RunState;
use crate::error::{human_duration, Result};
use crate::leases::{lease_live, this_process, ServiceLock};
use crate::state::ServiceState;
use crate::store::{now_ms, Desired, LeaseRow, NewLease};

/// How long an unused service keeps running after its last consumer leaves, unless configured.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(180);
const GRACE_KEY: &str = "grace_period_secs";
/// A start holds the lock while the server initialises, which can take a couple of minutes.
pub(super) const LOCK_LIMIT: Duration = Duration::from_secs(600);

/// A lease held by this process.
#[derive(Debug, Clone, Serialize)]
pub struct Lease {
    pub id: i64,
    pub service: String,
}

/// What became of a service after a consumer left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Settled {
    /// Other consumers still hold it.
    InUse(usize),
    /// The user started it with `up`; it runs until `down`.
    Pinned,
    Stopped,
    /// Stops after the grace period unless a consumer comes back.
    StopsIn(Duration),
    AlreadyStopped,
}

impl Manager {
    pub fn grace_period(&self) -> Result<Duration> {
        Ok(self
            .store
            .setting(GRACE_KEY)?
            .and_then(|v| v.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_GRACE))
    }

    pub fn set_grace_period(&self, d: Duration) -> Result<()> {
        self.store.set_setting(GRACE_KEY, &d.as_secs().to_string())
    }

    pub(super) async fn lock(&self, service: &str, limit: Duration) -> Result<ServiceLock> {
        ServiceLock::acquire(self.home.root(), service, limit).await
    }

    /// The leases that still count; leases of dead processes and expired ones are removed.
    pub fn live_leases(&self, service: &str) -> Result<Vec<LeaseRow>> {
        let now = now_ms();
        let mut live = Vec::new();
        for l in self.store.leases(Some(service))? {
            if lease_live(&l, now) {
                live.push(l);
            } else if self.store.remove_lease(l.id)?.is_some() {
                let why = match l.pid {
                    Some(pid) => format!("process {pid} is gone"),
                    None => "it expired".into(),
                };
                self.event(
                    service,
                    "lease-reaped",
                    &format!("dropped the lease of '{}': {why}", l.holder),
                );
            }
        }
        Ok(live)
    }

    /// Whether `holder` holds a standing lease on the service (a project that is up).
    pub(super) fn holds_standing(&self, service: &str, holder: &str) -> Result<bool> {
        Ok(self
            .store
            .leases(Some(service))?
            .iter()
            .any(|l| l.holder == holder && l.is_standing()))
    }

    /// Takes a lease on a service for `holder` and makes sure the service runs. A standing lease
    /// (a project that is up) lasts until released; any other is tied to this process and, if
    /// given, a time to live.
    pub async fn acquire(
        &self,
        service: &str,
        holder: &str,
        standing: bool,
        ttl: Option<Duration>,
        progress: &ProgressFn<'_>,
    ) -> Result<(Lease, UpOutcome)> {
        let name = self.resolve(service)?.name;
        let _lock = self.lock(&name, LOCK_LIMIT).await?;
        let (pid, start) = this_process();
        let id = self.store.add_lease(&NewLease {
            service: &name,
            holder,
            pid: (!standing).then_some(pid),
            pid_start: if standing { None } else { start.as_deref() },
            expires_at_ms: ttl.map(|t| now_ms() + t.as_millis() as i64),
        })?;
        let row = self.resolve(&name)?;
        match self.start(row, progress).await {
            Ok(outcome) => Ok((Lease { id, service: name }, outcome)),
            Err(e) => {
                self.store.remove_lease(id)?;
                Err(e)
            }
        }
    }

    pub async fn release(&self, lease: &Lease) -> Result<Settled> {
        let _lock = self.lock(&lease.service, LOCK_LIMIT).await?;
        self.store.remove_lease(lease.id)?;
        self.settle(&lease.service).await
    }

    pub async fn release_standing(&self, service: &str, holder: &str) -> Result<Settled> {
        let _lock = self.lock(service, LOCK_LIMIT).await?;
        self.store.remove_standing_lease(service, holder)?;
        self.settle(service).await
    }

    /// Stops the service if nobody uses it and its grace period is over. `wait_for_lock: false`
    /// skips a service another process is busy with (it will settle it itself).
    pub async fn stop_if_idle(
        &self,
        service: &str,
        wait_for_lock: bool,
    ) -> Result<Option<Settled>> {
        let limit = if wait_for_lock {
            LOCK_LIMIT
        } else {
            Duration::ZERO
        };
        let Ok(_lock) = self.lock(service, limit).await else {
            return Ok(None);
        };
        self.settle(service).await.map(Some)
    }

    /// Under the service lock: decide whether an unused service stops now, later, or not at all.
    async fn settle(&self, service: &str) -> Result<Settled> {
        let Some(row) = self.store.service(service)? else {
            return Ok(Settled::AlreadyStopped);
        };
        let live = self.live_leases(service)?;
        if !live.is_empty() {
            return Ok(Settled::InUse(live.len()));
        }
        if row.pinned {
            return Ok(Settled::Pinned);
        }
        let cname = self.container_for(service);
        let running = self
            .engine
            .inspect_container(&cname)
            .await?
            .is_some_and(|c| matches!(c.state, RunState::Running | RunState::Restarting));
        if !running {
            // Nobody wants it and it is not running: whatever a departed consumer asked for (a
            // consumer killed between asking and starting leaves desired = running) is void.
            self.store.set_idle_since(service, None)?;
            if row.desired == Desired::Running {
                self.store.set_desired(service, Desired::Stopped)?;
                self.store.set_state(service, ServiceState::Stopped, None)?;
            }
            return Ok(Settled::AlreadyStopped);
        }
        let now = now_ms();
        let since = match row.idle_since_ms {
            Some(t) => t,
            None => {
                self.store.set_idle_since(service, Some(now))?;
                now
            }
        };
        let grace = self.grace_period()?;
        let due = since + grace.as_millis() as i64;
        if now < due {
            return Ok(Settled::StopsIn(Duration::from_millis((due - now) as u64)));
        }
        // A `down` (window, tray, CLI) sets desired = stopped before it stops the container and
        // records the stop itself: stopping it here too recorded every such stop twice.
        if self
            .store
            .service(service)?
            .is_some_and(|r| r.desired == Desired::Stopped)
        {
            return Ok(Settled::AlreadyStopped);
        }
        self.note_intent(service, super::intent::Intent::Stop);
        let stopped = self
            .engine
            .stop_container(&cname, row.kind.spec().stop_timeout)
            .await;
        self.clear_intent(service);
        stopped?;
        if row.mode.ephemeral {
            // Its data went with the stop: nothing of it is kept (as at `down`).
            let projects = self.remove_ephemeral(row).await?;
            self.event(
                service,
                "removed",
                &format!(
                    "no consumer left (grace period of {} over); ephemeral: removed with its data{}",
                    human_duration(grace),
                    if projects.is_empty() {
                        String::new()
                    } else {
                        format!("; projects detached: {}", projects.join(", "))
                    }
                ),
            );
            return Ok(Settled::Stopped);
        }
        self.store.set_desired(service, Desired::Stopped)?;
        self.store.set_state(service, ServiceState::Stopped, None)?;
        self.store.set_idle_since(service, None)?;
        self.event(
            service,
            "stopped",
            &format!(
                "no consumer left (grace period of {} over)",
                human_duration(grace)
            ),
        );
        Ok(Settled::Stopped)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::catalog::ServiceSpec;
    use crate::engine::fake::FakeEngine;
    use crate::home::Home;
    use crate::manager::{Progress, UpRequest};
    use crate::secrets::MemorySecretStore;
    use crate::store::Store;

    /// Longer than the quick probe waits for a running service to answer.
    const SLOW_ANSWER: Duration = Duration::from_secs(3);

    /// A Redis stand-in on a loopback port that answers the readiness probe (`AUTH` + `PING`),
    /// like a loaded server: the one connection after `slow_once` is set is answered late.
    async fn slow_once_redis() -> (u16, Arc<AtomicBool>) {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let slow_once = Arc::new(AtomicBool::new(false));
        let slow = slow_once.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let late = slow.swap(false, Ordering::SeqCst);
                tokio::spawn(answer_probe(conn, late));
            }
        });
        (port, slow_once)
    }

    async fn answer_probe(mut conn: TcpStream, late: bool) {
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while !got.ends_with(b"PING\r\n") {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        if late {
            tokio::time::sleep(SLOW_ANSWER).await;
        }
        let _ = conn.write_all(b"+OK\r\n+PONG\r\n").await;
        // Closing only after the client did keeps the replies from being lost to a reset.
        let _ = conn.read(&mut buf).await;
    }

    /// Real time: the probes go over real sockets to the stand-in.
    #[tokio::test]
    async fn a_running_service_slow_to_answer_is_waited_for_not_started_again() {
        let (port, slow_once) = slow_once_redis().await;
        let e = Arc::new(FakeEngine::default());
        e.add_image("redis:7");
        let t = tempfile::tempdir().unwrap();
        let m = Manager::new(
            Home::open(t.path().join("home")).unwrap(),
            Store::open_in_memory().unwrap(),
            e.clone(),
            Arc::new(MemorySecretStore::default()),
        )
        .unwrap()
        .with_port_check(|_| true);
        let req = UpRequest {
            spec: ServiceSpec::parse("redis:7").unwrap(),
            name: Some("r".into()),
            port: Some(port),
            image: None,
            options: Default::default(),
        };
        let first = m.up(&req, &|_| {}).await.unwrap();
        assert!(!first.already_running);

        // The next consumer finds the container running, but the server is slow to answer.
        slow_once.store(true, Ordering::SeqCst);
        let steps = Mutex::new(Vec::new());
        let record = |p: Progress| steps.lock().unwrap().push(p);
        let (_lease, outcome) = m
            .acquire("r", "run:sleep", false, None, &record)
            .await
            .unwrap();

        let starts: Vec<_> = m
            .store()
            .events(Some("r"), 50)
            .unwrap()
            .into_iter()
            .filter(|ev| ev.kind == "started")
            .collect();
        assert_eq!(starts.len(), 1, "recorded as started again: {starts:?}");
        assert!(outcome.already_running, "{outcome:?}");
        let steps = steps.into_inner().unwrap();
        assert!(
            !steps
                .iter()
                .any(|p| p.step && ["starting", "creating container"].contains(&p.text.as_str())),
            "a running container was started or created again: {steps:?}"
        );
        assert_eq!(m.store().service("r").unwrap().unwrap().state, "running");
    }
}
