//! One driver per kind of database server. A driver owns everything Dockhand knows about its
//! kind: the image contract (`KindSpec`, container set-up), the readiness probe, provisioning
//! and the isolation rules of a project's database and user, the URL and variables a project
//! gets, and the dump, restore and SQL tools run inside the container.
//!
//! The rest of the core asks `kind.driver()` and never matches on a kind. Adding a kind is a
//! folder here and one line in [`registry!`] below. Kinds that share a protocol share a module
//! (`mysql_family` for MariaDB and MySQL; the Redis protocol code lives with Redis).

pub mod adoption;
mod contract;
#[cfg(test)]
pub(crate) mod fake;
mod import;
mod mariadb;
mod mongo;
mod mssql;
mod mysql;
pub(crate) mod mysql_family;
mod postgres;
mod redis;
pub(crate) mod redis_family;
#[cfg(test)]
mod seam;
pub mod upgrade;
mod valkey;

pub use contract::*;
pub use import::{FileFormat, ImportInput, ImportTo, Importer, SqlLineFilter};

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::Result;

/// Declares the kinds: the `Kind` enum (serialised as its lowercase name, which is also the id
/// in labels, the store and on the command line) and the one place a kind meets its driver.
macro_rules! registry {
    ($($variant:ident => $driver:expr),+ $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum Kind {
            $($variant),+
        }

        impl Kind {
            pub const ALL: [Kind; [$(stringify!($variant)),+].len()] = [$(Kind::$variant),+];

            /// Everything Dockhand knows about this kind.
            pub fn driver(self) -> &'static dyn Driver {
                match self {
                    $(Kind::$variant => &$driver),+
                }
            }
        }
    };
}

registry! {
    Postgres => postgres::Postgres,
    Redis => redis::REDIS,
    Mariadb => mariadb::MARIADB,
    Mysql => mysql::MYSQL,
    Mongo => mongo::Mongo,
    Valkey => valkey::VALKEY,
    Mssql => mssql::Mssql,
}

/// Which variable holds a connection's URL. `DATABASE_URL` is the one most frameworks read: it
/// goes to the project's connection with the best `database_url_rank`; the others keep `own`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlVariable {
    pub own: &'static str,
    /// `Some(rank)` when this kind may be the project's `DATABASE_URL` (lower wins).
    pub database_url_rank: Option<u8>,
}

/// What a backup of a service covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupUnit {
    /// One snapshot of the whole server (Redis RDB); named [`WHOLE_SERVER`].
    WholeServer,
    /// Every database the server lists ([`SqlDialect::list_databases`]), one dump each.
    EachDatabase,
    /// The databases of the projects attached to it (the server cannot be asked cheaply).
    ProjectDatabases,
}

/// How a dump is restored so that a kill at any moment leaves the target as it was.
pub enum RestoreStrategy {
    /// Into a scratch database, renamed over the target in one transaction once complete.
    ScratchThenRename(&'static dyn RenamingRestore),
    /// Into the target itself, created by the restore and marked as unfinished until complete
    /// (kinds without a database rename).
    MarkedInPlace(&'static dyn MarkedRestore),
    /// Not supported: why, and what the user can do instead.
    Unsupported(&'static str),
}

/// What [`Driver::end_busy_script`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusyScript {
    /// The server answers: nothing to do.
    NotBusy,
    /// A script that had not written was stopped (Redis `SCRIPT KILL`/`FUNCTION KILL`).
    Killed,
    /// The script had written (UNKILLABLE): the server was shut down without saving. With the
    /// append-only file on, what was written before the script is kept and the script's own
    /// writes, propagated only when a script returns, are discarded. The caller starts it again.
    ShutDown,
}

/// A readability check of a dump the server's own tool can run from a stream.
pub struct ReadabilityCheck {
    pub tool: ToolCommand,
    /// Reads the tool's output: how many entries it found.
    pub entries: fn(&[u8]) -> usize,
    /// Names the check in messages (`pg_restore --list`).
    pub name: &'static str,
}

/// Extensions on a server, always as its admin: a project's user may not create them.
#[async_trait]
pub trait ExtensionSql: Send + Sync {
    /// Which of `names` the server cannot create (its image does not have them).
    async fn missing(&self, admin: &ProbeTarget, names: &[&str]) -> Result<Vec<String>>;

    /// `CREATE EXTENSION IF NOT EXISTS` each of `names` in `database`.
    async fn create(&self, admin: &ProbeTarget, database: &str, names: &[&str]) -> Result<()>;
}

/// A kind of database server.
#[async_trait]
pub trait Driver: Send + Sync {
    // --- The image contract ---

    /// Image, versions, ports, paths, admin user and deadlines.
    fn spec(&self) -> &'static KindSpec;

    /// Where the data volume (or an ephemeral tmpfs) is mounted in a container of `version`:
    /// the spec's `data_path`, unless the image's layout changed with a version.
    fn data_path(&self, _version: &str) -> &'static str {
        self.spec().data_path
    }

    /// Environment, command line and files (secrets, config) of a new container, in the
    /// service's mode (with [`Driver::fast_settings`] when it is fast).
    fn container_setup(
        &self,
        version: &str,
        admin_password: &str,
        run: &RunOptions,
    ) -> ContainerSetup;

    /// The durability settings `--fast` turns off, as (setting, value) for messages; empty when
    /// the kind has no fast mode (then `--fast` is refused).
    fn fast_settings(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// The memory limit of a new service in MB (an ephemeral one gets as much again for its
    /// data): the server's measured idle use with headroom for a shared development server.
    fn default_memory_mb(&self) -> u32 {
        512
    }

    /// Whether the server can keep its data on a tmpfs (`--ephemeral`).
    fn data_on_tmpfs(&self) -> bool {
        true
    }

    /// Applies a changed memory limit to the running server, for kinds whose own settings
    /// follow the limit (Redis `maxmemory`). The engine changes the limit itself.
    async fn apply_memory_limit(&self, _admin: &ProbeTarget, _run: &RunOptions) -> Result<()> {
        Ok(())
    }

    /// The image tag of a version (`17` → `17`; SQL Server's `2022` → `2022-latest`).
    fn image_tag(&self, version: &str) -> String {
        version.to_string()
    }

    /// Whether a server of version `wanted` opens data written by version `had`.
    fn opens_data_of(&self, _had: &str, _wanted: &str) -> bool {
        true
    }

    // --- Readiness ---

    /// One authenticated protocol round trip as the admin. The caller bounds it by `limit`.
    async fn probe(
        &self,
        target: &ProbeTarget,
        limit: Duration,
    ) -> std::result::Result<(), ProbeError>;

    // --- URLs and variables ---

    /// The admin URL's path and query (`/postgres`, `/0`, `/?authSource=admin`).
    fn admin_url_path(&self) -> &'static str;

    /// The admin URL: `scheme://admin:password@host:port<admin_url_path>`, user and password
    /// percent-encoded; kinds whose clients take another form (SQL Server) say so here.
    fn admin_url(&self, host: &str, port: u16, password: &str) -> String {
        let spec = self.spec();
        format!(
            "{}://{}:{}@{host}:{port}{}",
            spec.url_scheme,
            encode_userinfo(spec.admin_user),
            encode_userinfo(password),
            self.admin_url_path()
        )
    }

    /// A project's URL, user and password percent-encoded.
    fn url(&self, c: &Connection<'_>) -> String {
        format!(
            "{}://{}@{}:{}/{}",
            self.spec().url_scheme,
            userinfo(c),
            c.host,
            c.port,
            c.database
        )
    }

    /// Which variable carries the URL.
    fn url_variable(&self) -> UrlVariable;

    /// The variables besides the URL (`PGHOST`, `MYSQL_USER`, `REDIS_KEY_PREFIX`, …).
    fn extra_variables(&self, _c: &Connection<'_>) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The JDBC URL of a project's database (`jdbc:postgresql://host:port/db`), for kinds a JVM
    /// driver reaches: `JDBC_DATABASE_URL` when the connection is the project's main database.
    /// Without the user and password, which go to `JDBC_DATABASE_USERNAME`/`_PASSWORD`.
    fn jdbc_url(&self, _c: &Connection<'_>) -> Option<String> {
        None
    }

    /// Which of a project's services `dockhand url <project>` means by default (lower first).
    fn main_database_rank(&self) -> u8;

    /// The kind's interactive client for `c` ("Open in terminal", `dockhand connect`); `None`
    /// for kinds without one Dockhand can hand the password to safely.
    fn client(&self, _c: &Connection<'_>) -> Option<ClientCommand> {
        None
    }

    // --- Provisioning and isolation ---

    /// Creates (or re-applies) a project's database and least-privilege user, as the admin.
    async fn provision(
        &self,
        engine: &dyn Engine,
        container: &str,
        admin: &ProbeTarget,
        grant: &Grant<'_>,
    ) -> Result<()>;

    /// Whether the project's user already logs in to its database with its password and the
    /// isolation rules are in place (then nothing needs re-applying). Any doubt: false.
    async fn verify(&self, _host: &str, _port: u16, _grant: &Grant<'_>) -> bool {
        false
    }

    /// What the server already has under the names a new grant would take (its user, its
    /// database or key prefix): `Some(what)`, described for the user. Asked before Dockhand
    /// provisions a user it has no record of creating, so that it never takes over one it did
    /// not create. Kinds that cannot tell answer `None` (MongoDB and SQL Server, whose servers
    /// Dockhand only ever creates itself: they cannot be adopted).
    async fn already_taken(
        &self,
        _admin: &ProbeTarget,
        _grant: &Grant<'_>,
    ) -> Result<Option<String>> {
        Ok(None)
    }

    /// Removes a project's database and user (the caller has backed it up). Returns how many
    /// keys were deleted for kinds counted in keys.
    async fn drop_grant(&self, admin: &ProbeTarget, grant: &Grant<'_>) -> Result<Option<u64>>;

    /// Whether the project's database still exists (kinds without one: true).
    async fn database_exists(&self, _admin: &ProbeTarget, _database: &str) -> Result<bool> {
        Ok(true)
    }

    /// Whether a project's user is deleted when it detaches (it owns nothing that stays).
    fn revoked_on_detach(&self) -> bool {
        false
    }

    /// Deletes a project's user (see [`Driver::revoked_on_detach`]).
    async fn revoke(&self, _admin: &ProbeTarget, _user: &str) -> Result<()> {
        Ok(())
    }

    /// The key prefix a project is confined to, for kinds that share one keyspace.
    fn key_prefix(&self, _database: &str) -> Option<String> {
        None
    }

    /// Ends a script that keeps the whole server busy, for kinds where one can (Redis).
    async fn end_busy_script(&self, _admin: &ProbeTarget) -> Result<BusyScript> {
        Ok(BusyScript::NotBusy)
    }

    // --- Backups ---

    /// The file extension of a dump.
    fn dump_extension(&self) -> &'static str;

    /// The command (run in the container) that writes a dump of `database` to stdout.
    fn dump(&self, password: &str, database: &str) -> ToolCommand;

    /// The command that writes `database` as SQL text, for an export to a `.sql` file: the
    /// dump itself where it is SQL already, another form of it where the kind's own dump is not
    /// (PostgreSQL's custom archive); `None` for kinds without SQL dumps.
    fn dump_sql(&self, _password: &str, _database: &str) -> Option<ToolCommand> {
        None
    }

    /// The command that prints the dump tool's version.
    fn dump_tool_version(&self) -> ToolCommand;

    /// What a backup of the whole service covers.
    fn backup_unit(&self) -> BackupUnit;

    /// Checks a dump's first and last bytes: `Err(why)` when it is not a complete dump.
    fn check_dump(&self, head: &[u8], tail: &[u8]) -> std::result::Result<(), String>;

    /// A deeper check the server's tool can make of a dump fed on stdin.
    fn readability_check(&self) -> Option<ReadabilityCheck> {
        None
    }

    /// The command that reads a dump from stdin into `database` (which exists and is empty):
    /// the dump's objects become `owner`'s (the admin's when `None`). A dump's content is its
    /// owner's code; kinds where loading it can run that code run it as `owner`.
    fn restore(
        &self,
        admin_password: &str,
        database: &str,
        owner: Option<&DatabaseOwner<'_>>,
    ) -> Result<ToolCommand>;

    /// How a restore stays safe against a kill.
    fn restore_strategy(&self) -> RestoreStrategy;

    /// Why the restore tool refused a dump (its exit code and words), when it refused one on
    /// purpose rather than failed; `None`: a failure.
    fn restore_refusal(&self, _code: i64, _stderr: &str) -> Option<String> {
        None
    }

    /// The SQL dialect of kinds with SQL databases.
    fn sql(&self) -> Option<&dyn SqlDialect> {
        None
    }

    /// How files written elsewhere are imported into a project's database (`dockhand import`);
    /// `None` for kinds that cannot import into one project's share of the server.
    fn importer(&self) -> Option<&dyn Importer> {
        None
    }

    /// How its data moves to a newer major version (`dockhand upgrade`); `None`: not supported.
    fn major_upgrade(&self) -> Option<&dyn upgrade::MajorUpgrade> {
        None
    }

    /// Creating extensions in a project's database, for kinds that have them (PostgreSQL).
    /// Image repositories of this kind's family (`postgres`, `postgis`, `pgvector`): how
    /// `dockhand detect` recognises a container of it. Default: the kind's own image.
    fn image_families(&self) -> Vec<&'static str> {
        vec![adoption::image_family(self.spec().image_repo)]
    }

    /// How containers of this kind that Dockhand did not create are adopted, if they can be.
    fn adoption(&self) -> Option<&dyn adoption::Adoption> {
        None
    }

    /// Copies inside the server (restore points); `None`: the kind has none yet.
    fn copies(&self) -> Option<&dyn DatabaseCopies> {
        None
    }

    fn extensions(&self) -> Option<&dyn ExtensionSql> {
        None
    }

    /// Why a whole-service backup found nothing to back up.
    fn nothing_to_back_up(&self) -> &'static str {
        "it has no databases yet"
    }
}

/// Statements and the admin's SQL client, for kinds with SQL databases.
pub trait SqlDialect: Send + Sync {
    /// Runs one statement as the admin, connected to `database` where the kind connects to one;
    /// tab-separated rows on stdout.
    fn admin_sql(&self, password: &str, database: &str, statement: &str) -> ToolCommand;

    /// The database an admin session connects to for statements about `target` (PostgreSQL
    /// cannot rename or drop the database a session is connected to).
    fn maintenance_database(&self, target: &str) -> &'static str;

    /// Lists every database a user can have written to, whatever its flags (a database marked
    /// as a template or closed to connections is one too): not the server's own system schemas
    /// and pristine templates.
    fn list_databases(&self) -> &'static str;

    /// Lists the databases that take no connections (PostgreSQL's `ALLOW_CONNECTIONS false`):
    /// no dump tool can read them, so a backup or an upgrade says so rather than skip them.
    fn closed_databases(&self) -> Option<&'static str> {
        None
    }

    fn drop_database(&self, name: &str) -> String;

    /// Counts other sessions connected to, or running statements about, any of `names`.
    fn sessions_on(&self, names: &[&str]) -> String;

    /// The server's own databases: listed as such, never dropped by Dockhand.
    fn server_databases(&self) -> &'static [&'static str] {
        &[]
    }
}

/// A database's owner (a project's role) and the password it logs in with.
pub struct DatabaseOwner<'a> {
    pub role: &'a str,
    pub password: &'a str,
}

/// The PostgreSQL-style restore: scratch database, then a rename in one transaction.
pub trait RenamingRestore: Send + Sync {
    /// Statements, each run on its own, that create the empty scratch database, which only the
    /// admin can reach until it is handed over.
    fn create_scratch(&self, scratch: &str) -> Vec<String>;
    /// Gives a database the admin made to `owner` (ownership, the right to connect), for a
    /// content the admin fills in (an import's SQL file) rather than the kind's restore tool,
    /// which does it itself; `None`: nothing to do.
    fn hand_over(&self, database: &str, owner: &str) -> Option<String>;
    /// Puts `scratch` in `target`'s place; with `replaced`, the current target steps aside under
    /// that name first (its sessions ended), both in one transaction.
    fn swap(&self, target: &str, scratch: &str, replaced: Option<&str>) -> String;
    /// Whether a failed swap is worth retrying (a session ended a moment ago still on its way out).
    fn swap_retryable(&self, stderr: &str) -> bool;

    // Keeping the project out of a database about to be replaced, from its last backup to the
    // swap, so that nothing it writes meanwhile is lost. `connection_limit` is `None` for kinds
    // that cannot (then the others are not asked for).

    /// A query printing the database's own connection limit (put back afterwards).
    fn connection_limit(&self, _database: &str) -> Option<String> {
        None
    }
    /// Nobody but the admin may connect, and every other session is ended.
    fn close(&self, _database: &str) -> String {
        String::new()
    }
    /// A query printing how many sessions of others are still there.
    fn others_connected(&self, _database: &str) -> String {
        String::new()
    }
    /// Puts a connection limit back.
    fn reopen(&self, _database: &str, _limit: i64) -> String {
        String::new()
    }
}

/// Copies of a database made inside the server, for restore points: PostgreSQL's
/// `CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY`, which copies the files (no dump, no
/// replay) and is all or nothing — a copy the server lists is complete.
pub trait DatabaseCopies: Send + Sync {
    /// Statements making `copy` of `source`, the admin's and closed to every connection (so
    /// the project's user, owner of the objects inside, can neither read nor change it). The
    /// server refuses while anyone is connected to `source`. `version`: the server's (the
    /// statement's options differ between versions).
    fn copy_closed(&self, version: &str, source: &str, copy: &str) -> Vec<String>;
    /// Statements making `scratch` from the closed `copy`: only the admin can reach it, until it
    /// is handed over (`RenamingRestore::hand_over`).
    fn copy_to_scratch(&self, version: &str, copy: &str, scratch: &str) -> Vec<String>;
    /// Statements giving a copy the admin made to `owner`, the only user who may connect to it
    /// besides the admin (a branch's database).
    fn hand_over(&self, copy: &str, owner: &str) -> Vec<String>;
    /// Whether a failed copy failed because someone is connected to its source.
    fn source_in_use(&self, stderr: &str) -> bool;
    /// A query printing how many sessions (the admin's aside) are connected to `database`.
    fn sessions_on(&self, database: &str) -> String;
    /// Ends the sessions connected to `database` but the admin's (a backup in progress is not
    /// cut short: the copy then waits for it, or says so) and prints how many there were.
    fn end_sessions_on(&self, database: &str) -> String;
    /// Ends every session working on `name` — connected to it, or running a statement that
    /// names it (a copy a killed process left running) — and prints how many there were.
    fn end_work_on(&self, name: &str) -> String;
    /// A query printing a database's size in bytes.
    fn size(&self, database: &str) -> String;
    /// A query printing `database|sessions` for each of `databases` that has sessions (the
    /// admin's aside).
    fn sessions_per(&self, databases: &[&str]) -> String;
    /// One query printing `size|sessions` of a database (a copy's checks in one round trip).
    fn size_and_sessions(&self, database: &str) -> String {
        format!(
            "SELECT ({}), ({})",
            self.size(database),
            self.sessions_on(database)
        )
    }
}

/// The MariaDB/MySQL-style restore: the target created by the restore, marked until complete.
pub trait MarkedRestore: Send + Sync {
    fn create_database(&self, name: &str) -> String;
    fn create_marker(&self, database: &str, marker: &str) -> String;
    fn drop_marker(&self, database: &str, marker: &str) -> String;
    /// One row: the number of tables in `database` and how many of them are `marker`.
    fn marker_state(&self, database: &str, marker: &str) -> String;
    /// Keeps a project's user from connecting (its sessions go on until ended).
    fn lock_user(&self, user: &str) -> String;
    /// Lets a project's user connect again.
    fn unlock_user(&self, user: &str) -> String;
    /// A query printing the ids of the user's sessions, one per line.
    fn sessions_of(&self, user: &str) -> String;
    /// Ends a session.
    fn end_session(&self, id: u64) -> String;
    /// A statement an import's own session runs first, taking a named lock by which the admin
    /// finds that session (and spares it, when it locks the project out).
    fn take_lock(&self, name: &str) -> String;
    /// A query printing the id of the session holding the named lock (`NULL`: none).
    fn lock_holder(&self, name: &str) -> String;
}

/// `user:password`, percent-encoded.
pub fn userinfo(c: &Connection<'_>) -> String {
    format!(
        "{}:{}",
        encode_userinfo(c.user),
        encode_userinfo(c.password)
    )
}

/// A tool command running `program` with the given arguments and environment.
pub(crate) fn tool(program: &'static str, args: &[&str], env: Vec<String>) -> ToolCommand {
    ToolCommand {
        cmd: std::iter::once(program)
            .chain(args.iter().copied())
            .map(String::from)
            .collect(),
        env,
        program,
        user: None,
    }
}

/// A shell script (for what needs a temporary file or two steps) that runs `program`.
pub(crate) fn shell_tool(program: &'static str, script: &str, env: Vec<String>) -> ToolCommand {
    ToolCommand {
        cmd: ["sh", "-c", script].map(String::from).to_vec(),
        env,
        program,
        user: None,
    }
}

/// Checks a dump's head for the magic bytes of its format.
pub(crate) fn starts_with(
    head: &[u8],
    magic: &[u8],
    what: &str,
) -> std::result::Result<(), String> {
    head.starts_with(magic)
        .then_some(())
        .ok_or_else(|| format!("not {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_driver_that_names_it() {
        for kind in Kind::ALL {
            let spec = kind.driver().spec();
            assert_eq!(spec.id, serde_json::to_value(kind).unwrap(), "{kind:?}");
            assert!(!spec.display_name.is_empty());
        }
    }

    #[test]
    fn a_client_gets_the_password_from_its_environment_never_its_arguments() {
        let mut with_client = Vec::new();
        for kind in Kind::ALL {
            let c = Connection {
                kind,
                host: "127.0.0.1",
                port: 5999,
                database: "shop",
                user: "shop",
                password: "pw-Secret-42",
            };
            let Some(client) = kind.driver().client(&c) else {
                continue;
            };
            with_client.push(kind.as_str());
            assert!(!client.programs.is_empty() && !client.install.is_empty());
            assert!(
                client.args.iter().all(|a| !a.contains("pw-Secret-42")),
                "{kind:?}: {:?}",
                client.args
            );
            assert!(
                client.env.iter().any(|(_, v)| v == "pw-Secret-42"),
                "{kind:?}: the password goes nowhere"
            );
            let all: String = client.args.join(" ")
                + &client
                    .env
                    .iter()
                    .map(|(_, v)| v.as_str())
                    .collect::<String>();
            assert!(all.contains("5999") && all.contains("shop"), "{kind:?}");
        }
        assert_eq!(
            with_client,
            ["postgres", "redis", "mariadb", "mysql", "valkey"]
        );
    }

    #[test]
    fn kinds_with_sql_restore_with_a_strategy_and_list_their_databases() {
        for kind in Kind::ALL {
            let d = kind.driver();
            if d.backup_unit() == BackupUnit::EachDatabase {
                assert!(d.sql().is_some(), "{kind}: lists databases without SQL");
            }
        }
    }
}
