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

/// A service's container: `dockhand-<name>`, or the adopted container's own name.
pub(crate) fn container_of(row: &ServiceRow) -> String {
    row.container
        .clone()
        .unwrap_or_else(|| container_name(&row.name))
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

/// The name of a project's dedicated server: `shop-postgres` for project "Shop" (the project's
/// name made a DNS label), `postgres-2024-app` when the project's name does not start with a
/// letter. Within the service-name length limit.
pub(crate) fn dedicated_service_name(project: &str, kind: crate::catalog::Kind) -> String {
    let mut slug = String::new();
    for c in project.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-');
    let name = if slug.starts_with(|c: char| c.is_ascii_lowercase()) {
        format!("{slug}-{kind}")
    } else if slug.is_empty() {
        format!("{kind}-dedicated")
    } else {
        format!("{kind}-{slug}")
    };
    let mut name: String = name.chars().take(crate::names::MAX_SERVICE_NAME).collect();
    while name.ends_with('-') {
        name.pop();
    }
    name
}

pub(crate) fn admin_secret_key(instance: &str, service: &str) -> String {
    format!("{instance}/service/{service}/admin")
}

impl Manager {
    /// [`container_of`] the service called `service` (its own name's container when there is
    /// no such service).
    pub fn container_for(&self, service: &str) -> String {
        match self.store.service(service) {
            Ok(Some(row)) => container_of(&row),
            _ => container_name(service),
        }
    }

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
        if let Some(p) = &row.dedicated_to {
            l.insert(labels::DEDICATED_TO.into(), p.clone());
        }
        l
    }
}

/// The holder name of a project's standing lease on a service.
pub(crate) fn standing_holder(project: &str) -> String {
    format!("project:{project}")
}

/// The keychain entry of a project's password on a service.
pub(super) fn project_secret_key(instance: &str, project: &str, service: &str) -> String {
    format!("{instance}/project/{project}/{service}")
}

/// PostgreSQL: the database a restore fills before it takes the target's name.
pub(super) const RESTORE_SCRATCH: &str = "dockhand_restore_";
/// PostgreSQL: the name a replaced database has between the swap and its drop.
pub(super) const RESTORE_REPLACED: &str = "dockhand_replaced_";

/// A restore point's copy of a project database (`dockhand_rp_<token>`): the admin's, closed.
pub(super) const RESTORE_POINT: &str = "dockhand_rp_";

/// A test clone of a project database (`dockhand_cl_<token>_<n>`): lives as long as its run.
pub(super) const CLONE: &str = "dockhand_cl_";

/// Whether a database is a restore's own (its scratch or the database it replaced), a restore
/// point's copy or a test clone, which backups and listings leave out.
pub(super) fn is_restore_scratch(name: &str) -> bool {
    name.starts_with(RESTORE_SCRATCH)
        || name.starts_with(RESTORE_REPLACED)
        || name.starts_with(RESTORE_POINT)
        || name.starts_with(CLONE)
}

/// The keychain entry of an external database's URL.
pub(super) fn external_secret_key(instance: &str, name: &str) -> String {
    format!("{instance}/external/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Kind;

    #[test]
    fn dedicated_names_are_valid_service_names_named_after_the_project() {
        for (project, kind, want) in [
            ("shop", Kind::Postgres, "shop-postgres"),
            ("Shop_API.v2", Kind::Redis, "shop-api-v2-redis"),
            ("2024-app", Kind::Mariadb, "mariadb-2024-app"),
            ("___", Kind::Postgres, "postgres-dedicated"),
        ] {
            let got = dedicated_service_name(project, kind);
            assert_eq!(got, want);
            crate::names::validate_service_name(&got).unwrap();
        }
        let long = dedicated_service_name(&"a-".repeat(40), Kind::Postgres);
        crate::names::validate_service_name(&long).unwrap();
    }
}
