//! `upgrade`: `dockhand upgrade` of a pgbench database from PostgreSQL 15 to 17 against the raw
//! path a user would script — a new postgres:17 container, then
//! `docker exec old pg_dumpall | docker exec -i new psql` — alternating. Dockhand's side does
//! more (a backup of every database first, per-table verification, the switch onto the old
//! port); the ratio says what that costs. Also reported: how long projects were kept out and
//! how long the server was down during the switch.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dockhand_core::probe::ProbeTarget;
use dockhand_core::Kind;
use serde_json::{json, Value};

use super::{until_answers, Ctx};
use crate::commands::{
    docker, finish_within, median, ms, ms_list, project_dir, run_within, BenchError, Result,
};
use crate::target::admin_url;

const LOAD_LIMIT: Duration = Duration::from_secs(900);
const UPGRADE_LIMIT: Duration = Duration::from_secs(1800);
const DOCKER_LIMIT: Duration = Duration::from_secs(120);

/// `docker exec` as the admin; the password through the environment, never argv.
fn exec_as_admin(container: &str, password: &str, args: &[&str]) -> Command {
    let mut c = Command::new("docker");
    c.args(["exec", "-i", "-e", "PGPASSWORD", container])
        .args(args)
        .env("PGPASSWORD", password);
    c
}

/// The raw path: a new postgres:17 container (labelled with the section's home, so the bench's
/// guard removes it whatever happens), until it answers, then pg_dumpall piped into psql.
fn raw_upgrade(ctx: &Ctx, instance: &str, old: &str, password: &str) -> Result<Duration> {
    let name = format!("bench-raw-upgrade-{}", std::process::id());
    let t = Instant::now();
    let mut run = Command::new("docker");
    run.args([
        "run",
        "-d",
        "--name",
        &name,
        "--label",
        "dockhand.managed=true",
    ])
    .args(["--label", &format!("dockhand.instance={instance}")])
    .args([
        "-e",
        "POSTGRES_PASSWORD",
        "-p",
        "127.0.0.1::5432",
        "postgres:17",
    ])
    .env("POSTGRES_PASSWORD", password);
    run_within(run, "docker run postgres:17", DOCKER_LIMIT)?;
    let port_out = docker(&["port", &name, "5432/tcp"], DOCKER_LIMIT)?;
    let port: u16 = port_out
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| BenchError::Output {
            what: "docker port".into(),
            output: port_out.clone(),
        })?;
    let target = ProbeTarget {
        host: "127.0.0.1".into(),
        port,
        user: "postgres".into(),
        password: password.into(),
    };
    ctx.rt.block_on(until_answers(Kind::Postgres, &target))?;
    let mut dump = exec_as_admin(old, password, &["pg_dumpall", "-U", "postgres"]);
    dump.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut dump = dump.spawn().map_err(|source| BenchError::Spawn {
        what: "docker exec pg_dumpall".into(),
        source,
    })?;
    let mut load = exec_as_admin(
        &name,
        password,
        &["psql", "-q", "-U", "postgres", "-d", "postgres"],
    );
    load.stdin(dump.stdout.take().unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let load = load.spawn().map_err(|source| BenchError::Spawn {
        what: "docker exec psql".into(),
        source,
    })?;
    let loaded = finish_within(load, "docker exec psql", UPGRADE_LIMIT)?;
    let dumped = finish_within(dump, "docker exec pg_dumpall", UPGRADE_LIMIT)?;
    let took = t.elapsed();
    let _ = docker(&["rm", "-f", "-v", &name], DOCKER_LIMIT);
    if !dumped.status.success() || !loaded.status.success() {
        return Err(BenchError::Failed {
            what: "pg_dumpall | psql".into(),
            status: if dumped.status.success() {
                loaded.status
            } else {
                dumped.status
            },
            stderr: format!(
                "{}{}",
                String::from_utf8_lossy(&dumped.stderr),
                String::from_utf8_lossy(&loaded.stderr)
            ),
        });
    }
    Ok(took)
}

pub(crate) fn run(ctx: &Ctx) -> Result<Value> {
    let cli = &ctx.cli;
    let scale = ctx.args.pgbench_scale;
    let runs = ctx.args.runs.clamp(1, 2);
    let service = "bench-upgrade-pg";
    cli.run(&["up", "postgres:15", "--name", service])?;
    let dir = project_dir(&ctx.work, "ubench", service)?;
    cli.run_in(Some(&dir), &["attach"])?;
    let instance = std::fs::read_to_string(cli.home.join(".dockhand-instance"))?
        .trim()
        .to_string();
    let container = format!("dockhand-{service}");
    let pw = admin_url(cli, service)?.password;
    let s = scale.to_string();
    // The project's own tables, made as its user (what a project's data is).
    let env: Value =
        serde_json::from_str(&cli.run(&["env", "ubench", "--json"])?).map_err(|e| {
            BenchError::Output {
                what: "dockhand env --json".into(),
                output: e.to_string(),
            }
        })?;
    let var = |k: &str| env[k].as_str().unwrap_or_default().to_string();
    let (user, db) = (var("PGUSER"), var("PGDATABASE"));
    run_within(
        exec_as_admin(
            &container,
            &var("PGPASSWORD"),
            &[
                "pgbench",
                "-i",
                "-q",
                "-s",
                &s,
                "-h",
                "127.0.0.1",
                "-U",
                &user,
                &db,
            ],
        ),
        "pgbench -i",
        LOAD_LIMIT,
    )?;
    let (mut ours, mut raw, mut blocked, mut switch) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut copy, mut verify) = (Vec::new(), Vec::new());
    for i in 0..runs {
        for side in if i % 2 == 0 { [1, 0] } else { [0, 1] } {
            if side == 0 {
                let t = Instant::now();
                let mut c = cli.command();
                c.args(["upgrade", service, "--to", "17", "--json"]);
                let out = run_within(c, "dockhand upgrade", UPGRADE_LIMIT)?;
                ours.push(t.elapsed());
                let v: Value = serde_json::from_str(&out).map_err(|e| BenchError::Output {
                    what: "dockhand upgrade --json".into(),
                    output: e.to_string(),
                })?;
                blocked.push(Duration::from_millis(v["blocked_ms"].as_u64().unwrap_or(0)));
                switch.push(Duration::from_millis(v["switch_ms"].as_u64().unwrap_or(0)));
                copy.push(Duration::from_millis(v["copy_ms"].as_u64().unwrap_or(0)));
                verify.push(Duration::from_millis(v["verify_ms"].as_u64().unwrap_or(0)));
                // Back on 15 for the next run (not timed).
                let mut c = cli.command();
                c.args(["upgrade", service, "--rollback"]);
                run_within(c, "dockhand upgrade --rollback", UPGRADE_LIMIT)?;
                cli.run(&["upgrade", service, "--finish", "--yes"])?;
            } else {
                raw.push(raw_upgrade(ctx, &instance, &container, &pw)?);
            }
        }
    }
    let (o, r) = (median(ours.clone()), median(raw.clone()));
    let ratio = o.as_secs_f64() / r.as_secs_f64();
    println!("upgrade of a pgbench scale-{scale} database, PostgreSQL 15 -> 17");
    println!(
        "  dockhand upgrade {:.0} ms, raw new container + pg_dumpall | psql {:.0} ms: {ratio:.3}x (target <= 1.2x)",
        ms(o),
        ms(r)
    );
    println!(
        "  projects kept out {:.0} ms (copy {:.0} ms, verification {:.0} ms, switch); server down {:.0} ms (the switch)",
        ms(median(blocked.clone())),
        ms(median(copy.clone())),
        ms(median(verify.clone())),
        ms(median(switch.clone()))
    );
    cli.run(&["project", "remove", "ubench"])?;
    cli.run(&["destroy", service, "--purge", "--yes"])?;
    Ok(json!({
        "scale": scale,
        "dockhand_ms_median": ms(o),
        "raw_ms_median": ms(r),
        "ratio": ratio,
        "projects_blocked_ms_median": ms(median(blocked.clone())),
        "switch_ms_median": ms(median(switch.clone())),
        "copy_ms_median": ms(median(copy.clone())),
        "verify_ms_median": ms(median(verify.clone())),
        "dockhand_ms": ms_list(&ours),
        "raw_ms": ms_list(&raw),
        "projects_blocked_ms": ms_list(&blocked),
        "switch_ms": ms_list(&switch),
    }))
}
