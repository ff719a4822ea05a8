//! Restore points: a named copy of each of a project's databases, kept on its own server by the
//! server itself (PostgreSQL: `CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY`), reset to in
//! seconds through the replacement machinery (`replace.rs`).
//!
//! - **Out of the project's reach.** A copy is the admin's and closed to every connection: the
//!   project's user (owner of the tables inside) cannot read, change or drop it; no other project
//!   can connect to it either. Its name (`dockhand_rp_<token>`) is Dockhand's, never a
//!   project's.
//! - **Crash-safe.** Copies are made as `copies.rs` says (recorded first, tidied up after a
//!   kill). A reset is a restore (scratch copy, backup of the current database, swap in one
//!   transaction), so a kill leaves the database as it was or reset.

use std::time::Instant;

use serde::Serialize;

use super::copies::{left_by_a_killed_run, Made};
use super::naming::RESTORE_POINT;
use super::replace::{restore_token, Feed, Replacing};
use super::{Manager, ProgressFn, TaskKind};
use crate::drivers::DatabaseOwner;
use crate::error::{CoreError, Result};
use crate::store::{CopyPurpose, CopyRow, CopyState, NewCopy};

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

/// A point's default name: when it was taken (UTC), e.g. `2026-12-06T19-58-00Z`.
fn default_label() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(':', "-")
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

fn views(rows: Vec<CopyRow>) -> Vec<RestorePointView> {
    let mut out: Vec<RestorePointView> = Vec::new();
    for r in rows.into_iter().filter(|r| r.state == CopyState::Ready) {
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
        Ok(views(self.store.copies(CopyPurpose::Point, project)?))
    }

    /// Takes restore point `label` (default: the time, UTC, which sorts and reads) of every
    /// database of `project` on a kind that keeps them.
    pub async fn take_restore_point(
        &self,
        project: &str,
        label: Option<&str>,
        end_sessions: bool,
    ) -> Result<TakenPoint> {
        let label = label.map_or_else(default_label, str::to_string);
        let task = self.begin_task(TaskKind::RestorePoint, &format!("{project}: {label}"))?;
        task.finish(self.take_untracked(project, &label, end_sessions).await)
    }

    async fn take_untracked(
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
            .copies(CopyPurpose::Point, Some(&p.name))?
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
            if self.driver(row.kind).copies().is_none() {
                not_included.push((
                    format!("{} on {}", att.db_name, att.service),
                    format!(
                        "{} keeps no restore points yet (back it up instead)",
                        row.kind.spec().display_name
                    ),
                ));
                continue;
            };
            let copy = format!("{RESTORE_POINT}{}", restore_token());
            let new = NewCopy {
                purpose: CopyPurpose::Point,
                project: &p.name,
                label,
                service: &row.name,
                db_name: &att.db_name,
                copy: &copy,
                process: crate::leases::this_process(),
                parent: None,
            };
            let (row, new) = (&row, &new);
            let done = self
                .with_server(row, |pw| async move {
                    self.make_copy(row, &pw, new, &att.db_name, Made::Closed, end_sessions)
                        .await
                })
                .await;
            match done {
                Ok(id) => taken.push(id),
                Err(e) => {
                    // All of the point or none of it: the copies made so far go.
                    for id in taken {
                        let _ = self.drop_copy_row(id).await;
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

    /// Deletes restore point `label` of `project` (every database's copy).
    pub async fn delete_restore_point(&self, project: &str, label: &str) -> Result<()> {
        let p = self.project_for(Some(project), std::path::Path::new("/"))?;
        let rows: Vec<CopyRow> = self
            .store
            .copies(CopyPurpose::Point, Some(&p.name))?
            .into_iter()
            .filter(|r| r.label == label)
            .collect();
        if rows.is_empty() {
            return Err(self.no_such_point(&p.name, label)?);
        }
        for r in rows {
            let row = self.resolve(&r.service)?;
            let id = r.id;
            self.with_server(&row, |_pw| async move { self.drop_copy_row(id).await })
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
        let task = self.begin_task(TaskKind::Reset, &format!("{project} to {label}"))?;
        let feed = task.feed(progress);
        task.finish(self.reset_untracked(project, label, &feed).await)
    }

    async fn reset_untracked(
        &self,
        project: &str,
        label: &str,
        progress: &ProgressFn<'_>,
    ) -> Result<ResetDone> {
        let started = Instant::now();
        let p = self.project_for(Some(project), std::path::Path::new("/"))?;
        let rows: Vec<CopyRow> = self
            .store
            .copies(CopyPurpose::Point, Some(&p.name))?
            .into_iter()
            .filter(|r| r.label == label && r.state == CopyState::Ready)
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

impl super::tasks::TaskSummary for TakenPoint {
    fn summary(&self) -> std::result::Result<String, String> {
        Ok(format!(
            "restore point '{}' of project {}: {} in {} ms",
            self.point.label,
            self.point.project,
            crate::error::human_bytes(self.point.size_bytes.max(0) as u64),
            self.took_ms
        ))
    }
}

impl super::tasks::TaskSummary for ResetDone {
    fn summary(&self) -> std::result::Result<String, String> {
        Ok(format!(
            "project {} reset to restore point '{}' in {} ms",
            self.project, self.label, self.took_ms
        ))
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
