//! MariaDB and MySQL share the wire protocol; mysql_async handles both `mysql_native_password`
//! and MySQL 8's `caching_sha2_password` (including its first-connection full authentication).

use mysql_async::prelude::Queryable;

use crate::drivers::{ProbeError, ProbeTarget};

/// MySQL's "Access denied for user".
const ER_ACCESS_DENIED: u16 = 1045;

pub(crate) async fn probe(t: &ProbeTarget) -> Result<(), ProbeError> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(t.host.clone())
        .tcp_port(t.port)
        .user(Some(t.user.clone()))
        .pass(Some(t.password.clone()))
        .prefer_socket(false);
    let mut conn = mysql_async::Conn::new(opts).await.map_err(classify)?;
    let r = conn.ping().await.map_err(classify);
    let _ = conn.disconnect().await;
    r
}

fn classify(e: mysql_async::Error) -> ProbeError {
    match e {
        mysql_async::Error::Server(s) if s.code == ER_ACCESS_DENIED => ProbeError::Auth(s.message),
        mysql_async::Error::Server(s) => ProbeError::Starting(s.message),
        mysql_async::Error::Io(io) => match io {
            mysql_async::IoError::Io(e) => crate::drivers::io_error(e),
            // TLS errors exist when mysql_async is built with TLS.
            #[allow(unreachable_patterns)]
            other => ProbeError::Connect(other.to_string()),
        },
        mysql_async::Error::Driver(d) => {
            let text = d.to_string();
            if text.contains("closed") {
                ProbeError::Closed
            } else {
                ProbeError::Protocol(text)
            }
        }
        other => ProbeError::Protocol(other.to_string()),
    }
}
