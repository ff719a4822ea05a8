//! The app's state: the core's manager (opened lazily, so the app starts — and says why — when
//! Docker is not running), and snapshots of everything the tray and window show.

use std::sync::{Arc, Mutex};

use dockhand_core::manager::ServiceStatus;
use dockhand_core::menu::{self, Health, ProjectEntry};
use dockhand_core::store::AttachmentRow;
use dockhand_core::supervisor::{self, SupervisorHandle};
use dockhand_core::{CoreError, Kind, Manager, ServiceState};
use serde::Serialize;

#[derive(Default)]
pub struct AppState {
    manager: tokio::sync::Mutex<Option<Arc<Manager>>>,
    supervisor: Mutex<Option<SupervisorHandle>>,
    pub last: Mutex<Option<Snapshot>>,
}

/// The supervisor's judgement of one service, beside its status.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HealthView {
    pub name: String,
    pub health: supervisor::Health,
    pub reason: Option<String>,
    pub since_ms: i64,
    pub restarts: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProjectView {
    pub name: String,
    pub path: Option<String>,
    pub up: bool,
    pub attachments: Vec<AttachmentView>,
    pub vars: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AttachmentView {
    pub service: String,
    pub kind: String,
    pub database: String,
    pub user: String,
}

/// Everything the tray and the dashboard show, taken at one moment.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Snapshot {
    pub services: Vec<ServiceStatus>,
    pub supervised: Vec<HealthView>,
    pub projects: Vec<ProjectView>,
    pub engine_error: Option<String>,
    pub health: Health,
    pub grace_period_secs: u64,
    pub home: String,
}

impl Snapshot {
    pub fn project_entries(&self) -> Vec<ProjectEntry> {
        self.projects
            .iter()
            .map(|p| ProjectEntry {
                name: p.name.clone(),
                kinds: p
                    .attachments
                    .iter()
                    .filter_map(|a| Kind::parse(&a.kind).ok())
                    .collect(),
                up: p.up,
            })
            .collect()
    }
}

impl AppState {
    /// The manager, connecting to Docker on first use (and again after a failed attempt).
    pub async fn manager(&self) -> Result<Arc<Manager>, CoreError> {
        let mut m = self.manager.lock().await;
        if let Some(m) = m.as_ref() {
            return Ok(m.clone());
        }
        let opened = Arc::new(dockhand_core::open_default().await?);
        *m = Some(opened.clone());
        // The app acts on health (records transitions, restarts failed services whose policy
        // says so, runs the backup schedule) unless `dockhand supervise` already does.
        let (sup, acting) = supervisor::spawn_exclusive(opened.clone())?;
        if !acting {
            tracing::info!("another process supervises this home; the app only watches");
        }
        *self.supervisor.lock().unwrap() = Some(sup);
        Ok(opened)
    }

    pub fn supervisor(&self) -> Option<SupervisorHandle> {
        self.supervisor.lock().unwrap().clone()
    }

    /// Has the supervisor look at every service now (after the user acted on one) and waits
    /// until its snapshot shows the result.
    pub async fn settle(&self) {
        if let Some(s) = self.supervisor() {
            s.refresh_now(std::time::Duration::from_secs(5)).await;
        }
    }

    /// A fresh snapshot: reconciles with Docker (the app does the supervisor's work of stopping
    /// services nobody uses any more) and probes every running service.
    pub async fn refresh(&self) -> Snapshot {
        let snap = match self.manager().await {
            Ok(m) => match take(&m, self.supervisor()).await {
                Ok(s) => s,
                Err(e) => offline(Some(&m), e.to_string()),
            },
            Err(e) => offline(None, e.to_string()),
        };
        *self.last.lock().unwrap() = Some(snap.clone());
        snap
    }
}

async fn take(m: &Manager, sup: Option<SupervisorHandle>) -> Result<Snapshot, CoreError> {
    let watched = sup.map(|s| s.current()).filter(|s| s.ready);
    if let Some(e) = watched.as_ref().and_then(|w| w.engine_error.clone()) {
        let mut snap = offline(Some(m), e);
        snap.services = watched
            .unwrap()
            .services
            .into_iter()
            .map(|h| ServiceStatus {
                state: ServiceState::EngineUnavailable,
                ..h.status
            })
            .collect();
        return Ok(snap);
    }
    // Settling idle services (whose grace period is over) stays with every process.
    m.reconcile().await?;
    let (services, supervised) = match watched {
        // The supervisor's view: its judgement (starting vs unhealthy, failure reasons with
        // log lines) shown through the status the tray and window render.
        Some(w) => w
            .services
            .into_iter()
            .map(|h| {
                let mut s = h.status;
                match h.health {
                    supervisor::Health::Starting => s.state = ServiceState::Starting,
                    supervisor::Health::Failed | supervisor::Health::Unhealthy => {
                        s.detail = h.reason.clone().or(s.detail)
                    }
                    _ => {}
                }
                let view = HealthView {
                    name: s.name.clone(),
                    health: h.health,
                    reason: h.reason,
                    since_ms: h.since_ms,
                    restarts: h.restarts,
                };
                (s, view)
            })
            .unzip(),
        None => (m.status().await?, vec![]),
    };
    let projects = project_views(m, &services)?;
    Ok(Snapshot {
        health: menu::health(&services, None),
        services,
        supervised,
        projects,
        engine_error: None,
        grace_period_secs: m.grace_period()?.as_secs(),
        home: m.home().root().display().to_string(),
    })
}

fn project_views(m: &Manager, services: &[ServiceStatus]) -> Result<Vec<ProjectView>, CoreError> {
    let atts = m.store().attachments(None, None)?;
    Ok(m.store()
        .projects()?
        .into_iter()
        .map(|p| {
            let mine: Vec<&AttachmentRow> = atts.iter().filter(|a| a.project == p.name).collect();
            let holder = format!("project:{}", p.name);
            let up = !mine.is_empty()
                && mine.iter().all(|a| {
                    services
                        .iter()
                        .any(|s| s.name == a.service && s.consumers.contains(&holder))
                });
            let kinds: Vec<Kind> = mine
                .iter()
                .filter_map(|a| Kind::parse(&a.kind).ok())
                .collect();
            ProjectView {
                name: p.name,
                path: p.path,
                up,
                vars: menu::url_vars(&kinds),
                attachments: mine
                    .into_iter()
                    .map(|a| AttachmentView {
                        service: a.service.clone(),
                        kind: a.kind.clone(),
                        database: a.db_name.clone(),
                        user: a.db_user.clone(),
                    })
                    .collect(),
            }
        })
        .collect())
}

/// What can be shown while Docker (or the state) cannot be reached.
fn offline(m: Option<&Manager>, reason: String) -> Snapshot {
    Snapshot {
        services: vec![],
        supervised: vec![],
        projects: m
            .and_then(|m| project_views(m, &[]).ok())
            .unwrap_or_default(),
        engine_error: Some(reason),
        health: Health::EngineUnavailable,
        grace_period_secs: m
            .and_then(|m| m.grace_period().ok())
            .map_or(0, |d| d.as_secs()),
        home: m
            .map(|m| m.home().root().display().to_string())
            .unwrap_or_default(),
    }
}
