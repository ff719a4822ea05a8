//! The service manager: `up`, `down`, `restart`, `destroy`, `status`, `logs`, `url`, and the
//! reconciliation of the store with what Docker reports. Every operation is idempotent and safe
//! when a second Dockhand process (tray app and CLI) acts at the same time.

mod adopt;
mod attachments;
mod backups;
mod branches;
mod client;
mod clones;
mod consumers;
mod copies;
mod databases;
mod dumps;
mod exec;
mod export;
mod extensions;
mod external;
mod grants;
mod images;
mod import;
mod import_file;
mod intent;
mod keychain;
mod lifecycle;
mod lifetime;
mod modes;
mod naming;
mod new_service;
mod ownership;
mod progress;
mod projects;
mod reconcile;
mod removal_plan;
mod replace;
mod restore;
mod restore_points;
mod settings;
mod status;
mod tasks;
mod test_pause;
mod types;
mod upgrade;
mod upgrade_plan;

pub use adopt::Detected;
pub use branches::{BranchMade, BranchSource, BranchView, Branches, Checkout};
pub use client::ClientLaunch;
pub use clones::{CloneSource, TestClones, MAX_CLONES};
pub use consumers::{Lease, Settled};
pub use databases::DatabaseView;
pub use export::{ExportDest, Exported};
pub use external::ExternalView;
pub use images::{ImageView, PruneReport};
pub use import::{FileFormat, ImportError, Imported};
pub use modes::{oom_message, MemoryChange};
pub use naming::NETWORK;
pub(crate) use naming::{admin_secret_key, container_of, standing_holder, volume_name, volume_of};
pub use new_service::{ExtensionOption, ModeOption, NewServiceForm, VersionOption};
pub use progress::{Progress, ProgressFn, TaskKind};
pub use projects::ProjectConnection;
pub use restore_points::{ResetDone, RestorePointPart, RestorePointView, TakenPoint};
pub use types::{ReconcileReport, ServiceStatus, UpOutcome, UpRequest};
pub use upgrade::{Finished, RolledBack, UpgradeChoices, UpgradeTarget, Upgraded};

use std::sync::Arc;
use std::time::Duration;

use crate::catalog::{Kind, ServiceSpec};
use crate::drivers::Driver;
use crate::engine::Engine;
use crate::error::{CoreError, Result};
use crate::home::Home;
use crate::ports::host_port_free;
use crate::secrets::SecretStore;
use crate::store::{ServiceRow, Store};

const HOST: &str = "127.0.0.1";
/// Attempts at finding a port when the chosen one is taken between choice and start.
const PORT_RETRIES: usize = 5;
const STATUS_PROBE_LIMIT: Duration = Duration::from_secs(2);

pub struct Manager {
    engine: Arc<dyn Engine>,
    /// Shared with a task's delayed progress write (see `tasks`).
    store: Arc<Store>,
    secrets: Arc<dyn SecretStore>,
    home: Home,
    instance: String,
    port_free: fn(u16) -> bool,
    /// Where the manager finds each kind's driver: the registry, or a test's stand-in.
    drivers: fn(Kind) -> &'static dyn Driver,
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
            store: Arc::new(store),
            secrets: Arc::new(crate::secrets::CachingSecretStore::new(secrets)),
            home,
            instance,
            port_free: host_port_free,
            drivers: Kind::driver,
        })
    }

    /// How many services the state database knows.
    pub fn store_services_count(&self) -> Result<usize> {
        Ok(self.store.services()?.len())
    }

    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The state database, for the core's own modules (the shells go through the facade).
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The driver of a kind (every use of a kind's knowledge in the manager goes through here,
    /// so a test can hand it a driver that speaks no protocol).
    /// Whether nothing listens on a host port (a test's stand-in in unit tests).
    pub(crate) fn port_is_free(&self, port: u16) -> bool {
        (self.port_free)(port)
    }

    pub(crate) fn driver(&self, kind: Kind) -> &'static dyn Driver {
        (self.drivers)(kind)
    }

    #[cfg(test)]
    pub(crate) fn with_drivers(mut self, drivers: fn(Kind) -> &'static dyn Driver) -> Self {
        self.drivers = drivers;
        self
    }

    #[cfg(test)]
    pub(crate) fn with_port_check(mut self, f: fn(u16) -> bool) -> Self {
        self.port_free = f;
        self
    }

    fn event(&self, service: &str, kind: &str, message: &str) {
        tracing::info!(service, kind, "{message}");
        if let Err(e) = self.store.record_event(Some(service), kind, message) {
            tracing::warn!("could not record event: {e}");
        }
    }

    /// "No service named …", with the service or kind the user likely meant: `postgress` →
    /// the one PostgreSQL service's name (or the kind, when there is none or several).
    pub(crate) fn unknown_service(&self, query: &str) -> CoreError {
        let services = self.store.services().unwrap_or_default();
        let names: Vec<&str> = services.iter().map(|r| r.name.as_str()).collect();
        let suggestion = crate::suggest::closest(query, names.iter().copied())
            .map(str::to_string)
            .or_else(|| {
                let (kind, version) = match query.split_once(':') {
                    Some((k, v)) => (k, Some(v)),
                    None => (query, None),
                };
                let kind = crate::suggest::closest(kind, Kind::ALL.map(|k| k.as_str()))?;
                let of_kind: Vec<&ServiceRow> = services
                    .iter()
                    .filter(|r| r.kind.as_str() == kind)
                    .collect();
                Some(match (of_kind.as_slice(), version) {
                    ([one], None) => one.name.clone(),
                    (_, Some(v)) => format!("{kind}:{v}"),
                    _ => kind.to_string(),
                })
            });
        CoreError::UnknownService {
            name: query.to_string(),
            suggestion,
        }
    }

    /// Finds a service by name, or by kind (`postgres`) or `kind:version` when that is unambiguous.
    pub fn resolve(&self, query: &str) -> Result<ServiceRow> {
        if let Some(row) = self.store.service(query)? {
            return Ok(row);
        }
        if let Some(e) = self.not_a_service(query)? {
            return Err(e);
        }
        let Ok(spec) = ServiceSpec::parse(query) else {
            return Err(self.unknown_service(query));
        };
        let with_version = query.contains(':');
        let matches: Vec<ServiceRow> = self
            .store
            .services()?
            .into_iter()
            .filter(|r| r.kind == spec.kind && (!with_version || r.version == spec.version))
            .collect();
        match matches.len() {
            0 => Err(self.unknown_service(query)),
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
}

/// The intents, for the supervisor's tests (which play another process's `down`/`up`).
#[cfg(test)]
pub(crate) mod intent_for_tests {
    use super::intent::Intent;
    use super::Manager;

    pub(crate) fn note_start(m: &Manager, service: &str) {
        m.note_intent(service, Intent::Start)
    }
    pub(crate) fn note_stop(m: &Manager, service: &str) {
        m.note_intent(service, Intent::Stop)
    }
    pub(crate) fn clear(m: &Manager, service: &str) {
        m.clear_intent(service)
    }
}

#[cfg(test)]
mod tests;
