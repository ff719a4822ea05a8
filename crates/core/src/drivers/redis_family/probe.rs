//! The readiness probe: `AUTH` and `PING` pipelined in one write, one round trip, and the two
//! one-line replies read back. Provisioning uses the `redis` crate; the probe stays this small
//! because it runs in the tight loop that `up` is measured by (the crate's handshake is a round
//! trip of its own before the PING, plus a connection task).

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::drivers::{io_error, ProbeError, ProbeTarget};

pub(crate) async fn probe(t: &ProbeTarget) -> Result<(), ProbeError> {
    let stream = TcpStream::connect((t.host.as_str(), t.port))
        .await
        .map_err(io_error)?;
    let mut s = BufReader::new(stream);
    let mut req = resp_command(&["AUTH", &t.password]);
    req.extend(resp_command(&["PING"]));
    s.get_mut().write_all(&req).await.map_err(io_error)?;
    match read_line(&mut s).await?.as_str() {
        "+OK" => {}
        l if l.starts_with("-WRONGPASS") || l.starts_with("-ERR invalid password") => {
            return Err(ProbeError::Auth(l[1..].to_string()))
        }
        l if l.starts_with("-LOADING") => return Err(ProbeError::Starting(l[1..].to_string())),
        l => return Err(ProbeError::Protocol(l.to_string())),
    }
    match read_line(&mut s).await?.as_str() {
        "+PONG" => Ok(()),
        // Redis answers LOADING while it reads its data set back in.
        l if l.starts_with("-LOADING") => Err(ProbeError::Starting(l[1..].to_string())),
        // A script has run past `busy-reply-threshold`: the server answers nothing else.
        l if l.starts_with("-BUSY") => Err(ProbeError::Busy(l[1..].to_string())),
        l => Err(ProbeError::Protocol(l.to_string())),
    }
}

/// A Redis command in RESP, binary-safe.
fn resp_command<S: AsRef<[u8]>>(args: &[S]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend(format!("${}\r\n", a.len()).into_bytes());
        out.extend(a);
        out.extend(b"\r\n");
    }
    out
}

async fn read_line(s: &mut BufReader<TcpStream>) -> Result<String, ProbeError> {
    let mut line = String::new();
    let n = s.read_line(&mut line).await.map_err(io_error)?;
    if n == 0 {
        return Err(ProbeError::Closed);
    }
    Ok(line.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_binary_safe_commands() {
        assert_eq!(
            resp_command(&["AUTH", "p w"]),
            b"*2\r\n$4\r\nAUTH\r\n$3\r\np w\r\n"
        );
    }
}
