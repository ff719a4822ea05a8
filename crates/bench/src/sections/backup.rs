//! `backup`: `dockhand backup` of a pgbench database against the raw
//! `docker exec <c> pg_dump -Fc > file`, alternating.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::Ctx;
use crate::commands::{
    exec_as_admin, finish_within, median, ms, ms_list, project_dir, run_within, BenchError, Result,
};
use crate::target::admin_url;

const LOAD_LIMIT: Duration = Duration::from_secs(900);
const DUMP_LIMIT: Duration = Duration::from_secs(300);

pub(crate) fn run(ctx: &Ctx) -> Result<Value> {
    let cli = &ctx.cli;
    let scale = ctx.args.pgbench_scale;
    let runs = ctx.args.runs.min(3);
    let service = "bench-backup-pg";
    // Pinned with `up`, so no grace period can stop it mid-pgbench; attach then gives the
    // project its database.
    cli.run(&["up", "postgres:15", "--name", service])?;
    let dir = project_dir(&ctx.work, "bbench", service)?;
    cli.run_in(Some(&dir), &["attach"])?;
    cli.run(&["config", "set", "backup-keep", "2"])?;
    let container = format!("dockhand-{service}");
    let pw = admin_url(cli, service)?.password;
    let t = Instant::now();
    let s = scale.to_string();
    run_within(
        exec_as_admin(
            &container,
            &pw,
            &["pgbench", "-i", "-q", "-s", &s, "-U", "postgres", "bbench"],
        ),
        "pgbench -i",
        LOAD_LIMIT,
    )?;
    let load = t.elapsed();
    let size_sql = "SELECT pg_database_size('bbench')";
    let size_out = run_within(
        exec_as_admin(
            &container,
            &pw,
            &["psql", "-U", "postgres", "-Atc", size_sql],
        ),
        "psql",
        Duration::from_secs(60),
    )?;
    let db_bytes: u64 = size_out.trim().parse().map_err(|_| BenchError::Output {
        what: "pg_database_size".into(),
        output: size_out.clone(),
    })?;
    let raw_file = ctx.work.join("raw.dump");
    let (mut ours, mut raw, mut size) = (Vec::new(), Vec::new(), 0u64);
    for i in 0..runs {
        for side in if i % 2 == 0 { [0, 1] } else { [1, 0] } {
            if side == 0 {
                let t = Instant::now();
                let out = cli.run(&["backup", service, "-d", "bbench", "--json"])?;
                ours.push(t.elapsed());
                let v: Value = serde_json::from_str(&out).map_err(|e| BenchError::Output {
                    what: "dockhand backup --json".into(),
                    output: e.to_string(),
                })?;
                size = v["backups"][0]["size_bytes"].as_u64().unwrap_or(0);
            } else {
                let file = std::fs::File::create(&raw_file)?;
                let mut c = exec_as_admin(
                    &container,
                    &pw,
                    &["pg_dump", "-Fc", "-U", "postgres", "-d", "bbench"],
                );
                c.stdout(file).stderr(Stdio::piped());
                let t = Instant::now();
                let child = c.spawn().map_err(|source| BenchError::Spawn {
                    what: "docker exec pg_dump".into(),
                    source,
                })?;
                let out = finish_within(child, "docker exec pg_dump", DUMP_LIMIT)?;
                raw.push(t.elapsed());
                if !out.status.success() {
                    return Err(BenchError::Failed {
                        what: "docker exec pg_dump".into(),
                        status: out.status,
                        stderr: String::from_utf8_lossy(&out.stderr).into(),
                    });
                }
            }
        }
    }
    let (o, r) = (median(ours.clone()), median(raw.clone()));
    let ratio = o.as_secs_f64() / r.as_secs_f64();
    println!(
        "backup of a pgbench scale-{scale} database ({:.0} MB on disk, dump {:.0} MB; loaded in {:.0} s)",
        db_bytes as f64 / 1e6,
        size as f64 / 1e6,
        load.as_secs_f64()
    );
    println!(
        "  dockhand backup {:.0} ms, raw docker exec pg_dump -Fc > file {:.0} ms: {ratio:.3}x (target <= 1.05x)",
        ms(o),
        ms(r)
    );
    let _ = std::fs::remove_file(&raw_file);
    cli.run(&["project", "remove", "bbench"])?;
    cli.run(&["destroy", service, "--purge", "--yes"])?;
    Ok(json!({
        "scale": scale,
        "database_bytes": db_bytes,
        "dump_bytes": size,
        "dockhand_ms_median": ms(o),
        "raw_ms_median": ms(r),
        "ratio": ratio,
        "dockhand_ms": ms_list(&ours),
        "raw_ms": ms_list(&raw),
    }))
}
