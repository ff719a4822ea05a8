//! Secrets (admin and project passwords) live behind [`SecretStore`]. No secret is ever written
//! to the state database, a log line, `Debug` output or a command line.
//!
//! The real store is [`KeychainSecretStore`] (the OS keychain). [`FileSecretStore`], a 0600 JSON
//! file in the Dockhand home, is an explicit opt-in for machines without a keychain
//! (`DOCKHAND_SECRET_STORE=file`). [`MemorySecretStore`] is for tests.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use rand::distr::{Alphanumeric, SampleString};

use crate::error::{CoreError, Result};
use crate::platform::{self, FileLock};

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
/// Always with upper case, lower case and a digit: SQL Server refuses an sa password without
/// three character classes (and does not start), and about 1 draw in 280 has no digit. Drawing
/// again keeps the choice uniform among the passwords that have all three.
pub fn generate_password() -> Secret {
    loop {
        let pw = Alphanumeric.sample_string(&mut rand::rng(), 32);
        let has = |f: fn(&char) -> bool| pw.chars().any(|c| f(&c));
        if has(char::is_ascii_uppercase)
            && has(char::is_ascii_lowercase)
            && has(char::is_ascii_digit)
        {
            return Secret(pw);
        }
    }
}

pub trait SecretStore: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<Secret>>;
    fn delete(&self, key: &str) -> Result<()>;
    /// Returns the stored secret, or stores and returns a new one. Two processes racing on the
    /// same key must end up with the same secret.
    fn get_or_create(&self, key: &str) -> Result<Secret>;
    /// Stores `secret` under `key`, replacing what was there (a major upgrade's new server
    /// takes the old one's admin password).
    fn put(&self, key: &str, secret: &Secret) -> Result<()>;
}

/// Secrets in memory, for unit tests.
#[cfg(test)]
#[derive(Default)]
pub struct MemorySecretStore {
    map: Mutex<BTreeMap<String, String>>,
}

#[cfg(test)]
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
    fn put(&self, key: &str, secret: &Secret) -> Result<()> {
        self.map
            .lock()
            .unwrap()
            .insert(key.to_string(), secret.0.clone());
        Ok(())
    }
}

/// The opt-in 0600 file store (see the module docs). Read-modify-write runs under an exclusive
/// file lock so concurrent Dockhand processes agree on one secret per key.
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
        let lock_path = self.path.with_extension("lock");
        let lock = FileLock::acquire(
            platform::private_file_mode(
                std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true),
            )
            .open(&lock_path)?,
        )?;
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
            let mut file = platform::private_file_mode(
                std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(true)
                    .write(true),
            )
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
    fn put(&self, key: &str, secret: &Secret) -> Result<()> {
        self.with_locked(|m| {
            m.insert(key.to_string(), secret.0.clone());
            Ok(((), true))
        })
    }
}

/// Remembers what one process has read or written, so a keychain is asked once per secret per
/// process (each Secret Service lookup costs a D-Bus session).
pub struct CachingSecretStore {
    inner: std::sync::Arc<dyn SecretStore>,
    cache: Mutex<BTreeMap<String, Secret>>,
}

impl CachingSecretStore {
    pub fn new(inner: std::sync::Arc<dyn SecretStore>) -> Self {
        CachingSecretStore {
            inner,
            cache: Mutex::new(BTreeMap::new()),
        }
    }
}

impl SecretStore for CachingSecretStore {
    fn get(&self, key: &str) -> Result<Option<Secret>> {
        if let Some(s) = self.cache.lock().unwrap().get(key) {
            return Ok(Some(s.clone()));
        }
        let got = self.inner.get(key)?;
        if let Some(s) = &got {
            self.cache
                .lock()
                .unwrap()
                .insert(key.to_string(), s.clone());
        }
        Ok(got)
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.cache.lock().unwrap().remove(key);
        self.inner.delete(key)
    }
    fn get_or_create(&self, key: &str) -> Result<Secret> {
        if let Some(s) = self.cache.lock().unwrap().get(key) {
            return Ok(s.clone());
        }
        let s = self.inner.get_or_create(key)?;
        self.cache
            .lock()
            .unwrap()
            .insert(key.to_string(), s.clone());
        Ok(s)
    }
    fn put(&self, key: &str, secret: &Secret) -> Result<()> {
        self.inner.put(key, secret)?;
        self.cache
            .lock()
            .unwrap()
            .insert(key.to_string(), secret.clone());
        Ok(())
    }
}

/// The OS keychain: Secret Service on Linux (GNOME Keyring, KWallet, KeePassXC), Keychain on
/// macOS, Credential Manager on Windows. Entries are filed under the service "dockhand".
/// Secrets left in the interim file store by an earlier Dockhand move into the keychain on first
/// read.
pub struct KeychainSecretStore {
    lock_path: PathBuf,
    legacy: Option<FileSecretStore>,
}

const KEYCHAIN_SERVICE: &str = "dockhand";

impl KeychainSecretStore {
    pub fn new(lock_path: impl Into<PathBuf>, legacy_file: Option<PathBuf>) -> Self {
        KeychainSecretStore {
            lock_path: lock_path.into(),
            legacy: legacy_file.filter(|p| p.exists()).map(FileSecretStore::new),
        }
    }

    fn read(key: &str) -> Result<Option<Secret>> {
        match once_more(|| keyring::Entry::new(KEYCHAIN_SERVICE, key)?.get_password()) {
            Ok(v) => Ok(Some(Secret(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(e)),
        }
    }

    fn write(key: &str, s: &Secret) -> Result<()> {
        once_more(|| keyring::Entry::new(KEYCHAIN_SERVICE, key)?.set_password(s.expose()))
            .map_err(keychain_error)?;
        // Read it back through a new entry: a keychain that silently drops writes (a locked
        // collection, a mock store) must fail here, not when the server no longer matches.
        match Self::read(key)? {
            Some(back) if back == *s => Ok(()),
            _ => Err(CoreError::Secret(
                "the OS keychain accepted a password but did not keep it; check that your keyring is unlocked \
                 and persistent, or opt in to the file store with DOCKHAND_SECRET_STORE=file"
                    .into(),
            )),
        }
    }

    fn with_lock<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        // Released when `_lock` is dropped, after `f` returns.
        let _lock = FileLock::acquire(
            platform::private_file_mode(
                std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true),
            )
            .open(&self.lock_path)?,
        )?;
        f()
    }
}

/// Runs a keychain call, and once more when the Secret Service went away in the middle of it
/// (D-Bus `NoReply`: the daemon exited or crashed — gnome-keyring aborts when another client is
/// killed mid-request). The bus starts a new daemon for the next call, so a restart of the
/// keychain does not fail the command. Each call here is idempotent (read, write the same value,
/// delete).
fn once_more<T>(op: impl Fn() -> keyring::Result<T>) -> keyring::Result<T> {
    match op() {
        Err(keyring::Error::PlatformFailure(e))
            if e.to_string().contains("NoReply") || e.to_string().contains("disconnected") =>
        {
            tracing::warn!("the OS keychain went away mid-request ({e}); asking again");
            std::thread::sleep(std::time::Duration::from_millis(300));
            op()
        }
        other => other,
    }
}

fn keychain_error(e: keyring::Error) -> CoreError {
    match e {
        keyring::Error::PlatformFailure(_) | keyring::Error::NoStorageAccess(_) => CoreError::Secret(format!(
            "the OS keychain is not available ({e}). On Linux, run a Secret Service (GNOME Keyring, KWallet or KeePassXC) \
             and unlock it; on a machine without one, opt in to a 0600 file in DOCKHAND_HOME with DOCKHAND_SECRET_STORE=file"
        )),
        other => CoreError::Secret(format!("OS keychain: {other}")),
    }
}

impl SecretStore for KeychainSecretStore {
    fn get(&self, key: &str) -> Result<Option<Secret>> {
        if let Some(s) = Self::read(key)? {
            return Ok(Some(s));
        }
        let Some(legacy) = &self.legacy else {
            return Ok(None);
        };
        self.with_lock(|| {
            if let Some(s) = Self::read(key)? {
                return Ok(Some(s));
            }
            let Some(s) = legacy.get(key)? else {
                return Ok(None);
            };
            Self::write(key, &s)?;
            legacy.delete(key)?;
            tracing::info!("moved a secret from the interim file store into the OS keychain");
            Ok(Some(s))
        })
    }

    fn delete(&self, key: &str) -> Result<()> {
        if let Some(legacy) = &self.legacy {
            legacy.delete(key)?;
        }
        match once_more(|| keyring::Entry::new(KEYCHAIN_SERVICE, key)?.delete_credential()) {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(e)),
        }
    }

    fn get_or_create(&self, key: &str) -> Result<Secret> {
        if let Some(s) = self.get(key)? {
            return Ok(s);
        }
        self.with_lock(|| {
            if let Some(s) = Self::read(key)? {
                return Ok(s);
            }
            let s = generate_password();
            Self::write(key, &s)?;
            Ok(s)
        })
    }

    fn put(&self, key: &str, secret: &Secret) -> Result<()> {
        self.with_lock(|| Self::write(key, secret))
    }
}

/// Which secret store to use: the OS keychain unless `DOCKHAND_SECRET_STORE=file` opts in to
/// the 0600 file.
pub fn default_store(home: &crate::Home) -> Result<std::sync::Arc<dyn SecretStore>> {
    match std::env::var("DOCKHAND_SECRET_STORE").ok().as_deref() {
        None | Some("") | Some("keychain") => Ok(std::sync::Arc::new(KeychainSecretStore::new(
            home.root().join("secrets.lock"),
            Some(home.secrets_file()),
        ))),
        Some("file") => Ok(std::sync::Arc::new(FileSecretStore::new(
            home.secrets_file(),
        ))),
        Some(other) => Err(CoreError::InvalidInput(format!(
            "DOCKHAND_SECRET_STORE={other:?} is not known; use 'keychain' (default) or 'file'"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(platform::mode_of(&path).unwrap(), 0o600);
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
