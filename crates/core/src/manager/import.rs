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
use std::time::Instant;

use serde::Serialize;

use super::import_file::{inspect, ImportFeed, ImportFile};
use super::naming::project_secret_key;
use super::replace::{refuse_if_it_holds_data, Feed, Replacing};
use super::tasks::TaskSummary;
use super::ProgressFn;
use super::{Manager, TaskKind};
use crate::backup::validate_database_name;
use crate::drivers::DatabaseOwner;
use crate::error::{CoreError, Result};
use crate::store::{AttachmentRow, BackupRow, ServiceRow};

pub use crate::drivers::FileFormat;
pub use crate::error::ImportError;

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
            let counted = self.run_sql_in(row, pw, target, &objects_query).await?;
            refuse_if_it_holds_data(&row.name, target, &counted)?;
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
                    if let Err(e2) = self.restore_into(row, b, target, false, &noop).await {
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
