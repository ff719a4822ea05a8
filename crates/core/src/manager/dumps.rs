//! Taking and checking backups: the pieces every operation that backs up uses (`backup`,
//! the safety backups of restores and imports, the snapshot before an upgrade, a drop): the
//! policy, one database's dump written crash-safe and recorded, a scope's backups under a
//! lease, verification, retention.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::exec::{quoted_list, tool_error, DUMP_LIMIT, TOOL_LIMIT};
use super::naming::is_restore_scratch;
use super::test_pause::test_pause;
use super::{container_of, Manager, Progress, ProgressFn};
use crate::backup::file::{io_error, sha256_of, DumpFile};
use crate::backup::tools::WHOLE_SERVER;
use crate::backup::{
    retention_victims, timestamp, validate_database_name, BackupPolicy, BackupScope, Schedule,
    Verification, DEFAULT_KEEP,
};
use crate::catalog::Kind;
use crate::drivers::{BackupUnit, ReadabilityCheck};
use crate::engine::{exec_collect_env, LogChunk, OutputStream};
use crate::error::{CoreError, Result};
use crate::store::{now_ms, BackupRow, NewBackup, ServiceRow};

pub(super) const KEEP_KEY: &str = "backup_keep";
pub(super) const MAX_AGE_KEY: &str = "backup_max_age_days";
pub(super) const SCHEDULE_KEY: &str = "backup_schedule";
pub(super) const DIR_KEY: &str = "backup_dir";

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

    /// The backups of a scope (none if the server has no databases yet), taken under a lease.
    pub(super) async fn backup_held(
        &self,
        row: &ServiceRow,
        scope: &BackupScope,
        reason: &str,
        progress: &ProgressFn<'_>,
    ) -> Result<Vec<BackupRow>> {
        let holder = format!("backup:{}", std::process::id());
        let noop = |_| {};
        let (lease, _) = self.acquire(&row.name, &holder, false, None, &noop).await?;
        let result = async {
            let password = self.admin_password(&row.name)?;
            let databases = self
                .databases_in_scope(row, password.expose(), scope)
                .await?;
            let closed = self.closed_databases(row, password.expose()).await?;
            let mut done = Vec::new();
            let mut skipped = Vec::new();
            for db in databases {
                if closed.contains(&db) {
                    skipped.push(db);
                    continue;
                }
                done.push(
                    self.backup_one(row, password.expose(), &db, reason, progress)
                        .await?,
                );
            }
            if !skipped.is_empty() {
                // The others are backed up (and listed); these are said, never left out quietly.
                return Err(CoreError::ClosedDatabases {
                    what: "cannot back up".into(),
                    service: row.name.clone(),
                    names: quoted_list(&skipped),
                    done: match done.len() {
                        0 => String::new(),
                        n => format!("; the other {n} database(s) were backed up"),
                    },
                });
            }
            Ok(done)
        }
        .await;
        if let Err(e) = self.release(&lease).await {
            tracing::warn!("could not release the backup lease: {e}");
        }
        result
    }

    pub(super) fn backup_row(&self, id: i64) -> Result<BackupRow> {
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

    pub(super) async fn databases_in_scope(
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

    /// The databases a backup of the whole server covers: all but restores in progress.
    async fn databases_to_back_up(&self, row: &ServiceRow, password: &str) -> Result<Vec<String>> {
        let mut dbs = self.list_databases(row, password).await?;
        dbs.retain(|d| !is_restore_scratch(d));
        Ok(dbs)
    }

    /// One dump of one database, recorded once complete, then retention applied.
    pub(super) async fn backup_one(
        &self,
        row: &ServiceRow,
        password: &str,
        database: &str,
        reason: &str,
        progress: &ProgressFn<'_>,
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
                    progress(Progress::bytes(
                        &row.name,
                        format!("backing up {database}"),
                        file.bytes(),
                        None,
                    ));
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
        // All of the dump is written (not yet fsynced and renamed: a kill from here on leaves
        // only a `.partial` file, which the next backup into this folder removes).
        progress(Progress::bytes(
            &row.name,
            format!("backing up {database}"),
            file.bytes(),
            None,
        ));
        test_pause("backup-dumped").await;
        let written = match file.finish() {
            Ok(w) => w,
            Err(e) => return Err(failed(e)),
        };
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

    pub(super) fn prune(&self, service: &str, database: &str, policy: &BackupPolicy) -> Result<()> {
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
