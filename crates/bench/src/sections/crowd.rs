//! `crowd`: 50 concurrent `dockhand run -- sleep 1` on one stopped, unpinned service with grace
//! period 0: the runs overlap, so the service starts once and stops once after the last.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::Ctx;
use crate::commands::{docker, finish_within, ms, project_dir, BenchError, Result};

const CONSUMERS: usize = 50;

pub(crate) fn run(ctx: &Ctx) -> Result<Value> {
    let cli = &ctx.cli;
    let service = "bench-crowd-pg";
    let dir = project_dir(&ctx.work, "crowd", service)?;
    // This section's own setting, in its own home: no other section sees it.
    cli.run(&["config", "set", "grace-period", "0"])?;
    cli.run_in(Some(&dir), &["attach"])?;
    let single = cli.timed_in(Some(&dir), &["run", "--", "true"])?;
    let t = Instant::now();
    let mut children = Vec::new();
    for _ in 0..CONSUMERS {
        let mut c = cli.command();
        c.args(["run", "--", "sleep", "1"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        children.push(c.spawn().map_err(|source| BenchError::Spawn {
            what: "dockhand run".into(),
            source,
        })?);
    }
    let mut failed = 0;
    for c in children {
        let out = finish_within(c, "dockhand run -- sleep 1", Duration::from_secs(120))?;
        if !out.status.success() {
            failed += 1;
        }
    }
    let all = t.elapsed();
    let containers = docker(
        &[
            "ps",
            "-aq",
            "--filter",
            &format!("label=dockhand.service={service}"),
        ],
        Duration::from_secs(30),
    )?
    .lines()
    .count();
    let events: Value =
        serde_json::from_str(&cli.run(&["events", service, "--json", "--limit", "1000"])?)
            .map_err(|e| BenchError::Output {
                what: "dockhand events --json".into(),
                output: e.to_string(),
            })?;
    let count = |k: &str| {
        events
            .as_array()
            .map(|a| a.iter().filter(|e| e["kind"] == k).count())
            .unwrap_or(0)
    };
    println!("{CONSUMERS} concurrent `dockhand run -- sleep 1` on one stopped PostgreSQL:");
    println!(
        "  all done in {:.0} ms (one run alone, cold: {:.0} ms); failed: {failed}",
        ms(all),
        ms(single)
    );
    println!(
        "  containers: {containers}; starts: {}; stops: {} (attach + single run + crowd: 3 each expected)",
        count("started"),
        count("stopped")
    );
    cli.run(&["project", "remove", "crowd", "--drop-data", "--yes"])?;
    cli.run(&["destroy", service, "--purge", "--yes"])?;
    Ok(json!({
        "consumers": CONSUMERS,
        "all_done_ms": ms(all),
        "single_cold_run_ms": ms(single),
        "failed": failed,
        "containers": containers,
        "starts": count("started"),
        "stops": count("stopped"),
    }))
}
