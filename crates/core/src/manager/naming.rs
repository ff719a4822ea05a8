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
}
