//! Which process listens on a TCP port, so a "port taken" message can name it.
//!
//! | system | how |
//! | --- | --- |
//! | Linux | the LISTEN socket's inode in `/proc/net/tcp{,6}`, then the process whose `/proc/<pid>/fd` links to it |
//! | macOS | `lsof -nP -iTCP:<port> -sTCP:LISTEN -Fpc`, bounded by a deadline |
//! | Windows | not looked up yet (`None`): `GetExtendedTcpTable` needs FFI this crate does not carry |
//!
//! An answer is best effort: a process of another user (or root's `docker-proxy`) cannot be
//! looked into without privileges, and then there is no answer rather than an error.

use serde::Serialize;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as os;

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod os {
    /// Windows (and other systems): not looked up yet; callers say "a process Dockhand cannot
    /// see" instead.
    pub(super) fn port_holder(_port: u16) -> Option<super::PortHolder> {
        None
    }
}

/// The process listening on a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortHolder {
    pub pid: u32,
    /// Its program name as the system lists it (`postgres`, `docker-proxy`, …).
    pub program: String,
}

/// The process that listens on `port` (any local address, IPv4 or IPv6), when this user may see
/// it. Blocking: reads `/proc` or runs `lsof` (bounded by a 3 s deadline).
pub fn port_holder(port: u16) -> Option<PortHolder> {
    os::port_holder(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_our_own_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let found = port_holder(port);
        if cfg!(any(target_os = "linux", target_os = "macos")) {
            let h = found.expect("our own listener was not found");
            assert_eq!(h.pid, std::process::id());
            assert!(!h.program.is_empty());
        } else {
            assert_eq!(found, None);
        }
        drop(l);
        assert_eq!(
            port_holder(port),
            None,
            "a closed listener still has a holder"
        );
    }
}
