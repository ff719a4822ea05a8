//! The record of completed backups.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{now_ms, Store};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupRow {
    pub id: i64,
    pub service: String,
    pub kind: String,
    pub database: String,
    /// Absolute path of the dump file.
    pub path: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub duration_ms: u64,
    /// The dump tool's own version line (`pg_dump (PostgreSQL) 15.8`).
    pub tool_version: String,
    /// Why it was taken: manual, scheduled, before-restore, before-drop.
    pub reason: String,
    pub created_at_ms: i64,
}

pub struct NewBackup<'a> {
    pub service: &'a str,
    pub kind: &'a str,
    pub database: &'a str,
    pub path: &'a str,
    pub size_bytes: u64,
    pub sha256: &'a str,
    pub duration_ms: u64,
    pub tool_version: &'a str,
    pub reason: &'a str,
}

const COLUMNS: &str = "id, service, kind, db_name, path, size_bytes, sha256, duration_ms, tool_version, reason, created_at_ms";

fn backup_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BackupRow> {
    Ok(BackupRow {
        id: r.get(0)?,
        service: r.get(1)?,
        kind: r.get(2)?,
        database: r.get(3)?,
        path: r.get(4)?,
        size_bytes: r.get::<_, i64>(5)? as u64,
        sha256: r.get(6)?,
        duration_ms: r.get::<_, i64>(7)? as u64,
        tool_version: r.get(8)?,
        reason: r.get(9)?,
        created_at_ms: r.get(10)?,
    })
}

impl Store {
    pub fn insert_backup(&self, b: &NewBackup<'_>) -> Result<BackupRow> {
        self.with(|c| {
            c.execute(
                "INSERT INTO backups (service, kind, db_name, path, size_bytes, sha256, duration_ms, tool_version, reason, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    b.service,
                    b.kind,
                    b.database,
                    b.path,
                    b.size_bytes as i64,
                    b.sha256,
                    b.duration_ms as i64,
                    b.tool_version,
                    b.reason,
                    now_ms()
                ],
            )?;
            let id = c.last_insert_rowid();
            Ok(c.query_row(
                &format!("SELECT {COLUMNS} FROM backups WHERE id = ?1"),
                [id],
                backup_row,
            )?)
        })
    }

    /// Backups, newest first, optionally of one service and/or database.
    pub fn backups(&self, service: Option<&str>, database: Option<&str>) -> Result<Vec<BackupRow>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM backups
                 WHERE (?1 IS NULL OR service = ?1) AND (?2 IS NULL OR db_name = ?2)
                 ORDER BY created_at_ms DESC, id DESC"
            ))?;
            let rows = st.query_map(params![service, database], backup_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    pub fn backup(&self, id: i64) -> Result<Option<BackupRow>> {
        self.with(|c| {
            Ok(c.query_row(
                &format!("SELECT {COLUMNS} FROM backups WHERE id = ?1"),
                [id],
                backup_row,
            )
            .optional()?)
        })
    }

    pub fn delete_backup(&self, id: i64) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM backups WHERE id = ?1", [id])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_newest_first_and_filters() {
        let s = Store::open_in_memory().unwrap();
        let add = |db: &str, path: &str| {
            s.insert_backup(&NewBackup {
                service: "postgres-15",
                kind: "postgres",
                database: db,
                path,
                size_bytes: 10,
                sha256: "ab",
                duration_ms: 5,
                tool_version: "pg_dump 15",
                reason: "manual",
            })
            .unwrap()
        };
        let a = add("shop", "/b/1");
        let b = add("blog", "/b/2");
        let c = add("shop", "/b/3");
        let all: Vec<i64> = s
            .backups(None, None)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(all, vec![c.id, b.id, a.id]);
        let shop: Vec<i64> = s
            .backups(Some("postgres-15"), Some("shop"))
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(shop, vec![c.id, a.id]);
        s.delete_backup(a.id).unwrap();
        assert!(s.backup(a.id).unwrap().is_none());
        assert_eq!(s.backup(c.id).unwrap().unwrap().path, "/b/3");
    }
}
