//! Unix (Linux, macOS): permission bits, `kill(pid, 0)`, `/proc`, process groups and signals.

use std::ffi::OsString;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

pub(super) fn process_exists(pid: u32) -> bool {
    // A PID that does not fit a pid_t, or 0 (which `kill` reads as "my process group"), names no
    // single process.
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    // Signal 0 checks only existence and permission: EPERM means it exists but is not ours.
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

#[cfg(target_os = "linux")]
pub(super) fn process_start_time(pid: u32) -> Option<String> {
    // Field 22 of /proc/<pid>/stat: clock ticks since boot when the process started.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2 (comm) may contain spaces and parentheses: fields after it follow the last ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(19).map(str::to_string)
}

/// macOS has no /proc; its `proc_pidinfo` needs unsafe FFI for one number. Without it a PID that
/// exists counts as the recorded holder, so a reused PID keeps a lease until it ends too.
#[cfg(not(target_os = "linux"))]
pub(super) fn process_start_time(_pid: u32) -> Option<String> {
    None
}

pub(super) fn private_file_mode(o: &mut std::fs::OpenOptions) -> &mut std::fs::OpenOptions {
    o.mode(0o600)
}

pub(super) fn private_dir_mode(b: &mut std::fs::DirBuilder) -> &mut std::fs::DirBuilder {
    b.mode(0o700)
}

pub(super) fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

pub(super) fn mode_of(path: &Path) -> io::Result<u32> {
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

pub(super) fn is_socket(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.file_type().is_socket())
        .unwrap_or(false)
}

#[cfg(target_os = "macos")]
pub(super) fn os_data_dir(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    env("HOME").map(|h| PathBuf::from(h).join("Library/Application Support"))
}

#[cfg(not(target_os = "macos"))]
pub(super) fn os_data_dir(_env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    None
}

#[cfg(test)]
pub(super) fn listen_on_socket(path: &Path) -> io::Result<Box<dyn std::any::Any>> {
    Ok(Box::new(std::os::unix::net::UnixListener::bind(path)?))
}

pub(super) fn shell_exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

pub(super) fn own_process_group(command: &mut Command) -> &mut Command {
    command.process_group(0)
}

#[cfg(target_os = "linux")]
pub(super) fn ends_with_this_process(
    command: &mut tokio::process::Command,
) -> &mut tokio::process::Command {
    let parent = rustix::process::getpid();
    // SAFETY: the closure runs in the child between fork and exec, and only makes two system
    // calls (prctl, getppid), both async-signal-safe; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM))?;
            // The parent died before the signal was asked for: end now, as it would have.
            if rustix::process::getppid() != Some(parent) {
                return Err(std::io::Error::other(
                    "the process that ran this command is gone",
                ));
            }
            Ok(())
        })
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn ends_with_this_process(
    command: &mut tokio::process::Command,
) -> &mut tokio::process::Command {
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_unix_socket_is_a_socket() {
        let t = tempfile::tempdir().unwrap();
        let sock = t.path().join("d.sock");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert!(is_socket(&sock));
    }

    #[test]
    fn a_child_killed_by_a_signal_exits_128_plus_its_number() {
        let status = Command::new("sh")
            .args(["-c", "kill -9 $$"])
            .status()
            .unwrap();
        assert_eq!(shell_exit_code(status), 128 + 9);
        let status = Command::new("sh").args(["-c", "exit 3"]).status().unwrap();
        assert_eq!(shell_exit_code(status), 3);
    }

    #[test]
    fn init_exists_though_we_may_not_signal_it() {
        // PID 1 belongs to root: kill(1, 0) answers EPERM for others, which still means "exists".
        assert!(process_exists(1));
        assert!(!process_exists(0));
        assert!(!process_exists(u32::MAX));
    }
}
