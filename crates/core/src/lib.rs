//! Dockhand's UI-free core: one shared database server per kind and version, for all of a
//! developer's projects. The CLI and the tray app are thin shells over [`Manager`].
//!
//! What the shells use is [`facade`] and the items re-exported below; every other module is
//! the core's own. `drivers`, `engine`, `probe` and `store` stay public for two users that
//! are not shells: the SQL Server contract test (`crates/cli/tests/it/sqlserver.rs` runs a
//! driver's tool commands) and the benchmark's raw baselines (`crates/bench` drives the engine
//! and fills a store); `facade::tests::shells_name_only_the_facade` keeps the shells off them.

pub(crate) mod actions;
pub(crate) mod backup;
pub(crate) mod catalog;
pub mod drivers;
pub mod engine;
pub(crate) mod env;
pub(crate) mod error;
pub mod facade;
pub(crate) mod git;
pub(crate) mod home;
pub(crate) mod ident;
pub(crate) mod leases;
pub(crate) mod logging;
pub(crate) mod manager;
pub(crate) mod menu;
pub(crate) mod modes;
pub(crate) mod names;
pub(crate) mod platform;
pub(crate) mod ports;
pub mod probe;
pub(crate) mod project_config;
pub(crate) mod provision;
pub(crate) mod readiness;
pub(crate) mod secrets;
pub(crate) mod state;
pub mod store;
pub(crate) mod suggest;
pub(crate) mod supervisor;
pub(crate) mod url;

#[cfg(test)]
mod hostile_inputs;
#[cfg(test)]
mod rooms;

pub use actions::{actions_for, Action, Actions};
pub use catalog::{Kind, ServiceSpec};
pub use engine::{DockerEngine, Engine, EngineError};
pub use error::{CoreError, Result};
pub use home::Home;
pub use manager::{Manager, Progress, ServiceStatus, UpOutcome, UpRequest};
pub use state::ServiceState;
pub use store::Store;

use std::sync::Arc;

/// Opens the Dockhand home, its store and the Docker engine, the way every front end does.
pub async fn open_default() -> Result<Manager> {
    let home = Home::resolve()?;
    let store = home.open_store()?;
    let engine = Arc::new(DockerEngine::connect().await?);
    let secrets = secrets::default_store(&home)?;
    Manager::new(home, store, engine, secrets)
}

/// Whether the default home has any service yet, read from the state database alone (no
/// Docker needed): the app's start decides with it whether to open its window.
pub fn has_services_default() -> Result<bool> {
    Ok(!Home::resolve()?.open_store()?.services()?.is_empty())
}

/// The default home's service and project names, for shell completion: nothing when there is
/// no home yet or its state cannot be read at once (a completion offers what it can, never an
/// error).
pub fn completion_names() -> (Vec<String>, Vec<String>) {
    Home::existing()
        .and_then(|h| store::names_read_only(&h.state_db()).ok())
        .unwrap_or_default()
}

/// `dockhand recover`: replaces a damaged state database with a new one that keeps this home's
/// identity (services are found again from their containers by the next reconciliation).
pub fn recover_default() -> Result<()> {
    Home::resolve()?.recover_store()?;
    Ok(())
}
