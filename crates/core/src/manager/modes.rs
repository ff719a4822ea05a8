//! Modes and memory limits as the manager applies them: what a new service is created with,
//! the container's storage and limit, the removal of an ephemeral service at `down`, a limit
//! changed later (`dockhand set`), and the words for an OOM kill.

use serde::Serialize;

use super::intent::Intent;
use super::naming::{container_of, volume_of};
use super::{naming, Manager};
use crate::catalog::Kind;
use crate::drivers::RunOptions;
use crate::engine::{EngineError, RunState, Storage};
use crate::error::{CoreError, Result};
use crate::modes::{memory_arg, memory_text, tmpfs_mb, Mode, ModeError, ServiceOptions};
use crate::store::{Origin, Resources, ServiceRow};

const MB: u64 = 1024 * 1024;

/// What `dockhand set --memory` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryChange {
    pub service: String,
    pub before_mb: Option<u32>,
    pub after_mb: Option<u32>,
    /// Whether the running container got the new limit at once (it keeps running).
    pub applied_live: bool,
    /// The engine cannot change a container's limit in place (Podman before 5.1): the
    /// container was created again with it, its data volume kept (restarted if it ran).
    pub recreated: bool,
    /// An ephemeral service's data folder keeps the size it was created with.
    pub tmpfs_mb: Option<u32>,
}

/// The failure reason of a server the kernel killed for using more than its limit: what
/// happened and the exact command that raises the limit.
pub(crate) fn oom_reason(row: &ServiceRow) -> String {
    match row.memory_mb {
        Some(mb) => format!(
            "OOM-killed: the server needed more than {}; raise the limit with `dockhand set {} --memory {}`",
            memory_text(Some(mb)),
            row.name,
            memory_arg(Some(mb.saturating_mul(2)))
        ),
        None => "OOM-killed: the machine (or Docker's VM) ran out of memory; it has no limit of its own — \
                 free memory or give Docker more"
            .to_string(),
    }
}

/// The OOM reason for a service known by name and limit (the supervisor's `oom` events).
pub fn oom_message(service: &str, memory_mb: Option<u32>) -> String {
    match memory_mb {
        Some(mb) => format!(
            "a server process was OOM-killed: it needed more than {}; raise the limit with `dockhand set {service} --memory {}`",
            memory_text(Some(mb)),
            memory_arg(Some(mb.saturating_mul(2)))
        ),
        None => "a server process was OOM-killed (the machine or Docker's VM ran out of memory)"
            .to_string(),
    }
}

impl Manager {
    /// The mode and limit a new service gets from what `up` asked: a fast mode needs settings in
    /// the kind's driver.
    pub(super) fn resources_for(&self, kind: Kind, options: &ServiceOptions) -> Result<Resources> {
        let mode = options.mode.unwrap_or_default();
        if mode.fast && self.driver(kind).fast_settings().is_empty() {
            return Err(ModeError::NoFastSettings {
                kind: kind.spec().display_name,
            }
            .into());
        }
        if mode.ephemeral && !self.driver(kind).data_on_tmpfs() {
            return Err(ModeError::NoMemoryData {
                kind: kind.spec().display_name,
            }
            .into());
        }
        let mut r = Resources::default_for(kind, mode);
        if let Some(m) = options.memory_mb {
            r.memory_mb = m;
        }
        Ok(r)
    }

    /// An existing service asked for with a mode or limit: it must be the one it has (a mode is
    /// chosen at creation; a limit is changed with `set`).
    pub(super) fn check_options(&self, row: &ServiceRow, options: &ServiceOptions) -> Result<()> {
        if let Some(mode) = options.mode {
            if mode != row.mode {
                return Err(ModeError::ModeMismatch {
                    name: row.name.clone(),
                    existing: row.mode.as_str(),
                }
                .into());
            }
        }
        if let Some(mb) = options.memory_mb {
            if mb != row.memory_mb {
                return Err(ModeError::MemoryMismatch {
                    name: row.name.clone(),
                    existing: memory_text(row.memory_mb),
                    requested: memory_arg(mb),
                }
                .into());
            }
        }
        Ok(())
    }

    /// What the kind's driver needs to know of the service to set its container up.
    pub(super) fn run_options(row: &ServiceRow) -> RunOptions {
        RunOptions {
            mode: row.mode,
            memory_mb: row.memory_mb,
        }
    }

    /// The data directory's storage: the service's volume, or for an ephemeral service a tmpfs.
    pub(super) fn storage(row: &ServiceRow) -> Storage {
        if row.mode.ephemeral {
            Storage::Tmpfs {
                size_bytes: u64::from(tmpfs_mb(row.memory_mb)) * MB,
            }
        } else {
            Storage::Volume(volume_of(row))
        }
    }

    pub(super) fn memory_bytes(row: &ServiceRow) -> Option<u64> {
        row.memory_mb.map(|mb| u64::from(mb) * MB)
    }

    /// `down` of an ephemeral service: nothing of it is kept — its container (and with it the
    /// data, which lived in memory), its row, its projects' attachments and leases, its own and
    /// its projects' keychain entries. The projects keep their other services. Returns the
    /// projects it was attached to.
    pub(super) async fn remove_ephemeral(&self, row: ServiceRow) -> Result<Vec<String>> {
        let projects: Vec<String> = self
            .store
            .attachments(None, Some(&row.name))?
            .into_iter()
            .map(|a| a.project)
            .collect();
        // Leases of running `dockhand run`s go too: their service is gone.
        for l in self.store.leases(Some(&row.name))? {
            self.store.remove_lease(l.id)?;
        }
        let name = row.name.clone();
        // Purging removes the container, the (absent) volume, the admin password, and the
        // attachments with their passwords.
        self.destroy_noted(row, true).await?;
        debug_assert!(self.store.service(&name)?.is_none());
        for p in &projects {
            // Destroy detached them; a project's standing lease went with the attachment.
            let _ = self
                .store
                .remove_standing_lease(&name, &naming::standing_holder(p));
        }
        Ok(projects)
    }

    /// Changes a service's memory limit. The running container gets it at once (the engine
    /// updates its cgroup; the server keeps running and keeps its data), as does a stopped one;
    /// kinds whose own settings follow the limit (Redis `maxmemory`) are updated too.
    pub async fn set_memory(&self, query: &str, memory_mb: Option<u32>) -> Result<MemoryChange> {
        let row = self.resolve(query)?;
        let _lock = self.lock(&row.name, super::consumers::LOCK_LIMIT).await?;
        let row = self.resolve(&row.name)?;
        let before = row.memory_mb;
        let cname = container_of(&row);
        let container = self.engine.inspect_container(&cname).await?;
        if let Some(c) = &container {
            self.check_container_is_ours(c)?;
        }
        let mut after_row = row.clone();
        after_row.memory_mb = memory_mb;
        let mut applied_live = false;
        if let Some(c) = &container {
            // Lowering below what the server uses now is refused by the kernel: nothing changes.
            match self
                .engine
                .update_memory(&cname, Self::memory_bytes(&after_row))
                .await
            {
                Ok(()) => {}
                Err(EngineError::Unsupported { message, .. }) => {
                    return self
                        .recreate_with_memory(&row, c.state, memory_mb, &message)
                        .await
                }
                Err(e) => return Err(e.into()),
            }
            // The kind's own settings in the container's files, for its next start, and on the
            // running server now.
            let driver = self.driver(row.kind);
            let run = Self::run_options(&after_row);
            let password = self.admin_password(&row.name)?;
            let setup = driver.container_setup(&row.version, password.expose(), &run);
            self.engine.put_files(&cname, &setup.files).await?;
            if c.state == RunState::Running {
                driver
                    .apply_memory_limit(&self.probe_target(&row, &password), &run)
                    .await?;
                applied_live = true;
            }
        }
        self.store.set_memory(&row.name, memory_mb)?;
        self.event(
            &row.name,
            "memory-limit",
            &format!(
                "memory limit changed from {} to {}",
                memory_text(before),
                memory_text(memory_mb)
            ),
        );
        Ok(MemoryChange {
            service: row.name.clone(),
            before_mb: before,
            after_mb: memory_mb,
            applied_live,
            recreated: false,
            tmpfs_mb: row.mode.ephemeral.then(|| tmpfs_mb(before)),
        })
    }

    /// On an engine that cannot change a container's limit in place: the limit is recorded,
    /// then the container is removed and created again from the record (its data volume and
    /// password stay; it restarts if it ran). Killed in between, the record has the new limit
    /// and the next `up` creates the container with it. Not for a container Dockhand did not
    /// make, nor for an ephemeral one (its data would go).
    async fn recreate_with_memory(
        &self,
        row: &ServiceRow,
        state: RunState,
        memory_mb: Option<u32>,
        why: &str,
    ) -> Result<MemoryChange> {
        let refuse = |what: &str| {
            CoreError::InvalidInput(format!(
                "this engine cannot change a container's memory limit in place ({why}; Podman \
                 added it in 5.1), and '{}' {what}; nothing was changed",
                row.name
            ))
        };
        if row.origin == Origin::Adopted {
            return Err(refuse(
                "is a container Dockhand did not make, which it does not re-create — \
                 re-create it yourself with the limit",
            ));
        }
        if row.mode.ephemeral && state == RunState::Running {
            return Err(refuse(
                "is ephemeral: creating its container again would clear its data — \
                 `dockhand down` it and `up` it again with --memory",
            ));
        }
        self.store.set_memory(&row.name, memory_mb)?;
        self.note_intent(&row.name, Intent::Stop);
        let removed = self.remove_container_of(&row.name, row.kind).await;
        self.clear_intent(&row.name);
        removed?;
        self.event(
            &row.name,
            "memory-limit",
            &format!(
                "memory limit changed from {} to {} (container created again: {why})",
                memory_text(row.memory_mb),
                memory_text(memory_mb)
            ),
        );
        if state == RunState::Running {
            let after = self.resolve(&row.name)?;
            self.start(after, &|_| {}).await?;
        }
        Ok(MemoryChange {
            service: row.name.clone(),
            before_mb: row.memory_mb,
            after_mb: memory_mb,
            applied_live: false,
            recreated: true,
            tmpfs_mb: None,
        })
    }

    /// Refuses what an ephemeral service cannot do: a major upgrade (no data to carry).
    pub(super) fn refuse_ephemeral_upgrade(row: &ServiceRow) -> Result<()> {
        if row.mode.ephemeral {
            return Err(ModeError::EphemeralUpgrade {
                name: row.name.clone(),
            }
            .into());
        }
        Ok(())
    }
}

/// The mode a container's labels record (a state database rebuilt from Docker adopts it).
pub(super) fn mode_label(mode: Mode) -> (String, String) {
    (crate::engine::labels::MODE.into(), mode.as_str().into())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::catalog::ServiceSpec;
    use crate::drivers::fake::FakeDriver;
    use crate::drivers::Driver;
    use crate::engine::fake::FakeEngine;
    use crate::engine::{labels, Engine as _};
    use crate::manager::tests::manager;
    use crate::manager::UpRequest;
    use crate::state::ServiceState;

    static FAKE: FakeDriver = FakeDriver::new();
    fn fake(_: Kind) -> &'static dyn Driver {
        &FAKE
    }

    fn quiet(_: crate::manager::Progress) {}

    fn req(spec: &str, name: &str, mode: Option<&str>, memory: Option<&str>) -> UpRequest {
        UpRequest {
            spec: ServiceSpec::parse(spec).unwrap(),
            name: Some(name.into()),
            port: None,
            image: None,
            options: ServiceOptions {
                mode: mode.map(|m| Mode::parse(m).unwrap()),
                memory_mb: memory.map(|m| crate::modes::parse_memory(m).unwrap()),
            },
        }
    }

    #[tokio::test]
    async fn an_ephemeral_service_runs_on_a_tmpfs_and_down_leaves_nothing_of_it() {
        let e = Arc::new(FakeEngine::default());
        e.add_image("postgres:15");
        let (m, t) = manager(e.clone());
        let m = m.with_drivers(fake);
        let up = m
            .up(
                &req("postgres:15", "scratch", Some("ephemeral"), None),
                &quiet,
            )
            .await
            .unwrap();
        assert_eq!(up.mode.as_str(), "ephemeral");
        // Twice PostgreSQL's default: half of it for the data in memory.
        assert_eq!(up.memory_limit_mb, Some(1024));
        let spec = e.spec_of("dockhand-scratch").unwrap();
        assert_eq!(
            spec.storage,
            Storage::Tmpfs {
                size_bytes: 512 * MB
            }
        );
        assert_eq!(spec.memory_bytes, Some(1024 * MB));
        assert_eq!(spec.labels[labels::MODE], "ephemeral");
        assert!(!spec.labels.contains_key(labels::VOLUME));
        assert!(
            e.inspect_volume("dockhand-scratch-data")
                .await
                .unwrap()
                .is_none(),
            "no volume"
        );

        // A project attached to it, with a lease.
        let dir = t.path().join("shop");
        std::fs::create_dir(&dir).unwrap();
        let (project, _) = m.add_project(&dir, Some("shop")).unwrap();
        m.attach(&project, &["scratch".to_string()], &quiet)
            .await
            .unwrap();
        let key = crate::manager::naming::project_secret_key(&m.instance, "shop", "scratch");
        assert!(m.secrets.get(&key).unwrap().is_some());

        let row = m.down("scratch").await.unwrap();
        assert!(row.mode.ephemeral);
        assert!(e
            .inspect_container("dockhand-scratch")
            .await
            .unwrap()
            .is_none());
        assert!(m.store().service("scratch").unwrap().is_none());
        assert!(m
            .store()
            .attachments(None, Some("scratch"))
            .unwrap()
            .is_empty());
        assert!(m.store().leases(Some("scratch")).unwrap().is_empty());
        assert!(m.secrets.get(&key).unwrap().is_none());
        let admin = super::super::naming::admin_secret_key(&m.instance, "scratch");
        assert!(m.secrets.get(&admin).unwrap().is_none());
        // The project stays, without the service.
        assert!(m.store().project("shop").unwrap().is_some());
        let ev = m.store().events(Some("scratch"), 1).unwrap();
        assert_eq!(ev[0].kind, "removed");
    }

    #[tokio::test]
    async fn a_fast_service_gets_its_drivers_settings_and_the_mode_is_kept() {
        let e = Arc::new(FakeEngine::default());
        e.add_image("postgres:15");
        let (m, _t) = manager(e.clone());
        let m = m.with_drivers(fake);
        m.up(
            &req("postgres:15", "quick", Some("fast"), Some("768m")),
            &quiet,
        )
        .await
        .unwrap();
        let spec = e.spec_of("dockhand-quick").unwrap();
        assert!(spec.cmd.iter().any(|a| a == "fsync=off"), "{:?}", spec.cmd);
        assert!(spec.cmd.iter().any(|a| a == "synchronous_commit=off"));
        assert!(spec.cmd.iter().any(|a| a == "full_page_writes=off"));
        assert_eq!(spec.memory_bytes, Some(768 * MB));
        assert_eq!(spec.storage, Storage::Volume("dockhand-quick-data".into()));

        // Asked again as durable: refused, named, nothing changed.
        let err = m
            .up(&req("postgres:15", "quick", Some("durable"), None), &quiet)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "mode_mismatch", "{err}");
        assert_eq!(err.exit_code(), 2);
        let err = m
            .up(&req("postgres:15", "quick", None, Some("1g")), &quiet)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("dockhand set quick --memory 1g"),
            "{err}"
        );
        // Plain `up` of it (no wishes) is fine.
        m.up(&req("postgres:15", "quick", None, None), &quiet)
            .await
            .unwrap();
        // A durable service's default: durable, the kind's limit, no fast settings.
        m.up(&req("postgres:15", "plain", None, None), &quiet)
            .await
            .unwrap();
        let plain = e.spec_of("dockhand-plain").unwrap();
        assert!(!plain.cmd.iter().any(|a| a.starts_with("fsync")));
        assert_eq!(plain.memory_bytes, Some(512 * MB));
    }

    #[tokio::test]
    async fn the_limit_changes_on_the_running_container_and_an_oom_kill_says_how_to_raise_it() {
        let e = Arc::new(FakeEngine::default());
        e.add_image("postgres:15");
        let (m, _t) = manager(e.clone());
        let m = m.with_drivers(fake);
        m.up(&req("postgres:15", "pg", None, Some("256m")), &quiet)
            .await
            .unwrap();
        let change = m.set_memory("pg", Some(1024)).await.unwrap();
        assert_eq!((change.before_mb, change.after_mb), (Some(256), Some(1024)));
        assert!(change.applied_live);
        assert_eq!(e.memory_of("dockhand-pg"), Some(1024 * MB));
        assert_eq!(
            m.store().service("pg").unwrap().unwrap().memory_mb,
            Some(1024)
        );

        e.set_exited("dockhand-pg", 137, true, "");
        let st = m.service_status("pg").await.unwrap();
        assert_eq!(st.state, ServiceState::Exited);
        assert_eq!(
            st.detail.as_deref(),
            Some("OOM-killed: the server needed more than 1 GB; raise the limit with `dockhand set pg --memory 2g`")
        );
        assert_eq!(st.memory_limit_mb, Some(1024));
    }

    #[tokio::test]
    async fn an_ephemeral_service_is_not_upgraded() {
        let e = Arc::new(FakeEngine::default());
        e.add_image("postgres:15");
        let (m, _t) = manager(e.clone());
        let m = m.with_drivers(fake);
        m.up(&req("postgres:15", "tmp", Some("ephemeral"), None), &quiet)
            .await
            .unwrap();
        let noop = |_| {};
        let err = m.upgrade("tmp", "17", None, &noop).await.unwrap_err();
        assert_eq!(err.code(), "ephemeral_upgrade", "{err}");
        let choices = m.upgrade_choices("tmp").unwrap();
        assert!(choices.targets.is_empty());
        assert!(choices.why_none.unwrap().contains("ephemeral"));
    }

    #[test]
    fn every_kind_with_a_fast_mode_puts_its_settings_on_the_server() {
        use crate::drivers::RunOptions;
        for kind in Kind::ALL {
            let d = kind.driver();
            let fast = RunOptions {
                mode: Mode::parse("fast").unwrap(),
                memory_mb: Some(256),
            };
            let durable = RunOptions::default();
            let v = kind.spec().default_version;
            let (f, n) = (
                d.container_setup(v, "pw", &fast),
                d.container_setup(v, "pw", &durable),
            );
            if d.fast_settings().is_empty() {
                // Refused at `up` with a reason (SQL Server's durability is per database).
                assert_eq!(kind, Kind::Mssql, "{kind}: no fast mode");
                continue;
            }
            let all = |s: &crate::drivers::ContainerSetup| {
                let mut t = s.cmd.join(" ");
                for file in &s.files {
                    t.push_str(&String::from_utf8_lossy(&file.contents));
                }
                t
            };
            assert_ne!(all(&f), all(&n), "{kind}: fast changes nothing");
            assert!(d.default_memory_mb() >= 256, "{kind}");
        }
    }
}
