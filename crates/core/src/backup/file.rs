//! Writing a dump so that a file with a final name is always a complete one: the bytes go to a
//! hidden temporary name carrying the writer's PID, are hashed as they come, fsynced, and only
//! then renamed. A writer killed half-way leaves a `.partial` file that the next backup in the
//! same folder removes once its PID is gone.
//!
//! Backups hold a database's whole content: every file is 0600 and every folder Dockhand creates
//! for them 0700, in the default folder and in one the user chose.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{CoreError, Result};
use crate::platform;

const PARTIAL: &str = ".partial";

pub struct DumpFile {
    file: Option<File>,
    tmp: PathBuf,
    dest: PathBuf,
    hasher: Sha256,
    bytes: u64,
    error: Option<std::io::Error>,
}

pub struct Written {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

impl DumpFile {
    /// Starts a dump that will be named `dest` once complete. `root` is the backup folder:
    /// folders from it down to `dest` are created private (0700), and those below it that exist
    /// already are made private.
    pub fn create(root: &Path, dest: PathBuf) -> Result<DumpFile> {
        let dir = dest
            .parent()
            .ok_or_else(|| CoreError::InvalidInput(format!("no folder in {}", dest.display())))?
            .to_path_buf();
        private_dir_all(root, &dir)?;
        remove_stale_partials(&dir);
        let name = dest.file_name().unwrap_or_default().to_string_lossy();
        let tmp = dir.join(format!(".{name}.{}{PARTIAL}", std::process::id()));
        let file = private_file(&tmp).map_err(|e| io_error(&tmp, "write", e))?;
        Ok(DumpFile {
            file: Some(file),
            tmp,
            dest,
            hasher: Sha256::new(),
            bytes: 0,
            error: None,
        })
    }

    /// Appends bytes; the first write error is kept and reported by [`DumpFile::finish`]
    /// (the tool's output still has to be drained).
    pub fn write(&mut self, chunk: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if let Some(f) = self.file.as_mut() {
            match f.write_all(chunk) {
                Ok(()) => {
                    self.hasher.update(chunk);
                    self.bytes += chunk.len() as u64;
                }
                Err(e) => self.error = Some(e),
            }
        }
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Makes the dump durable and gives it its final name.
    pub fn finish(mut self) -> Result<Written> {
        if let Some(e) = self.error.take() {
            return Err(io_error(&self.tmp, "write", e));
        }
        let file = self.file.take().expect("file open until finish");
        file.sync_all()
            .map_err(|e| io_error(&self.tmp, "write", e))?;
        drop(file);
        if self.dest.exists() {
            return Err(CoreError::InvalidInput(format!(
                "{} already exists; nothing was overwritten",
                self.dest.display()
            )));
        }
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| io_error(&self.dest, "write", e))?;
        if let Some(dir) = self.dest.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(Written {
            path: self.dest.clone(),
            size: self.bytes,
            sha256: hex(&self.hasher.clone().finalize()),
        })
    }
}

impl Drop for DumpFile {
    // An unfinished dump never stays behind under any name.
    fn drop(&mut self) {
        if self.file.is_some() || self.tmp.exists() {
            self.file.take();
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a file, read in blocks.
pub fn sha256_of(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(|e| io_error(path, "read", e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| io_error(path, "read", e))?;
    Ok(hex(&h.finalize()))
}

/// An I/O error on a backup file or folder: names the file, and says where backups can go instead.
pub fn io_error(path: &Path, action: &'static str, e: std::io::Error) -> CoreError {
    let advice = match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            "choose another backup folder with `dockhand config set backup-dir <folder>`; \
             this backup was discarded and earlier backups are untouched"
        }
        _ => "choose another backup folder with `dockhand config set backup-dir <folder>`",
    };
    CoreError::File {
        path: path.to_path_buf(),
        action,
        source: e,
        advice: Some(advice),
    }
}

/// A new file only its owner can read (0600 whatever the umask).
fn private_file(path: &Path) -> std::io::Result<File> {
    platform::private_file_mode(std::fs::OpenOptions::new().write(true).create_new(true)).open(path)
}

/// Creates `dir` and the folders between `root` and it, each 0700; folders below `root` that
/// exist already are made 0700 too (Dockhand made them; earlier versions made them 0755).
/// `root` itself is only changed when Dockhand creates it.
pub fn private_dir_all(root: &Path, dir: &Path) -> Result<()> {
    let mut chain: Vec<&Path> = dir
        .ancestors()
        .take_while(|p| p.starts_with(root))
        .collect();
    chain.reverse();
    if chain.first() != Some(&root) {
        // `dir` is not under `root`: only its own creation is Dockhand's.
        chain = vec![dir];
    }
    let mut builder = std::fs::DirBuilder::new();
    platform::private_dir_mode(builder.recursive(true));
    for (i, p) in chain.iter().enumerate() {
        let existed = p.is_dir();
        if !existed {
            builder
                .create(p)
                .map_err(|e| io_error(p, "create the folder", e))?;
        }
        if !existed || i > 0 {
            platform::set_mode(p, 0o700).map_err(|e| io_error(p, "make private the folder", e))?;
        }
    }
    Ok(())
}

/// Removes `.partial` files left by writers that are no longer running.
fn remove_stale_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(PARTIAL) else {
            continue;
        };
        let pid = stem.rsplit('.').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !crate::leases::process_alive(pid, None)) {
            tracing::info!("removing an unfinished backup left by a stopped process: {name}");
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_under_its_name_only_when_complete() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("db/2026.dump");
        let mut f = DumpFile::create(t.path(), dest.clone()).unwrap();
        f.write(b"hello ");
        f.write(b"world");
        assert!(!dest.exists());
        let w = f.finish().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello world");
        assert_eq!(w.size, 11);
        assert_eq!(w.sha256, sha256_of(&dest).unwrap());
        assert_eq!(
            w.sha256,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        let leftovers: Vec<_> = std::fs::read_dir(t.path().join("db")).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
    }

    #[test]
    fn an_abandoned_dump_leaves_nothing_and_stale_partials_are_swept() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("db");
        let mut f = DumpFile::create(t.path(), dir.join("a.dump")).unwrap();
        f.write(b"half");
        drop(f);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        // A partial of a process that no longer exists (PID far above pid_max)...
        std::fs::write(dir.join(".b.dump.999999999.partial"), b"x").unwrap();
        // ...and one of a live process (this one) that must be left alone.
        let live = dir.join(format!(".c.dump.{}.partial", std::process::id()));
        std::fs::write(&live, b"x").unwrap();
        let f = DumpFile::create(t.path(), dir.join("d.dump")).unwrap();
        drop(f);
        assert!(!dir.join(".b.dump.999999999.partial").exists());
        assert!(live.exists());
    }

    #[test]
    fn files_and_the_folders_made_for_them_are_private() {
        let mode = |p: &Path| platform::mode_of(p).unwrap();
        let t = tempfile::tempdir().unwrap();
        platform::set_mode(t.path(), 0o755).unwrap();
        let root = t.path().join("custom");
        // A service folder left 0755 by an earlier version is made private as well.
        std::fs::create_dir_all(root.join("pg")).unwrap();
        platform::set_mode(&root.join("pg"), 0o755).unwrap();
        let dest = root.join("pg/shop/1.dump");
        let mut f = DumpFile::create(&root, dest.clone()).unwrap();
        f.write(b"x");
        f.finish().unwrap();
        assert_eq!(mode(&dest), 0o600);
        for d in [&root.join("pg"), &root.join("pg/shop")] {
            assert_eq!(mode(d), 0o700, "{d:?}");
        }
        // A backup folder that was there already is the user's: left as it was.
        assert_eq!(mode(&root), 0o755);
        // One that Dockhand creates is private.
        let fresh = t.path().join("new/backups");
        let mut f = DumpFile::create(&fresh, fresh.join("r/all/1.rdb")).unwrap();
        f.write(b"x");
        f.finish().unwrap();
        for d in [&fresh, &fresh.join("r"), &fresh.join("r/all")] {
            assert_eq!(mode(d), 0o700, "{d:?}");
        }
    }

    #[test]
    fn never_overwrites_an_existing_backup() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("a.dump");
        std::fs::write(&dest, b"earlier").unwrap();
        let mut f = DumpFile::create(t.path(), dest.clone()).unwrap();
        f.write(b"later");
        assert!(f.finish().is_err());
        assert_eq!(std::fs::read(&dest).unwrap(), b"earlier");
    }
}
