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
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&admin.host)
        .port(admin.port)
        .user(&admin.user)
        .password(&admin.password)
        .dbname(database)
        .application_name("dockhand");
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.map_err(pg_error)?;
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
