//! Where Dockhand keeps its state: `DOCKHAND_HOME`, else the platform's data directory
//! (`$XDG_DATA_HOME/dockhand`, `~/.local/share/dockhand`, `~/Library/Application Support/dockhand`).
//! Dockhand only ever initialises a directory that is new, empty, or already its own.

use std::path::{Path, PathBuf};

use crate::error::{CoreError, Result};

const MARKER: &str = ".dockhand-home";
/// The home's identity (the instance id in every label and keychain key), written once the
/// state database has given it: a lost or emptied state database is then recognised instead of
/// silently starting a new identity next to the old containers, volumes and keychain entries.
const IDENTITY: &str = ".dockhand-instance";

#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// The default home if it exists, without creating one (shell completion looks, and must
    /// leave nothing behind on a machine where Dockhand never ran).
    pub fn existing() -> Option<Home> {
        let root = default_root().ok()?;
        root.join(MARKER).is_file().then_some(Home { root })
    }

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

    /// Opens the state database, checking it against the home's recorded identity.
    pub fn open_store(&self) -> Result<crate::store::Store> {
        let db = self.state_db();
        let recorded = std::fs::read_to_string(self.root.join(IDENTITY))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let lost = |what: &str, id: &str| {
            CoreError::Home(format!(
                "Dockhand's state database {} {what}, but this home belongs to Dockhand instance '{id}' — its containers, \
                 volumes and keychain entries still exist. Nothing was changed. Put state.db back (a copy is kept as \
                 state.db.before-v* before every upgrade), or run `dockhand recover` to start a new state database with \
                 the same identity (services are found again from their containers; projects must be added again)",
                db.display()
            ))
        };
        if let Some(id) = &recorded {
            let size = std::fs::metadata(&db).map(|m| m.len()).ok();
            match size {
                None => return Err(lost("is missing", id)),
                Some(0) => return Err(lost("is empty", id)),
                Some(_) => {}
            }
        }
        let store = crate::store::Store::open(&db)?;
        match (&recorded, store.existing_instance_id()?) {
            (Some(id), None) => {
                return Err(lost("holds no identity (it was emptied or replaced)", id))
            }
            (Some(id), Some(found)) if *id != found => {
                return Err(lost(
                    &format!("belongs to another instance ('{found}')"),
                    id,
                ))
            }
            (Some(_), Some(_)) => {}
            (None, _) => {
                let id = store.instance_id()?;
                self.record_identity(&id)?;
            }
        }
        Ok(store)
    }

    /// `dockhand recover`: a new state database carrying the identity this home recorded.
    pub fn recover_store(&self) -> Result<crate::store::Store> {
        let id = std::fs::read_to_string(self.root.join(IDENTITY))
            .map(|s| s.trim().to_string())
            .map_err(|e| CoreError::Home(format!(
                "{} records no identity ({e}); there is nothing to recover — Dockhand opens this home as it is",
                self.root.display()
            )))?;
        let store = crate::store::Store::open(&self.state_db())?;
        store.adopt_instance_id(&id)?;
        Ok(store)
    }

    fn record_identity(&self, id: &str) -> Result<()> {
        let path = self.root.join(IDENTITY);
        let tmp = self
            .root
            .join(format!("{IDENTITY}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, format!("{id}\n"))
            .map_err(|e| CoreError::Home(format!("cannot write {}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| CoreError::Home(format!("cannot write {}: {e}", path.display())))?;
        Ok(())
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
    if let Some(d) = crate::platform::os_data_dir(env) {
        return Ok(d.join("dockhand"));
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
    crate::platform::set_mode(p, mode)
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
    fn a_lost_or_emptied_state_database_is_refused_and_recoverable_with_the_same_identity() {
        let t = tempfile::tempdir().unwrap();
        let h = Home::open(t.path().join("h")).unwrap();
        let id = h.open_store().unwrap().instance_id().unwrap();
        assert_eq!(h.open_store().unwrap().instance_id().unwrap(), id);
        std::fs::remove_file(h.state_db()).unwrap();
        let e = h.open_store().err().unwrap().to_string();
        assert!(
            e.contains("is missing") && e.contains(&id) && e.contains("dockhand recover"),
            "{e}"
        );
        assert!(!h.state_db().exists(), "nothing was created");
        std::fs::write(h.state_db(), b"").unwrap();
        assert!(h
            .open_store()
            .err()
            .unwrap()
            .to_string()
            .contains("is empty"));
        std::fs::remove_file(h.state_db()).unwrap();
        // A state database of another identity (copied from elsewhere) is refused too.
        crate::store::Store::open(&h.state_db())
            .unwrap()
            .instance_id()
            .unwrap();
        assert!(h
            .open_store()
            .err()
            .unwrap()
            .to_string()
            .contains("another instance"));
        std::fs::remove_file(h.state_db()).unwrap();
        let s = h.recover_store().unwrap();
        assert_eq!(s.instance_id().unwrap(), id);
        assert_eq!(h.open_store().unwrap().instance_id().unwrap(), id);
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
