//! Redis and servers that speak its protocol and ACLs (Valkey): the code their drivers share.
//! Each driver's [`RedisFamily`] value says what differs (image contract, programs, name).
//!
//! Isolation on a shared server is by ACL users confined to a key prefix; the rules and why are
//! in `provision.rs`.

mod adoption;
mod probe;
mod provision;
mod upgrade;

use std::time::Duration;

use async_trait::async_trait;

use super::{
    shell_tool, starts_with, tool, BackupUnit, BusyScript, Connection, ContainerSetup, Driver,
    Grant, Kind, KindSpec, ProbeError, ProbeTarget, RestoreStrategy, RunOptions, ToolCommand,
    UrlVariable, SECRET_DIR,
};
use crate::engine::{ContainerFile, Engine};
use crate::error::Result;

/// One server of the Redis family.
pub(crate) struct RedisFamily {
    pub kind: Kind,
    pub spec: &'static KindSpec,
    /// The server program the image's entrypoint runs (`redis-server`).
    pub server: &'static str,
    /// The command-line client in the image (`redis-cli`).
    pub cli: &'static str,
    /// Its URL variable (`REDIS_URL`).
    pub url_variable: &'static str,
    pub main_database_rank: u8,
}

/// A script running longer than this makes the server answer BUSY to everyone else.
pub const BUSY_REPLY_MS: u64 = 5000;
/// Connections the server accepts, all users together.
pub const MAX_CLIENTS: u32 = 10000;

/// The key (and channel) prefix a project's user is confined to.
pub fn key_prefix(database: &str) -> String {
    format!("{database}:")
}

/// What `--fast` changes: the append-only file stays on (a stop or a crash of the server keeps
/// what the OS holds) but is never fsynced by Redis — the OS writes it out, usually within 30 s,
/// so a crash of the machine can lose that much; and no periodic RDB snapshots (`save ""`): with
/// the append-only file on they are not what a restart loads, and each one forks the server and
/// rewrites the whole data set. Backups (`--rdb`) are unaffected.
const FAST: &[(&str, &str)] = &[("appendfsync", "no"), ("save", "\"\"")];

/// `maxmemory` as a share of the container's limit: Redis refuses writes (`OOM command not
/// allowed`, with `noeviction`) before the kernel would kill it; the rest is for client
/// buffers and the copy-on-write of the fork that rewrites the append-only file.
pub fn maxmemory_bytes(limit_mb: u32) -> u64 {
    u64::from(limit_mb) * 1024 * 1024 * 3 / 4
}

impl RedisFamily {
    fn setup(&self, admin_password: &str, run: &RunOptions) -> ContainerSetup {
        // The server has no password variable: a config file with `requirepass` keeps the
        // password out of the environment and `ps`; its path is the command, which the official
        // entrypoint hands to the server.
        // appendonly: a developer's data survives a crash of the container, not only a clean
        // stop — and a server shut down without saving to end a runaway script keeps everything
        // written before that script (its own writes reach the file only when it returns).
        // lua-time-limit (`busy-reply-threshold` in Redis 7, which accepts both names): after
        // this many ms a running script no longer blocks other clients silently — they get BUSY,
        // and the supervisor ends the script (`Manager::end_busy_script`). Stated, not left to
        // the default.
        // maxclients: no per-user connection limit exists and no slot is kept for the admin;
        // 10000 (the default, stated) is far above what one developer's apps open, and the
        // container's open-file limit must stay above it (+32) or the server lowers it silently.
        let mut conf = format!(
            "requirepass {admin_password}\nprotected-mode no\nappendonly yes\ndir /data\nmaxmemory-policy noeviction\nrepl-diskless-sync-delay 0\nlua-time-limit {BUSY_REPLY_MS}\nmaxclients {MAX_CLIENTS}\n"
        );
        // An ephemeral server's /data is in memory and gone when it stops: writing the data
        // set there again would only double what it holds in memory.
        if run.mode.ephemeral {
            conf.push_str("appendonly no\nsave \"\"\n");
        } else if run.mode.fast {
            for (name, value) in FAST {
                conf.push_str(&format!("{name} {value}\n"));
            }
        }
        // noeviction (above): a full server refuses writes rather than evicting another
        // project's keys.
        if let Some(mb) = run.memory_mb {
            conf.push_str(&format!("maxmemory {}\n", maxmemory_bytes(mb)));
        }
        let path = format!("{SECRET_DIR}/{}.conf", self.spec.id);
        ContainerSetup {
            env: vec![],
            cmd: vec![self.server.into(), path.clone()],
            files: vec![ContainerFile {
                path,
                contents: conf.into_bytes(),
                mode: 0o400,
                uid: self.spec.server_uid,
            }],
        }
    }
}

#[async_trait]
impl Driver for RedisFamily {
    fn spec(&self) -> &'static KindSpec {
        self.spec
    }

    fn container_setup(
        &self,
        _version: &str,
        admin_password: &str,
        run: &RunOptions,
    ) -> ContainerSetup {
        self.setup(admin_password, run)
    }

    fn fast_settings(&self) -> &'static [(&'static str, &'static str)] {
        FAST
    }

    /// Measured idle: 4.5 MiB (Redis 8, Valkey 8). What a Redis holds is its data set, shared by
    /// every project: 256 MB is far above a developer's caches and queues, and `maxmemory` (3/4
    /// of it) makes a full server refuse writes instead of being killed.
    fn default_memory_mb(&self) -> u32 {
        256
    }

    async fn apply_memory_limit(&self, admin: &ProbeTarget, run: &RunOptions) -> Result<()> {
        // 0: no maxmemory, as a server without a limit is set up.
        let bytes = run.memory_mb.map_or(0, maxmemory_bytes);
        provision::set_maxmemory(self.kind, admin, bytes).await
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
            self.spec.url_scheme,
            super::userinfo(c),
            c.host,
            c.port
        )
    }

    fn url_variable(&self) -> UrlVariable {
        UrlVariable {
            own: self.url_variable,
            database_url_rank: None,
        }
    }

    fn extra_variables(&self, c: &Connection<'_>) -> Vec<(&'static str, String)> {
        vec![("REDIS_KEY_PREFIX", key_prefix(c.database))]
    }

    fn main_database_rank(&self) -> u8 {
        self.main_database_rank
    }

    fn client(&self, c: &Connection<'_>) -> Option<super::ClientCommand> {
        // REDISCLI_AUTH: the password of `--user`, read from the environment.
        Some(super::ClientCommand {
            programs: if self.cli == "valkey-cli" {
                &["valkey-cli", "redis-cli"]
            } else {
                &["redis-cli", "valkey-cli"]
            },
            args: vec![
                "-h".into(),
                c.host.to_string(),
                "-p".into(),
                c.port.to_string(),
                "--user".into(),
                c.user.to_string(),
            ],
            env: vec![("REDISCLI_AUTH", c.password.to_string())],
            install: "redis-cli (Debian/Ubuntu: `sudo apt install redis-tools`; macOS: `brew install redis`)",
        })
    }

    async fn provision(
        &self,
        _engine: &dyn Engine,
        _container: &str,
        admin: &ProbeTarget,
        grant: &Grant<'_>,
    ) -> Result<()> {
        provision::provision(self.kind, admin, grant).await
    }

    async fn verify(&self, host: &str, port: u16, grant: &Grant<'_>) -> bool {
        provision::verify(host, port, grant).await
    }

    /// The user, then every key under the project's prefix; returns how many keys went.
    async fn already_taken(
        &self,
        admin: &ProbeTarget,
        grant: &Grant<'_>,
    ) -> Result<Option<String>> {
        provision::already_taken(self.kind, admin, grant).await
    }

    async fn drop_grant(&self, admin: &ProbeTarget, grant: &Grant<'_>) -> Result<Option<u64>> {
        provision::drop(self.kind, admin, grant, provision::DROP_DEADLINE)
            .await
            .map(Some)
    }

    /// Its user owns nothing, and the keys stay where they are under the prefix.
    fn revoked_on_detach(&self) -> bool {
        true
    }

    async fn revoke(&self, admin: &ProbeTarget, user: &str) -> Result<()> {
        provision::revoke(self.kind, admin, user).await
    }

    fn key_prefix(&self, database: &str) -> Option<String> {
        Some(key_prefix(database))
    }

    async fn end_busy_script(&self, admin: &ProbeTarget) -> Result<BusyScript> {
        provision::end_busy_script(self.kind, admin).await
    }

    fn adoption(&self) -> Option<&dyn crate::drivers::adoption::Adoption> {
        Some(&adoption::Adopt)
    }

    fn major_upgrade(&self) -> Option<&dyn super::upgrade::MajorUpgrade> {
        Some(match self.kind {
            Kind::Valkey => &upgrade::VALKEY_UPGRADE,
            _ => &upgrade::REDIS_UPGRADE,
        })
    }

    fn dump_extension(&self) -> &'static str {
        "rdb"
    }

    /// `--rdb -` streams the snapshot the server makes for a replica to stdout. Redis waits
    /// `repl-diskless-sync-delay` (5 s) for more replicas before sending one: not for us.
    fn dump(&self, password: &str, _database: &str) -> ToolCommand {
        shell_tool(
            self.cli,
            &format!(
                "{cli} --no-auth-warning CONFIG SET repl-diskless-sync-delay 0 >/dev/null && \
                 exec {cli} --no-auth-warning --rdb -",
                cli = self.cli
            ),
            vec![format!("REDISCLI_AUTH={password}")],
        )
    }

    fn dump_tool_version(&self) -> ToolCommand {
        tool(self.cli, &["--version"], vec![])
    }

    fn backup_unit(&self) -> BackupUnit {
        BackupUnit::WholeServer
    }

    fn check_dump(&self, head: &[u8], _tail: &[u8]) -> std::result::Result<(), String> {
        starts_with(head, b"REDIS", "an RDB snapshot")
    }

    fn restore(
        &self,
        _admin_password: &str,
        _database: &str,
        _owner: Option<&crate::drivers::DatabaseOwner<'_>>,
    ) -> Result<ToolCommand> {
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
