//! macOS: no `/proc`; `lsof` ships with the system and answers with `-F` fields
//! (`p<pid>` and `c<command>` lines).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::PortHolder;

/// `lsof` can stall on a network file system; the answer only decorates a message.
const LSOF_LIMIT: Duration = Duration::from_secs(3);

pub(super) fn port_holder(port: u16) -> Option<PortHolder> {
    let mut child = Command::new("lsof")
        .args(["-nP", &format!("-iTCP:{port}"), "-sTCP:LISTEN", "-Fpc"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| tracing::debug!("lsof: {e}"))
        .ok()?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < LSOF_LIMIT => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => {
                tracing::debug!("lsof did not answer within {LSOF_LIMIT:?}");
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut()?, &mut out).ok()?;
    parse(&out)
}

/// The first process of `lsof -F pc` output.
fn parse(out: &str) -> Option<PortHolder> {
    let mut pid = None;
    for line in out.lines() {
        if let Some(p) = line.strip_prefix('p') {
            pid = p.parse().ok();
        } else if let (Some(c), Some(pid)) = (line.strip_prefix('c'), pid) {
            return Some(PortHolder {
                pid,
                program: c.to_string(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_lsof_fields() {
        let h = super::parse("p1234\ncpostgres\nf7\n").unwrap();
        assert_eq!((h.pid, h.program.as_str()), (1234, "postgres"));
        assert_eq!(super::parse(""), None);
    }
}
