//! A project's database in the kind's own interactive client (psql, mariadb, redis-cli), as the
//! project's user: what `dockhand connect` runs in the user's terminal and the window's "Open in
//! terminal" runs in a new one. Which service a project means, and the client that opens it,
//! are decided here once for every shell.

use std::path::PathBuf;

use super::projects::ProjectConnection;
use super::Manager;
use crate::drivers::Connection;
use crate::env::Audience;
use crate::error::{CoreError, Result};

/// A client ready to start: the program found on PATH, its arguments and the environment that
/// carries the password (to be added to the caller's own environment).
#[derive(Debug, Clone)]
pub struct ClientLaunch {
    pub service: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// What it opens, in words: "psql: database shop as shop on postgres-18".
    pub describe: String,
}

impl Manager {
    /// One of a project's connections: the service (or kind) named, else its main database
    /// (PostgreSQL before MySQL before Redis).
    pub fn project_connection(
        &self,
        project: &str,
        service: Option<&str>,
    ) -> Result<ProjectConnection> {
        let conns = self.project_connections(project, Audience::Host)?;
        match service {
            Some(s) => conns
                .into_iter()
                .find(|c| c.service == s || c.kind.as_str() == s)
                .ok_or_else(|| {
                    CoreError::InvalidInput(format!("project '{project}' does not use '{s}'"))
                }),
            None => conns
                .into_iter()
                .min_by_key(|c| c.kind.driver().main_database_rank())
                .ok_or_else(|| {
                    CoreError::InvalidInput(format!("project '{project}' uses no service yet"))
                }),
        }
    }

    /// The kind's client for one of a project's databases, with `extra` arguments after its own
    /// (`-c 'SELECT 1'`). Fails, saying what to install, when no client is on PATH.
    pub fn client_for(
        &self,
        project: &str,
        service: Option<&str>,
        extra: &[String],
    ) -> Result<ClientLaunch> {
        let c = self.project_connection(project, service)?;
        let kind = c.kind;
        let view = Connection {
            kind,
            host: &c.host,
            port: c.port,
            database: &c.database,
            user: &c.user,
            password: c.password.expose(),
        };
        let client = kind.driver().client(&view).ok_or_else(|| {
            CoreError::InvalidInput(format!(
                "Dockhand has no terminal client for {} yet; `dockhand url {project} {}` prints the URL for your own",
                kind.spec().display_name,
                c.service
            ))
        })?;
        let program = client
            .programs
            .iter()
            .find_map(|p| crate::platform::find_program(p))
            .ok_or_else(|| {
                CoreError::InvalidInput(format!(
                    "no {} client on this computer ({} not found on PATH); install {}",
                    kind.spec().display_name,
                    client.programs.join(" or "),
                    client.install
                ))
            })?;
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(ClientLaunch {
            describe: format!(
                "{name}: database {} as {} on {}",
                c.database, c.user, c.service
            ),
            service: c.service,
            program,
            args: client
                .args
                .into_iter()
                .chain(extra.iter().cloned())
                .collect(),
            env: client
                .env
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        })
    }
}
