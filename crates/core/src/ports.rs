//! Host port choice. A service gets its port once — the kind's default, else the next free one —
//! and keeps it, so its URL never changes. Only 127.0.0.1 is ever published.

use std::net::TcpListener;

use crate::catalog::{Kind, PORT_RANGE};
use crate::error::{CoreError, Result};

/// Whether nothing listens on `port`, on loopback or on all interfaces (a wildcard listener
/// would clash with Docker's loopback binding too).
pub fn host_port_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok() && TcpListener::bind(("0.0.0.0", port)).is_ok()
}

/// Picks the host port for a new service. `taken` are the ports other services of this home
/// hold (running or not); `preferred` is the port the service's data volume last used.
pub fn choose_port(
    kind: Kind,
    explicit: Option<u16>,
    preferred: Option<u16>,
    taken: &[u16],
    is_free: impl Fn(u16) -> bool,
) -> Result<u16> {
    if let Some(p) = explicit {
        if taken.contains(&p) {
            return Err(CoreError::PortInUse {
                port: p,
                by: " by another Dockhand service".into(),
            });
        }
        if !is_free(p) {
            return Err(CoreError::PortInUse {
                port: p,
                by: String::new(),
            });
        }
        return Ok(p);
    }
    if let Some(p) = preferred.filter(|p| !taken.contains(p) && is_free(*p)) {
        return Ok(p);
    }
    let from = kind.spec().default_host_port;
    let to = from.saturating_add(PORT_RANGE);
    (from..=to)
        .find(|p| !taken.contains(p) && is_free(*p))
        .ok_or_else(|| CoreError::NoFreePort {
            kind: kind.to_string(),
            from,
            to,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_then_next_free() {
        let all_free = |_| true;
        assert_eq!(
            choose_port(Kind::Postgres, None, None, &[], all_free).unwrap(),
            5432
        );
        assert_eq!(
            choose_port(Kind::Postgres, None, None, &[5432, 5433], all_free).unwrap(),
            5434
        );
        assert_eq!(
            choose_port(Kind::Redis, None, None, &[], |p| p != 6379).unwrap(),
            6380
        );
        assert_eq!(
            choose_port(Kind::Redis, None, Some(6390), &[], all_free).unwrap(),
            6390
        );
    }

    #[test]
    fn an_explicit_port_is_never_moved() {
        let e = choose_port(Kind::Postgres, Some(5500), None, &[], |p| p != 5500).unwrap_err();
        assert!(matches!(e, CoreError::PortInUse { port: 5500, .. }), "{e}");
        let e = choose_port(Kind::Postgres, Some(5500), None, &[5500], |_| true).unwrap_err();
        assert!(e.to_string().contains("another Dockhand service"), "{e}");
    }

    #[test]
    fn says_when_the_range_is_exhausted() {
        let e = choose_port(Kind::Mongo, None, None, &[], |_| false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("27017..=27117") && e.contains("--port"), "{e}");
    }

    #[test]
    fn sees_a_real_listener() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(!host_port_free(port));
        drop(l);
        assert!(host_port_free(port));
    }
}
