//! PostgreSQL, official `postgres` image. The entrypoint reads `POSTGRES_PASSWORD_FILE` during
//! initdb and runs its first-start server on the Unix socket only, so a TCP round trip from the
//! host can only succeed once the real server is up.

mod adoption;
mod extensions;
mod import;
mod probe;
mod provision;
mod restore;
mod session;
mod upgrade;

use std::time::Duration;

use async_trait::async_trait;

use super::{
    shell_tool, starts_with, tool, BackupUnit, Driver, ReadabilityCheck, RestoreStrategy,
    SqlDialect, ToolCommand, UrlVariable,
};
use crate::drivers::Connection;
use crate::drivers::DatabaseOwner;
use crate::drivers::Grant;
use crate::drivers::{
    admin_password_file, ContainerSetup, KindSpec, RunOptions, UrlDatabase, ADMIN_PASSWORD_FILE,
};
use crate::drivers::{ProbeError, ProbeTarget};
use crate::engine::Engine;
use crate::error::Result;
use crate::ident::{pg_ident, pg_literal};

pub(super) struct Postgres;

const SPEC: KindSpec = KindSpec {
    id: "postgres",
    display_name: "PostgreSQL",
    aliases: &["postgresql", "pg"],
    image_repo: "postgres",
    default_version: "18",
    versions: &["13", "14", "15", "16", "17", "18"],
    container_port: 5432,
    default_host_port: 5432,
    // Up to 17; from 18 on see `Driver::data_path` below.
    data_path: "/var/lib/postgresql/data",
    admin_user: "postgres",
    url_scheme: "postgresql",
    url_schemes: &["postgres", "postgresql"],
    url_database: UrlDatabase::Named,
    drops_project_data: true,
    ready_deadline: Duration::from_secs(90),
    stop_timeout: Duration::from_secs(20),
    server_uid: 999,
};

/// What `--fast` turns off. fsync: the server no longer waits for the disk; synchronous_commit:
/// a commit returns before its WAL is written; full_page_writes: no protection against torn
/// pages. A crash of the server process alone loses nothing the OS had (the OS still holds the
/// writes); a crash of the machine or of Docker's VM can lose or corrupt the data.
const FAST: &[(&str, &str)] = &[
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    ("full_page_writes", "off"),
];

fn setup(admin_password: &str, run: &RunOptions) -> ContainerSetup {
    // A shared development server: modest buffers, enough connections for many projects.
    let mut cmd: Vec<String> = [
        "postgres",
        "-c",
        "shared_buffers=64MB",
        "-c",
        "max_connections=200",
    ]
    .map(String::from)
    .to_vec();
    if run.mode.fast {
        for (name, value) in FAST {
            cmd.extend(["-c".to_string(), format!("{name}={value}")]);
        }
    }
    ContainerSetup {
        env: vec![format!("POSTGRES_PASSWORD_FILE={ADMIN_PASSWORD_FILE}")],
        cmd,
        files: vec![admin_password_file(&SPEC, admin_password)],
    }
}

/// The data directory's format changes with every major version: PostgreSQL N cannot open the
/// files of another major (an upgrade is a dump and restore, or `pg_upgrade`).
fn major(v: &str) -> &str {
    v.split(['.', '-']).next().unwrap_or("")
}

#[async_trait]
impl Driver for Postgres {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    /// From 18 on the official image keeps its data in a major-version folder
    /// (`PGDATA=/var/lib/postgresql/18/docker`), declares `VOLUME /var/lib/postgresql` and
    /// refuses to start with a mount at the old `/var/lib/postgresql/data`
    /// (docker-library/postgres#1259): the volume goes where the image wants it. Each major's
    /// folder in it means a later `pg_upgrade` could work inside one volume.
    fn data_path(&self, version: &str) -> &'static str {
        match major(version).parse::<u32>() {
            Ok(m) if m >= 18 => "/var/lib/postgresql",
            _ => SPEC.data_path,
        }
    }

    fn container_setup(
        &self,
        _version: &str,
        admin_password: &str,
        run: &RunOptions,
    ) -> ContainerSetup {
        setup(admin_password, run)
    }

    fn fast_settings(&self) -> &'static [(&'static str, &'static str)] {
        FAST
    }

    /// Measured idle: 45–52 MiB (`docker stats`, PostgreSQL 15 and 17 with these settings);
    /// ~190 MiB with 50 connections that have each read the catalog. Every connection of every
    /// project is a process of its own (~2–5 MiB), and an OOM-killed backend makes the server
    /// restart for every project, so the limit leaves room for ~80 connections.
    fn default_memory_mb(&self) -> u32 {
        512
    }

    fn opens_data_of(&self, had: &str, wanted: &str) -> bool {
        major(had) == major(wanted)
    }

    async fn probe(
        &self,
        target: &ProbeTarget,
        limit: Duration,
    ) -> std::result::Result<(), ProbeError> {
        probe::probe(target, limit).await
    }

    fn admin_url_path(&self) -> &'static str {
        "/postgres"
    }

    fn url_variable(&self) -> UrlVariable {
        UrlVariable {
            own: "DATABASE_URL",
            database_url_rank: Some(0),
        }
    }

    fn extra_variables(&self, c: &Connection<'_>) -> Vec<(&'static str, String)> {
        vec![
            ("PGHOST", c.host.into()),
            ("PGPORT", c.port.to_string()),
            ("PGUSER", c.user.into()),
            ("PGPASSWORD", c.password.into()),
            ("PGDATABASE", c.database.into()),
        ]
    }

    /// pgjdbc's form (`jdbc:postgresql:`; it does not take `jdbc:postgres:`).
    fn jdbc_url(&self, c: &Connection<'_>) -> Option<String> {
        Some(format!(
            "jdbc:postgresql://{}:{}/{}",
            c.host, c.port, c.database
        ))
    }

    fn main_database_rank(&self) -> u8 {
        0
    }

    fn client(&self, c: &Connection<'_>) -> Option<super::ClientCommand> {
        // libpq reads all of it from the environment (PGPASSWORD included).
        Some(super::ClientCommand {
            programs: &["psql"],
            args: vec![],
            env: vec![
                ("PGHOST", c.host.to_string()),
                ("PGPORT", c.port.to_string()),
                ("PGUSER", c.user.to_string()),
                ("PGDATABASE", c.database.to_string()),
                ("PGPASSWORD", c.password.to_string()),
            ],
            install: "PostgreSQL's client, psql (Debian/Ubuntu: `sudo apt install postgresql-client`; macOS: `brew install libpq`)",
        })
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

    async fn already_taken(
        &self,
        admin: &ProbeTarget,
        grant: &Grant<'_>,
    ) -> Result<Option<String>> {
        provision::already_taken(admin, grant).await
    }

    async fn drop_grant(&self, admin: &ProbeTarget, grant: &Grant<'_>) -> Result<Option<u64>> {
        provision::drop(admin, grant).await.map(|_| None)
    }

    async fn database_exists(&self, admin: &ProbeTarget, database: &str) -> Result<bool> {
        provision::database_exists(admin, database).await
    }

    fn dump_extension(&self) -> &'static str {
        "dump"
    }

    fn dump(&self, password: &str, database: &str) -> ToolCommand {
        tool(
            "pg_dump",
            &["-Fc", "-U", SPEC.admin_user, "-d", database],
            session::admin_env(password),
        )
    }

    /// Plain `pg_dump`: what `psql` reads (and `dockhand import` takes back).
    fn dump_sql(&self, password: &str, database: &str) -> Option<ToolCommand> {
        Some(tool(
            "pg_dump",
            &["-U", SPEC.admin_user, "-d", database],
            session::admin_env(password),
        ))
    }

    fn dump_tool_version(&self) -> ToolCommand {
        tool("pg_dump", &["--version"], vec![])
    }

    fn backup_unit(&self) -> BackupUnit {
        BackupUnit::EachDatabase
    }

    fn check_dump(&self, head: &[u8], _tail: &[u8]) -> std::result::Result<(), String> {
        starts_with(head, b"PGDMP", "a pg_dump custom-format archive")
    }

    fn readability_check(&self) -> Option<ReadabilityCheck> {
        // pg_restore reads the table of contents and exits; the rest of the dump is read and
        // thrown away in the container, so the tool's input stays open to the end: Podman (unlike
        // Docker) resets the whole stream when a process stops reading, and the listing with it.
        Some(ReadabilityCheck {
            tool: shell_tool(
                "pg_restore",
                "pg_restore --list; s=$?; cat >/dev/null; exit $s",
                vec![],
            ),
            entries: |out| {
                String::from_utf8_lossy(out)
                    .lines()
                    .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
                    .count()
            },
            name: "pg_restore --list",
        })
    }

    fn restore(
        &self,
        admin_password: &str,
        database: &str,
        owner: Option<&DatabaseOwner<'_>>,
    ) -> Result<ToolCommand> {
        Ok(restore::Script {
            mode: restore::Mode::Restore,
            admin: SPEC.admin_user,
            admin_password,
            database,
            owner: owner.map(|o| restore::Owner {
                role: o.role,
                login: o.role,
                password: o.password,
            }),
            extensions: &[],
        }
        .command())
    }

    fn restore_strategy(&self) -> RestoreStrategy {
        RestoreStrategy::ScratchThenRename(&restore::Rename)
    }

    fn copies(&self) -> Option<&dyn crate::drivers::DatabaseCopies> {
        Some(&restore::Copies)
    }

    fn restore_refusal(&self, code: i64, stderr: &str) -> Option<String> {
        (code == restore::FOREIGN_OBJECTS).then(|| {
            let objects = restore::foreign_objects(stderr);
            format!(
                "the database belongs to the admin and the dump holds objects of other roles ({}); \
                 restoring them as the admin would run those roles' code with the admin's rights. \
                 Restore it into a project's database (`--into <its database>`), or drop those \
                 objects from the source and back it up again",
                objects.join(", ")
            )
        })
    }

    fn image_families(&self) -> Vec<&'static str> {
        vec!["postgres", "postgis", "pgvector"]
    }

    fn adoption(&self) -> Option<&dyn crate::drivers::adoption::Adoption> {
        Some(&adoption::Adopt)
    }

    fn extensions(&self) -> Option<&dyn crate::drivers::ExtensionSql> {
        Some(&extensions::PgExtensions)
    }

    fn sql(&self) -> Option<&dyn SqlDialect> {
        Some(&Sql)
    }

    fn importer(&self) -> Option<&dyn crate::drivers::Importer> {
        Some(&import::Import)
    }

    fn major_upgrade(&self) -> Option<&dyn super::upgrade::MajorUpgrade> {
        Some(&upgrade::Upgrade)
    }
}

struct Sql;

impl SqlDialect for Sql {
    fn server_databases(&self) -> &'static [&'static str] {
        // template0/1 are not listed (templates); `postgres` is the admin's maintenance database.
        &["postgres", "template0", "template1"]
    }

    fn admin_sql(&self, password: &str, database: &str, statement: &str) -> ToolCommand {
        tool(
            "psql",
            &[
                "-U",
                SPEC.admin_user,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-c",
                statement,
            ],
            session::admin_env(password),
        )
    }

    fn maintenance_database(&self, target: &str) -> &'static str {
        // `postgres` itself cannot be renamed or dropped from a session connected to it.
        if target == "postgres" {
            "template1"
        } else {
            "postgres"
        }
    }

    /// Every database but the two templates the server made: the admin's own (`postgres`,
    /// which the admin URL names) and any the admin created by hand are backed up too, not only
    /// projects' — and a database flagged `IS_TEMPLATE` or `ALLOW_CONNECTIONS false` (its owner
    /// may set both) is listed all the same: it holds data like any other.
    fn list_databases(&self) -> &'static str {
        "SELECT datname FROM pg_database WHERE datname NOT IN ('template0', 'template1') ORDER BY 1"
    }

    fn closed_databases(&self) -> Option<&'static str> {
        Some(
            "SELECT datname FROM pg_database WHERE NOT datallowconn \
             AND datname NOT IN ('template0', 'template1') ORDER BY 1",
        )
    }

    fn drop_database(&self, name: &str) -> String {
        format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", pg_ident(name))
    }

    fn sessions_on(&self, names: &[&str]) -> String {
        let lits: Vec<String> = names.iter().map(|n| pg_literal(n)).collect();
        let likes: Vec<String> = names
            .iter()
            .map(|n| pg_literal(&format!("%{n}%")))
            .collect();
        format!(
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
             AND (datname IN ({}) OR (state <> 'idle' AND query LIKE ANY (ARRAY[{}])))",
            lits.join(", "),
            likes.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_18_on_the_volume_goes_where_the_official_image_keeps_its_data() {
        assert_eq!(Postgres.data_path("15"), "/var/lib/postgresql/data");
        assert_eq!(Postgres.data_path("17"), "/var/lib/postgresql/data");
        assert_eq!(Postgres.data_path("18"), "/var/lib/postgresql");
        assert_eq!(Postgres.data_path("18.1"), "/var/lib/postgresql");
        assert_eq!(Postgres.data_path("19-beta1"), "/var/lib/postgresql");
        assert_eq!(Postgres.data_path("latest"), "/var/lib/postgresql/data");
    }

    #[test]
    fn every_database_a_user_wrote_is_one_to_back_up() {
        let q = Sql.list_databases();
        assert!(!q.contains("<> 'postgres'"), "{q}");
        // The owner of a database may flag it a template or closed: it is listed all the same.
        assert!(
            !q.contains("datistemplate") && !q.contains("datallowconn"),
            "{q}"
        );
        assert!(q.contains("'template0', 'template1'"));
    }

    #[test]
    fn dumps_restore_as_the_databases_owner_never_the_admin() {
        let d = Postgres.dump("pw", "shop");
        assert_eq!(&d.cmd[..2], &["pg_dump", "-Fc"]);
        let owner = DatabaseOwner {
            role: "shop",
            password: "shoppw",
        };
        let r = Postgres.restore("pw", "shop_copy", Some(&owner)).unwrap();
        assert!(r.env.contains(&"OWNER_LOGIN=shop".to_string()), "{r:?}");
        assert!(r.cmd.iter().any(|a| a.contains("--single-transaction")));
        assert!(!r.cmd.iter().any(|a| a.contains("shoppw")));
    }

    /// Every tool Dockhand runs as the admin starts its session with the search path pinned
    /// to the catalog (see `session.rs`): nothing it resolves can be a project's.
    #[test]
    fn every_admin_tool_pins_the_search_path() {
        use crate::drivers::upgrade::MajorUpgrade;
        let pinned = format!("PGOPTIONS={}", session::PINNED_SEARCH_PATH);
        let mut tools = vec![
            Sql.admin_sql("pw", "shop", "SELECT 1"),
            Postgres.dump("pw", "shop"),
            Postgres.dump_sql("pw", "shop").unwrap(),
            Postgres.restore("pw", "shop", None).unwrap(),
        ];
        tools.extend(upgrade::Upgrade.freeze("pw", &["shop"]));
        tools.extend(
            upgrade::Upgrade
                .copy("pw", "old", &["shop".into()])
                .into_iter()
                .map(|s| s.tool),
        );
        for t in tools {
            assert!(t.env.contains(&pinned), "{t:?}");
        }
    }

    #[test]
    fn data_opens_only_within_a_major_version() {
        assert!(Postgres.opens_data_of("15", "15.4"));
        assert!(!Postgres.opens_data_of("15", "17"));
    }
}
