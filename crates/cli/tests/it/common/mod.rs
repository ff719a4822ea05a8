//! Shared harness for the end-to-end CLI tests: each test gets its own Dockhand home and unique
//! service names, runs the real `dockhand` binary against the real Docker engine, and removes
//! every container and volume it created when it ends, pass or fail.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

mod versions;
// Not every test file runs version-dependent servers.
#[allow(unused_imports)]
pub use versions::*;

/// These tests start real servers and choose real host ports; running them one at a time keeps
/// port choice deterministic and the 2-core machines responsive.
static SERIAL: Mutex<()> = Mutex::new(());

/// No single command may take longer than this; past it the test fails instead of hanging.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(240);

pub struct Env {
    pub home: tempfile::TempDir,
    prefix: String,
    names: Mutex<Vec<String>>,
    _serial: Option<MutexGuard<'static, ()>>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl Env {
    pub fn new() -> Env {
        let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        Env::with_guard(Some(serial))
    }

    /// A second home inside a test that already holds the serial lock (another user's Dockhand).
    pub fn new_unserialized() -> Env {
        Env::with_guard(None)
    }

    fn with_guard(serial: Option<MutexGuard<'static, ()>>) -> Env {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Env {
            home: tempfile::tempdir().unwrap(),
            prefix: format!("t{:x}", (std::process::id() ^ nanos) & 0xfffff),
            names: Mutex::new(Vec::new()),
            _serial: serial,
        }
    }

    pub fn home_dir(&self) -> PathBuf {
        self.home.path().join("dockhand")
    }

    /// A unique service name, cleaned up when the test ends.
    pub fn name(&self, base: &str) -> String {
        let n = format!("{}-{base}", self.prefix);
        self.names.lock().unwrap().push(n.clone());
        n
    }

    pub fn command(&self, args: &[&str]) -> Command {
        // DOCKHAND_TEST_BIN runs the suite against another build (e.g. an earlier one, to show
        // that a new test fails there).
        let bin = std::env::var_os("DOCKHAND_TEST_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_dockhand").into());
        let mut c = Command::new(bin);
        c.args(args)
            .env("DOCKHAND_HOME", self.home_dir())
            .env_remove("DOCKHAND_LOG")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run_limited(self.command(args), COMMAND_LIMIT)
    }

    /// Runs and asserts success, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 0, "dockhand {args:?} failed:\n{}", r.all());
        r.stdout
    }

    pub fn status_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["status", "--json"])).unwrap()
    }

    pub fn service_status(&self, name: &str) -> serde_json::Value {
        self.status_json()
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not in status"))
    }

    pub fn url(&self, name: &str) -> String {
        self.ok(&["url", name]).trim().to_string()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for n in self.names.lock().unwrap().iter() {
            let _ = Command::new("docker")
                .args(["rm", "-f", "-v", &format!("dockhand-{n}")])
                .output();
            let _ = Command::new("docker")
                .args(["volume", "rm", "-f", &format!("dockhand-{n}-data")])
                .output();
            // What an upgrade creates beside them: its staging container and the new
            // version's volume (`dockhand-<name>-upgrade`, `dockhand-<name>-data-17`).
            let _ = Command::new("docker")
                .args(["rm", "-f", "-v", &format!("dockhand-{n}-upgrade")])
                .output();
            let vols = docker(&[
                "volume",
                "ls",
                "-q",
                "--filter",
                &format!("name=dockhand-{n}-"),
            ]);
            for v in vols.stdout.lines() {
                if v.starts_with(&format!("dockhand-{n}-data-"))
                    || *v == format!("dockhand-{n}-upgrade-data")
                {
                    let _ = Command::new("docker")
                        .args(["volume", "rm", "-f", v])
                        .output();
                }
            }
        }
    }
}

pub fn run_limited(mut c: Command, limit: Duration) -> Run {
    let child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => {
            let out: Output = out.expect("wait");
            Run {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into(),
                stderr: String::from_utf8_lossy(&out.stderr).into(),
            }
        }
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("{c:?} hung for {:?}", start.elapsed());
        }
    }
}

pub fn sh(cmd: &str) -> Run {
    let mut c = Command::new("sh");
    c.args(["-c", cmd]);
    run_limited(c, COMMAND_LIMIT)
}

pub fn docker(args: &[&str]) -> Run {
    let mut c = Command::new("docker");
    c.args(args);
    run_limited(c, COMMAND_LIMIT)
}

/// Splits `scheme://user:password@host:port/...` into (password, port).
pub fn password_and_port(url: &str) -> (String, u16) {
    let after = url.split_once("://").unwrap().1;
    let (userinfo, rest) = after.split_once('@').unwrap();
    let password = userinfo.split_once(':').unwrap().1.to_string();
    let port = rest.split_once(':').unwrap().1;
    let port: String = port.chars().take_while(|c| c.is_ascii_digit()).collect();
    (password, port.parse().unwrap())
}

/// The user and database of a URL.
pub fn user_and_database(url: &str) -> (String, String) {
    let after = url.split_once("://").unwrap().1;
    let user = after.split_once(':').unwrap().0.to_string();
    let path = after.split_once('/').map(|(_, p)| p).unwrap_or("");
    let db = path.split('?').next().unwrap_or("").to_string();
    (user, db)
}

/// Runs a statement with the kind's own command-line client from the host, as a user would,
/// logging in as the URL's user; asserts it succeeded and returns its output.
pub fn client(kind: &str, url: &str, statement: &str) -> String {
    let r = client_run(kind, url, statement);
    assert_eq!(
        r.code,
        0,
        "{kind} client failed on {statement:?}: {}",
        r.all()
    );
    r.stdout.trim().to_string()
}

/// The client command for a statement, not yet run (for tests that hold sessions open).
pub fn client_command(kind: &str, url: &str, statement: &str) -> Command {
    let (password, port) = password_and_port(url);
    let (user, database) = user_and_database(url);
    let mut c = match kind {
        "postgres" => {
            let mut c = Command::new("psql");
            c.args([url, "-v", "ON_ERROR_STOP=1", "-tAc", statement]);
            c
        }
        // Valkey speaks Redis's protocol and ACLs: the host's redis-cli is a Valkey client too.
        "redis" | "valkey" => {
            let mut c = Command::new("redis-cli");
            let port = port.to_string();
            c.args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "--user",
                &user,
                "--no-auth-warning",
            ]);
            c.env("REDISCLI_AUTH", &password);
            c.args(statement.split_whitespace());
            c
        }
        // The host's MariaDB client speaks to MySQL too (caching_sha2_password included).
        "mariadb" | "mysql" => {
            let mut c = Command::new("mariadb");
            let port = port.to_string();
            c.args([
                "-h",
                "127.0.0.1",
                "-P",
                &port,
                "-u",
                &user,
                "-N",
                "-B",
                "-e",
                statement,
            ]);
            if !database.is_empty() {
                c.arg(&database);
            }
            c.env("MYSQL_PWD", &password);
            c
        }
        other => panic!("no client for {other}"),
    };
    c.stdin(Stdio::null());
    std::mem::replace(&mut c, Command::new("true"))
}

/// Runs a statement as the URL's user and returns the outcome, success or not (for attacks).
pub fn client_run(kind: &str, url: &str, statement: &str) -> Run {
    run_limited(client_command(kind, url, statement), COMMAND_LIMIT)
}

/// IDs of every container (running or not) carrying the service's label.
pub fn containers_of(service: &str) -> Vec<String> {
    docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=dockhand.service={service}"),
    ])
    .stdout
    .lines()
    .map(String::from)
    .collect()
}

pub fn container_exists(name: &str) -> bool {
    docker(&["inspect", &format!("dockhand-{name}")]).code == 0
}

pub fn volume_exists(name: &str) -> bool {
    docker(&["volume", "inspect", &format!("dockhand-{name}-data")]).code == 0
}

/// Waits, inside a PostgreSQL server, until `condition` (a boolean SQL expression) holds: one
/// session checks it every 5 ms, so a phase lasting tens of milliseconds (a small COPY) is not
/// missed between two client runs, as polling with a new `psql` each time (~100 ms apart) can.
/// Statistics views are re-read each time (`pg_stat_clear_snapshot`: a transaction otherwise
/// sees one snapshot of them). False when `limit` passes first.
pub fn pg_wait_for(url: &str, condition: &str, limit: Duration) -> bool {
    let tries = limit.as_millis() / 5;
    let sql = format!(
        "DO $$ BEGIN FOR i IN 1..{tries} LOOP PERFORM pg_stat_clear_snapshot(); \
         IF ({condition}) THEN RETURN; END IF; PERFORM pg_sleep(0.005); END LOOP; \
         RAISE EXCEPTION 'not seen'; END $$"
    );
    client_run("postgres", url, &sql).code == 0
}

pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

pub fn file_contains(path: &Path, needle: &str) -> bool {
    std::fs::read(path)
        .map(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .unwrap_or(false)
}

/// A project folder with a dockhand.toml naming this test's own services.
pub fn project_dir(env: &Env, name: &str, services: &[(&str, &str, &str)]) -> std::path::PathBuf {
    let dir = env.home.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut toml = format!("name = \"{name}\"\n[services]\n");
    for (kind, version, service) in services {
        toml.push_str(&format!(
            "{kind} = {{ version = \"{version}\", service = \"{service}\" }}\n"
        ));
    }
    std::fs::write(dir.join("dockhand.toml"), toml).unwrap();
    dir
}

pub fn in_dir(env: &Env, dir: &Path, args: &[&str]) -> Run {
    let mut c = env.command(args);
    c.current_dir(dir);
    run_limited(c, COMMAND_LIMIT)
}

pub fn ok_in(env: &Env, dir: &Path, args: &[&str]) -> String {
    let r = in_dir(env, dir, args);
    assert_eq!(
        r.code,
        0,
        "dockhand {args:?} in {}:\n{}",
        dir.display(),
        r.all()
    );
    r.stdout
}

/// A project (folder under the test's home) attached to `services`, with its variables.
pub fn attached_project(env: &Env, name: &str, services: &[&str]) -> serde_json::Value {
    let dir = env.home.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = env.command(&["project", "add", "--name", name]);
    c.current_dir(&dir);
    assert_eq!(run_limited(c, COMMAND_LIMIT).code, 0);
    let mut args = vec!["attach", "-p", name];
    args.extend_from_slice(services);
    env.ok(&args);
    serde_json::from_str(&env.ok(&["env", name, "--json"])).unwrap()
}

/// Starts `dockhand ARGS` stopped at `step` (`DOCKHAND_TEST_PAUSE_AT=<step>:<flag file>`: the
/// command creates the file on reaching the step and waits there), then kills it with -9.
pub fn kill_at_step(env: &Env, step: &str, args: &[&str]) {
    let flag = env.home.path().join(format!(
        "paused-{step}-{}",
        args.join("-").replace('/', "_")
    ));
    let _ = std::fs::remove_file(&flag);
    let mut child = env
        .command(args)
        .env(
            "DOCKHAND_TEST_PAUSE_AT",
            format!("{step}:{}", flag.display()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let paused = wait_until(Duration::from_secs(180), || {
        flag.exists() || child.try_wait().unwrap().is_some()
    });
    let early = child.try_wait().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        paused && early.is_none(),
        "dockhand {args:?} never reached {step} ({early:?})"
    );
}

pub fn env_map(out: &str) -> std::collections::HashMap<String, String> {
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(out)
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.as_str().unwrap().to_string()))
        .collect()
}

/// How many rounds a kill-at-random-moments test makes: `DOCKHAND_STRESS`, else `default`.
pub fn stress_iterations(default: usize) -> usize {
    std::env::var("DOCKHAND_STRESS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Moments to kill a process at: a small deterministic generator (xorshift), seeded from the
/// clock unless `DOCKHAND_SEED` is set (the seed is printed, so a failing run can be replayed).
pub struct Moments(u64);

impl Moments {
    pub fn new(test: &str) -> Moments {
        let seed = std::env::var("DOCKHAND_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("{test}: DOCKHAND_SEED={seed}");
        Moments(seed)
    }

    /// A delay in [0, max_ms).
    pub fn next_ms(&mut self, max_ms: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % max_ms
    }
}
