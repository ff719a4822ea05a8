//! How the tray process hears the others: a second launch of the app ("show the window") and
//! the window's answer to Quit. One line asks, one line answers, over a Unix socket in
//! Dockhand's home — only its owner can reach it, and each home has its own tray.

use std::io;
use std::path::{Path, PathBuf};

/// What the tray process is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Open the window (or bring it forward), on a view if given.
    Show(Option<String>),
    /// End the app, stopping the services first if asked (the window's Quit answer).
    Quit { stop_services: bool },
}

impl Request {
    pub fn line(&self) -> String {
        match self {
            Request::Show(None) => "show".into(),
            Request::Show(Some(v)) => format!("show {v}"),
            Request::Quit { stop_services } => {
                format!("quit {}", if *stop_services { "stop" } else { "keep" })
            }
        }
    }

    pub fn parse(line: &str) -> Option<Request> {
        let line = line.trim_end_matches(['\r', '\n']);
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        match (verb, rest) {
            ("show", "") => Some(Request::Show(None)),
            ("show", v) => Some(Request::Show(Some(v.to_string()))),
            ("quit", "stop") => Some(Request::Quit {
                stop_services: true,
            }),
            ("quit", "keep") => Some(Request::Quit {
                stop_services: false,
            }),
            _ => None,
        }
    }
}

/// Where the home's tray process listens.
pub fn socket_path(home: &Path) -> PathBuf {
    home.join("tray.sock")
}

/// The file the running tray process holds locked (one tray per home).
pub fn lock_path(home: &Path) -> PathBuf {
    home.join("tray.lock")
}

/// Asks the home's tray process. `Ok(false)`: no tray process listens there.
#[cfg(unix)]
pub fn send(home: &Path, req: &Request) -> io::Result<bool> {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixStream;
    let mut s = match UnixStream::connect(socket_path(home)) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(false)
        }
        Err(e) => return Err(e),
    };
    let deadline = Some(std::time::Duration::from_secs(5));
    s.set_read_timeout(deadline)?;
    s.set_write_timeout(deadline)?;
    s.write_all(format!("{}\n", req.line()).as_bytes())?;
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer)?;
    Ok(answer.trim() == "ok")
}

#[cfg(not(unix))]
pub fn send(_home: &Path, _req: &Request) -> io::Result<bool> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_back_as_written() {
        for r in [
            Request::Show(None),
            Request::Show(Some("new:postgres:16".into())),
            Request::Quit {
                stop_services: true,
            },
            Request::Quit {
                stop_services: false,
            },
        ] {
            assert_eq!(Request::parse(&format!("{}\n", r.line())), Some(r));
        }
        assert_eq!(Request::parse("quit maybe"), None);
        assert_eq!(Request::parse("rm -rf"), None);
    }

    #[test]
    fn nobody_listening_is_no_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!send(dir.path(), &Request::Show(None)).unwrap());
    }
}
