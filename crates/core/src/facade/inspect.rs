//! `dockhand inspect <service>`: the details the window's service page shows, plus what a
//! developer asks when something is off — the image's registry digest, the network aliases,
//! the last health change and the recent events, and an upgrade kept for a rollback.

use serde::Serialize;

// The mode and memory limit are the service's status (`ServiceStatus::mode`,
// `memory_limit_mb`), flattened into `details`: status, the window and inspect show the same.

use super::details::ServiceDetails;
use crate::error::Result;
use crate::manager::Manager;
use crate::store::{EventRow, UpgradeRow};

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
    /// The mode in words: where the data lives and what can lose it.
    pub mode_text: &'static str,
    /// The memory limit in words (`512 MB`, `no limit`).
    pub memory_limit_text: String,
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
            mode_text: details.view.mode.describe(),
            memory_limit_text: crate::modes::memory_text(details.view.memory_limit_mb),
            last_health,
            events: history.into_iter().take(events).collect(),
            upgrade: self.store().upgrade(&name)?,
            details,
        })
    }
}
