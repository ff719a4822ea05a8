//! `backup`, `backups`, `verify`, `restore`.

use std::sync::Arc;

use dockhand_core::facade::{BackupAllReport, BackupScope};
use dockhand_core::{CoreError, Manager, Result};

use crate::output::{ago, human_bytes, table, timestamp, ProgressView};

pub async fn backup(
    m: &Arc<Manager>,
    service: Option<String>,
    database: Option<String>,
    project: Option<String>,
    all: bool,
    json: bool,
) -> Result<()> {
    let chosen = [database.is_some(), project.is_some(), all]
        .iter()
        .filter(|b| **b)
        .count();
    if chosen > 1 {
        return Err(CoreError::InvalidInput(
            "choose one of --database, --project and --all".into(),
        ));
    }
    let view = ProgressView::new(json);
    let progress = |p| view.show(p);
    let report = match service {
        Some(s) => {
            let scope = match (database, project) {
                (Some(d), _) => BackupScope::Database(d),
                (_, Some(p)) => BackupScope::Project(p),
                _ => BackupScope::All,
            };
            BackupAllReport {
                done: m.backup(&s, &scope, "manual", &progress).await?,
                ..Default::default()
            }
        }
        None if all => m.backup_all("manual", &progress).await?,
        None => {
            return Err(CoreError::InvalidInput(
                "name a service (`dockhand backup postgres-15`), or back up every running service with --all".into(),
            ))
        }
    };
    view.done();
    let BackupAllReport {
        done: rows,
        failed,
        nothing,
        not_running,
    } = report;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "backups": rows,
                "failed": failed.iter().map(|(s, e)| serde_json::json!({"service": s, "code": e.code(), "message": e.to_string()})).collect::<Vec<_>>(),
                "nothing_to_back_up": nothing.iter().map(|(s, why)| serde_json::json!({"service": s, "why": why})).collect::<Vec<_>>(),
                "not_running": not_running,
            })
        );
    } else {
        for b in &rows {
            println!(
                "{}/{}: {} in {} ms → {} (backup {})",
                b.service,
                b.database,
                human_bytes(b.size_bytes),
                b.duration_ms,
                b.path,
                b.id
            );
        }
        for (s, why) in &nothing {
            eprintln!("{s}: nothing to back up: {why}");
        }
        for s in &not_running {
            eprintln!(
                "{s}: not running, not backed up (`dockhand backup {s}` starts it and backs it up)"
            );
        }
        for (s, e) in &failed {
            eprintln!("{s}: backup failed: {e}");
        }
        if all && rows.is_empty() && failed.is_empty() {
            eprintln!("Nothing was backed up: no running service has a database to back up.");
        }
    }
    // Something that should have been backed up and was not fails the command; a server with
    // nothing in it, or a stopped one (named above), does not.
    match failed.into_iter().next() {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

pub fn list(
    m: &Manager,
    service: Option<String>,
    database: Option<String>,
    json: bool,
) -> Result<()> {
    let rows = m.backups(service.as_deref(), database.as_deref())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows).unwrap());
        return Ok(());
    }
    if rows.is_empty() {
        println!("No backups yet. Take one with `dockhand backup <service>`.");
        return Ok(());
    }
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|b| {
            vec![
                b.id.to_string(),
                timestamp(b.created_at_ms),
                ago(b.created_at_ms),
                b.service.clone(),
                b.database.clone(),
                human_bytes(b.size_bytes),
                b.reason.clone(),
                b.path.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["ID", "TAKEN", "", "SERVICE", "DATABASE", "SIZE", "WHY", "FILE"],
            &table_rows
        )
    );
    Ok(())
}

pub async fn verify(m: &Manager, id: i64, json: bool) -> Result<()> {
    let v = m.verify(id).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap());
    } else {
        let readable = match v.readable {
            Some(true) => "readable",
            Some(false) => "NOT readable",
            None => "readability not checked",
        };
        let sum = if v.checksum_ok {
            "checksum ok"
        } else {
            "CHECKSUM MISMATCH"
        };
        println!("backup {id}: {sum}, {readable}. {}", v.detail);
    }
    if v.ok() {
        Ok(())
    } else {
        Err(CoreError::InvalidInput(format!(
            "backup {id} failed verification: {}",
            v.detail
        )))
    }
}

pub async fn restore(
    m: &Manager,
    id: i64,
    into: Option<String>,
    overwrite: bool,
    yes: bool,
    json: bool,
) -> Result<()> {
    if overwrite && !yes {
        let b = m
            .backups(None, None)?
            .into_iter()
            .find(|b| b.id == id)
            .ok_or_else(|| CoreError::InvalidInput(format!("no backup with id {id}")))?;
        let target = into.clone().unwrap_or(b.database.clone());
        let confirmed = crate::output::typed_confirmation(
            &format!(
                "This replaces database '{target}' on '{}' (it is backed up first). Type its name to confirm: ",
                b.service
            ),
            &[target.as_str()],
            format!(
                "--overwrite replaces database '{target}' on '{}'; confirm with --yes when not at a terminal. Nothing was changed",
                b.service
            ),
        )?;
        if !confirmed {
            return Err(CoreError::InvalidInput(
                "not confirmed; nothing was changed".into(),
            ));
        }
    }
    let noop = |_| {};
    let r = m.restore(id, into.as_deref(), overwrite, &noop).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap());
    } else {
        if r.finished_by_earlier_run {
            println!(
                "backup {} was already restored into '{}' on '{}' by an earlier, interrupted run; nothing left to do",
                id, r.database, r.service
            );
        } else {
            println!(
                "backup {} restored into '{}' on '{}' in {} ms",
                id, r.database, r.service, r.took_ms
            );
        }
        if let Some(s) = &r.safety_backup {
            println!("its previous contents are in backup {} ({})", s.id, s.path);
        }
    }
    Ok(())
}
