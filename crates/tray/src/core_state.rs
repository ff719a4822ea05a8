//! The core as a desktop process holds it: the manager (opened lazily, so the app starts — and
//! says why — when Docker is not running), its supervisor, and the last snapshot. The tray
//! process acts on health (restarts, schedules); the window process only watches, so that two
//! processes never both restart a service or announce its failure.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dockhand_core::facade::supervisor::{self, SupervisorConfig, SupervisorHandle};
use dockhand_core::facade::Snapshot;
use dockhand_core::{CoreError, Manager};

pub struct CoreState {
    manager: tokio::sync::Mutex<Option<Arc<Manager>>>,
    supervisor: Mutex<Option<SupervisorHandle>>,
    pub last: Mutex<Option<Snapshot>>,
    /// Whether this process supervises (when no other process of this home does).
    acting: bool,
}

impl Default for CoreState {
    fn default() -> Self {
        CoreState::new(true)
    }
}

impl CoreState {
    /// `acting`: try to be the home's supervisor; otherwise only watch.
    pub fn new(acting: bool) -> CoreState {
        CoreState {
            manager: Default::default(),
            supervisor: Default::default(),
            last: Default::default(),
            acting,
        }
    }

    /// The manager, connecting to Docker on first use (and again after a failed attempt).
    pub async fn manager(&self) -> Result<Arc<Manager>, CoreError> {
        let mut m = self.manager.lock().await;
        if let Some(m) = m.as_ref() {
            return Ok(m.clone());
        }
        let opened = Arc::new(dockhand_core::open_default().await?);
        *m = Some(opened.clone());
        let sup = if self.acting {
            // Acts on health (records transitions, restarts failed services whose policy says
            // so, runs the backup schedule) unless `dockhand supervise` already does.
            let (sup, acting) = supervisor::spawn_exclusive(opened.clone())?;
            if !acting {
                tracing::info!("another process supervises this home; this one only watches");
            }
            sup
        } else {
            supervisor::spawn(opened.clone(), SupervisorConfig::observer())
        };
        *self.supervisor.lock().unwrap() = Some(sup);
        Ok(opened)
    }

    /// The manager if it is already open (no Docker round trip).
    pub fn opened(&self) -> Option<Arc<Manager>> {
        self.manager.try_lock().ok().and_then(|m| m.clone())
    }

    pub fn supervisor(&self) -> Option<SupervisorHandle> {
        self.supervisor.lock().unwrap().clone()
    }

    /// Has the supervisor look at every service now (after the user acted on one) and waits
    /// until its snapshot shows the result.
    pub async fn settle(&self) {
        if let Some(s) = self.supervisor() {
            s.refresh_now(Duration::from_secs(5)).await;
        }
    }

    /// A fresh snapshot: reconciles with Docker (doing the supervisor's work of stopping
    /// services nobody uses any more) and probes every running service.
    pub async fn refresh(&self) -> Snapshot {
        let snap = match self.manager().await {
            Ok(m) => match m.snapshot(self.supervisor().map(|s| s.current())).await {
                Ok(s) => s,
                Err(e) => Snapshot::offline(Some(&m), e.to_string()),
            },
            Err(e) => Snapshot::offline(None, e.to_string()),
        };
        *self.last.lock().unwrap() = Some(snap.clone());
        snap
    }
}
