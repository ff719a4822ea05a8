//! PostgreSQL. Passwords are sent as SCRAM-SHA-256 verifiers computed here, so no plaintext
//! password ever reaches the server — not even a server log line of a failed statement.

use tokio_postgres::Client;

use crate::drivers::Kind;
use crate::drivers::ProbeTarget;
use crate::drivers::{fail, Grant};
use crate::error::Result;
use crate::ident::{pg_ident, pg_literal};

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

/// The user logs in to its database with its password AND the isolation rules are in force (an
/// older Dockhand provisioned without some of them; a login alone would skip re-applying them).
pub(crate) async fn verify(host: &str, port: u16, g: &Grant<'_>) -> bool {
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
    let current = client
        .query_one(
            "SELECT r.rolconnlimit, has_database_privilege('public', current_database(), 'CONNECT'),
                    r.rolsuper OR r.rolcreatedb OR r.rolcreaterole
             FROM pg_roles r WHERE r.rolname = current_user",
            &[],
        )
        .await;
    std::mem::drop(client);
    driver.abort();
    match current {
        Ok(row) => {
            let limit: i32 = row.get(0);
            let public_connect: bool = row.get(1);
            let privileged: bool = row.get(2);
            i64::from(limit) == i64::from(g.connection_limit) && !public_connect && !privileged
        }
        Err(_) => false,
    }
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

/// Advisory-lock class for provisioning (the other key is the database name's hash): "dkh".
const LOCK_CLASS: i32 = 0x646b68;

/// Isolation rules for a project on a shared PostgreSQL server (tested by
/// crates/cli/tests/adversarial.rs):
/// - its own role (LOGIN, no superuser/createdb/createrole/replication/bypassrls) owning its own
///   database; `CONNECT` and `TEMPORARY` revoked from PUBLIC, so no other project's role can even
///   open the database;
/// - the database is created with `ALLOW_CONNECTIONS false` and opened only after the revoke, so
///   there is no moment in which PUBLIC could connect (a killed provisioning leaves it closed, and
///   the next run finishes it);
/// - `CONNECTION LIMIT` per role, below `max_connections` minus the superuser reserve, so one
///   project cannot take every connection slot from the others or from Dockhand's admin.
///
/// Crash safety against the server: a killed client's statement keeps running in the server (a
/// `CREATE DATABASE` finishes after the client is gone), so a check-then-create in the next run
/// could collide with it. Every provisioning of a database holds a session advisory lock on its
/// name first; the killed client's backend keeps that lock until its statement ends, so the next
/// run waits for it and then sees its result.
pub(crate) async fn provision(admin: &ProbeTarget, g: &Grant<'_>) -> Result<()> {
    let c = connect(admin).await?;
    let e = pg_error;
    c.execute(
        "SELECT pg_advisory_lock($1, hashtext($2))",
        &[&LOCK_CLASS, &g.database],
    )
    .await
    .map_err(e)?;
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
        "ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS \
         CONNECTION LIMIT {} PASSWORD {}",
        g.connection_limit,
        pg_literal(&verifier)
    ))
    .await
    .map_err(e)?;
    let owner: Option<String> = c
        .query_opt(
            "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1",
            &[&g.database],
        )
        .await
        .map_err(e)?
        .map(|r| r.get(0));
    match owner {
        None => {
            c.batch_execute(&format!(
                "CREATE DATABASE {db} OWNER {role} ALLOW_CONNECTIONS false"
            ))
            .await
            .map_err(e)?;
        }
        Some(o) if o == g.user => {}
        Some(o) => {
            return Err(fail(
                Kind::Postgres,
                format!(
                    "database '{}' already exists and belongs to '{o}', not to the project's user '{}'; \
                     nothing was changed — rename or drop that database (it was not created for this project)",
                    g.database, g.user
                ),
            ))
        }
    }
    c.batch_execute(&format!(
        "REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC; \
         GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {role}; \
         ALTER DATABASE {db} ALLOW_CONNECTIONS true;"
    ))
    .await
    .map_err(e)?;
    Ok(())
}

/// Drops the project's database and role. Databases the role owns besides its own (a backup
/// restored `--into` another name belongs to the project's user) are kept and handed to the
/// admin: dropping data nobody backed up is never part of removing a project.
pub(crate) async fn drop(admin: &ProbeTarget, g: &Grant<'_>) -> Result<()> {
    let c = connect(admin).await?;
    let e = pg_error;
    c.execute(
        "SELECT pg_advisory_lock($1, hashtext($2))",
        &[&LOCK_CLASS, &g.database],
    )
    .await
    .map_err(e)?;
    c.batch_execute(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        pg_ident(g.database)
    ))
    .await
    .map_err(e)?;
    if c.query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&g.user])
        .await
        .map_err(e)?
        .is_none()
    {
        return Ok(());
    }
    // REASSIGN/DROP OWNED act on the current database (and shared objects), so every database
    // that accepts connections is visited.
    let databases: Vec<String> = c
        .query(
            "SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname",
            &[],
        )
        .await
        .map_err(e)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let role = pg_ident(g.user);
    let to = pg_ident(&admin.user);
    for database in databases {
        let mut cfg = tokio_postgres::Config::new();
        cfg.host(&admin.host)
            .port(admin.port)
            .user(&admin.user)
            .password(&admin.password)
            .dbname(&database)
            .application_name("dockhand");
        let (other, conn) = cfg.connect(tokio_postgres::NoTls).await.map_err(e)?;
        let driver = tokio::spawn(conn);
        let done = other
            .batch_execute(&format!(
                "REASSIGN OWNED BY {role} TO {to}; DROP OWNED BY {role};"
            ))
            .await;
        std::mem::drop(other);
        driver.abort();
        done.map_err(e)?;
    }
    c.batch_execute(&format!("DROP ROLE IF EXISTS {role}"))
        .await
        .map_err(e)?;
    Ok(())
}

/// Whether the database exists on the server.
pub(crate) async fn database_exists(admin: &ProbeTarget, database: &str) -> Result<bool> {
    let c = connect(admin).await?;
    Ok(
        c.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&database])
            .await
            .map_err(pg_error)?
            .is_some(),
    )
}
