use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::probe::{io_error, ProbeError, ProbeTarget};

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

/// One reply, as much of RESP2 as Dockhand's admin commands get back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

impl Reply {
    pub(crate) fn is_ok(&self) -> bool {
        matches!(self, Reply::Simple(s) if s == "OK")
    }

    pub(crate) fn text(&self) -> String {
        match self {
            Reply::Simple(s) | Reply::Error(s) => s.clone(),
            Reply::Int(i) => i.to_string(),
            Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            Reply::Bulk(None) => "(nil)".into(),
            Reply::Array(a) => format!("{} elements", a.len()),
        }
    }
}

/// A plain connection for administrative round trips (callers bound them with a timeout).
pub(crate) struct Conn(BufReader<TcpStream>);

impl Conn {
    /// Connects and authenticates (`user` None: the default user, i.e. the admin).
    pub(crate) async fn open(
        host: &str,
        port: u16,
        user: Option<&str>,
        password: &str,
    ) -> std::io::Result<(Conn, Reply)> {
        let stream = TcpStream::connect((host, port)).await?;
        let mut c = Conn(BufReader::new(stream));
        let auth = match user {
            Some(u) => c.call(&["AUTH", u, password]).await?,
            None => c.call(&["AUTH", password]).await?,
        };
        Ok((c, auth))
    }

    pub(crate) async fn call<S: AsRef<[u8]>>(&mut self, args: &[S]) -> std::io::Result<Reply> {
        self.0.get_mut().write_all(&resp_command(args)).await?;
        self.read().await
    }

    fn read(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Reply>> + Send + '_>>
    {
        Box::pin(async move {
            let mut line = String::new();
            if self.0.read_line(&mut line).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let line = line.trim_end_matches(['\r', '\n']);
            let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, line.to_string());
            let (tag, rest) = line.split_at(line.len().min(1));
            Ok(match tag {
                "+" => Reply::Simple(rest.into()),
                "-" => Reply::Error(rest.into()),
                ":" => Reply::Int(rest.parse().map_err(|_| bad())?),
                "$" => {
                    let n: i64 = rest.parse().map_err(|_| bad())?;
                    if n < 0 {
                        Reply::Bulk(None)
                    } else {
                        let mut buf = vec![0; n as usize + 2];
                        self.0.read_exact(&mut buf).await?;
                        buf.truncate(n as usize);
                        Reply::Bulk(Some(buf))
                    }
                }
                "*" => {
                    let n: i64 = rest.parse().map_err(|_| bad())?;
                    let mut items = Vec::new();
                    for _ in 0..n.max(0) {
                        items.push(self.read().await?);
                    }
                    Reply::Array(items)
                }
                _ => return Err(bad()),
            })
        })
    }
}

/// A Redis command in RESP, binary-safe (also used to provision ACL users).
pub(crate) fn resp_command<S: AsRef<[u8]>>(args: &[S]) -> Vec<u8> {
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
