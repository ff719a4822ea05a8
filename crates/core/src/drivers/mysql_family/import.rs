//! Importing a SQL file into a project's MariaDB database, as the project's user.
//!
//! The `mariadb` client obeys client commands in its input (`system`/`\!` runs a shell in the
//! container as root, whose `unix_socket` login is the server's root; `source` and `tee` read
//! and write files): `--sandbox` (MariaDB 10.5.25/10.6.18/10.11.8/11.4.2 and later) turns them
//! off. MySQL's client has no such mode, so a MySQL import is refused rather than run unguarded.

use std::borrow::Cow;

use super::MysqlFamily;
use crate::drivers::{
    tool, FileFormat, ImportInput, ImportTo, Importer, Kind, SqlLineFilter, ToolCommand,
};
use crate::ident::my_literal;

impl Importer for MysqlFamily {
    fn takes(&self, format: FileFormat) -> Option<ImportInput> {
        match format {
            FileFormat::MysqlSql | FileFormat::Sql => Some(ImportInput::Sql),
            FileFormat::PgArchive | FileFormat::PgSql | FileFormat::RedisRdb => None,
        }
    }

    fn command(
        &self,
        input: ImportInput,
        to: &ImportTo<'_>,
    ) -> std::result::Result<ToolCommand, String> {
        if input == ImportInput::PgArchive {
            return Err(format!(
                "a PostgreSQL archive cannot be imported into {}",
                self.spec.display_name
            ));
        }
        if self.kind != Kind::Mariadb {
            return Err(format!(
                "importing into {} is not supported: its client has no mode that stops a file \
                 from running shell commands in the server's container (MariaDB's --sandbox). \
                 Import with your own client as the project's user: `{} -h 127.0.0.1 -P <port> \
                 -u <user> -p <database> < FILE` (`dockhand env <project>` shows them)",
                self.spec.display_name, self.client
            ));
        }
        // --sandbox: no client command (system, source, tee, …); --local-infile=0: no
        // `LOAD DATA LOCAL INFILE`, which --sandbox allows and which reads a file of the
        // container for the server. And the client runs as `nobody`, who can read none of the
        // server's files (its data, the admin password) whatever it is made to do.
        let user = format!("-u{}", to.user);
        Ok(tool(
            self.client,
            &[
                "--sandbox",
                "--local-infile=0",
                "--protocol=TCP",
                "-h127.0.0.1",
                &user,
                to.database,
            ],
            vec![format!("MYSQL_PWD={}", to.password)],
        )
        .unprivileged())
    }

    fn objects_in(&self, database: &str) -> String {
        let db = my_literal(database);
        format!(
            "SELECT (SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = {db}) \
             + (SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = {db}) \
             + (SELECT COUNT(*) FROM information_schema.events WHERE event_schema = {db})"
        )
    }

    fn sql_filter(&self) -> Box<dyn SqlLineFilter> {
        Box::new(OwnDefiner)
    }

    fn explain_failure(&self, stderr: &str) -> Option<String> {
        let first = stderr
            .lines()
            .find(|l| l.contains("ERROR"))
            .unwrap_or("")
            .trim();
        if stderr.contains("Access denied for user") && stderr.contains("to database") {
            return Some(format!(
                "the file switches to a database of its own ({first}): it was dumped with \
                 --databases or --all-databases (CREATE DATABASE/USE lines). An import goes into \
                 the project's database only: dump that one database without --databases, or \
                 remove those lines"
            ));
        }
        if stderr.contains("Access denied") || stderr.contains("command denied") {
            return Some(format!(
                "the file does something the project's user may not ({first}); an import runs as \
                 the project's user so that a file cannot reach beyond its database"
            ));
        }
        if stderr.contains("not allowed in the sandbox mode") {
            return Some(
                "the file contains a client command (system, source, tee, …); an import runs SQL \
                 only. Remove those lines and import again"
                    .into(),
            );
        }
        None
    }
}

/// Views, triggers and routines in a dump name the user who defined them (`DEFINER=`root`@`
/// `localhost``); creating one for another user needs a privilege a project's user does not
/// have, so they become the importing user's own (`DEFINER=CURRENT_USER`). Data lines (INSERT)
/// pass untouched.
struct OwnDefiner;

impl SqlLineFilter for OwnDefiner {
    fn filter<'a>(&mut self, line: &'a [u8]) -> Option<Cow<'a, [u8]>> {
        if line.starts_with(b"INSERT ") || !contains(line, b"DEFINER=`") {
            return Some(Cow::Borrowed(line));
        }
        Some(Cow::Owned(own_definer(line)))
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Replaces every ``DEFINER=`user`@`host` `` with `DEFINER=CURRENT_USER`.
fn own_definer(line: &[u8]) -> Vec<u8> {
    const D: &[u8] = b"DEFINER=`";
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i..].starts_with(D) {
            if let Some(end) = quoted_account_end(&line[i + D.len() - 1..]) {
                out.extend_from_slice(b"DEFINER=CURRENT_USER");
                i += D.len() - 1 + end;
                continue;
            }
        }
        out.push(line[i]);
        i += 1;
    }
    out
}

/// The length of `` `user`@`host` `` at the start of `s`, if it is one.
fn quoted_account_end(s: &[u8]) -> Option<usize> {
    let quoted = |s: &[u8]| -> Option<usize> {
        if s.first() != Some(&b'`') {
            return None;
        }
        let mut i = 1;
        while i < s.len() {
            if s[i] == b'`' {
                if s.get(i + 1) == Some(&b'`') {
                    i += 2;
                    continue;
                }
                return Some(i + 1);
            }
            i += 1;
        }
        None
    };
    let user = quoted(s)?;
    if s.get(user) != Some(&b'@') {
        return None;
    }
    let host = quoted(&s[user + 1..])?;
    Some(user + 1 + host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definers_become_the_importing_user_but_data_is_untouched() {
        let mut f = OwnDefiner;
        let view = b"/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n";
        assert_eq!(
            f.filter(view).unwrap().as_ref(),
            b"/*!50013 DEFINER=CURRENT_USER SQL SECURITY DEFINER */\n"
        );
        let routine = b"CREATE DEFINER=`a``b`@`%` PROCEDURE `p`()\n";
        assert_eq!(
            f.filter(routine).unwrap().as_ref(),
            b"CREATE DEFINER=CURRENT_USER PROCEDURE `p`()\n"
        );
        let data = b"INSERT INTO `t` VALUES ('DEFINER=`root`@`x`');\n";
        assert_eq!(f.filter(data).unwrap().as_ref(), data);
    }

    #[test]
    fn mariadb_imports_sandboxed_as_the_project_user_and_mysql_is_refused() {
        let to = ImportTo {
            user: "shop",
            password: "pw",
            database: "shop",
            admin_password: "rootpw",
            extensions: &[],
        };
        let c = Kind::Mariadb
            .driver()
            .importer()
            .unwrap()
            .command(ImportInput::Sql, &to)
            .unwrap();
        assert!(c.cmd.contains(&"--sandbox".to_string()), "{c:?}");
        assert!(c.cmd.contains(&"--local-infile=0".to_string()), "{c:?}");
        assert!(c.cmd.contains(&"-ushop".to_string()));
        assert!(!c.cmd.iter().any(|a| a.contains("root") || a.contains("pw")));
        assert_eq!(c.user, Some(crate::drivers::UNPRIVILEGED));
        let mysql = Kind::Mysql.driver().importer().unwrap();
        assert!(mysql.command(ImportInput::Sql, &to).is_err());
    }
}
