//! Major-version upgrades in progress or kept for rollback (`dockhand upgrade`). One row per
//! service; its `step` says how far the upgrade got, so whoever finds it after a crash knows
//! whether to undo it (before the switch) or keep it (after).

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::{now_ms, Store};
use crate::catalog::Kind;
use crate::error::{CoreError, Result};

/// How far an upgrade got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpgradeStep {
    /// Backups taken; the new server (the staging service) is being created and filled.
    Copying,
    /// The old server is being stopped for the switch; the service still points at its data.
    Switching,
    /// The service runs the new version; the old data is kept for `--rollback`.
    Switched,
    /// Going back: the service is being pointed at the old data again.
    RollingBack,
    /// Back on the old version; the newer version's data is kept until `--finish`.
    RolledBack,
}

impl UpgradeStep {
    fn as_str(self) -> &'static str {
        match self {
            UpgradeStep::Copying => "copying",
            UpgradeStep::Switching => "switching",
            UpgradeStep::Switched => "switched",
            UpgradeStep::RollingBack => "rolling-back",
            UpgradeStep::RolledBack => "rolled-back",
        }
    }

    fn parse(s: &str) -> UpgradeStep {
        match s {
            "switched" => UpgradeStep::Switched,
            "switching" => UpgradeStep::Switching,
            "rolling-back" => UpgradeStep::RollingBack,
            "rolled-back" => UpgradeStep::RolledBack,
            _ => UpgradeStep::Copying,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpgradeRow {
    pub service: String,
    pub kind: Kind,
    pub from_version: String,
    pub from_image: String,
    pub from_volume: String,
    /// The kind after the upgrade (Redis → Valkey changes it; otherwise `kind`).
    pub to_kind: Kind,
    pub to_version: String,
    pub to_image: String,
    pub to_volume: String,
    /// The temporary service the new version is built in before the switch.
    pub staging: String,
    pub step: UpgradeStep,
    pub detail: Option<String>,
    pub started_at_ms: i64,
    pub updated_at_ms: i64,
}

const UPGRADE_COLUMNS: &str = "service, kind, from_version, from_image, from_volume, to_version, to_image, to_volume, staging, step, detail, started_at_ms, updated_at_ms, to_kind";

fn kind_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Kind> {
    let kind: String = r.get(i)?;
    Kind::parse(&kind).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            e.to_string().into(),
        )
    })
}

fn row_to_upgrade(r: &rusqlite::Row<'_>) -> rusqlite::Result<UpgradeRow> {
    Ok(UpgradeRow {
        service: r.get(0)?,
        kind: kind_at(r, 1)?,
        to_kind: kind_at(r, 13)?,
        from_version: r.get(2)?,
        from_image: r.get(3)?,
        from_volume: r.get(4)?,
        to_version: r.get(5)?,
        to_image: r.get(6)?,
        to_volume: r.get(7)?,
        staging: r.get(8)?,
        step: UpgradeStep::parse(&r.get::<_, String>(9)?),
        detail: r.get(10)?,
        started_at_ms: r.get(11)?,
        updated_at_ms: r.get(12)?,
    })
}

impl Store {
    pub fn upgrade(&self, service: &str) -> Result<Option<UpgradeRow>> {
        self.with(|c| {
            Ok(c.query_row(
                &format!("SELECT {UPGRADE_COLUMNS} FROM upgrades WHERE service = ?1"),
                [service],
                row_to_upgrade,
            )
            .optional()?)
        })
    }

    pub fn upgrades(&self) -> Result<Vec<UpgradeRow>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {UPGRADE_COLUMNS} FROM upgrades ORDER BY service"
            ))?;
            let rows = st.query_map([], row_to_upgrade)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Records a new upgrade at [`UpgradeStep::Copying`]; refuses when the service has one.
    pub fn begin_upgrade(&self, u: &UpgradeRow) -> Result<()> {
        self.with(|c| {
            let now = now_ms();
            let n = c.execute(
                &format!(
                    "INSERT OR IGNORE INTO upgrades ({UPGRADE_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'copying', NULL, ?10, ?10, ?11)"
                ),
                params![
                    u.service,
                    u.kind.as_str(),
                    u.from_version,
                    u.from_image,
                    u.from_volume,
                    u.to_version,
                    u.to_image,
                    u.to_volume,
                    u.staging,
                    now,
                    u.to_kind.as_str()
                ],
            )?;
            if n == 0 {
                return Err(CoreError::InvalidInput(format!(
                    "service '{}' already has an upgrade on record; see `dockhand upgrade --status {}`",
                    u.service, u.service
                )));
            }
            Ok(())
        })
    }

    pub fn set_upgrade_step(
        &self,
        service: &str,
        step: UpgradeStep,
        detail: Option<&str>,
    ) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE upgrades SET step = ?2, detail = ?3, updated_at_ms = ?4 WHERE service = ?1",
                params![service, step.as_str(), detail, now_ms()],
            )?;
            Ok(())
        })
    }

    pub fn delete_upgrade(&self, service: &str) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM upgrades WHERE service = ?1", [service])?;
            Ok(())
        })
    }

    /// The switch, in one transaction: the service takes the new version, image and volume, the
    /// staging service's row goes, and the upgrade is marked switched. A kill before the commit
    /// leaves the service on its old data; after it, on the new.
    pub fn switch_upgrade(&self, u: &UpgradeRow) -> Result<()> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = now_ms();
            tx.execute(
                "UPDATE services SET kind = ?2, version = ?3, image = ?4, volume = ?5, updated_at_ms = ?6 WHERE name = ?1",
                params![u.service, u.to_kind.as_str(), u.to_version, u.to_image, u.to_volume, now],
            )?;
            tx.execute(
                "UPDATE attachments SET kind = ?2 WHERE service = ?1",
                params![u.service, u.to_kind.as_str()],
            )?;
            tx.execute("DELETE FROM services WHERE name = ?1", [&u.staging])?;
            tx.execute(
                "UPDATE upgrades SET step = 'switched', detail = NULL, updated_at_ms = ?2 WHERE service = ?1",
                params![u.service, now],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// The rollback's switch back, in one transaction: the service takes its old version, image
    /// and volume again, and the upgrade is marked rolled back (its new volume kept).
    pub fn switch_back_upgrade(&self, u: &UpgradeRow, default_volume: &str) -> Result<()> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let volume = (u.from_volume != default_volume).then_some(u.from_volume.as_str());
            tx.execute(
                "UPDATE services SET kind = ?2, version = ?3, image = ?4, volume = ?5, updated_at_ms = ?6 WHERE name = ?1",
                params![u.service, u.kind.as_str(), u.from_version, u.from_image, volume, now_ms()],
            )?;
            tx.execute(
                "UPDATE attachments SET kind = ?2 WHERE service = ?1",
                params![u.service, u.kind.as_str()],
            )?;
            tx.execute(
                "UPDATE upgrades SET step = 'rolled-back', detail = NULL, updated_at_ms = ?2 WHERE service = ?1",
                params![u.service, now_ms()],
            )?;
            tx.commit()?;
            Ok(())
        })
    }
}
