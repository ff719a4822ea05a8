//! `copies`: copies of a pgbench database on its own server — `dockhand point take`,
//! `dockhand branch create` and `dockhand run --clones 1` — against the raw statement they
//! stand on (`CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY` through `docker exec psql`),
//! alternating, and the copy Dockhand replaces (`pg_dump -Fc | pg_restore` into a new database).
//! A reset to a point is reported on its own: it backs the database up first, as every
//! replacing step does.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::Ctx;
use crate::commands::{exec_as_admin, median, ms, ms_list, run_within, BenchError, Result};
use crate::target::admin_url;

const LOAD_LIMIT: Duration = Duration::from_secs(1800);
const COPY_LIMIT: Duration = Duration::from_secs(600);

fn psql(container: &str, pw: &str, sql: &str, limit: Duration) -> Result<String> {
    run_within(
        exec_as_admin(
            container,
            pw,
            &[
                "psql",
                "-U",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ],
        ),
        "docker exec psql",
        limit,
    )
}

fn timed(f: impl FnOnce() -> Result<()>) -> Result<Duration> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed())
}

pub(crate) fn run(ctx: &Ctx) -> Result<Value> {
    let cli = &ctx.cli;
    let scale = ctx.args.copy_scale;
    let runs = ctx.args.runs.min(3);
    let service = "bench-copies-pg";
    let db = "cbench";
    cli.run(&["up", "postgres:17", "--name", service])?;
    // A git repository following branches, so `branch create` has a repository to read.
    let dir = ctx.work.join(db);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("dockhand.toml"),
        format!(
            "[services]\npostgres = {{ version = \"17\", service = \"{service}\" }}\n\n\
             [branches]\nenabled = true\n"
        ),
    )?;
    let git = |args: &[&str]| -> Result<String> {
        let mut c = Command::new("git");
        c.args([
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
            "-C",
        ])
        .arg(&dir)
        .args(args);
        run_within(c, "git", Duration::from_secs(60))
    };
    git(&["init", "-q", "-b", "main"])?;
    git(&["add", "."])?;
    git(&["commit", "-q", "-m", "bench"])?;
    cli.run_in(Some(&dir), &["attach"])?;
    let container = format!("dockhand-{service}");
    let pw = admin_url(cli, service)?.password;
    let t = Instant::now();
    run_within(
        exec_as_admin(
            &container,
            &pw,
            &[
                "pgbench",
                "-i",
                "-q",
                "-s",
                &scale.to_string(),
                "-U",
                "postgres",
                db,
            ],
        ),
        "pgbench -i",
        LOAD_LIMIT,
    )?;
    let load = t.elapsed();
    // The copies start from a settled database, as a user's would: written, checkpointed.
    psql(&container, &pw, "CHECKPOINT", COPY_LIMIT)?;
    let size_out = psql(
        &container,
        &pw,
        &format!("SELECT pg_database_size('{db}')"),
        Duration::from_secs(60),
    )?;
    let db_bytes: u64 = size_out.trim().parse().map_err(|_| BenchError::Output {
        what: "pg_database_size".into(),
        output: size_out.clone(),
    })?;
    let raw_copy = |name: &str| -> Result<()> {
        psql(
            &container,
            &pw,
            &format!("CREATE DATABASE {name} TEMPLATE {db} STRATEGY FILE_COPY"),
            COPY_LIMIT,
        )
        .map(|_| ())
    };
    let raw_drop = |name: &str| -> Result<()> {
        psql(
            &container,
            &pw,
            &format!("DROP DATABASE {name}"),
            COPY_LIMIT,
        )
        .map(|_| ())
    };
    let p = ["-p", db];
    let (mut point, mut branch, mut clone, mut raw, mut raw_clone) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        let order: [usize; 4] = if i % 2 == 0 {
            [0, 1, 2, 3]
        } else {
            [3, 2, 1, 0]
        };
        for side in order {
            match side {
                0 => {
                    let name = format!("p{i}");
                    point.push(cli.timed_in(None, &[&["point", "take", &name][..], &p].concat())?);
                    cli.run(&[&["point", "delete", &name][..], &p].concat())?;
                }
                1 => {
                    let name = format!("b{i}");
                    branch.push(cli.timed_in(Some(&dir), &["branch", "create", &name])?);
                    cli.run_in(Some(&dir), &["branch", "delete", &name, "--yes"])?;
                }
                2 => {
                    // Made and dropped around a command that does nothing: against the raw
                    // copy and drop.
                    clone.push(cli.timed_in(
                        None,
                        &[&["run", "--clones", "1"][..], &p, &["--", "true"]].concat(),
                    )?);
                    let name = format!("rawc{i}");
                    raw_clone.push(timed(|| {
                        raw_copy(&name)?;
                        raw_drop(&name)
                    })?);
                }
                _ => {
                    let name = format!("raw{i}");
                    raw.push(timed(|| raw_copy(&name))?);
                    raw_drop(&name)?;
                }
            }
        }
    }
    // What Dockhand's copies replace: a dump restored into a new database.
    let dump_restore = timed(|| {
        psql(&container, &pw, "CREATE DATABASE dumped", COPY_LIMIT)?;
        let pipe = format!(
            "pg_dump -Fc -U postgres -d {db} | pg_restore -U postgres -d dumped --no-owner"
        );
        run_within(
            exec_as_admin(&container, &pw, &["sh", "-c", &pipe]),
            "docker exec pg_dump | pg_restore",
            COPY_LIMIT,
        )
        .map(|_| ())
    })?;
    raw_drop("dumped")?;
    // A reset: its backup of the database first, then the point's copy in its place.
    cli.run(&[&["point", "take", "base"][..], &p].concat())?;
    let reset = cli.timed_in(
        None,
        &[&["point", "reset", "base", "--yes"][..], &p].concat(),
    )?;
    cli.run(&[&["point", "delete", "base"][..], &p].concat())?;

    let r = median(raw.clone());
    let ratio =
        |v: &[Duration], base: Duration| median(v.to_vec()).as_secs_f64() / base.as_secs_f64();
    let rc = median(raw_clone.clone());
    println!(
        "copies of a pgbench scale-{scale} database ({:.0} MB; loaded in {:.0} s), PostgreSQL 17",
        db_bytes as f64 / 1e6,
        load.as_secs_f64()
    );
    println!(
        "  raw CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY {:.0} ms; pg_dump -Fc | pg_restore {:.0} ms ({:.1}x slower)",
        ms(r),
        ms(dump_restore),
        dump_restore.as_secs_f64() / r.as_secs_f64()
    );
    for (what, v, base) in [
        ("dockhand point take", &point, r),
        ("dockhand branch create", &branch, r),
        ("dockhand run --clones 1 -- true (copy + drop)", &clone, rc),
    ] {
        println!(
            "  {what} {:.0} ms: {:.2}x the raw statement (target <= 1.15x)",
            ms(median(v.clone())),
            ratio(v, base)
        );
    }
    println!(
        "  dockhand point reset {:.0} ms (with its backup of the database first)",
        ms(reset)
    );
    cli.run(&["project", "remove", db])?;
    cli.run(&["destroy", service, "--purge", "--yes"])?;
    Ok(json!({
        "scale": scale,
        "database_bytes": db_bytes,
        "load_ms": ms(load),
        "raw_copy_ms_median": ms(r),
        "raw_copy_and_drop_ms_median": ms(rc),
        "dump_restore_ms": ms(dump_restore),
        "point_take_ms_median": ms(median(point.clone())),
        "point_take_ratio": ratio(&point, r),
        "branch_create_ms_median": ms(median(branch.clone())),
        "branch_create_ratio": ratio(&branch, r),
        "clone_run_ms_median": ms(median(clone.clone())),
        "clone_run_ratio": ratio(&clone, rc),
        "reset_with_backup_ms": ms(reset),
        "raw_ms": ms_list(&raw),
        "point_take_ms": ms_list(&point),
        "branch_create_ms": ms_list(&branch),
        "clone_run_ms": ms_list(&clone),
    }))
}
