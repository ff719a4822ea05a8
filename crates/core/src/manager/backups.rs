//! Backup, listing, verification, retention and restore of service databases.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{container_of, Manager};
use crate::backup::file::{io_error, private_dir_all, sha256_of, DumpFile};
use crate::backup::tools::{ToolCommand, WHOLE_SERVER};
use crate::backup::{
    retention_victims, timestamp, validate_database_name, BackupAllReport, BackupPolicy,
    BackupProgress, BackupProgressFn, BackupScope, Restored, Schedule, Verification, DEFAULT_KEEP,
};
use crate::catalog::Kind;
use crate::drivers::{
    BackupUnit, MarkedRestore, ReadabilityCheck, RenamingRestore, RestoreStrategy, SqlDialect,
};
use crate::engine::{exec_collect_env, EngineError, LogChunk, OutputStream};
use crate::error::{CoreError, Result};
use crate::store::{now_ms, BackupRow, NewBackup, ServiceRow};

/// A dump or restore of a developer's database; generous, but never unbounded.
pub(super) const DUMP_LIMIT: Duration = Duration::from_secs(6 * 3600);
const TOOL_LIMIT: Duration = Duration::from_secs(30);

const KEEP_KEY: &str = "backup_keep";
const MAX_AGE_KEY: &str = "backup_max_age_days";
const SCHEDULE_KEY: &str = "backup_schedule";
const DIR_KEY: &str = "backup_dir";

impl Manager {
    pub fn backup_policy(&self) -> Result<BackupPolicy> {
        let s = |k| self.store.setting(k);
        Ok(BackupPolicy {
            keep: s(KEEP_KEY)?
                .and_then(|v| v.parse().ok())
                .unwrap_or(DEFAULT_KEEP),
            max_age_days: s(MAX_AGE_KEY)?
                .and_then(|v| v.parse().ok())
                .filter(|d| *d > 0),
            schedule: s(SCHEDULE_KEY)?
                .and_then(|v| Schedule::parse(&v).ok())
                .unwrap_or(Schedule::Off),
            dir: s(DIR_KEY)?
                .map(PathBuf::from)
                .unwrap_or_else(|| self.home.backups_dir()),
        })
    }

    /// Changes one backup setting: `keep` (count, 0 = all), `max-age-days` (0 = off),
    /// `schedule` (off/hourly/daily/weekly), `dir` (an absolute folder).
    pub fn set_backup_setting(&self, key: &str, value: &str) -> Result<()> {
        let bad = |what: &str| CoreError::InvalidInput(format!("{key} = {value:?}: {what}"));
        match key {
            "keep" => {
                let n: u32 = value
                    .parse()
                    .map_err(|_| bad("expected a number of backups per database (0 keeps all)"))?;
                self.store.set_setting(KEEP_KEY, &n.to_string())
            }
            "max-age-days" => {
                let n: u32 = value
                    .parse()
                    .map_err(|_| bad("expected a number of days (0 turns it off)"))?;
                self.store.set_setting(MAX_AGE_KEY, &n.to_string())
            }
            "schedule" => {
                let s = Schedule::parse(value)?;
                self.store.set_setting(SCHEDULE_KEY, s.as_str())
            }
            "dir" => {
                let p = Path::new(value);
                if !p.is_absolute() {
                    return Err(bad("expected an absolute folder path"));
                }
                private_dir_all(p, p)?;
                self.store.set_setting(DIR_KEY, value)
            }
            _ => Err(CoreError::InvalidInput(format!(
                "unknown backup setting '{key}'; use keep, max-age-days, schedule or dir"
            ))),
        }
    }

    /// Backs up databases of one service. The service is started if needed and held by a lease
    /// meanwhile (so the idle stopper cannot stop it mid-dump).
    pub async fn backup(
        &self,
        query: &str,
        scope: &BackupScope,
        reason: &str,
        progress: &BackupProgressFn<'_>,
    ) -> Result<Vec<BackupRow>> {
        let row = self.resolve(query)?;
        let done = self.backup_held(&row, scope, reason, progress).await?;
        if done.is_empty() {
            return Err(self.nothing_to_back_up(&row));
        }
        Ok(done)
    }

    /// The backups of a scope (none if the server has no databases yet), taken under a lease.
    pub(super) async fn backup_held(
        &self,
        row: &ServiceRow,
        scope: &BackupScope,
        reason: &str,
        progress: &BackupProgressFn<'_>,
    ) -> Result<Vec<BackupRow>> {
        let holder = format!("backup:{}", std::process::id());
        let noop = |_| {};
        let (lease, _) = self.acquire(&row.name, &holder, false, None, &noop).await?;
        let result = async {
            let password = self.admin_password(&row.name)?;
            let databases = self
                .databases_in_scope(row, password.expose(), scope)
                .await?;
            let mut done = Vec::new();
            for db in databases {
                done.push(
                    self.backup_one(row, password.expose(), &db, reason, progress)
                        .await?,
                );
            }
            Ok(done)
        }
        .await;
        if let Err(e) = self.release(&lease).await {
            tracing::warn!("could not release the backup lease: {e}");
        }
        result
    }

    /// Backs up every database of every running service; a failure of one does not stop the others.
    pub async fn backup_all_running(
        &self,
        reason: &str,
        progress: &BackupProgressFn<'_>,
    ) -> Result<(Vec<BackupRow>, Vec<(String, CoreError)>)> {
        let r = self.backup_all(reason, progress).await?;
        Ok((r.done, r.failed))
    }

    /// [`Manager::backup_all_running`], saying also which services had nothing to back up and
    /// which were not running: nothing is skipped silently.
    pub async fn backup_all(
        &self,
        reason: &str,
        progress: &BackupProgressFn<'_>,
    ) -> Result<BackupAllReport> {
        let mut report = BackupAllReport::default();
        for row in self.store.services()? {
            if !self.is_running(&row.name).await? {
                report.not_running.push(row.name.clone());
                continue;
            }
            match self
                .backup_held(&row, &BackupScope::All, reason, progress)
                .await
            {
                Ok(rows) if rows.is_empty() => {
                    let CoreError::NothingToBackUp { why, .. } = self.nothing_to_back_up(&row)
                    else {
                        unreachable!()
                    };
                    report.nothing.push((row.name.clone(), why));
                }
                Ok(mut rows) => report.done.append(&mut rows),
                Err(e) => report.failed.push((row.name.clone(), e)),
            }
        }
        Ok(report)
    }

    /// Runs the backups the schedule asks for: each database of a running service whose newest
    /// backup is older than the interval. Returns what was done.
    pub async fn run_scheduled_backups(
        &self,
        progress: &BackupProgressFn<'_>,
    ) -> Result<(Vec<BackupRow>, Vec<(String, CoreError)>)> {
        let policy = self.backup_policy()?;
        let Some(every) = policy.schedule.interval() else {
            return Ok((vec![], vec![]));
        };
        let (mut done, mut failed) = (Vec::new(), Vec::new());
        for row in self.store.services()? {
            if !self.is_running(&row.name).await? {
                continue;
            }
            let due = async {
                let pw = self.admin_password(&row.name)?;
                let dbs = self
                    .databases_in_scope(&row, pw.expose(), &BackupScope::All)
                    .await?;
                let mut due = Vec::new();
                for db in dbs {
                    let newest = self.store.backups(Some(&row.name), Some(&db))?;
                    let fresh = newest
                        .first()
                        .is_some_and(|b| now_ms() - b.created_at_ms < every.as_millis() as i64);
                    if !fresh {
                        due.push(db);
                    }
                }
                Ok::<_, CoreError>(due)
            }
            .await;
            match due {
                Ok(dbs) => {
                    for db in dbs {
                        match self
                            .backup(&row.name, &BackupScope::Database(db), "scheduled", progress)
                            .await
                        {
                            Ok(mut rows) => done.append(&mut rows),
                            Err(e) => failed.push((row.name.clone(), e)),
                        }
                    }
                }
                Err(e) => failed.push((row.name.clone(), e)),
            }
        }
        Ok((done, failed))
    }

    pub fn backups(&self, service: Option<&str>, database: Option<&str>) -> Result<Vec<BackupRow>> {
        // A destroyed service's backups stay listed under its name.
        let service = service.map(|q| self.resolve(q).map_or_else(|_| q.to_string(), |r| r.name));
        self.store.backups(service.as_deref(), database)
    }

    fn backup_row(&self, id: i64) -> Result<BackupRow> {
        self.store.backup(id)?.ok_or_else(|| {
            CoreError::InvalidInput(format!(
                "no backup with id {id}; `dockhand backups` lists them"
            ))
        })
    }

    /// Checks a backup's checksum and, where the server's tool can, that it reads back.
    pub async fn verify(&self, id: i64) -> Result<Verification> {
        let b = self.backup_row(id)?;
        let path = PathBuf::from(&b.path);
        if !path.exists() {
            return Ok(Verification {
                detail: format!("{} is missing", b.path),
                backup: b,
                checksum_ok: false,
                readable: Some(false),
            });
        }
        let p = path.clone();
        let sum = tokio::task::spawn_blocking(move || sha256_of(&p))
            .await
            .map_err(|e| CoreError::Io(std::io::Error::other(e)))??;
        let checksum_ok = sum == b.sha256;
        let kind = Kind::parse(&b.kind)?;
        let (head, tail) = head_and_tail(&path)?;
        let complete = self.driver(kind).check_dump(&head, &tail);
        let mut readable = Some(complete.is_ok());
        let mut detail = complete.err().unwrap_or_default();
        let check = self.driver(kind).readability_check();
        if let Some(check) = check.filter(|_| readable == Some(true)) {
            match self.read_through(&b, &path, &check).await {
                Ok(n) => detail = format!("{} reads {n} entries", check.name),
                Err(CoreError::Tool {
                    exit: Some(_),
                    stderr,
                    ..
                }) => {
                    readable = Some(false);
                    detail = format!("{} cannot read it: {}", check.name, stderr.trim());
                }
                Err(e) => {
                    readable = None;
                    detail = format!("readability not checked ({e})");
                }
            }
        }
        if !checksum_ok {
            detail = format!(
                "checksum differs: recorded {}, file has {sum}. {detail}",
                b.sha256
            );
        }
        Ok(Verification {
            backup: b,
            checksum_ok,
            readable,
            detail: detail.trim().to_string(),
        })
    }

    /// Feeds a dump to the kind's readability check; how many entries it read.
    async fn read_through(
        &self,
        b: &BackupRow,
        path: &Path,
        check: &ReadabilityCheck,
    ) -> Result<usize> {
        if !self.is_running(&b.service).await? {
            return Err(CoreError::NotReady {
                service: b.service.clone(),
                reason: "it is not running".into(),
            });
        }
        let mut f = tokio::fs::File::open(path)
            .await
            .map_err(|e| io_error(path, "read", e))?;
        let t = &check.tool;
        let (code, out, err) = self
            .exec_input(&self.container_for(&b.service), t, DUMP_LIMIT, &mut f)
            .await?;
        if code != 0 {
            return Err(tool_error(
                format!("verify of backup {}", b.id),
                t,
                Some(code),
                &err,
            ));
        }
        Ok((check.entries)(&out))
    }

    /// Restores a backup into `into` (default: the database it was taken of). An existing
    /// database is only replaced with `overwrite`, and then only after a backup of it.
    ///
    /// Crash-safe: a restore killed at any moment leaves the target as it was (or, once the
    /// restore is complete, restored), and whatever it had created is recognised and removed by
    /// the next restore on the service; see [`PendingRestore`].
    pub async fn restore(
        &self,
        id: i64,
        into: Option<&str>,
        overwrite: bool,
        progress: &BackupProgressFn<'_>,
    ) -> Result<Restored> {
        let b = self.backup_row(id)?;
        let kind = Kind::parse(&b.kind)?;
        let target = into.unwrap_or(&b.database).to_string();
        validate_database_name(&target)?;
        if is_restore_scratch(&target) {
            return Err(CoreError::InvalidInput(format!(
                "'{target}' is a name Dockhand uses for restores in progress; choose another"
            )));
        }
        if let RestoreStrategy::Unsupported(why) = self.driver(kind).restore_strategy() {
            return Err(CoreError::InvalidInput(why.into()));
        }
        let v = self.verify(id).await?;
        if !v.checksum_ok || v.readable == Some(false) {
            return Err(CoreError::InvalidInput(format!(
                "backup {id} failed verification ({}); nothing was restored",
                v.detail
            )));
        }
        let row = self.resolve(&b.service)?;
        let holder = format!("restore:{}", std::process::id());
        let noop = |_| {};
        let (lease, _) = self.acquire(&row.name, &holder, false, None, &noop).await?;
        let result = self
            .restore_leased(&row, &b, &target, overwrite, progress)
            .await;
        if let Err(e) = self.release(&lease).await {
            tracing::warn!("could not release the restore lease: {e}");
        }
        result
    }

    pub(super) async fn restore_leased(
        &self,
        row: &ServiceRow,
        b: &BackupRow,
        target: &str,
        overwrite: bool,
        progress: &BackupProgressFn<'_>,
    ) -> Result<Restored> {
        let started = Instant::now();
        let password = self.admin_password(&row.name)?;
        let pw = password.expose();
        let finished_earlier = self.recover_restores(row, pw, Some((b.id, target))).await?;
        // With --overwrite the user asks for the backup's content whatever is there now: that
        // is done again. Without it, a target a killed run of this same restore completed is
        // the answer (and nothing is destroyed either way).
        let finished_earlier = finished_earlier && !overwrite;
        let restored = |safety_backup, finished_by_earlier_run| Restored {
            service: row.name.clone(),
            database: target.to_string(),
            from: b.clone(),
            safety_backup,
            took_ms: started.elapsed().as_millis() as u64,
            finished_by_earlier_run,
        };
        if finished_earlier {
            return Ok(restored(None, true));
        }
        let exists = self
            .list_databases(row, pw)
            .await?
            .iter()
            .any(|d| d == target);
        // A project's database keeps its owner; a copy of one belongs to the same project user
        // (so the project can open it); anything else to the admin.
        let owner = self
            .database_owner(row, target)
            .or_else(|| self.database_owner(row, &b.database))
            .unwrap_or_else(|| row.kind.spec().admin_user.to_string());
        let mut safety_backup = None;
        if exists {
            if !overwrite {
                return Err(CoreError::InvalidInput(format!(
                    "database '{target}' already exists on '{}'; restore into another with --into <name>, \
                     or replace it with --overwrite (a backup of it is taken first)",
                    row.name
                )));
            }
            safety_backup = Some(
                self.backup_one(row, pw, target, "before-restore", progress)
                    .await?,
            );
        }
        let outcome = match self.driver(row.kind).restore_strategy() {
            RestoreStrategy::ScratchThenRename(sql) => {
                self.restore_renaming(row, pw, &Feed::Backup(b), target, &owner, exists, sql)
                    .await
            }
            RestoreStrategy::MarkedInPlace(sql) => {
                self.restore_marked(row, pw, &Feed::Backup(b), target, &owner, exists, sql)
                    .await
            }
            RestoreStrategy::Unsupported(why) => Err(CoreError::InvalidInput(why.into())),
        };
        if let Err(e) = outcome {
            if let Some(s) = &safety_backup {
                self.event(
                    &row.name,
                    "restore-failed",
                    &format!(
                        "restore of backup {} into '{target}' failed; the previous contents are in backup {} ({})",
                        b.id, s.id, s.path
                    ),
                );
            }
            return Err(e);
        }
        self.event(
            &row.name,
            "restore",
            &format!("backup {} ({}) restored into '{target}'", b.id, b.database),
        );
        Ok(restored(safety_backup, false))
    }

    /// A kind with a database rename (PostgreSQL): the dump goes into a scratch database of this
    /// restore's own, which takes the target's name only once complete — in one transaction
    /// with the old one stepping aside when it is replaced. A kill at any moment leaves the
    /// target as it was, or restored.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn restore_renaming(
        &self,
        row: &ServiceRow,
        pw: &str,
        source: &Feed<'_>,
        target: &str,
        owner: &str,
        replace: bool,
        sql: &dyn RenamingRestore,
    ) -> Result<()> {
        let dialect = self.sql_of(row)?;
        let token = restore_token();
        let scratch = format!("{RESTORE_SCRATCH}{token}");
        let old = format!("{RESTORE_REPLACED}{token}");
        let mut pending = PendingRestore {
            service: row.name.clone(),
            backup: source.id(),
            target: target.to_string(),
            scratch: Some(scratch.clone()),
            replaced: replace.then(|| old.clone()),
            pid: std::process::id(),
            pid_start: crate::leases::process_start_time(std::process::id()),
            finishing: false,
        };
        // Recorded before the scratch database exists: whatever this run leaves, the next finds.
        let key = format!("{PENDING_PREFIX}{}/{token}", row.name);
        self.record_pending(&key, &pending)?;
        let via = dialect.maintenance_database(target);
        let result = async {
            self.run_sql_in(row, pw, via, &sql.create_scratch(&scratch, owner))
                .await?;
            if owner != row.kind.spec().admin_user {
                // As provisioning does: the project's user alone may connect.
                self.run_sql_in(row, pw, via, &sql.open_only_to(&scratch, owner))
                    .await?;
            }
            self.feed(row, pw, source, &scratch, owner).await?;
            test_pause("restored").await;
            pending.finishing = true;
            self.record_pending(&key, &pending)?;
            test_pause("finishing").await;
            let swap = sql.swap(target, &scratch, replace.then_some(old.as_str()));
            let mut tries = 0;
            loop {
                match self.run_sql_in(row, pw, via, &swap).await {
                    Ok(_) => break,
                    // A session ended a moment ago may still be on its way out.
                    Err(CoreError::Tool { stderr, .. })
                        if tries < 20 && sql.swap_retryable(&stderr) =>
                    {
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                    Err(e) => return Err(e),
                }
            }
            test_pause("swapped").await;
            if replace {
                self.run_sql_in(row, pw, via, &dialect.drop_database(&old))
                    .await?;
            }
            test_pause("done").await;
            Ok(())
        }
        .await;
        self.settle_restore(row, pw, &key, &pending, result).await
    }

    /// A kind without a database rename (MariaDB/MySQL, where a table with triggers or a view
    /// cannot move to another database either): the target is created by this restore, marked
    /// with a table of Dockhand's until the dump is complete, and recorded as this restore's. A
    /// kill leaves a marked (or empty) database that the next restore knows as its own and drops.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn restore_marked(
        &self,
        row: &ServiceRow,
        pw: &str,
        source: &Feed<'_>,
        target: &str,
        owner: &str,
        replace: bool,
        sql: &dyn MarkedRestore,
    ) -> Result<()> {
        let dialect = self.sql_of(row)?;
        if replace {
            // Backed up just before (the safety backup).
            self.run_sql(row, pw, &dialect.drop_database(target))
                .await?;
        }
        let token = restore_token();
        let mut pending = PendingRestore {
            service: row.name.clone(),
            backup: source.id(),
            target: target.to_string(),
            scratch: None,
            replaced: None,
            pid: std::process::id(),
            pid_start: crate::leases::process_start_time(std::process::id()),
            finishing: false,
        };
        let key = format!("{PENDING_PREFIX}{}/{token}", row.name);
        self.record_pending(&key, &pending)?;
        if let Err(e) = self.run_sql(row, pw, &sql.create_database(target)).await {
            // Not created: nothing of this restore's to remove (whatever holds the name is not).
            self.store.delete_setting(&key)?;
            return Err(e);
        }
        let result = async {
            self.run_sql(row, pw, &sql.create_marker(target, RESTORE_MARKER))
                .await?;
            test_pause("created").await;
            self.feed(row, pw, source, target, owner).await?;
            test_pause("restored").await;
            pending.finishing = true;
            self.record_pending(&key, &pending)?;
            test_pause("finishing").await;
            self.run_sql(row, pw, &sql.drop_marker(target, RESTORE_MARKER))
                .await?;
            test_pause("done").await;
            Ok(())
        }
        .await;
        self.settle_restore(row, pw, &key, &pending, result).await
    }

    /// Streams what a restore or an import brings into `database`.
    async fn feed(
        &self,
        row: &ServiceRow,
        pw: &str,
        source: &Feed<'_>,
        database: &str,
        owner: &str,
    ) -> Result<()> {
        match source {
            Feed::Backup(b) => self.feed_restore(row, pw, b, database, owner).await,
            Feed::Import(f) => self.feed_import(row, f, database).await,
        }
    }

    /// Streams a backup file into the kind's restore tool, restoring into `database`.
    async fn feed_restore(
        &self,
        row: &ServiceRow,
        pw: &str,
        b: &BackupRow,
        database: &str,
        owner: &str,
    ) -> Result<()> {
        let path = Path::new(&b.path);
        let mut f = tokio::fs::File::open(path)
            .await
            .map_err(|e| io_error(path, "read", e))?;
        let t = self.driver(row.kind).restore(pw, database, owner)?;
        let context = format!("restore of backup {} on '{}'", b.id, row.name);
        match self
            .exec_input(&container_of(row), &t, DUMP_LIMIT, &mut f)
            .await
        {
            Ok((0, _, _)) => Ok(()),
            Ok((code, _, err)) => Err(tool_error(context, &t, Some(code), &err)),
            Err(CoreError::Engine(e)) => Err(self.cut_off(row, context, &t, e).await),
            Err(e) => Err(e),
        }
    }

    fn record_pending(&self, key: &str, p: &PendingRestore) -> Result<()> {
        let v = serde_json::to_string(p).map_err(|e| CoreError::Io(std::io::Error::other(e)))?;
        self.store.set_setting(key, &v)
    }

    /// Finishes or removes what killed restores on this service left. Only databases a
    /// recorded restore created are ever dropped (and, once a replacement has committed, the
    /// replaced one the user asked to overwrite). Returns whether `same` — (backup, target) of
    /// the restore about to run — was already completed by a killed run.
    pub(super) async fn recover_restores(
        &self,
        row: &ServiceRow,
        pw: &str,
        same: Option<(i64, &str)>,
    ) -> Result<bool> {
        let prefix = format!("{PENDING_PREFIX}{}/", row.name);
        let pending: Vec<(String, PendingRestore)> = self
            .store
            .settings_with_prefix(&prefix)?
            .into_iter()
            .filter_map(|(k, v)| Some((k, serde_json::from_str(&v).ok()?)))
            .collect();
        let mut finished = false;
        for (key, p) in pending {
            if crate::leases::process_alive(p.pid, p.pid_start.as_deref()) {
                continue; // a restore still running
            }
            let complete = self.recover_one(row, pw, &key, &p).await?;
            if complete && same == Some((p.backup, p.target.as_str())) {
                finished = true;
            }
        }
        Ok(finished)
    }

    /// The end of a restore: its record goes when it succeeded; when it failed, what it made is
    /// removed (a half-restored database is worse than none) and the failure returned.
    async fn settle_restore(
        &self,
        row: &ServiceRow,
        pw: &str,
        key: &str,
        pending: &PendingRestore,
        result: Result<()>,
    ) -> Result<()> {
        match result {
            Ok(()) => self.store.delete_setting(key),
            Err(e) => {
                if let Err(e2) = self.recover_one(row, pw, key, pending).await {
                    tracing::warn!("could not tidy up after a failed restore: {e2}");
                }
                Err(e)
            }
        }
    }

    /// A killed restore's statements can still be running in the server: its `CREATE DATABASE`
    /// or `pg_restore` was started by `docker exec`, which carries on when its client dies. Looking
    /// before they end would miss a database about to appear (and leave it behind for good), so
    /// wait until no other session works on what the restore recorded.
    async fn wait_until_nobody_works_on(
        &self,
        row: &ServiceRow,
        pw: &str,
        p: &PendingRestore,
    ) -> Result<()> {
        let names: Vec<&str> = match &p.scratch {
            Some(scratch) => std::iter::once(scratch.as_str())
                .chain(p.replaced.as_deref())
                .collect(),
            None => vec![p.target.as_str()],
        };
        let q = self.sql_of(row)?.sessions_on(&names);
        let deadline = tokio::time::Instant::now() + TOOL_LIMIT;
        loop {
            let busy: i64 = self.run_sql(row, pw, &q).await?.trim().parse().unwrap_or(1);
            if busy == 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(CoreError::InvalidInput(format!(
                    "an interrupted restore into '{}' is still running in the server after {} s; \
                     nothing was changed — try again when it has ended",
                    p.target,
                    TOOL_LIMIT.as_secs()
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// Settles one recorded restore that is not running any more: removes what it created and
    /// had not finished, and its record. Returns whether it had completed its target.
    async fn recover_one(
        &self,
        row: &ServiceRow,
        pw: &str,
        key: &str,
        p: &PendingRestore,
    ) -> Result<bool> {
        self.wait_until_nobody_works_on(row, pw, p).await?;
        let dbs = self.list_databases(row, pw).await?;
        let has = |d: &str| dbs.iter().any(|x| x == d);
        let dialect = self.sql_of(row)?;
        let via = dialect.maintenance_database(&p.target);
        let complete = match &p.scratch {
            Some(scratch) if has(scratch) => {
                self.run_sql_in(row, pw, via, &dialect.drop_database(scratch))
                    .await?;
                false
            }
            // Without its scratch database, a restore that had begun to finish has renamed it:
            // the target is the restored one, and the database it replaced is to go.
            Some(_) if p.finishing => {
                if let Some(old) = p.replaced.as_deref().filter(|o| has(o)) {
                    self.run_sql_in(row, pw, via, &dialect.drop_database(old))
                        .await?;
                }
                has(&p.target)
            }
            Some(_) => false,
            None if has(&p.target) => {
                let RestoreStrategy::MarkedInPlace(marked) =
                    self.driver(row.kind).restore_strategy()
                else {
                    return Err(CoreError::InvalidInput(format!(
                        "a recorded restore into '{}' names no scratch database, which {} restores always do",
                        p.target,
                        row.kind.spec().display_name
                    )));
                };
                let q = marked.marker_state(&p.target, RESTORE_MARKER);
                let out = self.run_sql(row, pw, &q).await?;
                let mut n = out
                    .split_whitespace()
                    .map(|x| x.parse::<i64>().unwrap_or(-1));
                let (tables, marked) = (n.next().unwrap_or(-1), n.next().unwrap_or(-1));
                if marked > 0 || tables == 0 {
                    // Marked (or still empty): this restore's own unfinished database.
                    self.run_sql(row, pw, &dialect.drop_database(&p.target))
                        .await?;
                    false
                } else {
                    p.finishing && marked == 0
                }
            }
            None => false,
        };
        self.store.delete_setting(key)?;
        if p.pid != std::process::id() {
            // Imports record backup 0 (see `Feed::id`).
            let run = match p.backup {
                0 => "import".to_string(),
                id => format!("restore of backup {id}"),
            };
            let what = if complete {
                format!("a killed {run} into '{}' had completed it", p.target)
            } else {
                format!("removed what a killed {run} into '{}' had left", p.target)
            };
            self.event(&row.name, "restore-recovered", &what);
        }
        Ok(complete)
    }

    /// The project user owning a database, if it is a project's.
    fn database_owner(&self, row: &ServiceRow, database: &str) -> Option<String> {
        self.store
            .attachments(None, Some(&row.name))
            .ok()
            .and_then(|atts| atts.into_iter().find(|a| a.db_name == database))
            .map(|a| a.db_user)
    }

    pub(crate) async fn is_running(&self, service: &str) -> Result<bool> {
        Ok(self
            .engine
            .inspect_container(&self.container_for(service))
            .await?
            .is_some_and(|c| c.state == crate::engine::RunState::Running))
    }

    async fn databases_in_scope(
        &self,
        row: &ServiceRow,
        password: &str,
        scope: &BackupScope,
    ) -> Result<Vec<String>> {
        let unit = self.driver(row.kind).backup_unit();
        if unit == BackupUnit::WholeServer {
            return match scope {
                BackupScope::All => Ok(vec![WHOLE_SERVER.into()]),
                _ => Err(CoreError::InvalidInput(format!(
                    "a {} backup is a snapshot of the whole server '{}'; use --all",
                    row.kind.spec().display_name,
                    row.name
                ))),
            };
        }
        match scope {
            // Whether it exists, the dump tool says (see `backup_one`): one exec less.
            BackupScope::Database(d) => {
                validate_database_name(d)?;
                Ok(vec![d.clone()])
            }
            BackupScope::Project(p) => {
                let att = self
                    .store
                    .attachments(Some(p), Some(&row.name))?
                    .into_iter()
                    .next()
                    .ok_or_else(|| {
                        CoreError::InvalidInput(format!(
                            "project '{p}' is not attached to '{}'",
                            row.name
                        ))
                    })?;
                Ok(vec![att.db_name])
            }
            BackupScope::All if unit == BackupUnit::ProjectDatabases => Ok(self
                .store
                .attachments(None, Some(&row.name))?
                .into_iter()
                .map(|a| a.db_name)
                .collect()),
            BackupScope::All => self.databases_to_back_up(row, password).await,
        }
    }

    pub(super) async fn list_databases(
        &self,
        row: &ServiceRow,
        password: &str,
    ) -> Result<Vec<String>> {
        let Some(q) = self.driver(row.kind).sql().map(|d| d.list_databases()) else {
            return Ok(vec![]);
        };
        let out = self.run_sql(row, password, q).await?;
        Ok(out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect())
    }

    /// The databases a backup of the whole server covers: all but restores in progress.
    async fn databases_to_back_up(&self, row: &ServiceRow, password: &str) -> Result<Vec<String>> {
        let mut dbs = self.list_databases(row, password).await?;
        dbs.retain(|d| !is_restore_scratch(d));
        Ok(dbs)
    }

    pub(super) async fn run_sql(
        &self,
        row: &ServiceRow,
        password: &str,
        statement: &str,
    ) -> Result<String> {
        let via = self.sql_of(row)?.maintenance_database("");
        self.run_sql_in(row, password, via, statement).await
    }

    pub(super) async fn run_sql_in(
        &self,
        row: &ServiceRow,
        password: &str,
        database: &str,
        statement: &str,
    ) -> Result<String> {
        self.run_sql_within(row, password, database, statement, TOOL_LIMIT)
            .await
    }

    /// One statement as the admin in `database`, bounded by `limit` (a verification's full read
    /// of a large table takes longer than a catalog query).
    pub(super) async fn run_sql_within(
        &self,
        row: &ServiceRow,
        password: &str,
        database: &str,
        statement: &str,
        limit: Duration,
    ) -> Result<String> {
        let t = self.sql_of(row)?.admin_sql(password, database, statement);
        let out = exec_collect_env(
            self.engine.as_ref(),
            &container_of(row),
            &t.argv(),
            &t.env,
            limit,
        )
        .await?;
        if out.exit_code != 0 {
            return Err(tool_error(
                format!("SQL on '{}'", row.name),
                &t,
                Some(out.exit_code),
                &out.stderr,
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    }

    /// A tool cut off by the engine: Docker gone stays an engine error (exit code 3, "start
    /// Docker"); otherwise the tool is named, with what became of its container.
    pub(super) async fn cut_off(
        &self,
        row: &ServiceRow,
        context: String,
        t: &ToolCommand,
        e: EngineError,
    ) -> CoreError {
        if matches!(
            e,
            EngineError::Unavailable { .. } | EngineError::Timeout { .. }
        ) {
            return CoreError::Engine(e);
        }
        let stopped = !self.is_running(&row.name).await.unwrap_or(true);
        let why = if stopped {
            format!("the server's container stopped while it ran ({e})")
        } else {
            e.to_string()
        };
        CoreError::Tool {
            context,
            tool: t.program.to_string(),
            exit: None,
            stderr: why,
        }
    }

    pub(super) async fn exec_input(
        &self,
        container: &str,
        t: &ToolCommand,
        limit: Duration,
        input: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
    ) -> Result<(i64, Vec<u8>, Vec<u8>)> {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut sink = |c: LogChunk| match c.stream {
            OutputStream::Stdout => out.extend_from_slice(&c.bytes),
            OutputStream::Stderr => err.extend_from_slice(&c.bytes),
        };
        let code = self
            .engine
            .exec_with_input(container, &t.argv(), &t.env, limit, input, &mut sink)
            .await?;
        Ok((code, out, err))
    }

    /// One dump of one database, recorded once complete, then retention applied.
    pub(super) async fn backup_one(
        &self,
        row: &ServiceRow,
        password: &str,
        database: &str,
        reason: &str,
        progress: &BackupProgressFn<'_>,
    ) -> Result<BackupRow> {
        let started = Instant::now();
        let container = container_of(row);
        let driver = self.driver(row.kind);
        let version_cmd = driver.dump_tool_version();
        let version_argv = version_cmd.argv();
        let version = exec_collect_env(
            self.engine.as_ref(),
            &container,
            &version_argv,
            &[],
            TOOL_LIMIT,
        );
        let policy = self.backup_policy()?;
        let dest = policy.dir.join(&row.name).join(database).join(format!(
            "{}.{}",
            timestamp(),
            driver.dump_extension()
        ));
        let mut file = DumpFile::create(&policy.dir, dest)?;
        let t = driver.dump(password, database);
        let mut stderr = Vec::new();
        let mut last_report = Instant::now();
        let mut sink = |c: LogChunk| match c.stream {
            OutputStream::Stdout => {
                file.write(&c.bytes);
                if last_report.elapsed() >= Duration::from_millis(250) {
                    last_report = Instant::now();
                    progress(BackupProgress {
                        service: row.name.clone(),
                        database: database.to_string(),
                        bytes: file.bytes(),
                    });
                }
            }
            OutputStream::Stderr => stderr.extend_from_slice(&c.bytes),
        };
        // The tool's version is asked for while the dump runs: no time added to the backup.
        let argv = t.argv();
        let dump = self
            .engine
            .exec(&container, &argv, &t.env, DUMP_LIMIT, &mut sink);
        let (code, version) = tokio::join!(dump, version);
        let version = version
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        let context = format!("backup of '{database}' on '{}'", row.name);
        let failed = |e: CoreError| {
            self.event(
                &row.name,
                "backup-failed",
                &format!("{context} failed: {e}"),
            );
            e
        };
        let code = match code {
            Ok(c) => c,
            Err(e) => return Err(failed(self.cut_off(row, context.clone(), &t, e).await)),
        };
        if file.failed() {
            let e = file.finish().err().expect("a failed write is an error");
            return Err(failed(e));
        }
        if code != 0 {
            let err = String::from_utf8_lossy(&stderr);
            if err.contains("does not exist") || err.contains("Unknown database") {
                return Err(CoreError::InvalidInput(format!(
                    "there is no database '{database}' on '{}'",
                    row.name
                )));
            }
            // 137 / 139: killed or crashed, not a judgement on the input.
            return Err(failed(tool_error(context.clone(), &t, Some(code), &stderr)));
        }
        let written = match file.finish() {
            Ok(w) => w,
            Err(e) => return Err(failed(e)),
        };
        progress(BackupProgress {
            service: row.name.clone(),
            database: database.to_string(),
            bytes: written.size,
        });
        let recorded = self.store.insert_backup(&NewBackup {
            service: &row.name,
            kind: row.kind.as_str(),
            database,
            path: &written.path.to_string_lossy(),
            size_bytes: written.size,
            sha256: &written.sha256,
            duration_ms: started.elapsed().as_millis() as u64,
            tool_version: &version,
            reason,
        })?;
        self.event(
            &row.name,
            "backup",
            &format!(
                "'{database}' backed up ({} bytes in {} ms, {reason}): {}",
                recorded.size_bytes, recorded.duration_ms, recorded.path
            ),
        );
        self.prune(&row.name, database, &policy)?;
        Ok(recorded)
    }

    fn prune(&self, service: &str, database: &str, policy: &BackupPolicy) -> Result<()> {
        let rows = self.store.backups(Some(service), Some(database))?;
        for id in retention_victims(&rows, policy.keep, policy.max_age_days, now_ms()) {
            if let Some(b) = rows.iter().find(|b| b.id == id) {
                match std::fs::remove_file(&b.path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        tracing::warn!("retention could not remove {}: {e}", b.path);
                        continue;
                    }
                }
                self.store.delete_backup(id)?;
            }
        }
        Ok(())
    }
}

/// The first and last KiB of a file.
fn head_and_tail(path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    use std::io::{Read, Seek, SeekFrom};
    let rd = |e| io_error(path, "read", e);
    let mut f = std::fs::File::open(path).map_err(rd)?;
    let len = f.metadata().map_err(rd)?.len();
    let mut head = vec![0; len.min(1024) as usize];
    f.read_exact(&mut head).map_err(rd)?;
    let mut tail = vec![0; len.min(1024) as usize];
    f.seek(SeekFrom::Start(len - tail.len() as u64))
        .map_err(rd)?;
    f.read_exact(&mut tail).map_err(rd)?;
    Ok((head, tail))
}

/// What fills the database a restore creates: a backup of Dockhand's, or a file to import.
pub(super) enum Feed<'a> {
    Backup(&'a BackupRow),
    Import(&'a super::import::ImportFeed<'a>),
}

impl Feed<'_> {
    /// The backup id a pending restore records; imports record 0 (no backup has it), so a
    /// killed import is never taken for a completed restore of a backup.
    fn id(&self) -> i64 {
        match self {
            Feed::Backup(b) => b.id,
            Feed::Import(_) => 0,
        }
    }
}

/// Records of restores in progress, in the settings table: `restore-pending/<service>/<token>`.
const PENDING_PREFIX: &str = "restore-pending/";
/// PostgreSQL: the database a restore fills before it takes the target's name.
const RESTORE_SCRATCH: &str = "dockhand_restore_";
/// PostgreSQL: the name a replaced database has between the swap and its drop.
const RESTORE_REPLACED: &str = "dockhand_replaced_";
/// MariaDB/MySQL: the table marking a database a restore is still filling.
const RESTORE_MARKER: &str = "__dockhand_restore_pending";

/// What a restore in progress has created, recorded before it creates it, so that a later
/// restore on the service can tell a killed restore's leftovers (which it removes) from anything
/// else (which it never touches).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct PendingRestore {
    service: String,
    backup: i64,
    target: String,
    /// PostgreSQL: the scratch database the dump goes into.
    scratch: Option<String>,
    /// PostgreSQL, when replacing: the name the old database takes in the swap.
    replaced: Option<String>,
    pid: u32,
    pid_start: Option<String>,
    /// The dump is in; the last step (rename / marker removal) may have happened.
    finishing: bool,
}

fn restore_token() -> String {
    use rand::Rng;
    format!("{:012x}", rand::rng().random::<u64>() & 0xffff_ffff_ffff)
}

pub(super) fn is_restore_scratch(name: &str) -> bool {
    name.starts_with(RESTORE_SCRATCH) || name.starts_with(RESTORE_REPLACED)
}

pub(super) fn tool_error(
    context: String,
    t: &ToolCommand,
    exit: Option<i64>,
    stderr: &[u8],
) -> CoreError {
    CoreError::Tool {
        context,
        tool: t.program.to_string(),
        exit,
        stderr: String::from_utf8_lossy(stderr).trim().to_string(),
    }
}

/// Crash tests stop a restore at a named step: with `DOCKHAND_TEST_PAUSE_AT=<step>:<file>` the
/// restore creates `<file>` on reaching `<step>` and waits there (to be killed). Steps:
/// created (MariaDB), restored, finishing, swapped (PostgreSQL), done.
pub(super) async fn test_pause(step: &str) {
    let Some(v) = std::env::var_os("DOCKHAND_TEST_PAUSE_AT") else {
        return;
    };
    let v = v.to_string_lossy().to_string();
    let Some((at, file)) = v.split_once(':') else {
        return;
    };
    if at == step {
        let _ = std::fs::write(file, step);
        tokio::time::sleep(Duration::from_secs(600)).await;
    }
}

impl Manager {
    /// The SQL dialect of a service's kind; kinds without one have no databases to run it on.
    pub(super) fn sql_of(&self, row: &ServiceRow) -> Result<&'static dyn SqlDialect> {
        self.driver(row.kind).sql().ok_or_else(|| {
            CoreError::InvalidInput(format!(
                "{} has no SQL databases",
                row.kind.spec().display_name
            ))
        })
    }

    fn nothing_to_back_up(&self, row: &ServiceRow) -> CoreError {
        CoreError::NothingToBackUp {
            service: row.name.clone(),
            why: self.driver(row.kind).nothing_to_back_up().into(),
        }
    }
}
