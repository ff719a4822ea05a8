//! Bringing services up (creating what is missing), stopping, restarting and destroying them.

use std::collections::HashMap;
use std::time::Duration;

use super::intent::Intent;
use super::keychain::PendingSecret;
use super::naming::{
    admin_secret_key, container_name, container_of, versioned_volume_name, volume_name, volume_of,
    NETWORK,
};
use super::{consumers, naming, Manager, ProgressFn, TaskKind, UpOutcome, UpRequest};
use super::{Progress, HOST, PORT_RETRIES, STATUS_PROBE_LIMIT};
use crate::catalog::ServiceSpec;
use crate::engine::{labels, ContainerInfo, ContainerSpec, EngineError, PullProgress, RunState};
use crate::error::{human_duration, CoreError, Result};
use crate::names::{validate_port, validate_service_name};
use crate::ports::choose_port;
use crate::probe::{probe_with, ProbeTarget};
use crate::readiness::{wait_ready, ATTEMPT_LIMIT};
use crate::secrets::Secret;
use crate::state::ServiceState;
use crate::store::{Desired, NewService, Origin, ServiceRow};

impl Manager {
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
        let existing = self.store.service(&name)?;
        if let Some(row) = &existing {
            self.check_same_spec(row, &req.spec)?;
            self.check_options(row, &req.options)?;
        }
        // A server Dockhand did not create has no volume, image or port of Dockhand's to check
        // or choose: it is only started.
        if let Some(row) = existing.clone().filter(|r| r.origin != Origin::Managed) {
            if req.port.is_some_and(|p| p != row.host_port)
                || req.image.as_ref().is_some_and(|i| *i != row.image)
            {
                return Err(CoreError::InvalidInput(format!(
                    "'{name}' is {} ({}): its port and image are its owner's to change",
                    row.origin.as_str(),
                    container_of(&row)
                )));
            }
            return self.start_pinned(row, progress).await;
        }
        let resources = self.resources_for(kind, &req.options)?;

        // The data volume: the service's own; for a new row, the one an upgrade to this version
        // left (`dockhand-pg-data-17`) when there is one, else the one named after the service.
        let vname = match &existing {
            Some(row) => volume_of(row),
            None => {
                let upgraded = versioned_volume_name(&name, &req.spec.version);
                match self.engine.inspect_volume(&upgraded).await? {
                    Some(_) => upgraded,
                    None => volume_name(&name),
                }
            }
        };
        // Check the data volume before anything is recorded: a foreign or mismatched volume is a
        // refusal, and its port label lets a recreated service keep its old URL. An ephemeral
        // service has none (its data is a tmpfs): a volume of that name is not its business.
        let ephemeral = existing
            .as_ref()
            .map_or(resources.mode.ephemeral, |r| r.mode.ephemeral);
        let volume = if ephemeral {
            None
        } else {
            self.engine.inspect_volume(&vname).await?
        };
        if let Some(v) = &volume {
            self.check_volume_is_ours(&vname, kind, &req.spec.version, &v.labels)?;
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
            volume: (vname != volume_name(&name)).then_some(vname.as_str()),
        };
        let port_free = self.port_free;
        let claimed = self.store.claim_service_as(&new, &resources, |taken| {
            choose_port(kind, req.port, preferred, taken, port_free)
        });
        let (row, _created) = match claimed {
            // The message names who has the port, so the user need not go looking.
            Err(CoreError::PortInUse { port, .. }) => {
                return Err(CoreError::PortInUse {
                    port,
                    by: self.port_taken_by(port).await,
                })
            }
            other => other?,
        };
        self.check_same_spec(&row, &req.spec)?;
        // Another process may have created it a moment ago, differently.
        self.check_options(&row, &req.options)?;
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
        self.start_pinned(row, progress).await
    }

    /// Starts a service the user asked for: it runs until `down`, whatever its consumers do.
    async fn start_pinned(&self, row: ServiceRow, progress: &ProgressFn<'_>) -> Result<UpOutcome> {
        let name = row.name.clone();
        // From here until the start is done, what the supervisor sees is the way up.
        self.note_intent(&name, Intent::Start);
        let task = self.lazy_task(TaskKind::Up, &name);
        let progress = &task.feed(progress);
        let started = async {
            self.store.set_desired(&name, Desired::Running)?;
            self.store.set_pinned(&name, true)?;
            let _lock = self.lock(&name, consumers::LOCK_LIMIT).await?;
            self.start(row, progress).await
        }
        .await;
        self.clear_intent(&name);
        if started.is_err() {
            self.forget_if_never_created(&name).await;
        }
        task.finish(started)
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
            // Nor its admin password, unless a data volume of the name (kept from an earlier
            // service) was set up with it.
            if let Ok(None) = self.engine.inspect_volume(&volume_name(name)).await {
                match self.secrets.delete(&admin_secret_key(&self.instance, name)) {
                    Ok(_) => {}
                    // The keychain is away: the error the user sees already says so, and a
                    // password never stored there has nothing to remove.
                    Err(e @ CoreError::Secret(_)) => {
                        tracing::debug!("could not remove the admin password of '{name}': {e}")
                    }
                    Err(e) => {
                        tracing::warn!("could not remove the admin password of '{name}': {e}")
                    }
                }
            }
            self.event(
                name,
                "forgotten",
                "its first start failed before a container existed; nothing of it remains",
            );
        }
    }

    /// Starts an existing service and records the outcome (both for `up` and for consumers).
    pub(super) async fn start(
        &self,
        row: ServiceRow,
        progress: &ProgressFn<'_>,
    ) -> Result<UpOutcome> {
        let name = row.name.clone();
        self.note_intent(&name, Intent::Start);
        let result = self.start_noted(row, progress).await;
        self.clear_intent(&name);
        result
    }

    async fn start_noted(&self, row: ServiceRow, progress: &ProgressFn<'_>) -> Result<UpOutcome> {
        let name = row.name.clone();
        self.store.set_desired(&name, Desired::Running)?;
        match self.bring_up(row, progress).await {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                let mut reason = e.to_string();
                // Killed at its memory limit: say so, with the command that raises it.
                if let Ok(Some(c)) = self
                    .engine
                    .inspect_container(&self.container_for(&name))
                    .await
                {
                    if c.oom_killed {
                        if let Ok(Some(row)) = self.store.service(&name) {
                            reason = format!("{}; {reason}", super::modes::oom_reason(&row));
                            let _ =
                                self.store
                                    .set_state(&name, ServiceState::Failed, Some(&reason));
                            self.event(&name, "failed", &reason);
                            return Err(CoreError::not_ready(&name, reason));
                        }
                    }
                }
                let _ = self
                    .store
                    .set_state(&name, ServiceState::Failed, Some(&reason));
                self.event(&name, "failed", &reason);
                Err(e)
            }
        }
    }

    pub(super) fn check_same_spec(&self, row: &ServiceRow, spec: &ServiceSpec) -> Result<()> {
        if row.kind != spec.kind || row.version != spec.version {
            return Err(CoreError::SpecMismatch {
                name: row.name.clone(),
                existing: format!("{}:{}", row.kind, row.version),
                requested: spec.to_string(),
            });
        }
        Ok(())
    }

    pub(super) async fn bring_up(
        &self,
        mut row: ServiceRow,
        progress: &ProgressFn<'_>,
    ) -> Result<UpOutcome> {
        let name = row.name.clone();
        let cname = container_of(&row);

        // The keychain lookup (a Secret Service round trip) runs while Docker works; it is
        // awaited first only where a container is about to be created, so that a missing
        // keychain fails before anything exists.
        let mut password = PendingSecret::start(
            self.secrets.clone(),
            admin_secret_key(&self.instance, &name),
            &name,
        );
        let mut known = self.engine.inspect_container(&cname).await?;
        if known.is_none() && row.origin == Origin::Adopted {
            return Err(CoreError::not_ready(
                &name,
                format!(
                    "the adopted container {cname} no longer exists, and Dockhand does not re-create \
                     containers it did not make; re-create it yourself, or `dockhand destroy {name}` \
                     to forget it (its projects keep their records)"
                ),
            ));
        }
        if let Some(c) = &known {
            self.check_container_is_ours(c)?;
            if c.state == RunState::Running && self.quick_probe(&row).await.is_ok() {
                self.store.set_state(&name, ServiceState::Running, None)?;
                return Ok(self.outcome(&row, Duration::ZERO, true));
            }
        } else {
            // A container is about to be created. The password comes first, so that a missing
            // keychain fails before anything exists; only a service without data gets a new one.
            // An ephemeral service starts from nothing every time its container is created.
            let fresh = row.mode.ephemeral
                || self
                    .engine
                    .inspect_volume(&volume_of(&row))
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
            if fresh && !row.mode.ephemeral {
                self.engine
                    .create_volume(&volume_of(&row), self.base_labels(&row))
                    .await?;
            }
        }

        let mut attempts = 0;
        // Only the call that starts the container records it as started.
        let mut started_here = false;
        loop {
            attempts += 1;
            // An adopted container was made by its owner, with everything it needs.
            let needs_files = row.origin == Origin::Managed
                && known.as_ref().is_none_or(|c| c.state == RunState::Created);
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
            progress(Progress::step(&name, "starting"));
            self.store.set_state(&name, ServiceState::Starting, None)?;
            match self.engine.start_container(&cname).await {
                Ok(()) => {
                    started_here = true;
                    break;
                }
                Err(EngineError::PortAllocated { port, message }) => {
                    // Someone outside this store took the port between choice and start. A port
                    // the user chose, or one a service has already been reached on, never moves.
                    if row.port_explicit || row.ever_ready || attempts > PORT_RETRIES {
                        let port = if port == 0 { row.host_port } else { port };
                        let holder = self.port_taken_by(port).await;
                        return Err(CoreError::PortInUse {
                            port,
                            by: format!("{holder} ({message})"),
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
            progress(Progress {
                step: false,
                ..Progress::step(
                    &svc,
                    format!(
                        "waiting for the server to answer ({})",
                        human_duration(elapsed)
                    ),
                )
            })
        };
        let driver = self.driver(kind);
        let took = wait_ready(
            self.engine.as_ref(),
            &cname,
            kind.spec().ready_deadline,
            |limit| {
                let t = target.clone();
                async move { probe_with(driver, &t, limit).await }
            },
            &on_wait,
        )
        .await
        .map_err(|nr| CoreError::not_ready(&name, nr.0))?;

        self.store.set_state(&name, ServiceState::Running, None)?;
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
        Ok(self.outcome(&row, took, false))
    }

    pub(super) fn outcome(
        &self,
        row: &ServiceRow,
        took: Duration,
        already_running: bool,
    ) -> UpOutcome {
        UpOutcome {
            name: row.name.clone(),
            kind: row.kind,
            version: row.version.clone(),
            host_port: row.host_port,
            ready_ms: took.as_millis() as u64,
            already_running,
            mode: row.mode,
            memory_limit_mb: row.memory_mb,
        }
    }

    pub(super) async fn ensure_image(
        &self,
        row: &ServiceRow,
        progress: &ProgressFn<'_>,
    ) -> Result<()> {
        if self.engine.image_present(&row.image).await? {
            return Ok(());
        }
        progress(Progress::long_step(
            &row.name,
            format!("pulling image {}", row.image),
        ));
        let svc = row.name.clone();
        let on_progress = move |p: PullProgress| {
            if let PullProgress::Bytes { current, total } = p {
                progress(Progress::bytes(
                    &svc,
                    "pulling the image",
                    current,
                    Some(total),
                ));
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
    pub(super) async fn ensure_container(
        &self,
        known: Option<ContainerInfo>,
        row: &ServiceRow,
        password: &Secret,
        progress: &ProgressFn<'_>,
    ) -> Result<ContainerInfo> {
        let cname = container_of(row);
        let setup =
            row.kind
                .container_setup(&row.version, password.expose(), &Self::run_options(row));
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
        progress(Progress::long_step(&row.name, "creating container"));
        self.store
            .set_state(&row.name, ServiceState::Creating, None)?;
        let spec = row.kind.spec();
        let mut container_labels = self.container_labels(row);
        container_labels.extend([super::modes::mode_label(row.mode)]);
        if row.mode.ephemeral {
            container_labels.remove(labels::VOLUME);
        }
        let cspec = ContainerSpec {
            name: cname.clone(),
            image: row.image.clone(),
            env: setup.env,
            cmd: setup.cmd,
            labels: container_labels,
            container_port: spec.container_port,
            host_port: row.host_port,
            storage: Self::storage(row),
            data_path: self.driver(row.kind).data_path(&row.version).into(),
            network: NETWORK.into(),
            network_alias: row.name.clone(),
            stop_timeout: spec.stop_timeout,
            memory_bytes: Self::memory_bytes(row),
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

    pub(super) fn probe_target(&self, row: &ServiceRow, password: &Secret) -> ProbeTarget {
        ProbeTarget {
            host: HOST.into(),
            port: row.host_port,
            user: row.kind.spec().admin_user.into(),
            password: password.expose().into(),
        }
    }

    pub(super) async fn quick_probe(&self, row: &ServiceRow) -> Result<()> {
        let password = self.admin_password(&row.name)?;
        probe_with(
            self.driver(row.kind),
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
                .inspect_container(&container_of(&row))
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

    /// Stops a service; its container and data stay — except for an ephemeral service, which
    /// is removed with everything of it (see `remove_ephemeral`).
    pub async fn down(&self, query: &str) -> Result<ServiceRow> {
        let row = self.resolve(query)?;
        // A server shutting down stops answering: expected, not a failure.
        self.note_intent(&row.name, Intent::Stop);
        let stopped = if row.mode.ephemeral {
            self.down_ephemeral(&row).await
        } else {
            self.down_noted(&row).await
        };
        self.clear_intent(&row.name);
        stopped?;
        if !row.mode.ephemeral {
            self.event(&row.name, "stopped", "stopped by the user");
        }
        Ok(row)
    }

    async fn down_ephemeral(&self, row: &ServiceRow) -> Result<()> {
        let _lock = self.lock(&row.name, consumers::LOCK_LIMIT).await?;
        // Stopped first, with its grace period, so that clients see a clean shutdown.
        self.store.set_desired(&row.name, Desired::Stopped)?;
        self.stop_if_running(&container_of(row), row.kind).await?;
        let projects = self.remove_ephemeral(row.clone()).await?;
        self.event(
            &row.name,
            "removed",
            &if projects.is_empty() {
                "ephemeral: stopped and removed with its data".to_string()
            } else {
                format!(
                    "ephemeral: stopped and removed with its data; projects detached: {}",
                    projects.join(", ")
                )
            },
        );
        Ok(())
    }

    async fn down_noted(&self, row: &ServiceRow) -> Result<()> {
        self.store.set_desired(&row.name, Desired::Stopped)?;
        self.store.set_pinned(&row.name, false)?;
        self.stop_if_running(&container_of(row), row.kind).await?;
        self.store
            .set_state(&row.name, ServiceState::Stopped, None)?;
        Ok(())
    }

    /// Stops the container if it runs (or restarts, or is paused), after checking it is this
    /// home's. Returns whether there is a container.
    pub(super) async fn stop_if_running(
        &self,
        cname: &str,
        kind: crate::catalog::Kind,
    ) -> Result<bool> {
        let Some(c) = self.engine.inspect_container(cname).await? else {
            return Ok(false);
        };
        self.check_container_is_ours(&c)?;
        if matches!(
            c.state,
            RunState::Running | RunState::Restarting | RunState::Paused
        ) {
            self.engine
                .stop_container(cname, kind.spec().stop_timeout)
                .await?;
        }
        Ok(true)
    }

    /// Stops and removes a service's container (data volume kept), if it has one of ours.
    pub(super) async fn remove_container_of(
        &self,
        service: &str,
        kind: crate::catalog::Kind,
    ) -> Result<()> {
        let cname = container_name(service);
        if self.stop_if_running(&cname, kind).await? {
            self.engine.remove_container(&cname).await?;
        }
        Ok(())
    }

    pub async fn restart(&self, query: &str, progress: &ProgressFn<'_>) -> Result<UpOutcome> {
        let row = self.resolve(query)?;
        if row.mode.ephemeral {
            // Not `down`, which removes it: the container stops (its data goes, as with any stop
            // of an ephemeral server) and starts again, keeping its projects.
            self.note_intent(&row.name, Intent::Stop);
            let stopped = self.stop_if_running(&container_of(&row), row.kind).await;
            self.clear_intent(&row.name);
            stopped?;
            self.event(
                &row.name,
                "stopped",
                "restarted by the user (ephemeral: data cleared)",
            );
            return self.up(&UpRequest::for_service(&row), progress).await;
        }
        let row = self.down(query).await?;
        self.up(&UpRequest::for_service(&row), progress).await
    }

    /// Removes a service's container. Its data volume and password are kept (so `up` with the
    /// same name brings the data back) unless `purge` is set.
    pub async fn destroy(&self, query: &str, purge: bool) -> Result<ServiceRow> {
        let row = self.resolve(query)?;
        // The server going away is what the user asked for: not a failure to notify.
        let name = row.name.clone();
        self.note_intent(&name, Intent::Stop);
        let destroyed = self.destroy_noted(row, purge).await;
        self.clear_intent(&name);
        destroyed
    }

    pub(super) async fn destroy_noted(&self, row: ServiceRow, purge: bool) -> Result<ServiceRow> {
        if row.origin != Origin::Managed {
            return self.forget(row, purge).await;
        }
        let cname = container_of(&row);
        if let Some(c) = self.engine.inspect_container(&cname).await? {
            self.check_container_is_ours(&c)?;
            self.engine.remove_container(&cname).await?;
        }
        if purge {
            let vname = volume_of(&row);
            if let Some(v) = self.engine.inspect_volume(&vname).await? {
                self.check_volume_is_ours(&vname, row.kind, &row.version, &v.labels)?;
                self.engine.remove_volume(&vname).await?;
            }
            self.secrets
                .delete(&admin_secret_key(&self.instance, &row.name))?;
            // The data an upgrade kept (the other version's volume) goes with the rest.
            if let Some(u) = self.store.upgrade(&row.name)? {
                let (kept, kind, version) = if u.from_volume == vname {
                    (&u.to_volume, u.to_kind, &u.to_version)
                } else {
                    (&u.from_volume, u.kind, &u.from_version)
                };
                if let Some(v) = self.engine.inspect_volume(kept).await? {
                    self.check_volume_is_ours(kept, kind, version, &v.labels)?;
                    self.engine.remove_volume(kept).await?;
                }
                self.store.delete_upgrade(&row.name)?;
            }
        }
        // With the data gone, the projects' databases and users are gone too: their attachments
        // and passwords go with them (a kept volume keeps them, for `up` to bring back).
        let mut detached = Vec::new();
        if purge {
            for a in self.store.attachments(None, Some(&row.name))? {
                self.secrets.delete(&naming::project_secret_key(
                    &self.instance,
                    &a.project,
                    &row.name,
                ))?;
                self.store.detach(&a.project, &row.name)?;
                let _ = self
                    .store
                    .remove_standing_lease(&row.name, &naming::standing_holder(&a.project));
                detached.push(a.project);
            }
        }
        if purge {
            // The users Dockhand made went with the data.
            self.store.forget_own_accounts(&row.name)?;
            // Its restore points were copies inside the data just deleted.
            self.store.forget_copies_on(&row.name)?;
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
}
