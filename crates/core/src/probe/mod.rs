//! Readiness as a real protocol round trip (each kind's in its driver) from the host through the published port: an
//! authenticated `SELECT 1`, `AUTH`+`PING`, an authenticated MySQL ping, a Mongo `hello`.
//! Never a bare TCP connect: docker-proxy accepts connections before the server listens.

use std::time::Duration;

use crate::catalog::Kind;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("nothing answers on the port yet ({0})")]
    Connect(String),
    #[error("the port accepts connections but the server closes them (still starting?)")]
    Closed,
    #[error("the server is still starting ({0})")]
    Starting(String),
    #[error("authentication failed ({0}) — the data volume was initialised with another admin password than the one Dockhand holds for it")]
    Auth(String),
    /// Redis running a script past its time limit: it answers nothing else (see
    /// `Manager::end_busy_script`).
    #[error("busy: {0}")]
    Busy(String),
    #[error("unexpected reply: {0}")]
    Protocol(String),
    #[error("no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
}

impl ProbeError {
    /// Errors that waiting will not fix.
    pub fn is_permanent(&self) -> bool {
        matches!(self, ProbeError::Auth(_))
    }
}

/// Whether a status detail (a probe error, as text) says the server is busy running a script.
pub fn is_busy(detail: &str) -> bool {
    detail.contains("busy: BUSY")
}

/// Where and as whom to probe.
#[derive(Clone)]
pub struct ProbeTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for ProbeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}:{}", self.user, self.host, self.port)
    }
}

/// One round trip, bounded by `limit`.
pub async fn probe(kind: Kind, target: &ProbeTarget, limit: Duration) -> Result<(), ProbeError> {
    tokio::time::timeout(limit, kind.driver().probe(target, limit))
        .await
        .unwrap_or(Err(ProbeError::Timeout(limit)))
}

pub(crate) fn io_error(e: std::io::Error) -> ProbeError {
    use std::io::ErrorKind::*;
    match e.kind() {
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe => ProbeError::Closed,
        _ => ProbeError::Connect(e.to_string()),
    }
}
