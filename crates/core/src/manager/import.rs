//! `dockhand import`: a dump written elsewhere (`.sql`, `.sql.gz`, `pg_dump -Fc`, a MariaDB dump)
//! into a project's database.
//!
//! Nothing is lost: a database holding anything is replaced only when asked (`replace`), and any
//! existing database is backed up first (a listed backup). The file fills a database the import
//! creates — PostgreSQL: a scratch database renamed over the target once complete; MariaDB: the
//! target recreated and marked until complete — so a failure or a kill -9 at any moment leaves
//! what the restore machinery leaves ([`Manager::restore`]).
//!
//! The file is not trusted: it runs as the project's user, never the admin, through a client
//! that refuses client-side commands (see `drivers/*/import.rs`), so it can only do what the
//! project itself could.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::exec::{tool_error, DUMP_LIMIT};
use super::import_file::{inspect, FeedStream, Gate, ImportFeed, ImportFile};
use super::naming::project_secret_key;
use super::restore::{Feed, Replacing};
use super::tasks::TaskSummary;
use super::{container_of, Manager, TaskKind};
use super::{Progress, ProgressFn};
use crate::backup::validate_database_name;
use crate::drivers::{DatabaseOwner, ImportInput};
use crate::engine::{LogChunk, OutputStream};
use crate::error::{CoreError, Result};
use crate::store::{AttachmentRow, BackupRow, ServiceRow};

pub use crate::drivers::FileFormat;
pub use crate::error::ImportError;

/// How often progress is reported while a file streams in.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// A finished import.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    pub service: String,
    pub database: String,
    pub project: String,
    pub file: String,
    /// What the file was found to be.
    pub format: String,
    /// Bytes of the file read (compressed, when it is).
    pub bytes: u64,
    /// The backup taken of the database before it was replaced.
    pub safety_backup: Option<BackupRow>,
    pub took_ms: u64,
}

impl Manager {
    /// Imports `file` into a project's database. `target` is a project's name, or
    /// `<service>/<database>` naming a project's database. A database holding anything is only
    /// replaced with `replace`, and any existing one is backed up first.
    pub async fn import(
        &self,
        target: &str,
        file: &Path,
        replace: bool,
        progress: &ProgressFn<'_>,
    ) -> Result<Imported> {
        let task = self.begin_task(TaskKind::Import, target)?;
        let feed = task.feed(progress);
        task.finish(self.import_untracked(target, file, replace, &feed).await)
    }

    async fn import_untracked(
        &self,
        target: &str,
        file: &Path,
        replace: bool,
        progress: &ProgressFn<'_>,
    ) -> Result<Imported> {
        let started = Instant::now();
        let path = file.to_path_buf();
        let f = tokio::task::spawn_blocking(move || inspect(&path))
            .await
            .map_err(|e| CoreError::Io(std::io::Error::other(e)))??;
        if f.format == FileFormat::RedisRdb {
            // Whatever the target: no shared server takes a whole-server snapshot.
            let hint = super::import_file::SNAPSHOT_REFUSED.to_string();
            return Err(ImportError::Snapshot {
                path: f.path.clone(),
                hint,
            }
            .into());
        }
        let (row, att) = self.import_target(target, &f)?;
        let input = f
            .format
            .fits(row.kind)
            .map_err(|hint| ImportError::WrongKind {
                path: f.path.clone(),
                file_is: f.describe(),
                kind: row.kind.spec().display_name.into(),
                service: row.name.clone(),
                hint,
            })?;
        let importer = self.driver(row.kind).importer().ok_or_else(|| {
            ImportError::Unsupported(format!(
                "{} does not import files into a project's share of the server",
                row.kind.spec().display_name
            ))
        })?;
        let key = project_secret_key(&self.instance, &att.project, &att.service);
        let password = self.secrets.get(&key)?.ok_or_else(|| {
            CoreError::Secret(format!(
                "the password of project '{}' on '{}' is not in the OS keychain; `dockhand attach {} {}` sets it again",
                att.project, att.service, att.project, att.service
            ))
        })?;
        let admin_password = self.admin_password(&row.name)?;
        let carried = self.service_carries(&row)?;
        let extensions: Vec<&str> = carried.iter().map(|e| e.sql_name()).collect();
        let feed = ImportFeed {
            file: &f,
            input,
            importer,
            user: &att.db_user,
            password: password.expose(),
            admin_password: admin_password.expose(),
            extensions: &extensions,
            service: &row.name,
            target: &att.db_name,
            progress,
        };
        // Asked now, so that a kind that cannot import safely says so before anything is done.
        importer
            .command(input, &feed.import_to(&att.db_name))
            .map_err(ImportError::Unsupported)?;
        let holder = format!("import:{}", std::process::id());
        let noop = |_| {};
        let (lease, _) = self.acquire(&row.name, &holder, false, None, &noop).await?;
        let result = self.import_leased(&row, &att, &feed, replace).await;
        if let Err(e) = self.release(&lease).await {
            tracing::warn!("could not release the import lease: {e}");
        }
        let safety_backup = result?;
        Ok(Imported {
            service: row.name.clone(),
            database: att.db_name.clone(),
            project: att.project.clone(),
            file: f.path.display().to_string(),
            format: f.describe(),
            bytes: f.size,
            safety_backup,
            took_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// The service and project database `target` names.
    fn import_target(&self, target: &str, f: &ImportFile) -> Result<(ServiceRow, AttachmentRow)> {
        if let Some((service, database)) = target.split_once('/') {
            validate_database_name(database)?;
            let row = self.resolve(service)?;
            let att = self
                .store
                .attachments(None, Some(&row.name))?
                .into_iter()
                .find(|a| a.db_name == database)
                .ok_or_else(|| ImportError::NotAProjectDatabase {
                    service: row.name.clone(),
                    database: database.to_string(),
                })?;
            return Ok((row, att));
        }
        if self.store.project(target)?.is_none() {
            return Err(ImportError::UnknownTarget(target.to_string()).into());
        }
        let mut candidates = Vec::new();
        for att in self.store.attachments(Some(target), None)? {
            let row = self.resolve(&att.service)?;
            if self.driver(row.kind).importer().is_some() {
                candidates.push((row, att));
            }
        }
        // A project with PostgreSQL and MariaDB: the file's format chooses, when it can.
        if candidates.len() > 1 {
            candidates.retain(|(row, _)| f.format.fits(row.kind).is_ok());
        }
        match candidates.len() {
            1 => Ok(candidates.remove(0)),
            0 => Err(ImportError::NoDatabase {
                project: target.to_string(),
                detail: format!("that {} can go into", f.describe()),
            }
            .into()),
            _ => Err(ImportError::AmbiguousProject {
                project: target.to_string(),
                services: candidates
                    .iter()
                    .map(|(r, _)| format!("'{}'", r.name))
                    .collect::<Vec<_>>()
                    .join(" and "),
                database: candidates[0].1.db_name.clone(),
            }
            .into()),
        }
    }

    /// Under the import's lease: settle killed restores and imports, check the target, fill
    /// it (replacing what is there only after a backup). Returns that backup, if one was taken.
    async fn import_leased(
        &self,
        row: &ServiceRow,
        att: &AttachmentRow,
        feed: &ImportFeed<'_>,
        replace: bool,
    ) -> Result<Option<BackupRow>> {
        let password = self.admin_password(&row.name)?;
        let pw = password.expose();
        let target = att.db_name.as_str();
        self.recover_restores(row, pw, None).await?;
        let exists = self
            .list_databases(row, pw)
            .await?
            .iter()
            .any(|d| d == target);
        let objects_query = feed.importer.objects_in(target);
        if exists && !replace {
            let out = self.run_sql_in(row, pw, target, &objects_query).await?;
            let objects: i64 = out.trim().parse().unwrap_or(i64::MAX);
            if objects > 0 {
                return Err(ImportError::HasData {
                    service: row.name.clone(),
                    database: target.to_string(),
                    objects,
                }
                .into());
            }
        }
        // An empty database the project writes to while the file streams in is not replaced
        // without --replace either: counted again once the project is kept out.
        let replacing = exists.then(|| Replacing {
            reason: "before-import",
            progress: feed.progress,
            refuse_objects: (!replace).then(|| objects_query.clone()),
            backup: Default::default(),
        });
        let source = Feed::Import(feed);
        let owner = DatabaseOwner {
            role: &att.db_user,
            password: feed.password,
        };
        let outcome = self
            .fill_database(row, pw, &source, target, Some(&owner), replacing.as_ref())
            .await;
        let safety_backup = replacing.as_ref().and_then(|r| r.backup.get().cloned());
        match outcome {
            Ok(()) => {
                self.event(
                    &row.name,
                    "import",
                    &format!(
                        "{} ({}) imported into '{target}' of project '{}'{}",
                        feed.file.path.display(),
                        feed.file.describe(),
                        att.project,
                        safety_backup
                            .as_ref()
                            .map(|b| format!("; it was backed up first (backup {})", b.id))
                            .unwrap_or_default()
                    ),
                );
                Ok(safety_backup)
            }
            Err(e) => {
                // MariaDB replaces by dropping first (it cannot rename a database): the content
                // comes back from the backup just taken.
                if let (Some(b), false) =
                    (&safety_backup, self.database_exists(row, pw, target).await)
                {
                    let noop = |_| {};
                    if let Err(e2) = self.restore_leased(row, b, target, false, &noop).await {
                        tracing::warn!("could not put back '{target}' from backup {}: {e2}", b.id);
                    }
                }
                self.event(
                    &row.name,
                    "import-failed",
                    &format!(
                        "import of {} into '{target}' failed: {e}",
                        feed.file.path.display()
                    ),
                );
                Err(match e {
                    CoreError::Import(ImportError::Rejected {
                        service,
                        database,
                        why,
                        ..
                    }) => ImportError::Rejected {
                        service,
                        database,
                        why,
                        safety: safety_backup.as_ref().map(|b| b.id),
                    }
                    .into(),
                    e => e,
                })
            }
        }
    }

    async fn database_exists(&self, row: &ServiceRow, pw: &str, database: &str) -> bool {
        self.list_databases(row, pw)
            .await
            .map(|dbs| dbs.iter().any(|d| d == database))
            .unwrap_or(true)
    }

    /// Streams the file into `database` through the kind's import tool, as the project's user,
    /// reporting the bytes read.
    pub(super) async fn feed_import(
        &self,
        row: &ServiceRow,
        f: &ImportFeed<'_>,
        database: &str,
        gate: Option<Gate>,
    ) -> Result<()> {
        let t = f
            .importer
            .command(f.input, &f.import_to(database))
            .map_err(ImportError::Unsupported)?;
        let (prelude, filter) = match f.input {
            ImportInput::Sql => (
                f.importer.sql_prelude(&restrict_key()),
                Some(f.importer.sql_filter()),
            ),
            ImportInput::PgArchive => (Vec::new(), None),
        };
        let mut stream = FeedStream::start(f.file, prelude, filter, gate);
        let read = stream.read.clone();
        let total = f.file.size;
        let what = format!("importing into {}", f.target);
        (f.progress)(Progress::step(f.service, what.clone()));
        let report =
            |bytes| (f.progress)(Progress::bytes(f.service, what.clone(), bytes, Some(total)));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let argv = t.argv();
        let container = container_of(row);
        let code = {
            let mut sink = |c: LogChunk| match c.stream {
                // Quiet tools (psql -q); a bounded tail of whatever one says is kept.
                OutputStream::Stdout => keep_tail(&mut out, &c.bytes),
                OutputStream::Stderr => keep_tail(&mut err, &c.bytes),
            };
            let exec = self.engine.exec_with_input(
                &container,
                &argv,
                &t.env,
                t.user,
                DUMP_LIMIT,
                &mut stream,
                &mut sink,
            );
            tokio::pin!(exec);
            let mut tick = tokio::time::interval(PROGRESS_EVERY);
            loop {
                tokio::select! {
                    r = &mut exec => break r,
                    _ = tick.tick() => report(read.load(Ordering::Relaxed)),
                }
            }
        };
        let failure = stream.finish().await;
        let context = format!("import into '{}' on '{}'", f.target, row.name);
        let code = match code {
            Ok(c) => c,
            Err(e) => return Err(self.cut_off(row, context, &t, e).await),
        };
        if let Some(e) = failure {
            return Err(e.into());
        }
        if code != 0 {
            let said = String::from_utf8_lossy(&err).trim().to_string();
            let why = match f.importer.explain_failure(&said) {
                Some(why) => why,
                None => tool_error(context, &t, Some(code), &err).to_string(),
            };
            return Err(ImportError::Rejected {
                service: row.name.clone(),
                database: f.target.to_string(),
                why,
                safety: None,
            }
            .into());
        }
        report(read.load(Ordering::Relaxed));
        Ok(())
    }
}

/// Keeps the last 64 KiB a tool wrote (a failing import can print an error per statement).
fn keep_tail(buf: &mut Vec<u8>, bytes: &[u8]) {
    const KEEP: usize = 64 * 1024;
    buf.extend_from_slice(bytes);
    if buf.len() > 2 * KEEP {
        buf.drain(..buf.len() - KEEP);
    }
}

/// A key the file cannot know, so it cannot lift the client's restriction.
fn restrict_key() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)]))
        .collect()
}

/// How an import is worded in its task record.
impl TaskSummary for Imported {
    fn summary(&self) -> std::result::Result<String, String> {
        Ok(format!(
            "{} ({}, {} bytes) imported into '{}' on '{}'",
            self.file, self.format, self.bytes, self.database, self.service
        ))
    }
}
