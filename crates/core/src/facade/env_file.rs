//! Writing a project's variables into its `.env`, for the window's "Write .env" and
//! `dockhand env --write`: merged into what is there, written atomically and private, with a
//! warning when git would commit the passwords.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::env::{dotenv_line, merge_dotenv, Audience, EnvMapping};
use crate::error::{CoreError, Result};
use crate::manager::Manager;
use crate::platform;
use crate::project_config;
use crate::store::ProjectRow;

/// `git check-ignore` only decorates the answer: a hung git must not hold the write up.
const GIT_LIMIT: Duration = Duration::from_secs(5);

/// What writing a `.env` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvWritten {
    pub path: String,
    /// Variables the file did not have.
    pub added: Vec<String>,
    /// Variables whose value changed.
    pub updated: Vec<String>,
    /// Set when the file holds passwords and git would commit it.
    pub git_warning: Option<String>,
}

impl Manager {
    /// How a project wants its variables named: the `[env]` table of its folder's
    /// `dockhand.toml`, read each time variables are handed out rather than stored at attach —
    /// the file is what the user edits, so a change applies at the next `env`, `run`, copy or
    /// `.env` write without re-attaching, and no copy in the state database can go stale.
    /// Projects without a folder (or whose folder has no `dockhand.toml`) get every variable
    /// under its own name; a file with a mistake is an error here, never a silent default.
    pub fn env_mapping(&self, project: &ProjectRow) -> Result<EnvMapping> {
        let Some(dir) = &project.path else {
            return Ok(EnvMapping::default());
        };
        let dir = Path::new(dir);
        if !dir.is_dir() {
            tracing::warn!(
                "project '{}': its folder {} is gone; its variables keep their own names",
                project.name,
                dir.display()
            );
            return Ok(EnvMapping::default());
        }
        Ok(project_config::read(dir)?
            .map(|c| c.env)
            .unwrap_or_default())
    }

    /// Merges the project's variables (for processes on this machine) into `file`, by default
    /// `<project folder>/.env`.
    pub fn write_project_env(&self, project: &str, file: Option<&Path>) -> Result<EnvWritten> {
        self.write_project_env_for(project, file, Audience::Host)
    }

    /// As [`Manager::write_project_env`], for another audience (`dockhand env --for … --write`).
    pub fn write_project_env_for(
        &self,
        project: &str,
        file: Option<&Path>,
        audience: Audience,
    ) -> Result<EnvWritten> {
        let p = self.store().project(project)?.ok_or_else(|| {
            CoreError::InvalidInput(format!(
                "no project named '{project}'; `dockhand project list` shows them"
            ))
        })?;
        let file: PathBuf = match (file, &p.path) {
            (Some(f), _) => f.to_path_buf(),
            (None, Some(dir)) => Path::new(dir).join(".env"),
            (None, None) => {
                return Err(CoreError::InvalidInput(format!(
                "project '{project}' has no folder to write a .env into; choose the file to write"
            )))
            }
        };
        let vars = self.project_env(project, audience)?;
        if vars.is_empty() {
            return Err(CoreError::InvalidInput(format!(
                "project '{project}' uses no service yet; `dockhand attach postgres` first"
            )));
        }
        let existing = match std::fs::read_to_string(&file) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(CoreError::file(&file, "read", e)),
        };
        let (added, updated) = changes(&existing, &vars);
        write_private(&file, &merge_dotenv(&existing, &vars))?;
        Ok(EnvWritten {
            git_warning: git_warning(&file),
            path: file.display().to_string(),
            added,
            updated,
        })
    }
}

/// Which of `vars` a merge into `existing` adds, and which it changes.
fn changes(existing: &str, vars: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let mut added = Vec::new();
    let mut updated = Vec::new();
    for (k, v) in vars {
        let current = existing.lines().find(|line| {
            let t = line.trim_start();
            let t = t.strip_prefix("export ").unwrap_or(t);
            !t.starts_with('#') && t.split_once('=').is_some_and(|(key, _)| key.trim() == k)
        });
        match current {
            None => added.push(k.clone()),
            Some(line) if line.trim() != dotenv_line(k, v) => updated.push(k.clone()),
            Some(_) => {}
        }
    }
    (added, updated)
}

/// Written to a temporary file beside it, then renamed over it: a reader never sees half a
/// file, and the file is private (it holds passwords) from its first byte.
fn write_private(file: &Path, text: &str) -> Result<()> {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.dockhand-tmp",
        file.file_name().unwrap_or_default().to_string_lossy()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = platform::private_file_mode(
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true),
        )
        .open(&tmp)?;
        // An existing temporary file keeps its mode: make sure.
        platform::set_mode(&tmp, 0o600)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(CoreError::file(&tmp, "write", e));
    }
    std::fs::rename(&tmp, file).map_err(|e| CoreError::file(file, "write", e))
}

/// A warning when `file` is in a git work tree and not ignored. No git, no work tree, or a git
/// that does not answer in time: no warning.
fn git_warning(file: &Path) -> Option<String> {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut child = match Command::new("git")
        .args(["check-ignore", "-q"])
        .arg(file.file_name()?)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(
                "git check-ignore could not run ({e}); no warning about committing .env"
            );
            return None;
        }
    };
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if started.elapsed() < GIT_LIMIT => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => {
                tracing::debug!("git check-ignore did not answer within {GIT_LIMIT:?}");
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    // 0: ignored; 1: not ignored; 128: not a work tree (or another git error).
    (status.code() == Some(1)).then(|| {
        format!(
            "{} holds passwords and is not ignored by git; add it to .gitignore",
            file.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_added_from_changed_and_unchanged() {
        let vars = vec![
            ("A".to_string(), "1".to_string()),
            ("B".to_string(), "2".to_string()),
            ("C".to_string(), "3".to_string()),
        ];
        let (added, updated) = changes("# A=0\nexport B=9\nC=3\nOTHER=x\n", &vars);
        assert_eq!(added, ["A"]);
        assert_eq!(updated, ["B"]);
    }

    #[test]
    fn writes_privately_and_warns_only_inside_a_work_tree_that_does_not_ignore_it() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join(".env");
        std::fs::write(&file, "KEEP=1\n").unwrap();
        platform::set_mode(&file, 0o644).unwrap();
        write_private(&file, "KEEP=1\nNEW=2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "KEEP=1\nNEW=2\n");
        if cfg!(unix) {
            assert_eq!(platform::mode_of(&file).unwrap(), 0o600);
        }
        assert_eq!(git_warning(&file), None, "not a work tree");
        let git = |args: &[&str]| {
            Command::new("git")
                .args(args)
                .current_dir(t.path())
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        };
        if !git(&["init", "-q"]) {
            eprintln!("git is not installed: the work-tree half is not checked");
            return;
        }
        assert!(git_warning(&file).unwrap().contains("not ignored by git"));
        std::fs::write(t.path().join(".gitignore"), ".env\n").unwrap();
        assert_eq!(git_warning(&file), None);
    }
}
