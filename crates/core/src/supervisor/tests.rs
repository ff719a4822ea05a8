//! The supervisor's timing rules against a scripted world, in paused Tokio time.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

use super::*;
use crate::catalog::Kind;

#[derive(Default)]
struct World {
    statuses: Mutex<Vec<ServiceStatus>>,
    engine_down: AtomicBool,
    polls: AtomicU32,
    starts: Mutex<Vec<Instant>>,
    start_failures_left: AtomicU32,
    restart_policy: AtomicBool,
    restored: AtomicU32,
    recorded: Mutex<Vec<(String, String)>>,
    busy_ends: Mutex<Vec<Instant>>,
    docker: Mutex<Option<tokio::sync::mpsc::UnboundedSender<Option<ContainerEvent>>>>,
}

fn status(name: &str, state: ServiceState) -> ServiceStatus {
    ServiceStatus {
        name: name.into(),
        kind: Kind::Postgres,
        version: "15".into(),
        image: "postgres:15".into(),
        host: "127.0.0.1".into(),
        host_port: 5432,
        desired: Desired::Running,
        state,
        detail: (state != ServiceState::Running).then(|| format!("it is {state}")),
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

impl World {
    fn with(services: &[(&str, ServiceState)]) -> Arc<World> {
        let w = World::default();
        *w.statuses.lock().unwrap() = services.iter().map(|(n, s)| status(n, *s)).collect();
        Arc::new(w)
    }

    fn set(&self, name: &str, state: ServiceState) {
        for s in self.statuses.lock().unwrap().iter_mut() {
            if s.name == name {
                *s = status(name, state);
            }
        }
    }

    /// A container event, as Docker would send it.
    fn docker_event(&self, service: &str) {
        self.docker_action(service, "die");
    }

    fn docker_action(&self, service: &str, action: &str) {
        if let Some(tx) = self.docker.lock().unwrap().as_ref() {
            let _ = tx.send(Some(ContainerEvent {
                service: service.into(),
                action: action.into(),
            }));
        }
    }

    fn stop_daemon(&self) {
        self.engine_down.store(true, Ordering::SeqCst);
        // The daemon's event stream ends with it.
        if let Some(tx) = self.docker.lock().unwrap().take() {
            let _ = tx.send(None);
        }
    }
}

#[async_trait]
impl Observed for World {
    async fn ping(&self) -> Result<(), String> {
        if self.engine_down.load(Ordering::SeqCst) {
            Err("Docker is not running".into())
        } else {
            Ok(())
        }
    }
    async fn statuses(&self) -> Result<Vec<ServiceStatus>, String> {
        self.ping().await?;
        self.polls.fetch_add(1, Ordering::SeqCst);
        Ok(self.statuses.lock().unwrap().clone())
    }
    fn container_events(&self) -> BoxStream<'static, EngineResult<ContainerEvent>> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        *self.docker.lock().unwrap() = Some(tx);
        futures_util::stream::unfold(rx, |mut rx| async move {
            match rx.recv().await {
                Some(Some(e)) => Some((Ok(e), rx)),
                _ => None,
            }
        })
        .boxed()
    }
    async fn failure_detail(&self, _service: &str) -> Option<String> {
        Some("FATAL: out of shared memory".into())
    }
    async fn start(&self, service: &str) -> Result<(), String> {
        self.starts.lock().unwrap().push(Instant::now());
        if self.start_failures_left.load(Ordering::SeqCst) > 0 {
            self.start_failures_left.fetch_sub(1, Ordering::SeqCst);
            return Err("port is already allocated".into());
        }
        self.set(service, ServiceState::Running);
        Ok(())
    }
    async fn restore_desired(&self) -> Result<Vec<String>, String> {
        self.restored.fetch_add(1, Ordering::SeqCst);
        Ok(vec![])
    }
    fn restart_on_failure(&self, _service: &str) -> bool {
        self.restart_policy.load(Ordering::SeqCst)
    }
    fn record(&self, _service: Option<&str>, kind: &str, message: &str) {
        self.recorded
            .lock()
            .unwrap()
            .push((kind.to_string(), message.to_string()));
    }
    async fn scheduled_backups(&self) -> (Vec<BackupRow>, Vec<(String, String)>) {
        (vec![], vec![])
    }
    async fn end_busy(&self, service: &str) -> Result<Option<String>, String> {
        self.busy_ends.lock().unwrap().push(Instant::now());
        self.set(service, ServiceState::Running);
        Ok(Some("script stopped".into()))
    }
}

fn health_of(s: &Snapshot, name: &str) -> Option<Health> {
    s.services
        .iter()
        .find(|h| h.status.name == name)
        .map(|h| h.health)
}

const LONG: Duration = Duration::from_secs(600);

/// The first snapshot in which `service` has `health` (in paused time, "long" costs nothing).
async fn reach(sup: &SupervisorHandle, service: &str, health: Health) -> Snapshot {
    sup.wait_for(LONG, |s| health_of(s, service) == Some(health))
        .await
        .unwrap_or_else(|| panic!("{service} never became {health}"))
}

#[tokio::test(start_paused = true)]
async fn polls_quickly_while_starting_and_slowly_once_healthy() {
    let w = World::with(&[("pg", ServiceState::Unhealthy)]);
    let sup = spawn_with(w.clone(), SupervisorConfig::default());
    let mut events = sup.events();
    reach(&sup, "pg", Health::Starting).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let while_starting = w.polls.load(Ordering::SeqCst);
    assert!(
        while_starting >= 4,
        "{while_starting} polls in 2 s while starting"
    );
    w.set("pg", ServiceState::Running);
    reach(&sup, "pg", Health::Healthy).await;
    let before = w.polls.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(20)).await;
    let stable = w.polls.load(Ordering::SeqCst) - before;
    assert!(
        (3..=5).contains(&stable),
        "{stable} polls in 20 s when stable"
    );
    match events.recv().await.unwrap() {
        SupervisorEvent::Transition {
            from, to, ready_ms, ..
        } => {
            assert_eq!((from, to), (Some(Health::Starting), Health::Healthy));
            assert!(ready_ms.unwrap() >= 2000, "{ready_ms:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_turns_unhealthy_after_its_deadline() {
    let w = World::with(&[("pg", ServiceState::Unhealthy)]);
    let sup = spawn_with(w.clone(), SupervisorConfig::default());
    reach(&sup, "pg", Health::Starting).await;
    let t0 = Instant::now();
    let s = sup
        .wait_for(LONG, |s| health_of(s, "pg") == Some(Health::Unhealthy))
        .await
        .unwrap();
    let waited = Instant::now() - t0;
    let deadline = Kind::Postgres.spec().ready_deadline;
    assert!(waited >= deadline - Duration::from_secs(1), "{waited:?}");
    assert!(waited <= deadline + Duration::from_secs(2), "{waited:?}");
    assert_eq!(s.services[0].reason.as_deref(), Some("it is unhealthy"));
}

/// A process of a running server killed at its limit (a PostgreSQL backend: the server goes on)
/// is recorded with the limit and the command that raises it.
#[tokio::test(start_paused = true)]
async fn an_oom_event_of_a_running_server_is_recorded_with_the_way_out() {
    let w = World::with(&[("pg", ServiceState::Running)]);
    w.statuses.lock().unwrap()[0].memory_limit_mb = Some(512);
    let sup = spawn_with(w.clone(), SupervisorConfig::default());
    reach(&sup, "pg", Health::Healthy).await;
    w.docker_action("pg", "oom");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rec = w.recorded.lock().unwrap().clone();
    assert!(
        rec.iter().any(|(k, m)| k == "oom"
            && m.contains("more than 512 MB")
            && m.contains("`dockhand set pg --memory 1g`")),
        "{rec:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_docker_event_is_looked_at_at_once_and_the_failure_recorded_with_its_reason() {
    let w = World::with(&[("pg", ServiceState::Running)]);
    let sup = spawn_with(w.clone(), SupervisorConfig::default());
    reach(&sup, "pg", Health::Healthy).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t0 = Instant::now();
    w.set("pg", ServiceState::Exited);
    w.docker_event("pg");
    let s = sup
        .wait_for(LONG, |s| health_of(s, "pg") == Some(Health::Failed))
        .await
        .unwrap();
    let waited = Instant::now() - t0;
    assert!(
        waited < Duration::from_secs(1),
        "noticed after {waited:?}, not at once"
    );
    let reason = s.services[0].reason.clone().unwrap();
    assert!(
        reason.contains("it is exited") && reason.contains("out of shared memory"),
        "{reason}"
    );
    let rec = w.recorded.lock().unwrap().clone();
    assert!(
        rec.iter()
            .any(|(k, m)| k == "failed" && m.starts_with("healthy → failed")),
        "{rec:?}"
    );
    // Restarts are off by default.
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(w.starts.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn engine_loss_is_reported_within_5s_and_the_desired_state_restored_after() {
    let w = World::with(&[
        ("pg", ServiceState::Running),
        ("cache", ServiceState::Running),
    ]);
    let sup = spawn_with(w.clone(), SupervisorConfig::default());
    let mut events = sup.events();
    sup.wait_for(LONG, |s| s.services.len() == 2).await.unwrap();
    tokio::time::sleep(Duration::from_secs(7)).await;
    // A daemon that dies without closing its event stream (killed -9 behind a proxy) is
    // caught by the periodic check, not only by the stream ending.
    w.engine_down.store(true, Ordering::SeqCst);
    let t0 = Instant::now();
    let s = sup
        .wait_for(LONG, |s| {
            s.engine_error.is_some()
                && s.services
                    .iter()
                    .all(|h| h.health == Health::EngineUnavailable)
        })
        .await
        .unwrap();
    assert!(
        Instant::now() - t0 <= Duration::from_secs(5),
        "{:?}",
        Instant::now() - t0
    );
    assert_eq!(
        s.services.len(),
        2,
        "services stay listed while the engine is away"
    );
    w.engine_down.store(false, Ordering::SeqCst);
    sup.wait_for(LONG, |s| {
        s.engine_error.is_none() && s.services.iter().all(|h| h.health == Health::Healthy)
    })
    .await
    .unwrap();
    // Once at start-up, once when the engine came back.
    assert_eq!(w.restored.load(Ordering::SeqCst), 2);
    let mut seen = vec![];
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    assert!(seen
        .iter()
        .any(|e| matches!(e, SupervisorEvent::EngineUnavailable { .. })));
    assert!(seen
        .iter()
        .any(|e| matches!(e, SupervisorEvent::EngineAvailable { .. })));

    // When the stream ends with the daemon, it is noticed at once.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let t1 = Instant::now();
    w.stop_daemon();
    sup.wait_for(LONG, |s| s.engine_error.is_some())
        .await
        .unwrap();
    assert!(Instant::now() - t1 < Duration::from_millis(500));
}

#[tokio::test(start_paused = true)]
async fn failed_services_are_restarted_with_backoff_when_asked() {
    let w = World::with(&[("pg", ServiceState::Running)]);
    w.restart_policy.store(true, Ordering::SeqCst);
    w.start_failures_left.store(2, Ordering::SeqCst);
    let sup = spawn_with(w.clone(), SupervisorConfig::default());
    let mut events = sup.events();
    reach(&sup, "pg", Health::Healthy).await;
    w.set("pg", ServiceState::Exited);
    w.docker_event("pg");
    reach(&sup, "pg", Health::Failed).await;
    let failed_at = Instant::now();
    let s = sup
        .wait_for(LONG, |s| health_of(s, "pg") == Some(Health::Healthy))
        .await
        .unwrap();
    let starts: Vec<u64> = w
        .starts
        .lock()
        .unwrap()
        .iter()
        .map(|t| (*t - failed_at).as_millis() as u64)
        .collect();
    assert_eq!(starts.len(), 3, "{starts:?}");
    // 1 s after the failure, then 2 s and 4 s after each failed attempt.
    let gaps = [starts[0], starts[1] - starts[0], starts[2] - starts[1]];
    for (gap, want) in gaps.iter().zip([1000u64, 2000, 4000]) {
        assert!((want..want + 700).contains(gap), "gaps {gaps:?}");
    }
    assert_eq!(s.services[0].restarts, 3);
    let mut restarted = vec![];
    while let Ok(e) = events.try_recv() {
        if let SupervisorEvent::Restarted { ok, .. } = e {
            restarted.push(ok);
        }
    }
    assert_eq!(restarted, vec![false, false, true]);
}

#[tokio::test(start_paused = true)]
async fn an_observer_records_nothing_and_restarts_nothing() {
    let w = World::with(&[("pg", ServiceState::Running)]);
    w.restart_policy.store(true, Ordering::SeqCst);
    let sup = spawn_with(w.clone(), SupervisorConfig::observer());
    reach(&sup, "pg", Health::Healthy).await;
    w.set("pg", ServiceState::Exited);
    w.docker_event("pg");
    reach(&sup, "pg", Health::Failed).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(w.starts.lock().unwrap().is_empty());
    assert!(w.recorded.lock().unwrap().is_empty());
    sup.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_server_busy_with_a_script_is_relieved_after_the_grace_and_only_then() {
    let w = World::with(&[("cache", ServiceState::Running)]);
    let sup = spawn_with(w.clone(), SupervisorConfig::default());
    let mut events = sup.events();
    reach(&sup, "cache", Health::Healthy).await;
    // Unhealthy for another reason: nothing to end.
    w.set("cache", ServiceState::Unhealthy);
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(w.busy_ends.lock().unwrap().is_empty());
    let busy = "not ready: busy: BUSY Redis is busy running a script.";
    for s in w.statuses.lock().unwrap().iter_mut() {
        s.detail = Some(busy.into());
    }
    let t0 = Instant::now();
    reach(&sup, "cache", Health::Healthy).await;
    let ends = w.busy_ends.lock().unwrap().clone();
    assert_eq!(ends.len(), 1, "{ends:?}");
    let after = ends[0] - t0;
    assert!(
        after >= BUSY_GRACE && after <= BUSY_GRACE + Duration::from_secs(1),
        "{after:?}"
    );
    let mut ended = vec![];
    while let Ok(e) = events.try_recv() {
        if let SupervisorEvent::BusyEnded { ok, message, .. } = e {
            ended.push((ok, message));
        }
    }
    assert_eq!(ended, vec![(true, "script stopped".to_string())]);
    // An observer never acts.
    let w = World::with(&[("cache", ServiceState::Running)]);
    let sup = spawn_with(w.clone(), SupervisorConfig::observer());
    reach(&sup, "cache", Health::Healthy).await;
    w.set("cache", ServiceState::Unhealthy);
    for s in w.statuses.lock().unwrap().iter_mut() {
        s.detail = Some(busy.into());
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(w.busy_ends.lock().unwrap().is_empty());
    sup.shutdown().await;
}

/// The manager's own statuses over the fake engine: what a user's stop or start (noted by
/// whichever process did it) looks like to the supervisor.
mod intents {
    use super::*;
    use crate::engine::fake::FakeEngine;
    use crate::engine::RunState;
    use crate::home::Home;
    use crate::manager::intent_for_tests::{clear, note_start, note_stop};
    use crate::secrets::MemorySecretStore;
    use crate::store::{NewService, Store};

    const LOOK: Duration = Duration::from_secs(5);

    fn world(container: RunState) -> (Arc<crate::Manager>, Arc<FakeEngine>, tempfile::TempDir) {
        let t = tempfile::tempdir().unwrap();
        let e = Arc::new(FakeEngine::with_running("dockhand-pg"));
        if container == RunState::Exited {
            e.set_exited("dockhand-pg", 0, false, "");
        }
        let m = crate::Manager::new(
            Home::open(t.path().join("home")).unwrap(),
            Store::open_in_memory().unwrap(),
            e.clone(),
            Arc::new(MemorySecretStore::default()),
        )
        .unwrap();
        let new = NewService {
            name: "pg",
            kind: Kind::Postgres,
            version: "15",
            image: "postgres:15",
            port_explicit: false,
            pinned: true,
            volume: None,
        };
        m.store().claim_service(&new, |_| Ok(5432)).unwrap();
        m.store().set_desired("pg", Desired::Running).unwrap();
        use crate::engine::labels;
        e.set_labels(
            "dockhand-pg",
            [
                (labels::MANAGED, "true"),
                (labels::INSTANCE, m.instance()),
                (labels::SERVICE, "pg"),
                (labels::KIND, "postgres"),
                (labels::VERSION, "15"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        (Arc::new(m), e, t)
    }

    /// Records events, neither starts nor restarts anything (the test plays the user).
    fn watching() -> SupervisorConfig {
        SupervisorConfig {
            act: false,
            scheduled_backups: false,
            ..Default::default()
        }
    }

    fn kinds(m: &crate::Manager) -> Vec<String> {
        m.events(Some("pg"), 50)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    #[tokio::test]
    async fn a_start_under_way_is_starting_and_the_same_exit_without_one_is_a_failure() {
        let (m, _e, _t) = world(RunState::Exited);
        note_start(&m, "pg");
        let sup = spawn(m.clone(), watching());
        let snap = sup
            .wait_for(LOOK, |s| health_of(s, "pg").is_some())
            .await
            .unwrap();
        assert_eq!(health_of(&snap, "pg"), Some(Health::Starting));
        let s = snap
            .services
            .iter()
            .find(|s| s.status.name == "pg")
            .unwrap();
        assert_eq!(s.status.detail.as_deref(), Some("starting…"));
        // The start ends without the server coming up (killed): now it is a failure.
        clear(&m, "pg");
        sup.refresh_now(LOOK).await;
        assert_eq!(health_of(&sup.current(), "pg"), Some(Health::Failed));
        assert!(kinds(&m).contains(&"failed".to_string()), "{:?}", kinds(&m));
        sup.shutdown().await;
    }

    #[tokio::test]
    async fn a_stop_under_way_is_no_failure_and_is_recorded_once() {
        let (m, _e, _t) = world(RunState::Running);
        let sup = spawn(m.clone(), watching());
        sup.wait_for(LOOK, |s| health_of(s, "pg").is_some())
            .await
            .unwrap();
        // Shutting down: the container still runs, the server no longer answers.
        note_stop(&m, "pg");
        sup.refresh_now(LOOK).await;
        assert_eq!(health_of(&sup.current(), "pg"), Some(Health::Stopped));
        m.down("pg").await.unwrap();
        sup.refresh_now(LOOK).await;
        assert_eq!(health_of(&sup.current(), "pg"), Some(Health::Stopped));
        let k = kinds(&m);
        assert_eq!(k.iter().filter(|k| *k == "stopped").count(), 1, "{k:?}");
        assert!(
            !k.iter().any(|k| k == "failed" || k == "unhealthy"),
            "{k:?}"
        );
        sup.shutdown().await;
    }
}
