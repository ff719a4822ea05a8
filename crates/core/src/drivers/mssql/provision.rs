//! A project on a shared SQL Server: its own database, owned by its own SQL login, and nothing
//! else. Statements are built here as text (unit-tested with hostile names and passwords) and
//! sent as the admin over TDS.
//!
//! Isolation rules:
//! - a SQL login per project with no server role, `CHECK_POLICY = OFF` (the password is
//!   Dockhand's 32 random characters; the policy would only add expiry and lock-out) and its
//!   database as `DEFAULT_DATABASE`;
//! - the login OWNS its database (`ALTER AUTHORIZATION`), so inside it the login is `dbo`, with
//!   the rights `db_owner` has and none outside. Ownership rather than a `CREATE USER` in the
//!   `db_owner` role because of the next rule: with `VIEW ANY DATABASE` denied, a login sees in
//!   `sys.databases` only master, tempdb and the databases it owns — a mere `db_owner` member
//!   would not even see its own;
//! - `DENY VIEW ANY DATABASE`: by default every login (through `public`) sees every database's
//!   name, so a project would see the others';
//! - names that are the server's own (master, sa, dbo, …) are refused before anything is sent,
//!   and a login that exists but is not a plain SQL login without server roles (sa, a sysadmin, a
//!   Windows login) is never altered: the batch stops with an error instead.
//!
//! SQL Server has no per-login connection limit; `Grant::connection_limit` is not applied (a
//! logon trigger could, at the risk of locking every login out when it fails).

use crate::drivers::{fail, Grant, Kind, ProbeTarget, PROVISION_LIMIT};
use crate::error::{CoreError, Result};

use super::quote::{ident, literal};
use super::tds;

/// Databases and principals that are SQL Server's own; a project never takes one of these names.
const SERVER_DATABASES: &[&str] = &["master", "tempdb", "model", "msdb"];
const SERVER_PRINCIPALS: &[&str] = &["sa", "dbo", "guest", "sys", "information_schema", "public"];

/// Refuses a grant naming one of the server's own databases or principals.
pub(crate) fn check_names(g: &Grant<'_>) -> Result<()> {
    let db = g.database.to_ascii_lowercase();
    let user = g.user.to_ascii_lowercase();
    let own = SERVER_DATABASES.contains(&db.as_str())
        || SERVER_PRINCIPALS.contains(&user.as_str())
        || SERVER_DATABASES.contains(&user.as_str())
        || user.starts_with("##");
    if own {
        return Err(CoreError::InvalidInput(format!(
            "database '{}' / user '{}' is a name SQL Server keeps for itself; attach the project \
             under another name",
            g.database, g.user
        )));
    }
    Ok(())
}

/// The batch that creates or re-applies a project's database and login. Idempotent: every
/// step checks what exists, so a second run (re-attach) only resets the password and rules.
pub(crate) fn provision_batch(g: &Grant<'_>) -> String {
    let db = ident(g.database);
    let db_lit = literal(g.database);
    let login = ident(g.user);
    let login_lit = literal(g.user);
    let pw = literal(g.password.expose());
    let options = format!("DEFAULT_DATABASE = {db}, CHECK_POLICY = OFF, CHECK_EXPIRATION = OFF");
    format!(
        "SET NOCOUNT ON; SET XACT_ABORT ON;\n\
         IF SUSER_ID({login_lit}) IS NOT NULL AND (\n\
           NOT EXISTS (SELECT 1 FROM sys.sql_logins WHERE name = {login_lit})\n\
           OR SUSER_ID({login_lit}) = 1\n\
           OR EXISTS (SELECT 1 FROM sys.server_role_members WHERE member_principal_id = SUSER_ID({login_lit})))\n\
           THROW 50000, N'a login of that name exists and is not a project login (a SQL login without server roles); nothing was changed', 1;\n\
         IF DB_ID({db_lit}) IS NULL CREATE DATABASE {db};\n\
         IF SUSER_ID({login_lit}) IS NULL\n\
           CREATE LOGIN {login} WITH PASSWORD = {pw}, {options};\n\
         ELSE\n\
           ALTER LOGIN {login} WITH PASSWORD = {pw}, {options};\n\
         ALTER LOGIN {login} ENABLE;\n\
         DENY VIEW ANY DATABASE TO {login};\n\
         IF NOT EXISTS (SELECT 1 FROM sys.databases WHERE name = {db_lit} AND owner_sid = SUSER_SID({login_lit}))\n\
           ALTER AUTHORIZATION ON DATABASE::{db} TO {login};\n"
    )
}

/// The batch that removes a project's database and login: its sessions are ended first (a
/// database in use cannot be dropped). Never drops a login that is not a project login.
pub(crate) fn drop_batch(g: &Grant<'_>) -> String {
    let db = ident(g.database);
    let db_lit = literal(g.database);
    let login = ident(g.user);
    let login_lit = literal(g.user);
    format!(
        "SET NOCOUNT ON;\n\
         IF DB_ID({db_lit}) IS NOT NULL\n\
         BEGIN\n\
           IF DATABASEPROPERTYEX({db_lit}, 'Status') = 'ONLINE'\n\
             ALTER DATABASE {db} SET SINGLE_USER WITH ROLLBACK IMMEDIATE;\n\
           DROP DATABASE {db};\n\
         END;\n\
         IF EXISTS (SELECT 1 FROM sys.sql_logins WHERE name = {login_lit}) AND SUSER_ID({login_lit}) <> 1\n\
           AND NOT EXISTS (SELECT 1 FROM sys.server_role_members WHERE member_principal_id = SUSER_ID({login_lit}))\n\
         BEGIN\n\
           DECLARE @kill nvarchar(max) = N'';\n\
           SELECT @kill += N'KILL ' + CAST(session_id AS nvarchar(10)) + N';'\n\
             FROM sys.dm_exec_sessions WHERE original_login_name = {login_lit} AND session_id <> @@SPID;\n\
           EXEC (@kill);\n\
           DROP LOGIN {login};\n\
         END;\n"
    )
}

/// What the project's own session reports about itself, for [`verify`]: one row of
/// (database it is in, whether it may see every database, whether it is a sysadmin, whether it
/// owns its database).
pub(crate) const SELF_CHECK: &str = "SELECT DB_NAME(), \
     HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW ANY DATABASE'), \
     IS_SRVROLEMEMBER('sysadmin'), \
     CASE WHEN EXISTS (SELECT 1 FROM sys.databases WHERE name = DB_NAME() AND owner_sid = SUSER_SID()) THEN 1 ELSE 0 END";

async fn admin_session(admin: &ProbeTarget) -> Result<tds::Session> {
    tds::connect(tds::config(
        &admin.host,
        admin.port,
        &admin.user,
        &admin.password,
        Some("master"),
    ))
    .await
    .map_err(|e| fail(Kind::Mssql, e))
}

/// Runs one batch as the admin within the provisioning deadline.
async fn run_batch(admin: &ProbeTarget, batch: &str) -> Result<()> {
    let work = async {
        let mut s = admin_session(admin).await?;
        // A server error here carries the server's message, never the batch (which holds the
        // password).
        s.simple_query(batch)
            .await
            .map_err(|e| fail(Kind::Mssql, e))?
            .into_results()
            .await
            .map_err(|e| fail(Kind::Mssql, e))?;
        let _ = s.close().await;
        Ok(())
    };
    tokio::time::timeout(PROVISION_LIMIT, work)
        .await
        .unwrap_or_else(|_| {
            Err(fail(
                Kind::Mssql,
                format!("no answer within {} s", PROVISION_LIMIT.as_secs()),
            ))
        })
}

pub(crate) async fn provision(admin: &ProbeTarget, g: &Grant<'_>) -> Result<()> {
    check_names(g)?;
    run_batch(admin, &provision_batch(g)).await
}

pub(crate) async fn drop(admin: &ProbeTarget, g: &Grant<'_>) -> Result<()> {
    check_names(g)?;
    run_batch(admin, &drop_batch(g)).await
}

/// The project's login opens its database with its password, owns it, and may neither see
/// other databases nor administer the server.
pub(crate) async fn verify(host: &str, port: u16, g: &Grant<'_>) -> bool {
    let work = async {
        let cfg = tds::config(host, port, g.user, g.password.expose(), Some(g.database));
        let mut s = tds::connect(cfg).await.ok()?;
        let row = s
            .simple_query(SELF_CHECK)
            .await
            .ok()?
            .into_row()
            .await
            .ok()??;
        let _ = s.close().await;
        // try_get: a column of an unexpected type is a failed check, not a panic.
        let db: &str = row.try_get(0).ok()??;
        let view_any: i32 = row.try_get(1).ok()??;
        let sysadmin: i32 = row.try_get(2).ok()??;
        let owner: i32 = row.try_get(3).ok()??;
        Some(db == g.database && view_any == 0 && sysadmin == 0 && owner == 1)
    };
    tokio::time::timeout(PROVISION_LIMIT, work)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

pub(crate) async fn database_exists(admin: &ProbeTarget, database: &str) -> Result<bool> {
    let work = async {
        let mut s = admin_session(admin).await?;
        let row = s
            .query(
                "SELECT COUNT(*) FROM sys.databases WHERE name = @P1",
                &[&database],
            )
            .await
            .map_err(|e| fail(Kind::Mssql, e))?
            .into_row()
            .await
            .map_err(|e| fail(Kind::Mssql, e))?;
        let _ = s.close().await;
        Ok(row
            .and_then(|r| r.try_get::<i32, _>(0).ok().flatten())
            .unwrap_or(0)
            > 0)
    };
    tokio::time::timeout(PROVISION_LIMIT, work)
        .await
        .unwrap_or_else(|_| Err(fail(Kind::Mssql, "no answer in time")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    fn grant<'a>(db: &'a str, user: &'a str, pw: &'a Secret) -> Grant<'a> {
        Grant {
            database: db,
            user,
            password: pw,
            connection_limit: 50,
        }
    }

    /// Splits a batch into what is inside `[…]` identifiers and `N'…'` literals and what is
    /// SQL around them, following T-SQL's own quoting rules: hostile input must end up entirely
    /// inside quotes.
    fn outside_quotes(batch: &str) -> String {
        let mut out = String::new();
        let mut chars = batch.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '[' => {
                    while let Some(d) = chars.next() {
                        if d == ']' {
                            if chars.peek() == Some(&']') {
                                chars.next();
                            } else {
                                break;
                            }
                        }
                    }
                    out.push_str("[]");
                }
                '\'' => {
                    while let Some(d) = chars.next() {
                        if d == '\'' {
                            if chars.peek() == Some(&'\'') {
                                chars.next();
                            } else {
                                break;
                            }
                        }
                    }
                    out.push_str("''");
                }
                _ => out.push(c),
            }
        }
        out
    }

    #[test]
    fn hostile_names_and_passwords_stay_inside_their_quotes() {
        let pw = Secret::new("p'w]; DROP LOGIN sa; --");
        let g = grant("shop]; DROP DATABASE x; --", "u'] WITH CHECK; --", &pw);
        for batch in [provision_batch(&g), drop_batch(&g)] {
            let sql = outside_quotes(&batch);
            for evil in ["DROP LOGIN sa", "DROP DATABASE x", "WITH CHECK;", "--"] {
                assert!(!sql.contains(evil), "{evil:?} escaped its quotes:\n{sql}");
            }
        }
        let b = provision_batch(&g);
        assert!(b.contains("N'p''w]; DROP LOGIN sa; --'"), "{b}");
        assert!(b.contains("[shop]]; DROP DATABASE x; --]"), "{b}");
    }

    #[test]
    fn a_project_owns_its_database_sees_no_other_and_gets_no_server_role() {
        let pw = Secret::new("Secret1x");
        let b = provision_batch(&grant("shop", "shop", &pw));
        assert!(
            b.contains("IF DB_ID(N'shop') IS NULL CREATE DATABASE [shop]"),
            "{b}"
        );
        assert!(b.contains("CREATE LOGIN [shop] WITH PASSWORD = N'Secret1x', DEFAULT_DATABASE = [shop], CHECK_POLICY = OFF"), "{b}");
        // Re-attach: the same batch resets what exists rather than failing on it.
        assert!(
            b.contains("ALTER LOGIN [shop] WITH PASSWORD = N'Secret1x'"),
            "{b}"
        );
        assert!(b.contains("DENY VIEW ANY DATABASE TO [shop]"), "{b}");
        assert!(
            b.contains("ALTER AUTHORIZATION ON DATABASE::[shop] TO [shop]"),
            "{b}"
        );
        for never in [
            "sp_addsrvrolemember",
            "ALTER SERVER ROLE",
            "GRANT CONTROL",
            "sysadmin",
            "db_owner ADD",
        ] {
            assert!(!b.contains(never), "{never} in\n{b}");
        }
        // sa, a sysadmin or a Windows login of that name is never altered.
        assert!(b.contains("SUSER_ID(N'shop') = 1") && b.contains("sys.server_role_members"));
        assert!(b.find("THROW").unwrap() < b.find("CREATE LOGIN").unwrap());
    }

    #[test]
    fn dropping_ends_sessions_and_never_drops_an_admin() {
        let pw = Secret::new("x");
        let b = drop_batch(&grant("shop", "shop", &pw));
        assert!(b.contains("SET SINGLE_USER WITH ROLLBACK IMMEDIATE"), "{b}");
        assert!(b.find("DROP DATABASE [shop]").unwrap() < b.find("DROP LOGIN [shop]").unwrap());
        assert!(b.contains("SUSER_ID(N'shop') <> 1"), "{b}");
    }

    #[test]
    fn the_servers_own_names_are_refused() {
        let pw = Secret::new("x");
        for (db, user) in [
            ("master", "p_master"),
            ("shop", "sa"),
            ("msdb", "msdb"),
            ("shop", "dbo"),
            ("shop", "SA"),
            ("shop", "##MS_x##"),
        ] {
            let e = check_names(&grant(db, user, &pw)).unwrap_err().to_string();
            assert!(e.contains("keeps for itself"), "{db}/{user}: {e}");
        }
        check_names(&grant("shop", "shop", &pw)).unwrap();
    }
}
