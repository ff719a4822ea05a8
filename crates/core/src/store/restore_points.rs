//! Restore points: which copy of which project database a label names, and whether the copy is
//! complete. A row exists before its copy does (`Creating`, with the process making it) and says
//! `Ready` only once the server has the whole copy.

use rusqlite::{params, OptionalExtension as _, Row};
use serde::Serialize;

use super::{now_ms, Store};
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RestorePointState {
    /// Recorded; the copy may or may not exist yet (its process may have been killed).
    Creating,
    /// The copy is complete on the server.
    Ready,
}

impl RestorePointState {
    fn as_str(self) -> &'static str {
        match self {
            RestorePointState::Creating => "creating",
            RestorePointState::Ready => "ready",
        }
    }

    fn parse(s: &str) -> RestorePointState {
        match s {
            "ready" => RestorePointState::Ready,
            _ => RestorePointState::Creating,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestorePointRow {
    pub id: i64,
    pub project: String,
    pub label: String,
    pub service: String,
    /// The project's database the point is a copy of.
    pub db_name: String,
    /// The copy's own name on the server.
    pub copy: String,
    pub state: RestorePointState,
    pub pid: Option<u32>,
    pub pid_start: Option<String>,
    pub size_bytes: Option<i64>,
    pub created_at_ms: i64,
}

const COLUMNS: &str =
    "id, project, label, service, db_name, copy, state, pid, pid_start, size_bytes, created_at_ms";

fn from_row(r: &Row<'_>) -> rusqlite::Result<RestorePointRow> {
    Ok(RestorePointRow {
        id: r.get(0)?,
        project: r.get(1)?,
        label: r.get(2)?,
        service: r.get(3)?,
        db_name: r.get(4)?,
        copy: r.get(5)?,
        state: RestorePointState::parse(&r.get::<_, String>(6)?),
        pid: r.get::<_, Option<i64>>(7)?.map(|p| p as u32),
        pid_start: r.get(8)?,
        size_bytes: r.get(9)?,
        created_at_ms: r.get(10)?,
    })
}

/// What a new restore point is a copy of, and under which name.
pub struct NewRestorePoint<'a> {
    pub project: &'a str,
    pub label: &'a str,
    pub service: &'a str,
    pub db_name: &'a str,
    pub copy: &'a str,
    /// The process making it (pid, start time): a row of a process that is gone is a leftover.
    pub process: (u32, Option<String>),
}

impl Store {
    /// Records a point about to be copied, by this process. Fails when the label is taken for
    /// that database (the caller says so) or the copy's name is.
    pub fn record_restore_point(&self, p: &NewRestorePoint<'_>) -> Result<i64> {
        let (pid, start) = p.process.clone();
        self.with(|c| {
            c.execute(
                "INSERT INTO restore_points (project, label, service, db_name, copy, state, pid, \
                 pid_start, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    p.project,
                    p.label,
                    p.service,
                    p.db_name,
                    p.copy,
                    RestorePointState::Creating.as_str(),
                    pid as i64,
                    start,
                    now_ms()
                ],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// The copy is complete: the point can be listed and reset to.
    pub fn restore_point_ready(&self, id: i64, size_bytes: Option<i64>) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE restore_points SET state = ?2, size_bytes = ?3, pid = NULL, \
                 pid_start = NULL WHERE id = ?1",
                params![id, RestorePointState::Ready.as_str(), size_bytes],
            )?;
            Ok(())
        })
    }

    /// The points of a project (all projects with `None`), oldest first.
    pub fn restore_points(&self, project: Option<&str>) -> Result<Vec<RestorePointRow>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM restore_points WHERE ?1 IS NULL OR project = ?1 \
                 ORDER BY created_at_ms, id"
            ))?;
            let rows = st
                .query_map([project], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// The points on one service (its removal removes them).
    pub fn restore_points_on(&self, service: &str) -> Result<Vec<RestorePointRow>> {
        Ok(self
            .restore_points(None)?
            .into_iter()
            .filter(|r| r.service == service)
            .collect())
    }

    pub fn restore_point(&self, id: i64) -> Result<Option<RestorePointRow>> {
        self.with(|c| {
            Ok(c.query_row(
                &format!("SELECT {COLUMNS} FROM restore_points WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?)
        })
    }

    /// Forgets every point on a service whose data is gone (`destroy --purge`).
    pub fn forget_restore_points_on(&self, service: &str) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM restore_points WHERE service = ?1", [service])?;
            Ok(())
        })
    }

    pub fn forget_restore_point(&self, id: i64) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM restore_points WHERE id = ?1", [id])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_is_creating_until_ready_and_its_label_is_unique_per_database() {
        let s = Store::open_in_memory().unwrap();
        let p = NewRestorePoint {
            project: "shop",
            label: "seeded",
            service: "pg",
            db_name: "shop",
            copy: "dockhand_rp_1",
            process: (std::process::id(), None),
        };
        let id = s.record_restore_point(&p).unwrap();
        let row = s.restore_point(id).unwrap().unwrap();
        assert_eq!(row.state, RestorePointState::Creating);
        assert_eq!(row.pid, Some(std::process::id()));
        // The same label for the same database: refused (the caller names the clash).
        assert!(s
            .record_restore_point(&NewRestorePoint {
                copy: "dockhand_rp_2",
                process: (1, None),
                ..p
            })
            .is_err());
        s.restore_point_ready(id, Some(42)).unwrap();
        let row = s.restore_point(id).unwrap().unwrap();
        assert_eq!(
            (row.state, row.size_bytes, row.pid),
            (RestorePointState::Ready, Some(42), None)
        );
        assert_eq!(s.restore_points(Some("shop")).unwrap().len(), 1);
        assert!(s.restore_points(Some("blog")).unwrap().is_empty());
        s.forget_restore_point(id).unwrap();
        assert!(s.restore_points(None).unwrap().is_empty());
    }
}
