//! Microsoft SQL Server, official image `mcr.microsoft.com/mssql/server` (Linux, x86-64 only).
//!
//! CONTRACT ONLY: the image cannot be fetched on the test machines (no registry) nor built from
//! Debian packages, so this driver is tested against the image's documented contract — unit
//! tests on every statement, script and connection string, probes against stand-in servers, and
//! an end-to-end test that `dockhand up mssql` fails cleanly without the image
//! (crates/cli/tests/it/sqlserver.rs). It has never run against a real SQL Server here.
//!
//! The contract: `ACCEPT_EULA=Y`, `MSSQL_SA_PASSWORD` (8+ characters from 3 of 4 classes, or
//! the server does not start), `MSSQL_PID=Developer`; port 1433; data in `/var/opt/mssql`; the
//! server runs as uid 10001 (`mssql`); `sqlcmd` in `/opt/mssql-tools18/bin` (ODBC 18, `-C` to
//! trust the self-signed certificate) or `/opt/mssql-tools/bin` (older tags); tags
//! `2019-latest`, `2022-latest`, `2025-latest` and `<year>-CU<n>-ubuntu-<version>`. SQL Server
//! refuses to start with less than 2000 MB of memory ("This program requires a machine with at
//! least 2000 megabytes of memory"), and it counts a container's memory limit: a limit below
//! 2 GB is a server that never starts.

mod provision;
mod quote;
mod tds;
mod tools;

use std::time::Duration;

use async_trait::async_trait;

use super::{
    BackupUnit, Driver, ReadabilityCheck, RenamingRestore, RestoreStrategy, SqlDialect,
    ToolCommand, UrlVariable,
};
use crate::drivers::{
    Connection, ContainerSetup, Grant, KindSpec, ProbeError, ProbeTarget, UrlDatabase,
    ADMIN_PASSWORD_FILE,
};
use crate::engine::{ContainerFile, Engine};
use crate::error::Result;

use quote::{ado_value, ident, jdbc_value, literal, prisma_value};

pub(super) struct Mssql;

const SPEC: KindSpec = KindSpec {
    id: "mssql",
    display_name: "SQL Server",
    aliases: &["sqlserver", "sql-server"],
    image_repo: "mcr.microsoft.com/mssql/server",
    default_version: "2022",
    versions: &["2019", "2022", "2025"],
    container_port: 1433,
    default_host_port: 1433,
    data_path: "/var/opt/mssql",
    admin_user: "sa",
    url_scheme: "sqlserver",
    // Its clients' connection strings are not URLs (`sqlserver://h:1433;database=…`).
    url_schemes: &[],
    url_database: UrlDatabase::Named,
    drops_project_data: true,
    // A first start creates and upgrades the system databases: a minute or more.
    ready_deadline: Duration::from_secs(180),
    stop_timeout: Duration::from_secs(30),
    server_uid: 10001,
};

/// The image reads the sa password only from `MSSQL_SA_PASSWORD` (no `*_FILE` variant), and
/// Dockhand never puts a password in a container's configuration (`docker inspect` shows it):
/// the command reads the secret file into the variable for the server process alone. The
/// image's entrypoint (`permissions_check.sh`) runs the command it is given.
fn setup(admin_password: &str) -> ContainerSetup {
    if !quote::meets_password_policy(admin_password) {
        // Dockhand's own passwords always meet it (secrets::generate_password); one from
        // elsewhere may not, and the server would exit at its first start.
        tracing::warn!(
            "the sa password does not meet SQL Server's policy (8+ characters from 3 of: upper \
             case, lower case, digits, symbols): the server will refuse to start"
        );
    }
    ContainerSetup {
        env: ["ACCEPT_EULA=Y", "MSSQL_PID=Developer"]
            .map(String::from)
            .to_vec(),
        cmd: vec![
            "/bin/sh".into(),
            "-c".into(),
            format!(
                "MSSQL_SA_PASSWORD=\"$(cat {ADMIN_PASSWORD_FILE})\" && export MSSQL_SA_PASSWORD \
                 && exec /opt/mssql/bin/sqlservr"
            ),
        ],
        files: vec![ContainerFile {
            path: ADMIN_PASSWORD_FILE.into(),
            contents: admin_password.as_bytes().to_vec(),
            mode: 0o400,
            uid: SPEC.server_uid,
        }],
    }
}

/// A version line (`2022`) names the image's moving tag `2022-latest`; anything more precise
/// (`2022-CU14-ubuntu-22.04`) is a tag already.
fn image_tag(version: &str) -> String {
    if SPEC.versions.contains(&version) {
        format!("{version}-latest")
    } else {
        version.to_string()
    }
}

/// The `sqlserver://` URL Prisma reads (`sqlserver://host:port;database=…;user=…;password=…`),
/// with the properties SQL Server in a container needs: encryption on, its self-signed
/// certificate trusted.
fn prisma_url(host: &str, port: u16, database: &str, user: &str, password: &str) -> String {
    format!(
        "sqlserver://{host}:{port};database={};user={};password={};encrypt=true;trustServerCertificate=true",
        prisma_value(database),
        prisma_value(user),
        prisma_value(password)
    )
}

/// The ADO.NET (SqlClient, .NET) connection string.
fn ado_string(c: &Connection<'_>) -> String {
    format!(
        "Server={},{};Database={};User Id={};Password={};TrustServerCertificate=True",
        c.host,
        c.port,
        ado_value(c.database),
        ado_value(c.user),
        ado_value(c.password)
    )
}

/// The Microsoft JDBC driver's URL, credentials included.
fn jdbc_url(c: &Connection<'_>) -> String {
    format!(
        "jdbc:sqlserver://{}:{};databaseName={};user={};password={};encrypt=true;trustServerCertificate=true",
        c.host,
        c.port,
        jdbc_value(c.database),
        jdbc_value(c.user),
        jdbc_value(c.password)
    )
}

/// SQLAlchemy with pymssql (no ODBC driver to install): `mssql+pymssql://user:pw@host:port/db`.
fn sqlalchemy_url(c: &Connection<'_>) -> String {
    format!(
        "mssql+pymssql://{}@{}:{}/{}",
        super::userinfo(c),
        c.host,
        c.port,
        c.database
    )
}

#[async_trait]
impl Driver for Mssql {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    fn container_setup(
        &self,
        _version: &str,
        admin_password: &str,
        _run: &crate::drivers::RunOptions,
    ) -> ContainerSetup {
        setup(admin_password)
    }

    /// Microsoft's minimum: the server refuses to start with less than 2000 MB.
    fn default_memory_mb(&self) -> u32 {
        2048
    }

    /// SQL Server opens its files with O_DIRECT, which tmpfs refuses (error 17113,
    /// microsoft/mssql-docker#297).
    fn data_on_tmpfs(&self) -> bool {
        false
    }

    /// `mssql/server`, not any image called `server`.
    fn image_families(&self) -> Vec<&'static str> {
        vec!["mssql/server"]
    }

    fn image_tag(&self, version: &str) -> String {
        image_tag(version)
    }

    /// SQL Server upgrades a database's files in place when a newer version opens them, and
    /// cannot open files a newer version wrote.
    fn opens_data_of(&self, had: &str, wanted: &str) -> bool {
        let year = |v: &str| v.get(..4).and_then(|y| y.parse::<u16>().ok());
        matches!((year(had), year(wanted)), (Some(h), Some(w)) if w >= h)
    }

    async fn probe(
        &self,
        target: &ProbeTarget,
        limit: Duration,
    ) -> std::result::Result<(), ProbeError> {
        tds::probe(target, limit).await
    }

    fn admin_url_path(&self) -> &'static str {
        ""
    }

    fn admin_url(&self, host: &str, port: u16, password: &str) -> String {
        prisma_url(host, port, "master", SPEC.admin_user, password)
    }

    fn url(&self, c: &Connection<'_>) -> String {
        prisma_url(c.host, c.port, c.database, c.user, c.password)
    }

    /// `DATABASE_URL` when the project has neither PostgreSQL nor MariaDB/MySQL (Prisma reads
    /// this form from it), else `MSSQL_URL`.
    fn url_variable(&self) -> UrlVariable {
        UrlVariable {
            own: "MSSQL_URL",
            database_url_rank: Some(2),
        }
    }

    fn extra_variables(&self, c: &Connection<'_>) -> Vec<(&'static str, String)> {
        vec![
            ("MSSQL_HOST", c.host.into()),
            ("MSSQL_PORT", c.port.to_string()),
            ("MSSQL_USER", c.user.into()),
            ("MSSQL_PASSWORD", c.password.into()),
            ("MSSQL_DATABASE", c.database.into()),
            ("MSSQL_CONNECTION_STRING", ado_string(c)),
            ("MSSQL_JDBC_URL", jdbc_url(c)),
            ("MSSQL_SQLALCHEMY_URL", sqlalchemy_url(c)),
        ]
    }

    fn main_database_rank(&self) -> u8 {
        2
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

    async fn drop_grant(&self, admin: &ProbeTarget, grant: &Grant<'_>) -> Result<Option<u64>> {
        provision::drop(admin, grant).await.map(|_| None)
    }

    async fn database_exists(&self, admin: &ProbeTarget, database: &str) -> Result<bool> {
        provision::database_exists(admin, database).await
    }

    fn dump_extension(&self) -> &'static str {
        "bak"
    }

    fn dump(&self, password: &str, database: &str) -> ToolCommand {
        tools::dump(password, database)
    }

    fn dump_tool_version(&self) -> ToolCommand {
        tools::version()
    }

    fn backup_unit(&self) -> BackupUnit {
        BackupUnit::EachDatabase
    }

    /// A SQL Server backup is a Microsoft Tape Format file: it opens with the `TAPE` descriptor
    /// block.
    fn check_dump(&self, head: &[u8], _tail: &[u8]) -> std::result::Result<(), String> {
        super::starts_with(head, b"TAPE", "a SQL Server backup (Microsoft Tape Format)")
    }

    /// `RESTORE VERIFYONLY … WITH CHECKSUM`: the server itself reads the whole backup.
    fn readability_check(&self) -> Option<ReadabilityCheck> {
        Some(ReadabilityCheck {
            tool: tools::verify_only(),
            entries: tools::valid_sets,
            name: "RESTORE VERIFYONLY",
        })
    }

    /// `RESTORE DATABASE` reads the backup's pages into the files as they were: it runs none
    /// of the database's code, so the admin may do it.
    fn restore(
        &self,
        admin_password: &str,
        database: &str,
        owner: Option<&crate::drivers::DatabaseOwner<'_>>,
    ) -> Result<ToolCommand> {
        let owner = owner.map_or(SPEC.admin_user, |o| o.role);
        Ok(tools::restore(
            admin_password,
            database,
            owner,
            SPEC.admin_user,
        ))
    }

    fn restore_strategy(&self) -> RestoreStrategy {
        RestoreStrategy::ScratchThenRename(&Rename)
    }

    fn sql(&self) -> Option<&dyn SqlDialect> {
        Some(&Sql)
    }

    fn nothing_to_back_up(&self) -> &'static str {
        "it has no databases yet besides the server's own (master, model, msdb, tempdb)"
    }
}

struct Sql;

impl SqlDialect for Sql {
    fn server_databases(&self) -> &'static [&'static str] {
        &["master", "model", "msdb", "tempdb"]
    }

    fn admin_sql(&self, password: &str, database: &str, statement: &str) -> ToolCommand {
        tools::admin_sql(password, database, statement)
    }

    fn maintenance_database(&self, _target: &str) -> &'static str {
        "master"
    }

    /// Every database but the server's own four (database_id 1–4).
    fn list_databases(&self) -> &'static str {
        "SELECT name FROM sys.databases WHERE database_id > 4 ORDER BY name"
    }

    /// Sessions are ended first (a database in use cannot be dropped); a database left
    /// half-restored by a killed restore is not online and is dropped as it is.
    fn drop_database(&self, name: &str) -> String {
        format!(
            "IF DB_ID({lit}) IS NOT NULL BEGIN \
             IF DATABASEPROPERTYEX({lit}, 'Status') = 'ONLINE' ALTER DATABASE {id} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; \
             DROP DATABASE {id}; END",
            lit = literal(name),
            id = ident(name)
        )
    }

    fn sessions_on(&self, names: &[&str]) -> String {
        let ids: Vec<String> = names
            .iter()
            .map(|n| format!("DB_ID({})", literal(n)))
            .collect();
        let likes: Vec<String> = names
            .iter()
            .map(|n| format!("t.text LIKE {}", literal(&format!("%{n}%"))))
            .collect();
        format!(
            "SELECT COUNT(*) FROM sys.dm_exec_sessions s WHERE s.session_id <> @@SPID AND s.is_user_process = 1 \
             AND (s.database_id IN ({}) OR EXISTS (SELECT 1 FROM sys.dm_exec_requests r \
             CROSS APPLY sys.dm_exec_sql_text(r.sql_handle) t WHERE r.session_id = s.session_id AND ({})))",
            ids.join(", "),
            likes.join(" OR ")
        )
    }
}

/// The restore goes into a scratch database, renamed over the target once complete.
/// SQL Server cannot rename databases inside a transaction: the swap is one batch that, if its
/// second rename fails, puts the first back. The batch runs in the server whatever becomes of
/// Dockhand's process (its `docker exec` carries on), so a kill of Dockhand cannot split it.
struct Rename;

impl RenamingRestore for Rename {
    fn create_scratch(&self, scratch: &str) -> Vec<String> {
        vec![format!("CREATE DATABASE {}", ident(scratch))]
    }

    /// Nothing to do: the restored database replaces the scratch one entirely, and the
    /// restore script gives it to its owner afterwards.
    fn hand_over(&self, _database: &str, _owner: &str) -> Option<String> {
        None
    }

    fn swap(&self, target: &str, scratch: &str, replaced: Option<&str>) -> String {
        let (t, s) = (ident(target), ident(scratch));
        match replaced {
            None => format!("ALTER DATABASE {s} MODIFY NAME = {t}"),
            Some(old) => {
                let o = ident(old);
                format!(
                    "ALTER DATABASE {t} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; \
                     ALTER DATABASE {t} MODIFY NAME = {o}; \
                     BEGIN TRY ALTER DATABASE {s} MODIFY NAME = {t}; END TRY \
                     BEGIN CATCH ALTER DATABASE {o} MODIFY NAME = {t}; ALTER DATABASE {t} SET MULTI_USER; THROW; END CATCH"
                )
            }
        }
    }

    /// 5030: "The database could not be exclusively locked to perform the operation" — a
    /// session on its way out.
    fn swap_retryable(&self, stderr: &str) -> bool {
        stderr.contains("Msg 5030") || stderr.contains("exclusively locked")
    }
}

#[cfg(test)]
mod tests;
