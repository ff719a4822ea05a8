//! MariaDB major upgrades (10.11 → 11.8): a logical copy made by the NEW version's
//! `mariadb-dump` (reading the old server over Dockhand's network) piped into its client, inside
//! the new container, then `mariadb-upgrade`. Users are not copied from the `mysql` schema (its
//! tables change between versions): the projects' users are provisioned again on the new server
//! from the keychain, with the same passwords, limits and grants.
//!
//! MySQL is not upgraded this way: its image cannot run here, so nothing of it would be tested.

use crate::drivers::upgrade::{CopyStep, MajorUpgrade};
use crate::drivers::{shell_tool, tool, ToolCommand};
use crate::ident::my_literal;

pub(crate) struct MariadbUpgrade;

/// `10.11` → [10, 11]; `11` → [11].
fn numbers(v: &str) -> Option<Vec<u32>> {
    v.split(['.', '-'])
        .take_while(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        .map(|p| p.parse().ok())
        .collect::<Option<Vec<u32>>>()
        .filter(|n| !n.is_empty())
}

impl MajorUpgrade for MariadbUpgrade {
    fn check_versions(&self, from: &str, to: &str) -> std::result::Result<(), String> {
        let (Some(f), Some(t)) = (numbers(from), numbers(to)) else {
            return Err(format!(
                "cannot compare MariaDB versions {from:?} and {to:?}"
            ));
        };
        // `11` names the newest 11.x: it is newer than any 10.x, and the same series as 11.x.
        let n = f.len().min(t.len()).min(2);
        match t[..n].cmp(&f[..n]) {
            std::cmp::Ordering::Greater => Ok(()),
            std::cmp::Ordering::Equal => Err(format!(
                "MariaDB {to} is the same series as {from}; its data opens as is (no upgrade needed)"
            )),
            std::cmp::Ordering::Less => Err(format!(
                "MariaDB {to} is older than {from}; going back is `dockhand upgrade --rollback` after an upgrade"
            )),
        }
    }

    fn freeze(&self, password: &str, users: &[&str]) -> Vec<ToolCommand> {
        users
            .iter()
            .flat_map(|u| {
                let user = format!("{}@'%'", my_literal(u));
                [
                    format!("ALTER USER {user} ACCOUNT LOCK"),
                    format!("KILL CONNECTION USER {user}"),
                ]
            })
            .map(|statement| {
                tool(
                    "mariadb",
                    &["-uroot", "-N", "-B", "-e", &statement],
                    vec![format!("MYSQL_PWD={password}")],
                )
            })
            .collect()
    }

    fn copy(&self, password: &str, old_host: &str, databases: &[String]) -> Vec<CopyStep> {
        // --skip-ssl: MariaDB 11.4+ clients require TLS by default, which the old server on
        // Dockhand's private network does not offer. The database names go through the
        // environment, one per line, never through the shell's parser; `set -f` keeps the
        // unquoted expansion from globbing. The dump is loaded as root: nothing of a project's
        // runs with root's rights while it loads (see `MysqlFamily::restore`), and the client
        // reads no file of the container (--sandbox, --local-infile=0).
        let script = "set -o pipefail; set -f; IFS='\n'; \
                      mariadb-dump --skip-ssl -h \"$OLD_HOST\" -uroot --single-transaction --routines --events --triggers \
                      --databases $DATABASES | mariadb --sandbox --local-infile=0 -uroot";
        let mut t = shell_tool(
            "mariadb-dump",
            script,
            vec![
                format!("MYSQL_PWD={password}"),
                format!("OLD_HOST={old_host}"),
                format!("DATABASES={}", databases.join("\n")),
            ],
        );
        t.cmd[0] = "bash".into();
        vec![CopyStep {
            tool: t,
            what: format!("{} database(s)", databases.len()),
        }]
    }

    fn after_copy(&self, password: &str) -> Option<ToolCommand> {
        Some(tool(
            "mariadb-upgrade",
            &["-uroot", "--silent"],
            vec![format!("MYSQL_PWD={password}")],
        ))
    }

    fn table_checksums(&self, database: &str) -> String {
        // Per table: rows, and the sum of a CRC32 of each row's columns (ISNULL markers keep
        // NULL and '' apart; CONCAT_WS skips the NULLs themselves). MariaDB cannot run a query
        // per table inside one statement: the statement is built from the catalog and run in
        // the same session (PREPARE/EXECUTE), so a table's name never makes a round trip
        // through the client's escaped output (a name with a backslash did). No table: no row.
        let db = my_literal(database);
        format!(
            "SET SESSION group_concat_max_len = 1073741824; \
             SET @dockhand_sums = (SELECT GROUP_CONCAT(CONCAT('SELECT ', QUOTE(t.table_name), ', COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS(''|'', ', c.cols, '))), 0) FROM `', \
             REPLACE(t.table_schema, '`', '``'), '`.`', REPLACE(t.table_name, '`', '``'), '`') ORDER BY t.table_name SEPARATOR ' UNION ALL ') \
             FROM information_schema.tables t JOIN (SELECT table_name, GROUP_CONCAT(CONCAT('ISNULL(`', REPLACE(column_name, '`', '``'), '`), `', \
             REPLACE(column_name, '`', '``'), '`') ORDER BY ordinal_position SEPARATOR ', ') AS cols FROM information_schema.columns \
             WHERE table_schema = {db} GROUP BY table_name) c ON c.table_name = t.table_name \
             WHERE t.table_schema = {db} AND t.table_type = 'BASE TABLE'); \
             SET @dockhand_sums = COALESCE(@dockhand_sums, 'SELECT 1 FROM DUAL WHERE FALSE'); \
             PREPARE dockhand_sums FROM @dockhand_sums; EXECUTE dockhand_sums; DEALLOCATE PREPARE dockhand_sums"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_series_is_an_upgrade() {
        MariadbUpgrade.check_versions("10.11", "11.8").unwrap();
        MariadbUpgrade.check_versions("10.11", "11").unwrap();
        MariadbUpgrade.check_versions("10.6", "10.11").unwrap();
        assert!(MariadbUpgrade.check_versions("11", "11.8").is_err());
        assert!(MariadbUpgrade
            .check_versions("11.8", "10.11")
            .unwrap_err()
            .contains("older"));
    }

    #[test]
    fn database_names_and_the_password_stay_out_of_the_script() {
        let t = MariadbUpgrade
            .copy("pw", "maria", &["a;rm -rf /".into(), "b".into()])
            .remove(0)
            .tool;
        let line = t.cmd.join(" ");
        assert!(!line.contains("rm -rf") && !line.contains("pw "), "{line}");
        assert!(t.env.iter().any(|e| e == "DATABASES=a;rm -rf /\nb"));
    }
}
