//! Bringing the store in line with what Docker reports.

use super::{container_of, Manager, ReconcileReport};
use crate::catalog::Kind;
use crate::engine::{labels, RunState};
use crate::error::Result;
use crate::state::ServiceState;
use crate::store::{Desired, Origin, ServiceRow};

impl Manager {
    /// Brings the store in line with Docker: containers of this home the store does not know are
    /// adopted, services whose container is gone are marked missing, and observed states are
    /// refreshed. Runs at start-up of every Dockhand process, so a CLI killed mid-`up` leaves
    /// nothing that the next command does not pick up.
    pub async fn reconcile(&self) -> Result<ReconcileReport> {
        let mut report = ReconcileReport::default();
        let containers = self
            .engine
            .list_containers(&[
                (labels::MANAGED, "true"),
                (labels::INSTANCE, &self.instance),
            ])
            .await?;
        let rows = self.store.services()?;
        for c in &containers {
            let Some(service) = c.labels.get(labels::SERVICE) else {
                continue;
            };
            if rows.iter().any(|r| &r.name == service) {
                continue;
            }
            let (Some(kind), Some(version)) = (
                c.labels.get(labels::KIND).and_then(|k| Kind::parse(k).ok()),
                c.labels.get(labels::VERSION),
            ) else {
                continue;
            };
            let port = c
                .bindings
                .first()
                .map(|b| b.1)
                .or_else(|| c.labels.get(labels::PORT).and_then(|p| p.parse().ok()));
            let Some(host_port) = port else { continue };
            let running = c.state == RunState::Running;
            // Its mode is on its labels (none: made before modes, durable); its limit is the
            // container's own (the list does not carry it).
            let mode = c
                .labels
                .get(labels::MODE)
                .and_then(|m| crate::modes::Mode::parse(m).ok())
                .unwrap_or_default();
            let memory_mb = match self.engine.inspect_container(&c.name).await? {
                Some(i) => i.memory_limit_bytes.map(|b| (b / (1024 * 1024)) as u32),
                None => continue,
            };
            let row = ServiceRow {
                name: service.clone(),
                kind,
                version: version.clone(),
                image: c.image.clone(),
                host_port,
                port_explicit: true,
                desired: if running {
                    Desired::Running
                } else {
                    Desired::Stopped
                },
                state: if running {
                    ServiceState::Running
                } else {
                    ServiceState::Stopped
                },
                reason: None,
                ever_ready: running,
                created_at_ms: 0,
                updated_at_ms: 0,
                // A running container of ours that the store forgot was started by someone.
                pinned: running,
                idle_since_ms: None,
                // An upgraded service's container names its volume; others use the default.
                volume: c
                    .labels
                    .get(labels::VOLUME)
                    .filter(|v| **v != crate::manager::volume_name(service))
                    .cloned(),
                dedicated_to: c.labels.get(labels::DEDICATED_TO).cloned(),
                origin: crate::store::Origin::Managed,
                container: None,
                mode,
                memory_mb,
            };
            if self.store.adopt_service(&row)? {
                self.event(
                    service,
                    "adopted",
                    &format!("found container {} in Docker and adopted it", c.name),
                );
                report.adopted.push(service.clone());
            }
        }
        for row in rows {
            // An adopted container carries no labels of ours: it is looked up by its name. An
            // external server has no container; its state is what its probe says.
            let adopted = match row.origin {
                Origin::Adopted => self.engine.inspect_container(&container_of(&row)).await?,
                Origin::Managed => None,
            };
            let c = adopted.as_ref().or_else(|| {
                containers
                    .iter()
                    .find(|c| c.labels.get(labels::SERVICE) == Some(&row.name))
            });
            let observed = match c.map(|c| c.state) {
                None => ServiceState::Missing,
                Some(RunState::Running) => ServiceState::Running,
                Some(RunState::Created) if row.state == ServiceState::Failed => {
                    ServiceState::Failed
                }
                Some(RunState::Created) => ServiceState::Created,
                Some(RunState::Exited | RunState::Dead) if row.desired == Desired::Running => {
                    ServiceState::Exited
                }
                Some(_) => ServiceState::Stopped,
            };
            if observed != row.state
                && !(observed == ServiceState::Running && row.state == ServiceState::Starting)
            {
                if observed == ServiceState::Missing {
                    self.event(
                        &row.name,
                        "missing",
                        if row.origin == Origin::Adopted {
                            "its adopted container is gone from Docker; Dockhand does not re-create what it did not make"
                        } else {
                            "its container is gone from Docker; `dockhand up` recreates it"
                        },
                    );
                    report.missing.push(row.name.clone());
                } else {
                    report.updated.push(row.name.clone());
                }
                self.store.set_state(
                    &row.name,
                    observed,
                    row.reason
                        .as_deref()
                        .filter(|_| observed == ServiceState::Failed),
                )?;
            }
        }
        // An upgrade a killed process left half-way is finished or undone by whoever comes next;
        // a project a killed restore or import kept out of its database is let in again.
        // Test clones of a killed `dockhand run` are dropped.
        self.recover_upgrades().await?;
        self.let_in_after_killed_restores().await;
        self.drop_clones_of_killed_runs().await;
        // Without a supervisor running, every Dockhand process does the supervisor's work of
        // stopping services whose last consumer left longer than the grace period ago.
        // Any state but "stopped" may hide a running container (a consumer killed while its
        // service was still starting leaves "starting"); settling inspects Docker itself, and a
        // live starter holds a lease or the lock.
        for row in self.store.services()? {
            if !row.pinned && row.state != ServiceState::Stopped {
                self.stop_if_idle(&row.name, false).await?;
            }
        }
        Ok(report)
    }
}
