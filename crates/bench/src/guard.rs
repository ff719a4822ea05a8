//! Everything the bench creates lives under one run directory with one `DOCKHAND_HOME` per
//! section, and Docker labels every container and volume with its home's instance id
//! (`dockhand.instance`). The guard removes exactly those — at the end of each section, at the
//! end of the run, on drop (a panic), and at the start of the next run for a run that crashed or
//! was killed. Nothing else on the engine is looked at: no name patterns, only those labels.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::commands::{docker, Result};

/// Where every run of the bench keeps its homes, so a later run finds a crashed one's.
fn runs_root() -> PathBuf {
    std::env::temp_dir().join("dockhand-bench-runs")
}

const OWNER_FILE: &str = "bench.pid";
/// The file in which a Dockhand home records its instance id (the value of every label it sets).
const INSTANCE_FILE: &str = ".dockhand-instance";
const DOCKER_LIMIT: Duration = Duration::from_secs(60);

pub(crate) struct RunGuard {
    dir: PathBuf,
}

impl RunGuard {
    /// Cleans up after earlier runs that are no longer running, then makes this run's directory.
    pub(crate) fn start() -> Result<RunGuard> {
        let root = runs_root();
        std::fs::create_dir_all(&root)?;
        for entry in std::fs::read_dir(&root)? {
            let dir = entry?.path();
            if dir.is_dir() && !owner_alive(&dir) {
                println!(
                    "cleaning up an earlier bench run that did not finish: {}",
                    dir.display()
                );
                clean_run(&dir);
            }
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let dir = root.join(format!("run-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(OWNER_FILE), std::process::id().to_string())?;
        Ok(RunGuard { dir })
    }

    /// A fresh scratch directory and home for one section: its settings (grace period, backup
    /// retention) and services cannot leak into another section.
    pub(crate) fn section(&self, name: &str) -> Result<(PathBuf, PathBuf)> {
        let dir = self.dir.join(name);
        if dir.exists() {
            clean_dir(&dir);
        }
        std::fs::create_dir_all(&dir)?;
        Ok((dir.join("home"), dir.join("work")))
    }

    /// Removes one section's containers, volumes and files.
    pub(crate) fn clean_section(&self, name: &str) {
        clean_dir(&self.dir.join(name));
    }

    /// The explicit end of a run; `Drop` does the same if the run never gets here.
    pub(crate) fn finish(self) {
        // Drop does the work.
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        clean_run(&self.dir);
    }
}

/// True while the bench process that made `run_dir` still runs (two benches may share a machine).
fn owner_alive(run_dir: &Path) -> bool {
    let Some(pid) = std::fs::read_to_string(run_dir.join(OWNER_FILE))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    else {
        return false;
    };
    pid != std::process::id()
        && std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|c| c.trim().starts_with("dockhand-bench"))
}

fn clean_run(run_dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(run_dir) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                clean_dir(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir_all(run_dir);
}

/// One section's directory: its home's containers and volumes, then the files.
fn clean_dir(section_dir: &Path) {
    let home = section_dir.join("home");
    stop_processes_of(&home);
    if let Err(e) = remove_resources_of(&home) {
        eprintln!(
            "warning: cleaning up {}: {e} (its containers carry the label dockhand.instance from {}/{INSTANCE_FILE})",
            home.display(),
            home.display()
        );
    }
    let _ = std::fs::remove_dir_all(section_dir);
}

/// Force-removes the containers and volumes labelled with `home`'s instance id.
fn remove_resources_of(home: &Path) -> Result<()> {
    let Ok(id) = std::fs::read_to_string(home.join(INSTANCE_FILE)) else {
        // A home without an identity has created nothing in Docker yet.
        return Ok(());
    };
    let id = id.trim();
    if id.is_empty() {
        return Ok(());
    }
    let label = format!("label=dockhand.instance={id}");
    let containers = docker(&["ps", "-aq", "--filter", &label], DOCKER_LIMIT)?;
    let ids: Vec<&str> = containers.split_whitespace().collect();
    if !ids.is_empty() {
        // -v: a raw baseline's container keeps its data in an anonymous volume.
        let mut args = vec!["rm", "-f", "-v"];
        args.extend(&ids);
        docker(&args, DOCKER_LIMIT)?;
    }
    let volumes = docker(&["volume", "ls", "-q", "--filter", &label], DOCKER_LIMIT)?;
    let names: Vec<&str> = volumes.split_whitespace().collect();
    if !names.is_empty() {
        let mut args = vec!["volume", "rm", "-f"];
        args.extend(&names);
        docker(&args, DOCKER_LIMIT)?;
    }
    Ok(())
}

/// Ends the detached `dockhand internal stop-idle` processes (grace-period stoppers) and any other
/// `dockhand` process still running against `home`: found by their DOCKHAND_HOME, ended by id.
/// Left alone, a stopper would wake after its grace period and could stop a container of the
/// same name that a later run has created meanwhile.
fn stop_processes_of(home: &Path) {
    let want = format!("DOCKHAND_HOME={}", home.display());
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(environ) = std::fs::read(p.path().join("environ")) else {
            continue;
        };
        let ours = environ.split(|b| *b == 0).any(|kv| kv == want.as_bytes());
        if ours && pid != std::process::id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}
