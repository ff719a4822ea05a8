//! PostgreSQL. Passwords are sent as SCRAM-SHA-256 verifiers computed here, so no plaintext
//! password ever reaches the server — not even a server log line of a failed statement.

use tokio_postgres::Client;

use super::{fail, Grant};
use crate::catalog::Kind;
use crate::error::Result;
use crate::ident::{pg_ident, pg_literal};
use crate::probe::ProbeTarget;

/// The server's own words for a failed statement ("db error" alone says nothing).
fn pg_error(e: tokio_postgres::Error) -> crate::error::CoreError {
    match e.as_db_error() {
        Some(db) => fail(
            Kind::Postgres,
            format!("{} ({})", db.message(), db.code().code()),
        ),
        None => fail(Kind::Postgres, e),
    }
}

pub(super) async fn verify(host: &str, port: u16, g: &Grant<'_>) -> bool {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(host)
        .port(port)
        .user(g.user)
        .password(g.password.expose())
        .dbname(g.database);
    let Ok((client, conn)) = cfg.connect(tokio_postgres::NoTls).await else {
        return false;
    };
    let driver = tokio::spawn(conn);
    let ok = client.simple_query("SELECT 1").await.is_ok();
    std::mem::drop(client);
    driver.abort();
    ok
}

async fn connect(admin: &ProbeTarget) -> Result<Client> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&admin.host)
        .port(admin.port)
        .user(&admin.user)
        .password(&admin.password)
        .dbname("postgres")
        .application_name("dockhand");
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.map_err(pg_error)?;
    tokio::spawn(conn);
    Ok(client)
}

pub(super) async fn provision(admin: &ProbeTarget, g: &Grant<'_>) -> Result<()> {
    let c = connect(admin).await?;
    let e = pg_error;
    let role = pg_ident(g.user);
    let db = pg_ident(g.database);
    if c.query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&g.user])
        .await
        .map_err(e)?
        .is_none()
    {
        c.batch_execute(&format!("CREATE ROLE {role} LOGIN"))
            .await
            .map_err(e)?;
    }
    let verifier = postgres_protocol::password::scram_sha_256(g.password.expose().as_bytes());
    c.batch_execute(&format!(
        "ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}",
        pg_literal(&verifier)
    ))
    .await
    .map_err(e)?;
    if c.query_opt(
        "SELECT 1 FROM pg_database WHERE datname = $1",
        &[&g.database],
    )
    .await
    .map_err(e)?
    .is_none()
    {
        c.batch_execute(&format!("CREATE DATABASE {db} OWNER {role}"))
            .await
            .map_err(e)?;
    }
    c.batch_execute(&format!(
        "REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC; GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {role};"
    ))
    .await
    .map_err(e)?;
    Ok(())
}

pub(super) async fn drop(admin: &ProbeTarget, g: &Grant<'_>) -> Result<()> {
    let c = connect(admin).await?;
    let e = pg_error;
    c.batch_execute(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        pg_ident(g.database)
    ))
    .await
    .map_err(e)?;
    c.batch_execute(&format!("DROP ROLE IF EXISTS {}", pg_ident(g.user)))
        .await
        .map_err(e)?;
    Ok(())
}
