//! One service in detail, for the window's service page: where other containers reach it, its
//! data volume and how big it is, its memory and CPU use, how long it has run, its databases.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::snapshot::ServiceView;
use crate::engine::exec_collect;
use crate::error::Result;
use crate::manager::{container_of, DatabaseView, Manager, NETWORK};

/// `du` over a data volume: quick for a developer's databases; a huge one gets no figure rather
/// than a page that waits.
const DU_LIMIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceDetails {
    #[serde(flatten)]
    pub view: ServiceView,
    /// How other containers on the `dockhand` network reach it: host name and port.
    pub container_host: String,
    pub container_port: u16,
    pub network: String,
    /// The data volume.
    pub volume: String,
    /// The volume's size (measured while the service runs).
    pub volume_bytes: Option<u64>,
    /// Memory in use (as `docker stats` shows it), while it runs.
    pub memory_bytes: Option<u64>,
    pub memory_limit_bytes: Option<u64>,
    /// CPU use, 100 = one full core, while it runs.
    pub cpu_percent: Option<f64>,
    pub uptime_secs: Option<u64>,
    pub databases: Vec<DatabaseView>,
}

impl Manager {
    /// Everything the window's service page shows. A stopped service has no figures (`None`);
    /// figures the engine cannot give in time are left out rather than failing the page.
    pub async fn service_details(&self, name: &str) -> Result<ServiceDetails> {
        let status = self.service_status(name).await?;
        let row = self.resolve(&status.name)?;
        let cname = container_of(&row);
        let spec = row.kind.spec();
        let running = self.is_running(&row.name).await?;
        let (stats, volume_bytes, databases) = if running {
            let (stats, size, dbs) = tokio::join!(
                self.engine().container_stats(&cname),
                volume_size(self, &cname, self.driver(row.kind).data_path(&row.version)),
                self.databases(&row.name),
            );
            let stats = stats
                .map_err(|e| tracing::debug!("no stats for {}: {e}", row.name))
                .ok()
                .flatten();
            (stats, size, dbs?)
        } else {
            (None, None, self.databases(&row.name).await?)
        };
        let uptime_secs = if running {
            status.started_at.as_deref().and_then(uptime)
        } else {
            None
        };
        Ok(ServiceDetails {
            container_host: row.name.clone(),
            container_port: spec.container_port,
            network: NETWORK.to_string(),
            volume: if row.mode.ephemeral {
                format!(
                    "none — ephemeral: a {} tmpfs in memory",
                    crate::modes::memory_text(Some(crate::modes::tmpfs_mb(row.memory_mb)))
                )
            } else {
                crate::manager::volume_of(&row)
            },
            volume_bytes,
            memory_bytes: stats.map(|s| s.memory_bytes),
            memory_limit_bytes: stats.and_then(|s| s.memory_limit_bytes),
            cpu_percent: stats.and_then(|s| s.cpu_percent),
            uptime_secs,
            databases,
            view: ServiceView::new(status),
        })
    }
}

/// The size of the data folder, by `du` in the container. Cheaper than the engine's
/// `/system/df`, which sizes every volume, image and container of the engine (and the type
/// filter that narrows it needs Docker API 1.42).
async fn volume_size(m: &Manager, container: &str, path: &str) -> Option<u64> {
    let out = exec_collect(
        m.engine().as_ref(),
        container,
        &["du", "-sk", path],
        DU_LIMIT,
    )
    .await
    .map_err(|e| tracing::debug!("du in {container}: {e}"))
    .ok()?;
    parse_du(&String::from_utf8_lossy(&out.stdout))
}

/// `du -sk` prints "<KiB>\t<path>" (it may also complain of files that vanished meanwhile).
fn parse_du(stdout: &str) -> Option<u64> {
    stdout
        .lines()
        .last()?
        .split_whitespace()
        .next()?
        .parse::<u64>()
        .ok()
        .map(|kib| kib * 1024)
}

/// Seconds since Docker's `StartedAt` (RFC 3339 with nanoseconds).
fn uptime(started_at: &str) -> Option<u64> {
    let t = humantime::parse_rfc3339_weak(started_at).ok()?;
    SystemTime::now()
        .duration_since(t)
        .ok()
        .map(|d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::engine::fake::FakeEngine;
    use crate::home::Home;
    use crate::secrets::MemorySecretStore;
    use crate::store::{NewService, Store};
    use crate::Kind;

    #[test]
    fn reads_du_and_docker_times() {
        assert_eq!(
            parse_du("39004\t/var/lib/postgresql/data\n"),
            Some(39004 * 1024)
        );
        assert_eq!(parse_du(""), None);
        let ago = humantime::format_rfc3339_nanos(SystemTime::now() - Duration::from_secs(90));
        let up = uptime(&ago.to_string()).unwrap();
        assert!((89..=91).contains(&up), "{up}");
        assert_eq!(uptime("0001-01-01T00:00:00Z"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stopped_service_has_its_places_but_no_figures() {
        let t = tempfile::tempdir().unwrap();
        let m = Manager::new(
            Home::open(t.path().join("home")).unwrap(),
            Store::open_in_memory().unwrap(),
            Arc::new(FakeEngine::default()),
            Arc::new(MemorySecretStore::default()),
        )
        .unwrap();
        let new = NewService {
            name: "pg",
            kind: Kind::Postgres,
            version: "15",
            image: "postgres:15",
            port_explicit: false,
            pinned: false,
            volume: None,
        };
        m.store().claim_service(&new, |_| Ok(5432)).unwrap();
        let d = m.service_details("pg").await.unwrap();
        assert_eq!(
            (
                d.container_host.as_str(),
                d.container_port,
                d.network.as_str()
            ),
            ("pg", 5432, "dockhand")
        );
        assert_eq!(d.volume, "dockhand-pg-data");
        assert_eq!(
            (d.volume_bytes, d.memory_bytes, d.cpu_percent, d.uptime_secs),
            (None, None, None, None)
        );
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["name"], "pg", "the view is flattened: {json}");
    }
}
