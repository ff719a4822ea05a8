//! Sections of the benchmark added with backups and the supervisor: backup throughput against a
//! raw `docker exec pg_dump`, the supervisor's idle cost, parallel start against the slowest
//! service alone, and memory of one shared server against one server per project.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dockhand_core::engine::Engine;
use dockhand_core::probe::{probe, ProbeTarget};
use dockhand_core::{DockerEngine, Kind, ServiceSpec};
use serde_json::{json, Value};

use crate::{median, ms, project, timed, Cli};

fn admin_password(cli: &Cli, service: &str) -> String {
    let url = cli.run(&["url", service]);
    let after = url.trim().split_once("://").unwrap().1;
    let userinfo = after.split_once('@').unwrap().0;
    userinfo.split_once(':').unwrap().1.to_string()
}

fn docker_ok(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into()
}

/// `dockhand backup` of a pgbench database against `docker exec <c> pg_dump -Fc > file`.
pub fn bench_backup(cli: &Cli, home: &std::path::Path, iterations: usize, scale: u32) -> Value {
    let service = "bench-backup-pg";
    let dir = project(home, "bbench", service);
    cli.run_in(Some(&dir), &["attach"]);
    cli.run(&["config", "set", "backup-keep", "2"]);
    let container = format!("dockhand-{service}");
    let pw = admin_password(cli, service);
    let load = timed(|| {
        docker_ok(&[
            "exec",
            "-e",
            &format!("PGPASSWORD={pw}"),
            &container,
            "pgbench",
            "-i",
            "-q",
            "-s",
            &scale.to_string(),
            "-U",
            "postgres",
            "bbench",
        ]);
    });
    let db_bytes: u64 = docker_ok(&[
        "exec",
        "-e",
        &format!("PGPASSWORD={pw}"),
        &container,
        "psql",
        "-U",
        "postgres",
        "-Atc",
        "SELECT pg_database_size('bbench')",
    ])
    .trim()
    .parse()
    .unwrap();
    let raw_file = home.join("raw.dump");
    let (mut ours, mut raw, mut size) = (Vec::new(), Vec::new(), 0u64);
    for i in 0..iterations {
        for side in if i % 2 == 0 { [0, 1] } else { [1, 0] } {
            if side == 0 {
                let t = Instant::now();
                let out: Value =
                    serde_json::from_str(&cli.run(&["backup", service, "-d", "bbench", "--json"]))
                        .unwrap();
                ours.push(t.elapsed());
                size = out["backups"][0]["size_bytes"].as_u64().unwrap();
            } else {
                let file = std::fs::File::create(&raw_file).unwrap();
                let t = Instant::now();
                let st = Command::new("docker")
                    .args([
                        "exec",
                        "-e",
                        &format!("PGPASSWORD={pw}"),
                        &container,
                        "pg_dump",
                        "-Fc",
                        "-U",
                        "postgres",
                        "-d",
                        "bbench",
                    ])
                    .stdout(file)
                    .status()
                    .unwrap();
                raw.push(t.elapsed());
                assert!(st.success());
            }
        }
    }
    let (o, r) = (median(ours.clone()), median(raw.clone()));
    let ratio = o.as_secs_f64() / r.as_secs_f64();
    println!();
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
    cli.run(&["project", "remove", "bbench"]);
    cli.run(&["destroy", service, "--purge", "--yes"]);
    json!({
        "scale": scale,
        "database_bytes": db_bytes,
        "dump_bytes": size,
        "dockhand_ms_median": ms(o),
        "raw_ms_median": ms(r),
        "ratio": ratio,
        "dockhand_ms": ours.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
        "raw_ms": raw.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
    })
}

fn proc_cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(close) = stat.rfind(')') else {
        return 0;
    };
    let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn proc_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

const SERVICES4: [(&str, &str); 4] = [
    ("bench-sup-pg", "postgres:15"),
    ("bench-sup-redis", "redis:7"),
    ("bench-sup-maria", "mariadb:10.11"),
    ("bench-sup-redis2", "redis:7"),
];

/// `dockhand supervise` (the tray app's supervisor, without the webview) watching 4 healthy
/// services: CPU % and RSS over `secs`.
pub fn bench_supervisor_idle(cli: &Cli, secs: u64) -> Value {
    for (name, spec) in SERVICES4 {
        cli.run(&["up", spec, "--name", name]);
    }
    let mut child = Command::new(&cli.bin)
        .args(["supervise"])
        .env("DOCKHAND_HOME", &cli.home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    std::thread::sleep(Duration::from_secs(5));
    let tick = 100.0; // USER_HZ on Linux
    let t0 = proc_cpu_ticks(pid);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let used = (proc_cpu_ticks(pid) - t0) as f64 / tick;
    let cpu = used / start.elapsed().as_secs_f64() * 100.0;
    let rss = proc_rss_kib(pid);
    let _ = child.kill();
    let _ = child.wait();
    for (name, _) in SERVICES4 {
        cli.run(&["destroy", name, "--purge", "--yes"]);
    }
    println!();
    println!(
        "supervisor idle with 4 healthy services over {secs} s: CPU {cpu:.2} %, RSS {:.1} MiB",
        rss as f64 / 1024.0
    );
    json!({ "seconds": secs, "cpu_percent": cpu, "rss_kib": rss, "services": 4 })
}

/// `dockhand up` of three stopped services at once, against the slowest of them alone; and the
/// same for the raw baseline (`docker start` + a tight query loop), to show what the machine
/// itself allows when three servers start on its cores at once.
pub async fn bench_parallel(cli: &Cli, iterations: usize) -> Value {
    let specs = [
        ("bench-par-pg", "postgres:15"),
        ("bench-par-redis", "redis:7"),
        ("bench-par-maria", "mariadb:10.11"),
    ];
    let engine = DockerEngine::connect().await.expect("docker");
    let mut targets = Vec::new();
    for (name, spec) in specs {
        cli.run(&["up", spec, "--name", name]);
        let kind = ServiceSpec::parse(spec).unwrap().kind;
        targets.push((name, kind, target_of(cli, name, kind)));
        cli.run(&["down", name]);
    }
    let args: Vec<String> = specs.iter().map(|(n, s)| format!("{n}={s}")).collect();
    let raw_start = |name: &'static str, kind: Kind, t: ProbeTarget| {
        let engine = &engine;
        async move {
            let c = format!("dockhand-{name}");
            let start = Instant::now();
            engine.start_container(&c).await.expect("docker start");
            while probe(kind, &t, Duration::from_secs(2)).await.is_err() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            start.elapsed()
        }
    };
    let stop_all = || async {
        for (name, kind, _) in &targets {
            let _ = engine
                .stop_container(&format!("dockhand-{name}"), kind.spec().stop_timeout)
                .await;
        }
    };
    let (mut all, mut raw_all) = (Vec::new(), Vec::new());
    let mut alone: Vec<Vec<Duration>> = vec![Vec::new(); specs.len()];
    let mut raw_alone: Vec<Vec<Duration>> = vec![Vec::new(); specs.len()];
    for _ in 0..iterations {
        let mut a = vec!["up"];
        a.extend(args.iter().map(String::as_str));
        all.push(timed(|| {
            cli.run(&a);
        }));
        for (name, _) in specs {
            cli.run(&["down", name]);
        }
        let t = Instant::now();
        // Polled together: the three start at the same time.
        futures_util::future::join_all(targets.iter().map(|(n, k, t)| raw_start(n, *k, t.clone())))
            .await;
        raw_all.push(t.elapsed());
        stop_all().await;
        for (i, (name, spec)) in specs.iter().enumerate() {
            alone[i].push(timed(|| {
                cli.run(&["up", spec, "--name", name]);
            }));
            cli.run(&["down", name]);
            let (n, k, t) = &targets[i];
            raw_alone[i].push(raw_start(n, *k, t.clone()).await);
            stop_all().await;
        }
    }
    let slowest = |v: &Vec<Vec<Duration>>| v.iter().map(|x| median(x.clone())).max().unwrap();
    let (together, slow) = (median(all.clone()), slowest(&alone));
    let (raw_together, raw_slow) = (median(raw_all.clone()), slowest(&raw_alone));
    let ratio = together.as_secs_f64() / slow.as_secs_f64();
    let raw_ratio = raw_together.as_secs_f64() / raw_slow.as_secs_f64();
    for (name, _) in specs {
        cli.run(&["destroy", name, "--purge", "--yes"]);
    }
    println!();
    println!(
        "three services started together: dockhand {:.0} ms vs its slowest alone {:.0} ms: {ratio:.2}x (target <= 1.3x)",
        ms(together),
        ms(slow)
    );
    println!(
        "                          raw docker: {:.0} ms vs its slowest alone {:.0} ms: {raw_ratio:.2}x (the machine's own cost of starting three at once)",
        ms(raw_together),
        ms(raw_slow)
    );
    json!({
        "together_ms_median": ms(together),
        "slowest_alone_ms_median": ms(slow),
        "ratio": ratio,
        "raw_together_ms_median": ms(raw_together),
        "raw_slowest_alone_ms_median": ms(raw_slow),
        "raw_ratio": raw_ratio,
        "alone_ms_medians": alone.iter().map(|v| ms(median(v.clone()))).collect::<Vec<_>>(),
    })
}

pub(crate) fn target_of(cli: &Cli, service: &str, kind: Kind) -> ProbeTarget {
    let url = cli.run(&["url", service]);
    let after = url.trim().split_once("://").unwrap().1;
    let (userinfo, rest) = after.split_once('@').unwrap();
    let port: u16 = rest
        .split_once(':')
        .unwrap()
        .1
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap();
    ProbeTarget {
        host: "127.0.0.1".into(),
        port,
        user: kind.spec().admin_user.into(),
        password: userinfo.split_once(':').unwrap().1.to_string(),
    }
}

/// Memory (as `docker stats` reports it) of 10 projects on one shared PostgreSQL against 10
/// PostgreSQL containers, one per project; each project holds one idle connection.
pub fn bench_memory(cli: &Cli, home: &std::path::Path) -> Value {
    let n = 10;
    let shared = "bench-mem-shared";
    let mut holders = Vec::new();
    for i in 0..n {
        let dir = project(home, &format!("mem{i}"), shared);
        cli.run_in(Some(&dir), &["attach"]);
        let url = cli.run_in(Some(&dir), &["url", &format!("mem{i}")]);
        holders.push(hold_connection(url.trim()));
    }
    std::thread::sleep(Duration::from_secs(3));
    let shared_mib = container_mib(&format!("dockhand-{shared}"));
    let shared_pss = container_pss_mib(&format!("dockhand-{shared}"));
    drop(holders);
    let mut holders = Vec::new();
    let mut per_project = 0.0;
    let names: Vec<String> = (0..n).map(|i| format!("bench-mem-own{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        let dir = project(home, &format!("own{i}"), name);
        cli.run_in(Some(&dir), &["attach"]);
        let url = cli.run_in(Some(&dir), &["url", &format!("own{i}")]);
        holders.push(hold_connection(url.trim()));
    }
    std::thread::sleep(Duration::from_secs(3));
    let mut per_project_pss = 0.0;
    for name in &names {
        per_project += container_mib(&format!("dockhand-{name}"));
        per_project_pss += container_pss_mib(&format!("dockhand-{name}"));
    }
    drop(holders);
    let ratio = per_project / shared_mib;
    let pss_ratio = per_project_pss / shared_pss;
    println!();
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
        cli.run(&["project", "remove", &format!("mem{i}")]);
        cli.run(&["project", "remove", &format!("own{i}")]);
    }
    cli.run(&["destroy", shared, "--purge", "--yes"]);
    for name in &names {
        cli.run(&["destroy", name, "--purge", "--yes"]);
    }
    json!({
        "projects": n,
        "shared_mib": shared_mib,
        "per_project_containers_mib": per_project,
        "ratio": ratio,
        "shared_pss_mib": shared_pss,
        "per_project_containers_pss_mib": per_project_pss,
        "pss_ratio": pss_ratio,
    })
}

/// An idle `psql` session kept open, as an app's connection pool would.
struct Held(std::process::Child);

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hold_connection(url: &str) -> Held {
    Held(
        Command::new("psql")
            .args([url, "-qc", "SELECT pg_sleep(600)"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("psql (postgresql-client)"),
    )
}

/// Proportional set size of a container's processes (shared memory divided among its users).
fn container_pss_mib(name: &str) -> f64 {
    let pids = docker_ok(&["top", name, "-eo", "pid"]);
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
    kib as f64 / 1024.0
}

fn container_mib(name: &str) -> f64 {
    let out = docker_ok(&["stats", "--no-stream", "--format", "{{.MemUsage}}", name]);
    // "23.5MiB / 7.6GiB"
    let used = out.split('/').next().unwrap_or("").trim();
    let (num, unit) = used.split_at(
        used.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(used.len()),
    );
    let v: f64 = num.parse().unwrap_or(0.0);
    match unit {
        "GiB" => v * 1024.0,
        "KiB" | "kB" => v / 1024.0,
        "B" => v / 1024.0 / 1024.0,
        _ => v,
    }
}
