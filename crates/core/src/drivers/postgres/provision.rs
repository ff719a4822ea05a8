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
    let (client, conn) = super::session::admin_config(admin, "postgres")
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(pg_error)?;
    tokio::spawn(conn);
    Ok(client)
}

/// Advisory-lock class for provisioning (the other key is the database name's hash): "dkh".
const LOCK_CLASS: i32 = 0x646b68;

/// Isolation rules for a project on a shared PostgreSQL server (tested by
/// crates/cli/tests/it/adversarial.rs):
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
    harden_server_databases(admin, &c).await?;
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
                "CREATE DATABASE {db} OWNER {role} TEMPLATE template0 ALLOW_CONNECTIONS false"
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

/// The server's own databases hold nothing a project wrote. Up to PostgreSQL 14 every role may
/// create objects in schema `public` of every database it can connect to — `postgres` and
/// `template1` included (PostgreSQL 15 changed that default): a project could plant a function or
/// operator where the admin works (`postgres`, Dockhand's maintenance database) or in the
/// template every database made by hand is copied from. Revoked here on every server Dockhand
/// provisions on, as PostgreSQL 15 does by default (a no-op there); project databases are made
/// from `template0`, so nothing in `template1` reaches them either.
async fn harden_server_databases(admin: &ProbeTarget, postgres: &Client) -> Result<()> {
    // Only when there is something to revoke (a server whose admin dropped `public` has
    // nothing), one provisioning at a time: two revoking at once collide ("tuple concurrently
    // updated").
    const REVOKE: &str = "DO $$ BEGIN \
        PERFORM pg_advisory_xact_lock(6581096, 0); \
        IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') \
           AND has_schema_privilege('public', 'public', 'CREATE') THEN \
            REVOKE CREATE ON SCHEMA public FROM PUBLIC; \
        END IF; END $$";
    postgres.batch_execute(REVOKE).await.map_err(pg_error)?;
    // Nobody can create anything in a template that takes no connections.
    let open = postgres
        .query_opt(
            "SELECT 1 FROM pg_database WHERE datname = 'template1' AND datallowconn",
            &[],
        )
        .await
        .map_err(pg_error)?
        .is_some();
    if !open {
        return Ok(());
    }
    let (template1, conn) = super::session::admin_config(admin, "template1")
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(pg_error)?;
    let driver = tokio::spawn(conn);
    let done = template1.batch_execute(REVOKE).await;
    std::mem::drop(template1);
    driver.abort();
    done.map_err(pg_error)
}

/// Drops the project's database and role. What the role owns besides its own database (a
/// backup restored `--into` another name, objects in a database someone let it write to) is
/// kept — dropping data nobody backed up is never part of removing a project — and so is the
/// role, without login: handing its objects to the admin would make the admin the owner of
/// code the project wrote (functions its tables' CHECKs call), run with the admin's rights by
/// the next restore of that data.
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
    // pg_shdepend is shared: it records what the role owns in every database.
    let owns: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_shdepend WHERE deptype = 'o' \
             AND refclassid = 'pg_authid'::regclass \
             AND refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1)",
            &[&g.user],
        )
        .await
        .map_err(e)?
        .get(0);
    let role = pg_ident(g.user);
    if owns > 0 {
        c.batch_execute(&format!(
            "ALTER ROLE {role} NOLOGIN; \
             SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = {}",
            pg_literal(g.user)
        ))
        .await
        .map_err(e)?;
        return Ok(());
    }
    // It owns nothing: what is left are privileges granted to it, which DROP OWNED revokes in
    // the database it runs in (and on shared objects), so every database that accepts
    // connections is visited.
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
    for database in databases {
        let (other, conn) = super::session::admin_config(admin, &database)
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(e)?;
        let driver = tokio::spawn(conn);
        let done = other.batch_execute(&format!("DROP OWNED BY {role};")).await;
        std::mem::drop(other);
        driver.abort();
        done.map_err(e)?;
    }
    c.batch_execute(&format!("DROP ROLE IF EXISTS {role}"))
        .await
        .map_err(e)?;
    Ok(())
}

/// A role or database of the grant's names that the server has already.
pub(crate) async fn already_taken(admin: &ProbeTarget, g: &Grant<'_>) -> Result<Option<String>> {
    let c = connect(admin).await?;
    let row = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1), \
                    EXISTS (SELECT 1 FROM pg_database WHERE datname = $2)",
            &[&g.user, &g.database],
        )
        .await
        .map_err(pg_error)?;
    let (role, db): (bool, bool) = (row.get(0), row.get(1));
    Ok(match (role, db) {
        (true, true) => Some(format!(
            "a role '{}' and a database '{}'",
            g.user, g.database
        )),
        (true, false) => Some(format!("a role '{}'", g.user)),
        (false, true) => Some(format!("a database '{}'", g.database)),
        (false, false) => None,
    })
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
