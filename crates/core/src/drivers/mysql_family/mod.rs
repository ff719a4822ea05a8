//! MariaDB and MySQL speak one protocol and one SQL dialect; this is the code the two drivers
//! share. What differs (image contract, client program names, display name) each driver's
//! [`MysqlFamily`] value says.

mod adoption;
mod import;
mod probe;
mod provision;
mod upgrade;

use std::time::Duration;

use async_trait::async_trait;

use super::{
    tool, BackupUnit, Driver, Kind, MarkedRestore, RestoreStrategy, RunOptions, SqlDialect,
    ToolCommand, UrlVariable,
};
use crate::drivers::Connection;
use crate::drivers::DatabaseOwner;
use crate::drivers::Grant;
use crate::drivers::{ContainerSetup, KindSpec};
use crate::drivers::{ProbeError, ProbeTarget};
use crate::engine::Engine;
use crate::error::Result;
use crate::ident::{my_ident, my_literal};

/// One server of the MySQL family.
pub(crate) struct MysqlFamily {
    pub kind: Kind,
    pub spec: &'static KindSpec,
    /// The command-line client (`mariadb`, `mysql`).
    pub client: &'static str,
    /// The dump tool (`mariadb-dump`, `mysqldump`).
    pub dump_tool: &'static str,
    pub setup: fn(admin_password: &str) -> ContainerSetup,
    pub main_database_rank: u8,
    /// See [`Driver::default_memory_mb`].
    pub default_memory_mb: u32,
    /// The JDBC scheme of the server's own Connector/J (`jdbc:mariadb`, `jdbc:mysql`): MariaDB
    /// Connector/J 3 takes only `jdbc:mariadb:` (unless told `permitMysqlScheme`), MySQL's only
    /// `jdbc:mysql:`.
    pub jdbc_scheme: &'static str,
    /// What a JDBC URL adds after the database: on MySQL, `allowPublicKeyRetrieval=true` — its
    /// users authenticate with caching_sha2_password, whose full exchange (the first login after
    /// a server start) over plain TCP encrypts the password with the server's RSA key, which
    /// Connector/J (MySQL's and MariaDB's alike) fetches only when allowed; without it the
    /// connection fails with "Public Key Retrieval is not allowed" / "RSA public key is not
    /// available client side". Dockhand's servers listen on loopback and its own network, where
    /// no one can stand between client and server to hand out a false key.
    pub jdbc_params: &'static str,
    /// The client's option that makes it run SQL only, no client command from its input
    /// (`system`/`\!` runs a shell in the container, `source` and `tee` read and write files):
    /// MariaDB's `--sandbox` (10.5.25/10.6.18/10.11.8/11.4.2 on), MySQL's `--commands=OFF`
    /// (8.0.40/8.4.3/9.1 on; `delimiter`, which dumps use, still works). An older client fails
    /// on the unknown option rather than run unguarded.
    pub no_client_commands: &'static str,
    /// Options of this server's dump tool beyond the family's: MySQL's mysqldump writes the
    /// server's GTID history into a dump (`SET @@GLOBAL.GTID_PURGED`) unless told not to, and
    /// loading that into a shared server would change its replication state or fail.
    pub dump_options: &'static [&'static str],
}

/// What `--fast` turns off, valid on MariaDB 10.6–11.8 and MySQL 8.0–9: the redo log is written
/// and flushed about once a second instead of at every commit, the binary log (MySQL's is on by
/// default) is never flushed by the server, and the doublewrite buffer (protection against torn
/// pages) is off. A crash of the machine can lose the last second of commits or corrupt pages.
const FAST: &[(&str, &str)] = &[
    ("innodb_flush_log_at_trx_commit", "0"),
    ("sync_binlog", "0"),
    ("innodb_doublewrite", "OFF"),
];

#[async_trait]
impl Driver for MysqlFamily {
    fn spec(&self) -> &'static KindSpec {
        self.spec
    }

    fn container_setup(
        &self,
        _version: &str,
        admin_password: &str,
        run: &RunOptions,
    ) -> ContainerSetup {
        let mut setup = (self.setup)(admin_password);
        if run.mode.fast {
            setup.cmd.extend(
                FAST.iter()
                    .map(|(name, value)| format!("--{}={value}", name.replace('_', "-"))),
            );
        }
        setup
    }

    fn fast_settings(&self) -> &'static [(&'static str, &'static str)] {
        FAST
    }

    fn default_memory_mb(&self) -> u32 {
        self.default_memory_mb
    }

    async fn probe(
        &self,
        target: &ProbeTarget,
        _limit: Duration,
    ) -> std::result::Result<(), ProbeError> {
        probe::probe(target).await
    }

    fn admin_url_path(&self) -> &'static str {
        "/"
    }

    /// `DATABASE_URL` when the project has no PostgreSQL, else `MYSQL_URL`.
    fn url_variable(&self) -> UrlVariable {
        UrlVariable {
            own: "MYSQL_URL",
            database_url_rank: Some(1),
        }
    }

    fn extra_variables(&self, c: &Connection<'_>) -> Vec<(&'static str, String)> {
        vec![
            ("MYSQL_HOST", c.host.into()),
            ("MYSQL_PORT", c.port.to_string()),
            ("MYSQL_USER", c.user.into()),
            ("MYSQL_PASSWORD", c.password.into()),
            ("MYSQL_DATABASE", c.database.into()),
        ]
    }

    fn jdbc_url(&self, c: &Connection<'_>) -> Option<String> {
        Some(format!(
            "{}://{}:{}/{}{}",
            self.jdbc_scheme, c.host, c.port, c.database, self.jdbc_params
        ))
    }

    fn main_database_rank(&self) -> u8 {
        self.main_database_rank
    }

    fn client(&self, c: &Connection<'_>) -> Option<super::ClientCommand> {
        // MYSQL_PWD: both clients read the password from it (MySQL calls it insecure because
        // of other users' `ps e` on old systems; Linux shows a process's environment to its
        // owner only, unlike its arguments).
        Some(super::ClientCommand {
            programs: if self.client == "mariadb" {
                &["mariadb", "mysql"]
            } else {
                &["mysql", "mariadb"]
            },
            args: vec![
                "--protocol=TCP".into(),
                "-h".into(),
                c.host.to_string(),
                "-P".into(),
                c.port.to_string(),
                "-u".into(),
                c.user.to_string(),
                c.database.to_string(),
            ],
            env: vec![("MYSQL_PWD", c.password.to_string())],
            install: "the MariaDB or MySQL client (Debian/Ubuntu: `sudo apt install mariadb-client`; macOS: `brew install mysql-client`)",
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

    async fn already_taken(
        &self,
        admin: &ProbeTarget,
        grant: &Grant<'_>,
    ) -> Result<Option<String>> {
        provision::already_taken(self.kind, admin, grant).await
    }

    async fn drop_grant(&self, admin: &ProbeTarget, grant: &Grant<'_>) -> Result<Option<u64>> {
        provision::drop(self.kind, admin, grant).await.map(|_| None)
    }

    async fn database_exists(&self, admin: &ProbeTarget, database: &str) -> Result<bool> {
        provision::database_exists(self.kind, admin, database).await
    }

    fn dump_extension(&self) -> &'static str {
        "sql"
    }

    /// Without --databases the dump has no CREATE DATABASE/USE lines, so it restores into any
    /// database name. Routines, triggers and events: everything a database holds.
    fn dump(&self, password: &str, database: &str) -> ToolCommand {
        let user = format!("-u{}", self.spec.admin_user);
        let mut args = vec![
            "--single-transaction",
            "--routines",
            "--triggers",
            "--events",
        ];
        args.extend(self.dump_options);
        args.extend([user.as_str(), database]);
        tool(self.dump_tool, &args, vec![format!("MYSQL_PWD={password}")])
    }

    fn dump_sql(&self, password: &str, database: &str) -> Option<ToolCommand> {
        Some(self.dump(password, database))
    }

    fn dump_tool_version(&self) -> ToolCommand {
        tool(self.dump_tool, &["--version"], vec![])
    }

    fn backup_unit(&self) -> BackupUnit {
        BackupUnit::EachDatabase
    }

    fn check_dump(&self, _head: &[u8], tail: &[u8]) -> std::result::Result<(), String> {
        String::from_utf8_lossy(tail)
            .contains("-- Dump completed")
            .then_some(())
            .ok_or_else(|| {
                "the dump does not end with '-- Dump completed': it was cut short".into()
            })
    }

    /// As the admin: loading a dump runs nothing of the project's with the admin's rights —
    /// triggers, views, routines and events run as their DEFINER (the project's user, as the
    /// dump says), and a table's defaults, generated columns and CHECK constraints can call
    /// built-in functions only; triggers are created after their table's rows. The client reads
    /// no file of the container (`--local-infile=0`, no client commands) and runs as a user who
    /// could read none anyway.
    fn restore(
        &self,
        admin_password: &str,
        database: &str,
        _owner: Option<&DatabaseOwner<'_>>,
    ) -> Result<ToolCommand> {
        let user = format!("-u{}", self.spec.admin_user);
        let args = [
            self.no_client_commands,
            "--local-infile=0",
            "--protocol=TCP",
            "-h127.0.0.1",
            &user,
            database,
        ];
        Ok(tool(
            self.client,
            &args,
            vec![format!("MYSQL_PWD={admin_password}")],
        )
        .unprivileged())
    }

    fn restore_strategy(&self) -> RestoreStrategy {
        RestoreStrategy::MarkedInPlace(&Marked)
    }

    fn image_families(&self) -> Vec<&'static str> {
        // MySQL's own older images are `mysql/mysql-server`.
        match self.kind {
            Kind::Mysql => vec!["mysql", "mysql-server"],
            _ => vec![crate::drivers::adoption::image_family(self.spec.image_repo)],
        }
    }

    fn adoption(&self) -> Option<&dyn crate::drivers::adoption::Adoption> {
        Some(&adoption::Adopt)
    }

    fn major_upgrade(&self) -> Option<&dyn super::upgrade::MajorUpgrade> {
        (self.kind == Kind::Mariadb).then_some(&upgrade::MariadbUpgrade as _)
    }

    fn sql(&self) -> Option<&dyn SqlDialect> {
        Some(self)
    }

    fn importer(&self) -> Option<&dyn crate::drivers::Importer> {
        Some(self)
    }

    fn nothing_to_back_up(&self) -> &'static str {
        "it has no databases yet besides the server's own (mysql, sys, information_schema, performance_schema)"
    }
}

impl SqlDialect for MysqlFamily {
    fn server_databases(&self) -> &'static [&'static str] {
        &["mysql", "information_schema", "performance_schema", "sys"]
    }

    fn admin_sql(&self, password: &str, _database: &str, statement: &str) -> ToolCommand {
        tool(
            self.client,
            &[
                &format!("-u{}", self.spec.admin_user),
                "-N",
                "-B",
                "-e",
                statement,
            ],
            vec![format!("MYSQL_PWD={password}")],
        )
    }

    fn maintenance_database(&self, _target: &str) -> &'static str {
        ""
    }

    fn list_databases(&self) -> &'static str {
        "SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN \
         ('mysql','information_schema','performance_schema','sys') ORDER BY 1"
    }

    fn drop_database(&self, name: &str) -> String {
        format!("DROP DATABASE IF EXISTS {}", my_ident(name))
    }

    fn sessions_on(&self, names: &[&str]) -> String {
        let lits: Vec<String> = names.iter().map(|n| my_literal(n)).collect();
        let likes: Vec<String> = names
            .iter()
            .map(|n| format!("INFO LIKE {}", my_literal(&format!("%{n}%"))))
            .collect();
        format!(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() \
             AND (DB IN ({}) OR {})",
            lits.join(", "),
            likes.join(" OR ")
        )
    }
}

/// MariaDB/MySQL have no database rename, and a table with triggers or a view cannot move to
/// another database: the target is created by the restore and marked until complete.
struct Marked;

impl MarkedRestore for Marked {
    fn create_database(&self, name: &str) -> String {
        format!("CREATE DATABASE {}", my_ident(name))
    }

    fn create_marker(&self, database: &str, marker: &str) -> String {
        format!(
            "CREATE TABLE {}.{} (restore_of_backup BIGINT)",
            my_ident(database),
            my_ident(marker)
        )
    }

    fn drop_marker(&self, database: &str, marker: &str) -> String {
        format!("DROP TABLE {}.{}", my_ident(database), my_ident(marker))
    }

    fn lock_user(&self, user: &str) -> String {
        format!("ALTER USER {}@'%' ACCOUNT LOCK", my_literal(user))
    }

    fn unlock_user(&self, user: &str) -> String {
        format!(
            "ALTER USER IF EXISTS {}@'%' ACCOUNT UNLOCK",
            my_literal(user)
        )
    }

    fn sessions_of(&self, user: &str) -> String {
        format!(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = {}",
            my_literal(user)
        )
    }

    fn end_session(&self, id: u64) -> String {
        format!("KILL CONNECTION {id}")
    }

    fn take_lock(&self, name: &str) -> String {
        format!("DO GET_LOCK({}, 0);\n", my_literal(name))
    }

    fn lock_holder(&self, name: &str) -> String {
        format!("SELECT IS_USED_LOCK({})", my_literal(name))
    }

    fn marker_state(&self, database: &str, marker: &str) -> String {
        format!(
            "SELECT COUNT(*), COALESCE(SUM(table_name = {}), 0) FROM information_schema.tables \
             WHERE table_schema = {}",
            my_literal(marker),
            my_literal(database)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_schemas_are_not_backed_up() {
        let q = Kind::Mariadb.driver().sql().unwrap().list_databases();
        for system in ["mysql", "information_schema", "performance_schema", "sys"] {
            assert!(q.contains(&format!("'{system}'")), "{q}");
        }
    }

    #[test]
    fn each_flavour_runs_its_own_programs() {
        let maria = Kind::Mariadb.driver();
        let mysql = Kind::Mysql.driver();
        assert_eq!(maria.dump("pw", "shop").cmd[0], "mariadb-dump");
        assert_eq!(mysql.dump("pw", "shop").cmd[0], "mysqldump");
        assert!(mysql
            .dump("pw", "shop")
            .cmd
            .contains(&"--set-gtid-purged=OFF".to_string()));
        assert!(!maria
            .dump("pw", "shop")
            .cmd
            .iter()
            .any(|a| a.contains("gtid")));
        let r = mysql.restore("pw", "shop", None).unwrap();
        assert_eq!(r.cmd[0], "mysql");
        assert!(r.cmd.contains(&"--commands=OFF".to_string()), "{r:?}");
        let r = maria.restore("pw", "shop", None).unwrap();
        assert!(
            r.cmd.contains(&"--local-infile=0".to_string())
                && r.cmd.contains(&"--sandbox".to_string())
        );
        assert_eq!(r.user, Some(crate::drivers::UNPRIVILEGED));
        assert_eq!(
            mysql.sql().unwrap().admin_sql("pw", "", "SELECT 1").cmd[0],
            "mysql"
        );
        assert_eq!(
            maria.sql().unwrap().admin_sql("pw", "", "SELECT 1").cmd[0],
            "mariadb"
        );
    }

    #[test]
    fn dumps_restore_under_another_name() {
        let d = Kind::Mariadb.driver().dump("pw", "shop");
        assert!(!d.cmd.contains(&"--databases".to_string()));
        assert_eq!(d.cmd.last().unwrap(), "shop");
    }
}
