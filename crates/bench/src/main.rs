//! `dockhand-bench`: time from `dockhand up` (data present, image present) to a healthy server,
//! next to the raw baseline measured in the same run — `docker start` of the same container and
//! a tight loop of the same query until it answers. Prints a table and writes JSON.
//!
//! Sections: `up` (above), `attach` (attach of an already provisioned project, and first
//! provisioning, while the service runs) and `crowd` (50 concurrent `dockhand run` consumers of
//! one stopped service: one container, one stop).
//!
//! More sections (`more.rs`): `backup` (dockhand backup vs raw `docker exec pg_dump -Fc > file`
//! on a pgbench database), `supervisor` (idle CPU and RSS of `dockhand supervise` with 4
//! services), `parallel` (three services started together vs the slowest alone), `memory` (10
//! projects on one shared PostgreSQL vs 10 containers).
//!
//! Usage: dockhand-bench [--only up|attach|crowd|backup|supervisor|parallel|memory]
//!                       [--iterations N] [--json PATH] [--kinds postgres:15,redis:7,mariadb:10.11]
//!                       [--scale 20] [--idle-seconds 60]

mod more;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use dockhand_core::engine::Engine;
use dockhand_core::probe::probe;
use dockhand_core::{DockerEngine, ServiceSpec};

struct Args {
    scale: u32,
    idle_seconds: u64,
    only: Option<String>,
    iterations: usize,
    json: Option<PathBuf>,
    kinds: Vec<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        scale: 20,
        idle_seconds: 60,
        only: None,
        iterations: 7,
        json: None,
        kinds: vec![
            "postgres:15".into(),
            "redis:7".into(),
            "mariadb:10.11".into(),
        ],
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--only" => a.only = it.next(),
            "--iterations" => {
                a.iterations = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--iterations N")
            }
            "--json" => a.json = it.next().map(PathBuf::from),
            "--scale" => a.scale = it.next().and_then(|v| v.parse().ok()).expect("--scale N"),
            "--idle-seconds" => {
                a.idle_seconds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--idle-seconds N")
            }
            "--kinds" => {
                a.kinds = it
                    .next()
                    .expect("--kinds a,b")
                    .split(',')
                    .map(String::from)
                    .collect()
            }
            other => {
                eprintln!("unknown argument {other}; usage: dockhand-bench [--iterations N] [--json PATH] [--kinds k:v,...]");
                std::process::exit(2);
            }
        }
    }
    a
}

/// The `dockhand` binary built beside this one.
fn dockhand_bin() -> PathBuf {
    let me = std::env::current_exe().expect("current exe");
    let bin = me.with_file_name("dockhand");
    assert!(
        bin.exists(),
        "{} not found: build it with `cargo build --release -p dockhand-cli`",
        bin.display()
    );
    bin
}

pub(crate) struct Cli {
    pub(crate) bin: PathBuf,
    pub(crate) home: PathBuf,
}

impl Cli {
    pub(crate) fn run(&self, args: &[&str]) -> String {
        self.run_in(None, args)
    }

    pub(crate) fn run_in(&self, dir: Option<&std::path::Path>, args: &[&str]) -> String {
        let mut c = Command::new(&self.bin);
        c.args(args).env("DOCKHAND_HOME", &self.home);
        if let Some(d) = dir {
            c.current_dir(d);
        }
        let out = c.output().expect("run dockhand");
        assert!(
            out.status.success(),
            "dockhand {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into()
    }
}

pub(crate) fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = parse_args();
    let home = tempfile::tempdir().expect("tempdir");
    let cli = Cli {
        bin: dockhand_bin(),
        home: home.path().join("home"),
    };
    let engine = DockerEngine::connect().await.unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(3)
    });
    let mut results = Vec::new();
    let mut names = Vec::new();
    let wants = |s: &str| args.only.as_deref().is_none_or(|o| o == s);
    if wants("up") {
        println!(
            "{:<16} {:>12} {:>12} {:>8} {:>14}",
            "service", "dockhand ms", "raw ms", "ratio", "first start ms"
        );
        for spec_text in &args.kinds {
            let spec = ServiceSpec::parse(spec_text).expect("kind");
            let name = format!("bench-{}", spec.default_name());
            names.push(name.clone());
            let container = format!("dockhand-{name}");
            let first = Instant::now();
            cli.run(&["up", spec_text, "--name", &name]);
            let first_start = first.elapsed();
            let target = more::target_of(&cli, &name, spec.kind);
            cli.run(&["down", &name]);

            let (mut ours, mut raw) = (Vec::new(), Vec::new());
            for i in 0..args.iterations {
                // Alternate the order so drift on a shared machine hits both sides alike.
                for side in if i % 2 == 0 { [0, 1] } else { [1, 0] } {
                    if side == 0 {
                        let t = Instant::now();
                        cli.run(&["up", spec_text, "--name", &name]);
                        ours.push(t.elapsed());
                        cli.run(&["down", &name]);
                    } else {
                        let t = Instant::now();
                        engine
                            .start_container(&container)
                            .await
                            .expect("docker start");
                        while probe(spec.kind, &target, Duration::from_secs(2))
                            .await
                            .is_err()
                        {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                        raw.push(t.elapsed());
                        engine
                            .stop_container(&container, spec.kind.spec().stop_timeout)
                            .await
                            .expect("docker stop");
                    }
                }
            }
            let (o, r) = (median(ours.clone()), median(raw.clone()));
            let ratio = o.as_secs_f64() / r.as_secs_f64();
            println!(
                "{:<16} {:>12.0} {:>12.0} {:>7.2}x {:>14.0}",
                spec_text,
                ms(o),
                ms(r),
                ratio,
                ms(first_start)
            );
            results.push(serde_json::json!({
                "service": spec_text,
                "dockhand_up_ms_median": ms(o),
                "raw_start_ms_median": ms(r),
                "ratio": ratio,
                "first_start_ms": ms(first_start),
                "dockhand_up_ms": ours.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                "raw_start_ms": raw.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            }));
        }
    }
    for n in &names {
        cli.run(&["destroy", n, "--purge", "--yes"]);
    }
    let mut extra = serde_json::Map::new();
    if wants("attach") {
        extra.insert("attach".into(), bench_attach(&cli, &args, home.path()));
    }
    if wants("crowd") {
        extra.insert("crowd".into(), bench_crowd(&cli, home.path()));
    }
    if wants("parallel") {
        extra.insert(
            "parallel".into(),
            more::bench_parallel(&cli, args.iterations.min(5)).await,
        );
    }
    if wants("backup") {
        extra.insert(
            "backup".into(),
            more::bench_backup(&cli, home.path(), args.iterations.min(3), args.scale),
        );
    }
    if wants("memory") {
        extra.insert("memory".into(), more::bench_memory(&cli, home.path()));
    }
    if wants("supervisor") {
        extra.insert(
            "supervisor".into(),
            more::bench_supervisor_idle(&cli, args.idle_seconds),
        );
    }
    let doc = serde_json::json!({
        "sections": extra,
        "benchmark": "up-to-healthy (data and image present) vs docker start + tight query loop",
        "iterations": args.iterations,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "results": results,
    });
    if let Some(p) = args.json {
        std::fs::write(&p, serde_json::to_string_pretty(&doc).unwrap()).expect("write json");
        println!("JSON written to {}", p.display());
    }
}

pub(crate) fn project(home: &std::path::Path, name: &str, service: &str) -> std::path::PathBuf {
    let dir = home.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("dockhand.toml"),
        format!("[services]\npostgres = {{ version = \"15\", service = \"{service}\" }}\n"),
    )
    .unwrap();
    dir
}

pub(crate) fn timed(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

/// Attach while the service runs: first provisioning of new projects, then attach of one that
/// is already provisioned; next to the floor of any `dockhand` command (`config show`).
fn bench_attach(cli: &Cli, args: &Args, home: &std::path::Path) -> serde_json::Value {
    let service = "bench-attach-pg";
    cli.run(&["up", "postgres:15", "--name", service]);
    let n = args.iterations;
    let first: Vec<Duration> = (0..n)
        .map(|i| {
            let dir = project(home, &format!("proj{i}"), service);
            timed(|| {
                cli.run_in(Some(&dir), &["attach"]);
            })
        })
        .collect();
    let dir0 = home.join("proj0");
    let again: Vec<Duration> = (0..n)
        .map(|_| {
            timed(|| {
                cli.run_in(Some(&dir0), &["attach"]);
            })
        })
        .collect();
    let floor: Vec<Duration> = (0..n)
        .map(|_| {
            timed(|| {
                cli.run(&["config", "show"]);
            })
        })
        .collect();
    let (f, a, fl) = (
        median(first.clone()),
        median(again.clone()),
        median(floor.clone()),
    );
    println!();
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
        cli.run(&[
            "project",
            "remove",
            &format!("proj{i}"),
            "--drop-data",
            "--yes",
        ]);
    }
    cli.run(&["destroy", service, "--purge", "--yes"]);
    serde_json::json!({
        "first_provisioning_ms_median": ms(f),
        "attach_provisioned_ms_median": ms(a),
        "command_floor_ms_median": ms(fl),
    })
}

/// 50 concurrent `dockhand run -- sleep 1` on one stopped, unpinned service (grace period 0):
/// the runs overlap, so the service starts once and stops once after the last.
fn bench_crowd(cli: &Cli, home: &std::path::Path) -> serde_json::Value {
    let service = "bench-crowd-pg";
    let dir = project(home, "crowd", service);
    cli.run(&["config", "set", "grace-period", "0"]);
    cli.run_in(Some(&dir), &["attach"]);
    let single = timed(|| {
        cli.run_in(Some(&dir), &["run", "--", "true"]);
    });
    let n = 50;
    let t = Instant::now();
    let children: Vec<_> = (0..n)
        .map(|_| {
            Command::new(&cli.bin)
                .args(["run", "--", "sleep", "1"])
                .env("DOCKHAND_HOME", &cli.home)
                .current_dir(&dir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let failed = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .filter(|o| !o.status.success())
        .count();
    let all = t.elapsed();
    let containers = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=dockhand.service={service}"),
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
        .unwrap_or(0);
    let events: serde_json::Value =
        serde_json::from_str(&cli.run(&["events", service, "--json", "--limit", "1000"])).unwrap();
    let count = |k: &str| {
        events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == k)
            .count()
    };
    println!();
    println!("{n} concurrent `dockhand run -- sleep 1` on one stopped PostgreSQL:");
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
    cli.run(&["project", "remove", "crowd", "--drop-data", "--yes"]);
    cli.run(&["destroy", service, "--purge", "--yes"]);
    serde_json::json!({
        "consumers": n,
        "all_done_ms": ms(all),
        "single_cold_run_ms": ms(single),
        "failed": failed,
        "containers": containers,
        "starts": count("started"),
        "stops": count("stopped"),
    })
}
