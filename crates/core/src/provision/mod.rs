//! Per-project provisioning: each project attached to a service gets its own database and its own
//! least-privilege user, created once and re-applied idempotently (every attach, every start of a
//! consumer) so the server always matches the password in the keychain.
//!
//! Isolation per kind: PostgreSQL — own role owning its database, `CONNECT` revoked from PUBLIC;
//! MariaDB/MySQL — own user with privileges on its database only; Redis — an ACL user confined to
//! the key and channel prefix `<db>:`, with the server-wide and enumerating commands denied (the
//! rules and why are in `drivers/redis_family/provision.rs`; `-cmd|subcommand` rules need Redis 7), deleted when the
//! project detaches or is removed; MongoDB — a user with `readWrite` on its database only.

pub use crate::drivers::{BusyScript, Grant, DEFAULT_CONNECTION_LIMIT, PROVISION_LIMIT};

use std::time::Duration;

use crate::drivers::fail_as;
use crate::drivers::Driver;
use crate::engine::Engine;
use crate::error::Result;
use crate::probe::ProbeTarget;

/// Creates (or re-applies) the grant on a running server, connecting as its admin.
pub async fn provision(
    engine: &dyn Engine,
    driver: &dyn Driver,
    container: &str,
    admin: &ProbeTarget,
    grant: &Grant<'_>,
) -> Result<()> {
    bounded(driver, driver.provision(engine, container, admin, grant)).await
}

/// Whether the project's user already logs in to its database with its password (then nothing
/// needs re-applying). Any failure means "provision it".
pub async fn verify(driver: &dyn Driver, host: &str, port: u16, grant: &Grant<'_>) -> bool {
    tokio::time::timeout(Duration::from_secs(5), driver.verify(host, port, grant))
        .await
        .unwrap_or(false)
}

/// Removes the project's database and user (after the caller has taken a backup). For Redis:
/// the user, then every key under the project's prefix; returns how many keys were deleted.
pub async fn drop_grant(
    driver: &dyn Driver,
    admin: &ProbeTarget,
    grant: &Grant<'_>,
) -> Result<Option<u64>> {
    bounded(driver, driver.drop_grant(admin, grant)).await
}

/// What the server already has under a new grant's names (see `Driver::already_taken`).
pub async fn already_taken(
    driver: &dyn Driver,
    admin: &ProbeTarget,
    grant: &Grant<'_>,
) -> Result<Option<String>> {
    bounded(driver, driver.already_taken(admin, grant)).await
}

/// Whether the project's database still exists (a removal killed after dropping it is resumed
/// without trying to back up what is gone). Kinds without a per-project database answer true.
pub async fn database_exists(
    driver: &dyn Driver,
    admin: &ProbeTarget,
    database: &str,
) -> Result<bool> {
    bounded(driver, driver.database_exists(admin, database)).await
}

/// Whether a project's user should be deleted when it detaches (or is removed keeping its data).
/// Redis: yes — its user owns nothing, and the keys stay where they are under the prefix. The
/// SQL kinds keep their user: it owns the kept database.
pub fn revoked_on_detach(driver: &dyn Driver) -> bool {
    driver.revoked_on_detach()
}

/// Deletes a project's user on a running server (see [`revoked_on_detach`]).
pub async fn revoke(driver: &dyn Driver, admin: &ProbeTarget, user: &str) -> Result<()> {
    bounded(driver, driver.revoke(admin, user)).await
}

/// Any provisioning session under [`PROVISION_LIMIT`].
async fn bounded<T>(
    driver: &dyn Driver,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(PROVISION_LIMIT, work)
        .await
        .unwrap_or_else(|_| {
            Err(fail_as(
                driver.spec(),
                format!("no answer within {} s", PROVISION_LIMIT.as_secs()),
            ))
        })
}

/// Ends a script that keeps a server busy (Redis), bounded like any provisioning session.
pub async fn end_busy_script(driver: &dyn Driver, admin: &ProbeTarget) -> Result<BusyScript> {
    bounded(driver, driver.end_busy_script(admin)).await
}
