//! End-to-end tests of the health supervisor (`dockhand supervise`, the same actor the tray app
//! runs): real containers dying, the real Docker daemon going away and coming back.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// A running `dockhand supervise --json`, its output lines arriving on a channel.
struct Supervisor {
    child: Child,
    lines: Receiver<Value>,
}

impl Supervisor {
    fn start(env: &Env) -> Supervisor {
        let mut child = env
            .command(&["supervise", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        let s = Supervisor { child, lines };
        s.expect(Duration::from_secs(60), "its first look", |v| {
            v["type"] == "ready"
        });
        s
    }

    /// The first line matching `pred` within `limit` (other lines are skipped).
    fn expect(&self, limit: Duration, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + limit;
        let mut seen = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(v) if pred(&v) => return v,
                Ok(v) => seen.push(v),
                Err(_) => break,
            }
        }
        panic!("no {what} within {limit:?}; saw {seen:#?}");
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn transition(v: &Value, service: &str, to: &str) -> bool {
    v["type"] == "transition" && v["service"] == service && v["to"] == to
}

/// The running dockerd's command line, to start it again the same way.
fn dockerd() -> Option<(u32, Vec<String>)> {
    let pid: u32 = sh("pidof dockerd")
        .stdout
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).to_string())
        .collect();
    Some((pid, args))
}

/// Starts dockerd again if a test killed it, whatever the test's outcome.
struct DaemonBack(Vec<String>);

impl Drop for DaemonBack {
    fn drop(&mut self) {
        if sh("docker info >/dev/null 2>&1").code != 0 {
            let cmd = self.0.join(" ");
            sh(&format!("nohup {cmd} >>/var/log/dockerd.log 2>&1 &"));
            wait_until(Duration::from_secs(60), || {
                sh("docker info >/dev/null 2>&1").code == 0
            });
        }
    }
}

#[test]
#[ignore = "kills dockerd: scripts/test-all.sh runs it (with --ignored) only when it started the engine itself"]
fn the_daemon_going_away_is_reported_within_seconds_and_services_come_back() {
    let env = Env::new();
    let pg = env.name("dpg");
    let r = env.name("drd");
    env.ok(&["up", pg_spec(), "--name", &pg]);
    env.ok(&["up", redis_spec(), "--name", &r]);
    let mut sup = Supervisor::start(&env);
    let (pid, args) = dockerd().expect("a running dockerd");
    let _back = DaemonBack(args.clone());

    let killed = Instant::now();
    sh(&format!("kill -9 {pid}"));
    let down = sup.expect(Duration::from_secs(30), "engine-unavailable", |v| {
        v["type"] == "engine-unavailable"
    });
    let noticed = killed.elapsed();
    eprintln!(
        "engine-unavailable reported {} ms after dockerd was killed",
        noticed.as_millis()
    );
    // The requirement is 5 s; the bound here leaves room for a loaded machine (the paused-time
    // unit test pins the 5 s logic exactly).
    assert!(noticed < Duration::from_secs(15), "{noticed:?}");
    assert!(
        down["reason"].as_str().unwrap().contains("Docker"),
        "{down}"
    );
    let status = env.run(&["status"]);
    assert_eq!(
        status.code,
        3,
        "the CLI says Docker is down: {}",
        status.all()
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(sup.alive(), "the supervisor survives the daemon's death");

    sh(&format!(
        "nohup {} >>/var/log/dockerd.log 2>&1 &",
        args.join(" ")
    ));
    assert!(wait_until(Duration::from_secs(60), || sh(
        "docker info >/dev/null 2>&1"
    )
    .code
        == 0));
    let back = sup.expect(Duration::from_secs(90), "engine-available", |v| {
        v["type"] == "engine-available"
    });
    let restored: Vec<&str> = back["restored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // Containers died with the daemon (its containerd went with it) or survived it: either
    // way, both services run again afterwards.
    eprintln!("restored after the restart: {restored:?}");
    for s in [&pg, &r] {
        assert!(
            wait_until(Duration::from_secs(60), || env.service_status(s)["state"]
                == "running"),
            "{s} is running again"
        );
    }
    assert!(sup.alive());
}

/// The tests whose outcome depends on the server's version (its initialisation, isolation rules,
/// dump and restore tools, exit on kill): run on the oldest supported versions, then again on the
/// catalog's defaults — scripts/test-all.sh selects every `each_version::` test for that pass.
mod each_version {
    use super::*;

    #[test]
    fn a_killed_container_is_reported_failed_with_why_and_restarted_when_asked() {
        let env = Env::new();
        let r = env.name("sup");
        env.ok(&["up", redis_spec(), "--name", &r]);
        env.ok(&["config", "set", &format!("restart-on-failure.{r}"), "on"]);
        let sup = Supervisor::start(&env);
        // Only one process acts on a home's health.
        let second = env.run(&["supervise"]);
        assert_eq!(second.code, 2, "{}", second.all());
        assert!(
            second.stderr.contains("already supervises"),
            "{}",
            second.stderr
        );

        docker(&["kill", &format!("dockhand-{r}")]);
        let failed = sup.expect(Duration::from_secs(30), "failure", |v| {
            transition(v, &r, "failed")
        });
        let why = failed["reason"].as_str().unwrap();
        assert!(why.contains("exited with code 137"), "{why}");
        assert!(why.contains("last log lines"), "{why}");
        // The restart's report and the healthy transition come in either order: the supervisor's
        // next look can find the restarted server healthy before the restart reports back (seen
        // with Redis 8, which is up within milliseconds).
        let (mut restarted, mut recovered) = (None, false);
        while restarted.is_none() || !recovered {
            let v = sup.expect(Duration::from_secs(30), "restart and recovery", |v| {
                (v["type"] == "restarted" && v["service"] == r.as_str())
                    || transition(v, &r, "healthy")
            });
            if v["type"] == "restarted" {
                restarted = Some(v);
            } else {
                recovered = true;
            }
        }
        let restarted = restarted.unwrap();
        assert_eq!(restarted["ok"], true, "{restarted}");
        assert_eq!(env.service_status(&r)["state"], "running");
        let st = env.service_status(&r);
        assert_eq!(st["restart_on_failure"], true);
        // The history says what happened, when and why.
        let events = env.ok(&["events", &r]);
        assert!(
            events.contains("healthy → failed: exited with code 137"),
            "{events}"
        );
        assert!(events.contains("restarted automatically"), "{events}");

        // With the policy off, a failure stays a failure.
        env.ok(&["config", "set", &format!("restart-on-failure.{r}"), "off"]);
        docker(&["kill", &format!("dockhand-{r}")]);
        sup.expect(Duration::from_secs(30), "second failure", |v| {
            transition(v, &r, "failed")
        });
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(env.service_status(&r)["state"], "exited");
    }
}
