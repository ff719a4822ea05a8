//! Everything Dockhand's core and CLI need from the operating system, in one place.
//!
//! The rest of the code calls these functions and never names `std::os::unix`, `libc` or a
//! `#[cfg]` of its own, so what differs between systems can be reviewed here alone:
//!
//! | need | Unix (Linux, macOS) | Windows |
//! | --- | --- | --- |
//! | exclusive file lock | `flock` (through `std::fs::File::lock`) | `LockFileEx` (same call) |
//! | does a PID exist | `kill(pid, 0)` (through `rustix`) | not asked: answers "yes" (see [`process_exists`]) |
//! | process start time | Linux: `/proc/<pid>/stat`; macOS: none | none |
//! | private file or folder | mode 0600 / 0700 | the ACL the folder gives (the user's profile is private) |
//! | is a path a socket | file type | never (Docker Desktop listens on a named pipe) |
//! | how a child ended | exit code, or 128 + signal | exit code |
//! | a child that outlives the terminal | its own process group | its own process group |
//! | who listens on a port | Linux: `/proc/net/tcp*` + `/proc/<pid>/fd`; macOS: `lsof` | not looked up |
//!
//! Only Linux (Debian 12) builds and tests this here; the Windows and macOS branches are written
//! to build there and are kept small so a reader can check them by eye.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

mod port_holder;
pub use port_holder::{port_holder, PortHolder};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as os;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;

#[cfg(not(any(unix, windows)))]
compile_error!("Dockhand's platform module knows Unix and Windows only");

/// An exclusive lock on an open file, held until this value is dropped. Locks are advisory and
/// taken on the whole file; the operating system releases them when the file is closed, so a
/// process that dies never leaves one behind.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Waits until the lock is free, then holds it.
    pub fn acquire(file: File) -> io::Result<FileLock> {
        // `File::lock` is `flock(LOCK_EX)` on Unix and `LockFileEx` on Windows.
        file.lock()?;
        Ok(FileLock { _file: file })
    }

    /// Holds the lock if nobody else does. When another open file (in this process or
    /// another) holds it, the file comes back so the caller can try again without reopening it.
    pub fn try_acquire(file: File) -> io::Result<LockAttempt> {
        match file.try_lock() {
            Ok(()) => Ok(LockAttempt::Held(FileLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(LockAttempt::Busy(file)),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// What [`FileLock::try_acquire`] got.
#[derive(Debug)]
pub enum LockAttempt {
    Held(FileLock),
    /// Someone else holds the lock; here is the file back.
    Busy(File),
}

impl LockAttempt {
    /// The lock, if it was taken.
    pub fn held(self) -> Option<FileLock> {
        match self {
            LockAttempt::Held(l) => Some(l),
            LockAttempt::Busy(_) => None,
        }
    }
}

/// Whether a process with this PID exists now (it may be another user's). It may be a new
/// process that reuses the PID: compare [`process_start_time`] to tell.
pub fn process_exists(pid: u32) -> bool {
    os::process_exists(pid)
}

/// When a process started, as an opaque string that stays the same for the life of the process
/// and differs for a later process with the same PID. `None` where the system does not say
/// (then a recorded holder is trusted while its PID exists).
pub fn process_start_time(pid: u32) -> Option<String> {
    os::process_start_time(pid)
}

/// Makes `options` create a file only its owner can read and write (0600 on Unix, whatever the
/// umask). On Windows the new file inherits the folder's ACL: Dockhand's folders live in the
/// user's profile, which other users cannot read.
pub fn private_file_mode(options: &mut std::fs::OpenOptions) -> &mut std::fs::OpenOptions {
    os::private_file_mode(options)
}

/// Makes `builder` create folders only their owner can enter (0700 on Unix); on Windows as
/// [`private_file_mode`].
pub fn private_dir_mode(builder: &mut std::fs::DirBuilder) -> &mut std::fs::DirBuilder {
    os::private_dir_mode(builder)
}

/// Sets a file's or folder's Unix permission bits (e.g. 0o700) on one that exists already. Does
/// nothing on Windows, which has no such bits (see [`private_file_mode`]).
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    os::set_mode(path, mode)
}

/// A file's Unix permission bits (`mode & 0o777`), for tests that check files are private. An
/// `Unsupported` error on Windows, which has no such bits: those tests are Unix tests.
pub fn mode_of(path: &Path) -> io::Result<u32> {
    os::mode_of(path)
}

/// Where the system keeps a user's application data when it has a convention of its own
/// (macOS: `~/Library/Application Support`; Windows: `%LOCALAPPDATA%`). `None` on other Unix
/// systems, where the XDG rules apply. `env` reads an environment variable (empty counts as unset).
pub fn os_data_dir(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    os::os_data_dir(env)
}

/// Whether `path` is a Unix domain socket (a Docker daemon's endpoint). Never on Windows.
pub fn is_socket(path: &Path) -> bool {
    os::is_socket(path)
}

/// The exit code a shell would report for a child that ended with `status`: its own code, or
/// 128 + the signal's number when a signal killed it (Unix).
pub fn shell_exit_code(status: ExitStatus) -> i32 {
    os::shell_exit_code(status)
}

/// Starts `command` in a process group of its own, so a Ctrl-C in the terminal that launched it
/// does not reach it (Dockhand's detached helpers outlive the command that spawned them).
pub fn own_process_group(command: &mut Command) -> &mut Command {
    os::own_process_group(command)
}

/// Has `command` end (SIGTERM) when this process dies, however it dies — a `dockhand run`
/// killed with -9 takes its command with it (Linux; elsewhere nothing, and said where it
/// matters).
pub fn ends_with_this_process(
    command: &mut tokio::process::Command,
) -> &mut tokio::process::Command {
    os::ends_with_this_process(command)
}

/// Listens on a Unix socket at `path` until the returned value is dropped, for tests of socket
/// discovery. `Unsupported` on Windows, whose Docker has no socket files to discover.
#[cfg(test)]
pub(crate) fn listen_on_socket(path: &Path) -> io::Result<Box<dyn std::any::Any>> {
    os::listen_on_socket(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock_file(path: &Path) -> File {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap()
    }

    #[test]
    fn a_second_lock_waits_for_the_first_to_be_dropped() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("x.lock");
        let first = FileLock::try_acquire(lock_file(&path)).unwrap().held();
        assert!(first.is_some(), "a free lock must be taken");
        // Another open file of the same path: what another process would hold.
        assert!(
            FileLock::try_acquire(lock_file(&path))
                .unwrap()
                .held()
                .is_none(),
            "a held lock must not be taken twice"
        );
        drop(first);
        let again = FileLock::try_acquire(lock_file(&path)).unwrap().held();
        assert!(again.is_some(), "a dropped lock must be free again");
        drop(again);
        // The blocking form takes a free lock at once.
        let blocking = FileLock::acquire(lock_file(&path)).unwrap();
        assert!(FileLock::try_acquire(lock_file(&path))
            .unwrap()
            .held()
            .is_none());
        drop(blocking);
    }

    #[test]
    fn a_blocking_lock_is_granted_when_the_holder_lets_go() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("x.lock");
        let held = FileLock::acquire(lock_file(&path)).unwrap();
        let p = path.clone();
        let waiter = std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let _l = FileLock::acquire(lock_file(&p)).unwrap();
            started.elapsed()
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(held);
        let waited = waiter.join().unwrap();
        assert!(
            waited >= std::time::Duration::from_millis(250),
            "the second lock was granted while the first was held ({waited:?})"
        );
    }

    #[test]
    fn our_own_process_exists_and_an_exited_child_does_not() {
        assert!(process_exists(std::process::id()));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("--list")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(process_exists(pid), "a running child exists");
        child.wait().unwrap();
        // Windows answers "exists" for every PID, by design (see windows.rs).
        assert_eq!(
            process_exists(pid),
            cfg!(windows),
            "a reaped child no longer exists"
        );
    }

    #[test]
    fn start_time_is_stable_for_a_process_and_known_on_linux() {
        let pid = std::process::id();
        assert_eq!(process_start_time(pid), process_start_time(pid));
        if cfg!(target_os = "linux") {
            assert!(process_start_time(pid).is_some(), "no /proc start time");
        }
        assert_eq!(process_start_time(u32::MAX), None);
    }

    #[test]
    fn private_files_and_folders_are_owner_only_on_unix() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("secret");
        private_file_mode(std::fs::OpenOptions::new().write(true).create_new(true))
            .open(&file)
            .unwrap();
        let dir = t.path().join("a/b");
        private_dir_mode(std::fs::DirBuilder::new().recursive(true))
            .create(&dir)
            .unwrap();
        let open = t.path().join("open");
        std::fs::write(&open, b"x").unwrap();
        set_mode(&open, 0o640).unwrap();
        if cfg!(unix) {
            assert_eq!(mode_of(&file).unwrap(), 0o600);
            assert_eq!(mode_of(&dir).unwrap(), 0o700);
            assert_eq!(mode_of(&open).unwrap(), 0o640);
        } else {
            let e = mode_of(&file).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::Unsupported);
        }
    }

    #[test]
    fn the_data_folder_follows_the_system_convention() {
        let env = |k: &str| match k {
            "HOME" => Some(OsString::from("/h")),
            "LOCALAPPDATA" => Some(OsString::from("C:/Users/u/AppData/Local")),
            _ => None,
        };
        let want = if cfg!(target_os = "macos") {
            Some(PathBuf::from("/h/Library/Application Support"))
        } else if cfg!(windows) {
            Some(PathBuf::from("C:/Users/u/AppData/Local"))
        } else {
            None
        };
        assert_eq!(os_data_dir(env), want);
    }

    #[test]
    fn a_plain_file_is_not_a_socket() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("f");
        std::fs::write(&f, b"x").unwrap();
        assert!(!is_socket(&f));
        assert!(!is_socket(&t.path().join("missing")));
        assert!(!is_socket(t.path()));
    }

    #[test]
    fn exit_codes_read_as_a_shell_would() {
        let ok = Command::new(std::env::current_exe().unwrap())
            .arg("--list")
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(shell_exit_code(ok), 0);
    }
}

/// `program` as the shell would find it: the first executable file of that name in PATH's
/// folders.
pub fn find_program(program: &str) -> Option<PathBuf> {
    on_path(program, std::env::var_os("PATH").as_deref())
}

fn on_path(program: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

#[cfg(test)]
mod find_program_tests {
    use super::*;

    #[test]
    fn finds_an_executable_on_path_only() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("psql"), "not executable").unwrap();
        std::fs::write(b.join("psql"), "#!/bin/sh\n").unwrap();
        set_mode(&b.join("psql"), 0o755).unwrap();
        let path = std::env::join_paths([&a, &b]).unwrap();
        assert_eq!(on_path("psql", Some(&path)), Some(b.join("psql")));
        assert_eq!(on_path("mariadb", Some(&path)), None);
        assert_eq!(on_path("psql", None), None);
    }
}
