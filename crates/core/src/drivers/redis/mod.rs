//! Redis, official `redis` image. Redis has no password variable; Dockhand writes a config file
//! with `requirepass` (so the password is in neither the environment nor `ps`) and passes its
//! path as the command, which the official entrypoint hands to `redis-server`.

mod probe;
mod provision;

pub use provision::ACL_RULES;

use std::time::Duration;

use async_trait::async_trait;

use super::{
    shell_tool, starts_with, tool, BackupUnit, BusyScript, Driver, RestoreStrategy, ToolCommand,
    UrlVariable,
};
use crate::drivers::Connection;
use crate::drivers::Grant;
use crate::drivers::{ContainerSetup, KindSpec, SECRET_DIR};
use crate::engine::ContainerFile;
use crate::drivers::{ProbeError, ProbeTarget};
use crate::engine::Engine;
use crate::error::Result;

pub(super) struct Redis;

const SPEC: KindSpec = KindSpec {
    id: "redis",
    display_name: "Redis",
    aliases: &[],
    image_repo: "redis",
    default_version: "7",
    // No 6.x: Redis 6 ACLs cannot deny subcommands (`-script|flush`, `-client|tracking`), so a
    // shared Redis 6 could not keep one project out of another's scripts and key names.
    versions: &["7", "7.0", "7.2", "7.4", "8"],
    container_port: 6379,
    default_host_port: 6379,
    data_path: "/data",
    admin_user: "default",
    url_scheme: "redis",
    ready_deadline: Duration::from_secs(30),
    stop_timeout: Duration::from_secs(15),
    server_uid: 999,
};

/// A script running longer than this makes Redis answer BUSY to everyone else.
pub const BUSY_REPLY_MS: u64 = 5000;
/// Connections the server accepts, all users together.
pub const MAX_CLIENTS: u32 = 10000;

fn setup(admin_password: &str) -> ContainerSetup {
    // appendonly: a developer's data survives a crash of the container, not only a clean stop —
    // and a server shut down without saving to end a runaway script keeps everything written
    // before that script (its own writes reach the file only when it returns).
    // lua-time-limit (`busy-reply-threshold` in Redis 7, which accepts both names): after this
    // many ms a running script no longer blocks other clients silently — they get BUSY, and the
    // supervisor ends the script (`Manager::end_busy_script`). Stated, not left to the default.
    // maxclients: Redis has no per-user connection limit and keeps no slot for its admin; 10000
    // (Redis's default, stated) is far above what one developer's apps open, and the container's
    // open-file limit must stay above it (+32) or Redis lowers it silently.
    let conf = format!(
        "requirepass {admin_password}\nprotected-mode no\nappendonly yes\ndir /data\nmaxmemory-policy noeviction\nrepl-diskless-sync-delay 0\nlua-time-limit {BUSY_REPLY_MS}\nmaxclients {MAX_CLIENTS}\n"
    );
    ContainerSetup {
        env: vec![],
        cmd: vec!["redis-server".into(), format!("{SECRET_DIR}/redis.conf")],
        files: vec![ContainerFile {
            path: format!("{SECRET_DIR}/redis.conf"),
            contents: conf.into_bytes(),
            mode: 0o400,
            uid: SPEC.server_uid,
        }],
    }
}

/// The key (and channel) prefix a project's user is confined to.
pub fn key_prefix(database: &str) -> String {
    format!("{database}:")
}

#[async_trait]
impl Driver for Redis {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    fn container_setup(&self, _version: &str, admin_password: &str) -> ContainerSetup {
        setup(admin_password)
    }

    async fn probe(
        &self,
        target: &ProbeTarget,
        _limit: Duration,
    ) -> std::result::Result<(), ProbeError> {
        probe::probe(target).await
    }

    fn admin_url_path(&self) -> &'static str {
        "/0"
    }

    /// One keyspace for all projects: the URL names database 0 and the user confines the keys.
    fn url(&self, c: &Connection<'_>) -> String {
        format!(
            "{}://{}@{}:{}/0",
            SPEC.url_scheme,
            super::userinfo(c),
            c.host,
            c.port
        )
    }

    fn url_variable(&self) -> UrlVariable {
        UrlVariable {
            own: "REDIS_URL",
            database_url_rank: None,
        }
    }

    fn extra_variables(&self, c: &Connection<'_>) -> Vec<(&'static str, String)> {
        vec![("REDIS_KEY_PREFIX", key_prefix(c.database))]
    }

    fn main_database_rank(&self) -> u8 {
        4
    }

    async fn provision(
        &self,
        _engine: &dyn Engine,
        _container: &str,
        admin: &ProbeTarget,
        grant: &Grant<'_>,
    ) -> Result<()> {
        provision::provision(admin, grant).await
    }

    async fn verify(&self, host: &str, port: u16, grant: &Grant<'_>) -> bool {
        provision::verify(host, port, grant).await
    }

    /// The user, then every key under the project's prefix; returns how many keys went.
    async fn drop_grant(&self, admin: &ProbeTarget, grant: &Grant<'_>) -> Result<Option<u64>> {
        provision::drop(admin, grant, provision::DROP_DEADLINE)
            .await
            .map(Some)
    }

    /// Its user owns nothing, and the keys stay where they are under the prefix.
    fn revoked_on_detach(&self) -> bool {
        true
    }

    async fn revoke(&self, admin: &ProbeTarget, user: &str) -> Result<()> {
        provision::revoke(admin, user).await
    }

    fn key_prefix(&self, database: &str) -> Option<String> {
        Some(key_prefix(database))
    }

    async fn end_busy_script(&self, admin: &ProbeTarget) -> Result<BusyScript> {
        provision::end_busy_script(admin).await
    }

    fn dump_extension(&self) -> &'static str {
        "rdb"
    }

    /// `--rdb -` streams the snapshot the server makes for a replica to stdout. Redis waits
    /// `repl-diskless-sync-delay` (5 s) for more replicas before sending one: not for us.
    fn dump(&self, password: &str, _database: &str) -> ToolCommand {
        shell_tool(
            "redis-cli",
            "redis-cli --no-auth-warning CONFIG SET repl-diskless-sync-delay 0 >/dev/null && \
                 exec redis-cli --no-auth-warning --rdb -",
            vec![format!("REDISCLI_AUTH={password}")],
        )
    }

    fn dump_tool_version(&self) -> ToolCommand {
        tool("redis-cli", &["--version"], vec![])
    }

    fn backup_unit(&self) -> BackupUnit {
        BackupUnit::WholeServer
    }

    fn check_dump(&self, head: &[u8], _tail: &[u8]) -> std::result::Result<(), String> {
        starts_with(head, b"REDIS", "a Redis RDB snapshot")
    }

    fn restore(&self, _password: &str, _database: &str, _owner: &str) -> Result<ToolCommand> {
        Err(crate::error::CoreError::InvalidInput(
            RESTORE_UNSUPPORTED.into(),
        ))
    }

    fn restore_strategy(&self) -> RestoreStrategy {
        RestoreStrategy::Unsupported(RESTORE_UNSUPPORTED)
    }
}

const RESTORE_UNSUPPORTED: &str = "restoring a Redis snapshot replaces the whole server and is not supported by Dockhand yet; \
     the .rdb file is a standard Redis snapshot (stop the service, copy it to /data/dump.rdb with appendonly off)";
