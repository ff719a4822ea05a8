//! Which API version the engine speaks, read from the `Api-Version` header of `/_ping`.
//!
//! bollard's own negotiation asks `/version`, which Podman answers by gathering the host's
//! information (running `conmon --version`, `runc --version`, …): about 0.6 s on its own and
//! over 5 s with fifty `dockhand run` starting at once, against 40 ms for `/_ping`. Docker answers
//! both at once and sends the same header. Every Dockhand command connects, so this is paid on
//! each one.

use bollard::ClientVersion;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use super::Endpoint;

/// The engine's API version, `None` when its `/_ping` does not say (then `/version` is asked).
pub(super) async fn from_ping(endpoint: &Endpoint) -> Result<Option<ClientVersion>, String> {
    let header = match endpoint {
        Endpoint::Unix(path) => {
            let stream = tokio::net::UnixStream::connect(path)
                .await
                .map_err(|e| e.to_string())?;
            ping_header(stream).await?
        }
        Endpoint::Tcp(host) => {
            let addr = host
                .trim_start_matches("tcp://")
                .trim_start_matches("http://")
                .trim_end_matches('/');
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| e.to_string())?;
            ping_header(stream).await?
        }
    };
    Ok(header.as_deref().and_then(parse))
}

async fn ping_header<S>(stream: S) -> Result<Option<String>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    // The connection is driven until the response is in; dropped with this task after.
    let driver = tokio::spawn(connection);
    let request = hyper::Request::get("/_ping")
        .header(hyper::header::HOST, "docker")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string());
    driver.abort();
    let response = response?;
    Ok(response
        .headers()
        .get("api-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string))
}

/// `1.41` → 1.41; anything else → `None`.
fn parse(v: &str) -> Option<ClientVersion> {
    let (major, minor) = v.trim().split_once('.')?;
    Some(ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

/// The version to speak: the engine's, or bollard's own when the engine is newer.
pub(super) fn to_speak(engine: ClientVersion) -> ClientVersion {
    let ours = *bollard::API_DEFAULT_VERSION;
    if (engine.major_version, engine.minor_version) < (ours.major_version, ours.minor_version) {
        engine
    } else {
        ours
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_header_and_never_speaks_above_bollard() {
        let v = parse("1.41").unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        assert!(parse("").is_none() && parse("1").is_none() && parse("a.b").is_none());
        let old = to_speak(v);
        assert_eq!((old.major_version, old.minor_version), (1, 41));
        let newer = to_speak(parse("9.99").unwrap());
        assert_eq!(newer, *bollard::API_DEFAULT_VERSION);
    }
}
