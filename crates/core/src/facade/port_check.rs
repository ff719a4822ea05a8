//! "Is this port free, and if not, who has it?" — for the new-service dialog and for the
//! `port in use` error, which names the holder instead of leaving the user to run `lsof`.

use std::time::Duration;

use serde::Serialize;

use crate::engine::labels;
use crate::error::Result;
use crate::manager::Manager;
use crate::platform::{port_holder, PortHolder};

/// The engine's container list only decorates a message: a slow engine must not hold it up.
const PUBLISHED_LOOKUP_LIMIT: Duration = Duration::from_secs(3);

/// What is known about one host port.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortCheck {
    pub port: u16,
    /// A new service could take it now: nothing listens on it and no service of this home
    /// holds it (a stopped service keeps its port).
    pub free: bool,
    /// The service of this home that holds the port, running or not.
    pub service: Option<String>,
    /// The process listening on it, when this user may see it.
    pub holder: Option<PortHolder>,
    /// Why it is not free, in words ("port 5432 is taken by postgres (PID 1234)").
    pub message: Option<String>,
}

impl Manager {
    /// Who holds `port`: a service of this home, a Docker container that publishes it, or a
    /// process of this user. Works while the engine is down (the container lookup is skipped).
    pub async fn check_port(&self, port: u16) -> Result<PortCheck> {
        let service = self
            .store()
            .services()?
            .into_iter()
            .find(|r| r.host_port == port)
            .map(|r| r.name);
        let listening = !self.port_is_free(port);
        let holder = if listening {
            tokio::task::spawn_blocking(move || port_holder(port))
                .await
                .ok()
                .flatten()
        } else {
            None
        };
        let by = if service.is_some() || listening {
            Some(
                self.taken_by(port, service.as_deref(), holder.as_ref())
                    .await,
            )
        } else {
            None
        };
        Ok(PortCheck {
            port,
            free: by.is_none(),
            message: by.map(|by| format!("port {port} is taken{by}")),
            service,
            holder,
        })
    }

    /// " by …" for a port that is taken, as `CoreError::PortInUse` shows it.
    pub(crate) async fn port_taken_by(&self, port: u16) -> String {
        let service = self
            .store()
            .services()
            .ok()
            .and_then(|s| s.into_iter().find(|r| r.host_port == port))
            .map(|r| r.name);
        let holder = tokio::task::spawn_blocking(move || port_holder(port))
            .await
            .ok()
            .flatten();
        self.taken_by(port, service.as_deref(), holder.as_ref())
            .await
    }

    async fn taken_by(
        &self,
        port: u16,
        service: Option<&str>,
        holder: Option<&PortHolder>,
    ) -> String {
        if let Some(s) = service {
            return format!(" by Dockhand service {s}");
        }
        // A port Docker publishes is held by root's `docker-proxy`, or by nothing visible at all
        // (nftables or rootless engines): the container says more than either.
        if holder.is_none_or(|h| h.program == "docker-proxy") {
            if let Some(c) = self.container_publishing(port).await {
                return format!(" by Docker container {c}");
            }
        }
        match holder {
            Some(h) => format!(" by {} (PID {})", h.program, h.pid),
            None => " by a process Dockhand cannot see (another user's?)".to_string(),
        }
    }

    /// The container (or Dockhand service of another home) that publishes `port`.
    async fn container_publishing(&self, port: u16) -> Option<String> {
        let listed =
            tokio::time::timeout(PUBLISHED_LOOKUP_LIMIT, self.engine().list_containers(&[])).await;
        let containers = match listed {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                tracing::debug!("could not list containers to name a port's holder: {e}");
                return None;
            }
            Err(_) => {
                tracing::debug!(
                    "the engine did not list containers within {PUBLISHED_LOOKUP_LIMIT:?}"
                );
                return None;
            }
        };
        let c = containers
            .into_iter()
            .find(|c| c.bindings.iter().any(|(_, p)| *p == port))?;
        Some(match c.labels.get(labels::SERVICE) {
            Some(s) if c.labels.contains_key(labels::MANAGED) => {
                format!("{} (Dockhand service {s} of another Dockhand home)", c.name)
            }
            _ => c.name,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::engine::fake::FakeEngine;
    use crate::home::Home;
    use crate::manager::{Manager, UpRequest};
    use crate::secrets::MemorySecretStore;
    use crate::store::Store;
    use crate::ServiceSpec;

    fn manager(engine: Arc<FakeEngine>, free: fn(u16) -> bool) -> (Manager, tempfile::TempDir) {
        let t = tempfile::tempdir().unwrap();
        let m = Manager::new(
            Home::open(t.path().join("home")).unwrap(),
            Store::open_in_memory().unwrap(),
            engine,
            Arc::new(MemorySecretStore::default()),
        )
        .unwrap()
        .with_port_check(free);
        (m, t)
    }

    #[tokio::test(start_paused = true)]
    async fn a_free_port_is_free_and_a_service_port_names_the_service() {
        let e = Arc::new(FakeEngine::default());
        e.add_image("redis:7");
        let (m, _t) = manager(e.clone(), |_| true);
        let c = m.check_port(6400).await.unwrap();
        assert!(
            c.free && c.service.is_none() && c.message.is_none(),
            "{c:?}"
        );
        // A service that exists (its start fails on the fake: no server answers) keeps its port.
        let req = UpRequest {
            spec: ServiceSpec::parse("redis:7").unwrap(),
            name: None,
            port: Some(6400),
            image: None,
            options: Default::default(),
        };
        m.up(&req, &|_| {}).await.unwrap_err();
        let c = m.check_port(6400).await.unwrap();
        assert!(!c.free, "{c:?}");
        assert_eq!(c.service.as_deref(), Some("redis-7"));
        assert_eq!(
            c.message.as_deref(),
            Some("port 6400 is taken by Dockhand service redis-7")
        );
    }

    #[tokio::test]
    async fn a_real_listener_is_named_by_its_process() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (m, _t) = manager(
            Arc::new(FakeEngine::default()),
            crate::ports::host_port_free,
        );
        let c = m.check_port(port).await.unwrap();
        assert!(!c.free);
        if cfg!(target_os = "linux") {
            let h = c.holder.clone().expect("our own listener");
            assert_eq!(h.pid, std::process::id());
            let msg = c.message.unwrap();
            assert!(
                msg.starts_with(&format!("port {port} is taken by "))
                    && msg.contains(&format!("(PID {})", std::process::id())),
                "{msg}"
            );
        }
    }

    #[tokio::test]
    async fn an_unseen_holder_is_said_to_be_unseen_and_a_published_port_names_its_container() {
        let e = Arc::new(FakeEngine::default());
        // Port 1 on the fake: "taken", and no process of ours listens there.
        let (m, _t) = manager(e.clone(), |p| p != 1 && p != 5999);
        let c = m.check_port(1).await.unwrap();
        assert!(!c.free && c.holder.is_none());
        assert_eq!(
            c.message.as_deref(),
            Some("port 1 is taken by a process Dockhand cannot see (another user's?)")
        );
        e.publish("someones-db", 5999);
        let c = m.check_port(5999).await.unwrap();
        assert_eq!(
            c.message.as_deref(),
            Some("port 5999 is taken by Docker container someones-db")
        );
    }
}
