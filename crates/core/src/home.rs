//! Where Dockhand keeps its state: `DOCKHAND_HOME`, else the platform's data directory
//! (`$XDG_DATA_HOME/dockhand`, `~/.local/share/dockhand`, `~/Library/Application Support/dockhand`).
//! Dockhand only ever initialises a directory that is new, empty, or already its own.

use std::path::{Path, PathBuf};

use crate::error::{CoreError, Result};

const MARKER: &str = ".dockhand-home";

#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    pub fn resolve() -> Result<Home> {
        let root = default_root()?;
        Home::open(root)
    }

    /// Opens (creating if needed) a Dockhand home at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Home> {
        let root: PathBuf = root.into();
        if root.join(MARKER).is_file() {
            return Ok(Home { root });
        }
        if root.exists() {
            if !root.is_dir() {
                return Err(CoreError::Home(format!(
                    "{} is not a directory; point DOCKHAND_HOME at a new or empty directory",
                    root.display()
                )));
            }
            let non_empty = std::fs::read_dir(&root)
                .map_err(|e| CoreError::file(&root, "read the folder", e))?
                .next()
                .is_some();
            if non_empty {
                return Err(CoreError::Home(format!(
                    "{} already exists, is not empty and was not created by Dockhand; nothing in it was touched. \
                     Point DOCKHAND_HOME at a new or empty directory, or move that one aside",
                    root.display()
                )));
            }
        }
        std::fs::create_dir_all(&root)
            .map_err(|e| CoreError::file(&root, "create Dockhand's home folder", e))?;
        restrict(&root, 0o700).map_err(|e| CoreError::file(&root, "restrict access to", e))?;
        let marker = root.join(MARKER);
        std::fs::write(
            &marker,
            "This directory holds Dockhand's state; Dockhand created it.\n",
        )
        .map_err(|e| CoreError::file(&marker, "write", e))?;
        Ok(Home { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn state_db(&self) -> PathBuf {
        self.root.join("state.db")
    }

    pub fn secrets_file(&self) -> PathBuf {
        self.root.join("secrets.json")
    }

    pub fn backups_dir(&self) -> PathBuf {
        self.root.join("backups")
    }
}

fn default_root() -> Result<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(h) = env("DOCKHAND_HOME") {
        return Ok(PathBuf::from(h));
    }
    if cfg!(target_os = "macos") {
        if let Some(h) = env("HOME") {
            return Ok(PathBuf::from(h).join("Library/Application Support/dockhand"));
        }
    }
    if let Some(x) = env("XDG_DATA_HOME") {
        return Ok(PathBuf::from(x).join("dockhand"));
    }
    if let Some(h) = env("HOME") {
        return Ok(PathBuf::from(h).join(".local/share/dockhand"));
    }
    Err(CoreError::Home(
        "cannot tell where to keep Dockhand's state: neither DOCKHAND_HOME nor HOME is set".into(),
    ))
}

pub(crate) fn restrict(p: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_new_and_reopens_own_directories() {
        let t = tempfile::tempdir().unwrap();
        let h = Home::open(t.path().join("new")).unwrap();
        std::fs::write(h.root().join("state.db"), b"x").unwrap();
        Home::open(h.root()).unwrap();
        // An empty existing directory is fine too.
        let empty = tempfile::tempdir().unwrap();
        Home::open(empty.path()).unwrap();
        assert!(empty.path().join(MARKER).is_file());
    }

    #[test]
    fn refuses_a_foreign_directory_and_leaves_it_alone() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("thesis.tex"), b"years of work").unwrap();
        let e = Home::open(t.path()).unwrap_err().to_string();
        assert!(e.contains("was not created by Dockhand"), "{e}");
        assert!(e.contains("DOCKHAND_HOME"), "{e}");
        let names: Vec<_> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["thesis.tex"]);
        assert_eq!(
            std::fs::read(t.path().join("thesis.tex")).unwrap(),
            b"years of work"
        );
    }
}
