//! `memory`: 10 projects on one shared PostgreSQL against 10 PostgreSQL containers, one per
//! project; each project holds one idle connection, as an app's pool would.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use super::supervisor::Killed;
use super::Ctx;
use crate::commands::{docker, project_dir, BenchError, Result};

const PROJECTS: usize = 10;
const DOCKER_LIMIT: Duration = Duration::from_secs(60);

/// An idle `psql` session (killed on drop). The project's password goes through PGPASSWORD;
/// argv gets the URL without it.
fn hold_connection(url: &str) -> Result<Killed> {
    let bad = || BenchError::Output {
        what: "dockhand url (project)".into(),
        output: "<not a URL with a password>".into(),
    };
    let mut u = url::Url::parse(url.trim()).map_err(|_| bad())?;
    let password = percent_encoding::percent_decode_str(u.password().ok_or_else(bad)?)
        .decode_utf8()
        .map_err(|_| bad())?
        .into_owned();
    u.set_password(None).map_err(|_| bad())?;
    Command::new("psql")
        .args([u.as_str(), "-qc", "SELECT pg_sleep(600)"])
        .env("PGPASSWORD", password)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Killed)
        .map_err(|source| BenchError::Spawn {
            what: "psql (postgresql-client)".into(),
            source,
        })
}

/// Proportional set size of a container's processes (shared memory divided among its users).
fn container_pss_mib(name: &str) -> Result<f64> {
    let pids = docker(&["top", name, "-eo", "pid"], DOCKER_LIMIT)?;
    let kib: u64 = pids
        .lines()
        .skip(1)
        .filter_map(|l| l.trim().parse::<u32>().ok())
        .map(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
                .unwrap_or_default()
                .lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum();
    Ok(kib as f64 / 1024.0)
}

/// What `docker stats` reports ("23.5MiB / 7.6GiB"), in MiB.
fn container_mib(name: &str) -> Result<f64> {
    let out = docker(
        &["stats", "--no-stream", "--format", "{{.MemUsage}}", name],
        DOCKER_LIMIT,
    )?;
    let used = out.split('/').next().unwrap_or("").trim();
    let (num, unit) = used.split_at(
        used.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(used.len()),
    );
    let v: f64 = num.parse().unwrap_or(0.0);
    Ok(match unit {
        "GiB" => v * 1024.0,
        "KiB" | "kB" => v / 1024.0,
        "B" => v / 1024.0 / 1024.0,
        _ => v,
    })
}

pub(crate) fn run(ctx: &Ctx) -> Result<Value> {
    let cli = &ctx.cli;
    let n = PROJECTS;
    let shared = "bench-mem-shared";
    let mut holders = Vec::new();
    for i in 0..n {
        let dir = project_dir(&ctx.work, &format!("mem{i}"), shared)?;
        cli.run_in(Some(&dir), &["attach"])?;
        let url = cli.run_in(Some(&dir), &["url", &format!("mem{i}")])?;
        holders.push(hold_connection(url.trim())?);
    }
    std::thread::sleep(Duration::from_secs(3));
    let shared_mib = container_mib(&format!("dockhand-{shared}"))?;
    let shared_pss = container_pss_mib(&format!("dockhand-{shared}"))?;
    drop(holders);
    let mut holders = Vec::new();
    let names: Vec<String> = (0..n).map(|i| format!("bench-mem-own{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        let dir = project_dir(&ctx.work, &format!("own{i}"), name)?;
        cli.run_in(Some(&dir), &["attach"])?;
        let url = cli.run_in(Some(&dir), &["url", &format!("own{i}")])?;
        holders.push(hold_connection(url.trim())?);
    }
    std::thread::sleep(Duration::from_secs(3));
    let (mut per_project, mut per_project_pss) = (0.0, 0.0);
    for name in &names {
        per_project += container_mib(&format!("dockhand-{name}"))?;
        per_project_pss += container_pss_mib(&format!("dockhand-{name}"))?;
    }
    drop(holders);
    let ratio = per_project / shared_mib;
    let pss_ratio = per_project_pss / shared_pss;
    println!(
        "memory of {n} projects (one idle connection each), one shared PostgreSQL vs {n} PostgreSQL containers (target >= 8x less):"
    );
    println!(
        "  docker stats (cgroup, incl. active page cache): {shared_mib:.1} MiB vs {per_project:.1} MiB: {ratio:.1}x less"
    );
    println!(
        "  processes' PSS (what the servers themselves hold): {shared_pss:.1} MiB vs {per_project_pss:.1} MiB: {pss_ratio:.1}x less"
    );
    for i in 0..n {
        cli.run(&["project", "remove", &format!("mem{i}")])?;
        cli.run(&["project", "remove", &format!("own{i}")])?;
    }
    cli.run(&["destroy", shared, "--purge", "--yes"])?;
    for name in &names {
        cli.run(&["destroy", name, "--purge", "--yes"])?;
    }
    Ok(json!({
        "projects": n,
        "shared_mib": shared_mib,
        "per_project_containers_mib": per_project,
        "ratio": ratio,
        "shared_pss_mib": shared_pss,
        "per_project_containers_pss_mib": per_project_pss,
        "pss_ratio": pss_ratio,
    }))
}
