//! Secrets (admin and project passwords) live behind [`SecretStore`]. No secret is ever written
//! to the state database, a log line, `Debug` output or a command line.
//!
//! TEMPORARY: until the OS keychain store lands (issue "Projects, leases … OS keychain"), the CLI
//! uses [`FileSecretStore`], a 0600 JSON file in the Dockhand home. It is a stop-gap, not the
//! design: the keychain store replaces it behind the same trait.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use rand::distr::{Alphanumeric, SampleString};

use crate::error::{CoreError, Result};

/// A secret value. Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// 32 alphanumeric characters (~190 bits): strong, and safe in URLs, shells and config files.
pub fn generate_password() -> Secret {
    Secret(Alphanumeric.sample_string(&mut rand::rng(), 32))
}

pub trait SecretStore: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<Secret>>;
    fn delete(&self, key: &str) -> Result<()>;
    /// Returns the stored secret, or stores and returns a new one. Two processes racing on the
    /// same key must end up with the same secret.
    fn get_or_create(&self, key: &str) -> Result<Secret>;
}

#[derive(Default)]
pub struct MemorySecretStore {
    map: Mutex<BTreeMap<String, String>>,
}

impl SecretStore for MemorySecretStore {
    fn get(&self, key: &str) -> Result<Option<Secret>> {
        Ok(self.map.lock().unwrap().get(key).cloned().map(Secret))
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.map.lock().unwrap().remove(key);
        Ok(())
    }
    fn get_or_create(&self, key: &str) -> Result<Secret> {
        let mut m = self.map.lock().unwrap();
        let v = m
            .entry(key.to_string())
            .or_insert_with(|| generate_password().0);
        Ok(Secret(v.clone()))
    }
}

/// TEMPORARY 0600 file store (see the module docs). Read-modify-write runs under an exclusive
/// `flock` so concurrent Dockhand processes agree on one secret per key.
pub struct FileSecretStore {
    path: PathBuf,
}

impl FileSecretStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSecretStore { path: path.into() }
    }

    fn with_locked<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, String>) -> Result<(T, bool)>,
    ) -> Result<T> {
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::io::AsRawFd;
        let lock_path = self.path.with_extension("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)?;
        // SAFETY: flock on a file descriptor we own; released when `lock` is dropped.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        let mut map: BTreeMap<String, String> = match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                CoreError::Secret(format!(
                    "{} is not valid JSON ({e}); it holds Dockhand's passwords, so it was left as it is — \
                     restore it from a backup or move it aside",
                    self.path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e.into()),
        };
        let (out, changed) = f(&mut map)?;
        if changed {
            let tmp = self.path.with_extension("tmp");
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .mode(0o600)
                .open(&tmp)?;
            file.write_all(&serde_json::to_vec_pretty(&map).expect("map serialises"))?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
        }
        drop(lock);
        Ok(out)
    }
}

impl SecretStore for FileSecretStore {
    fn get(&self, key: &str) -> Result<Option<Secret>> {
        self.with_locked(|m| Ok((m.get(key).cloned().map(Secret), false)))
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.with_locked(|m| Ok(((), m.remove(key).is_some())))
    }
    fn get_or_create(&self, key: &str) -> Result<Secret> {
        self.with_locked(|m| match m.get(key) {
            Some(v) => Ok((Secret(v.clone()), false)),
            None => {
                let s = generate_password();
                m.insert(key.to_string(), s.0.clone());
                Ok((s, true))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn debug_never_shows_the_value() {
        let s = generate_password();
        assert_eq!(s.expose().len(), 32);
        assert!(!format!("{s:?}").contains(s.expose()));
    }

    #[test]
    fn file_store_persists_privately_and_agrees_across_threads() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("secrets.json");
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let p = path.clone();
                std::thread::spawn(move || FileSecretStore::new(p).get_or_create("k").unwrap())
            })
            .collect();
        let got: Vec<Secret> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(got.windows(2).all(|w| w[0] == w[1]), "racers disagreed");
        let again = FileSecretStore::new(&path).get("k").unwrap().unwrap();
        assert_eq!(again, got[0]);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        FileSecretStore::new(&path).delete("k").unwrap();
        assert_eq!(FileSecretStore::new(&path).get("k").unwrap(), None);
    }

    #[test]
    fn a_corrupt_file_is_reported_and_kept() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("secrets.json");
        std::fs::write(&path, b"{not json").unwrap();
        let e = FileSecretStore::new(&path)
            .get_or_create("k")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not valid JSON") && e.contains("left as it is"),
            "{e}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"{not json");
    }
}
