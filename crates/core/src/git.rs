//! What a project folder's git repository has checked out, read from its files (`HEAD`, refs,
//! packed-refs, the HEAD reflog): no `git` process, so every `dockhand run` and every tray
//! refresh can ask cheaply and nothing here can hang. Worktrees (`.git` a file naming the real
//! git directory) and rebases in progress are understood.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A repository's git directories: the worktree's own (HEAD, logs) and the common one (refs).
#[derive(Debug, Clone)]
pub struct Repo {
    git_dir: PathBuf,
    common_dir: PathBuf,
}

/// What is checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    Branch(String),
    /// A commit, not a branch (a `git checkout <sha>`, a bisect).
    Detached,
}

impl Repo {
    /// The repository whose work tree is `dir` (its top level), if any.
    pub fn open(dir: &Path) -> Option<Repo> {
        let dot = dir.join(".git");
        let git_dir = if dot.is_dir() {
            dot
        } else {
            // A worktree or submodule: `gitdir: <path>`.
            let text = std::fs::read_to_string(&dot).ok()?;
            let path = text.trim().strip_prefix("gitdir:")?.trim();
            let p = Path::new(path);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                dir.join(p)
            }
        };
        if !git_dir.join("HEAD").is_file() {
            return None;
        }
        let common_dir = std::fs::read_to_string(git_dir.join("commondir"))
            .ok()
            .map(|c| {
                let p = Path::new(c.trim());
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    git_dir.join(p)
                }
            })
            .unwrap_or_else(|| git_dir.clone());
        Some(Repo {
            git_dir,
            common_dir,
        })
    }

    /// The branch checked out. During a rebase HEAD is detached, but the branch being rebased is
    /// the one the work is for.
    pub fn head(&self) -> Head {
        let text = std::fs::read_to_string(self.git_dir.join("HEAD")).unwrap_or_default();
        if let Some(b) = text.trim().strip_prefix("ref: refs/heads/") {
            return Head::Branch(b.to_string());
        }
        for dir in ["rebase-merge", "rebase-apply"] {
            if let Ok(name) = std::fs::read_to_string(self.git_dir.join(dir).join("head-name")) {
                if let Some(b) = name.trim().strip_prefix("refs/heads/") {
                    return Head::Branch(b.to_string());
                }
            }
        }
        Head::Detached
    }

    /// The local branches: loose refs and packed ones.
    pub fn branches(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let heads = self.common_dir.join("refs").join("heads");
        let mut stack = vec![heads.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(rel) = path.strip_prefix(&heads) {
                    if let Some(s) = rel.to_str() {
                        out.insert(s.replace(std::path::MAIN_SEPARATOR, "/"));
                    }
                }
            }
        }
        if let Ok(packed) = std::fs::read_to_string(self.common_dir.join("packed-refs")) {
            for line in packed.lines() {
                if let Some((_, r)) = line.split_once(' ') {
                    if let Some(b) = r.strip_prefix("refs/heads/") {
                        out.insert(b.to_string());
                    }
                }
            }
        }
        out
    }

    /// The branch `branch` was first checked out from (`git checkout -b feature` or `git switch
    /// -c feature` on `main`: "main"), from the HEAD reflog, if it still says.
    pub fn created_from(&self, branch: &str) -> Option<String> {
        let log = std::fs::read_to_string(self.git_dir.join("logs").join("HEAD")).ok()?;
        created_from(&log, branch)
    }

    /// The branch a clone's `origin/HEAD` points at, else `main` or `master` when the repository
    /// has it.
    pub fn default_branch(&self) -> Option<String> {
        let origin = self.common_dir.join("refs/remotes/origin/HEAD");
        if let Ok(text) = std::fs::read_to_string(origin) {
            if let Some(b) = text.trim().strip_prefix("ref: refs/remotes/origin/") {
                return Some(b.to_string());
            }
        }
        let have = self.branches();
        ["main", "master"]
            .into_iter()
            .find(|b| have.contains(*b))
            .map(str::to_string)
    }

    /// Where hooks go (`core.hooksPath` aside, which [`Repo::hooks_path_set`] reports).
    pub fn hooks_dir(&self) -> PathBuf {
        self.common_dir.join("hooks")
    }

    /// Whether the repository's config sets `core.hooksPath` (git then ignores `hooks/`).
    pub fn hooks_path_set(&self) -> bool {
        std::fs::read_to_string(self.common_dir.join("config"))
            .map(|c| c.to_ascii_lowercase().contains("hookspath"))
            .unwrap_or(false)
    }
}

/// From a HEAD reflog's text: the branch the first checkout onto `branch` moved from.
fn created_from(log: &str, branch: &str) -> Option<String> {
    let wanted = format!(" to {branch}");
    log.lines().find_map(|line| {
        let msg = line.split_once('\t')?.1;
        let rest = msg.strip_prefix("checkout: moving from ")?;
        let from = rest.strip_suffix(&wanted)?;
        (from != branch && !from.contains(' ')).then(|| from.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_is_where_the_first_checkout_came_from() {
        let log = "0 1 A <a> 1 +0000\tcommit (initial): x\n\
                   1 2 A <a> 2 +0000\tcheckout: moving from main to feature/x\n\
                   2 3 A <a> 3 +0000\tcheckout: moving from feature/x to main\n\
                   3 4 A <a> 4 +0000\tcheckout: moving from release to feature/x\n";
        assert_eq!(created_from(log, "feature/x").as_deref(), Some("main"));
        assert_eq!(created_from(log, "main").as_deref(), Some("feature/x"));
        assert_eq!(created_from(log, "feature"), None);
        assert_eq!(created_from(log, "other"), None);
    }

    #[test]
    fn reads_a_repository_made_by_git() {
        let t = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let ok = std::process::Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@t", "-C"])
                .arg(t.path())
                .args(args)
                .output()
                .map(|o| o.status.success());
            ok.unwrap_or(false)
        };
        assert!(git(&["init", "-q", "-b", "main"]), "git runs");
        assert!(git(&["commit", "-q", "--allow-empty", "-m", "one"]));
        assert!(git(&["checkout", "-q", "-b", "feature/ü"]));
        let repo = Repo::open(t.path()).unwrap();
        assert_eq!(repo.head(), Head::Branch("feature/ü".into()));
        assert_eq!(repo.created_from("feature/ü").as_deref(), Some("main"));
        assert_eq!(repo.default_branch().as_deref(), Some("main"));
        assert!(git(&["pack-refs", "--all"]));
        assert_eq!(
            repo.branches().into_iter().collect::<Vec<_>>(),
            ["feature/ü", "main"]
        );
        assert!(git(&["checkout", "-q", "--detach"]));
        assert_eq!(repo.head(), Head::Detached);
        assert!(Repo::open(&t.path().join("nope")).is_none());
    }
}
