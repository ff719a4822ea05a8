//! Projects, their attachments to services, consumers' leases and settings.

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::{now_ms, Store};
use crate::error::{CoreError, Result};

#[derive(Debug, Clone, Serialize)]
pub struct ProjectRow {
    pub name: String,
    pub path: Option<String>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachmentRow {
    pub project: String,
    pub service: String,
    pub kind: String,
    pub db_name: String,
    pub db_user: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeaseRow {
    pub id: i64,
    pub service: String,
    pub holder: String,
    pub pid: Option<u32>,
    pub pid_start: Option<String>,
    pub expires_at_ms: Option<i64>,
    pub created_at_ms: i64,
}

impl LeaseRow {
    /// A standing lease (a project that is up): tied to no process and no time to live, it
    /// lasts until released — the kind `add_lease` keeps one of per service and holder.
    pub fn is_standing(&self) -> bool {
        self.pid.is_none() && self.expires_at_ms.is_none()
    }
}

pub struct NewLease<'a> {
    pub service: &'a str,
    pub holder: &'a str,
    pub pid: Option<u32>,
    pub pid_start: Option<&'a str>,
    pub expires_at_ms: Option<i64>,
}

fn project_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProjectRow> {
    Ok(ProjectRow {
        name: r.get(0)?,
        path: r.get(1)?,
        created_at_ms: r.get(2)?,
    })
}

fn lease_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LeaseRow> {
    Ok(LeaseRow {
        id: r.get(0)?,
        service: r.get(1)?,
        holder: r.get(2)?,
        pid: r.get(3)?,
        pid_start: r.get(4)?,
        expires_at_ms: r.get(5)?,
        created_at_ms: r.get(6)?,
    })
}

const LEASE_COLUMNS: &str = "id, service, holder, pid, pid_start, expires_at_ms, created_at_ms";

impl Store {
    /// Registers a project; an existing one with the same name and path is returned as it is.
    pub fn add_project(&self, name: &str, path: Option<&str>) -> Result<(ProjectRow, bool)> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let by_name: Option<ProjectRow> = tx
                .query_row(
                    "SELECT name, path, created_at_ms FROM projects WHERE name = ?1",
                    [name],
                    project_row,
                )
                .optional()?;
            if let Some(p) = by_name {
                if p.path.as_deref() == path || path.is_none() {
                    return Ok((p, false));
                }
                return Err(CoreError::InvalidInput(format!(
                    "a project named '{name}' already exists for {}; choose another name with --name",
                    p.path.as_deref().unwrap_or("no folder")
                )));
            }
            if let Some(path) = path {
                let other: Option<String> = tx
                    .query_row("SELECT name FROM projects WHERE path = ?1", [path], |r| r.get(0))
                    .optional()?;
                if let Some(other) = other {
                    return Err(CoreError::InvalidInput(format!(
                        "{path} is already the folder of project '{other}'"
                    )));
                }
            }
            let now = now_ms();
            tx.execute(
                "INSERT INTO projects (name, path, created_at_ms) VALUES (?1, ?2, ?3)",
                params![name, path, now],
            )?;
            tx.commit()?;
            Ok((
                ProjectRow { name: name.into(), path: path.map(String::from), created_at_ms: now },
                true,
            ))
        })
    }

    pub fn project(&self, name: &str) -> Result<Option<ProjectRow>> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT name, path, created_at_ms FROM projects WHERE name = ?1",
                [name],
                project_row,
            )
            .optional()?)
        })
    }

    pub fn projects(&self) -> Result<Vec<ProjectRow>> {
        self.with(|c| {
            let mut st =
                c.prepare("SELECT name, path, created_at_ms FROM projects ORDER BY name")?;
            let rows = st.query_map([], project_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    pub fn remove_project(&self, name: &str) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "DELETE FROM leases WHERE holder = ?1 AND pid IS NULL",
                [format!("project:{name}")],
            )?;
            let n = tx.execute("DELETE FROM projects WHERE name = ?1", [name])?;
            tx.commit()?;
            Ok(n == 1)
        })
    }

    /// Records an attachment, choosing its database name: `preferred`, or `fallback` when another
    /// project already uses `preferred` on that service. Returns the existing row if attached.
    pub fn attach(
        &self,
        project: &str,
        service: &str,
        kind: &str,
        preferred: &str,
        fallback: &str,
    ) -> Result<(AttachmentRow, bool)> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let get = |tx: &rusqlite::Transaction<'_>| {
                tx.query_row(
                    "SELECT project, service, kind, db_name, db_user FROM attachments WHERE project = ?1 AND service = ?2",
                    params![project, service],
                    |r| Ok(AttachmentRow { project: r.get(0)?, service: r.get(1)?, kind: r.get(2)?, db_name: r.get(3)?, db_user: r.get(4)? }),
                )
                .optional()
            };
            if let Some(a) = get(&tx)? {
                return Ok((a, false));
            }
            let same_kind: Option<String> = tx
                .query_row(
                    "SELECT service FROM attachments WHERE project = ?1 AND kind = ?2",
                    params![project, kind],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(other) = same_kind {
                return Err(CoreError::InvalidInput(format!(
                    "project '{project}' already uses the {kind} service '{other}'; a project has one service per kind \
                     (its variables would clash) — `dockhand detach {other}` first"
                )));
            }
            let taken: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM attachments WHERE service = ?1 AND db_name = ?2)",
                params![service, preferred],
                |r| r.get(0),
            )?;
            let name = if taken { fallback } else { preferred };
            tx.execute(
                "INSERT INTO attachments (project, service, kind, db_name, db_user, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
                params![project, service, kind, name, now_ms()],
            )?;
            let row = get(&tx)?.expect("just inserted");
            tx.commit()?;
            Ok((row, true))
        })
    }

    pub fn detach(&self, project: &str, service: &str) -> Result<bool> {
        self.with(|c| {
            Ok(c.execute(
                "DELETE FROM attachments WHERE project = ?1 AND service = ?2",
                params![project, service],
            )? == 1)
        })
    }

    pub fn attachments(
        &self,
        project: Option<&str>,
        service: Option<&str>,
    ) -> Result<Vec<AttachmentRow>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT project, service, kind, db_name, db_user FROM attachments
                 WHERE (?1 IS NULL OR project = ?1) AND (?2 IS NULL OR service = ?2) ORDER BY project, kind",
            )?;
            let rows = st.query_map(params![project, service], |r| {
                Ok(AttachmentRow { project: r.get(0)?, service: r.get(1)?, kind: r.get(2)?, db_name: r.get(3)?, db_user: r.get(4)? })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Adds a lease; a standing lease (no pid, no expiry) with the same holder is not duplicated.
    pub fn add_lease(&self, l: &NewLease<'_>) -> Result<i64> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if l.pid.is_none() && l.expires_at_ms.is_none() {
                let existing: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM leases WHERE service = ?1 AND holder = ?2 AND pid IS NULL AND expires_at_ms IS NULL",
                        params![l.service, l.holder],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(id) = existing {
                    return Ok(id);
                }
            }
            tx.execute(
                "INSERT INTO leases (service, holder, pid, pid_start, expires_at_ms, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![l.service, l.holder, l.pid, l.pid_start, l.expires_at_ms, now_ms()],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute("UPDATE services SET idle_since_ms = NULL WHERE name = ?1", [l.service])?;
            tx.commit()?;
            Ok(id)
        })
    }

    pub fn remove_lease(&self, id: i64) -> Result<Option<LeaseRow>> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row = tx
                .query_row(
                    &format!("SELECT {LEASE_COLUMNS} FROM leases WHERE id = ?1"),
                    [id],
                    lease_row,
                )
                .optional()?;
            tx.execute("DELETE FROM leases WHERE id = ?1", [id])?;
            tx.commit()?;
            Ok(row)
        })
    }

    pub fn remove_standing_lease(&self, service: &str, holder: &str) -> Result<bool> {
        self.with(|c| {
            Ok(c.execute(
                "DELETE FROM leases WHERE service = ?1 AND holder = ?2 AND pid IS NULL AND expires_at_ms IS NULL",
                params![service, holder],
            )? > 0)
        })
    }

    pub fn leases(&self, service: Option<&str>) -> Result<Vec<LeaseRow>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {LEASE_COLUMNS} FROM leases WHERE ?1 IS NULL OR service = ?1 ORDER BY id"
            ))?;
            let rows = st.query_map([service], lease_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        self.with(|c| {
            Ok(
                c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
    }

    /// Settings whose key starts with `prefix`, in key order.
    pub fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        self.with(|c| {
            let mut st =
                c.prepare("SELECT key, value FROM settings WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key")?;
            let rows = st
                .query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    pub fn delete_setting(&self, key: &str) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM settings WHERE key = ?1", [key])?;
            Ok(())
        })
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_pick_a_free_database_name_and_one_service_per_kind() {
        let s = Store::open_in_memory().unwrap();
        s.add_project("my-app", Some("/a")).unwrap();
        s.add_project("my_app", Some("/b")).unwrap();
        let (a, new) = s
            .attach("my-app", "pg", "postgres", "my_app", "my_app_1a2b3c")
            .unwrap();
        assert!(new);
        assert_eq!(a.db_name, "my_app");
        let (b, _) = s
            .attach("my_app", "pg", "postgres", "my_app", "my_app_4d5e6f")
            .unwrap();
        assert_eq!(b.db_name, "my_app_4d5e6f");
        let (again, new) = s.attach("my-app", "pg", "postgres", "x", "y").unwrap();
        assert!(!new);
        assert_eq!(again.db_name, "my_app");
        let e = s
            .attach("my-app", "pg2", "postgres", "my_app", "z")
            .unwrap_err()
            .to_string();
        assert!(e.contains("one service per kind"), "{e}");
        assert!(s.remove_project("my-app").unwrap());
        assert_eq!(
            s.attachments(None, Some("pg")).unwrap().len(),
            1,
            "attachments go with their project"
        );
    }

    #[test]
    fn projects_are_unique_by_name_and_folder() {
        let s = Store::open_in_memory().unwrap();
        s.add_project("shop", Some("/w/shop")).unwrap();
        assert!(!s.add_project("shop", Some("/w/shop")).unwrap().1);
        assert!(s.add_project("shop", Some("/elsewhere")).is_err());
        assert!(s.add_project("other", Some("/w/shop")).is_err());
    }

    #[test]
    fn standing_leases_are_not_duplicated_and_settings_round_trip() {
        let s = Store::open_in_memory().unwrap();
        let standing = NewLease {
            service: "pg",
            holder: "project:shop",
            pid: None,
            pid_start: None,
            expires_at_ms: None,
        };
        let a = s.add_lease(&standing).unwrap();
        assert_eq!(s.add_lease(&standing).unwrap(), a);
        let run = NewLease {
            service: "pg",
            holder: "run",
            pid: Some(42),
            pid_start: Some("7"),
            expires_at_ms: None,
        };
        let b = s.add_lease(&run).unwrap();
        let c = s.add_lease(&run).unwrap();
        assert_ne!(b, c);
        assert_eq!(s.leases(Some("pg")).unwrap().len(), 3);
        assert_eq!(s.remove_lease(b).unwrap().unwrap().pid, Some(42));
        assert!(s.remove_standing_lease("pg", "project:shop").unwrap());
        assert_eq!(s.leases(None).unwrap().len(), 1);
        s.set_setting("grace_period_secs", "0").unwrap();
        s.set_setting("grace_period_secs", "30").unwrap();
        assert_eq!(
            s.setting("grace_period_secs").unwrap().as_deref(),
            Some("30")
        );
    }
}
