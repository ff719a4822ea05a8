//! The names and labels of a service's Docker resources: its container, its data volume, the
//! shared network, its keychain entry.

use std::collections::HashMap;

use super::Manager;
use crate::engine::labels;
use crate::store::ServiceRow;

/// The shared Docker network services join, reachable by service name from other containers.
pub const NETWORK: &str = "dockhand";

pub(crate) fn container_name(service: &str) -> String {
    format!("dockhand-{service}")
}

pub(crate) fn volume_name(service: &str) -> String {
    format!("dockhand-{service}-data")
}

/// The volume a major upgrade writes the new version's data to (`dockhand-pg-data-17`): the
/// old data stays in its own volume for a rollback, and a service re-created under its name
/// and that version finds it.
pub(crate) fn versioned_volume_name(service: &str, version: &str) -> String {
    format!("dockhand-{service}-data-{version}")
}

/// A service's data volume: the one named after it unless an upgrade moved it.
pub(crate) fn volume_of(row: &ServiceRow) -> String {
    row.volume.clone().unwrap_or_else(|| volume_name(&row.name))
}

pub(crate) fn admin_secret_key(instance: &str, service: &str) -> String {
    format!("{instance}/service/{service}/admin")
}

impl Manager {
    pub(super) fn base_labels(&self, row: &ServiceRow) -> HashMap<String, String> {
        HashMap::from([
            (labels::MANAGED.into(), "true".into()),
            (labels::INSTANCE.into(), self.instance.clone()),
            (labels::SERVICE.into(), row.name.clone()),
            (labels::KIND.into(), row.kind.as_str().into()),
            (labels::VERSION.into(), row.version.clone()),
            (labels::PORT.into(), row.host_port.to_string()),
        ])
    }

    /// A container's labels: the base ones and the volume it mounts (so a state database
    /// rebuilt from Docker knows where an upgraded service's data lives).
    pub(super) fn container_labels(&self, row: &ServiceRow) -> HashMap<String, String> {
        let mut l = self.base_labels(row);
        l.insert(labels::VOLUME.into(), volume_of(row));
        l
    }
}
