//! What Quit stops: the services nobody but projects hold. A service a process still uses (a
//! `dockhand run`, an attach in progress) keeps running, whatever the user chose.

use crate::error::{CoreError, Result};
use crate::manager::Manager;
use crate::store::LeaseRow;

/// Who holds a lease: a project that is up (a standing lease, tied to no process), or a
/// running process (`dockhand run`, an attach, a backup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderKind {
    Project,
    Process,
}

impl HolderKind {
    pub fn of(lease: &LeaseRow) -> HolderKind {
        // Only standing leases are taken without a process to outlive.
        if lease.pid.is_some() {
            HolderKind::Process
        } else {
            HolderKind::Project
        }
    }
}

/// The holder name of a project's standing lease, as service statuses list their consumers.
pub(crate) fn project_holder(project: &str) -> String {
    crate::manager::standing_holder(project)
}

impl Manager {
    /// The services "stop the services" on Quit stops: every one that is not stopped and that
    /// no process uses.
    pub async fn services_to_stop_on_quit(&self) -> Result<Vec<String>> {
        let mut stop = Vec::new();
        for s in self.status().await? {
            if s.state.is_stopped() {
                continue;
            }
            let used_by_a_process = self
                .live_leases(&s.name)?
                .iter()
                .any(|l| HolderKind::of(l) == HolderKind::Process);
            if !used_by_a_process {
                stop.push(s.name);
            }
        }
        Ok(stop)
    }

    /// Stops what [`Manager::services_to_stop_on_quit`] names; returns the ones that failed.
    pub async fn stop_for_quit(&self) -> Result<Vec<(String, CoreError)>> {
        let mut failed = Vec::new();
        for name in self.services_to_stop_on_quit().await? {
            if let Err(e) = self.down(&name).await {
                tracing::warn!("could not stop {name} on quit: {e}");
                failed.push((name, e));
            }
        }
        Ok(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: &str, pid: Option<u32>) -> LeaseRow {
        LeaseRow {
            id: 1,
            service: "pg".into(),
            holder: holder.into(),
            pid,
            pid_start: None,
            expires_at_ms: None,
            created_at_ms: 0,
        }
    }

    #[test]
    fn standing_leases_are_projects_and_the_rest_processes() {
        assert_eq!(
            HolderKind::of(&lease("project:shop", None)),
            HolderKind::Project
        );
        assert_eq!(
            HolderKind::of(&lease("run:npm", Some(42))),
            HolderKind::Process
        );
        assert_eq!(
            HolderKind::of(&lease("attach:shop", Some(42))),
            HolderKind::Process
        );
    }
}
