//! Backups: dumps taken with each server's own tool inside its container, streamed to
//! `<backup dir>/<service>/<database>/<UTC timestamp>.<ext>`, written atomically, recorded with
//! size, SHA-256, duration and tool version, pruned by a retention policy, and restorable into a
//! new or named database. The operations live on [`crate::Manager`] (`manager/backups.rs`).

pub mod file;
pub mod tools;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::error::{CoreError, Result};
use crate::store::BackupRow;

/// What to back up on a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupScope {
    Database(String),
    Project(String),
    /// Every user database of the server (the whole server for Redis).
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Off,
    Hourly,
    Daily,
    Weekly,
}

impl Schedule {
    pub fn parse(s: &str) -> Result<Schedule> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" | "never" | "none" => Ok(Schedule::Off),
            "hourly" => Ok(Schedule::Hourly),
            "daily" => Ok(Schedule::Daily),
            "weekly" => Ok(Schedule::Weekly),
            other => Err(CoreError::InvalidInput(format!(
                "backup schedule {other:?} is not one of off, hourly, daily, weekly"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Schedule::Off => "off",
            Schedule::Hourly => "hourly",
            Schedule::Daily => "daily",
            Schedule::Weekly => "weekly",
        }
    }

    pub fn interval(self) -> Option<Duration> {
        match self {
            Schedule::Off => None,
            Schedule::Hourly => Some(Duration::from_secs(3600)),
            Schedule::Daily => Some(Duration::from_secs(86_400)),
            Schedule::Weekly => Some(Duration::from_secs(7 * 86_400)),
        }
    }
}

/// Retention and schedule, from the settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupPolicy {
    /// Backups kept per database; 0 keeps all.
    pub keep: u32,
    /// Backups older than this are removed (the newest of a database always stays).
    pub max_age_days: Option<u32>,
    pub schedule: Schedule,
    pub dir: PathBuf,
}

pub const DEFAULT_KEEP: u32 = 7;

/// What `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub backup: BackupRow,
    pub checksum_ok: bool,
    /// Whether the server's own tool could read it; `None` when that could not be checked.
    pub readable: Option<bool>,
    pub detail: String,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.checksum_ok && self.readable != Some(false)
    }
}

/// What a backup of every running service did, service by service.
#[derive(Debug, Default)]
pub struct BackupAllReport {
    pub done: Vec<BackupRow>,
    pub failed: Vec<(String, CoreError)>,
    /// Running services without any database to back up, with why.
    pub nothing: Vec<(String, String)>,
    /// Services that were not running, so not backed up.
    pub not_running: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub service: String,
    pub database: String,
    pub from: BackupRow,
    /// The backup taken of the database before it was overwritten.
    pub safety_backup: Option<BackupRow>,
    pub took_ms: u64,
    /// An earlier run of this same restore was killed after it had finished the database: this
    /// run found it complete and only tidied up.
    pub finished_by_earlier_run: bool,
}

/// A UTC timestamp usable in file names on every OS (no colons), to the millisecond so two
/// backups of one database in the same second do not collide.
pub fn timestamp() -> String {
    humantime::format_rfc3339_millis(SystemTime::now())
        .to_string()
        .replace(':', "")
}

/// Database names Dockhand passes to dump tools: letters, digits, `_` and `-`, not starting with
/// `-` (an option) and without `=` (pg_dump would read a connection string).
pub fn validate_database_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(CoreError::InvalidInput(format!(
            "database name {name:?} is not valid; use 1–63 letters, digits, '_' or '-', not starting with '-'"
        )))
    }
}

/// Which of one database's backups (newest first) the policy removes. The newest always stays.
pub fn retention_victims(
    newest_first: &[BackupRow],
    keep: u32,
    max_age_days: Option<u32>,
    now_ms: i64,
) -> Vec<i64> {
    newest_first
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(i, b)| {
            let too_many = keep > 0 && *i >= keep as usize;
            let too_old =
                max_age_days.is_some_and(|d| now_ms - b.created_at_ms > i64::from(d) * 86_400_000);
            too_many || too_old
        })
        .map(|(_, b)| b.id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, age_days: i64, now: i64) -> BackupRow {
        BackupRow {
            id,
            service: "pg".into(),
            kind: "postgres".into(),
            database: "shop".into(),
            path: format!("/b/{id}"),
            size_bytes: 1,
            sha256: String::new(),
            duration_ms: 1,
            tool_version: String::new(),
            reason: "manual".into(),
            created_at_ms: now - age_days * 86_400_000,
        }
    }

    #[test]
    fn retention_keeps_the_newest_n_and_drops_the_old() {
        let now = 100 * 86_400_000;
        let rows: Vec<BackupRow> = (0..10).map(|i| row(10 - i, i, now)).collect();
        assert_eq!(retention_victims(&rows, 7, None, now), vec![3, 2, 1]);
        assert_eq!(retention_victims(&rows, 0, Some(5), now), vec![4, 3, 2, 1]);
        assert!(retention_victims(&rows, 0, None, now).is_empty());
        // Even a policy that would drop everything keeps the newest backup.
        let old: Vec<BackupRow> = (0..3).map(|i| row(3 - i, 50 + i, now)).collect();
        assert_eq!(retention_victims(&old, 1, Some(1), now), vec![2, 1]);
    }

    #[test]
    fn database_names_that_could_be_options_or_conninfo_are_refused() {
        for bad in ["", "-d", "host=evil", "a b", "a;b", "x'y", &"a".repeat(64)] {
            assert!(validate_database_name(bad).is_err(), "{bad:?}");
        }
        for good in ["shop", "shop_api", "shop-api", "_tmp", "a1"] {
            validate_database_name(good).unwrap();
        }
    }

    #[test]
    fn schedules_parse_and_name_their_interval() {
        assert_eq!(Schedule::parse("Daily").unwrap(), Schedule::Daily);
        assert_eq!(Schedule::parse("off").unwrap().interval(), None);
        assert!(Schedule::parse("sometimes").is_err());
    }

    #[test]
    fn cut_short_dumps_are_recognised() {
        use crate::Kind;
        let looks_complete =
            |kind: Kind, head: &[u8], tail: &[u8]| kind.driver().check_dump(head, tail);
        assert!(looks_complete(
            Kind::Mariadb,
            b"-- MariaDB dump",
            b"\n-- Dump completed on 2026"
        )
        .is_ok());
        assert!(looks_complete(
            Kind::Mariadb,
            b"-- MariaDB dump",
            b"INSERT INTO t VALUES (1"
        )
        .is_err());
        assert!(looks_complete(Kind::Postgres, b"PGDMP\x01", b"").is_ok());
        assert!(looks_complete(Kind::Redis, b"REDIS0011", b"").is_ok());
        assert!(looks_complete(Kind::Redis, b"garbage", b"").is_err());
    }
}
