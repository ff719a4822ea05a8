//! `dockhand export`: a dump of one database (what `dockhand backup` writes: `pg_dump -Fc`, a
//! `mariadb-dump` SQL file) to a file of the user's choice — gzip-compressed when its name ends
//! in `.gz` — or to stdout. The file is written under a temporary name, fsynced and renamed:
//! a file under the final name is always complete.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::exec::{tool_error, DUMP_LIMIT};
use super::tasks::TaskSummary;
use super::{container_of, Manager, TaskKind};
use super::{Progress, ProgressFn};
use crate::backup::validate_database_name;
use crate::engine::{LogChunk, OutputStream};
use crate::error::{CoreError, Result};
use crate::store::ServiceRow;

const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Where an export goes.
#[derive(Debug, Clone)]
pub enum ExportDest {
    File(PathBuf),
    /// `<database>.<dump extension>` in this folder.
    Folder(PathBuf),
    Stdout,
}

#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    pub service: String,
    pub database: String,
    /// The file written; `None` for stdout.
    pub path: Option<String>,
    pub gzip: bool,
    /// Bytes of the dump (before compression).
    pub dump_bytes: u64,
    /// Bytes of the file (after compression).
    pub file_bytes: u64,
    pub took_ms: u64,
}

impl Manager {
    /// Dumps a database — `<service>/<database>`, or a project's (its only SQL database) — to
    /// `dest`.
    pub async fn export(
        &self,
        target: &str,
        dest: ExportDest,
        progress: &ProgressFn<'_>,
    ) -> Result<Exported> {
        let task = self.begin_task(TaskKind::Export, target)?;
        let feed = task.feed(progress);
        task.finish(self.export_untracked(target, dest, &feed).await)
    }

    async fn export_untracked(
        &self,
        target: &str,
        dest: ExportDest,
        progress: &ProgressFn<'_>,
    ) -> Result<Exported> {
        let started = Instant::now();
        let (row, database) = self.export_source(target)?;
        // A file named `.sql` (or `.sql.gz`) gets SQL, whatever the kind's own dump format.
        let as_sql = matches!(&dest, ExportDest::File(p) if {
            let name = p.file_name().unwrap_or_default().to_string_lossy().to_lowercase();
            name.ends_with(".sql") || name.ends_with(".sql.gz")
        });
        let driver = self.driver(row.kind);
        if as_sql && driver.dump_sql("", &database).is_none() {
            return Err(CoreError::InvalidInput(format!(
                "a {} dump is not SQL; name the file .{} (or .{}.gz)",
                row.kind.spec().display_name,
                driver.dump_extension(),
                driver.dump_extension()
            )));
        }
        let mut out = match &dest {
            ExportDest::File(p) => Output::file(p)?,
            ExportDest::Folder(d) => Output::file(&d.join(format!(
                "{database}.{}",
                self.driver(row.kind).dump_extension()
            )))?,
            ExportDest::Stdout => Output::stdout(),
        };
        let holder = format!("export:{}", std::process::id());
        let noop = |_| {};
        let (lease, _) = self.acquire(&row.name, &holder, false, None, &noop).await?;
        let result = self
            .dump_into(&row, &database, as_sql, &mut out, progress)
            .await;
        if let Err(e) = self.release(&lease).await {
            tracing::warn!("could not release the export lease: {e}");
        }
        let dump_bytes = result?;
        let (path, gzip, file_bytes) = out.finish()?;
        self.event(
            &row.name,
            "export",
            &format!(
                "'{database}' exported ({dump_bytes} bytes) to {}",
                path.as_deref().unwrap_or("stdout")
            ),
        );
        Ok(Exported {
            service: row.name.clone(),
            database,
            path,
            gzip,
            dump_bytes,
            file_bytes,
            took_ms: started.elapsed().as_millis() as u64,
        })
    }

    fn export_source(&self, target: &str) -> Result<(ServiceRow, String)> {
        if let Some((service, database)) = target.split_once('/') {
            validate_database_name(database)?;
            let row = self.resolve(service)?;
            self.sql_of(&row)?;
            return Ok((row, database.to_string()));
        }
        if self.store.project(target)?.is_none() {
            return Err(CoreError::InvalidInput(format!(
                "no project named '{target}'; name a project (`dockhand project list` lists them) or a service's database as <service>/<database>"
            )));
        }
        let mut found = Vec::new();
        for att in self.store.attachments(Some(target), None)? {
            let row = self.resolve(&att.service)?;
            if self.driver(row.kind).sql().is_some() {
                found.push((row, att.db_name));
            }
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(CoreError::InvalidInput(format!(
                "project '{target}' has no SQL database to export"
            ))),
            _ => Err(CoreError::InvalidInput(format!(
                "project '{target}' has databases on {}; name one as <service>/<database>",
                found
                    .iter()
                    .map(|(r, d)| format!("{}/{d}", r.name))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))),
        }
    }

    /// Runs the kind's dump tool, its output into `out`; returns the dump's size.
    async fn dump_into(
        &self,
        row: &ServiceRow,
        database: &str,
        as_sql: bool,
        out: &mut Output,
        progress: &ProgressFn<'_>,
    ) -> Result<u64> {
        let password = self.admin_password(&row.name)?;
        let driver = self.driver(row.kind);
        let t = match as_sql {
            true => driver
                .dump_sql(password.expose(), database)
                .expect("checked by the caller"),
            false => driver.dump(password.expose(), database),
        };
        let mut stderr = Vec::new();
        let mut last = Instant::now();
        let mut sink = |c: LogChunk| match c.stream {
            OutputStream::Stdout => {
                out.write(&c.bytes);
                if last.elapsed() >= PROGRESS_EVERY {
                    last = Instant::now();
                    progress(Progress::bytes(
                        &row.name,
                        format!("exporting {database}"),
                        out.dump_bytes,
                        None,
                    ));
                }
            }
            OutputStream::Stderr => stderr.extend_from_slice(&c.bytes),
        };
        let argv = t.argv();
        let code = self
            .engine
            .exec(&container_of(row), &argv, &t.env, DUMP_LIMIT, &mut sink)
            .await;
        let context = format!("export of '{database}' on '{}'", row.name);
        let code = match code {
            Ok(c) => c,
            Err(e) => return Err(self.cut_off(row, context, &t, e).await),
        };
        if let Some(e) = out.error.take() {
            return Err(e);
        }
        if code != 0 {
            let err = String::from_utf8_lossy(&stderr);
            if err.contains("does not exist") || err.contains("Unknown database") {
                return Err(CoreError::UnknownDatabase {
                    service: row.name.clone(),
                    name: database.to_string(),
                });
            }
            return Err(tool_error(context, &t, Some(code), &stderr));
        }
        progress(Progress::bytes(
            &row.name,
            format!("exporting {database}"),
            out.dump_bytes,
            None,
        ));
        Ok(out.dump_bytes)
    }
}

/// The export's destination: a temporary file renamed once complete (removed if the export
/// fails or is dropped), or stdout; gzip-compressed for a `.gz` name.
struct Output {
    writer: Option<Writer>,
    file: Option<PartialFile>,
    dump_bytes: u64,
    error: Option<CoreError>,
}

enum Writer {
    Plain(std::fs::File),
    Gzip(flate2::write::GzEncoder<std::fs::File>),
    Stdout(std::io::Stdout),
}

struct PartialFile {
    tmp: PathBuf,
    dest: PathBuf,
}

impl Drop for PartialFile {
    // An unfinished export never stays behind (once renamed, the temporary name is gone).
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

impl Output {
    fn file(dest: &Path) -> Result<Output> {
        if dest.is_dir() {
            return Err(CoreError::InvalidInput(format!(
                "{} is a folder; name the file to write (e.g. {}/dump.sql.gz)",
                dest.display(),
                dest.display()
            )));
        }
        if dest.exists() {
            return Err(CoreError::InvalidInput(format!(
                "{} exists already; nothing was overwritten — choose another name or remove it",
                dest.display()
            )));
        }
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dest.file_name().unwrap_or_default().to_string_lossy();
        let tmp = dir.join(format!(".{name}.{}.partial", std::process::id()));
        let file = private_file(&tmp).map_err(|e| CoreError::file(&tmp, "write", e))?;
        let writer = if name.ends_with(".gz") {
            Writer::Gzip(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::default(),
            ))
        } else {
            Writer::Plain(file)
        };
        Ok(Output {
            writer: Some(writer),
            file: Some(PartialFile {
                tmp,
                dest: dest.to_path_buf(),
            }),
            dump_bytes: 0,
            error: None,
        })
    }

    fn stdout() -> Output {
        Output {
            writer: Some(Writer::Stdout(std::io::stdout())),
            file: None,
            dump_bytes: 0,
            error: None,
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let r = match self.writer.as_mut() {
            Some(Writer::Plain(f)) => f.write_all(bytes),
            Some(Writer::Gzip(g)) => g.write_all(bytes),
            Some(Writer::Stdout(o)) => o.write_all(bytes),
            None => Ok(()),
        };
        match r {
            Ok(()) => self.dump_bytes += bytes.len() as u64,
            Err(e) => {
                self.error = Some(match &self.file {
                    Some(f) => CoreError::file(&f.dest, "write", e),
                    None => CoreError::Io(e),
                })
            }
        }
    }

    /// Flushes the output; a file is fsynced, then renamed. Returns (path, gzip, bytes on disk).
    fn finish(mut self) -> Result<(Option<String>, bool, u64)> {
        let writer = self.writer.take().expect("open until finish");
        let Some(partial) = self.file.take() else {
            if let Writer::Stdout(mut o) = writer {
                o.flush().map_err(CoreError::Io)?;
            }
            return Ok((None, false, self.dump_bytes));
        };
        let fail = |e| CoreError::file(&partial.dest, "write", e);
        let (file, gzip) = match writer {
            // A gzip stream is only complete with its trailer: written before the rename.
            Writer::Gzip(g) => (g.finish().map_err(fail)?, true),
            Writer::Plain(f) => (f, false),
            Writer::Stdout(_) => unreachable!("stdout has no file"),
        };
        file.sync_all().map_err(fail)?;
        let size = file.metadata().map_err(fail)?.len();
        drop(file);
        if partial.dest.exists() {
            return Err(CoreError::InvalidInput(format!(
                "{} appeared while the export ran; nothing was overwritten",
                partial.dest.display()
            )));
        }
        std::fs::rename(&partial.tmp, &partial.dest).map_err(fail)?;
        if let Some(dir) = partial.dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok((Some(partial.dest.display().to_string()), gzip, size))
    }
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// How an export is worded in its task record.
impl TaskSummary for Exported {
    fn summary(&self) -> std::result::Result<String, String> {
        Ok(format!(
            "'{}' on '{}' exported ({} bytes) to {}",
            self.database,
            self.service,
            self.file_bytes,
            self.path.as_deref().unwrap_or("stdout")
        ))
    }
}
