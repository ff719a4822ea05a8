//! MariaDB and MySQL: a database, a user `'name'@'%'`, and privileges on that database only.

use mysql_async::prelude::Queryable;

use crate::drivers::Kind;
use crate::drivers::ProbeTarget;
use crate::drivers::{fail, Grant};
use crate::error::Result;
use crate::ident::{my_ident, my_literal};

async fn connect(kind: Kind, admin: &ProbeTarget) -> Result<mysql_async::Conn> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(admin.host.clone())
        .tcp_port(admin.port)
        .user(Some(admin.user.clone()))
        .pass(Some(admin.password.clone()))
        .prefer_socket(false);
    mysql_async::Conn::new(opts)
        .await
        .map_err(|e| fail(kind, e))
}

/// The user logs in to its database with its password AND its grants are the current ones (an
/// older Dockhand granted on the unescaped name, a wildcard pattern; a login alone would keep it).
pub(crate) async fn verify(host: &str, port: u16, g: &Grant<'_>) -> bool {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(host.to_string())
        .tcp_port(port)
        .user(Some(g.user.to_string()))
        .pass(Some(g.password.expose().to_string()))
        .db_name(Some(g.database.to_string()))
        .prefer_socket(false);
    let Ok(mut c) = mysql_async::Conn::new(opts).await else {
        return false;
    };
    let grants: Vec<String> = c.query("SHOW GRANTS").await.unwrap_or_default();
    let _ = c.disconnect().await;
    grants_are_current(&grants, g)
}

fn grants_are_current(grants: &[String], g: &Grant<'_>) -> bool {
    let escaped = format!("ON {}.*", grant_db_pattern(g.database));
    let limit = format!("MAX_USER_CONNECTIONS {}", g.connection_limit);
    let on_databases: Vec<&String> = grants.iter().filter(|l| !l.contains(" ON *.*")).collect();
    on_databases.len() == 1
        && on_databases[0].contains(&escaped)
        && grants.iter().any(|l| l.contains(&limit))
}

/// A database name as a grant's pattern: in database-level grants `_` and `%` are wildcards, so
/// project `ab-c` (database `ab_c`) granted on `ab_c` could open `abxc` and create `ab9c`.
/// Escaped, the grant matches its own database only.
fn grant_db_pattern(database: &str) -> String {
    my_ident(
        &database
            .replace('\\', "\\\\")
            .replace('_', "\\_")
            .replace('%', "\\%"),
    )
}

/// Advisory lock name for provisioning one database (MariaDB/MySQL `GET_LOCK`, 64 chars max).
fn lock_name(database: &str) -> String {
    format!("dockhand-provision:{database}")
}

/// Isolation rules for a project on a shared MariaDB/MySQL server (tested by
/// crates/cli/tests/it/adversarial.rs):
/// - its own user `'name'@'%'` with no global privileges (only `USAGE ON *.*`);
/// - `ALL` on its own database only, granted on the escaped name ([`grant_db_pattern`]);
/// - `MAX_USER_CONNECTIONS` so one project cannot take all of `max_connections` (the admin keeps
///   the server's extra connection for SUPER/CONNECTION ADMIN).
///
/// Every statement is create-or-verify (`IF NOT EXISTS`, `ALTER`), and the whole run holds
/// `GET_LOCK` on the database's name, so a killed client's statements still running in the server
/// cannot interleave with the next run's.
pub(crate) async fn provision(kind: Kind, admin: &ProbeTarget, g: &Grant<'_>) -> Result<()> {
    let mut c = connect(kind, admin).await?;
    let f = |e| fail(kind, e);
    let got: Option<Option<i64>> = c
        .exec_first("SELECT GET_LOCK(?, 25)", (lock_name(g.database),))
        .await
        .map_err(f)?;
    if got.flatten() != Some(1) {
        return Err(fail(
            kind,
            "another provisioning of this database did not finish within 25 s",
        ));
    }
    let user = format!("{}@'%'", my_literal(g.user));
    let pw = my_literal(g.password.expose());
    let db = my_ident(g.database);
    // IF NOT EXISTS and ALTER never fail on a second run, so no statement carrying the password
    // ends up in an error log.
    for stmt in [
        format!("CREATE DATABASE IF NOT EXISTS {db}"),
        format!("CREATE USER IF NOT EXISTS {user} IDENTIFIED BY {pw}"),
        format!(
            // ACCOUNT UNLOCK: an upgrade keeps projects out with ACCOUNT LOCK while it copies.
            "ALTER USER {user} IDENTIFIED BY {pw} WITH MAX_USER_CONNECTIONS {} ACCOUNT UNLOCK",
            g.connection_limit
        ),
    ] {
        c.query_drop(stmt).await.map_err(f)?;
    }
    // Whatever database-level grants the user has that are not exactly its own (the unescaped
    // wildcard grant of older versions included) are revoked before the right one is granted.
    let grants: Vec<String> = c
        .query(format!("SHOW GRANTS FOR {user}"))
        .await
        .map_err(f)?;
    let own = grant_db_pattern(g.database);
    for line in grants {
        if let Some(pattern) = database_of_grant(&line) {
            if pattern != own {
                c.query_drop(format!("REVOKE ALL PRIVILEGES ON {pattern}.* FROM {user}"))
                    .await
                    .map_err(f)?;
            }
        }
    }
    c.query_drop(format!("GRANT ALL PRIVILEGES ON {own}.* TO {user}"))
        .await
        .map_err(f)?;
    // Disconnecting releases the lock.
    let _ = c.disconnect().await;
    Ok(())
}

/// The quoted database pattern of a database-level `GRANT … ON `x`.* TO …` line, if it is one.
fn database_of_grant(line: &str) -> Option<String> {
    let rest = line.split_once(" ON `")?.1;
    let end = rest.find("`.*")?;
    Some(format!("`{}`", &rest[..end]))
}

pub(crate) async fn drop(kind: Kind, admin: &ProbeTarget, g: &Grant<'_>) -> Result<()> {
    let mut c = connect(kind, admin).await?;
    for stmt in [
        format!("DROP DATABASE IF EXISTS {}", my_ident(g.database)),
        format!("DROP USER IF EXISTS {}@'%'", my_literal(g.user)),
    ] {
        c.query_drop(stmt).await.map_err(|e| fail(kind, e))?;
    }
    let _ = c.disconnect().await;
    Ok(())
}

/// A user (under any host) or database of the grant's names that the server has already.
pub(crate) async fn already_taken(
    kind: Kind,
    admin: &ProbeTarget,
    g: &Grant<'_>,
) -> Result<Option<String>> {
    let mut c = connect(kind, admin).await?;
    let f = |e| fail(kind, e);
    let hosts: Vec<String> = c
        .exec("SELECT Host FROM mysql.user WHERE User = ?", (g.user,))
        .await
        .map_err(f)?;
    let db: Option<String> = c
        .exec_first(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (g.database,),
        )
        .await
        .map_err(f)?;
    let _ = c.disconnect().await;
    let user = (!hosts.is_empty()).then(|| {
        format!(
            "a user '{}' (@{})",
            g.user,
            hosts
                .iter()
                .map(|h| format!("'{h}'"))
                .collect::<Vec<_>>()
                .join(", @")
        )
    });
    let db = db.map(|d| format!("a database '{d}'"));
    Ok(match (user, db) {
        (Some(u), Some(d)) => Some(format!("{u} and {d}")),
        (u, d) => u.or(d),
    })
}

/// Whether the database exists on the server.
pub(crate) async fn database_exists(
    kind: Kind,
    admin: &ProbeTarget,
    database: &str,
) -> Result<bool> {
    let mut c = connect(kind, admin).await?;
    let found: Option<String> = c
        .exec_first(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (database,),
        )
        .await
        .map_err(|e| fail(kind, e))?;
    let _ = c.disconnect().await;
    Ok(found.is_some())
}
