//! The replacement machinery: fills a database from a backup or an import file the kind's
//! crash-safe way, and replaces an existing one only after backing it up while its project is
//! kept out — PostgreSQL: a scratch database renamed over the target once complete; MariaDB and
//! MySQL: the target recreated and marked until complete. A kill -9 at any moment leaves the
//! target as it was or complete; the next run (or `reconcile`) finishes or undoes a pending
//! replacement and lets the project back in. Restores, imports (and the coming restore points
//! and branches) are its users; it knows none of them.

use std::path::Path;
use std::time::{Duration, Instant};

use super::exec::{tool_error, DUMP_LIMIT, TOOL_LIMIT};
use super::import_file::Gate;
use super::naming::{RESTORE_REPLACED, RESTORE_SCRATCH};
use super::test_pause::test_pause;
use super::{container_of, Manager, ProgressFn};
use crate::backup::file::io_error;
use crate::backup::Restored;
use crate::drivers::{DatabaseOwner, ImportInput, MarkedRestore, RenamingRestore, RestoreStrategy};
use crate::error::{CoreError, Result};
use crate::store::{AttachmentRow, BackupRow, ServiceRow};

impl Manager {
    /// Backup `b` into `target` on the service (leased by the caller): as the database's owner,
    /// replacing an existing target only with `overwrite`, after a backup of it. A completed
    /// run of the same restore that was killed before it could say so is recognised.
    pub(super) async fn restore_into(
        &self,
        row: &ServiceRow,
        b: &BackupRow,
        target: &str,
        overwrite: bool,
        progress: &ProgressFn<'_>,
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
        if exists && !overwrite {
            return Err(CoreError::InvalidInput(format!(
                "database '{target}' already exists on '{}'; restore into another with --into <name>, \
                 or replace it with --overwrite (a backup of it is taken first)",
                row.name
            )));
        }
        // A project's database keeps its owner; a copy of one belongs to the same project user
        // (so the project can open it); anything else to the admin. The dump's content is
        // restored as that owner (see `Driver::restore`).
        let owner_att = self
            .database_owner(row, target)
            .or_else(|| self.database_owner(row, &b.database));
        let owner_password = owner_att
            .as_ref()
            .map(|a| self.project_password(a))
            .transpose()?;
        let owner = owner_att
            .as_ref()
            .zip(owner_password.as_ref())
            .map(|(a, p)| DatabaseOwner {
                role: &a.db_user,
                password: p.expose(),
            });
        let owner = owner.as_ref();
        let replacing = exists.then(|| Replacing {
            reason: "before-restore",
            progress,
            refuse_objects: None,
            backup: Default::default(),
        });
        let outcome = self
            .fill_database(row, pw, &Feed::Backup(b), target, owner, replacing.as_ref())
            .await;
        let safety_backup = replacing.and_then(|r| r.backup.into_inner());
        if let Err(e) = outcome {
            let kept = safety_backup
                .as_ref()
                .map(|s| {
                    format!(
                        "; the previous contents are in backup {} ({})",
                        s.id, s.path
                    )
                })
                .unwrap_or_default();
            self.event(
                &row.name,
                "restore-failed",
                &format!(
                    "restore of backup {} into '{target}' failed: {e}{kept}",
                    b.id
                ),
            );
            return Err(e);
        }
        self.event(
            &row.name,
            "restore",
            &format!("backup {} ({}) restored into '{target}'", b.id, b.database),
        );
        Ok(restored(safety_backup, false))
    }

    /// Fills `target` from `source` the kind's crash-safe way, replacing it when `replacing`
    /// says so (after a backup of it — `replacing.backup` — taken while nobody but the admin can
    /// write to it).
    pub(super) async fn fill_database(
        &self,
        row: &ServiceRow,
        pw: &str,
        source: &Feed<'_>,
        target: &str,
        owner: Option<&DatabaseOwner<'_>>,
        replacing: Option<&Replacing<'_>>,
    ) -> Result<()> {
        match self.driver(row.kind).restore_strategy() {
            RestoreStrategy::ScratchThenRename(sql) => {
                self.restore_renaming(row, pw, source, target, owner, replacing, sql)
                    .await
            }
            RestoreStrategy::MarkedInPlace(sql) => {
                self.restore_marked(row, pw, source, target, owner, replacing, sql)
                    .await
            }
            RestoreStrategy::Unsupported(why) => Err(CoreError::InvalidInput(why.into())),
        }
    }

    /// A kind with a database rename (PostgreSQL): the dump goes into a scratch database of this
    /// restore's own, which takes the target's name only once complete — in one transaction
    /// with the old one stepping aside when it is replaced. A kill at any moment leaves the
    /// target as it was, or restored.
    ///
    /// The scratch database is the admin's alone until the admin's part is done (extensions:
    /// nothing of the project's is in it yet), then its owner's, who restores the rest. A
    /// database being replaced stays usable while the scratch one fills; then the project is
    /// kept out of it, it is backed up (holding everything written until then), and swapped.
    #[allow(clippy::too_many_arguments)]
    async fn restore_renaming(
        &self,
        row: &ServiceRow,
        pw: &str,
        source: &Feed<'_>,
        target: &str,
        owner: Option<&DatabaseOwner<'_>>,
        replacing: Option<&Replacing<'_>>,
        sql: &dyn RenamingRestore,
    ) -> Result<()> {
        let dialect = self.sql_of(row)?;
        let token = restore_token();
        let scratch = format!("{RESTORE_SCRATCH}{token}");
        let old = format!("{RESTORE_REPLACED}{token}");
        let replace = replacing.is_some();
        let mut pending = PendingRestore {
            service: row.name.clone(),
            backup: source.id(),
            target: target.to_string(),
            scratch: Some(scratch.clone()),
            replaced: replace.then(|| old.clone()),
            pid: std::process::id(),
            pid_start: crate::leases::process_start_time(std::process::id()),
            finishing: false,
            closed: None,
            locked_user: None,
        };
        // Recorded before the scratch database exists: whatever this run leaves, the next finds.
        let key = format!("{PENDING_PREFIX}{}/{token}", row.name);
        self.record_pending(&key, &pending)?;
        let via = dialect.maintenance_database(target);
        let result = async {
            let made = match source {
                // A restore point: the server copies it, contents and owners as they were.
                Feed::Copy(copy) => self
                    .driver(row.kind)
                    .copies()
                    .map(|c| c.copy_to_scratch(&row.version, copy, &scratch)),
                _ => None,
            };
            let copied = made.is_some();
            for statement in made.unwrap_or_else(|| sql.create_scratch(&scratch)) {
                self.run_sql_in(row, pw, via, &statement).await?;
            }
            match source {
                Feed::Copy(_) if copied => {
                    if let Some(h) = owner.and_then(|o| sql.hand_over(&scratch, o.role)) {
                        self.run_sql_in(row, pw, via, &h).await?;
                    }
                }
                Feed::Copy(_) => {
                    return Err(CoreError::InvalidInput(format!(
                        "{} keeps no restore points",
                        row.kind.spec().display_name
                    )))
                }
                Feed::Backup(b) => self.feed_restore(row, pw, b, &scratch, owner).await?,
                Feed::Import(f) => {
                    if f.input == ImportInput::Sql {
                        // psql fed by the project's file runs as the project: what only the
                        // admin may do (the service's extensions) is done first, while the
                        // database is still the admin's alone.
                        self.create_extensions_in(row, &scratch, f.extensions)
                            .await?;
                        if let Some(h) = sql.hand_over(&scratch, f.user) {
                            self.run_sql_in(row, pw, via, &h).await?;
                        }
                    }
                    self.feed_import(row, f, &scratch, None).await?
                }
            }
            test_pause("restored").await;
            if let Some(r) = replacing {
                if let Some(q) = sql.connection_limit(target) {
                    let limit: i64 = self
                        .run_sql_in(row, pw, via, &q)
                        .await?
                        .trim()
                        .parse()
                        .unwrap_or(-1);
                    pending.closed = Some(limit);
                    self.record_pending(&key, &pending)?;
                    test_pause("closing").await;
                    self.run_sql_in(row, pw, via, &sql.close(target)).await?;
                    self.wait_for_others_to_leave(row, pw, via, target, sql)
                        .await?;
                }
                if let Some(q) = &r.refuse_objects {
                    let counted = self.run_sql_in(row, pw, target, q).await?;
                    refuse_if_it_holds_data(&row.name, target, &counted)?;
                }
                let b = self
                    .backup_one(row, pw, target, r.reason, r.progress)
                    .await?;
                let _ = r.backup.set(b);
            }
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

    /// Locks a project's user out of a MariaDB/MySQL server and ends its sessions, but `spare`.
    async fn lock_out_user(
        &self,
        row: &ServiceRow,
        pw: &str,
        user: &str,
        sql: &dyn MarkedRestore,
        spare: Option<u64>,
    ) -> Result<()> {
        self.run_sql(row, pw, &sql.lock_user(user)).await?;
        let q = sql.sessions_of(user);
        let deadline = tokio::time::Instant::now() + TOOL_LIMIT;
        loop {
            let others: Vec<u64> = self
                .run_sql(row, pw, &q)
                .await?
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .filter(|id| Some(*id) != spare)
                .collect();
            if others.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(CoreError::InvalidInput(format!(
                    "sessions of '{user}' did not end within {} s of being asked to; nothing was changed",
                    TOOL_LIMIT.as_secs()
                )));
            }
            for id in others {
                // A session may end on its own meanwhile ("Unknown thread id").
                let _ = self.run_sql(row, pw, &sql.end_session(id)).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the sessions a database's closing ended are gone (they may be mid-statement).
    async fn wait_for_others_to_leave(
        &self,
        row: &ServiceRow,
        pw: &str,
        via: &str,
        database: &str,
        sql: &dyn RenamingRestore,
    ) -> Result<()> {
        let q = sql.others_connected(database);
        let deadline = tokio::time::Instant::now() + TOOL_LIMIT;
        loop {
            let left: i64 = self
                .run_sql_in(row, pw, via, &q)
                .await?
                .trim()
                .parse()
                .unwrap_or(1);
            if left == 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(CoreError::InvalidInput(format!(
                    "sessions of '{database}' did not end within {} s of being asked to; nothing was changed",
                    TOOL_LIMIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A kind without a database rename (MariaDB/MySQL, where a table with triggers or a view
    /// cannot move to another database either): the target is created by this restore, marked
    /// with a table of Dockhand's until the dump is complete, and recorded as this restore's. A
    /// kill leaves a marked (or empty) database that the next restore knows as its own and drops.
    ///
    /// A database being replaced is dropped first, after a backup: its project is kept out from
    /// that backup until the new content is complete, so nothing it writes meanwhile is lost —
    /// its user locked and its sessions ended. An import runs as that very user, so its own
    /// session connects first (taking a named lock by which it is found) and is spared; the
    /// file streams in once the rest is done.
    #[allow(clippy::too_many_arguments)]
    async fn restore_marked(
        &self,
        row: &ServiceRow,
        pw: &str,
        source: &Feed<'_>,
        target: &str,
        owner: Option<&DatabaseOwner<'_>>,
        replacing: Option<&Replacing<'_>>,
        sql: &dyn MarkedRestore,
    ) -> Result<()> {
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
            closed: None,
            locked_user: None,
        };
        if let (Some(_), Some(o)) = (replacing, owner) {
            pending.locked_user = Some(o.role.to_string());
        }
        let key = format!("{PENDING_PREFIX}{}/{token}", row.name);
        self.record_pending(&key, &pending)?;
        // Whether this restore created the target: until then, a failure leaves nothing of its
        // own to remove (whatever holds the name is not its).
        let created = std::sync::atomic::AtomicBool::new(false);
        let result = async {
            match (source, replacing) {
                (Feed::Import(f), Some(_)) => {
                    let lock = format!("dockhand-import:{token}");
                    let (open, gate) = tokio::sync::oneshot::channel();
                    let gate = Gate {
                        hello: sql.take_lock(&lock).into_bytes(),
                        open: gate,
                        then: Vec::new(),
                    };
                    let fed = self.feed_import(row, f, target, Some(gate));
                    tokio::pin!(fed);
                    let prepared = async {
                        let session = self.session_holding(row, pw, sql, &lock).await?;
                        self.prepare_marked(row, pw, target, replacing, &pending, sql, Some(session), &created)
                            .await?;
                        let _ = open.send(true);
                        Ok::<_, CoreError>(())
                    };
                    tokio::pin!(prepared);
                    tokio::select! {
                        p = &mut prepared => {
                            // A failure drops the gate: the import's input ends, its client exits.
                            p?;
                            fed.await?;
                        }
                        f = &mut fed => {
                            return Err(f.err().unwrap_or_else(|| CoreError::InvalidInput(
                                "the import's client ended before it could be let in; nothing was changed".into(),
                            )));
                        }
                    }
                }
                _ => {
                    self.prepare_marked(row, pw, target, replacing, &pending, sql, None, &created)
                        .await?;
                    test_pause("created").await;
                    match source {
                        Feed::Backup(b) => self.feed_restore(row, pw, b, target, owner).await?,
                        Feed::Import(f) => self.feed_import(row, f, target, None).await?,
                        Feed::Copy(_) => {
                            return Err(CoreError::InvalidInput(format!(
                                "{} keeps no restore points yet",
                                row.kind.spec().display_name
                            )))
                        }
                    }
                }
            }
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
        if result.is_err() && !created.load(std::sync::atomic::Ordering::SeqCst) {
            let mut nothing_made = pending.clone();
            nothing_made.scratch = None;
            self.let_in_again(row, pw, &nothing_made).await?;
            self.store.delete_setting(&key)?;
            return result;
        }
        self.settle_restore(row, pw, &key, &pending, result).await
    }

    /// The target of a marked restore, ready to be filled: the project kept out (sparing
    /// `spare`, an import's own session) and its database backed up and dropped when it is
    /// replaced; then created and marked.
    #[allow(clippy::too_many_arguments)]
    async fn prepare_marked(
        &self,
        row: &ServiceRow,
        pw: &str,
        target: &str,
        replacing: Option<&Replacing<'_>>,
        pending: &PendingRestore,
        sql: &dyn MarkedRestore,
        spare: Option<u64>,
        created: &std::sync::atomic::AtomicBool,
    ) -> Result<()> {
        if let Some(r) = replacing {
            if let Some(user) = &pending.locked_user {
                self.lock_out_user(row, pw, user, sql, spare).await?;
                test_pause("locked").await;
            }
            if let Some(q) = &r.refuse_objects {
                let counted = self.run_sql(row, pw, q).await?;
                refuse_if_it_holds_data(&row.name, target, &counted)?;
            }
            let b = self
                .backup_one(row, pw, target, r.reason, r.progress)
                .await?;
            let _ = r.backup.set(b);
            // Backed up just before.
            let dialect = self.sql_of(row)?;
            self.run_sql(row, pw, &dialect.drop_database(target))
                .await?;
        }
        self.run_sql(row, pw, &sql.create_database(target)).await?;
        created.store(true, std::sync::atomic::Ordering::SeqCst);
        self.run_sql(row, pw, &sql.create_marker(target, RESTORE_MARKER))
            .await?;
        Ok(())
    }

    /// The session that took the named lock (an import's client), waited for.
    async fn session_holding(
        &self,
        row: &ServiceRow,
        pw: &str,
        sql: &dyn MarkedRestore,
        lock: &str,
    ) -> Result<u64> {
        let q = sql.lock_holder(lock);
        let deadline = tokio::time::Instant::now() + TOOL_LIMIT;
        loop {
            if let Ok(id) = self.run_sql(row, pw, &q).await?.trim().parse::<u64>() {
                return Ok(id);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(CoreError::InvalidInput(format!(
                    "the import's client did not connect within {} s; nothing was changed",
                    TOOL_LIMIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Streams a backup file into the kind's restore tool, restoring into `database`.
    async fn feed_restore(
        &self,
        row: &ServiceRow,
        pw: &str,
        b: &BackupRow,
        database: &str,
        owner: Option<&DatabaseOwner<'_>>,
    ) -> Result<()> {
        let path = Path::new(&b.path);
        let mut f = tokio::fs::File::open(path)
            .await
            .map_err(|e| io_error(path, "read", e))?;
        let driver = self.driver(row.kind);
        let t = driver.restore(pw, database, owner)?;
        let context = format!("restore of backup {} on '{}'", b.id, row.name);
        match self
            .exec_input(&container_of(row), &t, DUMP_LIMIT, &mut f)
            .await
        {
            Ok((0, _, _)) => Ok(()),
            Ok((code, _, err)) => Err(
                match driver.restore_refusal(code, &String::from_utf8_lossy(&err)) {
                    Some(why) => CoreError::InvalidInput(format!(
                    "backup {} cannot be restored into '{database}': {why}. Nothing was restored",
                    b.id
                )),
                    None => tool_error(context, &t, Some(code), &err),
                },
            ),
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

    /// Lets a project back into its database when the restore or import that kept it out was
    /// killed (at start-up of every Dockhand process, from `reconcile`): its limit put back,
    /// its account unlocked. The rest of what the killed run left — a scratch database, a
    /// half-filled one — the next restore on the service settles (it also tells whether that
    /// run had completed what it is asked again). Failures are logged; the next restore tries.
    pub(super) async fn let_in_after_killed_restores(&self) {
        let Ok(records) = self.store.settings_with_prefix(PENDING_PREFIX) else {
            return;
        };
        for (key, v) in records {
            let Ok(mut p) = serde_json::from_str::<PendingRestore>(&v) else {
                continue;
            };
            if (p.closed.is_none() && p.locked_user.is_none())
                || crate::leases::process_alive(p.pid, p.pid_start.as_deref())
            {
                continue;
            }
            let settled = async {
                let Some(row) = self.store.service(&p.service)? else {
                    return Ok(());
                };
                if !self.is_running(&row.name).await? {
                    return Ok(());
                }
                let pw = self.admin_password(&row.name)?;
                self.let_in_again(&row, pw.expose(), &p).await?;
                (p.closed, p.locked_user) = (None, None);
                self.record_pending(&key, &p)
            }
            .await;
            if let Err(e) = settled {
                tracing::warn!(
                    service = p.service,
                    "could not let a project in after a killed restore: {e}"
                );
            }
        }
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
            Ok(()) => {
                self.let_in_again(row, pw, pending).await?;
                self.store.delete_setting(key)
            }
            Err(e) => {
                if let Err(e2) = self.recover_one(row, pw, key, pending).await {
                    tracing::warn!("could not tidy up after a failed restore: {e2}");
                }
                Err(e)
            }
        }
    }

    /// Undoes what kept the project out of its database while it was replaced (its limit put
    /// back, its account unlocked), whatever became of the restore.
    async fn let_in_again(&self, row: &ServiceRow, pw: &str, p: &PendingRestore) -> Result<()> {
        match self.driver(row.kind).restore_strategy() {
            RestoreStrategy::ScratchThenRename(sql) => {
                if let Some(limit) = p.closed {
                    let exists = self
                        .list_databases(row, pw)
                        .await?
                        .iter()
                        .any(|d| d == &p.target);
                    if exists {
                        let via = self.sql_of(row)?.maintenance_database(&p.target);
                        self.run_sql_in(row, pw, via, &sql.reopen(&p.target, limit))
                            .await?;
                    }
                }
            }
            RestoreStrategy::MarkedInPlace(sql) => {
                if let Some(user) = &p.locked_user {
                    self.run_sql(row, pw, &sql.unlock_user(user)).await?;
                }
            }
            RestoreStrategy::Unsupported(_) => {}
        }
        Ok(())
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
        self.let_in_again(row, pw, p).await?;
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

    /// The project whose database this is, if it is a project's.
    fn database_owner(&self, row: &ServiceRow, database: &str) -> Option<AttachmentRow> {
        self.store
            .attachments(None, Some(&row.name))
            .ok()
            .and_then(|atts| atts.into_iter().find(|a| a.db_name == database))
    }
}

/// What fills the database a restore creates: a backup of Dockhand's, or a file to import.
pub(super) enum Feed<'a> {
    Backup(&'a BackupRow),
    Import(&'a super::import_file::ImportFeed<'a>),
    /// A restore point's copy on the same server (`DatabaseCopies`).
    Copy(&'a str),
}

impl Feed<'_> {
    /// The backup id a pending restore records; imports record 0 (no backup has it), so a
    /// killed import is never taken for a completed restore of a backup.
    fn id(&self) -> i64 {
        match self {
            Feed::Backup(b) => b.id,
            Feed::Import(_) | Feed::Copy(_) => 0,
        }
    }
}

/// Records of restores in progress, in the settings table: `restore-pending/<service>/<token>`.
const PENDING_PREFIX: &str = "restore-pending/";
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
    /// PostgreSQL, when replacing: the target's own connection limit, set to 0 from its last
    /// backup to the swap (put back whatever happens).
    #[serde(default)]
    closed: Option<i64>,
    /// MariaDB/MySQL: the project's user kept out (account locked) while its database is
    /// replaced (unlocked whatever happens).
    #[serde(default)]
    locked_user: Option<String>,
}

/// What replacing an existing database asks for.
pub(super) struct Replacing<'a> {
    /// The reason recorded with the backup taken of it first.
    pub reason: &'a str,
    pub progress: &'a ProgressFn<'a>,
    /// An import not asked to replace content: a query (as the admin, in the target) counting
    /// the objects it holds — when it holds any once the project is kept out (written while
    /// the file streamed in), nothing is replaced.
    pub refuse_objects: Option<String>,
    /// The backup taken of it, once taken (also when the restore fails afterwards).
    pub backup: std::sync::OnceLock<BackupRow>,
}

/// Refuses to fill `database`, whose objects the importer counted (`counted`, as the server
/// printed it; a count that does not read as one is taken for a full database), unless it holds
/// none: an import replaces data only when asked to.
pub(super) fn refuse_if_it_holds_data(service: &str, database: &str, counted: &str) -> Result<()> {
    let objects: i64 = counted.trim().parse().unwrap_or(i64::MAX);
    if objects > 0 {
        return Err(crate::error::ImportError::HasData {
            service: service.to_string(),
            database: database.to_string(),
            objects,
        }
        .into());
    }
    Ok(())
}

pub(super) fn restore_token() -> String {
    use rand::Rng;
    format!("{:012x}", rand::rng().random::<u64>() & 0xffff_ffff_ffff)
}
