//! Windows: written to build there, not built or tested on Dockhand's Linux machines.

use std::ffi::OsString;
use std::io;
use std::os::windows::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// Conservatively "yes". Asking Windows whether a PID lives (`OpenProcess` +
/// `GetExitCodeProcess`) needs unsafe FFI, and no small maintained crate wraps just that
/// (`sysinfo` would, at the cost of a system-wide process scan). Saying "yes" keeps every lease
/// and in-progress backup file of a crashed process until its lease expires or a person
/// removes it — never stopping a server under a process that is still using it.
pub(super) fn process_exists(_pid: u32) -> bool {
    true
}

/// Not known on Windows: a lease's recorded holder is trusted while its PID exists.
pub(super) fn process_start_time(_pid: u32) -> Option<String> {
    None
}

/// Windows has no mode bits: a new file inherits its folder's ACL, and Dockhand's folders are in
/// the user's profile, which other users cannot read.
pub(super) fn private_file_mode(o: &mut std::fs::OpenOptions) -> &mut std::fs::OpenOptions {
    o
}

pub(super) fn private_dir_mode(b: &mut std::fs::DirBuilder) -> &mut std::fs::DirBuilder {
    b
}

pub(super) fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

pub(super) fn mode_of(_path: &Path) -> io::Result<u32> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "Windows files have no Unix permission bits",
    ))
}

/// Docker Desktop on Windows listens on a named pipe, not a socket file.
pub(super) fn is_socket(_path: &Path) -> bool {
    false
}

pub(super) fn os_data_dir(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    env("LOCALAPPDATA").map(PathBuf::from)
}

#[cfg(test)]
pub(super) fn listen_on_socket(_path: &Path) -> io::Result<Box<dyn std::any::Any>> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "Docker on Windows has no socket files to discover",
    ))
}

/// A Windows process always ends with an exit code (there are no signals).
pub(super) fn shell_exit_code(status: ExitStatus) -> i32 {
    status.code().unwrap_or(1)
}

/// CREATE_NEW_PROCESS_GROUP: a Ctrl-C in the parent's console is not delivered to the child.
const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;

pub(super) fn own_process_group(command: &mut Command) -> &mut Command {
    command.creation_flags(CREATE_NEW_PROCESS_GROUP)
}

pub(super) fn ends_with_this_process(
    command: &mut tokio::process::Command,
) -> &mut tokio::process::Command {
    command
}
