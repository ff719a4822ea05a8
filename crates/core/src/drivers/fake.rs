//! A driver for unit tests of the manager against the fake engine: it speaks no protocol. Its
//! probe answers at once, provisioning records what it was asked, and its dump tool is a
//! command the fake engine's exec handler answers. Everything else is PostgreSQL's.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::{
    tool, BackupUnit, Connection, ContainerSetup, Driver, Grant, Kind, KindSpec, ProbeError,
    ProbeTarget, RestoreStrategy, RunOptions, ToolCommand, UrlVariable,
};
use crate::engine::Engine;
use crate::error::Result;

/// What the fake dump tool writes first; its dumps are checked for it.
pub const DUMP_MAGIC: &[u8] = b"FAKEDUMP";

pub struct FakeDriver {
    /// (database, user) of every provisioning, in order.
    pub provisioned: Mutex<Vec<(String, String)>>,
    /// How many probes were made.
    pub probes: Mutex<u32>,
}

impl FakeDriver {
    pub const fn new() -> Self {
        FakeDriver {
            provisioned: Mutex::new(Vec::new()),
            probes: Mutex::new(0),
        }
    }
}

fn real() -> &'static dyn Driver {
    Kind::Postgres.driver()
}

#[async_trait]
impl Driver for FakeDriver {
    fn spec(&self) -> &'static KindSpec {
        real().spec()
    }

    fn container_setup(
        &self,
        version: &str,
        admin_password: &str,
        run: &RunOptions,
    ) -> ContainerSetup {
        real().container_setup(version, admin_password, run)
    }

    fn fast_settings(&self) -> &'static [(&'static str, &'static str)] {
        real().fast_settings()
    }

    fn default_memory_mb(&self) -> u32 {
        real().default_memory_mb()
    }

    async fn probe(
        &self,
        _target: &ProbeTarget,
        _limit: Duration,
    ) -> std::result::Result<(), ProbeError> {
        *self.probes.lock().unwrap() += 1;
        Ok(())
    }

    fn admin_url_path(&self) -> &'static str {
        real().admin_url_path()
    }

    fn url_variable(&self) -> UrlVariable {
        real().url_variable()
    }

    fn extra_variables(&self, c: &Connection<'_>) -> Vec<(&'static str, String)> {
        real().extra_variables(c)
    }

    fn jdbc_url(&self, c: &Connection<'_>) -> Option<String> {
        real().jdbc_url(c)
    }

    fn main_database_rank(&self) -> u8 {
        0
    }

    async fn provision(
        &self,
        _engine: &dyn Engine,
        _container: &str,
        _admin: &ProbeTarget,
        grant: &Grant<'_>,
    ) -> Result<()> {
        self.provisioned
            .lock()
            .unwrap()
            .push((grant.database.to_string(), grant.user.to_string()));
        Ok(())
    }

    async fn drop_grant(&self, _admin: &ProbeTarget, _grant: &Grant<'_>) -> Result<Option<u64>> {
        Ok(None)
    }

    fn dump_extension(&self) -> &'static str {
        "fake"
    }

    fn dump(&self, _password: &str, database: &str) -> ToolCommand {
        tool("fake_dump", &[database], vec![])
    }

    fn dump_tool_version(&self) -> ToolCommand {
        tool("fake_dump", &["--version"], vec![])
    }

    fn backup_unit(&self) -> BackupUnit {
        BackupUnit::ProjectDatabases
    }

    fn check_dump(&self, head: &[u8], _tail: &[u8]) -> std::result::Result<(), String> {
        super::starts_with(head, DUMP_MAGIC, "a fake dump")
    }

    fn restore(
        &self,
        _admin_password: &str,
        _database: &str,
        _owner: Option<&crate::drivers::DatabaseOwner<'_>>,
    ) -> Result<ToolCommand> {
        Ok(tool("fake_restore", &[], vec![]))
    }

    fn restore_strategy(&self) -> RestoreStrategy {
        RestoreStrategy::Unsupported("the fake driver does not restore")
    }
}
