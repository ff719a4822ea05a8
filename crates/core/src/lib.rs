//! Dockhand's UI-free core: one shared database server per kind and version, for all of a
//! developer's projects. The CLI and the tray app are thin shells over [`Manager`].

pub mod actions;
pub mod backup;
pub mod catalog;
pub mod drivers;
pub mod engine;
pub mod env;
pub mod error;
pub mod facade;
pub(crate) mod home;
pub mod ident;
pub(crate) mod leases;
pub mod logging;
pub mod manager;
pub mod menu;
pub mod modes;
pub mod names;
pub mod platform;
pub(crate) mod ports;
pub mod probe;
pub mod project_config;
pub(crate) mod provision;
pub(crate) mod readiness;
pub mod secrets;
pub(crate) mod state;
pub mod store;
pub mod supervisor;
pub(crate) mod url;

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

/// `dockhand recover`: replaces a damaged state database with a new one that keeps this home's
/// identity (services are found again from their containers by the next reconciliation).
pub fn recover_default() -> Result<()> {
    Home::resolve()?.recover_store()?;
    Ok(())
}
