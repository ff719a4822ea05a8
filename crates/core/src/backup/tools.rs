//! The command lines of each kind's own dump and restore tools, run inside the service's
//! container so the tool's version always matches the server's. Passwords reach them through
//! the exec's environment, never through the command line (`ps` in the container would show it).

use crate::catalog::Kind;
use crate::error::{CoreError, Result};

/// Redis has no databases to pick from: one snapshot holds the whole server.
pub const WHOLE_SERVER: &str = "all";

/// A command to run in the container, with the environment it needs.
#[derive(Clone, PartialEq, Eq)]
pub struct ToolCommand {
    pub cmd: Vec<String>,
    pub env: Vec<String>,
}

impl std::fmt::Debug for ToolCommand {
    // The environment carries the admin password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.cmd.join(" "))
    }
}

impl ToolCommand {
    pub fn argv(&self) -> Vec<&str> {
        self.cmd.iter().map(String::as_str).collect()
    }
}

fn cmd(parts: &[&str], env: Vec<String>) -> ToolCommand {
    ToolCommand {
        cmd: parts.iter().map(|s| s.to_string()).collect(),
        env,
    }
}

fn mysql_client(kind: Kind) -> &'static str {
    if kind == Kind::Mysql {
        "mysql"
    } else {
        "mariadb"
    }
}

/// The file extension of a dump of this kind.
pub fn extension(kind: Kind) -> &'static str {
    match kind {
        Kind::Postgres => "dump",
        Kind::Mariadb | Kind::Mysql => "sql",
        Kind::Redis => "rdb",
        Kind::Mongo => "archive",
    }
}

/// The command that writes a dump of `database` to stdout.
pub fn dump(kind: Kind, password: &str, database: &str) -> ToolCommand {
    match kind {
        Kind::Postgres => cmd(
            &["pg_dump", "-Fc", "-U", "postgres", "-d", database],
            vec![format!("PGPASSWORD={password}")],
        ),
        // Without --databases the dump has no CREATE DATABASE/USE lines, so it restores into
        // any database name.
        Kind::Mariadb | Kind::Mysql => cmd(
            &[
                if kind == Kind::Mysql {
                    "mysqldump"
                } else {
                    "mariadb-dump"
                },
                "--single-transaction",
                "--routines",
                "--triggers",
                "-uroot",
                database,
            ],
            vec![format!("MYSQL_PWD={password}")],
        ),
        // `--rdb -` streams the snapshot the server makes for a replica to stdout. Redis waits
        // `repl-diskless-sync-delay` (5 s) for more replicas before sending one: not for us.
        Kind::Redis => cmd(
            &[
                "sh",
                "-c",
                "redis-cli --no-auth-warning CONFIG SET repl-diskless-sync-delay 0 >/dev/null && \
                 exec redis-cli --no-auth-warning --rdb -",
            ],
            vec![format!("REDISCLI_AUTH={password}")],
        ),
        // mongodump reads a password only from its argv, a prompt or a config file: a private
        // temporary config file keeps it out of `ps`.
        Kind::Mongo => cmd(
            &[
                "sh",
                "-c",
                "umask 077; f=$(mktemp); printf 'password: \"%s\"\\n' \"$DOCKHAND_PW\" > \"$f\"; \
                 mongodump --quiet --archive --db \"$DOCKHAND_DB\" -u root --authenticationDatabase admin --config \"$f\"; \
                 rc=$?; rm -f \"$f\"; exit $rc",
            ],
            vec![
                format!("DOCKHAND_PW={password}"),
                format!("DOCKHAND_DB={database}"),
            ],
        ),
    }
}

/// The command that prints the dump tool's version.
pub fn version(kind: Kind) -> ToolCommand {
    let tool = match kind {
        Kind::Postgres => "pg_dump",
        Kind::Mariadb => "mariadb-dump",
        Kind::Mysql => "mysqldump",
        Kind::Redis => "redis-cli",
        Kind::Mongo => "mongodump",
    };
    cmd(&[tool, "--version"], vec![])
}

/// The command that reads a dump from stdin into `database` (which exists and is empty),
/// creating objects as `owner`.
pub fn restore(kind: Kind, password: &str, database: &str, owner: &str) -> Result<ToolCommand> {
    Ok(match kind {
        // One transaction: a restore that fails half-way leaves nothing behind.
        Kind::Postgres => cmd(
            &[
                "pg_restore",
                "-U",
                "postgres",
                "--no-owner",
                "--no-privileges",
                "--role",
                owner,
                "--single-transaction",
                "--exit-on-error",
                "-d",
                database,
            ],
            vec![format!("PGPASSWORD={password}")],
        ),
        Kind::Mariadb | Kind::Mysql => cmd(
            &[mysql_client(kind), "-uroot", database],
            vec![format!("MYSQL_PWD={password}")],
        ),
        Kind::Mongo => cmd(
            &[
                "sh",
                "-c",
                "umask 077; f=$(mktemp); printf 'password: \"%s\"\\n' \"$DOCKHAND_PW\" > \"$f\"; \
                 mongorestore --quiet --archive --nsFrom \"$DOCKHAND_FROM.*\" --nsTo \"$DOCKHAND_DB.*\" -u root --authenticationDatabase admin --config \"$f\"; \
                 rc=$?; rm -f \"$f\"; exit $rc",
            ],
            vec![
                format!("DOCKHAND_PW={password}"),
                format!("DOCKHAND_DB={database}"),
                format!("DOCKHAND_FROM={owner}"),
            ],
        ),
        Kind::Redis => {
            return Err(CoreError::InvalidInput(
                "restoring a Redis snapshot replaces the whole server and is not supported by Dockhand yet; \
                 the .rdb file is a standard Redis snapshot (stop the service, copy it to /data/dump.rdb with appendonly off)"
                    .into(),
            ))
        }
    })
}

/// Runs one SQL statement as the admin (`psql`/`mariadb` in the container), tab-separated rows out.
pub fn sql(kind: Kind, password: &str, statement: &str) -> Result<ToolCommand> {
    sql_in(kind, password, "postgres", statement)
}

/// [`sql`] connected to a given PostgreSQL database (`template1` for statements that rename or
/// drop `postgres` itself, which a session connected to it cannot do).
pub fn sql_in(
    kind: Kind,
    password: &str,
    pg_database: &str,
    statement: &str,
) -> Result<ToolCommand> {
    Ok(match kind {
        Kind::Postgres => cmd(
            &[
                "psql",
                "-U",
                "postgres",
                "-d",
                pg_database,
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-c",
                statement,
            ],
            vec![format!("PGPASSWORD={password}")],
        ),
        Kind::Mariadb | Kind::Mysql => cmd(
            &[mysql_client(kind), "-uroot", "-N", "-B", "-e", statement],
            vec![format!("MYSQL_PWD={password}")],
        ),
        Kind::Redis | Kind::Mongo => {
            return Err(CoreError::InvalidInput(format!(
                "{kind} has no SQL databases"
            )))
        }
    })
}

/// The statement listing the databases a user can have written to: every database of the
/// server but templates and system schemas. That includes the admin's own (`postgres`, which the
/// admin URL names) and any database the admin created by hand, not only projects'.
pub fn list_databases(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Postgres => Some(
            "SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY 1",
        ),
        Kind::Mariadb | Kind::Mysql => Some(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN \
             ('mysql','information_schema','performance_schema','sys') ORDER BY 1",
        ),
        Kind::Redis | Kind::Mongo => None,
    }
}

/// The command that checks a PostgreSQL dump read from stdin is a readable archive.
pub fn pg_list() -> ToolCommand {
    cmd(&["pg_restore", "--list"], vec![])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_command_line() {
        let pw = "s3cr3t-pw";
        for kind in [
            Kind::Postgres,
            Kind::Mariadb,
            Kind::Mysql,
            Kind::Redis,
            Kind::Mongo,
        ] {
            let d = dump(kind, pw, "shop");
            assert!(!d.cmd.iter().any(|a| a.contains(pw)), "{kind}: {d:?}");
            assert!(d.env.iter().any(|e| e.ends_with(pw)), "{kind}");
            assert!(!format!("{d:?}").contains(pw));
            if let Ok(r) = restore(kind, pw, "shop", "shop") {
                assert!(!r.cmd.iter().any(|a| a.contains(pw)), "{kind}: {r:?}");
            }
        }
    }

    #[test]
    fn the_admins_database_is_one_to_back_up() {
        let pg = list_databases(Kind::Postgres).unwrap();
        assert!(!pg.contains("<> 'postgres'"), "{pg}");
        assert!(pg.contains("NOT datistemplate"));
        let my = list_databases(Kind::Mariadb).unwrap();
        for system in ["mysql", "information_schema", "performance_schema", "sys"] {
            assert!(my.contains(&format!("'{system}'")), "{my}");
        }
    }

    #[test]
    fn dumps_are_restorable_under_another_name() {
        let d = dump(Kind::Mariadb, "pw", "shop");
        assert!(!d.cmd.contains(&"--databases".to_string()));
        assert_eq!(d.cmd.last().unwrap(), "shop");
        let d = dump(Kind::Postgres, "pw", "shop");
        assert_eq!(&d.cmd[..2], &["pg_dump", "-Fc"]);
        let r = restore(Kind::Postgres, "pw", "shop_copy", "shop").unwrap();
        assert!(r.cmd.windows(2).any(|w| w == ["--role", "shop"]));
        assert!(r.cmd.contains(&"--single-transaction".to_string()));
        assert!(restore(Kind::Redis, "pw", "all", "x")
            .unwrap_err()
            .to_string()
            .contains("not supported"));
    }
}
