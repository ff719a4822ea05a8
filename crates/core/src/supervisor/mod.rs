//! The health supervisor: an actor that owns the view of every service's health. It polls each
//! service with a real protocol round trip (quickly while one is starting, slowly once stable,
//! at once after a Docker event), notices the engine going away within seconds, restores the
//! desired state when it is back, restarts failed services when asked to (with backoff), runs
//! scheduled backups, and publishes snapshots (`watch`) and events (`broadcast`) that the tray,
//! the window, the notifier and `dockhand status --watch` all consume.

pub mod health;
mod observed;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::{BoxStream, StreamExt};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

pub use health::{Health, Intervals};

use crate::engine::{ContainerEvent, EngineResult};
use crate::manager::ServiceStatus;
use crate::state::ServiceState;
use crate::store::{now_ms, BackupRow, Desired};

/// What the supervisor needs from the rest of the core. The manager implements it; unit tests
/// use a scripted fake with paused time.
#[async_trait]
pub trait Observed: Send + Sync + 'static {
    async fn ping(&self) -> Result<(), String>;
    /// Every service with its live state (running ones probed with a real round trip).
    async fn statuses(&self) -> Result<Vec<ServiceStatus>, String>;
    fn container_events(&self) -> BoxStream<'static, EngineResult<ContainerEvent>>;
    /// Why a service failed, in more words (its last log lines).
    async fn failure_detail(&self, service: &str) -> Option<String>;
    async fn start(&self, service: &str) -> Result<(), String>;
    /// After the engine came back: reconcile and start what should be running. Returns the
    /// services started.
    async fn restore_desired(&self) -> Result<Vec<String>, String>;
    fn restart_on_failure(&self, service: &str) -> bool;
    fn record(&self, service: Option<&str>, kind: &str, message: &str);
    async fn scheduled_backups(&self) -> (Vec<BackupRow>, Vec<(String, String)>);
    /// A service that answers BUSY (a Redis script past its time limit keeps every client
    /// waiting): end what keeps it busy. Returns what was done, None when nothing was needed.
    async fn end_busy(&self, service: &str) -> Result<Option<String>, String> {
        let _ = service;
        Ok(None)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SupervisorConfig {
    pub intervals: Intervals,
    /// Write transitions to the events table (one process should: the tray app).
    pub record_events: bool,
    /// Start services that should be running when the engine comes back, and restart failed
    /// ones whose restart policy is on.
    pub act: bool,
    /// Run the backup schedule.
    pub scheduled_backups: bool,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        SupervisorConfig {
            intervals: Intervals::default(),
            record_events: true,
            act: true,
            scheduled_backups: true,
        }
    }
}

impl SupervisorConfig {
    /// Only watching (e.g. `dockhand status --watch` beside a running tray app).
    pub fn observer() -> Self {
        SupervisorConfig {
            record_events: false,
            act: false,
            scheduled_backups: false,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceHealth {
    #[serde(flatten)]
    pub status: ServiceStatus,
    pub health: Health,
    pub reason: Option<String>,
    /// When the service entered its current health (ms since the epoch).
    pub since_ms: i64,
    /// Automatic restarts since it was last stable.
    pub restarts: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Snapshot {
    /// Set while the engine cannot be reached: why, and what to do.
    pub engine_error: Option<String>,
    pub services: Vec<ServiceHealth>,
    /// False until the first look at the engine finished.
    pub ready: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum SupervisorEvent {
    Transition {
        service: String,
        from: Option<Health>,
        to: Health,
        reason: Option<String>,
        /// From starting to healthy: how long it took.
        ready_ms: Option<u64>,
    },
    EngineUnavailable {
        reason: String,
    },
    EngineAvailable {
        restored: Vec<String>,
    },
    Restarted {
        service: String,
        attempt: u32,
        ok: bool,
        message: String,
    },
    BackupDone {
        backup: BackupRow,
    },
    BackupFailed {
        service: String,
        reason: String,
    },
    /// A script that kept the whole server busy was ended (or ending it failed).
    BusyEnded {
        service: String,
        ok: bool,
        message: String,
    },
}

#[derive(Debug)]
pub enum Command {
    /// Look at every service now (after the user started or stopped one); the sender, if any,
    /// hears when the new snapshot is out.
    Refresh(Option<tokio::sync::oneshot::Sender<()>>),
    Shutdown,
}

#[derive(Clone)]
pub struct SupervisorHandle {
    commands: mpsc::Sender<Command>,
    snapshots: watch::Receiver<Snapshot>,
    events: broadcast::Sender<SupervisorEvent>,
}

impl SupervisorHandle {
    /// A receiver whose `changed()` waits for the next snapshot (not one already published).
    pub fn snapshots(&self) -> watch::Receiver<Snapshot> {
        let mut rx = self.snapshots.clone();
        rx.mark_unchanged();
        rx
    }

    pub fn current(&self) -> Snapshot {
        self.snapshots.borrow().clone()
    }

    pub fn events(&self) -> broadcast::Receiver<SupervisorEvent> {
        self.events.subscribe()
    }

    pub fn refresh(&self) {
        let _ = self.commands.try_send(Command::Refresh(None));
    }

    /// Looks at every service now and returns once the snapshot reflects it (at most `limit`).
    pub async fn refresh_now(&self, limit: Duration) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.commands.send(Command::Refresh(Some(tx))).await.is_ok() {
            let _ = tokio::time::timeout(limit, rx).await;
        }
    }

    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
    }

    /// Waits until a snapshot satisfies `pred`, or `limit` passes.
    pub async fn wait_for(
        &self,
        limit: Duration,
        pred: impl Fn(&Snapshot) -> bool,
    ) -> Option<Snapshot> {
        let mut rx = self.snapshots.clone();
        let wait = async {
            loop {
                if pred(&rx.borrow_and_update()) {
                    return Some(rx.borrow().clone());
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(limit, wait).await.ok().flatten()
    }
}

/// Starts the supervisor of the manager's services on the current Tokio runtime.
pub fn spawn(manager: Arc<crate::Manager>, config: SupervisorConfig) -> SupervisorHandle {
    spawn_with(Arc::new(observed::ManagerObserved(manager)), config)
}

/// Starts the acting supervisor of this home if no other process is one (the tray app or
/// `dockhand supervise`), else an observer. Returns whether this one acts.
pub fn spawn_exclusive(manager: Arc<crate::Manager>) -> crate::Result<(SupervisorHandle, bool)> {
    match crate::leases::SupervisorLock::try_acquire(manager.home().root())? {
        Some(lock) => {
            let handle = spawn(manager, SupervisorConfig::default());
            // The lock lives as long as the actor: it is released when the actor ends.
            let mut closed = handle.snapshots();
            tokio::spawn(async move {
                while closed.changed().await.is_ok() {}
                drop(lock);
            });
            Ok((handle, true))
        }
        None => Ok((spawn(manager, SupervisorConfig::observer()), false)),
    }
}

pub fn spawn_with(observed: Arc<dyn Observed>, config: SupervisorConfig) -> SupervisorHandle {
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let (snap_tx, snap_rx) = watch::channel(Snapshot::default());
    let (ev_tx, _) = broadcast::channel(256);
    let actor = Actor {
        obs: observed,
        config,
        snapshots: snap_tx,
        events: ev_tx.clone(),
        tracked: HashMap::new(),
        statuses: Vec::new(),
        engine_error: None,
        engine_ok: None,
    };
    tokio::spawn(actor.run(cmd_rx));
    SupervisorHandle {
        commands: cmd_tx,
        snapshots: snap_rx,
        events: ev_tx,
    }
}

struct Tracked {
    health: Health,
    reason: Option<String>,
    since: Instant,
    since_ms: i64,
    starting_since: Option<Instant>,
    restarts: u32,
    next_restart: Option<Instant>,
    restart_running: bool,
    /// Since when the service has answered BUSY, and whether ending that is under way.
    busy_since: Option<Instant>,
    busy_running: bool,
}

/// Results of work the actor handed to a task, so a slow start or backup never stalls polling.
enum Done {
    Restart {
        service: String,
        result: Result<(), String>,
    },
    Restored {
        first: bool,
        result: Result<Vec<String>, String>,
    },
    Backups(Vec<BackupRow>, Vec<(String, String)>),
    BusyEnded {
        service: String,
        result: Result<Option<String>, String>,
    },
}

struct Actor {
    obs: Arc<dyn Observed>,
    config: SupervisorConfig,
    snapshots: watch::Sender<Snapshot>,
    events: broadcast::Sender<SupervisorEvent>,
    tracked: HashMap<String, Tracked>,
    statuses: Vec<ServiceStatus>,
    engine_error: Option<String>,
    engine_ok: Option<bool>,
}

/// A ping that does not answer in this time counts as the engine being unavailable: with the
/// check every 2 s, a dead or hung daemon is reported within 5 s.
const PING_LIMIT: Duration = Duration::from_millis(2500);
const BACKUP_CHECK: Duration = Duration::from_secs(60);
/// A server answering BUSY has already run one script for `busy-reply-threshold` (5 s) while
/// every other client waited; past this much more, the supervisor ends the script.
pub const BUSY_GRACE: Duration = Duration::from_secs(5);
/// Docker sends bursts (kill, die, stop): look once, shortly after the first.
const EVENT_SETTLE: Duration = Duration::from_millis(100);

impl Actor {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let iv = self.config.intervals;
        let (done_tx, mut done_rx) = mpsc::channel::<Done>(16);
        let mut docker_events: BoxStream<'static, EngineResult<ContainerEvent>> =
            futures_util::stream::pending().boxed();
        let mut subscribed = false;
        let now = Instant::now();
        let mut next_poll = now;
        let mut next_ping = now;
        let mut next_backups = now + BACKUP_CHECK;
        let mut backups_running = false;
        let mut waiting: Vec<tokio::sync::oneshot::Sender<()>> = Vec::new();
        loop {
            let next_restart = self
                .tracked
                .values()
                .filter(|t| !t.restart_running)
                .filter_map(|t| t.next_restart)
                .min();
            let mut wake = next_poll.min(next_ping);
            if let Some(r) = next_restart {
                wake = wake.min(r);
            }
            if self.config.scheduled_backups {
                wake = wake.min(next_backups);
            }
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    None | Some(Command::Shutdown) => break,
                    Some(Command::Refresh(reply)) => {
                        next_poll = Instant::now();
                        waiting.extend(reply);
                    }
                },
                ev = docker_events.next(), if subscribed => match ev {
                    Some(Ok(e)) => {
                        tracing::debug!(service = %e.service, action = %e.action, "docker event");
                        if e.action == "oom" {
                            self.note_oom(&e.service);
                        }
                        next_poll = next_poll.min(Instant::now() + EVENT_SETTLE);
                    }
                    // The stream ends when the daemon goes away: check on it now.
                    Some(Err(_)) | None => {
                        subscribed = false;
                        docker_events = futures_util::stream::pending().boxed();
                        next_ping = Instant::now();
                    }
                },
                Some(done) = done_rx.recv() => {
                    if matches!(done, Done::Backups(..)) {
                        backups_running = false;
                    }
                    self.finish(done);
                    next_poll = Instant::now();
                }
                _ = tokio::time::sleep_until(wake) => {}
            }
            let now = Instant::now();
            if now >= next_ping {
                next_ping = now + iv.engine_check;
                let ok = match tokio::time::timeout(PING_LIMIT, self.obs.ping()).await {
                    Ok(r) => r,
                    Err(_) => Err(format!(
                        "Docker did not answer within {} s",
                        PING_LIMIT.as_secs_f32()
                    )),
                };
                match ok {
                    Ok(()) => {
                        // At start-up as after an outage: what should run, runs (state is
                        // kept across reboots and Docker restarts).
                        if self.engine_ok != Some(true) {
                            self.engine_back(&done_tx, self.engine_ok.is_none());
                            next_poll = now;
                        }
                        self.engine_ok = Some(true);
                        if !subscribed {
                            docker_events = self.obs.container_events();
                            subscribed = true;
                        }
                    }
                    Err(reason) => {
                        subscribed = false;
                        docker_events = futures_util::stream::pending().boxed();
                        self.engine_gone(reason);
                    }
                }
            }
            if self.engine_ok == Some(true) && now >= next_poll {
                self.poll().await;
                let transient = self.tracked.values().any(|t| t.health.is_transient());
                next_poll = Instant::now() + if transient { iv.transient } else { iv.stable };
            }
            if self.config.act && self.engine_ok == Some(true) {
                self.start_due_restarts(&done_tx);
                self.end_due_busy(&done_tx);
            }
            if self.config.scheduled_backups && now >= next_backups {
                next_backups = now + BACKUP_CHECK;
                if !backups_running && self.engine_ok == Some(true) {
                    backups_running = true;
                    let (obs, tx) = (self.obs.clone(), done_tx.clone());
                    tokio::spawn(async move {
                        let (done, failed) = obs.scheduled_backups().await;
                        let _ = tx.send(Done::Backups(done, failed)).await;
                    });
                }
            }
            self.publish();
            if self.engine_ok.is_some() && next_poll > Instant::now() {
                for w in waiting.drain(..) {
                    let _ = w.send(());
                }
            }
        }
    }

    fn emit(&self, e: SupervisorEvent) {
        let _ = self.events.send(e);
    }

    fn record(&self, service: Option<&str>, kind: &str, message: &str) {
        if self.config.record_events {
            self.obs.record(service, kind, message);
        }
    }

    /// The kernel killed a process of a service at its memory limit. When that was the server
    /// itself the next look finds it failed with the reason; a process it replaces on its own
    /// (a PostgreSQL backend: the server restarts its sessions) leaves it running, so the kill is
    /// recorded here, with the command that raises the limit.
    fn note_oom(&self, service: &str) {
        let limit = self
            .statuses
            .iter()
            .find(|s| s.name == service)
            .and_then(|s| s.memory_limit_mb);
        let msg = crate::manager::oom_message(service, limit);
        tracing::warn!(service, "{msg}");
        self.record(Some(service), "oom", &msg);
    }

    fn engine_gone(&mut self, reason: String) {
        if self.engine_ok != Some(false) {
            tracing::warn!("engine unavailable: {reason}");
            self.record(None, "engine-unavailable", &reason);
            self.emit(SupervisorEvent::EngineUnavailable {
                reason: reason.clone(),
            });
            let now = Instant::now();
            for t in self.tracked.values_mut() {
                t.health = Health::EngineUnavailable;
                t.reason = Some(reason.clone());
                t.since = now;
                t.since_ms = now_ms();
                t.starting_since = None;
            }
        }
        self.engine_ok = Some(false);
        self.engine_error = Some(reason);
    }

    fn engine_back(&mut self, done_tx: &mpsc::Sender<Done>, first: bool) {
        self.engine_error = None;
        if self.config.act {
            let (obs, tx) = (self.obs.clone(), done_tx.clone());
            tokio::spawn(async move {
                let r = obs.restore_desired().await;
                let _ = tx.send(Done::Restored { first, result: r }).await;
            });
        } else if !first {
            self.emit(SupervisorEvent::EngineAvailable { restored: vec![] });
        }
    }

    async fn poll(&mut self) {
        let statuses = match self.obs.statuses().await {
            Ok(s) => s,
            Err(e) => {
                // Most likely the engine going away: the next ping says so.
                tracing::debug!("status poll failed: {e}");
                return;
            }
        };
        let now = Instant::now();
        self.tracked
            .retain(|name, _| statuses.iter().any(|s| &s.name == name));
        for s in &statuses {
            let prev = self.tracked.get(&s.name);
            let prev_health = prev.map(|t| t.health);
            let starting_for = prev
                .and_then(|t| t.starting_since)
                .map_or(Duration::ZERO, |at| now - at);
            let (health, reason) = health::judge(s, prev_health, starting_for);
            let changed = prev_health != Some(health);
            let ready_ms =
                (changed && health == Health::Healthy && prev_health == Some(Health::Starting))
                    .then_some(starting_for.as_millis() as u64);
            let t = self.tracked.entry(s.name.clone()).or_insert(Tracked {
                health,
                reason: reason.clone(),
                since: now,
                since_ms: now_ms(),
                starting_since: None,
                restarts: 0,
                next_restart: None,
                restart_running: false,
                busy_since: None,
                busy_running: false,
            });
            if changed {
                t.health = health;
                t.since = now;
                t.since_ms = now_ms();
            }
            t.starting_since = match health {
                Health::Starting => t.starting_since.or(Some(now)),
                _ => None,
            };
            if health == Health::Healthy && now - t.since >= health::STABLE_AFTER {
                t.restarts = 0;
            }
            if health != Health::Failed || s.desired != Desired::Running {
                t.next_restart = None;
            }
            let mut reason = reason;
            if changed && health == Health::Failed && prev_health.is_some() {
                if let Some(tail) = self.obs.failure_detail(&s.name).await {
                    reason = Some(match reason {
                        Some(r) => format!("{r}; last log lines: {tail}"),
                        None => format!("last log lines: {tail}"),
                    });
                }
            }
            let t = self.tracked.get_mut(&s.name).expect("inserted above");
            let busy = s.state == ServiceState::Unhealthy
                && s.detail.as_deref().is_some_and(crate::probe::is_busy);
            t.busy_since = if busy {
                t.busy_since.or(Some(now))
            } else {
                None
            };
            if changed || health != Health::Failed {
                t.reason = reason.clone();
            }
            if changed
                && health == Health::Failed
                && s.desired == Desired::Running
                && self.config.act
                && self.obs.restart_on_failure(&s.name)
            {
                t.next_restart = Some(now + health::restart_backoff(t.restarts));
            }
            // The first look reports where things are, not a change.
            if let (true, Some(before)) = (changed, prev_health) {
                let msg = match &reason {
                    Some(r) => format!("{before} → {health}: {r}"),
                    None => format!("{before} → {health}"),
                };
                tracing::info!(service = %s.name, "{msg}");
                // A stop is recorded by whoever stopped it (`down`, the idle stopper), with
                // why: once is enough. (A container stopped from outside while it should run
                // is `exited`, a failure, and recorded here.) A container gone while it was not
                // meant to run was removed on purpose (`destroy`, an ephemeral `down`; one
                // removed behind Dockhand's back is recorded as `missing` by reconciliation):
                // seen after the remover's intent has ended, it is no news either.
                let asked_to_stop = health == Health::Stopped
                    && matches!(s.state, ServiceState::Stopped | ServiceState::Missing);
                if !asked_to_stop {
                    self.record(Some(&s.name), health.as_str(), &msg);
                }
                self.emit(SupervisorEvent::Transition {
                    service: s.name.clone(),
                    from: prev_health,
                    to: health,
                    reason,
                    ready_ms,
                });
            }
        }
        self.statuses = statuses;
    }

    fn start_due_restarts(&mut self, done_tx: &mpsc::Sender<Done>) {
        let now = Instant::now();
        for (name, t) in self.tracked.iter_mut() {
            if t.restart_running || t.next_restart.is_none_or(|at| at > now) {
                continue;
            }
            t.restart_running = true;
            t.next_restart = None;
            t.restarts += 1;
            let (obs, tx, service) = (self.obs.clone(), done_tx.clone(), name.clone());
            tokio::spawn(async move {
                let result = obs.start(&service).await;
                let _ = tx.send(Done::Restart { service, result }).await;
            });
        }
    }

    fn end_due_busy(&mut self, done_tx: &mpsc::Sender<Done>) {
        let now = Instant::now();
        for (name, t) in self.tracked.iter_mut() {
            if t.busy_running || t.busy_since.is_none_or(|at| now - at < BUSY_GRACE) {
                continue;
            }
            t.busy_running = true;
            let (obs, tx, service) = (self.obs.clone(), done_tx.clone(), name.clone());
            tokio::spawn(async move {
                let result = obs.end_busy(&service).await;
                let _ = tx.send(Done::BusyEnded { service, result }).await;
            });
        }
    }

    fn finish(&mut self, done: Done) {
        match done {
            Done::BusyEnded { service, result } => {
                if let Some(t) = self.tracked.get_mut(&service) {
                    t.busy_running = false;
                    t.busy_since = None;
                }
                // The manager recorded what it did; a failure is recorded here.
                let (ok, message) = match result {
                    Ok(None) => return,
                    Ok(Some(m)) => (true, m),
                    Err(e) => {
                        let m = format!("could not end the script that keeps it busy: {e}");
                        self.record(Some(&service), "busy-script-failed", &m);
                        (false, m)
                    }
                };
                tracing::warn!(service, "{message}");
                self.emit(SupervisorEvent::BusyEnded {
                    service,
                    ok,
                    message,
                });
            }
            Done::Restart { service, result } => {
                let Some(t) = self.tracked.get_mut(&service) else {
                    return;
                };
                t.restart_running = false;
                let attempt = t.restarts;
                let (ok, message) = match &result {
                    Ok(()) => (true, format!("restarted automatically (attempt {attempt})")),
                    Err(e) => {
                        // Still failed: try again later, waiting longer each time.
                        t.next_restart = Some(Instant::now() + health::restart_backoff(attempt));
                        (false, format!("automatic restart {attempt} failed: {e}"))
                    }
                };
                self.record(Some(&service), "restart", &message);
                self.emit(SupervisorEvent::Restarted {
                    service,
                    attempt,
                    ok,
                    message,
                });
            }
            Done::Restored { first, result } => {
                let restored = result.unwrap_or_else(|e| {
                    tracing::warn!("could not restore the desired state: {e}");
                    vec![]
                });
                let again = format!("started again: {}", restored.join(", "));
                if first {
                    if !restored.is_empty() {
                        self.record(None, "restored", &again);
                    }
                    return;
                }
                let msg = if restored.is_empty() {
                    "Docker is back".to_string()
                } else {
                    format!("Docker is back; {again}")
                };
                self.record(None, "engine-available", &msg);
                self.emit(SupervisorEvent::EngineAvailable { restored });
            }
            Done::Backups(done, failed) => {
                for backup in done {
                    self.emit(SupervisorEvent::BackupDone { backup });
                }
                for (service, reason) in failed {
                    self.emit(SupervisorEvent::BackupFailed { service, reason });
                }
            }
        }
    }

    fn publish(&self) {
        let services = self
            .statuses
            .iter()
            .filter_map(|s| {
                let t = self.tracked.get(&s.name)?;
                Some(ServiceHealth {
                    status: s.clone(),
                    health: t.health,
                    reason: t.reason.clone(),
                    since_ms: t.since_ms,
                    restarts: t.restarts,
                })
            })
            .collect();
        let next = Snapshot {
            engine_error: self.engine_error.clone(),
            services,
            ready: self.engine_ok.is_some(),
        };
        self.snapshots.send_if_modified(|cur| {
            if *cur == next {
                false
            } else {
                *cur = next;
                true
            }
        });
    }
}

#[cfg(test)]
mod tests;
