//! `attach` while the service runs: first provisioning of new projects, then attach of one that
//! is already provisioned, next to the floor of any `dockhand` command (`config show`).

use std::time::Duration;

use serde_json::{json, Value};

use super::Ctx;
use crate::commands::{median, ms, ms_list, project_dir, Result};

pub(crate) fn run(ctx: &Ctx) -> Result<Value> {
    let cli = &ctx.cli;
    let service = "bench-attach-pg";
    // Pinned by `up`: it keeps running between the attaches whatever the grace period.
    cli.run(&["up", "postgres:15", "--name", service])?;
    let n = ctx.args.runs;
    let mut first = Vec::new();
    for i in 0..n {
        let dir = project_dir(&ctx.work, &format!("proj{i}"), service)?;
        first.push(cli.timed_in(Some(&dir), &["attach"])?);
    }
    let dir0 = ctx.work.join("proj0");
    let again = (0..n)
        .map(|_| cli.timed_in(Some(&dir0), &["attach"]))
        .collect::<Result<Vec<Duration>>>()?;
    let floor = (0..n)
        .map(|_| cli.timed_in(None, &["config", "show"]))
        .collect::<Result<Vec<Duration>>>()?;
    let (f, a, fl) = (
        median(first.clone()),
        median(again.clone()),
        median(floor.clone()),
    );
    println!("{:<44} {:>10}", "attach (PostgreSQL running)", "median ms");
    println!(
        "{:<44} {:>10.1}",
        "first provisioning of a project (< 300 ms)",
        ms(f)
    );
    println!(
        "{:<44} {:>10.1}",
        "attach of a provisioned project (< 50 ms)",
        ms(a)
    );
    println!(
        "{:<44} {:>10.1}",
        "floor: any dockhand command (config show)",
        ms(fl)
    );
    for i in 0..n {
        let p = format!("proj{i}");
        cli.run(&["project", "remove", &p, "--drop-data", "--yes"])?;
    }
    cli.run(&["destroy", service, "--purge", "--yes"])?;
    Ok(json!({
        "first_provisioning_ms_median": ms(f),
        "attach_provisioned_ms_median": ms(a),
        "command_floor_ms_median": ms(fl),
        "first_provisioning_ms": ms_list(&first),
        "attach_provisioned_ms": ms_list(&again),
        "command_floor_ms": ms_list(&floor),
    }))
}
