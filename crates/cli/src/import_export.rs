//! `import` and `export`: the core does the work (`Manager::import`, `Manager::export`); this
//! asks for confirmation and shows progress ([`ProgressView`]).

use std::path::{Path, PathBuf};

use dockhand_core::facade::ExportDest;
use dockhand_core::{CoreError, Manager, Result};

use crate::output::{human_bytes, ProgressView};

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
    let view = ProgressView::new(json);
    let r = m.import(target, file, replace, &|p| view.show(p)).await;
    view.done();
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
    let view = ProgressView::new(json);
    let r = m.export(target, dest, &|p| view.show(p)).await;
    view.done();
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
