//! Per-user choices kept in the store: default versions and restart policies.

use super::Manager;
use crate::catalog::{Kind, ServiceSpec};
use crate::error::Result;

impl Manager {
    /// The version `up postgres` (no version) and projects without a version line get: the
    /// user's choice (`config set default-version.<kind>`), else the catalog's.
    pub fn default_version(&self, kind: Kind) -> String {
        self.store
            .setting(&format!("default_version.{kind}"))
            .ok()
            .flatten()
            .unwrap_or_else(|| kind.spec().default_version.to_string())
    }

    pub fn set_default_version(&self, kind: Kind, version: &str) -> Result<()> {
        let spec = ServiceSpec::parse(&format!("{kind}:{version}"))?;
        self.store
            .set_setting(&format!("default_version.{kind}"), &spec.version)
    }

    /// `kind` or `kind:version`, with the user's default version when none is given.
    pub fn parse_spec(&self, s: &str) -> Result<ServiceSpec> {
        let mut spec = ServiceSpec::parse(s)?;
        if !s.contains(':') {
            spec.version = self.default_version(spec.kind);
        }
        Ok(spec)
    }

    /// Whether the supervisor restarts the service when it fails (off by default).
    pub fn restart_on_failure(&self, service: &str) -> bool {
        self.store
            .setting(&format!("restart_on_failure.{service}"))
            .ok()
            .flatten()
            .is_some_and(|v| v == "on")
    }

    pub fn set_restart_on_failure(&self, query: &str, on: bool) -> Result<()> {
        let row = self.resolve(query)?;
        self.store.set_setting(
            &format!("restart_on_failure.{}", row.name),
            if on { "on" } else { "off" },
        )
    }
}
