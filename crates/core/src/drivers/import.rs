//! Importing a file someone else wrote (`dockhand import`). Unlike a restore of Dockhand's own
//! backup, the file is not trusted: its SQL runs as the project's user (never the admin), and the
//! client that reads it must not let it run client-side commands (a shell, a reconnection as
//! another user over the container's trusted socket, reading or writing files in the container).

use super::ToolCommand;

/// What an import file holds, as far as a server's tools care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportInput {
    /// A PostgreSQL custom-format archive (`pg_dump -Fc`).
    PgArchive,
    /// SQL text (plain `pg_dump`, `mariadb-dump`, hand-written).
    Sql,
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// `pg_dump -Fc` (`PGDMP`).
    PgArchive,
    /// Plain `pg_dump` output (its header comment).
    PgSql,
    /// `mariadb-dump`/`mysqldump` output (its header comment).
    MysqlSql,
    /// SQL of unknown origin.
    Sql,
    /// A Redis/Valkey snapshot (`REDIS`).
    RedisRdb,
}

/// Where an import goes and who it runs as.
pub struct ImportTo<'a> {
    /// The project's user and its password: the file's content runs as it.
    pub user: &'a str,
    pub password: &'a str,
    pub database: &'a str,
    /// For what only the admin may do, in a database nothing of the file's has reached yet.
    pub admin_password: &'a str,
    /// Extensions the admin may create for the file (those the service is made for).
    pub extensions: &'a [&'a str],
}

/// How one kind imports a file into a project's database.
pub trait Importer: Send + Sync {
    /// What this kind's tools make of a file of `format`; `None`: they do not take it.
    fn takes(&self, format: FileFormat) -> Option<ImportInput>;

    /// The command (run in the service's container) that reads `input` from stdin into
    /// `to.database`, connected as the project's user. `Err(why)` when this kind's tools cannot
    /// take that input safely.
    fn command(
        &self,
        input: ImportInput,
        to: &ImportTo<'_>,
    ) -> std::result::Result<ToolCommand, String>;

    /// A query (run as the admin, connected to `database`) printing how many objects of a
    /// user's the database holds, leaving out those of extensions: 0 means nothing to lose.
    fn objects_in(&self, database: &str) -> String;

    /// Bytes sent before a SQL file's own (psql: `\restrict <key>`, which turns off every
    /// client command for the rest of the input; `key` is random, so the file cannot end it).
    fn sql_prelude(&self, _key: &str) -> Vec<u8> {
        Vec::new()
    }

    /// A line filter for SQL files, fresh per import (it may keep state, e.g. "inside COPY
    /// data"). Returns the line to send (possibly rewritten), or `None` to leave it out.
    fn sql_filter(&self) -> Box<dyn SqlLineFilter> {
        Box::new(KeepEveryLine)
    }

    /// What an error of the import tool means for the user, when there is something better to
    /// say than the tool's own words.
    fn explain_failure(&self, _stderr: &str) -> Option<String> {
        None
    }
}

/// Rewrites a SQL file line by line as it streams (see [`Importer::sql_filter`]).
pub trait SqlLineFilter: Send {
    /// `line` includes its `\n` (the last one may lack it).
    fn filter<'a>(&mut self, line: &'a [u8]) -> Option<std::borrow::Cow<'a, [u8]>>;
}

struct KeepEveryLine;

impl SqlLineFilter for KeepEveryLine {
    fn filter<'a>(&mut self, line: &'a [u8]) -> Option<std::borrow::Cow<'a, [u8]>> {
        Some(std::borrow::Cow::Borrowed(line))
    }
}
