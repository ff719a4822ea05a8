//! `dockhand inspect <service>`: the details the window's service page shows, plus what a
//! developer asks when something is off — the image's registry digest, the network aliases,
//! the mode, the last health change and the recent events, and an upgrade kept for a rollback.

use serde::Serialize;

use super::details::ServiceDetails;
use crate::error::Result;
use crate::manager::Manager;
use crate::store::{EventRow, UpgradeRow};

/// How a service keeps its data. Every service is durable today (a named volume, the server's
/// own fsync settings); `--ephemeral` and `--fast` are planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Durable,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Durable => "durable (a named volume; the server's own fsync settings)",
        })
    }
}

/// The event kinds that record a change of health (the supervisor's and the lifecycle's).
const HEALTH_EVENTS: &[&str] = &[
    "started",
    "stopped",
    "failed",
    "unhealthy",
    "healthy",
    "recovered",
    "missing",
    "restarted",
];

#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    #[serde(flatten)]
    pub details: ServiceDetails,
    /// `postgres@sha256:…`; `None` for an image built locally (no registry digest).
    pub image_digest: Option<String>,
    /// The names other containers on Dockhand's network reach it by.
    pub network_aliases: Vec<String>,
    pub mode: Mode,
    pub last_health: Option<EventRow>,
    /// Newest first.
    pub events: Vec<EventRow>,
    pub upgrade: Option<UpgradeRow>,
}

impl Manager {
    pub async fn inspect(&self, service: &str, events: usize) -> Result<Inspection> {
        let details = self.service_details(service).await?;
        let name = details.view.name.clone();
        let image = details.view.image.clone();
        let repo = image.rsplit_once(':').map_or(image.as_str(), |(r, _)| r);
        let image_digest = self
            .engine()
            .list_images()
            .await?
            .into_iter()
            .find(|i| i.tags.contains(&image))
            .and_then(|i| {
                i.digests
                    .into_iter()
                    .find(|d| d.split('@').next() == Some(repo))
            });
        // A long history is read once for both: the recent events and the last health change.
        let history = self.store().events(Some(&name), 500)?;
        let last_health = history
            .iter()
            .find(|e| HEALTH_EVENTS.contains(&e.kind.as_str()))
            .cloned();
        Ok(Inspection {
            image_digest,
            network_aliases: vec![name.clone()],
            mode: Mode::Durable,
            last_health,
            events: history.into_iter().take(events).collect(),
            upgrade: self.store().upgrade(&name)?,
            details,
        })
    }
}
