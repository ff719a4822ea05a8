//! `dockhand status --watch`: the supervisor's snapshots, as they change.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use dockhand_core::facade::supervisor::{self, Snapshot, SupervisorConfig, SupervisorEvent};
use dockhand_core::facade::TaskRow;
use dockhand_core::{CoreError, Manager, Result};

use crate::output::{ago, table};

/// How often `status --watch` looks for running tasks.
const TASKS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

pub async fn status_watch(m: &Arc<Manager>, json: bool) -> Result<()> {
    // Only watching: the tray app (if running) records events and acts on failures.
    let sup = supervisor::spawn(m.clone(), SupervisorConfig::observer());
    let mut rx = sup.snapshots();
    let tty = !json && std::io::stdout().is_terminal();
    // Long operations of any Dockhand process (a backup from the tray, an upgrade in another
    // terminal) are shown under the services while they run; the state database is asked once
    // a second.
    let mut tasks: Vec<TaskRow> = Vec::new();
    let mut tick = tokio::time::interval(TASKS_EVERY);
    let mut last: Option<Snapshot> = None;
    let first = rx.borrow().clone();
    if first.ready {
        print_snapshot(&first, &tasks, json, tty);
        last = Some(first);
    }
    loop {
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                let snap = rx.borrow_and_update().clone();
                if !snap.ready {
                    continue;
                }
                print_snapshot(&snap, &tasks, json, tty);
                last = Some(snap);
            }
            _ = tick.tick() => {
                let now = match m.running_tasks() {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::warn!("could not read the running tasks: {e}");
                        continue;
                    }
                };
                if now == tasks {
                    continue;
                }
                tasks = now;
                if json {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{}", serde_json::json!({"type": "tasks", "tasks": tasks}));
                    let _ = out.flush();
                } else if let Some(snap) = &last {
                    print_snapshot(snap, &tasks, json, tty);
                }
            }
            _ = tokio::signal::ctrl_c() => {
                sup.shutdown().await;
                return Ok(());
            }
        }
    }
}

pub async fn supervise(m: &Arc<Manager>, json: bool) -> Result<()> {
    let (sup, acting) = supervisor::spawn_exclusive(m.clone())?;
    if !acting {
        sup.shutdown().await;
        return Err(CoreError::InvalidInput(
            "another Dockhand process (the tray app or `dockhand supervise`) already supervises this home; \
             `dockhand status --watch` shows what it sees"
                .into(),
        ));
    }
    let mut events = sup.events();
    let mut snaps = sup.snapshots();
    if !json {
        eprintln!("supervising {} (Ctrl-C to stop)", m.home().root().display());
    }
    let mut said_ready = false;
    let first = snaps.borrow().clone();
    if first.ready {
        said_ready = true;
        print_ready(&first, json);
    }
    loop {
        tokio::select! {
            e = events.recv() => match e {
                Ok(e) => print_event(&e, json),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return Ok(()),
            },
            changed = snaps.changed(), if !said_ready => {
                if changed.is_err() {
                    return Ok(());
                }
                let snap = snaps.borrow_and_update().clone();
                if snap.ready {
                    said_ready = true;
                    print_ready(&snap, json);
                }
            }
            _ = tokio::signal::ctrl_c() => {
                sup.shutdown().await;
                return Ok(());
            }
        }
    }
}

fn print_ready(snap: &Snapshot, json: bool) {
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({"type": "ready", "snapshot": snap})
        );
    } else {
        for h in &snap.services {
            let _ = writeln!(out, "{}: {}", h.status.name, h.health);
        }
    }
    let _ = out.flush();
}

fn print_event(e: &SupervisorEvent, json: bool) {
    let mut out = std::io::stdout().lock();
    let now = crate::output::timestamp(dockhand_core::facade::now_ms());
    if json {
        let _ = writeln!(out, "{}", serde_json::to_string(e).unwrap());
    } else {
        let line = match e {
            SupervisorEvent::Transition {
                service,
                from,
                to,
                reason,
                ready_ms,
            } => {
                let from = from.map(|f| f.to_string()).unwrap_or_default();
                let mut l = format!("{service}: {from} → {to}");
                if let Some(ms) = ready_ms {
                    l.push_str(&format!(" (ready in {ms} ms)"));
                }
                if let Some(r) = reason {
                    l.push_str(&format!(": {r}"));
                }
                l
            }
            SupervisorEvent::EngineUnavailable { reason } => {
                format!("engine unavailable: {reason}")
            }
            SupervisorEvent::EngineAvailable { restored } if restored.is_empty() => {
                "engine available again".to_string()
            }
            SupervisorEvent::EngineAvailable { restored } => {
                format!("engine available again; started {}", restored.join(", "))
            }
            SupervisorEvent::Restarted {
                message, service, ..
            } => format!("{service}: {message}"),
            SupervisorEvent::BackupDone { backup } => format!(
                "{}/{}: backed up ({} bytes) to {}",
                backup.service, backup.database, backup.size_bytes, backup.path
            ),
            SupervisorEvent::BackupFailed { service, reason } => {
                format!("{service}: backup failed: {reason}")
            }
            SupervisorEvent::BusyEnded {
                service, message, ..
            } => format!("{service}: {message}"),
        };
        let _ = writeln!(out, "{now} {line}");
    }
    let _ = out.flush();
}

fn print_snapshot(snap: &Snapshot, tasks: &[TaskRow], json: bool, tty: bool) {
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(out, "{}", serde_json::to_string(snap).unwrap());
        let _ = out.flush();
        return;
    }
    if tty {
        let _ = write!(out, "\x1b[H\x1b[2J");
    }
    if let Some(e) = &snap.engine_error {
        let _ = writeln!(out, "engine unavailable: {e}");
    }
    let rows: Vec<Vec<String>> = snap
        .services
        .iter()
        .map(|h| {
            let s = &h.status;
            let mut state = h.health.to_string();
            if s.restart_on_failure {
                state.push_str(&format!(" (auto-restart, {} so far)", h.restarts));
            }
            vec![
                s.name.clone(),
                format!("{} {}", s.kind.spec().display_name, s.version),
                format!("{}:{}", s.host, s.host_port),
                state,
                ago(h.since_ms),
                h.reason
                    .as_deref()
                    .and_then(|r| r.lines().next())
                    .unwrap_or("")
                    .to_string(),
            ]
        })
        .collect();
    let _ = write!(
        out,
        "{}",
        table(
            &["NAME", "SERVER", "ADDRESS", "HEALTH", "SINCE", "WHY"],
            &rows
        )
    );
    if !tasks.is_empty() {
        let _ = write!(out, "\nRunning tasks:\n{}", crate::tasks::render(tasks));
    }
    let _ = writeln!(
        out,
        "— {} (Ctrl-C to stop)",
        crate::output::timestamp(dockhand_core::facade::now_ms())
    );
    let _ = out.flush();
}
