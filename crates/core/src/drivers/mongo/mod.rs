//! MongoDB, official `mongo` image (contract only: no MongoDB exists on the test machines'
//! registries). The entrypoint reads `MONGO_INITDB_ROOT_PASSWORD_FILE`, creates the root user
//! through a first-start `mongod` bound to localhost inside the container, then restarts it bound
//! to all interfaces; only then does a `hello` through the published port succeed.

mod probe;
mod provision;

use std::time::Duration;

use async_trait::async_trait;

use super::{
    shell_tool, starts_with, tool, BackupUnit, Driver, RestoreStrategy, ToolCommand, UrlVariable,
};
use crate::drivers::Connection;
use crate::drivers::Grant;
use crate::drivers::{
    admin_password_file, ContainerSetup, KindSpec, RunOptions, UrlDatabase, ADMIN_PASSWORD_FILE,
};
use crate::drivers::{ProbeError, ProbeTarget};
use crate::engine::Engine;
use crate::error::{CoreError, Result};

pub(super) struct Mongo;

const SPEC: KindSpec = KindSpec {
    id: "mongo",
    display_name: "MongoDB",
    aliases: &["mongodb"],
    image_repo: "mongo",
    default_version: "8",
    versions: &["6", "7", "8"],
    container_port: 27017,
    default_host_port: 27017,
    data_path: "/data/db",
    admin_user: "root",
    url_scheme: "mongodb",
    url_schemes: &["mongodb"],
    url_database: UrlDatabase::Named,
    drops_project_data: false,
    ready_deadline: Duration::from_secs(90),
    stop_timeout: Duration::from_secs(30),
    server_uid: 999,
};

fn setup(admin_password: &str) -> ContainerSetup {
    ContainerSetup {
        env: vec![
            format!("MONGO_INITDB_ROOT_USERNAME={}", SPEC.admin_user),
            format!("MONGO_INITDB_ROOT_PASSWORD_FILE={ADMIN_PASSWORD_FILE}"),
        ],
        // WiredTiger takes half the RAM minus 1 GB by default; a dev server needs far less.
        cmd: ["mongod", "--wiredTigerCacheSizeGB", "0.25"]
            .map(String::from)
            .to_vec(),
        files: vec![admin_password_file(&SPEC, admin_password)],
    }
}

#[async_trait]
impl Driver for Mongo {
    fn image_families(&self) -> Vec<&'static str> {
        vec!["mongo", "mongodb-community-server"]
    }

    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    fn container_setup(
        &self,
        _version: &str,
        admin_password: &str,
        run: &RunOptions,
    ) -> ContainerSetup {
        let mut setup = setup(admin_password);
        if run.mode.fast {
            setup
                .cmd
                .extend(["--journalCommitInterval".to_string(), "500".to_string()]);
        }
        setup
    }

    /// MongoDB 6.1+ cannot run without its journal; the most `--fast` can do is flush it every
    /// 500 ms (the largest interval allowed) instead of every 100 ms.
    fn fast_settings(&self) -> &'static [(&'static str, &'static str)] {
        &[("storage.journal.commitIntervalMs", "500")]
    }

    /// Not measurable here (no MongoDB image on these machines): WiredTiger's cache is capped at
    /// 256 MB above, and mongod's own use on top of it is ~100–200 MB idle.
    fn default_memory_mb(&self) -> u32 {
        1024
    }

    async fn probe(
        &self,
        target: &ProbeTarget,
        _limit: Duration,
    ) -> std::result::Result<(), ProbeError> {
        probe::probe(target).await
    }

    fn admin_url_path(&self) -> &'static str {
        "/?authSource=admin"
    }

    /// A project's user is defined in its own database, which is where it authenticates.
    fn url(&self, c: &Connection<'_>) -> String {
        format!(
            "{}://{}@{}:{}/{db}?authSource={db}",
            SPEC.url_scheme,
            super::userinfo(c),
            c.host,
            c.port,
            db = c.database
        )
    }

    fn url_variable(&self) -> UrlVariable {
        UrlVariable {
            own: "MONGODB_URI",
            database_url_rank: None,
        }
    }

    fn main_database_rank(&self) -> u8 {
        3
    }

    async fn provision(
        &self,
        engine: &dyn Engine,
        container: &str,
        admin: &ProbeTarget,
        grant: &Grant<'_>,
    ) -> Result<()> {
        provision::provision(engine, container, admin, grant).await
    }

    // No `verify`: without a client library here MongoDB is always re-applied (idempotent).

    async fn drop_grant(&self, _admin: &ProbeTarget, _grant: &Grant<'_>) -> Result<Option<u64>> {
        Err(CoreError::InvalidInput(
            "dropping a project's data is not supported for mongo yet; nothing was deleted".into(),
        ))
    }

    fn dump_extension(&self) -> &'static str {
        "archive"
    }

    /// mongodump reads a password only from its argv, a prompt or a config file: a private
    /// temporary config file keeps it out of `ps`.
    fn dump(&self, password: &str, database: &str) -> ToolCommand {
        shell_tool(
            "mongodump",
            "umask 077; f=$(mktemp); printf 'password: \"%s\"\\n' \"$DOCKHAND_PW\" > \"$f\"; \
                 mongodump --quiet --archive --db \"$DOCKHAND_DB\" -u \"$DOCKHAND_ADMIN\" --authenticationDatabase admin --config \"$f\"; \
                 rc=$?; rm -f \"$f\"; exit $rc",
            vec![
                format!("DOCKHAND_PW={password}"),
                format!("DOCKHAND_DB={database}"),
                format!("DOCKHAND_ADMIN={}", SPEC.admin_user),
            ],
        )
    }

    fn dump_tool_version(&self) -> ToolCommand {
        tool("mongodump", &["--version"], vec![])
    }

    /// The server holds databases of its own (admin, config, local): a backup covers the
    /// projects' databases.
    fn backup_unit(&self) -> BackupUnit {
        BackupUnit::ProjectDatabases
    }

    fn check_dump(&self, head: &[u8], _tail: &[u8]) -> std::result::Result<(), String> {
        starts_with(head, &[0x6d, 0xe2, 0x99, 0x81], "a mongodump archive")
    }

    fn restore(
        &self,
        password: &str,
        database: &str,
        owner: Option<&crate::drivers::DatabaseOwner<'_>>,
    ) -> Result<ToolCommand> {
        let owner = owner.map_or(SPEC.admin_user, |o| o.role);
        Ok(shell_tool(
            "mongorestore",
            "umask 077; f=$(mktemp); printf 'password: \"%s\"\\n' \"$DOCKHAND_PW\" > \"$f\"; \
                 mongorestore --quiet --archive --nsFrom \"$DOCKHAND_FROM.*\" --nsTo \"$DOCKHAND_DB.*\" -u \"$DOCKHAND_ADMIN\" --authenticationDatabase admin --config \"$f\"; \
                 rc=$?; rm -f \"$f\"; exit $rc",
            vec![
                format!("DOCKHAND_PW={password}"),
                format!("DOCKHAND_DB={database}"),
                format!("DOCKHAND_FROM={owner}"),
                format!("DOCKHAND_ADMIN={}", SPEC.admin_user),
            ],
        ))
    }

    fn restore_strategy(&self) -> RestoreStrategy {
        RestoreStrategy::Unsupported(
            "restoring a MongoDB archive is not supported by Dockhand yet; the file is a standard \
             `mongodump --archive`: restore it with `mongorestore --archive` inside the container",
        )
    }
}
