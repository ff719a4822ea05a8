//! One TDS session with `tiberius` (rustls; the image's certificate is self-signed, so it is
//! trusted as is: the connection goes to 127.0.0.1 through Docker's published port), and the
//! readiness probe built on it.

use std::time::Duration;

use tiberius::{AuthMethod, Client, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use crate::drivers::{ProbeError, ProbeTarget};

pub(crate) type Session = Client<Compat<TcpStream>>;

/// "Login failed for user": a wrong password, a disabled login, or (for a few seconds of a
/// first start) a server still setting the sa password up (state 7 in its log).
const LOGIN_FAILED: u32 = 18456;
/// "Login failed … Server is in script upgrade mode": the server runs its upgrade scripts.
const SCRIPT_UPGRADE: u32 = 18401;
/// A login failure is reported only after this pause, so that the three in a row that end a
/// start's wait span seconds rather than milliseconds (the state-7 window of a first start).
const LOGIN_FAILED_PAUSE: Duration = Duration::from_millis(1500);

pub(crate) fn config(
    host: &str,
    port: u16,
    user: &str,
    password: &str,
    database: Option<&str>,
) -> Config {
    let mut c = Config::new();
    c.host(host);
    c.port(port);
    c.authentication(AuthMethod::sql_server(user, password));
    c.encryption(EncryptionLevel::Required);
    c.trust_cert();
    c.application_name("dockhand");
    if let Some(db) = database {
        c.database(db);
    }
    c
}

/// Opens a session; a failure is classified as the probe reports it.
pub(crate) async fn connect(config: Config) -> Result<Session, ProbeError> {
    let tcp = TcpStream::connect(config.get_addr())
        .await
        .map_err(crate::drivers::io_error)?;
    let _ = tcp.set_nodelay(true);
    Client::connect(config, tcp.compat_write())
        .await
        .map_err(classify)
}

/// Readiness: log in as the admin and run `SELECT 1`, which must answer 1.
pub(crate) async fn probe(t: &ProbeTarget, limit: Duration) -> Result<(), ProbeError> {
    let started = tokio::time::Instant::now();
    let result = async {
        let mut s = connect(config(&t.host, t.port, &t.user, &t.password, None)).await?;
        let row = s
            .simple_query("SELECT 1")
            .await
            .map_err(classify)?
            .into_row()
            .await
            .map_err(classify)?;
        let one = row.and_then(|r| r.try_get::<i32, _>(0).ok().flatten());
        let _ = s.close().await;
        match one {
            Some(1) => Ok(()),
            other => Err(ProbeError::Protocol(format!("SELECT 1 answered {other:?}"))),
        }
    }
    .await;
    if matches!(result, Err(ProbeError::Auth(_))) {
        let left = limit.saturating_sub(started.elapsed() + Duration::from_millis(100));
        tokio::time::sleep(LOGIN_FAILED_PAUSE.min(left)).await;
    }
    result
}

/// Tells apart what waiting fixes (nothing listens yet, the server closes the connection,
/// upgrade scripts) from what it does not (a failed login) and from a server that does not
/// speak TDS as expected.
pub(crate) fn classify(e: tiberius::error::Error) -> ProbeError {
    use tiberius::error::{Error, IoErrorKind};
    match e {
        Error::Server(t) => classify_server(t.code(), t.message()),
        Error::Io { kind, message } => match kind {
            IoErrorKind::UnexpectedEof
            | IoErrorKind::ConnectionReset
            | IoErrorKind::ConnectionAborted
            | IoErrorKind::BrokenPipe => ProbeError::Closed,
            IoErrorKind::ConnectionRefused
            | IoErrorKind::TimedOut
            | IoErrorKind::AddrNotAvailable
            | IoErrorKind::NotConnected
            | IoErrorKind::HostUnreachable
            | IoErrorKind::NetworkUnreachable => ProbeError::Connect(message),
            // Bytes that are not TDS ("bytes remaining on stream", invalid data): something
            // else answers on the port.
            _ => ProbeError::Protocol(format!("not a TDS answer ({message})")),
        },
        Error::Tls(m) => ProbeError::Protocol(format!("TLS: {m}")),
        Error::Routing { host, port } => {
            ProbeError::Protocol(format!("the server redirects to {host}:{port}"))
        }
        other => ProbeError::Protocol(other.to_string()),
    }
}

/// An error the server itself sent, by its number.
fn classify_server(code: u32, message: &str) -> ProbeError {
    match code {
        LOGIN_FAILED => ProbeError::Auth(message.to_string()),
        SCRIPT_UPGRADE => ProbeError::Starting(message.to_string()),
        _ => ProbeError::Starting(format!("error {code}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiberius::error::{Error, IoErrorKind};

    fn server(code: u32, message: &str) -> ProbeError {
        classify_server(code, message)
    }

    #[test]
    fn a_failed_login_is_not_a_server_still_starting() {
        let e = server(18456, "Login failed for user 'sa'.");
        assert_eq!(e, ProbeError::Auth("Login failed for user 'sa'.".into()));
        assert!(e.is_permanent());
        let e = server(
            18401,
            "Login failed for user 'sa'. Reason: Server is in script upgrade mode.",
        );
        assert!(
            matches!(e, ProbeError::Starting(_)) && !e.is_permanent(),
            "{e:?}"
        );
        let e = server(4060, "Cannot open database");
        assert!(
            matches!(&e, ProbeError::Starting(m) if m.contains("4060")),
            "{e:?}"
        );
    }

    #[test]
    fn nothing_listening_a_closed_connection_and_a_stranger_are_told_apart() {
        let refused = Error::Io {
            kind: IoErrorKind::ConnectionRefused,
            message: "Connection refused (os error 111)".into(),
        };
        assert!(matches!(classify(refused), ProbeError::Connect(m) if m.contains("refused")));
        let eof = Error::Io {
            kind: IoErrorKind::UnexpectedEof,
            message: "eof".into(),
        };
        assert_eq!(classify(eof), ProbeError::Closed);
        let proto = classify(Error::Protocol("invalid token 0x48".into()));
        assert!(
            matches!(&proto, ProbeError::Protocol(m) if m.contains("0x48")),
            "{proto:?}"
        );
        assert!(
            matches!(classify(Error::Tls("bad record".into())), ProbeError::Protocol(m) if m.starts_with("TLS"))
        );
    }

    /// Against things that are not SQL Server: a port nobody listens on, one that hangs up
    /// (docker-proxy with nothing behind it), one that answers HTTP. Each gives its own reason,
    /// within the deadline.
    #[tokio::test]
    async fn probes_against_non_servers_fail_with_their_reason() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let limit = Duration::from_secs(5);
        let target = |port| ProbeTarget {
            host: "127.0.0.1".into(),
            port,
            user: "sa".into(),
            password: "x".into(),
        };
        // Nothing listens: bind, learn the port, close.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = crate::probe::probe(crate::catalog::Kind::Mssql, &target(port), limit)
            .await
            .unwrap_err();
        assert!(matches!(e, ProbeError::Connect(_)), "{e:?}");

        let hang_up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = hang_up.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (c, _) = hang_up.accept().await.unwrap();
            drop(c);
        });
        let e = crate::probe::probe(crate::catalog::Kind::Mssql, &target(port), limit)
            .await
            .unwrap_err();
        assert_eq!(e, ProbeError::Closed);

        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = http.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut c, _) = http.accept().await.unwrap();
            let mut buf = [0u8; 512];
            let _ = c.read(&mut buf).await;
            let _ = c
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        });
        let e = crate::probe::probe(crate::catalog::Kind::Mssql, &target(port), limit)
            .await
            .unwrap_err();
        assert!(
            matches!(e, ProbeError::Protocol(_)),
            "an HTTP answer must be told apart from SQL Server: {e:?}"
        );
    }
}
