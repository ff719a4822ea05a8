//! The manager's public types: what `up` is asked and answers, and the status of a service.

use serde::Serialize;

use crate::catalog::{Kind, ServiceSpec};
use crate::modes::{Mode, ServiceOptions};
use crate::state::ServiceState;
use crate::store::{Desired, ServiceRow};

#[derive(Debug, Clone)]
pub struct UpRequest {
    pub spec: ServiceSpec,
    pub name: Option<String>,
    pub port: Option<u16>,
    /// Another image than the official one for this kind and version (a mirror, PostGIS…).
    pub image: Option<String>,
    /// Mode and memory limit: for a new service (default: durable, its kind's limit), or what
    /// an existing one is expected to have.
    pub options: ServiceOptions,
}

impl UpRequest {
    /// A new service as the window's dialog describes it, created exactly as
    /// `dockhand up kind:version --name NAME [--port PORT] [--image IMAGE]` would. Pass `port`
    /// only when the user chose it (a chosen port is never moved; a suggested one may be, while
    /// the service has never run), and `image_override` only for another image than the
    /// official one (the official image given here counts as none).
    pub fn new_service(
        kind: Kind,
        version: &str,
        name: &str,
        port: Option<u16>,
        image_override: Option<String>,
    ) -> crate::error::Result<UpRequest> {
        let spec = ServiceSpec::parse(&format!("{kind}:{version}"))?;
        crate::names::validate_service_name(name)?;
        let official = spec.default_image();
        Ok(UpRequest {
            image: image_override.filter(|i| *i != official),
            spec,
            name: Some(name.to_string()),
            port,
            options: ServiceOptions::default(),
        })
    }

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
            options: ServiceOptions::default(),
        }
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
    pub mode: Mode,
    /// MB; `None`: no limit.
    pub memory_limit_mb: Option<u32>,
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
    pub state: ServiceState,
    pub detail: Option<String>,
    pub container_id: Option<String>,
    pub started_at: Option<String>,
    /// Started with `up`: runs until `down`.
    pub pinned: bool,
    /// Holders of live leases (`project:shop`, `run:npm`, …).
    pub consumers: Vec<String>,
    /// Why it runs and when it will stop ("runs while project shop is up", "stops in
    /// 2m00s: nothing uses it"); `None` when it does not run.
    pub lifetime: Option<String>,
    /// Projects attached to the service.
    pub projects: Vec<String>,
    /// The supervisor restarts it when it fails (`dockhand config set restart-on-failure.<name> on`).
    pub restart_on_failure: bool,
    /// The one project a dedicated server serves.
    pub dedicated_to: Option<String>,
    /// Created by Dockhand, adopted, or external.
    pub origin: crate::store::Origin,
    /// How it keeps its data (`durable`, `fast`, `ephemeral`, `ephemeral-fast`).
    pub mode: Mode,
    /// Its memory limit in MB (`None`: no limit).
    pub memory_limit_mb: Option<u32>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct ReconcileReport {
    pub adopted: Vec<String>,
    pub missing: Vec<String>,
    pub updated: Vec<String>,
}
