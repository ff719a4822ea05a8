//! Everything the tray and the window show, taken at one moment: services with their state and
//! the actions it allows, the supervisor's judgement, projects, and the kinds table.

use serde::Serialize;

use crate::actions::{actions_for, Actions};
use crate::catalog::Kind;
use crate::error::Result;
use crate::manager::{Manager, ServiceStatus};
use crate::menu::{self, Health, ProjectEntry};
use crate::state::ServiceState;
use crate::supervisor;

/// A service as the window shows it: its status and what can be done to it now.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceView {
    #[serde(flatten)]
    pub status: ServiceStatus,
    pub actions: Actions,
}

impl ServiceView {
    pub fn new(status: ServiceStatus) -> ServiceView {
        ServiceView {
            actions: actions_for(status.state),
            status,
        }
    }
}

/// A view reads as the status it shows.
impl std::ops::Deref for ServiceView {
    type Target = ServiceStatus;
    fn deref(&self) -> &ServiceStatus {
        &self.status
    }
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
    /// Its databases on servers Dockhand does not run.
    pub externals: Vec<crate::store::ExternalRow>,
    /// Its URL variables as the project names them (`[env]` in its dockhand.toml).
    pub vars: Vec<String>,
    /// Why `vars` is empty when its dockhand.toml cannot be read.
    pub env_error: Option<String>,
    /// Whether it has a database Dockhand keeps copies of (restore points, branches).
    pub copies: bool,
    /// Its restore points, oldest first.
    pub points: Vec<crate::manager::RestorePointView>,
    /// The git branch checked out, when the project follows branches (`[branches]`).
    pub checkout: Option<crate::manager::Checkout>,
    /// Why the project's branches cannot be followed (a `[branches]` without a repository).
    pub branch_error: Option<String>,
    /// The window's "A database per git branch" toggle, and whether dockhand.toml turns it on
    /// (the file wins).
    pub branches_toggle: bool,
    pub branches_in_file: bool,
    /// The branches with their own databases (from the state store: no server is asked).
    pub branch_databases: Vec<BranchDatabase>,
}

/// One branch's databases, as the project card lists them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BranchDatabase {
    pub branch: String,
    pub size_bytes: i64,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AttachmentView {
    pub service: String,
    pub kind: String,
    pub database: String,
    pub user: String,
    /// The service is the project's own server, not the shared one.
    pub dedicated: bool,
}

/// A kind of server: its display name, the user's default version, the versions offered, and
/// what Dockhand can do with it (the drivers' data, so the window never names a kind).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KindView {
    pub kind: &'static str,
    pub name: &'static str,
    pub version: String,
    pub versions: &'static [&'static str],
    /// Whether Dockhand restores its backups (Redis-family and MongoDB ones are kept, not
    /// restored).
    pub restores: bool,
    /// Whether Dockhand drops a project's data on it (after a backup).
    pub drops_data: bool,
    /// Its interactive client ("Open in terminal"), when it has one: `psql`, `mariadb`, ….
    pub client: Option<&'static str>,
}

/// Everything the tray and the dashboard show, taken at one moment.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Snapshot {
    pub services: Vec<ServiceView>,
    /// How many services answer (the "N of M running" both the tray and the window show).
    pub running: usize,
    pub supervised: Vec<HealthView>,
    pub projects: Vec<ProjectView>,
    pub kinds: Vec<KindView>,
    pub engine_error: Option<String>,
    pub health: Health,
    pub grace_period_secs: u64,
    pub home: String,
}

impl Snapshot {
    /// The services' statuses, as the tray menu is built from them.
    pub fn statuses(&self) -> Vec<ServiceStatus> {
        self.services.iter().map(|s| s.status.clone()).collect()
    }

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
                vars: p.vars.clone(),
                env_error: p.env_error.is_some(),
                up: p.up,
                copies: p.copies,
                points: p.points.iter().map(|pt| pt.label.clone()).collect(),
                branch: p
                    .checkout
                    .as_ref()
                    .filter(|c| !c.on_main())
                    .map(|c| c.branch.clone()),
            })
            .collect()
    }

    /// What can be shown while Docker (or the state) cannot be reached.
    pub fn offline(m: Option<&Manager>, reason: String) -> Snapshot {
        Snapshot {
            services: vec![],
            running: 0,
            supervised: vec![],
            projects: m
                .and_then(|m| m.project_views(&[]).ok())
                .unwrap_or_default(),
            kinds: m.map(|m| m.kinds()).unwrap_or_default(),
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
}

impl Manager {
    /// A fresh snapshot. With the supervisor's latest view (`watched`), its judgement is shown
    /// (starting vs unhealthy, failure reasons with log lines); without one, every service is
    /// probed here. Either way the store is reconciled first, which also stops services whose
    /// grace period is over.
    pub async fn snapshot(&self, watched: Option<supervisor::Snapshot>) -> Result<Snapshot> {
        let watched = watched.filter(|s| s.ready);
        if let Some(e) = watched.as_ref().and_then(|w| w.engine_error.clone()) {
            let mut snap = Snapshot::offline(Some(self), e);
            snap.services = watched
                .unwrap()
                .services
                .into_iter()
                .map(|h| {
                    ServiceView::new(ServiceStatus {
                        state: ServiceState::EngineUnavailable,
                        ..h.status
                    })
                })
                .collect();
            return Ok(snap);
        }
        self.reconcile().await?;
        let (services, supervised): (Vec<ServiceStatus>, Vec<HealthView>) = match watched {
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
            None => (self.status().await?, vec![]),
        };
        let projects = self.project_views(&services)?;
        Ok(Snapshot {
            health: menu::health(&services, None),
            running: services.iter().filter(|s| s.state.is_healthy()).count(),
            services: services.into_iter().map(ServiceView::new).collect(),
            supervised,
            projects,
            kinds: self.kinds(),
            engine_error: None,
            grace_period_secs: self.grace_period()?.as_secs(),
            home: self.home().root().display().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::engine::fake::FakeEngine;
    use crate::home::Home;
    use crate::manager::UpRequest;
    use crate::secrets::MemorySecretStore;
    use crate::store::Store;
    use crate::ServiceSpec;

    /// The window reads each service's state and actions side by side, and names kinds from
    /// the snapshot's table.
    #[tokio::test(start_paused = true)]
    async fn services_carry_their_state_and_actions_and_kinds_their_names() {
        let t = tempfile::tempdir().unwrap();
        let e = Arc::new(FakeEngine::default());
        e.add_image("redis:7");
        let m = Manager::new(
            Home::open(t.path().join("home")).unwrap(),
            Store::open_in_memory().unwrap(),
            e,
            Arc::new(MemorySecretStore::default()),
        )
        .unwrap();
        // The fake runs the container but has no server to answer: it is unhealthy.
        let req = UpRequest {
            spec: ServiceSpec::parse("redis:7").unwrap(),
            name: Some("cache".into()),
            port: None,
            image: None,
            options: Default::default(),
        };
        let _ = m.up(&req, &|_| {}).await;
        let snap = m.snapshot(None).await.unwrap();
        let v = serde_json::to_value(&snap).unwrap();
        let svc = &v["services"][0];
        assert_eq!(svc["name"], "cache");
        assert_eq!(snap.services[0].state, ServiceState::Unhealthy);
        assert_eq!(svc["state"], "unhealthy");
        assert_eq!(svc["actions"]["start"], false);
        assert_eq!(svc["actions"]["restart"], true);
        assert_eq!(svc["actions"]["copy_admin_url"], true);
        assert_eq!(snap.running, 0);
        assert!(snap
            .kinds
            .iter()
            .any(|k| k.kind == "postgres" && k.name == "PostgreSQL"));

        let offline = Snapshot::offline(Some(&m), "Docker is not running".into());
        assert_eq!(offline.health, Health::EngineUnavailable);
        assert!(offline.services.is_empty());
    }
}
