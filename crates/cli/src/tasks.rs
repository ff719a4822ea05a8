//! `dockhand tasks`: long operations of every Dockhand process (this CLI, other terminals, the
//! tray app), running ones first with their progress, then the recent history.

use std::sync::Arc;

use dockhand_core::facade::{TaskRow, TaskState, TASK_HISTORY};
use dockhand_core::{Manager, Result};

use crate::output::{ago, human_bytes, table};

/// Finished tasks shown without `--all`.
const RECENT: usize = 20;

pub fn list(m: &Arc<Manager>, all: bool, json: bool) -> Result<()> {
    let history = if all { TASK_HISTORY as usize } else { RECENT };
    let tasks = m.tasks(history)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&tasks).unwrap());
        return Ok(());
    }
    if tasks.is_empty() {
        println!("No tasks yet. Backups, restores, upgrades, imports, exports and `up` with a pull are listed here.");
        return Ok(());
    }
    print!("{}", render(&tasks));
    if !all
        && tasks
            .iter()
            .filter(|t| t.state != TaskState::Running)
            .count()
            == RECENT
    {
        println!("(the {RECENT} most recent finished tasks; --all shows up to {TASK_HISTORY})");
    }
    Ok(())
}

/// The tasks as a table (also under `status --watch`).
pub fn render(tasks: &[TaskRow]) -> String {
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|t| {
            let detail = match t.state {
                TaskState::Running => t.progress.message.clone(),
                TaskState::Succeeded => t.result.clone(),
                _ => t.error.clone(),
            };
            vec![
                t.id.to_string(),
                t.kind.clone(),
                t.target.clone(),
                t.state.to_string(),
                progress(t),
                ago(t.finished_at_ms.unwrap_or(t.started_at_ms)),
                detail
                    .as_deref()
                    .and_then(|d| d.lines().next())
                    .unwrap_or("")
                    .to_string(),
            ]
        })
        .collect();
    table(
        &[
            "ID", "TASK", "TARGET", "STATE", "PROGRESS", "WHEN", "DETAIL",
        ],
        &rows,
    )
}

/// `12.3 MiB`, `40.1 MiB / 120.0 MiB (33%)`, or the count and unit.
fn progress(t: &TaskRow) -> String {
    let p = &t.progress;
    let Some(done) = p.done else {
        return String::new();
    };
    let fmt = |n: u64| match p.unit.as_deref() {
        Some("bytes") => human_bytes(n),
        Some(u) => format!("{n} {u}"),
        None => n.to_string(),
    };
    match p.total.filter(|t| *t > 0) {
        Some(total) => format!(
            "{} / {} ({}%)",
            fmt(done),
            fmt(total),
            done.saturating_mul(100) / total
        ),
        None => fmt(done),
    }
}
