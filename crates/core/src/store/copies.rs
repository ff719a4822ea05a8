//! Dockhand's copies of project databases on their own server — restore points, branch
//! databases and test clones: which copy of which project database a label names, and whether the copy is
//! complete. A row exists before its copy does (`Creating`, with the process making it) and says
//! `Ready` only once the server has the whole copy.

use rusqlite::{params, OptionalExtension as _, Row};
use serde::Serialize;

use super::{now_ms, Store};
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyState {
    /// Recorded; the copy may or may not exist yet (its process may have been killed).
    Creating,
    /// The copy is complete on the server.
    Ready,
}

impl CopyState {
    fn as_str(self) -> &'static str {
        match self {
            CopyState::Creating => "creating",
            CopyState::Ready => "ready",
        }
    }

    fn parse(s: &str) -> CopyState {
        match s {
            "ready" => CopyState::Ready,
            _ => CopyState::Creating,
        }
    }
}

/// What a copy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyPurpose {
    /// A restore point (label: its name): the admin's, closed to every connection.
    Point,
    /// A git branch's database (label: the branch): the project's, its URL's database while the
    /// branch is checked out.
    Branch,
    /// A test clone (label: its run and worker): the project's, for as long as the process
    /// that made it lives (its pid stays on the row once ready; a row whose process is gone is
    /// a leftover to drop).
    Clone,
}

impl CopyPurpose {
    fn as_str(self) -> &'static str {
        match self {
            CopyPurpose::Point => "point",
            CopyPurpose::Branch => "branch",
            CopyPurpose::Clone => "clone",
        }
    }

    fn parse(s: &str) -> CopyPurpose {
        match s {
            "branch" => CopyPurpose::Branch,
            "clone" => CopyPurpose::Clone,
            _ => CopyPurpose::Point,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyRow {
    pub id: i64,
    pub purpose: CopyPurpose,
    pub project: String,
    pub label: String,
    pub service: String,
    /// The project's database the point is a copy of.
    pub db_name: String,
    /// The copy's own name on the server.
    pub copy: String,
    pub state: CopyState,
    pub pid: Option<u32>,
    pub pid_start: Option<String>,
    pub size_bytes: Option<i64>,
    pub created_at_ms: i64,
    /// What it was copied from, in words (a branch: its parent branch or restore point).
    pub parent: Option<String>,
}

const COLUMNS: &str =
    "id, project, label, service, db_name, copy, state, pid, pid_start, size_bytes, created_at_ms, \
     purpose, parent";

fn from_row(r: &Row<'_>) -> rusqlite::Result<CopyRow> {
    Ok(CopyRow {
        id: r.get(0)?,
        project: r.get(1)?,
        label: r.get(2)?,
        service: r.get(3)?,
        db_name: r.get(4)?,
        copy: r.get(5)?,
        state: CopyState::parse(&r.get::<_, String>(6)?),
        pid: r.get::<_, Option<i64>>(7)?.map(|p| p as u32),
        pid_start: r.get(8)?,
        size_bytes: r.get(9)?,
        created_at_ms: r.get(10)?,
        purpose: CopyPurpose::parse(&r.get::<_, String>(11)?),
        parent: r.get(12)?,
    })
}

/// What a new copy is a copy of, what for and under which name.
pub struct NewCopy<'a> {
    pub purpose: CopyPurpose,
    pub project: &'a str,
    pub label: &'a str,
    pub service: &'a str,
    pub db_name: &'a str,
    pub copy: &'a str,
    /// The process making it (pid, start time): a row of a process that is gone is a leftover.
    pub process: (u32, Option<String>),
    pub parent: Option<&'a str>,
}

impl Store {
    /// Records a point about to be copied, by this process. Fails when the label is taken for
    /// that database (the caller says so) or the copy's name is.
    pub fn record_copy(&self, p: &NewCopy<'_>) -> Result<i64> {
        let (pid, start) = p.process.clone();
        self.with(|c| {
            c.execute(
                "INSERT INTO copies (project, label, service, db_name, copy, state, pid, \
                 pid_start, created_at_ms, purpose, parent) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    p.project,
                    p.label,
                    p.service,
                    p.db_name,
                    p.copy,
                    CopyState::Creating.as_str(),
                    pid as i64,
                    start,
                    now_ms(),
                    p.purpose.as_str(),
                    p.parent
                ],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// The copy is complete: it can be listed and used. A clone keeps its process: it lives
    /// as long as that process does.
    pub fn copy_ready(&self, id: i64, size_bytes: Option<i64>) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE copies SET state = ?2, size_bytes = ?3, \
                 pid = CASE WHEN purpose = 'clone' THEN pid END, \
                 pid_start = CASE WHEN purpose = 'clone' THEN pid_start END WHERE id = ?1",
                params![id, CopyState::Ready.as_str(), size_bytes],
            )?;
            Ok(())
        })
    }

    /// The copies for `purpose` of a project (all projects with `None`), oldest first.
    pub fn copies(&self, purpose: CopyPurpose, project: Option<&str>) -> Result<Vec<CopyRow>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM copies WHERE purpose = ?1 AND (?2 IS NULL OR project = ?2) \
                 ORDER BY created_at_ms, id"
            ))?;
            let rows = st
                .query_map(params![purpose.as_str(), project], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Every copy on one service, whatever it is for (its removal removes them).
    pub fn copies_on(&self, service: &str) -> Result<Vec<CopyRow>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM copies WHERE service = ?1 ORDER BY created_at_ms, id"
            ))?;
            let rows = st
                .query_map([service], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    pub fn copy_row(&self, id: i64) -> Result<Option<CopyRow>> {
        self.with(|c| {
            Ok(c.query_row(
                &format!("SELECT {COLUMNS} FROM copies WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?)
        })
    }

    /// Forgets every copy on a service whose data is gone (`destroy --purge`).
    pub fn forget_copies_on(&self, service: &str) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM copies WHERE service = ?1", [service])?;
            Ok(())
        })
    }

    pub fn forget_copy(&self, id: i64) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM copies WHERE id = ?1", [id])?;
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
        let p = NewCopy {
            purpose: CopyPurpose::Point,
            project: "shop",
            label: "seeded",
            service: "pg",
            db_name: "shop",
            copy: "dockhand_rp_1",
            process: (std::process::id(), None),
            parent: None,
        };
        let id = s.record_copy(&p).unwrap();
        let row = s.copy_row(id).unwrap().unwrap();
        assert_eq!(row.state, CopyState::Creating);
        assert_eq!(row.pid, Some(std::process::id()));
        // The same label for the same database: refused (the caller names the clash).
        assert!(s
            .record_copy(&NewCopy {
                copy: "dockhand_rp_2",
                process: (1, None),
                parent: None,
                ..p
            })
            .is_err());
        s.copy_ready(id, Some(42)).unwrap();
        let row = s.copy_row(id).unwrap().unwrap();
        assert_eq!(
            (row.state, row.size_bytes, row.pid),
            (CopyState::Ready, Some(42), None)
        );
        assert_eq!(s.copies(CopyPurpose::Point, Some("shop")).unwrap().len(), 1);
        assert!(s
            .copies(CopyPurpose::Point, Some("blog"))
            .unwrap()
            .is_empty());
        // A branch of the same name is another thing.
        let b = s
            .record_copy(&NewCopy {
                purpose: CopyPurpose::Branch,
                copy: "dockhand_br_1",
                parent: Some("main"),
                process: (1, None),
                ..p
            })
            .unwrap();
        assert_eq!(
            s.copies(CopyPurpose::Branch, None).unwrap()[0]
                .parent
                .as_deref(),
            Some("main")
        );
        assert_eq!(s.copies_on("pg").unwrap().len(), 2);
        // A clone keeps its process once ready: it lives as long as that process.
        let c = s
            .record_copy(&NewCopy {
                purpose: CopyPurpose::Clone,
                copy: "dockhand_cl_1",
                process: (7, Some("t".into())),
                ..p
            })
            .unwrap();
        s.copy_ready(c, Some(1)).unwrap();
        let row = s.copy_row(c).unwrap().unwrap();
        assert_eq!(
            (row.purpose, row.state, row.pid, row.pid_start.as_deref()),
            (CopyPurpose::Clone, CopyState::Ready, Some(7), Some("t"))
        );
        s.forget_copy(c).unwrap();
        s.forget_copy(b).unwrap();
        s.forget_copy(id).unwrap();
        assert!(s.copies(CopyPurpose::Point, None).unwrap().is_empty());
    }
}
