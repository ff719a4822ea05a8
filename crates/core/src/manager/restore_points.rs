//! Restore points: a named copy of each of a project's databases, kept on its own server by the
//! server itself (PostgreSQL: `CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY`), reset to in
//! seconds through the replacement machinery (`replace.rs`).
//!
//! - **Out of the project's reach.** A copy is the admin's and closed to every connection: the
//!   project's user (owner of the tables inside) cannot read, change or drop it; no other project
//!   can connect to it either. Its name (`dockhand_rp_<token>`) is Dockhand's, never a
//!   project's.
//! - **Crash-safe.** Each copy is recorded (`creating`, with its process) before it is made and
//!   marked `ready` only once the server has all of it; the server makes a copy whole or not at
//!   all. A run killed in between leaves a row whose process is gone: the next restore-point
//!   command ends whatever still works on that copy, drops it and forgets the row — the old
//!   state. A reset is a restore (scratch copy, backup of the current database, swap in one
//!   transaction), so a kill leaves the database as it was or reset.
//! - **Sessions.** PostgreSQL copies a database only while nobody is connected to it: the
//!   project's own sessions are ended only when the user says so (`end_sessions`); other
//!   projects' sessions are never touched (they are on other databases).

use std::time::Instant;

use serde::Serialize;

use super::naming::RESTORE_POINT;
use super::replace::{restore_token, Feed, Replacing};
use super::{Manager, ProgressFn};
use crate::drivers::{DatabaseCopies, DatabaseOwner};
use crate::error::{CoreError, Result};
use crate::store::{NewRestorePoint, RestorePointRow, RestorePointState, ServiceRow};

/// One restore point of a project, as listed: its label and one part per database.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RestorePointView {
    pub project: String,
    pub label: String,
    pub created_at_ms: i64,
    pub size_bytes: i64,
    pub parts: Vec<RestorePointPart>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RestorePointPart {
    pub service: String,
    pub database: String,
    /// The copy's name on the server.
    pub copy: String,
    pub size_bytes: Option<i64>,
}

/// What taking a point did: the point, and the databases it could not include (said, never
/// skipped in silence).
#[derive(Debug, Clone, Serialize)]
pub struct TakenPoint {
    pub point: RestorePointView,
    pub not_included: Vec<(String, String)>,
    pub took_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResetDone {
    pub project: String,
    pub label: String,
    /// The databases put back, with the backup taken of each first.
    pub databases: Vec<(String, Option<i64>)>,
    pub took_ms: u64,
}

/// A point still `creating` whose process is gone.
fn left_by_a_killed_run(r: &RestorePointRow) -> bool {
    r.state == RestorePointState::Creating
        && !r
            .pid
            .is_some_and(|pid| crate::leases::process_alive(pid, r.pid_start.as_deref()))
}

/// A label as users type it: short, printable.
fn validate_label(label: &str) -> Result<()> {
    if label.trim().is_empty() || label.len() > 64 || label.chars().any(char::is_control) {
        return Err(CoreError::InvalidInput(format!(
            "a restore point's name has 1 to 64 printable characters; {label:?} has not"
        )));
    }
    Ok(())
}

fn views(rows: Vec<RestorePointRow>) -> Vec<RestorePointView> {
    let mut out: Vec<RestorePointView> = Vec::new();
    for r in rows
        .into_iter()
        .filter(|r| r.state == RestorePointState::Ready)
    {
        let part = RestorePointPart {
            service: r.service.clone(),
            database: r.db_name.clone(),
            copy: r.copy.clone(),
            size_bytes: r.size_bytes,
        };
        match out
            .iter_mut()
            .find(|v| v.project == r.project && v.label == r.label)
        {
            Some(v) => {
                v.size_bytes += r.size_bytes.unwrap_or(0);
                v.created_at_ms = v.created_at_ms.min(r.created_at_ms);
                v.parts.push(part);
            }
            None => out.push(RestorePointView {
                project: r.project,
                label: r.label,
                created_at_ms: r.created_at_ms,
                size_bytes: r.size_bytes.unwrap_or(0),
                parts: vec![part],
            }),
        }
    }
    out
}

impl Manager {
    /// The project's restore points (every project's with `None`), oldest first.
    pub fn restore_points(&self, project: Option<&str>) -> Result<Vec<RestorePointView>> {
        Ok(views(self.store.restore_points(project)?))
    }

    /// Takes restore point `label` of every database of `project` on a kind that keeps them.
    pub async fn take_restore_point(
        &self,
        project: &str,
        label: &str,
        end_sessions: bool,
    ) -> Result<TakenPoint> {
        validate_label(label)?;
        let started = Instant::now();
        let p = self.project_for(Some(project), std::path::Path::new("/"))?;
        // A point a killed run left half-made does not hold its name (it is removed first).
        if self
            .store
            .restore_points(Some(&p.name))?
            .iter()
            .any(|r| r.label == label && !left_by_a_killed_run(r))
        {
            return Err(CoreError::InvalidInput(format!(
                "project '{}' already has a restore point '{label}'; choose another name, or \
                 `dockhand point delete {} {label}` first",
                p.name, p.name
            )));
        }
        let atts = self.store.attachments(Some(&p.name), None)?;
        let mut not_included = Vec::new();
        let mut taken = Vec::new();
        for att in &atts {
            let row = self.resolve(&att.service)?;
            let Some(copies) = self.driver(row.kind).copies() else {
                not_included.push((
                    format!("{} on {}", att.db_name, att.service),
                    format!(
                        "{} keeps no restore points yet (back it up instead)",
                        row.kind.spec().display_name
                    ),
                ));
                continue;
            };
            let done = self
                .with_server(&row, |pw| {
                    self.copy_one(&row, pw, copies, &p.name, label, &att.db_name, end_sessions)
                })
                .await;
            match done {
                Ok(id) => taken.push(id),
                Err(e) => {
                    // All of the point or none of it: the copies made so far go.
                    for id in taken {
                        let _ = self.drop_point_row(id).await;
                    }
                    return Err(e);
                }
            }
        }
        if taken.is_empty() {
            return Err(CoreError::InvalidInput(format!(
                "project '{}' has no database a restore point can copy{}",
                p.name,
                not_included
                    .iter()
                    .map(|(what, why)| format!("; {what}: {why}"))
                    .collect::<String>()
            )));
        }
        let point = self
            .restore_points(Some(&p.name))?
            .into_iter()
            .find(|v| v.label == label)
            .ok_or_else(|| CoreError::InvalidInput("the restore point vanished".into()))?;
        self.event(
            &point.parts[0].service,
            "restore-point",
            &format!("restore point '{label}' of project '{}' taken", p.name),
        );
        Ok(TakenPoint {
            point,
            not_included,
            took_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// Runs `f` with the admin password while the server is held running.
    async fn with_server<T, F, Fut>(&self, row: &ServiceRow, f: F) -> Result<T>
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let holder = format!("restore-point:{}", std::process::id());
        let noop = |_| {};
        let (lease, _) = self.acquire(&row.name, &holder, false, None, &noop).await?;
        let pw = self.admin_password(&row.name)?.expose().to_string();
        // Leftovers of a killed run on this server go first: a half-made copy (it may hold the
        // source up), a reset cut short (its database is let back in, as it was or reset).
        let recovered = async {
            self.recover_restore_points(row, &pw).await?;
            self.recover_restores(row, &pw, None).await.map(|_| ())
        };
        let result = match recovered.await {
            Ok(()) => f(pw).await,
            Err(e) => Err(e),
        };
        if let Err(e) = self.release(&lease).await {
            tracing::warn!("could not release the restore point lease: {e}");
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn copy_one(
        &self,
        row: &ServiceRow,
        pw: String,
        copies: &dyn DatabaseCopies,
        project: &str,
        label: &str,
        database: &str,
        end_sessions: bool,
    ) -> Result<i64> {
        let dialect = self.sql_of(row)?;
        let via = dialect.maintenance_database(database);
        let copy = format!("{RESTORE_POINT}{}", restore_token());
        // Recorded before the copy exists: whatever this run leaves, the next one finds.
        let id = self.store.record_restore_point(&NewRestorePoint {
            project,
            label,
            service: &row.name,
            db_name: database,
            copy: &copy,
            process: crate::leases::this_process(),
        })?;
        let made = async {
            let sessions: i64 = self
                .run_sql_in(row, &pw, via, &copies.sessions_on(database))
                .await?
                .trim()
                .parse()
                .unwrap_or(0);
            if sessions > 0 && !end_sessions {
                return Err(CoreError::InvalidInput(format!(
                    "{sessions} session(s) are connected to '{database}' on '{}' (the project's \
                     app, a psql, a test run): PostgreSQL copies a database only while nobody is \
                     connected. Close them, or pass --end-sessions to end them (only sessions on \
                     '{database}' are ended; other projects are not touched)",
                    row.name
                )));
            }
            super::test_pause::test_pause("point-recorded").await;
            let mut tries = 0;
            loop {
                if end_sessions {
                    self.run_sql_in(row, &pw, via, &copies.end_sessions_on(database))
                        .await?;
                }
                let mut failed = None;
                for statement in copies.copy_closed(database, &copy) {
                    if let Err(e) = self.run_sql_in(row, &pw, via, &statement).await {
                        failed = Some(e);
                        break;
                    }
                }
                match failed {
                    None => break,
                    // An app reconnecting at once: ended again, a few times.
                    Some(CoreError::Tool { stderr, .. })
                        if end_sessions && tries < 20 && copies.source_in_use(&stderr) =>
                    {
                        tries += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                    Some(CoreError::Tool { stderr, .. }) if copies.source_in_use(&stderr) => {
                        return Err(CoreError::InvalidInput(format!(
                            "a session connected to '{database}' on '{}' while it was copied; \
                             close it, or pass --end-sessions",
                            row.name
                        )))
                    }
                    Some(e) => return Err(e),
                }
            }
            super::test_pause::test_pause("point-copied").await;
            let size = self
                .run_sql_in(row, &pw, via, &copies.size(&copy))
                .await
                .ok()
                .and_then(|s| s.trim().parse().ok());
            self.store.restore_point_ready(id, size)?;
            Ok(id)
        }
        .await;
        if made.is_err() {
            self.remove_copy(row, &pw, copies, &copy).await;
            let _ = self.store.forget_restore_point(id);
        }
        made
    }

    /// Ends whatever works on `copy`, drops it if it exists. Logged, never fatal: the row stays
    /// for the next run when this fails.
    async fn remove_copy(
        &self,
        row: &ServiceRow,
        pw: &str,
        copies: &dyn DatabaseCopies,
        copy: &str,
    ) -> bool {
        let Ok(dialect) = self.sql_of(row) else {
            return false;
        };
        let via = dialect.maintenance_database(copy);
        let _ = self
            .run_sql_in(row, pw, via, &copies.end_work_on(copy))
            .await;
        match self
            .run_sql_in(row, pw, via, &dialect.drop_database(copy))
            .await
        {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(
                    "could not drop the restore point copy {copy} on {}: {e}",
                    row.name
                );
                false
            }
        }
    }

    /// Copies a killed run left on this server: recorded, not ready, their process gone.
    pub(super) async fn recover_restore_points(&self, row: &ServiceRow, pw: &str) -> Result<()> {
        let Some(copies) = self.driver(row.kind).copies() else {
            return Ok(());
        };
        for r in self.store.restore_points_on(&row.name)? {
            if left_by_a_killed_run(&r) && self.remove_copy(row, pw, copies, &r.copy).await {
                self.store.forget_restore_point(r.id)?;
                tracing::info!("removed restore point copy {} left by a killed run", r.copy);
            }
        }
        Ok(())
    }

    async fn drop_point_row(&self, id: i64) -> Result<()> {
        let Some(r) = self.store.restore_point(id)? else {
            return Ok(());
        };
        let row = self.resolve(&r.service)?;
        let Some(copies) = self.driver(row.kind).copies() else {
            return Ok(());
        };
        let pw = self.admin_password(&row.name)?;
        if self.remove_copy(&row, pw.expose(), copies, &r.copy).await {
            self.store.forget_restore_point(id)?;
        }
        Ok(())
    }

    /// Deletes restore point `label` of `project` (every database's copy).
    pub async fn delete_restore_point(&self, project: &str, label: &str) -> Result<()> {
        let p = self.project_for(Some(project), std::path::Path::new("/"))?;
        let rows: Vec<RestorePointRow> = self
            .store
            .restore_points(Some(&p.name))?
            .into_iter()
            .filter(|r| r.label == label)
            .collect();
        if rows.is_empty() {
            return Err(self.no_such_point(&p.name, label)?);
        }
        for r in rows {
            let row = self.resolve(&r.service)?;
            let id = r.id;
            self.with_server(&row, |_pw| async move { self.drop_point_row(id).await })
                .await?;
        }
        Ok(())
    }

    fn no_such_point(&self, project: &str, label: &str) -> Result<CoreError> {
        let have: Vec<String> = self
            .restore_points(Some(project))?
            .into_iter()
            .map(|v| v.label)
            .collect();
        Ok(CoreError::InvalidInput(if have.is_empty() {
            format!("project '{project}' has no restore point; take one with `dockhand point take {project} NAME`")
        } else {
            format!(
                "project '{project}' has no restore point '{label}'; it has: {}",
                have.join(", ")
            )
        }))
    }

    /// Puts every database of `project` back to restore point `label`. Each is backed up
    /// first; the project's sessions on it are ended (the caller asked the user); the point
    /// stays, to reset to again.
    pub async fn reset_to_restore_point(
        &self,
        project: &str,
        label: &str,
        progress: &ProgressFn<'_>,
    ) -> Result<ResetDone> {
        let started = Instant::now();
        let p = self.project_for(Some(project), std::path::Path::new("/"))?;
        let rows: Vec<RestorePointRow> = self
            .store
            .restore_points(Some(&p.name))?
            .into_iter()
            .filter(|r| r.label == label && r.state == RestorePointState::Ready)
            .collect();
        if rows.is_empty() {
            return Err(self.no_such_point(&p.name, label)?);
        }
        let mut databases = Vec::new();
        for r in rows {
            let row = self.resolve(&r.service)?;
            let owner_att = self
                .store
                .attachments(Some(&p.name), Some(&row.name))?
                .into_iter()
                .find(|a| a.db_name == r.db_name);
            let owner_password = owner_att
                .as_ref()
                .map(|a| self.project_password(a))
                .transpose()?;
            let (service, copy, database) = (&row, r.copy.as_str(), r.db_name.as_str());
            let backup = self
                .with_server(&row, |pw| async move {
                    let owner = owner_att
                        .as_ref()
                        .zip(owner_password.as_ref())
                        .map(|(a, s)| DatabaseOwner {
                            role: &a.db_user,
                            password: s.expose(),
                        });
                    let replacing = Replacing {
                        reason: "before-reset",
                        progress,
                        refuse_objects: None,
                        backup: Default::default(),
                    };
                    self.fill_database(
                        service,
                        &pw,
                        &Feed::Copy(copy),
                        database,
                        owner.as_ref(),
                        Some(&replacing),
                    )
                    .await?;
                    Ok(replacing.backup.into_inner().map(|b| b.id))
                })
                .await?;
            self.event(
                &r.service,
                "reset",
                &format!(
                    "'{}' reset to restore point '{label}' of project '{}'",
                    r.db_name, p.name
                ),
            );
            databases.push((r.db_name.clone(), backup));
        }
        Ok(ResetDone {
            project: p.name,
            label: label.to_string(),
            databases,
            took_ms: started.elapsed().as_millis() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_short_and_printable() {
        assert!(validate_label("before migration 42").is_ok());
        assert!(validate_label("").is_err());
        assert!(validate_label("  ").is_err());
        assert!(validate_label(&"x".repeat(65)).is_err());
        assert!(validate_label("a\nb").is_err());
    }
}
