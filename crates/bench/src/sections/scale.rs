//! `scale`: cost as work grows.
//!
//! - Commands: `dockhand status`, `dockhand attach` (of a provisioned project) and `dockhand env`
//!   with N projects in the state store (10, 100, 500 by default), then with 10,000 events rows
//!   and 10,000 backups rows on top. One project is real (attached with `dockhand attach`, its
//!   database provisioned on the server); the others are rows added through the core's `Store`
//!   API (`add_project` + `attach`, `record_event`, `insert_backup`) in this section's own home —
//!   what the commands read — without databases on the server.
//! - Supervisor: CPU and RSS of `dockhand supervise` with 1, 4, 16, 64 healthy services. The
//!   first is PostgreSQL, the second MariaDB, all others `redis:7` (cheap to run by the dozen).

use dockhand_core::store::NewBackup;
use dockhand_core::{Home, Store};
use serde_json::{json, Value};

use super::supervisor::measure_idle;
use super::Ctx;
use crate::commands::{median, ms, project_dir, Cli, Result};

const PG: &str = "bench-scale-pg";
const MEASURED: &str = "scale0";

fn service_of(i: usize) -> (String, &'static str) {
    match i {
        0 => (PG.to_string(), "postgres:15"),
        1 => ("bench-scale-maria".to_string(), "mariadb:10.11"),
        _ => (format!("bench-scale-redis{i}"), "redis:7"),
    }
}

fn open_store(cli: &Cli) -> Result<Store> {
    Ok(Home::open(cli.home.clone())?.open_store()?)
}

/// Medians of status, attach and env, each a whole `dockhand` process, as a user runs them.
fn command_latencies(ctx: &Ctx, dir: &std::path::Path) -> Result<[f64; 3]> {
    let cli = &ctx.cli;
    let mut out = [0.0; 3];
    let cmds: [&[&str]; 3] = [&["status"], &["attach"], &["env"]];
    for (slot, args) in out.iter_mut().zip(cmds) {
        let mut v = Vec::new();
        for _ in 0..ctx.args.runs {
            v.push(cli.timed_in(Some(dir), args)?);
        }
        *slot = ms(median(v));
    }
    Ok(out)
}

fn commands_curve(ctx: &Ctx) -> Result<Vec<Value>> {
    let cli = &ctx.cli;
    let dir = project_dir(&ctx.work, MEASURED, PG)?;
    cli.run_in(Some(&dir), &["attach"])?;
    println!(
        "{:<10} {:>12} {:>13} {:>10} {:>14} {:>10}",
        "projects", "events rows", "backups rows", "status ms", "attach ms", "env ms"
    );
    let mut points = Vec::new();
    let mut have = 1; // the measured project
    let (mut events, mut backups) = (0usize, 0usize);
    let mut sizes: Vec<(usize, usize)> = ctx.args.projects.iter().map(|p| (*p, 0)).collect();
    if let Some(last) = ctx.args.projects.last() {
        sizes.push((*last, ctx.args.rows));
    }
    for (projects, rows) in sizes {
        let store = open_store(cli)?;
        while have < projects {
            let name = format!("fill{have}");
            let path = ctx.work.join(&name);
            store.add_project(&name, Some(&path.to_string_lossy()))?;
            store.attach(&name, PG, "postgres", &name, &format!("{name}_x"))?;
            have += 1;
        }
        while events < rows {
            store.record_event(Some(PG), "bench", "a filler row of the scale benchmark")?;
            events += 1;
        }
        while backups < rows {
            let path = ctx.work.join(format!("filler-{backups}.dump"));
            store.insert_backup(&NewBackup {
                service: PG,
                kind: "postgres",
                database: "scale0",
                path: &path.to_string_lossy(),
                size_bytes: 1,
                sha256: "0",
                duration_ms: 1,
                tool_version: "bench",
                reason: "bench",
            })?;
            backups += 1;
        }
        drop(store);
        let [status, attach, env] = command_latencies(ctx, &dir)?;
        println!(
            "{projects:<10} {events:>12} {backups:>13} {status:>10.1} {attach:>14.1} {env:>10.1}"
        );
        points.push(json!({
            "projects": projects,
            "events_rows": events,
            "backups_rows": backups,
            "status_ms_median": status,
            "attach_ms_median": attach,
            "env_ms_median": env,
        }));
    }
    Ok(points)
}

fn supervisor_curve(ctx: &Ctx) -> Result<Vec<Value>> {
    let cli = &ctx.cli;
    let secs = ctx.args.curve_idle_seconds;
    println!(
        "{:<10} {:<44} {:>8} {:>10}",
        "services", "kinds", "CPU %", "RSS MiB"
    );
    let mut points = Vec::new();
    let mut running = 1; // PostgreSQL, from the commands curve
    for &count in &ctx.args.services {
        // Started in batches: one `dockhand up` per 16 services keeps the machine responsive.
        while running < count {
            let batch: Vec<String> = (running..count.min(running + 16))
                .map(|i| {
                    let (name, spec) = service_of(i);
                    format!("{name}={spec}")
                })
                .collect();
            let mut args = vec!["up"];
            args.extend(batch.iter().map(String::as_str));
            cli.run(&args)?;
            running += batch.len();
        }
        let idle = measure_idle(cli, secs)?;
        let kinds = match count {
            1 => "postgres:15".to_string(),
            2 => "postgres:15, mariadb:10.11".to_string(),
            n => format!("postgres:15, mariadb:10.11, {} x redis:7", n - 2),
        };
        println!(
            "{count:<10} {kinds:<44} {:>8.2} {:>10.1}",
            idle.cpu_percent,
            idle.rss_kib as f64 / 1024.0
        );
        points.push(json!({
            "services": count,
            "kinds": kinds,
            "seconds": secs,
            "cpu_percent": idle.cpu_percent,
            "rss_kib": idle.rss_kib,
        }));
    }
    for i in (0..running).rev() {
        cli.run(&["destroy", &service_of(i).0, "--purge", "--yes"])?;
    }
    Ok(points)
}

pub(crate) fn run(ctx: &Ctx) -> Result<Value> {
    let cli = &ctx.cli;
    cli.run(&["up", "postgres:15", "--name", PG])?;
    let commands = commands_curve(ctx)?;
    println!();
    // The filler projects have no databases on the server: forget them before the supervisor
    // curve so nothing later tries to reach them.
    let store = open_store(cli)?;
    for p in store.projects()? {
        if p.name != MEASURED {
            store.detach(&p.name, PG)?;
            store.remove_project(&p.name)?;
        }
    }
    drop(store);
    let supervisor = supervisor_curve(ctx)?;
    Ok(json!({
        "commands": commands,
        "supervisor": supervisor,
        "how": "projects beyond the one measured, events and backups are rows added through dockhand-core's Store API in the bench's own home; supervisor services: 1 = postgres:15, 2 = + mariadb:10.11, the rest redis:7",
    }))
}
