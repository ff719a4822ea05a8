//! The log both shells write, filtered by `DOCKHAND_LOG` (default `warn`).
//!
//! Client libraries log what they send at debug level: the Docker client whole API requests (a
//! tool's environment, with the passwords Dockhand hands it), the database clients their
//! statements (MariaDB's `IDENTIFIED BY` carries a password). They are held at `info` whatever
//! `DOCKHAND_LOG` asks for, so that turning debugging on never writes a secret to a log.

use tracing_subscriber::EnvFilter;

/// Targets whose debug output carries secrets.
const QUIET: &[&str] = &[
    "bollard",
    "hyper",
    "mysql_async",
    "tokio_postgres",
    "redis",
    "tiberius",
];

/// The filter: `DOCKHAND_LOG`, then [`QUIET`] held at `info`.
pub fn filter() -> EnvFilter {
    let mut f = EnvFilter::try_from_env("DOCKHAND_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    for target in QUIET {
        f = f.add_directive(format!("{target}=info").parse().expect("a valid directive"));
    }
    f
}

/// Starts the log on stderr.
pub fn init() {
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        // Colours for a terminal only: a log read from a file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

#[cfg(test)]
mod tests {
    #[test]
    fn debugging_never_turns_on_the_clients_request_logs() {
        // No other test reads DOCKHAND_LOG.
        let f = {
            std::env::set_var("DOCKHAND_LOG", "debug,bollard=trace");
            let f = super::filter();
            std::env::remove_var("DOCKHAND_LOG");
            f
        };
        let text = f.to_string();
        assert!(text.contains("bollard=info"), "{text}");
        assert!(!text.contains("bollard=trace"), "{text}");
    }
}
