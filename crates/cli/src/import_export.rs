//! `import` and `export`: the core does the work (`Manager::import`, `Manager::export`); this
//! asks for confirmation and shows progress — a bar in bytes on a terminal, a plain line now
//! and then otherwise.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dockhand_core::manager::{ExportDest, ExportProgress, ImportPhase, ImportProgress};
use dockhand_core::{CoreError, Manager, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::output::human_bytes;

/// How often a plain progress line is written when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Progress on stderr: an indicatif bar on a terminal, a line every few seconds elsewhere.
struct Bytes {
    bar: Option<ProgressBar>,
    plain: Mutex<(Instant, Option<ImportPhase>)>,
    quiet: bool,
}

impl Bytes {
    fn new(json: bool) -> Bytes {
        let tty = !json && std::io::stderr().is_terminal();
        Bytes {
            bar: tty.then(ProgressBar::hidden),
            plain: Mutex::new((Instant::now(), None)),
            quiet: json,
        }
    }

    fn show(&self, what: &str, phase: Option<ImportPhase>, bytes: u64, total: Option<u64>) {
        if let Some(bar) = &self.bar {
            if bar.is_hidden() || bar.length() != total {
                let style = match total {
                    Some(t) => {
                        bar.set_length(t);
                        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})"
                    }
                    None => {
                        bar.unset_length();
                        "{msg} {bytes} ({bytes_per_sec})"
                    }
                };
                bar.set_style(
                    ProgressStyle::with_template(style)
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            bar.set_message(what.to_string());
            bar.set_position(bytes);
            return;
        }
        if self.quiet {
            return;
        }
        let mut last = self.plain.lock().unwrap_or_else(|p| p.into_inner());
        // A new phase gets a line at once; within one, a line every few seconds.
        if last.1 == phase && last.0.elapsed() < PLAIN_EVERY {
            return;
        }
        *last = (Instant::now(), phase);
        let of = total
            .filter(|t| *t > 0)
            .map(|t| format!(" of {} ({}%)", human_bytes(t), (bytes.min(t) * 100 / t)))
            .unwrap_or_default();
        eprintln!("{what}: {}{of}", human_bytes(bytes));
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub async fn import(
    m: &Manager,
    target: &str,
    file: &Path,
    replace: bool,
    yes: bool,
    json: bool,
) -> Result<()> {
    if replace && !yes && !confirm_replace(target)? {
        return Err(CoreError::InvalidInput(
            "not confirmed; nothing was changed".into(),
        ));
    }
    let bytes = Bytes::new(json);
    let progress = |p: ImportProgress| {
        let what = match p.phase {
            ImportPhase::BackingUp => format!("backing up {}/{}", p.service, p.database),
            ImportPhase::Importing => format!("importing into {}/{}", p.service, p.database),
        };
        bytes.show(&what, Some(p.phase), p.bytes, p.total);
    };
    let r = m.import(target, file, replace, &progress).await;
    bytes.done();
    let r = r?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap());
        return Ok(());
    }
    if let Some(b) = &r.safety_backup {
        println!(
            "'{}' on '{}' was backed up first: backup {} ({})",
            r.database, r.service, b.id, b.path
        );
    }
    println!(
        "{} ({}, {}) imported into '{}' on '{}' (project '{}') in {} ms",
        r.file,
        r.format,
        human_bytes(r.bytes),
        r.database,
        r.service,
        r.project,
        r.took_ms
    );
    Ok(())
}

/// `--replace` replaces a database's whole content: asked on a terminal, `--yes` otherwise.
fn confirm_replace(target: &str) -> Result<bool> {
    crate::output::typed_confirmation(
        &format!("This replaces everything in '{target}' with the file (a backup of it is taken first). Continue? [y/N] "),
        &["y", "Y", "yes", "YES", "Yes"],
        format!(
            "--replace replaces what '{target}' holds (after a backup of it); confirm with --yes \
             when not at a terminal. Nothing was changed"
        ),
    )
}

pub async fn export(m: &Manager, target: &str, file: Option<PathBuf>, json: bool) -> Result<()> {
    let dest = match file {
        Some(f) if f.as_os_str() == "-" => ExportDest::Stdout,
        Some(f) => ExportDest::File(f),
        None => ExportDest::Folder(std::env::current_dir()?),
    };
    let to_stdout = matches!(dest, ExportDest::Stdout);
    let bytes = Bytes::new(json);
    let progress = |p: ExportProgress| {
        bytes.show(
            &format!("exporting {}/{}", p.service, p.database),
            None,
            p.bytes,
            None,
        );
    };
    let r = m.export(target, dest, &progress).await;
    bytes.done();
    let r = r?;
    // With `-` the dump is stdout: the summary goes to stderr.
    let summary = if json {
        serde_json::to_string_pretty(&r).unwrap()
    } else {
        format!(
            "'{}' on '{}' exported: {} dump{} → {}",
            r.database,
            r.service,
            human_bytes(r.dump_bytes),
            if r.gzip {
                format!(", {} gzipped", human_bytes(r.file_bytes))
            } else {
                String::new()
            },
            r.path.as_deref().unwrap_or("stdout")
        )
    };
    if to_stdout {
        eprintln!("{summary}");
    } else {
        println!("{summary}");
    }
    Ok(())
}
