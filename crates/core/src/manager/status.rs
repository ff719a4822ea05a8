//! What each service is doing now (probed with a real round trip), its logs and admin URL.

use futures_util::stream::BoxStream;

use super::naming::container_of;
use super::{Manager, ServiceStatus, HOST};
use crate::engine::{EngineError, LogChunk, RunState};
use crate::error::{CoreError, Result};
use crate::state::ServiceState;
use crate::store::{Desired, ServiceRow};

impl Manager {
    /// One service (by name, kind or `kind:version`) with its live state.
    pub async fn service_status(&self, query: &str) -> Result<ServiceStatus> {
        let row = self.resolve(query)?;
        let mut one = self.statuses_of(vec![row]).await?;
        Ok(one.remove(0))
    }

    /// Every service with its live state; running ones are probed with a real round trip.
    pub async fn status(&self) -> Result<Vec<ServiceStatus>> {
        self.statuses_of(self.store.services()?).await
    }

    async fn statuses_of(&self, rows: Vec<ServiceRow>) -> Result<Vec<ServiceStatus>> {
        let grace = self.grace_period()?;
        let checks = rows.into_iter().map(|row| async move {
            // The intent is read before and after Docker is asked: a start that ends while the
            // container is inspected (its intent cleared, the container seen still exited) is
            // still a start, not an exit (a `stopped → failed: exited with code 0` seen in the
            // e2e when "Copy DATABASE_URL" started a stopped server).
            let intent_before = self.intent(&row.name);
            let c = self.engine.inspect_container(&container_of(&row)).await?;
            let (state, detail) = match &c {
                None => (
                    ServiceState::Missing,
                    Some("no container; `dockhand up` recreates it".to_string()),
                ),
                Some(c) => match c.state {
                    RunState::Running => match self.quick_probe(&row).await {
                        Ok(()) => (ServiceState::Running, None),
                        Err(e) => (ServiceState::Unhealthy, Some(e.to_string())),
                    },
                    RunState::Exited | RunState::Dead if row.desired == Desired::Running => (
                        ServiceState::Exited,
                        Some(if c.oom_killed {
                            super::modes::oom_reason(&row)
                        } else {
                            format!("exited with code {}", c.exit_code.unwrap_or(-1))
                        }),
                    ),
                    RunState::Created if row.state == ServiceState::Failed => {
                        (ServiceState::Failed, row.reason.clone())
                    }
                    RunState::Created | RunState::Exited | RunState::Dead => {
                        (ServiceState::Stopped, None)
                    }
                    RunState::Restarting => (ServiceState::Starting, None),
                    RunState::Paused => (ServiceState::Paused, None),
                    RunState::Other => (ServiceState::Unknown, None),
                },
            };
            // A server that is being started or stopped by a Dockhand process is on its way.
            let intent = self.intent(&row.name).or(intent_before);
            let (state, detail) = super::intent::expected(intent, state, detail);
            let consumers: Vec<String> = self
                .live_leases(&row.name)?
                .into_iter()
                .map(|l| l.holder)
                .collect();
            let lifetime = super::lifetime::lifetime(
                state.is_healthy() || state.is_starting(),
                &super::lifetime::Keepers {
                    pinned: row.pinned,
                    consumers: &consumers,
                    idle_since_ms: row.idle_since_ms,
                    grace,
                    now_ms: crate::store::now_ms(),
                },
            );
            let projects = self
                .store
                .attachments(None, Some(&row.name))?
                .into_iter()
                .map(|a| a.project)
                .collect();
            Ok::<_, CoreError>(ServiceStatus {
                restart_on_failure: self.restart_on_failure(&row.name),
                dedicated_to: row.dedicated_to.clone(),
                origin: row.origin,
                mode: row.mode,
                memory_limit_mb: row.memory_mb,
                pinned: row.pinned,
                lifetime,
                consumers,
                projects,
                name: row.name.clone(),
                kind: row.kind,
                version: row.version.clone(),
                image: row.image.clone(),
                host: HOST.into(),
                host_port: row.host_port,
                desired: row.desired,
                state,
                detail,
                container_id: c.as_ref().map(|c| c.id.chars().take(12).collect()),
                started_at: c.and_then(|c| c.started_at),
            })
        });
        futures_util::future::try_join_all(checks).await
    }

    pub async fn logs(
        &self,
        query: &str,
        tail: Option<usize>,
        follow: bool,
    ) -> Result<BoxStream<'static, Result<LogChunk, EngineError>>> {
        let row = self.resolve(query)?;
        let cname = container_of(&row);
        // Another home's (or nobody's) container under the same name is never shown as ours.
        if let Some(c) = self.engine.inspect_container(&cname).await? {
            self.check_container_is_ours(&c)?;
        }
        Ok(self.engine.logs(&cname, tail, follow))
    }

    /// The admin URL of a service (contains its password: print it only where asked).
    pub fn admin_url(&self, query: &str) -> Result<String> {
        let row = self.resolve(query)?;
        let password = self.admin_password(&row.name)?;
        Ok(crate::url::admin_url(
            row.kind,
            HOST,
            row.host_port,
            password.expose(),
        ))
    }
}
