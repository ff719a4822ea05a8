use std::time::Duration;

use tokio_postgres::error::SqlState;

use crate::drivers::{ProbeError, ProbeTarget};

pub(crate) async fn probe(t: &ProbeTarget, limit: Duration) -> Result<(), ProbeError> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&t.host)
        .port(t.port)
        .user(&t.user)
        .password(&t.password)
        .dbname("postgres")
        .options(super::session::PINNED_SEARCH_PATH)
        .application_name("dockhand-probe")
        .connect_timeout(limit);
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.map_err(classify)?;
    let driver = tokio::spawn(conn);
    let r = client.simple_query("SELECT 1").await.map_err(classify);
    drop(client);
    driver.abort();
    r.map(|_| ())
}

fn classify(e: tokio_postgres::Error) -> ProbeError {
    if let Some(db) = e.as_db_error() {
        let c = db.code();
        return if *c == SqlState::INVALID_PASSWORD
            || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            ProbeError::Auth(db.message().to_string())
        } else if *c == SqlState::CANNOT_CONNECT_NOW {
            ProbeError::Starting(db.message().to_string())
        } else {
            ProbeError::Protocol(db.message().to_string())
        };
    }
    if e.is_closed() {
        return ProbeError::Closed;
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return crate::drivers::io_error(std::io::Error::new(io.kind(), io.to_string()));
        }
        src = s.source();
    }
    // tokio-postgres reports a server that hangs up mid-handshake as "unexpected EOF".
    let text = e.to_string();
    if text.contains("unexpected EOF") || text.contains("closed") {
        ProbeError::Closed
    } else {
        ProbeError::Connect(text)
    }
}
