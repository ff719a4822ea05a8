//! Extensions in a project's database, created by the admin: `vector` and `postgis` are not
//! trusted extensions, so a project's role (no superuser) cannot create them itself, but once
//! created it uses their types, functions and operators like any others in its database.
//!
//! Each is created `SCHEMA public` rather than in the admin session's first `search_path` schema:
//! a project owns its database and could have created a schema named after the admin user, and
//! the extension's objects belong where the project's own queries find them.

use async_trait::async_trait;
use tokio_postgres::Client;

use crate::drivers::{fail, ExtensionSql, Kind, ProbeTarget};
use crate::error::{CoreError, Result};
use crate::ident::pg_ident;

pub(super) struct PgExtensions;

/// Objects in schema `public` that a role other than a superuser owns: relations, functions,
/// types, operators, collations, conversions and text-search configurations — everything an
/// install script could resolve a name to.
const PROJECT_OBJECTS_IN_PUBLIC: &str = "
    WITH public_ns AS (SELECT oid FROM pg_namespace WHERE nspname = 'public'),
         mortal AS (SELECT oid FROM pg_roles WHERE NOT rolsuper)
    SELECT (SELECT count(*) FROM pg_class WHERE relnamespace IN (SELECT oid FROM public_ns) AND relowner IN (SELECT oid FROM mortal))
         + (SELECT count(*) FROM pg_proc WHERE pronamespace IN (SELECT oid FROM public_ns) AND proowner IN (SELECT oid FROM mortal))
         + (SELECT count(*) FROM pg_type WHERE typnamespace IN (SELECT oid FROM public_ns) AND typowner IN (SELECT oid FROM mortal))
         + (SELECT count(*) FROM pg_operator WHERE oprnamespace IN (SELECT oid FROM public_ns) AND oprowner IN (SELECT oid FROM mortal))
         + (SELECT count(*) FROM pg_collation WHERE collnamespace IN (SELECT oid FROM public_ns) AND collowner IN (SELECT oid FROM mortal))
         + (SELECT count(*) FROM pg_conversion WHERE connamespace IN (SELECT oid FROM public_ns) AND conowner IN (SELECT oid FROM mortal))
         + (SELECT count(*) FROM pg_ts_config WHERE cfgnamespace IN (SELECT oid FROM public_ns) AND cfgowner IN (SELECT oid FROM mortal))";

/// The server's own words for a failed statement ("db error" alone says nothing).
fn said(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

fn pg_error(e: tokio_postgres::Error) -> CoreError {
    fail(Kind::Postgres, said(&e))
}

async fn connect(admin: &ProbeTarget, database: &str) -> Result<Client> {
    let (client, conn) = super::session::admin_config(admin, database)
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(pg_error)?;
    tokio::spawn(conn);
    Ok(client)
}

#[async_trait]
impl ExtensionSql for PgExtensions {
    async fn missing(&self, admin: &ProbeTarget, names: &[&str]) -> Result<Vec<String>> {
        let c = connect(admin, "postgres").await?;
        let wanted: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let rows = c
            .query(
                "SELECT n FROM unnest($1::text[]) AS n
                 WHERE n NOT IN (SELECT name FROM pg_available_extensions) ORDER BY n",
                &[&wanted],
            )
            .await
            .map_err(pg_error)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn create(&self, admin: &ProbeTarget, database: &str, names: &[&str]) -> Result<()> {
        let c = connect(admin, database).await?;
        for name in names {
            let installed = c
                .query_opt("SELECT 1 FROM pg_extension WHERE extname = $1", &[name])
                .await
                .map_err(pg_error)?
                .is_some();
            if installed {
                continue;
            }
            // An extension's install script runs as the admin with `public` first on its search
            // path, and the project owns `public`: objects the project put there could be
            // called by the script with the admin's rights (PostgreSQL's "Security
            // Considerations for Extensions"). So the admin installs into a `public` that holds
            // nothing of anyone but superusers — a new project's database — and never into one
            // the project has already filled.
            let theirs: i64 = c
                .query_one(PROJECT_OBJECTS_IN_PUBLIC, &[])
                .await
                .map_err(pg_error)?
                .get(0);
            if theirs > 0 {
                return Err(CoreError::InvalidInput(format!(
                    "extension {name} is not installed in database '{database}', which already holds {theirs} object(s) \
                     of its own in schema public; Dockhand installs extensions as the admin only into a database nothing \
                     but the server has written to (an extension's install script runs as the admin in that schema, \
                     where the project's objects could act with the admin's rights). Give it a new database that \
                     starts with the extension (a new project whose dockhand.toml asks for it) and move the data \
                     there with `dockhand export` / `dockhand import`"
                )));
            }
            c.batch_execute(&format!(
                "CREATE EXTENSION IF NOT EXISTS {} SCHEMA public",
                pg_ident(name)
            ))
            .await
            .map_err(|e| {
                fail(
                    Kind::Postgres,
                    format!(
                        "could not create extension {name} in database '{database}': {}",
                        said(&e)
                    ),
                )
            })?;
        }
        Ok(())
    }
}
