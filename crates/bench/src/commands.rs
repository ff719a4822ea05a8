//! Running `dockhand` and `docker` as child processes, each with a deadline: a hung command ends
//! the section it belongs to (killed, reported) instead of the whole bench.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Long enough for a first `dockhand up` of MariaDB (initdb) on a busy two-core machine.
pub(crate) const COMMAND_LIMIT: Duration = Duration::from_secs(180);

#[derive(Debug, thiserror::Error)]
pub(crate) enum BenchError {
    #[error("could not start {what}: {source}")]
    Spawn {
        what: String,
        source: std::io::Error,
    },
    #[error("{what} failed ({status}): {stderr}")]
    Failed {
        what: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("{what} did not finish within {} s and was killed", .limit.as_secs())]
    Timeout { what: String, limit: Duration },
    #[error("{what}: unexpected output {output:?}")]
    Output { what: String, output: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("Docker: {0}")]
    Engine(#[from] dockhand_core::EngineError),
    #[error("state store: {0}")]
    Core(#[from] dockhand_core::CoreError),
}

pub(crate) type Result<T> = std::result::Result<T, BenchError>;

/// Waits for `child` at most `limit`; kills it (SIGKILL) past that.
pub(crate) fn finish_within(child: Child, what: &str, limit: Duration) -> Result<Output> {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => Ok(out?),
        Err(_) => {
            // The child moved into the waiting thread: kill it by its id, then let that thread reap it.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            let _ = rx.recv_timeout(Duration::from_secs(5));
            Err(BenchError::Timeout {
                what: what.into(),
                limit,
            })
        }
    }
}

/// Runs `cmd` (stdout and stderr captured unless set already) and returns its stdout if it succeeded.
pub(crate) fn run_within(mut cmd: Command, what: &str, limit: Duration) -> Result<String> {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| BenchError::Spawn {
            what: what.into(),
            source,
        })?;
    let out = finish_within(child, what, limit)?;
    if !out.status.success() {
        return Err(BenchError::Failed {
            what: what.into(),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().into(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into())
}

/// `docker ARGS…` with a deadline.
pub(crate) fn docker(args: &[&str], limit: Duration) -> Result<String> {
    let mut c = Command::new("docker");
    c.args(args);
    run_within(c, &format!("docker {}", args.first().unwrap_or(&"")), limit)
}

/// `docker exec` in the service's container as its admin; the password goes through the
/// environment (`-e PGPASSWORD` with no value), never argv.
pub(crate) fn exec_as_admin(container: &str, password: &str, args: &[&str]) -> Command {
    let mut c = Command::new("docker");
    c.args(["exec", "-e", "PGPASSWORD", container])
        .args(args)
        .env("PGPASSWORD", password);
    c
}

/// The `dockhand` binary built beside this one, run against one home.
#[derive(Clone)]
pub(crate) struct Cli {
    pub(crate) bin: PathBuf,
    pub(crate) home: PathBuf,
}

impl Cli {
    pub(crate) fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.env("DOCKHAND_HOME", &self.home);
        c
    }

    pub(crate) fn run(&self, args: &[&str]) -> Result<String> {
        self.run_in(None, args)
    }

    pub(crate) fn run_in(&self, dir: Option<&Path>, args: &[&str]) -> Result<String> {
        let mut c = self.command();
        c.args(args);
        if let Some(d) = dir {
            c.current_dir(d);
        }
        // Arguments name services and projects only; passwords never reach argv.
        run_within(c, &format!("dockhand {}", args.join(" ")), COMMAND_LIMIT)
    }

    /// Wall time of one successful `dockhand ARGS` in `dir`.
    pub(crate) fn timed_in(&self, dir: Option<&Path>, args: &[&str]) -> Result<Duration> {
        let t = Instant::now();
        self.run_in(dir, args)?;
        Ok(t.elapsed())
    }
}

pub(crate) fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn ms_list(v: &[Duration]) -> Vec<f64> {
    v.iter().map(|d| ms(*d)).collect()
}

/// A project folder whose `dockhand.toml` asks for one PostgreSQL service by name.
pub(crate) fn project_dir(root: &Path, name: &str, service: &str) -> Result<PathBuf> {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("dockhand.toml"),
        format!("[services]\npostgres = {{ version = \"15\", service = \"{service}\" }}\n"),
    )?;
    Ok(dir)
}
