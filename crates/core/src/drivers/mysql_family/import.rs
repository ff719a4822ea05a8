//! Importing a SQL file into a project's MariaDB or MySQL database, as the project's user.
//!
//! The client obeys client commands in its input (`system`/`\!` runs a shell in the container;
//! `source` and `tee` read and write files): MariaDB's `--sandbox` and MySQL's `--commands=OFF`
//! turn them off (see [`MysqlFamily::no_client_commands`]).

use std::borrow::Cow;

use super::MysqlFamily;
use crate::drivers::{
    tool, FileFormat, ImportInput, ImportTo, Importer, SqlLineFilter, ToolCommand,
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
        // No client command (system, source, tee, …); --local-infile=0: no `LOAD DATA LOCAL
        // INFILE`, which neither mode stops and which reads a file of the container for the
        // server. And the client runs as `nobody`, who can read none of the
        // server's files (its data, the admin password) whatever it is made to do.
        let user = format!("-u{}", to.user);
        Ok(tool(
            self.client,
            &[
                self.no_client_commands,
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
        Box::new(OwnDefiner::default())
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
        // MariaDB: "… has disabled the local infile capability"; MySQL: "Loading local data is
        // disabled".
        if stderr.contains("local infile capability")
            || stderr.contains("Loading local data is disabled")
        {
            return Some(format!(
                "the file reads a file of the machine it runs on (LOAD DATA LOCAL INFILE: \
                 {first}); an import runs SQL only and reads nothing but the file given. Load \
                 such data with your own client as the project's user"
            ));
        }
        // MariaDB's --sandbox, MySQL's --commands=OFF.
        if stderr.contains("not allowed in the sandbox mode")
            || stderr.contains("Unknown command '\\")
        {
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
///
/// And a dump of a MySQL server with GTIDs (mysqldump's default there) switches the session's
/// binary log off and sets the server's GTID history (`SET @@SESSION.SQL_LOG_BIN= 0;`,
/// `SET @@GLOBAL.GTID_PURGED=…;`, possibly over several lines): replication bookkeeping of the
/// server the dump came from, which a project's user may not run (SYSTEM_VARIABLES_ADMIN,
/// SUPER) and which must not touch a shared server. Those statements are left out; they hold
/// no data.
#[derive(Default)]
struct OwnDefiner {
    /// Inside a `SET @@GLOBAL.GTID_PURGED` statement that goes on past its first line.
    in_gtid_purged: bool,
}

impl SqlLineFilter for OwnDefiner {
    fn filter<'a>(&mut self, line: &'a [u8]) -> Option<Cow<'a, [u8]>> {
        let ends_statement = || line.trim_ascii_end().ends_with(b";");
        if self.in_gtid_purged {
            self.in_gtid_purged = !ends_statement();
            return None;
        }
        if line.starts_with(b"SET @@GLOBAL.GTID_PURGED") {
            self.in_gtid_purged = !ends_statement();
            return None;
        }
        if line.starts_with(b"SET @@SESSION.SQL_LOG_BIN") {
            return None;
        }
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
    use crate::drivers::Kind;

    #[test]
    fn definers_become_the_importing_user_but_data_is_untouched() {
        let mut f = OwnDefiner::default();
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
    fn imports_run_sql_only_as_the_project_user() {
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
        let c = mysql.command(ImportInput::Sql, &to).unwrap();
        assert!(c.cmd.contains(&"--commands=OFF".to_string()), "{c:?}");
        assert!(c.cmd.contains(&"--local-infile=0".to_string()), "{c:?}");
    }

    /// A mysqldump of a MySQL server with GTIDs: its replication statements are left out
    /// (one-line and multi-line GTID sets), everything else passes.
    #[test]
    fn replication_bookkeeping_of_a_mysql_dump_is_left_out() {
        let dump = "SET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN;\n\
                    SET @@SESSION.SQL_LOG_BIN= 0;\n\
                    SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a:1-5';\n\
                    CREATE TABLE t (a int);\n\
                    SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a:1-5',\n\
                    'b:1-9';\n\
                    INSERT INTO t VALUES ('SET @@SESSION.SQL_LOG_BIN= 0;');\n\
                    SET @@SESSION.SQL_LOG_BIN = @MYSQLDUMP_TEMP_LOG_BIN;\n";
        let mut f = OwnDefiner::default();
        let kept: String = dump
            .split_inclusive('\n')
            .filter_map(|l| {
                f.filter(l.as_bytes())
                    .map(|c| String::from_utf8(c.into_owned()).unwrap())
            })
            .collect();
        assert_eq!(
            kept,
            "SET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN;\n\
             CREATE TABLE t (a int);\n\
             INSERT INTO t VALUES ('SET @@SESSION.SQL_LOG_BIN= 0;');\n"
        );
    }
}
