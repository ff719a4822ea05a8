//! Running SQL and tools in a service's container as the admin: the plumbing every operation
//! (backup, restore, import, export, upgrade, databases) shares, so that operations depend on
//! this module and not on each other.

use std::time::Duration;

use super::{container_of, Manager};
use crate::backup::tools::ToolCommand;
use crate::drivers::SqlDialect;
use crate::engine::{exec_collect_env, EngineError, LogChunk, OutputStream};
use crate::error::{CoreError, Result};
use crate::store::ServiceRow;

/// A dump or restore of a developer's database; generous, but never unbounded.
pub(super) const DUMP_LIMIT: Duration = Duration::from_secs(6 * 3600);
pub(super) const TOOL_LIMIT: Duration = Duration::from_secs(30);

impl Manager {
    pub(crate) async fn is_running(&self, service: &str) -> Result<bool> {
        Ok(self
            .engine
            .inspect_container(&self.container_for(service))
            .await?
            .is_some_and(|c| c.state == crate::engine::RunState::Running))
    }

    pub(super) async fn list_databases(
        &self,
        row: &ServiceRow,
        password: &str,
    ) -> Result<Vec<String>> {
        let Some(q) = self.driver(row.kind).sql().map(|d| d.list_databases()) else {
            return Ok(vec![]);
        };
        let out = self.run_sql(row, password, q).await?;
        Ok(out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect())
    }

    /// The databases of the service that take no connections (see [`SqlDialect::closed_databases`]).
    pub(super) async fn closed_databases(
        &self,
        row: &ServiceRow,
        password: &str,
    ) -> Result<Vec<String>> {
        let Some(q) = self
            .driver(row.kind)
            .sql()
            .and_then(|d| d.closed_databases())
        else {
            return Ok(vec![]);
        };
        let out = self.run_sql(row, password, q).await?;
        Ok(out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect())
    }

    pub(super) async fn run_sql(
        &self,
        row: &ServiceRow,
        password: &str,
        statement: &str,
    ) -> Result<String> {
        let via = self.sql_of(row)?.maintenance_database("");
        self.run_sql_in(row, password, via, statement).await
    }

    pub(super) async fn run_sql_in(
        &self,
        row: &ServiceRow,
        password: &str,
        database: &str,
        statement: &str,
    ) -> Result<String> {
        self.run_sql_within(row, password, database, statement, TOOL_LIMIT)
            .await
    }

    /// One statement as the admin in `database`, bounded by `limit` (a verification's full read
    /// of a large table takes longer than a catalog query).
    pub(super) async fn run_sql_within(
        &self,
        row: &ServiceRow,
        password: &str,
        database: &str,
        statement: &str,
        limit: Duration,
    ) -> Result<String> {
        let t = self.sql_of(row)?.admin_sql(password, database, statement);
        let out = exec_collect_env(
            self.engine.as_ref(),
            &container_of(row),
            &t.argv(),
            &t.env,
            limit,
        )
        .await?;
        if out.exit_code != 0 {
            return Err(tool_error(
                format!("SQL on '{}'", row.name),
                &t,
                Some(out.exit_code),
                &out.stderr,
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    }

    /// A tool cut off by the engine: Docker gone stays an engine error (exit code 3, "start
    /// Docker"); otherwise the tool is named, with what became of its container.
    pub(super) async fn cut_off(
        &self,
        row: &ServiceRow,
        context: String,
        t: &ToolCommand,
        e: EngineError,
    ) -> CoreError {
        if matches!(
            e,
            EngineError::Unavailable { .. } | EngineError::Timeout { .. }
        ) {
            return CoreError::Engine(e);
        }
        let stopped = !self.is_running(&row.name).await.unwrap_or(true);
        let why = if stopped {
            format!("the server's container stopped while it ran ({e})")
        } else {
            e.to_string()
        };
        CoreError::Tool {
            context,
            tool: t.program.to_string(),
            exit: None,
            stderr: why,
        }
    }

    pub(super) async fn exec_input(
        &self,
        container: &str,
        t: &ToolCommand,
        limit: Duration,
        input: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
    ) -> Result<(i64, Vec<u8>, Vec<u8>)> {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut sink = |c: LogChunk| match c.stream {
            OutputStream::Stdout => out.extend_from_slice(&c.bytes),
            OutputStream::Stderr => err.extend_from_slice(&c.bytes),
        };
        let code = self
            .engine
            .exec_with_input(
                container,
                &t.argv(),
                &t.env,
                t.user,
                limit,
                input,
                &mut sink,
            )
            .await?;
        Ok((code, out, err))
    }

    /// The SQL dialect of a service's kind; kinds without one have no databases to run it on.
    pub(super) fn sql_of(&self, row: &ServiceRow) -> Result<&'static dyn SqlDialect> {
        self.driver(row.kind).sql().ok_or_else(|| {
            CoreError::InvalidInput(format!(
                "{} has no SQL databases",
                row.kind.spec().display_name
            ))
        })
    }
}

pub(super) fn tool_error(
    context: String,
    t: &ToolCommand,
    exit: Option<i64>,
    stderr: &[u8],
) -> CoreError {
    CoreError::Tool {
        context,
        tool: t.program.to_string(),
        exit,
        stderr: String::from_utf8_lossy(stderr).trim().to_string(),
    }
}

/// `'a', 'b'` for a message.
pub(super) fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
