//! `supervisor`: CPU and RSS of `dockhand supervise` (the tray app's supervisor without the
//! webview) watching 4 healthy services of three kinds. The scale section reuses
//! [`measure_idle`] for its curve over the number of services.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::Ctx;
use crate::commands::{BenchError, Cli, Result};

pub(crate) const SERVICES: [(&str, &str); 4] = [
    ("bench-sup-pg", "postgres:15"),
    ("bench-sup-redis", "redis:7"),
    ("bench-sup-maria", "mariadb:10.11"),
    ("bench-sup-redis2", "redis:7"),
];

/// A child process that is killed when dropped, so a failing section does not leave it running.
pub(crate) struct Killed(pub(crate) Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `/proc/PID/stat` utime + stime, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(close) = stat.rfind(')') else {
        return 0;
    };
    let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub(crate) struct Idle {
    pub(crate) cpu_percent: f64,
    pub(crate) rss_kib: u64,
}

/// Starts `dockhand supervise`, lets it settle for 5 s, then measures it over `secs`.
pub(crate) fn measure_idle(cli: &Cli, secs: u64) -> Result<Idle> {
    let mut c = cli.command();
    c.arg("supervise")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = Killed(c.spawn().map_err(|source| BenchError::Spawn {
        what: "dockhand supervise".into(),
        source,
    })?);
    let pid = child.0.id();
    std::thread::sleep(Duration::from_secs(5));
    let ticks_per_second = 100.0; // USER_HZ on Linux
    let t0 = cpu_ticks(pid);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let used = cpu_ticks(pid).saturating_sub(t0) as f64 / ticks_per_second;
    let cpu_percent = used / start.elapsed().as_secs_f64() * 100.0;
    let rss_kib = rss_kib(pid);
    drop(child);
    Ok(Idle {
        cpu_percent,
        rss_kib,
    })
}

pub(crate) fn run(ctx: &Ctx) -> Result<Value> {
    let cli = &ctx.cli;
    let secs = ctx.args.idle_seconds;
    let mut up = vec!["up"];
    let pairs: Vec<String> = SERVICES.iter().map(|(n, s)| format!("{n}={s}")).collect();
    up.extend(pairs.iter().map(String::as_str));
    cli.run(&up)?;
    let idle = measure_idle(cli, secs)?;
    for (name, _) in SERVICES {
        cli.run(&["destroy", name, "--purge", "--yes"])?;
    }
    println!(
        "supervisor idle with 4 healthy services over {secs} s: CPU {:.2} %, RSS {:.1} MiB",
        idle.cpu_percent,
        idle.rss_kib as f64 / 1024.0
    );
    Ok(
        json!({ "seconds": secs, "cpu_percent": idle.cpu_percent, "rss_kib": idle.rss_kib, "services": 4 }),
    )
}
