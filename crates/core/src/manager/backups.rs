//! Backup, listing, verification, retention and restore of service databases.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{container_name, Manager};
use crate::backup::file::{io_error, sha256_of, DumpFile};
use crate::backup::tools::{self, ToolCommand, WHOLE_SERVER};
use crate::backup::{
    looks_complete, retention_victims, timestamp, validate_database_name, BackupPolicy,
    BackupProgress, BackupProgressFn, BackupScope, Restored, Schedule, Verification, DEFAULT_KEEP,
};
use crate::catalog::Kind;
use crate::engine::{exec_collect_env, LogChunk, OutputStream};
use crate::error::{CoreError, Result};
use crate::store::{now_ms, BackupRow, NewBackup, ServiceRow};

/// A dump or restore of a developer's database; generous, but never unbounded.
const DUMP_LIMIT: Duration = Duration::from_secs(6 * 3600);
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
                std::fs::create_dir_all(p).map_err(|e| io_error(p, e))?;
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
            return Err(CoreError::InvalidInput(format!(
                "service '{}' has no databases to back up yet",
                row.name
            )));
        }
        Ok(done)
    }

    /// The backups of a scope (none if the server has no databases yet), taken under a lease.
    async fn backup_held(
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
        let (mut done, mut failed) = (Vec::new(), Vec::new());
        for row in self.store.services()? {
            if !self.is_running(&row.name).await? {
                continue;
            }
            // A server without databases yet has nothing to back up: not a failure here.
            match self
                .backup_held(&row, &BackupScope::All, reason, progress)
                .await
            {
                Ok(mut rows) => done.append(&mut rows),
                Err(e) => failed.push((row.name.clone(), e)),
            }
        }
        Ok((done, failed))
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
        let complete = looks_complete(kind, &head, &tail);
        let mut readable = Some(complete.is_ok());
        let mut detail = complete.err().unwrap_or_default();
        if kind == Kind::Postgres && readable == Some(true) {
            match self.pg_restore_list(&b, &path).await {
                Ok(n) => detail = format!("pg_restore --list reads {n} entries"),
                Err(e @ CoreError::InvalidInput(_)) => {
                    readable = Some(false);
                    detail = e.to_string();
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

    async fn pg_restore_list(&self, b: &BackupRow, path: &Path) -> Result<usize> {
        if !self.is_running(&b.service).await? {
            return Err(CoreError::NotReady {
                service: b.service.clone(),
                reason: "it is not running".into(),
            });
        }
        let mut f = tokio::fs::File::open(path)
            .await
            .map_err(|e| io_error(path, e))?;
        let t = tools::pg_list();
        let (code, out, err) = self
            .exec_input(&container_name(&b.service), &t, DUMP_LIMIT, &mut f)
            .await?;
        if code != 0 {
            return Err(CoreError::InvalidInput(format!(
                "pg_restore cannot read it: {}",
                String::from_utf8_lossy(&err).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
            .count())
    }

    /// Restores a backup into `into` (default: the database it was taken of). An existing
    /// database is only replaced with `overwrite`, and then only after a backup of it.
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
        tools::restore(kind, "", &target, "")?; // refuses kinds that cannot be restored
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

    async fn restore_leased(
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
            self.run_sql(row, pw, &drop_database(row.kind, target))
                .await?;
        }
        self.run_sql(row, pw, &create_database(row.kind, target, &owner))
            .await?;
        let mut f = tokio::fs::File::open(&b.path)
            .await
            .map_err(|e| io_error(Path::new(&b.path), e))?;
        let t = tools::restore(row.kind, pw, target, &owner)?;
        let outcome = self
            .exec_input(&container_name(&row.name), &t, DUMP_LIMIT, &mut f)
            .await;
        let failure = match outcome {
            Ok((0, _, _)) => None,
            Ok((code, _, err)) => Some(CoreError::InvalidInput(format!(
                "{} exited with code {code}: {}",
                t.cmd[0],
                String::from_utf8_lossy(&err).trim()
            ))),
            Err(e) => Some(e),
        };
        if let Some(e) = failure {
            // A half-restored database is worse than none: remove what this restore created.
            let _ = self
                .run_sql(row, pw, &drop_database(row.kind, target))
                .await;
            let kept = safety_backup
                .as_ref()
                .map(|s| {
                    format!(
                        "; the previous contents are in backup {} ({})",
                        s.id, s.path
                    )
                })
                .unwrap_or_default();
            return Err(CoreError::InvalidInput(format!(
                "restore of backup {} into '{target}' failed: {e}{kept}",
                b.id
            )));
        }
        self.event(
            &row.name,
            "restore",
            &format!("backup {} ({}) restored into '{target}'", b.id, b.database),
        );
        Ok(Restored {
            service: row.name.clone(),
            database: target.to_string(),
            from: b.clone(),
            safety_backup,
            took_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// The project user owning a database, if it is a project's.
    fn database_owner(&self, row: &ServiceRow, database: &str) -> Option<String> {
        self.store
            .attachments(None, Some(&row.name))
            .ok()
            .and_then(|atts| atts.into_iter().find(|a| a.db_name == database))
            .map(|a| a.db_user)
    }

    pub(super) async fn is_running(&self, service: &str) -> Result<bool> {
        Ok(self
            .engine
            .inspect_container(&container_name(service))
            .await?
            .is_some_and(|c| c.state == crate::engine::RunState::Running))
    }

    async fn databases_in_scope(
        &self,
        row: &ServiceRow,
        password: &str,
        scope: &BackupScope,
    ) -> Result<Vec<String>> {
        if row.kind == Kind::Redis {
            return match scope {
                BackupScope::All => Ok(vec![WHOLE_SERVER.into()]),
                _ => Err(CoreError::InvalidInput(format!(
                    "a Redis backup is a snapshot of the whole server '{}'; use --all",
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
            BackupScope::All if row.kind == Kind::Mongo => Ok(self
                .store
                .attachments(None, Some(&row.name))?
                .into_iter()
                .map(|a| a.db_name)
                .collect()),
            BackupScope::All => self.list_databases(row, password).await,
        }
    }

    async fn list_databases(&self, row: &ServiceRow, password: &str) -> Result<Vec<String>> {
        let Some(q) = tools::list_databases(row.kind) else {
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

    async fn run_sql(&self, row: &ServiceRow, password: &str, statement: &str) -> Result<String> {
        let t = tools::sql(row.kind, password, statement)?;
        let out = exec_collect_env(
            self.engine.as_ref(),
            &container_name(&row.name),
            &t.argv(),
            &t.env,
            TOOL_LIMIT,
        )
        .await?;
        if out.exit_code != 0 {
            return Err(CoreError::InvalidInput(format!(
                "{} on '{}' failed: {}",
                t.cmd[0],
                row.name,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    }

    async fn exec_input(
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
        let container = container_name(&row.name);
        let version_cmd = tools::version(row.kind);
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
            tools::extension(row.kind)
        ));
        let mut file = DumpFile::create(dest)?;
        let t = tools::dump(row.kind, password, database);
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
        let failed = |why: String| {
            let msg = format!("backup of '{database}' on '{}' failed: {why}", row.name);
            self.event(&row.name, "backup-failed", &msg);
            msg
        };
        let code = match code {
            Ok(c) => c,
            Err(e) => return Err(CoreError::InvalidInput(failed(e.to_string()))),
        };
        if file.failed() {
            let e = file.finish().err().expect("a failed write is an error");
            let msg = failed(e.to_string());
            return Err(CoreError::Io(std::io::Error::other(msg)));
        }
        if code != 0 {
            let err = String::from_utf8_lossy(&stderr);
            if err.contains("does not exist") || err.contains("Unknown database") {
                return Err(CoreError::InvalidInput(format!(
                    "there is no database '{database}' on '{}'",
                    row.name
                )));
            }
            return Err(CoreError::InvalidInput(failed(format!(
                "{} exited with code {code}: {}",
                t.cmd[0],
                err.trim()
            ))));
        }
        let written = match file.finish() {
            Ok(w) => w,
            Err(e) => {
                let msg = failed(e.to_string());
                return Err(CoreError::Io(std::io::Error::other(msg)));
            }
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

fn drop_database(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Postgres => format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            crate::ident::pg_ident(name)
        ),
        _ => format!("DROP DATABASE IF EXISTS {}", crate::ident::my_ident(name)),
    }
}

fn create_database(kind: Kind, name: &str, owner: &str) -> String {
    match kind {
        Kind::Postgres => format!(
            "CREATE DATABASE {} OWNER {}",
            crate::ident::pg_ident(name),
            crate::ident::pg_ident(owner)
        ),
        _ => format!("CREATE DATABASE {}", crate::ident::my_ident(name)),
    }
}

/// The first and last KiB of a file.
fn head_and_tail(path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let len = f.metadata().map_err(|e| io_error(path, e))?.len();
    let mut head = vec![0; len.min(1024) as usize];
    f.read_exact(&mut head).map_err(|e| io_error(path, e))?;
    let mut tail = vec![0; len.min(1024) as usize];
    f.seek(SeekFrom::Start(len - tail.len() as u64))
        .map_err(|e| io_error(path, e))?;
    f.read_exact(&mut tail).map_err(|e| io_error(path, e))?;
    Ok((head, tail))
}
