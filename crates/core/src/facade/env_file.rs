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
        let plan = self.env_plan(project, file, audience)?;
        write_private(&plan.file, &merge_dotenv(&plan.existing, &plan.vars))?;
        Ok(plan.outcome())
    }

    /// What "Write .env" would do to the project's `.env` — which variables it adds and
    /// changes, and whether git would commit the file — without writing: the window asks
    /// before it writes.
    pub fn preview_project_env(&self, project: &str) -> Result<EnvWritten> {
        Ok(self.env_plan(project, None, Audience::Host)?.outcome())
    }

    /// Adds the project's `.env` to the `.gitignore` beside it (made if missing; its lines are
    /// kept), so its passwords are not committed. Returns the `.gitignore`'s path.
    pub fn ignore_project_env_in_git(&self, project: &str) -> Result<String> {
        let p = self.project_row(project)?;
        let Some(dir) = &p.path else {
            return Err(CoreError::InvalidInput(format!(
                "project '{project}' has no folder, so no .env to keep out of git"
            )));
        };
        let ignore = Path::new(dir).join(".gitignore");
        refuse_links(&ignore)?;
        let existing = match std::fs::read_to_string(&ignore) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(CoreError::file(&ignore, "read", e)),
        };
        let listed = existing
            .lines()
            .any(|l| matches!(l.trim(), ".env" | "/.env"));
        if !listed {
            // Appended in one small write: the user's lines are never rewritten.
            let sep = if existing.is_empty() || existing.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&ignore)
                .and_then(|mut f| write!(f, "{sep}# passwords written by Dockhand\n/.env\n"))
                .map_err(|e| CoreError::file(&ignore, "write", e))?;
        }
        Ok(ignore.display().to_string())
    }

    fn project_row(&self, project: &str) -> Result<ProjectRow> {
        self.store().project(project)?.ok_or_else(|| {
            CoreError::InvalidInput(format!(
                "no project named '{project}'; `dockhand project list` shows them"
            ))
        })
    }

    /// The file, what it holds now and the variables to merge in.
    fn env_plan(&self, project: &str, file: Option<&Path>, audience: Audience) -> Result<EnvPlan> {
        let p = self.project_row(project)?;
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
        refuse_links(&file)?;
        let existing = match std::fs::read_to_string(&file) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(CoreError::file(&file, "read", e)),
        };
        Ok(EnvPlan {
            file,
            existing,
            vars,
        })
    }
}

struct EnvPlan {
    file: PathBuf,
    existing: String,
    vars: Vec<(String, String)>,
}

impl EnvPlan {
    fn outcome(&self) -> EnvWritten {
        let (added, updated) = changes(&self.existing, &self.vars);
        EnvWritten {
            git_warning: git_warning(&self.file),
            path: self.file.display().to_string(),
            added,
            updated,
        }
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

/// A `.env` that is a link (to a shared env file, say) is not written: the write replaces the
/// file as a whole, which would turn the link into a copy and leave what it points to as it
/// was — or, written through, put this project's passwords in a file other things read. The
/// user names the file they mean. Anything else but a regular file is refused too.
fn refuse_links(file: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(CoreError::file(file, "read", e)),
    };
    if meta.file_type().is_symlink() {
        let to = std::fs::read_link(file)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| "another file".into());
        return Err(CoreError::InvalidInput(format!(
            "{} is a link to {to}; Dockhand replaces a .env as a whole, which would turn the link into a \
             copy and leave {to} unchanged. Nothing was written — to write the linked file, name it \
             (`dockhand env --write <that file>`), or remove the link",
            file.display()
        )));
    }
    if !meta.is_file() {
        return Err(CoreError::InvalidInput(format!(
            "{} is not a regular file; nothing was written",
            file.display()
        )));
    }
    Ok(())
}

/// Written to a temporary file beside it, then renamed over it: a reader never sees half a
/// file, and the file is private (it holds passwords) from its first byte. The temporary
/// file's name is random and it is created new (`O_CREAT | O_EXCL`, which refuses any existing
/// name, a link included): a folder cannot hold a link there in advance that the write would
/// follow to some other file of the user's. The rename replaces `file` itself, never what a
/// link there might point to.
fn write_private(file: &Path, text: &str) -> Result<()> {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{:016x}.dockhand-tmp",
        file.file_name().unwrap_or_default().to_string_lossy(),
        rand::random::<u64>()
    ));
    let write = || -> std::io::Result<()> {
        let mut f =
            platform::private_file_mode(std::fs::OpenOptions::new().create_new(true).write(true))
                .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    };
    if let Err(e) = write() {
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            let _ = std::fs::remove_file(&tmp);
        }
        return Err(CoreError::file(&tmp, "write", e));
    }
    std::fs::rename(&tmp, file).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CoreError::file(file, "write", e)
    })
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

    #[cfg(unix)]
    #[test]
    fn links_in_the_folder_are_never_followed() {
        let t = tempfile::tempdir().unwrap();
        let victim = t.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        // A repository that ships the old fixed temporary name as a link to the user's file.
        std::os::unix::fs::symlink(&victim, t.path().join("..env.dockhand-tmp")).unwrap();
        let file = t.path().join(".env");
        write_private(&file, "A=1\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert_eq!(platform::mode_of(&victim).unwrap() & 0o777, 0o644);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "A=1\n");
        // A .env that is itself a link: refused, the link and its target as they were.
        let shared = t.path().join("shared.env");
        std::fs::write(&shared, "S=1\n").unwrap();
        let linked = t.path().join("linked.env");
        std::os::unix::fs::symlink(&shared, &linked).unwrap();
        let e = refuse_links(&linked).unwrap_err().to_string();
        assert!(
            e.contains("is a link to") && e.contains("shared.env"),
            "{e}"
        );
        assert!(std::fs::symlink_metadata(&linked)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&shared).unwrap(), "S=1\n");
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(t.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".dockhand-tmp"))
            .filter(|e| !e.path().is_symlink())
            .collect();
        assert!(left.is_empty(), "{left:?}");
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
