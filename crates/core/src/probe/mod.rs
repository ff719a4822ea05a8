//! Readiness as a real protocol round trip (each kind's in its driver) from the host through the published port: an
//! authenticated `SELECT 1`, `AUTH`+`PING`, an authenticated MySQL ping, a Mongo `hello`.
//! Never a bare TCP connect: docker-proxy accepts connections before the server listens.

use std::time::Duration;

pub use crate::drivers::{is_busy, ProbeError, ProbeTarget};

use crate::catalog::Kind;
use crate::drivers::Driver;

/// One round trip, bounded by `limit`.
pub async fn probe(kind: Kind, target: &ProbeTarget, limit: Duration) -> Result<(), ProbeError> {
    probe_with(kind.driver(), target, limit).await
}

/// [`probe`] with a given driver.
pub async fn probe_with(
    driver: &dyn Driver,
    target: &ProbeTarget,
    limit: Duration,
) -> Result<(), ProbeError> {
    tokio::time::timeout(limit, driver.probe(target, limit))
        .await
        .unwrap_or(Err(ProbeError::Timeout(limit)))
}
