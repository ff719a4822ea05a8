//! `dockhand status --watch`: the supervisor's snapshots, as they change.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use dockhand_core::supervisor::{self, Snapshot, SupervisorConfig};
use dockhand_core::{Manager, Result};

use crate::output::{ago, table};

pub async fn status_watch(m: &Arc<Manager>, json: bool) -> Result<()> {
    // Only watching: the tray app (if running) records events and acts on failures.
    let sup = supervisor::spawn(m.clone(), SupervisorConfig::observer());
    let mut rx = sup.snapshots();
    let tty = !json && std::io::stdout().is_terminal();
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
                print_snapshot(&snap, json, tty);
            }
            _ = tokio::signal::ctrl_c() => {
                sup.shutdown().await;
                return Ok(());
            }
        }
    }
}

fn print_snapshot(snap: &Snapshot, json: bool, tty: bool) {
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
    let _ = writeln!(
        out,
        "— {} (Ctrl-C to stop)",
        crate::output::timestamp(dockhand_core::store::now_ms())
    );
    let _ = out.flush();
}
