//! Clones for tests: N disposable copies of a project's PostgreSQL databases for one command
//! (`dockhand run --clones N -- <tests>`), made by the server (`CREATE DATABASE … TEMPLATE`)
//! from the project's data now (the checked-out branch's, for a project following git
//! branches) or from a restore point, and dropped when the command ends.
//!
//! **How a test worker finds its clone: numbered variables.** Each variable that names a
//! cloned database gets numbered twins, `DATABASE_URL_1` … `DATABASE_URL_N` (and
//! `PGDATABASE_1` …), and the unnumbered one names clone 1, so a test run that ignores the
//! numbers still never touches the project's own data. `DOCKHAND_CLONES` says N. Every runner's
//! workers inherit the environment and each knows its number: pytest-xdist's
//! `PYTEST_XDIST_WORKER` (`gw0` → 1), jest's `JEST_WORKER_ID` (1 → 1), cargo-nextest's
//! `NEXTEST_TEST_GLOBAL_SLOT` (0 → 1). No file: it would hold passwords, be one more thing a
//! kill -9 leaves behind, and tell a worker nothing the variables do not.
//!
//! **Lifetime.** Each clone's row keeps the process of the `dockhand run` that made it. That
//! run drops them when its command ends; when the run itself was killed (-9), the next Dockhand
//! command (its reconciliation, or the tray's next refresh) finds clones whose process is gone
//! and drops them on a running server (on a stopped one, once it runs again).
//!
//! **Sessions.** The first clone is copied from the source, the others from the first: the
//! project's own sessions on its database (which PostgreSQL needs gone to copy it) are ended
//! once, only when the user agreed (`--end-sessions`); a restore point has none.

use std::time::Instant;

use serde::Serialize;

use super::copies::{left_by_a_killed_run, Made};
use super::naming::CLONE;
use super::{Manager, TaskKind};
use crate::env::Audience;
use crate::error::{CoreError, Result};
use crate::store::{AttachmentRow, CopyPurpose, NewCopy, ProjectRow};

/// The most clones one run may ask for (a worker each).
pub const MAX_CLONES: usize = 64;

/// What test clones are made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloneSource {
    /// The project's data now (the checked-out branch's database).
    Now,
    /// A restore point of the project.
    Point(String),
}

/// One clone of one project database.
#[derive(Debug, Clone, Serialize)]
pub struct ClonePart {
    /// Its number, 1 to N: the suffix of its variables.
    pub worker: usize,
    pub service: String,
    /// The project's database it is a copy of.
    pub database: String,
    /// The clone's own name on the server.
    pub copy: String,
    pub size_bytes: Option<i64>,
    #[serde(skip)]
    id: i64,
}

/// The clones one run made.
#[derive(Debug, Clone, Serialize)]
pub struct TestClones {
    pub project: String,
    pub count: usize,
    /// What they were copied from, in words.
    pub from: String,
    pub parts: Vec<ClonePart>,
    /// Databases the clones share with the project (kinds without copies), in words.
    pub shared: Vec<String>,
    pub took_ms: u64,
}

impl TestClones {
    fn copy_for(&self, worker: usize, att: &AttachmentRow) -> Option<String> {
        self.parts
            .iter()
            .find(|p| p.worker == worker && p.service == att.service && p.database == att.db_name)
            .map(|p| p.copy.clone())
    }
}

impl Manager {
    /// Makes `count` clones of each of the project's PostgreSQL databases from `from`, owned by
    /// the project's user, all of them or none. They live until `drop_clones`, or until this
    /// process is gone.
    pub async fn make_clones(
        &self,
        project: &ProjectRow,
        count: usize,
        from: &CloneSource,
        end_sessions: bool,
    ) -> Result<TestClones> {
        if !(1..=MAX_CLONES).contains(&count) {
            return Err(CoreError::InvalidInput(format!(
                "--clones takes 1 to {MAX_CLONES} (one per test worker), not {count}"
            )));
        }
        let task = self.begin_task(TaskKind::Clones, &format!("{} ×{count}", project.name))?;
        task.finish(
            self.make_clones_untracked(project, count, from, end_sessions)
                .await,
        )
    }

    async fn make_clones_untracked(
        &self,
        project: &ProjectRow,
        count: usize,
        from: &CloneSource,
        end_sessions: bool,
    ) -> Result<TestClones> {
        let started = Instant::now();
        let at = self.checkout(project)?.map(|(_, at)| at);
        let (copied, shared): (Vec<_>, Vec<_>) = self
            .store
            .attachments(Some(&project.name), None)?
            .into_iter()
            .partition(|a| self.copies_kind(a));
        let shared: Vec<String> = shared
            .iter()
            .map(|a| format!("{} on {}", a.db_name, a.service))
            .collect();
        if copied.is_empty() {
            return Err(CoreError::InvalidInput(format!(
                "project '{}' has no database Dockhand can clone (PostgreSQL){}",
                project.name,
                shared
                    .iter()
                    .map(|s| format!("; {s} is not cloned yet"))
                    .collect::<String>()
            )));
        }
        let from_words = match (from, &at) {
            (CloneSource::Point(p), _) => format!("restore point {p}"),
            (CloneSource::Now, Some(at)) if !at.on_main() => {
                format!("branch {}'s data now", at.branch)
            }
            (CloneSource::Now, _) => "the project's data now".to_string(),
        };
        let mut parts: Vec<ClonePart> = Vec::new();
        for att in &copied {
            let made = self
                .clones_of(
                    project,
                    att,
                    count,
                    from,
                    at.as_ref(),
                    &from_words,
                    end_sessions,
                )
                .await;
            match made {
                Ok(mut made) => parts.append(&mut made),
                Err(e) => {
                    // All of them or none.
                    for p in &parts {
                        let _ = self.drop_copy_row(p.id).await;
                    }
                    return Err(e);
                }
            }
        }
        Ok(TestClones {
            project: project.name.clone(),
            count,
            from: from_words,
            parts,
            shared,
            took_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// `count` clones of one project database.
    #[allow(clippy::too_many_arguments)]
    async fn clones_of(
        &self,
        project: &ProjectRow,
        att: &AttachmentRow,
        count: usize,
        from: &CloneSource,
        at: Option<&super::Checkout>,
        from_words: &str,
        end_sessions: bool,
    ) -> Result<Vec<ClonePart>> {
        let source = match from {
            CloneSource::Now => self.database_on_branch(att, at)?,
            CloneSource::Point(p) => self.point_copy(att, p)?,
        };
        let row = self.resolve(&att.service)?;
        // Random per run and database: two runs at once, or two databases of one project on
        // different servers, never pick the same names.
        let token = format!("{:012x}", rand::random::<u64>() >> 16);
        let row = &row;
        self.with_server(row, |pw| async move {
            let mut made: Vec<ClonePart> = Vec::new();
            for worker in 1..=count {
                let copy = format!("{CLONE}{token}_{worker}");
                let label = format!("{token}/{worker}");
                let new = NewCopy {
                    purpose: CopyPurpose::Clone,
                    project: &project.name,
                    label: &label,
                    service: &row.name,
                    db_name: &att.db_name,
                    copy: &copy,
                    process: crate::leases::this_process(),
                    parent: Some(from_words),
                };
                // The first from the source, the others from the first: the project's own
                // sessions, when they must go, are ended once.
                let (src, end) = match made.first() {
                    None => (source.as_str(), end_sessions),
                    Some(first) => (first.copy.as_str(), false),
                };
                let done = self
                    .make_copy(row, &pw, &new, src, Made::OwnedBy(&att.db_user), end)
                    .await;
                match done {
                    Ok(id) => made.push(ClonePart {
                        worker,
                        service: row.name.clone(),
                        database: att.db_name.clone(),
                        size_bytes: self.store.copy_row(id)?.and_then(|r| r.size_bytes),
                        copy,
                        id,
                    }),
                    Err(e) => {
                        for p in &made {
                            let _ = self.drop_copy_row(p.id).await;
                        }
                        return Err(e);
                    }
                }
            }
            Ok(made)
        })
        .await
    }

    /// The project's variables with the clones': `DATABASE_URL_1` … `_N` (each variable that
    /// names a cloned database, numbered), and the unnumbered ones naming clone 1.
    pub fn clones_env(
        &self,
        clones: &TestClones,
        audience: Audience,
    ) -> Result<Vec<(String, String)>> {
        let own = self.env_on(&clones.project, audience, &|_| None)?;
        let mut out = own.clone();
        for worker in 1..=clones.count {
            let vars = self.env_on(&clones.project, audience, &|att| {
                clones.copy_for(worker, att)
            })?;
            for (k, v) in vars {
                if !own.iter().any(|(ok, ov)| *ok == k && *ov != v) {
                    continue;
                }
                if worker == 1 {
                    if let Some(slot) = out.iter_mut().find(|(ok, _)| *ok == k) {
                        slot.1 = v.clone();
                    }
                }
                out.push((format!("{k}_{worker}"), v));
            }
        }
        out.push(("DOCKHAND_CLONES".to_string(), clones.count.to_string()));
        Ok(out)
    }

    /// Drops a run's clones. What cannot be dropped now (a server stopped meanwhile) stays
    /// recorded and goes with the next command once this process is gone.
    pub async fn drop_clones(&self, clones: &TestClones) -> Result<()> {
        let mut failed = Vec::new();
        for p in &clones.parts {
            if let Err(e) = self.drop_copy_row(p.id).await {
                tracing::warn!("could not drop the test clone {}: {e}", p.copy);
                failed.push(p.copy.clone());
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(CoreError::InvalidInput(format!(
                "could not drop the test clone(s) {} (the log says why); the next Dockhand \
                 command drops them",
                failed.join(", ")
            )))
        }
    }

    /// Reconciliation: the clones of runs that are gone (killed), dropped on servers that run.
    pub(super) async fn drop_clones_of_killed_runs(&self) {
        let Ok(rows) = self.store.copies(CopyPurpose::Clone, None) else {
            return;
        };
        let services: std::collections::BTreeSet<String> = rows
            .into_iter()
            .filter(left_by_a_killed_run)
            .map(|r| r.service)
            .collect();
        for service in services {
            let settled = async {
                let Some(row) = self.store.service(&service)? else {
                    return Ok(());
                };
                if !self.is_running(&row.name).await? {
                    return Ok(());
                }
                let pw = self.admin_password(&row.name)?;
                self.recover_copies(&row, pw.expose()).await
            }
            .await;
            if let Err(e) = settled {
                tracing::warn!(service, "could not drop the clones of a killed run: {e}");
            }
        }
    }
}

impl super::tasks::TaskSummary for TestClones {
    fn summary(&self) -> std::result::Result<String, String> {
        Ok(format!(
            "{} clone(s) of project {} from {} in {} ms",
            self.count, self.project, self.from, self.took_ms
        ))
    }
}
