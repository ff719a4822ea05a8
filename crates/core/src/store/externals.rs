//! Projects' databases on servers Dockhand does not run (`dockhand external add`). Only where
//! they are is kept here; the URL with its password is in the keychain.

use rusqlite::params;
use serde::Serialize;

use super::{now_ms, Store};
use crate::error::Result;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExternalRow {
    pub name: String,
    pub project: String,
    pub kind: String,
    pub host: String,
    pub port: u16,
    pub db_name: String,
    pub db_user: String,
    pub created_at_ms: i64,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExternalRow> {
    Ok(ExternalRow {
        name: r.get(0)?,
        project: r.get(1)?,
        kind: r.get(2)?,
        host: r.get(3)?,
        port: r.get(4)?,
        db_name: r.get(5)?,
        db_user: r.get(6)?,
        created_at_ms: r.get(7)?,
    })
}

const COLUMNS: &str = "name, project, kind, host, port, db_name, db_user, created_at_ms";

impl Store {
    /// Records an external database; false when the name is taken.
    pub fn add_external(&self, e: &ExternalRow) -> Result<bool> {
        self.with(|c| {
            let n = c.execute(
                &format!("INSERT OR IGNORE INTO externals ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![e.name, e.project, e.kind, e.host, e.port, e.db_name, e.db_user, now_ms()],
            )?;
            Ok(n == 1)
        })
    }

    pub fn external(&self, name: &str) -> Result<Option<ExternalRow>> {
        Ok(self.externals(None)?.into_iter().find(|e| e.name == name))
    }

    /// A project's external databases (every project's when `None`), by name.
    pub fn externals(&self, project: Option<&str>) -> Result<Vec<ExternalRow>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM externals WHERE ?1 IS NULL OR project = ?1 ORDER BY name"
            ))?;
            let rows = st.query_map([project], row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    pub fn remove_external(&self, name: &str) -> Result<bool> {
        self.with(|c| Ok(c.execute("DELETE FROM externals WHERE name = ?1", [name])? == 1))
    }
}
