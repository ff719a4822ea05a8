//! Major-version upgrades (`dockhand upgrade <service> --to <version>`), their rollback and the
//! recovery of one a crash interrupted.
//!
//! The old server keeps running on its own data until the switch. The steps:
//! 1. checks (a newer major the kind can upgrade to, the image, names free);
//! 2. a listed backup of every database (the snapshot);
//! 3. the new version's server — a staging service with its own port and a new volume
//!    (`dockhand-<service>-data-<version>`), sharing the old one's admin password;
//! 4. the projects' users are kept from connecting (nothing they write can miss the copy), and
//!    the kind's copy runs inside the new container, reading the old server over Dockhand's
//!    network; then the kind's post-copy step;
//! 5. verification: the same databases, and per table the same row count and content checksum,
//!    on both; every project's user logs in to its database on the new server with its keychain
//!    password, under the isolation rules;
//! 6. the switch: under the service's lock, the old container and the staging one are removed,
//!    the service row takes the new version, image and volume in one transaction, and the service
//!    starts on its own port — so every project's URL keeps working.
//!
//! The old data volume is kept for `--rollback` until `--finish`. Each step is recorded in the
//! store (`upgrades`) before it starts: a process killed before the switch's transaction leaves
//! the old service as it was, and whoever comes next (any Dockhand process) removes the staging
//! server and lets the projects in again; after it, the upgrade is complete.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::exec::tool_error;
use super::intent::Intent;
use super::naming::{admin_secret_key, container_name, volume_name, volume_of};
use super::tasks::TaskSummary;
use super::test_pause::test_pause;
use super::upgrade_plan::{self, Facts, Plan, Recovery};
use super::{consumers, Manager, Progress, ProgressFn, TaskKind, HOST};
use crate::backup::BackupScope;
use crate::drivers::upgrade::MajorUpgrade;
use crate::engine::exec_collect_env;
use crate::error::{human_duration, CoreError, Result};
use crate::ports::choose_port;
use crate::provision;
use crate::provision::Grant;
use crate::store::{Desired, NewService, ServiceRow, UpgradeRow, UpgradeStep};

/// How long the copy of a server may take (a large database on a slow disk).
const COPY_LIMIT: Duration = Duration::from_secs(6 * 3600);
/// One verification query (a full read of the largest table).
const VERIFY_LIMIT: Duration = Duration::from_secs(3600);
/// One statement or command as the admin.
const SQL_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Serialize)]
pub struct Upgraded {
    pub service: String,
    pub from_version: String,
    pub to_version: String,
    pub host_port: u16,
    /// Backups taken before anything changed.
    pub backups: usize,
    pub databases: usize,
    pub tables: usize,
    pub rows: u64,
    /// The volume holding the old version's data, kept for `--rollback`.
    pub kept_volume: String,
    /// How long projects could not connect (copy, verification and switch).
    pub blocked_ms: u64,
    /// How long the server was down (the switch itself).
    pub switch_ms: u64,
    /// Of `blocked_ms`: the copy and the verification.
    pub copy_ms: u64,
    pub verify_ms: u64,
    pub took_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RolledBack {
    pub service: String,
    pub version: String,
    pub from_version: String,
    pub backups: usize,
    /// The volume holding the newer version's data, kept until `--finish`.
    pub kept_volume: String,
}

/// What the window offers for a service: the versions it can be upgraded to, or the upgrade on
/// record (to roll back or finish).
#[derive(Debug, Clone, Serialize)]
pub struct UpgradeChoices {
    pub service: String,
    pub kind: crate::catalog::Kind,
    pub version: String,
    pub targets: Vec<UpgradeTarget>,
    pub on_record: Option<UpgradeRow>,
    /// Why there is nothing to offer, when there is not.
    pub why_none: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpgradeTarget {
    /// What `upgrade --to` takes (`17`, `valkey:8`).
    pub to: String,
    pub label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finished {
    pub service: String,
    pub removed_volume: String,
}

/// The old kind's upgrade knowledge and the new kind's (the same but for Redis → Valkey).
type Upgraders<'a> = (&'a dyn MajorUpgrade, &'a dyn MajorUpgrade);

/// Where an upgrade's time went.
struct Timings {
    blocked: Duration,
    switch: Duration,
    copy: Duration,
    verify: Duration,
}

/// One table's row count and content checksum, as the kind's statement prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TableSum {
    table: String,
    rows: u64,
    checksum: String,
}

fn parse_sums(out: &str) -> Vec<TableSum> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            // Split from the right: a table's name may hold the separator (psql's `|`).
            let mut f = l.rsplitn(3, ['|', '\t']);
            let checksum = f.next().unwrap_or_default().trim().to_string();
            let rows = f.next().and_then(|n| n.trim().parse().ok()).unwrap_or(0);
            TableSum {
                table: f.next().unwrap_or_default().to_string(),
                rows,
                checksum,
            }
        })
        .collect()
}

fn describe_sums(sums: &[TableSum]) -> String {
    if sums.is_empty() {
        return "no keys".into();
    }
    sums.iter()
        .map(|t| format!("{} {} keys", t.table, t.rows))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Manager {
    /// Upgrades a service to a newer major version; see the module documentation.
    pub async fn upgrade(
        &self,
        query: &str,
        to: &str,
        image: Option<&str>,
        progress: &ProgressFn<'_>,
    ) -> Result<Upgraded> {
        let target = format!("{} to {to}", self.task_target(query));
        let task = self.begin_task(TaskKind::Upgrade, &target)?;
        let feed = task.feed(progress);
        task.finish(self.upgrade_untracked(query, to, image, &feed).await)
    }

    async fn upgrade_untracked(
        &self,
        query: &str,
        to: &str,
        image: Option<&str>,
        progress: &ProgressFn<'_>,
    ) -> Result<Upgraded> {
        let row = self.resolve(query)?;
        self.refuse_staging(&row)?;
        let _ulock = self.upgrade_lock(&row.name).await?;
        self.recover_upgrade_locked(&row.name).await?;
        let row = self.resolve(&row.name)?;
        let kept = self.store.upgrade(&row.name)?;
        let mut project_services = Vec::new();
        for a in self.store.attachments(None, Some(&row.name))? {
            for o in self.store.attachments(Some(&a.project), None)? {
                project_services.push((a.project.clone(), o.kind, o.service));
            }
        }
        let Plan {
            to,
            to_image,
            to_volume,
            staging,
            from: up,
            into: target_up,
        } = upgrade_plan::plan(
            &Facts {
                row: &row,
                kept: kept.as_ref(),
                project_services: &project_services,
                to,
                image,
            },
            |k| self.driver(k),
        )?;
        let to_display = to.kind.spec().display_name;
        if self.engine.inspect_volume(&to_volume).await?.is_some() {
            return Err(CoreError::InvalidInput(format!(
                "Docker volume {to_volume} exists already (data of an earlier {to_display} {} of '{}'?); \
                 look at it and remove it (`docker volume rm {to_volume}`) before upgrading",
                to.version, row.name
            )));
        }
        if self.store.service(&staging)?.is_some() {
            return Err(CoreError::InvalidInput(format!(
                "a service named '{staging}' exists; the upgrade builds the new server under that name — rename or remove it first"
            )));
        }

        // The new version's image first: one that cannot be had (not pulled, not built, no
        // registry) fails the upgrade before anything else happens — no backups "before the
        // upgrade" of an upgrade that never starts.
        let mut with_new_image = row.clone();
        with_new_image.image = to_image.clone();
        self.ensure_image(&with_new_image, progress).await?;

        // The old service runs, held by a lease, until the switch.
        let started = Instant::now();
        let holder = format!("upgrade:{}", std::process::id());
        let on_service = |p: Progress| progress(p.on_behalf_of(&row.name));
        let (lease, _) = self
            .acquire(&row.name, &holder, false, None, &on_service)
            .await?;
        // A database no tool can read could be neither backed up nor copied: stop before
        // anything (its data would not be on the new server, and `--finish` would delete it).
        let closed = async {
            let pw = self.admin_password(&row.name)?;
            self.closed_databases(&row, pw.expose()).await
        }
        .await;
        let refusal = match closed {
            Ok(c) if c.is_empty() => None,
            Ok(c) => Some(CoreError::ClosedDatabases {
                what: format!("cannot upgrade '{}'", row.name),
                service: row.name.clone(),
                names: super::exec::quoted_list(&c),
                done: "; nothing was changed".into(),
            }),
            Err(e) => Some(e),
        };
        if let Some(e) = refusal {
            if let Err(e) = self.release(&lease).await {
                tracing::warn!("could not release the upgrade lease: {e}");
            }
            return Err(e);
        }
        let u = UpgradeRow {
            service: row.name.clone(),
            kind: row.kind,
            from_version: row.version.clone(),
            from_image: row.image.clone(),
            from_volume: volume_of(&row),
            to_kind: to.kind,
            to_version: to.version.clone(),
            to_image,
            to_volume,
            staging,
            step: UpgradeStep::Copying,
            detail: None,
            started_at_ms: 0,
            updated_at_ms: 0,
        };
        let result = self
            .upgrade_held(&row, &u, (up, target_up), started, progress)
            .await;
        if let Err(e) = self.release(&lease).await {
            tracing::warn!("could not release the upgrade lease: {e}");
        }
        result
    }

    async fn upgrade_held(
        &self,
        row: &ServiceRow,
        u: &UpgradeRow,
        up: Upgraders<'_>,
        started: Instant,
        progress: &ProgressFn<'_>,
    ) -> Result<Upgraded> {
        let display = row.kind.spec().display_name;
        self.store.begin_upgrade(u)?;
        self.event(
            &row.name,
            "upgrade-started",
            &format!(
                "upgrading from {display} {} to {}",
                u.from_version, u.to_version
            ),
        );
        // The snapshot and the new server's start (pull, initdb) overlap: neither touches what
        // the other does, and the copy waits for both.
        progress(Progress::step(
            &row.name,
            format!(
                "backing up every database of '{}' while {display} {} starts beside it",
                row.name, u.to_version
            ),
        ));
        let reason = format!("before the upgrade to {display} {}", u.to_version);
        let (backups, staging) = tokio::join!(
            self.backup_held(row, &BackupScope::All, &reason, progress),
            self.start_staging(row, u, progress)
        );
        let outcome = async {
            let backups = backups.map_err(|e| {
                CoreError::InvalidInput(format!(
                    "the backup before the upgrade failed, so nothing was changed: {e}"
                ))
            })?;
            let staging = staging?;
            let done = self
                .build_and_switch(row, u, &staging, up, progress)
                .await?;
            Ok::<_, CoreError>((backups, done))
        }
        .await;
        match outcome {
            Ok((
                backups,
                (
                    sums,
                    Timings {
                        blocked,
                        switch,
                        copy,
                        verify,
                    },
                ),
            )) => {
                let upgraded = Upgraded {
                    service: row.name.clone(),
                    from_version: u.from_version.clone(),
                    to_version: u.to_version.clone(),
                    host_port: row.host_port,
                    backups: backups.len(),
                    databases: sums.len(),
                    tables: sums.iter().map(Vec::len).sum(),
                    rows: sums.iter().flatten().map(|t| t.rows).sum(),
                    kept_volume: u.from_volume.clone(),
                    blocked_ms: blocked.as_millis() as u64,
                    switch_ms: switch.as_millis() as u64,
                    copy_ms: copy.as_millis() as u64,
                    verify_ms: verify.as_millis() as u64,
                    took_ms: started.elapsed().as_millis() as u64,
                };
                self.event(
                    &row.name,
                    "upgraded",
                    &format!(
                        "upgraded from {display} {} to {}: {} databases, {} tables, {} rows verified; \
                         projects waited {}, the server was down {}; the {} data is kept in {} for `dockhand upgrade --rollback {}`",
                        u.from_version,
                        u.to_version,
                        upgraded.databases,
                        upgraded.tables,
                        upgraded.rows,
                        human_duration(blocked),
                        human_duration(switch),
                        u.from_version,
                        u.from_volume,
                        row.name
                    ),
                );
                Ok(upgraded)
            }
            Err(e) => {
                let cleanup = self.abandon_upgrade(u).await;
                self.event(
                    &row.name,
                    "upgrade-failed",
                    &format!(
                        "the upgrade to {display} {} failed ({e}); '{}' runs {} as before",
                        u.to_version, row.name, u.from_version
                    ),
                );
                if let Err(c) = cleanup {
                    tracing::warn!("cleaning up after the failed upgrade: {c}");
                }
                Err(e)
            }
        }
    }

    /// Step 3: the new server, beside the old one.
    async fn start_staging(
        &self,
        row: &ServiceRow,
        u: &UpgradeRow,
        progress: &ProgressFn<'_>,
    ) -> Result<ServiceRow> {
        let display = u.to_kind.spec().display_name;
        test_pause("upgrade-staging").await;
        // Same admin password (the copy brings the old admin's password hash along), its own
        // port, the new volume labelled as this service's data of the new version.
        let admin_pw = self.admin_password(&row.name)?;
        self.secrets
            .put(&admin_secret_key(&self.instance, &u.staging), &admin_pw)?;
        let mut as_new = row.clone();
        as_new.kind = u.to_kind;
        as_new.version = u.to_version.clone();
        as_new.image = u.to_image.clone();
        self.engine
            .create_volume(&u.to_volume, self.base_labels(&as_new))
            .await?;
        let port_free = self.port_free;
        let kind = u.to_kind;
        let (staging, _) = self.store.claim_service(
            &NewService {
                name: &u.staging,
                kind,
                version: &u.to_version,
                image: &u.to_image,
                port_explicit: false,
                pinned: true,
                volume: Some(&u.to_volume),
            },
            |taken| choose_port(kind, None, None, taken, port_free),
        )?;
        // The copy runs with the service's own memory limit: the kind's default may be too
        // small for the data the old server holds.
        self.store.set_memory(&u.staging, row.memory_mb)?;
        let staging = ServiceRow {
            memory_mb: row.memory_mb,
            ..staging
        };
        progress(Progress::step(
            &row.name,
            format!(
                "starting {display} {} beside {} (as '{}', port {})",
                u.to_version, u.from_version, u.staging, staging.host_port
            ),
        ));
        let _lock = self.lock(&u.staging, consumers::LOCK_LIMIT).await?;
        self.start(staging.clone(), &|p: Progress| {
            progress(p.on_behalf_of(&row.name))
        })
        .await?;
        Ok(staging)
    }

    /// Steps 4 to 6. Returns the verified tables per database, how long projects were kept out
    /// and how long the switch took.
    async fn build_and_switch(
        &self,
        row: &ServiceRow,
        u: &UpgradeRow,
        staging: &ServiceRow,
        (up, target_up): Upgraders<'_>,
        progress: &ProgressFn<'_>,
    ) -> Result<(Vec<Vec<TableSum>>, Timings)> {
        let display = row.kind.spec().display_name;
        let kind = row.kind;
        let admin_pw = self.admin_password(&row.name)?;
        // Projects wait from here to the end of the switch: nothing they write can miss the copy.
        let blocked_at = Instant::now();
        let attachments = self.store.attachments(None, Some(&row.name))?;
        let users: Vec<&str> = attachments.iter().map(|a| a.db_user.as_str()).collect();
        for t in up.freeze(admin_pw.expose(), &users) {
            self.run_tool(
                &container_name(&row.name),
                &t,
                SQL_LIMIT,
                "keeping projects out",
            )
            .await?;
        }
        test_pause("upgrade-copying").await;
        progress(Progress::step(
            &row.name,
            format!(
                "copying every database, role and grant from {} to {} (projects wait meanwhile)",
                u.from_version, u.to_version
            ),
        ));
        let staging_container = container_name(&u.staging);
        let copy_at = Instant::now();
        let databases = self.list_databases(row, admin_pw.expose()).await?;
        let steps = target_up.copy(admin_pw.expose(), &row.name, &databases);
        let (count, mut reowned) = (steps.len(), 0);
        for (i, step) in steps.iter().enumerate() {
            if count > 1 {
                progress(Progress::step(
                    &row.name,
                    format!("copying {} ({}/{count})", step.what, i + 1),
                ));
            }
            let out = self
                .run_tool(&staging_container, &step.tool, COPY_LIMIT, "the copy")
                .await?;
            reowned += target_up.reowned(&out);
        }
        if reowned > 0 {
            let note = format!(
                "{reowned} object(s) in databases of projects belonged to other roles (the admin's, or \
                 another project's); on {display} {} they belong to their database's owner, which restored them",
                u.to_version
            );
            progress(Progress::step(&row.name, note.clone()));
            self.event(&row.name, "upgrade-reowned", &note);
        }
        if let Some(after) = target_up.after_copy(admin_pw.expose()) {
            self.run_tool(&staging_container, &after, COPY_LIMIT, "the post-copy step")
                .await?;
        }

        let copy_took = copy_at.elapsed();
        test_pause("upgrade-verifying").await;
        let verify_at = Instant::now();
        progress(Progress::step(
            &row.name,
            "verifying: databases, row counts and content checksums of every table",
        ));
        let sums = self
            .verify_copy(row, staging, (up, target_up), admin_pw.expose())
            .await?;
        // Every project's user logs in to its database on the new server, under the isolation
        // rules (re-applied there: the copy brought the users in as they were, kept out).
        let staging_admin = self.probe_target(staging, &admin_pw);
        for att in &attachments {
            let (password, connection_limit) = self.grant_secret(att)?;
            let grant = Grant {
                database: &att.db_name,
                user: &att.db_user,
                password: &password,
                connection_limit,
            };
            let driver = self.driver(u.to_kind);
            provision::provision(
                self.engine.as_ref(),
                driver,
                &staging_container,
                &staging_admin,
                &grant,
            )
            .await?;
            if !provision::verify(driver, HOST, staging.host_port, &grant).await {
                return Err(CoreError::InvalidInput(format!(
                    "after the copy, project '{}' cannot log in to its database '{}' on {display} {}; nothing was switched",
                    att.project, att.db_name, u.to_version
                )));
            }
        }

        let verify_took = verify_at.elapsed();
        test_pause("upgrade-switching").await;
        progress(Progress::step(
            &row.name,
            format!(
                "switching '{}' to {display} {} on port {}",
                row.name, u.to_version, row.host_port
            ),
        ));
        self.store
            .set_upgrade_step(&row.name, UpgradeStep::Switching, None)?;
        let switch_at = Instant::now();
        {
            // The service's lock keeps the supervisor and consumers from starting the old
            // container again between its removal and the new one's start.
            let _lock = self.lock(&row.name, consumers::LOCK_LIMIT).await?;
            self.note_intent(&row.name, Intent::Stop);
            self.note_intent(&u.staging, Intent::Stop);
            let switched = async {
                self.remove_container_of(&u.staging, u.to_kind).await?;
                self.remove_container_of(&row.name, kind).await?;
                test_pause("upgrade-switch-commit").await;
                self.store.switch_upgrade(u)?;
                Ok::<_, CoreError>(())
            }
            .await;
            self.clear_intent(&u.staging);
            if let Err(e) = switched {
                self.clear_intent(&row.name);
                return Err(e);
            }
            let _ = self
                .secrets
                .delete(&admin_secret_key(&self.instance, &u.staging));
            let new_row = self.resolve(&row.name)?;
            let start = self
                .start(new_row, &|p: Progress| progress(p.on_behalf_of(&row.name)))
                .await;
            self.clear_intent(&row.name);
            if let Err(e) = start {
                drop(_lock);
                // The new server does not start on the service's own port: back to the old.
                let why = format!(
                    "{display} {} did not start as '{}' ({e})",
                    u.to_version, row.name
                );
                self.roll_back_locked(&row.name, None, &|_| {})
                    .await
                    .map_err(|r| {
                        CoreError::InvalidInput(format!("{why}; rolling back failed too: {r}"))
                    })?;
                return Err(CoreError::InvalidInput(format!(
                    "{why}; rolled back to {} (its data untouched)",
                    u.from_version
                )));
            }
        }
        Ok((
            sums,
            Timings {
                blocked: blocked_at.elapsed(),
                switch: switch_at.elapsed(),
                copy: copy_took,
                verify: verify_took,
            },
        ))
    }

    /// The same databases on both servers, and in each the same tables with the same row counts
    /// and content checksums.
    async fn verify_copy(
        &self,
        old: &ServiceRow,
        new: &ServiceRow,
        (up, target_up): Upgraders<'_>,
        password: &str,
    ) -> Result<Vec<Vec<TableSum>>> {
        // Each side's own tool (Redis's redis-cli, Valkey's valkey-cli).
        if let (Some(t), Some(tn)) = (
            up.server_checksums(password),
            target_up.server_checksums(password),
        ) {
            let (co, cn) = (container_name(&old.name), container_name(&new.name));
            let (x, y) = tokio::join!(
                self.run_tool(&co, &t, VERIFY_LIMIT, "the verification"),
                self.run_tool(&cn, &tn, VERIFY_LIMIT, "the verification")
            );
            let (x, y) = (parse_sums(&x?), parse_sums(&y?));
            if x != y {
                return Err(CoreError::InvalidInput(format!(
                    "verification failed: the databases' keys differ after the copy (old: {}; new: {}); nothing was switched",
                    describe_sums(&x),
                    describe_sums(&y)
                )));
            }
            return Ok(x.into_iter().map(|t| vec![t]).collect());
        }
        let (a, b) = tokio::join!(
            self.list_databases(old, password),
            self.list_databases(new, password)
        );
        let (mut a, mut b) = (a?, b?);
        a.sort();
        b.sort();
        if a != b {
            return Err(CoreError::InvalidInput(format!(
                "verification failed: the old server has databases [{}], the new one [{}]; nothing was switched",
                a.join(", "),
                b.join(", ")
            )));
        }
        let mut all = Vec::new();
        for db in &a {
            let statement = up.table_checksums(db);
            let (x, y) = tokio::join!(
                self.run_sql_within(old, password, db, &statement, VERIFY_LIMIT),
                self.run_sql_within(new, password, db, &statement, VERIFY_LIMIT)
            );
            let (x, y) = (parse_sums(&x?), parse_sums(&y?));
            if x != y {
                let differ: Vec<String> = x
                    .iter()
                    .filter(|t| !y.contains(t))
                    .map(|t| t.table.clone())
                    .chain(
                        y.iter()
                            .filter(|t| !x.iter().any(|o| o.table == t.table))
                            .map(|t| t.table.clone()),
                    )
                    .collect();
                return Err(CoreError::InvalidInput(format!(
                    "verification failed in database '{db}': tables differ after the copy ({}); nothing was switched",
                    differ.join(", ")
                )));
            }
            all.push(x);
        }
        Ok(all)
    }

    /// Runs a tool in a container; a non-zero exit is an error with the tool's own words.
    async fn run_tool(
        &self,
        container: &str,
        t: &crate::drivers::ToolCommand,
        limit: Duration,
        what: &str,
    ) -> Result<String> {
        let out =
            exec_collect_env(self.engine.as_ref(), container, &t.argv(), &t.env, limit).await?;
        if out.exit_code != 0 {
            return Err(tool_error(
                format!("{what} in {container}"),
                t,
                Some(out.exit_code),
                &out.stderr,
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    }

    /// Undoes an upgrade that did not reach the switch: the staging server and its volume go,
    /// the projects may connect to the old server again, which runs if it should.
    async fn abandon_upgrade(&self, u: &UpgradeRow) -> Result<()> {
        if let Some(row) = self.store.service(&u.service)? {
            if row.version != u.from_version {
                // The switch's transaction happened: this is not an upgrade to abandon.
                return Ok(());
            }
        }
        self.note_intent(&u.staging, Intent::Stop);
        let removed = self.remove_container_of(&u.staging, u.to_kind).await;
        self.clear_intent(&u.staging);
        removed?;
        self.store.delete_service(&u.staging)?;
        if let Some(v) = self.engine.inspect_volume(&u.to_volume).await? {
            self.check_volume_is_ours(&u.to_volume, u.to_kind, &u.to_version, &v.labels)?;
            self.engine.remove_volume(&u.to_volume).await?;
        }
        self.secrets
            .delete(&admin_secret_key(&self.instance, &u.staging))?;
        self.store.delete_upgrade(&u.service)?;
        // The old server: running again if it should, and open to its projects again.
        if let Some(row) = self.store.service(&u.service)? {
            if row.desired == Desired::Running && !self.is_running(&row.name).await? {
                self.start_existing(&row.name).await?;
            }
            if self.is_running(&row.name).await? {
                self.reprovision_all(&row.name).await;
            }
        }
        Ok(())
    }

    /// Finishes or undoes an upgrade a killed process left half-way (the caller holds the
    /// upgrade lock). Returns what was done, if anything.
    async fn recover_upgrade_locked(&self, service: &str) -> Result<Option<String>> {
        let Some(u) = self.store.upgrade(service)? else {
            return Ok(None);
        };
        let version = self.store.service(service)?.map(|r| r.version);
        let done = match upgrade_plan::recovery(&u, version.as_deref()) {
            Recovery::Nothing => return Ok(None),
            Recovery::MarkSwitched => {
                self.store
                    .set_upgrade_step(service, UpgradeStep::Switched, None)?;
                return Ok(None);
            }
            Recovery::Abandon { during_switch } => {
                self.abandon_upgrade(&u).await?;
                format!(
                    "an upgrade to {} was interrupted ({}); its new server was removed and '{service}' runs {} as before",
                    u.to_version,
                    if during_switch {
                        "during the switch"
                    } else {
                        "before the switch"
                    },
                    u.from_version
                )
            }
            Recovery::CompleteRollback => {
                self.roll_back_locked(service, Some(&u), &|_| {}).await?;
                format!(
                    "a rollback to {} was interrupted; it was completed",
                    u.from_version
                )
            }
        };
        self.event(service, "upgrade-recovered", &done);
        Ok(Some(done))
    }

    /// Recovers every interrupted upgrade no live process is working on (at start-up of every
    /// Dockhand process, from `reconcile`).
    pub(super) async fn recover_upgrades(&self) -> Result<()> {
        for u in self.store.upgrades()? {
            if matches!(u.step, UpgradeStep::Switched | UpgradeStep::RolledBack) {
                continue;
            }
            let Ok(_lock) = self.try_upgrade_lock(&u.service).await else {
                continue; // a live process is upgrading it
            };
            if let Err(e) = self.recover_upgrade_locked(&u.service).await {
                tracing::warn!(
                    service = u.service,
                    "could not recover an interrupted upgrade: {e}"
                );
            }
        }
        Ok(())
    }

    /// Goes back to the version before the last upgrade: the newer version's databases are
    /// backed up first, and its data is kept until `--finish`.
    pub async fn rollback_upgrade(
        &self,
        query: &str,
        progress: &ProgressFn<'_>,
    ) -> Result<RolledBack> {
        let task = self.begin_task(TaskKind::Rollback, &self.task_target(query))?;
        let feed = task.feed(progress);
        task.finish(self.rollback_untracked(query, &feed).await)
    }

    async fn rollback_untracked(
        &self,
        query: &str,
        progress: &ProgressFn<'_>,
    ) -> Result<RolledBack> {
        let row = self.resolve(query)?;
        self.refuse_staging(&row)?;
        let _ulock = self.upgrade_lock(&row.name).await?;
        self.recover_upgrade_locked(&row.name).await?;
        let u = match self.store.upgrade(&row.name)? {
            Some(u) if u.step == UpgradeStep::Switched => u,
            Some(u) if u.step == UpgradeStep::RolledBack => {
                return Err(CoreError::InvalidInput(format!(
                    "'{}' was rolled back to {} already",
                    row.name, u.from_version
                )))
            }
            _ => {
                return Err(CoreError::InvalidInput(format!(
                    "'{}' has no upgrade to roll back",
                    row.name
                )))
            }
        };
        self.roll_back_locked(&row.name, Some(&u), progress).await
    }

    /// The rollback itself (the caller holds the upgrade lock).
    async fn roll_back_locked(
        &self,
        service: &str,
        known: Option<&UpgradeRow>,
        progress: &ProgressFn<'_>,
    ) -> Result<RolledBack> {
        let u = match known {
            Some(u) => u.clone(),
            None => self.store.upgrade(service)?.ok_or_else(|| {
                CoreError::InvalidInput(format!("'{service}' has no upgrade to roll back"))
            })?,
        };
        let display = u.kind.spec().display_name;
        if self.engine.inspect_volume(&u.from_volume).await?.is_none() {
            return Err(CoreError::InvalidInput(format!(
                "the {display} {} data of '{service}' (volume {}) is gone; nothing to roll back to",
                u.from_version, u.from_volume
            )));
        }
        let row = self.resolve(service)?;
        let mut backups = 0;
        if row.version == u.to_version && self.is_running(service).await? {
            progress(Progress::step(
                &row.name,
                format!(
                    "backing up every database of '{service}' on {display} {} first",
                    u.to_version
                ),
            ));
            let reason = format!("before the rollback to {display} {}", u.from_version);
            match self
                .backup_held(&row, &BackupScope::All, &reason, progress)
                .await
            {
                Ok(b) => backups = b.len(),
                Err(e) => {
                    return Err(CoreError::InvalidInput(format!(
                        "the backup before the rollback failed, so nothing was changed: {e}"
                    )))
                }
            }
        }
        self.store
            .set_upgrade_step(service, UpgradeStep::RollingBack, None)?;
        progress(Progress::step(
            &row.name,
            format!("switching '{service}' back to {display} {}", u.from_version),
        ));
        let _lock = self.lock(service, consumers::LOCK_LIMIT).await?;
        self.note_intent(service, Intent::Stop);
        let result = async {
            self.remove_container_of(service, row.kind).await?;
            test_pause("rollback-commit").await;
            self.store.switch_back_upgrade(&u, &volume_name(service))?;
            let old = self.resolve(service)?;
            if old.desired == Desired::Running {
                self.start(old, &|p: Progress| progress(p.on_behalf_of(service)))
                    .await?;
            }
            Ok::<_, CoreError>(())
        }
        .await;
        self.clear_intent(service);
        result?;
        self.event(
            service,
            "rolled-back",
            &format!(
                "rolled back from {display} {} to {}; the {} data is kept in {} until `dockhand upgrade --finish {service}`",
                u.to_version, u.from_version, u.to_version, u.to_volume
            ),
        );
        Ok(RolledBack {
            service: service.to_string(),
            version: u.from_version.clone(),
            from_version: u.to_version.clone(),
            backups,
            kept_volume: u.to_volume.clone(),
        })
    }

    /// Removes the data an upgrade kept (the old version's after an upgrade, the newer one's
    /// after a rollback) and forgets the upgrade.
    pub async fn finish_upgrade(&self, query: &str) -> Result<Finished> {
        let row = self.resolve(query)?;
        let _ulock = self.upgrade_lock(&row.name).await?;
        self.recover_upgrade_locked(&row.name).await?;
        let u = self.store.upgrade(&row.name)?.ok_or_else(|| {
            CoreError::InvalidInput(format!("'{}' keeps no data from an upgrade", row.name))
        })?;
        let (volume, kind, version) = match u.step {
            UpgradeStep::Switched => (u.from_volume.clone(), u.kind, u.from_version.clone()),
            UpgradeStep::RolledBack => (u.to_volume.clone(), u.to_kind, u.to_version.clone()),
            _ => unreachable!("recovered above"),
        };
        if volume == volume_of(&row) {
            return Err(CoreError::InvalidInput(format!(
                "volume {volume} is the data '{}' runs on; nothing was removed",
                row.name
            )));
        }
        if let Some(v) = self.engine.inspect_volume(&volume).await? {
            self.check_volume_is_ours(&volume, kind, &version, &v.labels)?;
            self.engine.remove_volume(&volume).await?;
        }
        self.store.delete_upgrade(&row.name)?;
        self.event(
            &row.name,
            "upgrade-finished",
            &format!("removed the {version} data kept by the upgrade ({volume})"),
        );
        Ok(Finished {
            service: row.name,
            removed_volume: volume,
        })
    }

    /// The upgrades the window offers for a service (see [`UpgradeChoices`]).
    pub fn upgrade_choices(&self, query: &str) -> Result<UpgradeChoices> {
        let row = self.resolve(query)?;
        let on_record = self.store.upgrade(&row.name)?;
        let mut targets = Vec::new();
        let mut why_none = None;
        match self.driver(row.kind).major_upgrade() {
            _ if row.mode.ephemeral => {
                why_none = Some(
                    Self::refuse_ephemeral_upgrade(&row)
                        .unwrap_err()
                        .to_string(),
                );
            }
            None => {
                why_none = Some(format!(
                    "Dockhand cannot upgrade {} yet",
                    row.kind.spec().display_name
                ))
            }
            Some(up) => {
                for kind in crate::catalog::Kind::ALL {
                    let spec = kind.spec();
                    for v in spec.versions {
                        let ok = if kind == row.kind {
                            up.check_versions(&row.version, v).is_ok()
                        } else {
                            up.check_kind_change(&row.version, kind).is_ok()
                                && *v == spec.default_version
                        };
                        if ok {
                            targets.push(UpgradeTarget {
                                to: if kind == row.kind {
                                    v.to_string()
                                } else {
                                    format!("{kind}:{v}")
                                },
                                label: format!("{} {v}", spec.display_name),
                            });
                        }
                    }
                }
                if targets.is_empty() {
                    why_none = Some(format!(
                        "{} {} is the newest version Dockhand knows",
                        row.kind.spec().display_name,
                        row.version
                    ));
                }
            }
        }
        Ok(UpgradeChoices {
            service: row.name,
            kind: row.kind,
            version: row.version,
            targets,
            on_record,
            why_none,
        })
    }

    /// The upgrade on record for a service, if any.
    pub fn upgrade_status(&self, query: &str) -> Result<Option<UpgradeRow>> {
        let row = self.resolve(query)?;
        self.store.upgrade(&row.name)
    }

    fn refuse_staging(&self, row: &ServiceRow) -> Result<()> {
        if let Some(u) = self
            .store
            .upgrades()?
            .into_iter()
            .find(|u| u.staging == row.name)
        {
            return Err(CoreError::InvalidInput(format!(
                "'{}' is the new server of '{}''s upgrade in progress; upgrade, roll back or finish '{}' instead",
                row.name, u.service, u.service
            )));
        }
        Ok(())
    }

    async fn upgrade_lock(&self, service: &str) -> Result<crate::leases::ServiceLock> {
        self.try_upgrade_lock(service).await.map_err(|_| {
            CoreError::InvalidInput(format!(
                "another Dockhand process is upgrading '{service}' right now; wait for it to finish"
            ))
        })
    }

    async fn try_upgrade_lock(&self, service: &str) -> Result<crate::leases::ServiceLock> {
        self.lock(&format!("upgrade-{service}"), Duration::from_millis(200))
            .await
    }
}

/// How an upgrade is worded in its task record.
impl TaskSummary for Upgraded {
    fn summary(&self) -> std::result::Result<String, String> {
        Ok(format!(
            "'{}' upgraded from {} to {} ({} databases, {} rows verified); the old data is kept in {}",
            self.service,
            self.from_version,
            self.to_version,
            self.databases,
            self.rows,
            self.kept_volume
        ))
    }
}

impl TaskSummary for RolledBack {
    fn summary(&self) -> std::result::Result<String, String> {
        Ok(format!(
            "'{}' rolled back from {} to {}; the {} data is kept in {}",
            self.service, self.from_version, self.version, self.from_version, self.kept_volume
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_parse_per_table() {
        let s = parse_sums("public.a|3|-12\npublic.\"x|y\"|0|0\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].rows, 3);
        assert_eq!(s[0].checksum, "-12");
        assert_eq!(s[1].table, "public.\"x|y\"");
    }
}
