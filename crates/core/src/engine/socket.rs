//! Finding the Docker engine the way the `docker` CLI would: `DOCKER_HOST`, then the current
//! `docker context`, then the sockets that Docker Desktop, Colima, OrbStack, Rancher Desktop,
//! rootless Docker and Podman create.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix://{}", p.display()),
            Endpoint::Tcp(h) => f.write_str(h),
        }
    }
}

/// Where discovery looked, for the error message when nothing was found.
#[derive(Debug)]
pub struct Discovery {
    pub endpoint: Option<Endpoint>,
    pub tried: Vec<String>,
}

pub fn discover_endpoint() -> Discovery {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    discover_with(
        env("DOCKER_HOST"),
        env("DOCKER_CONTEXT"),
        env("HOME").map(PathBuf::from),
        env("XDG_RUNTIME_DIR").map(PathBuf::from),
        env("DOCKER_CONFIG").map(PathBuf::from),
    )
}

fn discover_with(
    docker_host: Option<String>,
    docker_context: Option<String>,
    home: Option<PathBuf>,
    runtime_dir: Option<PathBuf>,
    docker_config: Option<PathBuf>,
) -> Discovery {
    let mut tried = Vec::new();
    if let Some(host) = docker_host {
        tried.push(format!("DOCKER_HOST={host}"));
        return Discovery {
            endpoint: Some(parse_host(&host)),
            tried,
        };
    }
    let config_dir = docker_config.or_else(|| home.as_ref().map(|h| h.join(".docker")));
    if let Some(dir) = &config_dir {
        if let Some(host) = context_host(dir, docker_context.as_deref()) {
            tried.push(format!("docker context ({host})"));
            return Discovery {
                endpoint: Some(parse_host(&host)),
                tried,
            };
        }
    }
    let endpoint = first_socket(
        candidate_sockets(home.as_deref(), runtime_dir.as_deref()),
        &mut tried,
    );
    Discovery { endpoint, tried }
}

/// The first candidate that is a socket; each one looked at is noted in `tried`.
fn first_socket(candidates: Vec<PathBuf>, tried: &mut Vec<String>) -> Option<Endpoint> {
    for c in candidates {
        tried.push(c.display().to_string());
        if is_socket(&c) {
            return Some(Endpoint::Unix(c));
        }
    }
    None
}

/// Well-known sockets, most common first.
fn candidate_sockets(home: Option<&Path>, runtime_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut candidates = vec![PathBuf::from("/var/run/docker.sock")];
    if let Some(h) = home {
        for rel in [
            ".docker/run/docker.sock",
            ".docker/desktop/docker.sock",
            ".colima/default/docker.sock",
            ".colima/docker.sock",
            ".orbstack/run/docker.sock",
            ".rd/docker.sock",
        ] {
            candidates.push(h.join(rel));
        }
    }
    if let Some(r) = runtime_dir {
        candidates.push(r.join("docker.sock"));
        candidates.push(r.join("podman/podman.sock"));
    }
    candidates.push(PathBuf::from("/run/podman/podman.sock"));
    candidates
}

fn parse_host(host: &str) -> Endpoint {
    match host.strip_prefix("unix://") {
        Some(path) => Endpoint::Unix(PathBuf::from(path)),
        None => Endpoint::Tcp(host.to_string()),
    }
}

/// The endpoint of the current docker context, if it is not the default one.
fn context_host(config_dir: &Path, context: Option<&str>) -> Option<String> {
    let name = match context {
        Some(c) => c.to_string(),
        None => {
            let cfg = std::fs::read_to_string(config_dir.join("config.json")).ok()?;
            let v: serde_json::Value = serde_json::from_str(&cfg).ok()?;
            v.get("currentContext")?.as_str()?.to_string()
        }
    };
    if name.is_empty() || name == "default" {
        return None;
    }
    // The CLI stores a context's metadata under the SHA-256 of its name.
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let meta = config_dir.join("contexts/meta").join(hex).join("meta.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(meta).ok()?).ok()?;
    v.pointer("/Endpoints/docker/Host")?
        .as_str()
        .map(str::to_string)
}

fn is_socket(p: &Path) -> bool {
    crate::platform::is_socket(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_wins() {
        let d = discover_with(Some("unix:///x/d.sock".into()), None, None, None, None);
        assert_eq!(d.endpoint, Some(Endpoint::Unix("/x/d.sock".into())));
        let d = discover_with(Some("tcp://10.0.0.1:2375".into()), None, None, None, None);
        assert_eq!(
            d.endpoint,
            Some(Endpoint::Tcp("tcp://10.0.0.1:2375".into()))
        );
    }

    #[test]
    fn current_context_is_followed() {
        let home = tempfile::tempdir().unwrap();
        let cfg = home.path().join(".docker");
        let digest = Sha256::digest(b"colima");
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let meta = cfg.join("contexts/meta").join(hex);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(cfg.join("config.json"), r#"{"currentContext":"colima"}"#).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"colima","Endpoints":{"docker":{"Host":"unix:///h/.colima/default/docker.sock"}}}"#,
        )
        .unwrap();
        let colima = Some(Endpoint::Unix("/h/.colima/default/docker.sock".into()));
        let d = discover_with(None, None, Some(home.path().into()), None, None);
        assert_eq!(d.endpoint, colima);
        // DOCKER_CONTEXT=default overrides the config file and falls through to the sockets.
        let d = discover_with(
            None,
            Some("default".into()),
            Some(home.path().into()),
            None,
            None,
        );
        assert_ne!(d.endpoint, colima);
    }

    #[test]
    fn knows_the_desktop_engines_sockets() {
        let c = candidate_sockets(Some(Path::new("/h")), Some(Path::new("/run/user/1000")));
        for want in [
            "/var/run/docker.sock",
            "/h/.docker/run/docker.sock",
            "/h/.colima/default/docker.sock",
            "/h/.orbstack/run/docker.sock",
            "/h/.rd/docker.sock",
            "/run/user/1000/podman/podman.sock",
        ] {
            assert!(c.contains(&PathBuf::from(want)), "{want} missing");
        }
    }

    #[test]
    fn finds_a_socket_in_home_when_the_system_one_is_absent() {
        // The machine's own /var/run/docker.sock must not decide this test: the system-wide
        // candidates are moved under a temporary folder, where the test makes them or not.
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home");
        let sys = t.path().join("sys");
        let candidates: Vec<PathBuf> = candidate_sockets(Some(&home), None)
            .into_iter()
            .map(|c| match c.strip_prefix("/") {
                Ok(rel) if !c.starts_with(&home) => sys.join(rel),
                _ => c,
            })
            .collect();
        let system = sys.join("var/run/docker.sock");
        assert_eq!(
            candidates[0], system,
            "the system socket is looked at first"
        );

        let mut tried = Vec::new();
        assert_eq!(first_socket(candidates.clone(), &mut tried), None);
        assert_eq!(
            tried.len(),
            candidates.len(),
            "every candidate was looked at"
        );

        std::fs::create_dir_all(home.join(".colima/default")).unwrap();
        let colima = home.join(".colima/default/docker.sock");
        let _colima = crate::platform::listen_on_socket(&colima).unwrap();
        // A plain file where the system socket would be is not an engine.
        std::fs::create_dir_all(system.parent().unwrap()).unwrap();
        std::fs::write(&system, b"").unwrap();
        let mut tried = Vec::new();
        assert_eq!(
            first_socket(candidates.clone(), &mut tried),
            Some(Endpoint::Unix(colima.clone()))
        );
        assert_eq!(tried[0], system.display().to_string());

        // With a system socket as well, the system one rightly wins.
        std::fs::remove_file(&system).unwrap();
        let _system = crate::platform::listen_on_socket(&system).unwrap();
        assert_eq!(
            first_socket(candidates, &mut Vec::new()),
            Some(Endpoint::Unix(system))
        );
    }
}
