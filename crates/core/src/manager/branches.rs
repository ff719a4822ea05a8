//! A database per git branch. A project that opts in (`[branches] enabled = true` in its
//! `dockhand.toml`) gets, for each git branch other than its main one, its own copy of its
//! PostgreSQL databases, made by the server (`CREATE DATABASE … TEMPLATE`) on first use from
//! the branch's parent: the branch it was first checked out from, else the main branch, or a
//! restore point the user picks.
//!
//! **How the URL follows the branch: a database name per branch.** `run`, `env`, `url`,
//! `connect` and the tray's "Copy DATABASE_URL" read the checked-out branch from `.git` each
//! time and hand out the URL of that branch's database; `.env` follows through a post-checkout
//! hook Dockhand installs on request. The other way — one stable name, the branch's copy
//! renamed into it at each checkout — was measured and rejected: PostgreSQL renames a database
//! only while nobody is connected, so a checkout with the app server running would either fail
//! to switch or have to end the app's sessions, after which the app reconnects to the *other*
//! branch's data and writes into it without anyone knowing. With a name per branch, an app
//! server still running across a checkout keeps writing into the branch it was started on (its
//! URL names that database) until it is restarted — and is not left unnoticed: `branch list`
//! counts each branch database's sessions, and the post-checkout hook says which other branch
//! still has some.
//!
//! **Names.** A branch's database is `dockhand_br_<20 hex>`: a hash of the project, service,
//! database and the branch's exact bytes. Deterministic and collision-free in practice
//! (`Main` and `main`, `feature/x` and `feature-x`, 255-byte or SQL-looking names all differ and
//! fit PostgreSQL's 63 bytes); it tells another project nothing about the branch (every user
//! can list database names); its prefix is Dockhand's, which no project's database can take.
//!
//! Other kinds (Redis/Valkey, MariaDB/MySQL) are shared by every branch for now, and said so.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::copies::{left_by_a_killed_run, Made};
use super::restore_points::RestorePointPart;
use super::{Manager, TaskKind};
use crate::error::{CoreError, Result};
use crate::git::{Head, Repo};
use crate::store::{AttachmentRow, CopyPurpose, CopyRow, CopyState, NewCopy, ProjectRow};

/// The prefix of every branch database's name.
pub(super) const BRANCH: &str = "dockhand_br_";

/// A branch's copy of one project database: deterministic, within PostgreSQL's 63 bytes, and
/// saying nothing about the branch.
pub(super) fn branch_copy_name(
    project: &str,
    service: &str,
    database: &str,
    branch: &str,
) -> String {
    let digest = Sha256::digest(format!("{project}\0{service}\0{database}\0{branch}").as_bytes());
    let hex: String = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
    format!("{BRANCH}{hex}")
}

/// Git refuses most of what could hurt (spaces, `..`, control characters); what reaches
/// Dockhand is still checked, as it lands in commands and the state store.
fn validate_branch(branch: &str) -> Result<()> {
    if branch.is_empty() || branch.len() > 255 || branch.chars().any(char::is_control) {
        return Err(CoreError::InvalidInput(format!(
            "{branch:?} is not a git branch name Dockhand can keep a database for (1 to 255 bytes, \
             no control characters)"
        )));
    }
    Ok(())
}

/// Where a project stands in its repository.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Checkout {
    /// The branch checked out (the main branch when HEAD is detached).
    pub branch: String,
    /// The branch whose data is the project's own database.
    pub main: String,
    /// HEAD is on a commit, not a branch: the main branch's database is used, and said.
    pub detached: bool,
}

impl Checkout {
    pub fn on_main(&self) -> bool {
        self.branch == self.main
    }
}

/// What a branch's database is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BranchSource {
    /// Its parent branch when it has data, else the main branch.
    Parent,
    Branch(String),
    /// A restore point of the project.
    Point(String),
}

/// One branch's databases, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct BranchView {
    pub branch: String,
    pub parent: Option<String>,
    pub created_at_ms: i64,
    pub size_bytes: i64,
    pub parts: Vec<RestorePointPart>,
    /// Whether the git branch still exists (a pruned one has none).
    pub in_git: bool,
    pub checked_out: bool,
    /// Sessions connected to its databases now (an app started on it keeps them across a
    /// checkout); 0 when its server is not running.
    pub sessions: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Branches {
    pub project: String,
    pub checkout: Checkout,
    /// The main branch's databases: the project's own.
    pub main_databases: Vec<String>,
    pub branches: Vec<BranchView>,
    /// Databases every branch shares (kinds without copies), in words.
    pub shared: Vec<String>,
    /// Sessions connected to the main branch's databases now.
    pub main_sessions: i64,
}

/// What making a branch's databases did.
#[derive(Debug, Clone, Serialize)]
pub struct BranchMade {
    pub branch: String,
    pub from: String,
    pub parts: Vec<RestorePointPart>,
    pub shared: Vec<String>,
    pub took_ms: u64,
}

impl Manager {
    /// The project's repository and checkout, when it follows git branches (`None` when it does
    /// not); an error says what is wrong with a project that asks to and cannot.
    pub fn checkout(&self, project: &ProjectRow) -> Result<Option<(Repo, Checkout)>> {
        let Some(dir) = project.path.as_deref().map(Path::new) else {
            return Ok(None);
        };
        if !dir.is_dir() {
            return Ok(None);
        }
        // dockhand.toml's `[branches]`, else the window's toggle.
        let wanted = crate::project_config::read(dir)?
            .and_then(|c| c.branches)
            .or_else(|| {
                self.follows_branches_by_toggle(&project.name)
                    .then_some(crate::project_config::Branches { main: None })
            });
        let Some(wanted) = wanted else {
            return Ok(None);
        };
        let repo = Repo::open(dir).ok_or_else(|| {
            CoreError::InvalidInput(format!(
                "{}/dockhand.toml asks for a database per git branch ([branches]), but {} is not \
                 the top of a git repository; `git init` there, or remove [branches]",
                dir.display(),
                dir.display()
            ))
        })?;
        let main = wanted
            .main
            .or_else(|| repo.default_branch())
            .ok_or_else(|| {
                CoreError::InvalidInput(format!(
                "project '{}' follows git branches, but its repository has no 'main' or 'master' \
                 branch: say which branch holds the project's own database with `main = \"…\"` \
                 under [branches] in dockhand.toml",
                project.name
            ))
            })?;
        let (branch, detached) = match repo.head() {
            Head::Branch(b) => (b, false),
            Head::Detached => (main.clone(), true),
        };
        if detached {
            tracing::warn!(
                "project '{}': HEAD is detached, so its URLs name the '{main}' branch's database",
                project.name
            );
        }
        Ok(Some((
            repo,
            Checkout {
                branch,
                main,
                detached,
            },
        )))
    }

    /// Whether the window's "A database per git branch" is on for a project.
    pub fn follows_branches_by_toggle(&self, project: &str) -> bool {
        self.store
            .setting(&branches_toggle_key(project))
            .ok()
            .flatten()
            .is_some_and(|v| v == "on")
    }

    /// The window's toggle: a database per git branch for a project whose dockhand.toml does
    /// not say so (`[branches]` there wins; it is shared with everyone who clones the project).
    /// Turning it on checks that the project's folder is a git repository first.
    pub fn set_follow_branches(&self, project: &ProjectRow, on: bool) -> Result<()> {
        if on {
            let dir = project.path.as_deref().map(Path::new).ok_or_else(|| {
                CoreError::InvalidInput(format!(
                    "project '{}' has no folder, so it has no git branches to follow",
                    project.name
                ))
            })?;
            if Repo::open(dir).is_none() {
                return Err(CoreError::InvalidInput(format!(
                    "{} is not the top of a git repository: `git init` there first",
                    dir.display()
                )));
            }
            self.store
                .set_setting(&branches_toggle_key(&project.name), "on")
        } else {
            self.store
                .delete_setting(&branches_toggle_key(&project.name))
        }
    }

    /// Whether a kind keeps per-branch copies.
    pub(crate) fn copies_kind(&self, att: &AttachmentRow) -> bool {
        crate::catalog::Kind::parse(&att.kind)
            .map(|k| self.driver(k).copies().is_some())
            .unwrap_or(false)
    }

    /// The ready copy of `att` for `branch`, if made.
    fn branch_copy(&self, att: &AttachmentRow, branch: &str) -> Result<Option<CopyRow>> {
        self.ready_copy(CopyPurpose::Branch, att, branch)
    }

    /// The database `att` means while `at` is checked out: its own on the main branch (and for
    /// kinds shared by every branch), else the branch's copy — which must exist: a URL never
    /// silently names another branch's data.
    pub(super) fn database_on_branch(
        &self,
        att: &AttachmentRow,
        at: Option<&Checkout>,
    ) -> Result<String> {
        let Some(at) = at.filter(|a| !a.on_main()) else {
            return Ok(att.db_name.clone());
        };
        if !self.copies_kind(att) {
            return Ok(att.db_name.clone());
        }
        match self.branch_copy(att, &at.branch)? {
            Some(r) => Ok(r.copy),
            None => Err(CoreError::InvalidInput(format!(
                "git branch '{}' of project '{}' has no database yet; `dockhand branch create` \
                 makes it (a copy of its parent's), as `dockhand run`, `env` and `url` do on \
                 first use",
                at.branch, att.project
            ))),
        }
    }

    /// Before a project's URLs are handed out: the checked-out branch's databases, made now
    /// (from its parent) if this is their first use. `None`: nothing was made.
    pub async fn follow_branch(&self, project: &ProjectRow) -> Result<Option<BranchMade>> {
        let Some((_, at)) = self.checkout(project)? else {
            return Ok(None);
        };
        if at.on_main() {
            return Ok(None);
        }
        let mut missing = false;
        for att in self.store.attachments(Some(&project.name), None)? {
            if self.copies_kind(&att) && self.branch_copy(&att, &at.branch)?.is_none() {
                missing = true;
            }
        }
        if !missing {
            return Ok(None);
        }
        // The parent in use: this command (`url`, `run`, a tray copy) has no --end-sessions of
        // its own, so the one that has is named.
        self.create_branch(project, Some(&at.branch), &BranchSource::Parent, false)
            .await
            .map(Some)
            .map_err(|e| {
                e.agree_by(format!(
                    "run `dockhand branch create {} --end-sessions` to end them and make branch \
                     '{}''s database from its parent's",
                    shlex::try_quote(&at.branch).unwrap_or_default(),
                    at.branch
                ))
            })
    }

    /// Makes the databases of `branch` (default: the one checked out) from `from`.
    pub async fn create_branch(
        &self,
        project: &ProjectRow,
        branch: Option<&str>,
        from: &BranchSource,
        end_sessions: bool,
    ) -> Result<BranchMade> {
        let (repo, at) = self
            .checkout(project)?
            .ok_or_else(|| not_following(project))?;
        let branch = branch.unwrap_or(&at.branch).to_string();
        validate_branch(&branch)?;
        let task = self.begin_task(TaskKind::Branch, &format!("{}: {branch}", project.name))?;
        task.finish(
            self.create_branch_untracked(project, (&repo, &at), branch, from, end_sessions)
                .await,
        )
    }

    async fn create_branch_untracked(
        &self,
        project: &ProjectRow,
        (repo, at): (&Repo, &Checkout),
        branch: String,
        from: &BranchSource,
        end_sessions: bool,
    ) -> Result<BranchMade> {
        let started = Instant::now();
        if branch == at.main {
            return Err(CoreError::InvalidInput(format!(
                "'{branch}' is project '{}''s main branch: its data is the project's own database",
                project.name
            )));
        }
        let atts: Vec<AttachmentRow> = self.store.attachments(Some(&project.name), None)?;
        let (copied, shared): (Vec<_>, Vec<_>) =
            atts.into_iter().partition(|a| self.copies_kind(a));
        let shared: Vec<String> = shared
            .iter()
            .map(|a| format!("{} on {} (shared by every branch)", a.db_name, a.service))
            .collect();
        if copied.is_empty() {
            return Err(CoreError::InvalidInput(format!(
                "project '{}' has no database a branch can have a copy of (PostgreSQL){}",
                project.name,
                shared.iter().map(|s| format!("; {s}")).collect::<String>()
            )));
        }
        if copied
            .iter()
            .any(|a| self.branch_copy(a, &branch).ok().flatten().is_some())
        {
            return Err(CoreError::InvalidInput(format!(
                "branch '{branch}' of project '{}' has its database already; \
                 `dockhand branch delete {branch}` first to make it again",
                project.name
            )));
        }
        // The parent: named, or the branch it was checked out from if that one has data.
        let from = match from {
            BranchSource::Parent => {
                let parent = repo
                    .created_from(&branch)
                    .filter(|p| *p != branch)
                    .filter(|p| {
                        *p == at.main
                            || copied
                                .iter()
                                .all(|a| self.branch_copy(a, p).ok().flatten().is_some())
                    });
                BranchSource::Branch(parent.unwrap_or_else(|| at.main.clone()))
            }
            other => other.clone(),
        };
        let from_words = match &from {
            BranchSource::Branch(b) => format!("branch {b}"),
            BranchSource::Point(p) => format!("restore point {p}"),
            BranchSource::Parent => unreachable!("resolved above"),
        };
        let mut made: Vec<(i64, RestorePointPart)> = Vec::new();
        for att in &copied {
            let source = match &from {
                BranchSource::Branch(b) if *b == at.main => att.db_name.clone(),
                BranchSource::Branch(b) => {
                    self.branch_copy(att, b)?.map(|r| r.copy).ok_or_else(|| {
                        CoreError::InvalidInput(format!(
                        "branch '{b}' of project '{}' has no database to copy; pick one that has \
                         (`dockhand branch list`) or the main branch '{}'",
                        project.name, at.main
                    ))
                    })?
                }
                BranchSource::Point(p) => self.point_copy(att, p)?,
                BranchSource::Parent => unreachable!("resolved above"),
            };
            let copy = branch_copy_name(&project.name, &att.service, &att.db_name, &branch);
            let row = self.resolve(&att.service)?;
            let new = NewCopy {
                purpose: CopyPurpose::Branch,
                project: &project.name,
                label: &branch,
                service: &row.name,
                db_name: &att.db_name,
                copy: &copy,
                process: crate::leases::this_process(),
                parent: Some(&from_words),
            };
            let (row, copy, branch) = (&row, copy.as_str(), branch.as_str());
            let (new, att) = (&new, att);
            let done = self
                .with_server(row, |pw| async move {
                    // A leftover of a killed run holding the same row goes first (above, in
                    // with_server); one of a live run is that run's: wait for it, said.
                    if let Some(r) = self
                        .store
                        .copies_on(&row.name)?
                        .into_iter()
                        .find(|r| r.copy == copy && !left_by_a_killed_run(r))
                    {
                        return Err(CoreError::InvalidInput(format!(
                            "branch '{branch}' of project '{}' is being made by another \
                             Dockhand process (pid {}); wait for it",
                            project.name,
                            r.pid.unwrap_or(0)
                        )));
                    }
                    self.make_copy(
                        row,
                        &pw,
                        new,
                        &source,
                        Made::OwnedBy(&att.db_user),
                        end_sessions,
                    )
                    .await
                })
                .await;
            match done {
                Ok(id) => {
                    let size = self.store.copy_row(id)?.and_then(|r| r.size_bytes);
                    made.push((
                        id,
                        RestorePointPart {
                            service: att.service.clone(),
                            database: att.db_name.clone(),
                            copy: copy.to_string(),
                            size_bytes: size,
                        },
                    ));
                }
                Err(e) => {
                    // All of the branch or none of it.
                    for (id, _) in made {
                        let _ = self.drop_copy_row(id).await;
                    }
                    return Err(e);
                }
            }
        }
        self.event(
            &made[0].1.service,
            "branch",
            &format!(
                "branch '{branch}' of project '{}' got its databases, from {from_words}",
                project.name
            ),
        );
        Ok(BranchMade {
            branch,
            from: from_words,
            parts: made.into_iter().map(|(_, p)| p).collect(),
            shared,
            took_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// The sessions connected now to each branch's databases, by branch (the main branch's:
    /// the project's own databases). Servers that are not running have none and are not
    /// started.
    pub async fn branch_sessions(
        &self,
        project: &ProjectRow,
        main: &str,
    ) -> Result<std::collections::BTreeMap<String, i64>> {
        let mut out = std::collections::BTreeMap::new();
        let rows = self
            .store
            .copies(CopyPurpose::Branch, Some(&project.name))?;
        for att in self.store.attachments(Some(&project.name), None)? {
            if !self.copies_kind(&att) {
                continue;
            }
            let row = self.resolve(&att.service)?;
            if !self.is_running(&row.name).await? {
                continue;
            }
            let Some(copies) = self.driver(row.kind).copies() else {
                continue;
            };
            // Database name → branch.
            let mut names: Vec<(String, String)> = vec![(att.db_name.clone(), main.to_string())];
            names.extend(
                rows.iter()
                    .filter(|r| r.service == att.service && r.db_name == att.db_name)
                    .map(|r| (r.copy.clone(), r.label.clone())),
            );
            let list: Vec<&str> = names.iter().map(|(d, _)| d.as_str()).collect();
            let pw = self.admin_password(&row.name)?;
            let via = self.sql_of(&row)?.maintenance_database(&att.db_name);
            let text = self
                .run_sql_in(&row, pw.expose(), via, &copies.sessions_per(&list))
                .await?;
            for line in text.lines() {
                let Some((db, n)) = line.split_once('|') else {
                    continue;
                };
                if let (Some((_, branch)), Ok(n)) =
                    (names.iter().find(|(d, _)| d == db), n.trim().parse::<i64>())
                {
                    *out.entry(branch.clone()).or_insert(0) += n;
                }
            }
        }
        Ok(out)
    }

    /// After a checkout (the hook): the other branches whose databases still have sessions —
    /// an app started before the checkout keeps writing into the branch it was started on
    /// until it is restarted. Never fatal: a failed look is logged.
    pub async fn sessions_left_on_other_branches(
        &self,
        project: &ProjectRow,
    ) -> Vec<(String, i64)> {
        let Ok(Some((_, at))) = self.checkout(project) else {
            return Vec::new();
        };
        match self.branch_sessions(project, &at.main).await {
            Ok(map) => map
                .into_iter()
                .filter(|(b, n)| *b != at.branch && *n > 0)
                .collect(),
            Err(e) => {
                tracing::warn!("could not count the sessions on the other branches: {e}");
                Vec::new()
            }
        }
    }

    /// The project's branches with databases, and where it stands (with each one's sessions:
    /// see `branch_sessions`).
    pub async fn branches(&self, project: &ProjectRow) -> Result<Branches> {
        let (repo, at) = self
            .checkout(project)?
            .ok_or_else(|| not_following(project))?;
        let in_git: BTreeSet<String> = repo.branches();
        let atts = self.store.attachments(Some(&project.name), None)?;
        let mut out: Vec<BranchView> = Vec::new();
        for r in self
            .store
            .copies(CopyPurpose::Branch, Some(&project.name))?
            .into_iter()
            .filter(|r| r.state == CopyState::Ready)
        {
            let part = RestorePointPart {
                service: r.service.clone(),
                database: r.db_name.clone(),
                copy: r.copy.clone(),
                size_bytes: r.size_bytes,
            };
            match out.iter_mut().find(|v| v.branch == r.label) {
                Some(v) => {
                    v.size_bytes += r.size_bytes.unwrap_or(0);
                    v.parts.push(part);
                }
                None => out.push(BranchView {
                    sessions: 0,
                    in_git: in_git.contains(&r.label),
                    checked_out: r.label == at.branch,
                    branch: r.label,
                    parent: r.parent,
                    created_at_ms: r.created_at_ms,
                    size_bytes: r.size_bytes.unwrap_or(0),
                    parts: vec![part],
                }),
            }
        }
        let sessions = self.branch_sessions(project, &at.main).await?;
        for v in &mut out {
            v.sessions = sessions.get(&v.branch).copied().unwrap_or(0);
        }
        Ok(Branches {
            main_sessions: sessions.get(&at.main).copied().unwrap_or(0),
            project: project.name.clone(),
            main_databases: atts
                .iter()
                .filter(|a| self.copies_kind(a))
                .map(|a| format!("{} on {}", a.db_name, a.service))
                .collect(),
            shared: atts
                .iter()
                .filter(|a| !self.copies_kind(a))
                .map(|a| format!("{} on {}", a.db_name, a.service))
                .collect(),
            checkout: at,
            branches: out,
        })
    }

    /// Drops branch `branch`'s databases (the caller confirmed: their data goes). Not the
    /// checked-out branch's: its app and URLs use them.
    pub async fn delete_branch(&self, project: &ProjectRow, branch: &str) -> Result<()> {
        let (_, at) = self
            .checkout(project)?
            .ok_or_else(|| not_following(project))?;
        if branch == at.branch && !at.detached {
            return Err(CoreError::InvalidInput(format!(
                "branch '{branch}' is checked out, so its databases are in use; check out another \
                 branch first"
            )));
        }
        let rows: Vec<CopyRow> = self
            .store
            .copies(CopyPurpose::Branch, Some(&project.name))?
            .into_iter()
            .filter(|r| r.label == branch)
            .collect();
        if rows.is_empty() {
            return Err(CoreError::InvalidInput(format!(
                "branch '{branch}' of project '{}' has no database (`dockhand branch list` shows \
                 those that have)",
                project.name
            )));
        }
        for r in rows {
            let row = self.resolve(&r.service)?;
            let id = r.id;
            self.with_server(&row, |_pw| async move { self.drop_copy_row(id).await })
                .await?;
            self.event(
                &row.name,
                "branch",
                &format!(
                    "the database of branch '{branch}' of project '{}' was dropped",
                    project.name
                ),
            );
        }
        Ok(())
    }

    /// Installs the post-checkout hook that rewrites the project's `.env` for the branch
    /// checked out (`program`: the dockhand binary the hook runs). Refuses to replace a hook of
    /// someone else's. Returns the hook's path.
    pub fn install_branch_hook(
        &self,
        project: &ProjectRow,
        program: &Path,
    ) -> Result<std::path::PathBuf> {
        let (repo, _) = self
            .checkout(project)?
            .ok_or_else(|| not_following(project))?;
        if repo.hooks_path_set() {
            return Err(CoreError::InvalidInput(
                "this repository's git config sets core.hooksPath, so git would not run a hook \
                 Dockhand puts in .git/hooks; add `dockhand env --write .env` to your \
                 post-checkout hook there instead"
                    .into(),
            ));
        }
        let dir = repo.hooks_dir();
        let path = dir.join("post-checkout");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            if !existing.contains(HOOK_MARK) {
                return Err(CoreError::InvalidInput(format!(
                    "{} exists and is not Dockhand's; nothing was changed. Add `dockhand env \
                     --write .env` to it yourself",
                    path.display()
                )));
            }
        }
        std::fs::create_dir_all(&dir).map_err(|e| CoreError::file(&dir, "create", e))?;
        let program = program.to_string_lossy().replace('\'', "'\\''");
        let text = format!(
            "#!/bin/sh\n# {HOOK_MARK}: after a branch checkout, .env names the new branch's \
             database (made on first use).\n\
             [ \"$3\" = 1 ] || exit 0\n\
             '{program}' env --write .env >/dev/null || echo \"dockhand: .env not updated (see above)\" >&2\n\
             exit 0\n"
        );
        std::fs::write(&path, text).map_err(|e| CoreError::file(&path, "write", e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| CoreError::file(&path, "make executable", e))?;
        }
        Ok(path)
    }
}

fn branches_toggle_key(project: &str) -> String {
    format!("branches/{project}")
}

const HOOK_MARK: &str = "installed by `dockhand branch hook`";

fn not_following(project: &ProjectRow) -> CoreError {
    CoreError::InvalidInput(format!(
        "project '{}' does not follow git branches; add\n\n[branches]\nenabled = true\n\nto its \
         dockhand.toml (in a git repository) to give each branch its own database",
        project.name
    ))
}

impl super::tasks::TaskSummary for BranchMade {
    fn summary(&self) -> std::result::Result<String, String> {
        Ok(format!(
            "branch '{}' got its databases from {} in {} ms",
            self.branch, self.from, self.took_ms
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_branch_names_get_distinct_names_within_postgres_limits() {
        let long = "é".repeat(127);
        let names = [
            "main",
            "Main",
            "feature/x",
            "feature-x",
            "feature_x",
            "\"; DROP DATABASE shop; --",
            "ünï/cödé",
            long.as_str(),
        ];
        let mut seen = BTreeSet::new();
        for b in names {
            let n = branch_copy_name("shop", "pg", "shop", b);
            assert!(n.len() <= 63, "{n}");
            assert!(n.starts_with(BRANCH));
            assert!(n
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
            assert_eq!(
                n,
                branch_copy_name("shop", "pg", "shop", b),
                "deterministic"
            );
            assert!(seen.insert(n), "{b:?} collides");
        }
        // Another project's same branch is another database.
        assert_ne!(
            branch_copy_name("shop", "pg", "shop", "main"),
            branch_copy_name("blog", "pg", "shop", "main")
        );
        assert!(validate_branch(&"x".repeat(256)).is_err());
        assert!(validate_branch("a\nb").is_err());
        assert!(validate_branch(&long).is_ok());
    }
}
