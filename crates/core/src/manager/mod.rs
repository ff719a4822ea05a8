//! The service manager: `up`, `down`, `restart`, `destroy`, `status`, `logs`, `url`, and the
//! reconciliation of the store with what Docker reports. Every operation is idempotent and safe
//! when a second Dockhand process (tray app and CLI) acts at the same time.

mod backups;
mod consumers;
mod projects;

pub use consumers::{Lease, Settled, DEFAULT_GRACE};
pub use projects::ProjectConnection;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::BoxStream;
use serde::Serialize;

use crate::catalog::{Kind, ServiceSpec};
use crate::engine::{
    labels, ContainerInfo, ContainerSpec, Engine, EngineError, LogChunk, PullProgress, RunState,
};
use crate::error::{human_duration, CoreError, Result};
use crate::home::Home;
use crate::names::{validate_port, validate_service_name};
use crate::ports::{choose_port, host_port_free};
use crate::probe::{probe, ProbeTarget};
use crate::readiness::{wait_ready, ATTEMPT_LIMIT};
use crate::secrets::{Secret, SecretStore};
use crate::store::{Desired, NewService, ServiceRow, Store};

/// The shared Docker network services join, reachable by service name from other containers.
pub const NETWORK: &str = "dockhand";
const HOST: &str = "127.0.0.1";
/// Attempts at finding a port when the chosen one is taken between choice and start.
const PORT_RETRIES: usize = 5;
const STATUS_PROBE_LIMIT: Duration = Duration::from_secs(2);

pub struct Manager {
    engine: Arc<dyn Engine>,
    store: Store,
    secrets: Arc<dyn SecretStore>,
    home: Home,
    instance: String,
    port_free: fn(u16) -> bool,
}

#[derive(Debug, Clone)]
pub struct UpRequest {
    pub spec: ServiceSpec,
    pub name: Option<String>,
    pub port: Option<u16>,
    /// Another image than the official one for this kind and version (a mirror, PostGIS…).
    pub image: Option<String>,
}

impl UpRequest {
    /// Starting an existing service as it is: its kind, version and name.
    pub fn for_service(row: &ServiceRow) -> UpRequest {
        UpRequest {
            spec: ServiceSpec {
                kind: row.kind,
                version: row.version.clone(),
            },
            name: Some(row.name.clone()),
            port: None,
            image: None,
        }
    }
}

/// What long operations report while they run (for progress display).
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Pulling {
        service: String,
        image: String,
    },
    PullBytes {
        service: String,
        current: u64,
        total: u64,
    },
    Creating {
        service: String,
    },
    Starting {
        service: String,
    },
    Waiting {
        service: String,
        elapsed: Duration,
    },
    Ready {
        service: String,
        took: Duration,
    },
}

pub type ProgressFn<'a> = dyn Fn(Progress) + Send + Sync + 'a;

impl Progress {
    pub fn service(&self) -> &str {
        match self {
            Progress::Pulling { service, .. }
            | Progress::PullBytes { service, .. }
            | Progress::Creating { service }
            | Progress::Starting { service }
            | Progress::Waiting { service, .. }
            | Progress::Ready { service, .. } => service,
        }
    }

    /// The step in words, for a progress line (none for `Ready`: the caller says that).
    pub fn describe(&self) -> Option<String> {
        Some(match self {
            Progress::Pulling { image, .. } => format!("pulling image {image}"),
            Progress::PullBytes { current, total, .. } => {
                let mut s = format!(
                    "pulling {:.1} / {:.1} MB",
                    *current as f64 / 1e6,
                    *total as f64 / 1e6
                );
                if *total > 0 {
                    s.push_str(&format!(" ({}%)", current * 100 / total));
                }
                s
            }
            Progress::Creating { .. } => "creating container".into(),
            Progress::Starting { .. } => "starting".into(),
            Progress::Waiting { elapsed, .. } => format!(
                "waiting for the server to answer ({})",
                human_duration(*elapsed)
            ),
            Progress::Ready { .. } => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct UpOutcome {
    pub name: String,
    pub kind: Kind,
    pub version: String,
    pub host_port: u16,
    /// Time from the start call to the first successful round trip; zero if it already ran.
    pub ready_ms: u64,
    pub already_running: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceStatus {
    pub name: String,
    pub kind: Kind,
    pub version: String,
    pub image: String,
    pub host: String,
    pub host_port: u16,
    pub desired: Desired,
    /// running (answers a real round trip), unhealthy, starting, stopped, exited, failed, missing
    pub state: String,
    pub detail: Option<String>,
    pub container_id: Option<String>,
    pub started_at: Option<String>,
    /// Started with `up`: runs until `down`.
    pub pinned: bool,
    /// Holders of live leases (`project:shop`, `run:npm`, …).
    pub consumers: Vec<String>,
    /// Projects attached to the service.
    pub projects: Vec<String>,
    /// The supervisor restarts it when it fails (`dockhand config set restart-on-failure.<name> on`).
    pub restart_on_failure: bool,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct ReconcileReport {
    pub adopted: Vec<String>,
    pub missing: Vec<String>,
    pub updated: Vec<String>,
}

/// A service's admin password being read on a blocking thread (keychains are synchronous APIs).
/// Only a service without data yet may get a new one: the data of any other was initialised
/// with the password the keychain held, and a new one would lock Dockhand out of it.
struct PendingSecret {
    task: Option<tokio::task::JoinHandle<Result<Option<Secret>>>>,
    value: Option<Secret>,
    secrets: Arc<dyn SecretStore>,
    key: String,
    service: String,
}

impl PendingSecret {
    fn start(secrets: Arc<dyn SecretStore>, key: String, service: &str) -> Self {
        let (s, k) = (secrets.clone(), key.clone());
        PendingSecret {
            task: Some(tokio::task::spawn_blocking(move || s.get(&k))),
            value: None,
            secrets,
            key,
            service: service.to_string(),
        }
    }

    async fn fetch(&mut self) -> Result<Option<Secret>> {
        if let Some(task) = self.task.take() {
            self.value = task
                .await
                .map_err(|e| CoreError::Secret(format!("keychain lookup failed: {e}")))??;
        }
        Ok(self.value.clone())
    }

    /// The existing password; missing is an error that says what happened.
    async fn get(&mut self) -> Result<Secret> {
        self.fetch()
            .await?
            .ok_or_else(|| missing_admin_password(&self.service, &self.key))
    }

    /// For a service with no data yet: the stored password, or a new one.
    async fn get_or_create(&mut self) -> Result<Secret> {
        if let Some(v) = self.fetch().await? {
            return Ok(v);
        }
        let v = self.secrets.get_or_create(&self.key)?;
        self.value = Some(v.clone());
        Ok(v)
    }
}

fn missing_admin_password(service: &str, key: &str) -> CoreError {
    CoreError::Secret(format!(
        "the admin password of '{service}' is not in the OS keychain (was the keyring reset or replaced?), \
         and its data was set up with it. Restore the keychain entry (service 'dockhand', account '{key}'), \
         or start over with `dockhand destroy {service} --purge` (deletes its data)"
    ))
}

pub(crate) fn container_name(service: &str) -> String {
    format!("dockhand-{service}")
}

fn volume_name(service: &str) -> String {
    format!("dockhand-{service}-data")
}

pub(crate) fn admin_secret_key(instance: &str, service: &str) -> String {
    format!("{instance}/service/{service}/admin")
}

impl Manager {
    pub fn new(
        home: Home,
        store: Store,
        engine: Arc<dyn Engine>,
        secrets: Arc<dyn SecretStore>,
    ) -> Result<Self> {
        let instance = store.instance_id()?;
        Ok(Manager {
            engine,
            store,
            secrets: Arc::new(crate::secrets::CachingSecretStore::new(secrets)),
            home,
            instance,
            port_free: host_port_free,
        })
    }

    /// How many services the state database knows.
    pub fn store_services_count(&self) -> Result<usize> {
        Ok(self.store.services()?.len())
    }

    pub fn home(&self) -> &Home {
        &self.home
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    #[cfg(test)]
    fn with_port_check(mut self, f: fn(u16) -> bool) -> Self {
        self.port_free = f;
        self
    }

    fn base_labels(&self, row: &ServiceRow) -> HashMap<String, String> {
        HashMap::from([
            (labels::MANAGED.into(), "true".into()),
            (labels::INSTANCE.into(), self.instance.clone()),
            (labels::SERVICE.into(), row.name.clone()),
            (labels::KIND.into(), row.kind.as_str().into()),
            (labels::VERSION.into(), row.version.clone()),
            (labels::PORT.into(), row.host_port.to_string()),
        ])
    }

    /// The admin password of an existing service (never a new one: see [`PendingSecret`]).
    fn admin_password(&self, service: &str) -> Result<Secret> {
        let key = admin_secret_key(&self.instance, service);
        self.secrets
            .get(&key)?
            .ok_or_else(|| missing_admin_password(service, &key))
    }

    fn event(&self, service: &str, kind: &str, message: &str) {
        tracing::info!(service, kind, "{message}");
        if let Err(e) = self.store.record_event(Some(service), kind, message) {
            tracing::warn!("could not record event: {e}");
        }
    }

    /// Finds a service by name, or by kind (`postgres`) or `kind:version` when that is unambiguous.
    pub fn resolve(&self, query: &str) -> Result<ServiceRow> {
        if let Some(row) = self.store.service(query)? {
            return Ok(row);
        }
        let Ok(spec) = ServiceSpec::parse(query) else {
            return Err(CoreError::UnknownService(query.to_string()));
        };
        let with_version = query.contains(':');
        let matches: Vec<ServiceRow> = self
            .store
            .services()?
            .into_iter()
            .filter(|r| r.kind == spec.kind && (!with_version || r.version == spec.version))
            .collect();
        match matches.len() {
            0 => Err(CoreError::UnknownService(query.to_string())),
            1 => Ok(matches.into_iter().next().unwrap()),
            _ => Err(CoreError::AmbiguousService {
                query: query.to_string(),
                matches: matches
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Creates (first time) and starts a service, and waits until it answers a real round trip.
    pub async fn up(&self, req: &UpRequest, progress: &ProgressFn<'_>) -> Result<UpOutcome> {
        let name = req.name.clone().unwrap_or_else(|| req.spec.default_name());
        validate_service_name(&name)?;
        if let Some(p) = req.port {
            validate_port(p)?;
        }
        let image = req
            .image
            .clone()
            .unwrap_or_else(|| req.spec.default_image());
        if image.is_empty() || image.chars().any(|c| c.is_whitespace()) {
            return Err(CoreError::InvalidInput(format!(
                "image {image:?} is not a valid image reference"
            )));
        }
        let kind = req.spec.kind;
        if let Some(row) = self.store.service(&name)? {
            self.check_same_spec(&row, &req.spec)?;
        }

        // Check the data volume before anything is recorded: a foreign or mismatched volume is a
        // refusal, and its port label lets a recreated service keep its old URL.
        let volume = self.engine.inspect_volume(&volume_name(&name)).await?;
        if let Some(v) = &volume {
            self.check_volume_is_ours(&name, kind, &req.spec.version, &v.labels)?;
        }
        let preferred = volume
            .as_ref()
            .and_then(|v| v.labels.get(labels::PORT))
            .and_then(|p| p.parse().ok());

        let new = NewService {
            name: &name,
            kind,
            version: &req.spec.version,
            image: &image,
            port_explicit: req.port.is_some(),
            pinned: true,
        };
        let port_free = self.port_free;
        let (row, _created) = self.store.claim_service(&new, |taken| {
            choose_port(kind, req.port, preferred, taken, port_free)
        })?;
        self.check_same_spec(&row, &req.spec)?;
        if let Some(p) = req.port.filter(|p| *p != row.host_port) {
            return Err(CoreError::InvalidInput(format!(
                "service '{name}' already has port {}; ports are kept stable so URLs never change — \
                 to use {p}, `dockhand destroy {name}` (data is kept) and `dockhand up` it again with --port {p}",
                row.host_port
            )));
        }
        if req.image.as_ref().is_some_and(|i| *i != row.image) {
            return Err(CoreError::InvalidInput(format!(
                "service '{name}' runs image {}; destroy it (data is kept) to change its image",
                row.image
            )));
        }
        self.store.set_desired(&name, Desired::Running)?;
        // Started by the user: it runs until `down`, whatever its consumers do.
        self.store.set_pinned(&name, true)?;
        let _lock = self.lock(&name, consumers::LOCK_LIMIT).await?;
        let started = self.start(row, progress).await;
        if started.is_err() {
            self.forget_if_never_created(&name).await;
        }
        started
    }

    /// After a failed first start (a pull that failed, a name another home's container holds):
    /// a service that never ran, has no container of ours and nothing attached is forgotten, so
    /// it holds no port and the next `up`/`attach` does not find a phantom. Its keychain entry
    /// and volume are kept when they exist (the volume would be ours and empty or with data).
    pub(crate) async fn forget_if_never_created(&self, name: &str) {
        let Ok(Some(row)) = self.store.service(name) else {
            return;
        };
        if row.ever_ready {
            return;
        }
        let ours = match self.engine.inspect_container(&container_name(name)).await {
            Ok(Some(c)) => self.check_container_is_ours(&c).is_ok(),
            Ok(None) => false,
            // Docker did not answer: keep the row, reconcile settles it later.
            Err(_) => return,
        };
        let attached = self
            .store
            .attachments(None, Some(name))
            .map(|a| !a.is_empty())
            .unwrap_or(true);
        let leased = self
            .store
            .leases(Some(name))
            .map(|l| !l.is_empty())
            .unwrap_or(true);
        if ours || attached || leased {
            return;
        }
        if self.store.delete_service(name).is_ok() {
            self.event(
                name,
                "forgotten",
                "its first start failed before a container existed; nothing of it remains",
            );
        }
    }

    /// Starts an existing service and records the outcome (both for `up` and for consumers).
    async fn start(&self, row: ServiceRow, progress: &ProgressFn<'_>) -> Result<UpOutcome> {
        let name = row.name.clone();
        self.store.set_desired(&name, Desired::Running)?;
        match self.bring_up(row, progress).await {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                let reason = e.to_string();
                let _ = self.store.set_state(&name, "failed", Some(&reason));
                self.event(&name, "failed", &reason);
                Err(e)
            }
        }
    }

    fn check_same_spec(&self, row: &ServiceRow, spec: &ServiceSpec) -> Result<()> {
        if row.kind != spec.kind || row.version != spec.version {
            return Err(CoreError::SpecMismatch {
                name: row.name.clone(),
                existing: format!("{}:{}", row.kind, row.version),
                requested: spec.to_string(),
            });
        }
        Ok(())
    }

    fn check_volume_is_ours(
        &self,
        name: &str,
        kind: Kind,
        version: &str,
        l: &HashMap<String, String>,
    ) -> Result<()> {
        let vname = volume_name(name);
        let foreign = |why: String| CoreError::ForeignResource {
            what: "Docker volume",
            name: vname.clone(),
            why,
        };
        if l.get(labels::MANAGED).map(String::as_str) != Some("true") {
            return Err(foreign("it has no Dockhand labels".into()));
        }
        if l.get(labels::INSTANCE) != Some(&self.instance) {
            return Err(foreign("it belongs to another Dockhand home".into()));
        }
        if l.get(labels::KIND).map(String::as_str) != Some(kind.as_str()) {
            return Err(foreign(format!(
                "it holds {} data, not {kind}",
                l.get(labels::KIND).map_or("unknown", String::as_str)
            )));
        }
        let had = l.get(labels::VERSION).cloned().unwrap_or_default();
        if !kind.driver().opens_data_of(&had, version) {
            let server = kind.spec().display_name;
            return Err(CoreError::InvalidInput(format!(
                "the data of '{name}' was written by {server} {had}, which {server} {version} cannot open; \
                 run `dockhand up {kind}:{had} --name {name}`, or give the new version its own name"
            )));
        }
        Ok(())
    }

    async fn bring_up(&self, mut row: ServiceRow, progress: &ProgressFn<'_>) -> Result<UpOutcome> {
        let name = row.name.clone();
        let cname = container_name(&name);

        // The keychain lookup (a Secret Service round trip) runs while Docker works; it is
        // awaited first only where a container is about to be created, so that a missing
        // keychain fails before anything exists.
        let mut password = PendingSecret::start(
            self.secrets.clone(),
            admin_secret_key(&self.instance, &name),
            &name,
        );
        let mut known = self.engine.inspect_container(&cname).await?;
        if let Some(c) = &known {
            self.check_container_is_ours(c)?;
            if c.state == RunState::Running && self.quick_probe(&row).await.is_ok() {
                self.store.set_state(&name, "running", None)?;
                return Ok(self.outcome(&row, Duration::ZERO, true));
            }
        } else {
            // A container is about to be created. The password comes first, so that a missing
            // keychain fails before anything exists; only a service without data gets a new one.
            let fresh = self
                .engine
                .inspect_volume(&volume_name(&name))
                .await?
                .is_none();
            if fresh {
                password.get_or_create().await?;
            } else {
                password.get().await?;
            }
            // Only a container yet to be created needs its image, network and volume checked;
            // starting an existing one stays as lean as `docker start`.
            self.ensure_image(&row, progress).await?;
            self.engine
                .ensure_network(
                    NETWORK,
                    HashMap::from([(labels::MANAGED.to_string(), "true".to_string())]),
                )
                .await?;
            if fresh {
                self.engine
                    .create_volume(&volume_name(&name), self.base_labels(&row))
                    .await?;
            }
        }

        let mut attempts = 0;
        // Only the call that starts the container records it as started.
        let mut started_here = false;
        loop {
            attempts += 1;
            let needs_files = known.as_ref().is_none_or(|c| c.state == RunState::Created);
            let container = match known.take() {
                Some(c) if !needs_files => c,
                other => {
                    let pw = password.get().await?;
                    self.ensure_container(other, &row, &pw, progress).await?
                }
            };
            if container.state == RunState::Running {
                break;
            }
            progress(Progress::Starting {
                service: name.clone(),
            });
            self.store.set_state(&name, "starting", None)?;
            match self.engine.start_container(&cname).await {
                Ok(()) => {
                    started_here = true;
                    break;
                }
                Err(EngineError::PortAllocated { port, message }) => {
                    // Someone outside this store took the port between choice and start. A port
                    // the user chose, or one a service has already been reached on, never moves.
                    if row.port_explicit || row.ever_ready || attempts > PORT_RETRIES {
                        return Err(CoreError::PortInUse {
                            port: if port == 0 { row.host_port } else { port },
                            by: format!(" ({message})"),
                        });
                    }
                    self.engine.remove_container(&cname).await?;
                    let old = row.host_port;
                    let port_free = self.port_free;
                    let kind = row.kind;
                    row.host_port = self.store.move_port(&name, |taken| {
                        let mut taken = taken.to_vec();
                        taken.push(old);
                        choose_port(kind, None, None, &taken, |p| p != old && port_free(p))
                    })?;
                    self.event(
                        &name,
                        "port-moved",
                        &format!("port {old} was taken; using {}", row.host_port),
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }

        let password = password.get().await?;
        let target = self.probe_target(&row, &password);
        let kind = row.kind;
        let svc = name.clone();
        let on_wait = move |elapsed| {
            progress(Progress::Waiting {
                service: svc.clone(),
                elapsed,
            })
        };
        let took = wait_ready(
            self.engine.as_ref(),
            &cname,
            kind.spec().ready_deadline,
            |limit| {
                let t = target.clone();
                async move { probe(kind, &t, limit).await }
            },
            &on_wait,
        )
        .await
        .map_err(|nr| CoreError::not_ready(&name, nr.0))?;

        self.store.set_state(&name, "running", None)?;
        if !started_here {
            // It was running already and only slow to answer the quick probe above (a loaded
            // machine): waiting was all it needed. Like the quick path, it is neither recorded
            // as started again nor re-provisioned.
            return Ok(self.outcome(&row, Duration::ZERO, true));
        }
        self.event(
            &name,
            "started",
            &format!("ready in {}", human_duration(took)),
        );
        // Users live in the data (PostgreSQL, MariaDB) or in memory (Redis ACLs): re-applying
        // every project's grant after a start keeps them all in step with the keychain.
        self.reprovision_all(&name).await;
        progress(Progress::Ready {
            service: name.clone(),
            took,
        });
        Ok(self.outcome(&row, took, false))
    }

    fn outcome(&self, row: &ServiceRow, took: Duration, already_running: bool) -> UpOutcome {
        UpOutcome {
            name: row.name.clone(),
            kind: row.kind,
            version: row.version.clone(),
            host_port: row.host_port,
            ready_ms: took.as_millis() as u64,
            already_running,
        }
    }

    fn check_container_is_ours(&self, c: &ContainerInfo) -> Result<()> {
        let ours = c.labels.get(labels::MANAGED).map(String::as_str) == Some("true")
            && c.labels.get(labels::INSTANCE) == Some(&self.instance);
        if ours {
            Ok(())
        } else {
            Err(CoreError::ForeignResource {
                what: "container",
                name: c.name.clone(),
                why: if c.labels.contains_key(labels::MANAGED) {
                    "it belongs to another Dockhand home".into()
                } else {
                    "it has no Dockhand labels".into()
                },
            })
        }
    }

    async fn ensure_image(&self, row: &ServiceRow, progress: &ProgressFn<'_>) -> Result<()> {
        if self.engine.image_present(&row.image).await? {
            return Ok(());
        }
        progress(Progress::Pulling {
            service: row.name.clone(),
            image: row.image.clone(),
        });
        let svc = row.name.clone();
        let on_progress = move |p: PullProgress| {
            if let PullProgress::Bytes { current, total } = p {
                progress(Progress::PullBytes {
                    service: svc.clone(),
                    current,
                    total,
                });
            }
        };
        match self.engine.pull_image(&row.image, &on_progress).await {
            Ok(()) => {
                self.event(&row.name, "pulled", &format!("pulled image {}", row.image));
                Ok(())
            }
            Err(e @ EngineError::Unavailable { .. }) => Err(e.into()),
            Err(e) => Err(CoreError::ImagePull {
                image: row.image.clone(),
                kind: row.kind.to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// Returns the service's container (`known`, when just inspected), creating it with its
    /// secret files if needed.
    async fn ensure_container(
        &self,
        known: Option<ContainerInfo>,
        row: &ServiceRow,
        password: &Secret,
        progress: &ProgressFn<'_>,
    ) -> Result<ContainerInfo> {
        let cname = container_name(&row.name);
        let setup = row.kind.container_setup(&row.version, password.expose());
        let known = match known {
            Some(c) => Some(c),
            None => self.engine.inspect_container(&cname).await?,
        };
        if let Some(c) = known {
            self.check_container_is_ours(&c)?;
            if c.state == RunState::Created {
                // A process killed between create and first start may have left it without its
                // files; placing them again is harmless.
                self.engine.put_files(&cname, &setup.files).await?;
            }
            return Ok(c);
        }
        progress(Progress::Creating {
            service: row.name.clone(),
        });
        self.store.set_state(&row.name, "creating", None)?;
        let spec = row.kind.spec();
        let cspec = ContainerSpec {
            name: cname.clone(),
            image: row.image.clone(),
            env: setup.env,
            cmd: setup.cmd,
            labels: self.base_labels(row),
            container_port: spec.container_port,
            host_port: row.host_port,
            volume: volume_name(&row.name),
            data_path: spec.data_path.into(),
            network: NETWORK.into(),
            network_alias: row.name.clone(),
            stop_timeout: spec.stop_timeout,
        };
        match self.engine.create_container(&cspec).await {
            Ok(_) => {}
            // Another process created it a moment ago; fall through and use that one.
            Err(EngineError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.engine.put_files(&cname, &setup.files).await?;
        self.engine.inspect_container(&cname).await?.ok_or_else(|| {
            CoreError::not_ready(&row.name, "its container vanished right after creation")
        })
    }

    fn probe_target(&self, row: &ServiceRow, password: &Secret) -> ProbeTarget {
        ProbeTarget {
            host: HOST.into(),
            port: row.host_port,
            user: row.kind.spec().admin_user.into(),
            password: password.expose().into(),
        }
    }

    async fn quick_probe(&self, row: &ServiceRow) -> Result<()> {
        let password = self.admin_password(&row.name)?;
        probe(
            row.kind,
            &self.probe_target(row, &password),
            STATUS_PROBE_LIMIT.min(ATTEMPT_LIMIT),
        )
        .await
        .map_err(|e| CoreError::not_ready(&row.name, e.to_string()))
    }

    /// Starts an existing service without pinning it (the supervisor's restarts and restores:
    /// whoever held it before still does).
    pub async fn start_existing(&self, query: &str) -> Result<UpOutcome> {
        let row = self.resolve(query)?;
        let _lock = self.lock(&row.name, consumers::LOCK_LIMIT).await?;
        let row = self.resolve(&row.name)?;
        let noop = |_| {};
        self.start(row, &noop).await
    }

    /// After the engine came back (or at start-up of the tray app): reconciles, then starts
    /// every service that should run — pinned by `up` or held by a live consumer — and does not.
    pub async fn restore_desired(&self) -> Result<Vec<String>> {
        self.reconcile().await?;
        let mut started = Vec::new();
        for row in self.store.services()? {
            if row.desired != Desired::Running {
                continue;
            }
            if !row.pinned && self.live_leases(&row.name)?.is_empty() {
                continue;
            }
            let running = self
                .engine
                .inspect_container(&container_name(&row.name))
                .await?
                .is_some_and(|c| c.state == RunState::Running);
            if !running {
                match self.start_existing(&row.name).await {
                    Ok(_) => started.push(row.name.clone()),
                    Err(e) => tracing::warn!("could not start {} again: {e}", row.name),
                }
            }
        }
        Ok(started)
    }

    /// The version `up postgres` (no version) and projects without a version line get: the
    /// user's choice (`config set default-version.<kind>`), else the catalog's.
    pub fn default_version(&self, kind: Kind) -> String {
        self.store
            .setting(&format!("default_version.{kind}"))
            .ok()
            .flatten()
            .unwrap_or_else(|| kind.spec().default_version.to_string())
    }

    pub fn set_default_version(&self, kind: Kind, version: &str) -> Result<()> {
        let spec = ServiceSpec::parse(&format!("{kind}:{version}"))?;
        self.store
            .set_setting(&format!("default_version.{kind}"), &spec.version)
    }

    /// `kind` or `kind:version`, with the user's default version when none is given.
    pub fn parse_spec(&self, s: &str) -> Result<ServiceSpec> {
        let mut spec = ServiceSpec::parse(s)?;
        if !s.contains(':') {
            spec.version = self.default_version(spec.kind);
        }
        Ok(spec)
    }

    /// Whether the supervisor restarts the service when it fails (off by default).
    pub fn restart_on_failure(&self, service: &str) -> bool {
        self.store
            .setting(&format!("restart_on_failure.{service}"))
            .ok()
            .flatten()
            .is_some_and(|v| v == "on")
    }

    pub fn set_restart_on_failure(&self, query: &str, on: bool) -> Result<()> {
        let row = self.resolve(query)?;
        self.store.set_setting(
            &format!("restart_on_failure.{}", row.name),
            if on { "on" } else { "off" },
        )
    }

    /// Stops a service; its container and data stay.
    pub async fn down(&self, query: &str) -> Result<ServiceRow> {
        let row = self.resolve(query)?;
        self.store.set_desired(&row.name, Desired::Stopped)?;
        self.store.set_pinned(&row.name, false)?;
        let cname = container_name(&row.name);
        if let Some(c) = self.engine.inspect_container(&cname).await? {
            self.check_container_is_ours(&c)?;
            if matches!(
                c.state,
                RunState::Running | RunState::Restarting | RunState::Paused
            ) {
                self.engine
                    .stop_container(&cname, row.kind.spec().stop_timeout)
                    .await?;
            }
        }
        self.store.set_state(&row.name, "stopped", None)?;
        self.event(&row.name, "stopped", "stopped by the user");
        Ok(row)
    }

    pub async fn restart(&self, query: &str, progress: &ProgressFn<'_>) -> Result<UpOutcome> {
        let row = self.down(query).await?;
        self.up(&UpRequest::for_service(&row), progress).await
    }

    /// Removes a service's container. Its data volume and password are kept (so `up` with the
    /// same name brings the data back) unless `purge` is set.
    pub async fn destroy(&self, query: &str, purge: bool) -> Result<ServiceRow> {
        let row = self.resolve(query)?;
        let cname = container_name(&row.name);
        if let Some(c) = self.engine.inspect_container(&cname).await? {
            self.check_container_is_ours(&c)?;
            self.engine.remove_container(&cname).await?;
        }
        if purge {
            let vname = volume_name(&row.name);
            if let Some(v) = self.engine.inspect_volume(&vname).await? {
                self.check_volume_is_ours(&row.name, row.kind, &row.version, &v.labels)?;
                self.engine.remove_volume(&vname).await?;
            }
            self.secrets
                .delete(&admin_secret_key(&self.instance, &row.name))?;
        }
        // With the data gone, the projects' databases and users are gone too: their attachments
        // and passwords go with them (a kept volume keeps them, for `up` to bring back).
        let mut detached = Vec::new();
        if purge {
            for a in self.store.attachments(None, Some(&row.name))? {
                self.secrets.delete(&projects::project_secret_key(
                    &self.instance,
                    &a.project,
                    &row.name,
                ))?;
                self.store.detach(&a.project, &row.name)?;
                let _ = self
                    .store
                    .remove_standing_lease(&row.name, &format!("project:{}", a.project));
                detached.push(a.project);
            }
        }
        self.store.delete_service(&row.name)?;
        let what = match (purge, detached.is_empty()) {
            (true, true) => "destroyed with its data".to_string(),
            (true, false) => format!(
                "destroyed with its data; projects detached: {}",
                detached.join(", ")
            ),
            (false, _) => "destroyed; data volume kept".to_string(),
        };
        self.event(&row.name, "destroyed", &what);
        Ok(row)
    }

    /// Every service with its live state; running ones are probed with a real round trip.
    pub async fn status(&self) -> Result<Vec<ServiceStatus>> {
        let rows = self.store.services()?;
        let checks = rows.into_iter().map(|row| async move {
            let c = self
                .engine
                .inspect_container(&container_name(&row.name))
                .await?;
            let (state, detail) = match &c {
                None => (
                    "missing".to_string(),
                    Some("no container; `dockhand up` recreates it".to_string()),
                ),
                Some(c) => match c.state {
                    RunState::Running => match self.quick_probe(&row).await {
                        Ok(()) => ("running".into(), None),
                        Err(e) => ("unhealthy".into(), Some(e.to_string())),
                    },
                    RunState::Exited | RunState::Dead if row.desired == Desired::Running => (
                        "exited".into(),
                        Some(format!(
                            "exited with code {}{}",
                            c.exit_code.unwrap_or(-1),
                            if c.oom_killed { " (out of memory)" } else { "" }
                        )),
                    ),
                    RunState::Created if row.state == "failed" => {
                        ("failed".into(), row.reason.clone())
                    }
                    RunState::Created | RunState::Exited | RunState::Dead => {
                        ("stopped".into(), None)
                    }
                    RunState::Restarting => ("starting".into(), None),
                    RunState::Paused => ("paused".into(), None),
                    RunState::Other => ("unknown".into(), None),
                },
            };
            let consumers = self
                .live_leases(&row.name)?
                .into_iter()
                .map(|l| l.holder)
                .collect();
            let projects = self
                .store
                .attachments(None, Some(&row.name))?
                .into_iter()
                .map(|a| a.project)
                .collect();
            Ok::<_, CoreError>(ServiceStatus {
                restart_on_failure: self.restart_on_failure(&row.name),
                pinned: row.pinned,
                consumers,
                projects,
                name: row.name.clone(),
                kind: row.kind,
                version: row.version.clone(),
                image: row.image.clone(),
                host: HOST.into(),
                host_port: row.host_port,
                desired: row.desired,
                state,
                detail,
                container_id: c.as_ref().map(|c| c.id.chars().take(12).collect()),
                started_at: c.and_then(|c| c.started_at),
            })
        });
        futures_util::future::try_join_all(checks).await
    }

    pub async fn logs(
        &self,
        query: &str,
        tail: Option<usize>,
        follow: bool,
    ) -> Result<BoxStream<'static, Result<LogChunk, EngineError>>> {
        let row = self.resolve(query)?;
        let cname = container_name(&row.name);
        // Another home's (or nobody's) container under the same name is never shown as ours.
        if let Some(c) = self.engine.inspect_container(&cname).await? {
            self.check_container_is_ours(&c)?;
        }
        Ok(self.engine.logs(&cname, tail, follow))
    }

    /// The admin URL of a service (contains its password: print it only where asked).
    pub fn admin_url(&self, query: &str) -> Result<String> {
        let row = self.resolve(query)?;
        let password = self.admin_password(&row.name)?;
        Ok(crate::url::admin_url(
            row.kind,
            HOST,
            row.host_port,
            password.expose(),
        ))
    }

    /// Brings the store in line with Docker: containers of this home the store does not know are
    /// adopted, services whose container is gone are marked missing, and observed states are
    /// refreshed. Runs at start-up of every Dockhand process, so a CLI killed mid-`up` leaves
    /// nothing that the next command does not pick up.
    pub async fn reconcile(&self) -> Result<ReconcileReport> {
        let mut report = ReconcileReport::default();
        let containers = self
            .engine
            .list_containers(&[
                (labels::MANAGED, "true"),
                (labels::INSTANCE, &self.instance),
            ])
            .await?;
        let rows = self.store.services()?;
        for c in &containers {
            let Some(service) = c.labels.get(labels::SERVICE) else {
                continue;
            };
            if rows.iter().any(|r| &r.name == service) {
                continue;
            }
            let (Some(kind), Some(version)) = (
                c.labels.get(labels::KIND).and_then(|k| Kind::parse(k).ok()),
                c.labels.get(labels::VERSION),
            ) else {
                continue;
            };
            let port = c
                .bindings
                .first()
                .map(|b| b.1)
                .or_else(|| c.labels.get(labels::PORT).and_then(|p| p.parse().ok()));
            let Some(host_port) = port else { continue };
            let running = c.state == RunState::Running;
            let row = ServiceRow {
                name: service.clone(),
                kind,
                version: version.clone(),
                image: c.image.clone(),
                host_port,
                port_explicit: true,
                desired: if running {
                    Desired::Running
                } else {
                    Desired::Stopped
                },
                state: if running {
                    "running".into()
                } else {
                    "stopped".into()
                },
                reason: None,
                ever_ready: running,
                created_at_ms: 0,
                updated_at_ms: 0,
                // A running container of ours that the store forgot was started by someone.
                pinned: running,
                idle_since_ms: None,
            };
            if self.store.adopt_service(&row)? {
                self.event(
                    service,
                    "adopted",
                    &format!("found container {} in Docker and adopted it", c.name),
                );
                report.adopted.push(service.clone());
            }
        }
        for row in rows {
            let c = containers
                .iter()
                .find(|c| c.labels.get(labels::SERVICE) == Some(&row.name));
            let observed = match c.map(|c| c.state) {
                None => "missing",
                Some(RunState::Running) => "running",
                Some(RunState::Created) if row.state == "failed" => "failed",
                Some(RunState::Created) => "created",
                Some(RunState::Exited | RunState::Dead) if row.desired == Desired::Running => {
                    "exited"
                }
                Some(_) => "stopped",
            };
            if observed != row.state && !(observed == "running" && row.state == "starting") {
                if observed == "missing" {
                    self.event(
                        &row.name,
                        "missing",
                        "its container is gone from Docker; `dockhand up` recreates it",
                    );
                    report.missing.push(row.name.clone());
                } else {
                    report.updated.push(row.name.clone());
                }
                self.store.set_state(
                    &row.name,
                    observed,
                    row.reason.as_deref().filter(|_| observed == "failed"),
                )?;
            }
        }
        // Without a supervisor running, every Dockhand process does the supervisor's work of
        // stopping services whose last consumer left longer than the grace period ago.
        // Any state but "stopped" may hide a running container (a consumer killed while its
        // service was still starting leaves "starting"); settling inspects Docker itself, and a
        // live starter holds a lease or the lock.
        for row in self.store.services()? {
            if !row.pinned && row.state != "stopped" {
                self.stop_if_idle(&row.name, false).await?;
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fake::FakeEngine;
    use crate::secrets::MemorySecretStore;

    fn manager(engine: Arc<FakeEngine>) -> (Manager, tempfile::TempDir) {
        let t = tempfile::tempdir().unwrap();
        let home = Home::open(t.path().join("home")).unwrap();
        let m = Manager::new(
            home,
            Store::open_in_memory().unwrap(),
            engine,
            Arc::new(MemorySecretStore::default()),
        )
        .unwrap()
        .with_port_check(|_| true);
        (m, t)
    }

    fn req(s: &str, name: Option<&str>, port: Option<u16>) -> UpRequest {
        UpRequest {
            spec: ServiceSpec::parse(s).unwrap(),
            name: name.map(String::from),
            port,
            image: None,
        }
    }

    fn quiet(_: Progress) {}

    /// `up` against the fake runs everything but the readiness wait, which needs a server; the
    /// error it ends with must come from readiness, after the container was set up right.
    #[tokio::test(start_paused = true)]
    async fn up_creates_labelled_container_with_secret_files_on_loopback() {
        let e = Arc::new(FakeEngine::default());
        e.add_image("postgres:15");
        let (m, _t) = manager(e.clone());
        let err = m
            .up(&req("postgres:15", None, None), &quiet)
            .await
            .unwrap_err();
        assert!(matches!(err, CoreError::NotReady { .. }), "{err}");
        let c = e
            .container("dockhand-postgres-15")
            .expect("container created");
        assert_eq!(c.labels[labels::MANAGED], "true");
        assert_eq!(c.labels[labels::KIND], "postgres");
        assert_eq!(c.labels[labels::VERSION], "15");
        assert_eq!(c.labels[labels::SERVICE], "postgres-15");
        assert_eq!(c.labels[labels::INSTANCE], m.instance());
        assert_eq!(c.bindings, vec![("127.0.0.1".to_string(), 5432)]);
        assert_eq!(
            e.files_of("dockhand-postgres-15"),
            ["/run/dockhand/admin-password"]
        );
        assert_eq!(e.volume_names(), ["dockhand-postgres-15-data"]);
        let row = m.store().service("postgres-15").unwrap().unwrap();
        assert_eq!(row.state, "failed");
        assert!(m
            .store()
            .events(None, 5)
            .unwrap()
            .iter()
            .any(|ev| ev.kind == "failed"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_taken_port_moves_an_unused_service_but_never_an_explicit_one() {
        let e = Arc::new(FakeEngine::default());
        e.add_image("redis:7");
        e.occupy_port(6379);
        let (m, _t) = manager(e.clone());
        let _ = m.up(&req("redis:7", None, None), &quiet).await;
        assert_eq!(
            m.store().service("redis-7").unwrap().unwrap().host_port,
            6380
        );
        assert_eq!(e.container("dockhand-redis-7").unwrap().bindings[0].1, 6380);

        let err = m
            .up(&req("redis:7", Some("r2"), Some(6379)), &quiet)
            .await
            .unwrap_err();
        assert!(
            matches!(err, CoreError::PortInUse { port: 6379, .. }),
            "{err}"
        );
        assert_eq!(m.store().service("r2").unwrap().unwrap().host_port, 6379);
    }

    #[tokio::test(start_paused = true)]
    async fn pull_failures_name_the_image_and_the_way_out() {
        let e = Arc::new(FakeEngine::default());
        let (m, _t) = manager(e.clone());
        let mut r = req("postgres:16", None, None);
        r.image = Some("missing/postgres:16".into());
        let err = m.up(&r, &quiet).await.unwrap_err();
        let text = err.to_string();
        assert_eq!(err.code(), "image_pull_failed");
        assert!(
            text.contains("missing/postgres:16") && text.contains("dockhand up postgres:<version>"),
            "{text}"
        );
        assert!(
            e.container("dockhand-postgres-16").is_none(),
            "no container without an image"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_version_under_the_same_name_is_refused() {
        let e = Arc::new(FakeEngine::default());
        e.add_image("postgres:15");
        let (m, _t) = manager(e.clone());
        let _ = m.up(&req("postgres:15", Some("pg"), None), &quiet).await;
        let err = m
            .up(&req("postgres:16", Some("pg"), None), &quiet)
            .await
            .unwrap_err();
        assert!(matches!(err, CoreError::SpecMismatch { .. }), "{err}");
        assert!(err.to_string().contains("--name"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn foreign_containers_and_volumes_are_left_alone() {
        let e = Arc::new(FakeEngine::default());
        e.add_image("postgres:15");
        e.create_volume("dockhand-pg-data", HashMap::new())
            .await
            .unwrap();
        let (m, _t) = manager(e.clone());
        let err = m
            .up(&req("postgres:15", Some("pg"), None), &quiet)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "foreign_resource", "{err}");
        assert!(err.to_string().contains("no Dockhand labels"), "{err}");
        assert!(e.container("dockhand-pg").is_none());
        assert_eq!(e.volume_names(), ["dockhand-pg-data"]);
    }

    #[tokio::test(start_paused = true)]
    async fn destroy_keeps_data_unless_purged() {
        let e = Arc::new(FakeEngine::default());
        e.add_image("redis:7");
        let (m, _t) = manager(e.clone());
        let _ = m.up(&req("redis:7", Some("r"), None), &quiet).await;
        let url = m.admin_url("r").unwrap();
        m.destroy("r", false).await.unwrap();
        assert!(e.container("dockhand-r").is_none());
        assert_eq!(e.volume_names(), ["dockhand-r-data"]);
        // Recreated under the same name: same password (the data was initialised with it), same port.
        let _ = m.up(&req("redis:7", Some("r"), None), &quiet).await;
        assert_eq!(m.admin_url("r").unwrap(), url);
        m.destroy("r", true).await.unwrap();
        assert!(e.volume_names().is_empty());
        assert!(matches!(m.resolve("r"), Err(CoreError::UnknownService(_))));
    }

    #[tokio::test(start_paused = true)]
    async fn reconcile_adopts_unknown_containers_and_marks_missing_ones() {
        let e = Arc::new(FakeEngine::default());
        e.add_image("redis:7");
        let (m, _t) = manager(e.clone());
        let _ = m.up(&req("redis:7", Some("a"), None), &quiet).await;
        let _ = m.up(&req("redis:7", Some("b"), None), &quiet).await;
        // The store forgets "a" (as if the process died before recording it) and "b"'s
        // container is removed behind Dockhand's back.
        m.store().delete_service("a").unwrap();
        e.remove_container("dockhand-b").await.unwrap();
        let r = m.reconcile().await.unwrap();
        assert_eq!(r.adopted, ["a"]);
        assert_eq!(r.missing, ["b"]);
        assert_eq!(m.store().service("a").unwrap().unwrap().host_port, 6379);
        assert_eq!(m.store().service("b").unwrap().unwrap().state, "missing");
        // Idempotent.
        let again = m.reconcile().await.unwrap();
        assert!(again.adopted.is_empty() && again.missing.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn resolves_by_name_kind_or_kind_and_version() {
        let e = Arc::new(FakeEngine::default());
        e.add_image("redis:7");
        e.add_image("postgres:15");
        let (m, _t) = manager(e.clone());
        let _ = m.up(&req("redis:7", Some("cache"), None), &quiet).await;
        let _ = m.up(&req("postgres:15", Some("pg-a"), None), &quiet).await;
        let _ = m.up(&req("postgres:15", Some("pg-b"), None), &quiet).await;
        assert_eq!(m.resolve("redis").unwrap().name, "cache");
        assert_eq!(m.resolve("cache").unwrap().name, "cache");
        let amb = m.resolve("postgres").unwrap_err().to_string();
        assert!(amb.contains("pg-a, pg-b"), "{amb}");
        assert!(matches!(
            m.resolve("mongo"),
            Err(CoreError::UnknownService(_))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn engine_down_is_a_clear_error() {
        let e = Arc::new(FakeEngine::default());
        e.set_down(true);
        let (m, _t) = manager(e.clone());
        let err = m.up(&req("redis:7", None, None), &quiet).await.unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(err.to_string().contains("Docker is not running"), "{err}");
    }
}
