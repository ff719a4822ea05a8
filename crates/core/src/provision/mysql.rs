//! MariaDB and MySQL: a database, a user `'name'@'%'`, and privileges on that database only.

use mysql_async::prelude::Queryable;

use super::{fail, Grant};
use crate::catalog::Kind;
use crate::error::Result;
use crate::ident::{my_ident, my_literal};
use crate::probe::ProbeTarget;

async fn connect(admin: &ProbeTarget) -> Result<mysql_async::Conn> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(admin.host.clone())
        .tcp_port(admin.port)
        .user(Some(admin.user.clone()))
        .pass(Some(admin.password.clone()))
        .prefer_socket(false);
    mysql_async::Conn::new(opts)
        .await
        .map_err(|e| fail(Kind::Mariadb, e))
}

pub(super) async fn verify(host: &str, port: u16, g: &Grant<'_>) -> bool {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(host.to_string())
        .tcp_port(port)
        .user(Some(g.user.to_string()))
        .pass(Some(g.password.expose().to_string()))
        .db_name(Some(g.database.to_string()))
        .prefer_socket(false);
    match mysql_async::Conn::new(opts).await {
        Ok(c) => {
            let _ = c.disconnect().await;
            true
        }
        Err(_) => false,
    }
}

pub(super) async fn provision(admin: &ProbeTarget, g: &Grant<'_>) -> Result<()> {
    let mut c = connect(admin).await?;
    let user = format!("{}@'%'", my_literal(g.user));
    let pw = my_literal(g.password.expose());
    let db = my_ident(g.database);
    // IF NOT EXISTS and ALTER never fail on a second run, so no statement carrying the password
    // ends up in an error log.
    for stmt in [
        format!("CREATE DATABASE IF NOT EXISTS {db}"),
        format!("CREATE USER IF NOT EXISTS {user} IDENTIFIED BY {pw}"),
        format!("ALTER USER {user} IDENTIFIED BY {pw}"),
        format!("GRANT ALL PRIVILEGES ON {db}.* TO {user}"),
    ] {
        c.query_drop(stmt)
            .await
            .map_err(|e| fail(Kind::Mariadb, e))?;
    }
    let _ = c.disconnect().await;
    Ok(())
}

pub(super) async fn drop(admin: &ProbeTarget, g: &Grant<'_>) -> Result<()> {
    let mut c = connect(admin).await?;
    for stmt in [
        format!("DROP DATABASE IF EXISTS {}", my_ident(g.database)),
        format!("DROP USER IF EXISTS {}@'%'", my_literal(g.user)),
    ] {
        c.query_drop(stmt)
            .await
            .map_err(|e| fail(Kind::Mariadb, e))?;
    }
    let _ = c.disconnect().await;
    Ok(())
}
