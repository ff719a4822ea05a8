//! Linux: `/proc/net/tcp` and `/proc/net/tcp6` list every socket of this network namespace with
//! its inode; a process's open sockets are `/proc/<pid>/fd/*` links to `socket:[<inode>]`.

use std::collections::HashSet;
use std::path::Path;

use super::PortHolder;

/// The `st` column of a socket in LISTEN state.
const LISTEN: &str = "0A";

pub(super) fn port_holder(port: u16) -> Option<PortHolder> {
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            inodes.extend(listening_inodes(&text, port));
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let targets: HashSet<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    // Our own process first: the cheapest look and, in tests, the likely holder.
    let own = std::process::id();
    std::iter::once(own)
        .chain(pids().filter(|p| *p != own))
        .find(|pid| holds_socket(*pid, &targets))
        .map(|pid| PortHolder {
            pid,
            program: std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .map(|s| s.trim_end().to_string())
                .unwrap_or_default(),
        })
}

/// The inodes of sockets listening on `port` in one `/proc/net/tcp*` table.
fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            let local = f.get(1)?;
            let state = f.get(3)?;
            let inode: u64 = f.get(9)?.parse().ok()?;
            let p = u16::from_str_radix(local.rsplit_once(':')?.1, 16).ok()?;
            (p == port && *state == LISTEN && inode != 0).then_some(inode)
        })
        .collect()
}

fn pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
}

/// Whether a process has one of `targets` open. A process we may not look into (another
/// user's) or one that just ended holds nothing, as far as we can tell.
fn holds_socket(pid: u32, targets: &HashSet<String>) -> bool {
    let Ok(fds) = std::fs::read_dir(Path::new("/proc").join(pid.to_string()).join("fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .ok()
            .and_then(|t| t.to_str().map(|s| targets.contains(s)))
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_listening_sockets_of_a_port_only() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0\n\
   1: 0100007F:1538 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0 20 4 30 10 -1\n\
   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0 100 0 0 10 0\n";
        assert_eq!(listening_inodes(table, 5432), vec![4242]);
        assert_eq!(listening_inodes(table, 8080), vec![99]);
        assert!(listening_inodes(table, 6379).is_empty());
        // IPv6 addresses are longer; the port still follows the last colon.
        let v6 = "header\n 0: 00000000000000000000000001000000:18EB 00000000000000000000000000000000:0000 0A 0:0 0:0 0 1000 0 777 1\n";
        assert_eq!(listening_inodes(v6, 6379), vec![777]);
    }
}
