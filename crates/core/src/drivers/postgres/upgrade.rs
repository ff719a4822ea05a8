//! PostgreSQL major upgrades: a logical copy made by the NEW version's `pg_dumpall` (what the
//! PostgreSQL documentation recommends: the newer pg_dump reads the older server) piped into
//! its `psql`, inside the new container. Roles come with their password hashes, databases with
//! their owners, privileges and extensions; nothing passes through Dockhand's process.

use super::{major, SPEC};
use crate::drivers::upgrade::{Checksums, MajorUpgrade};
use crate::drivers::{shell_tool, SqlDialect, ToolCommand};
use crate::ident::{pg_ident, pg_literal};

pub(super) struct Upgrade;

impl MajorUpgrade for Upgrade {
    fn check_versions(&self, from: &str, to: &str) -> std::result::Result<(), String> {
        let (f, t) = (major(from), major(to));
        match (f.parse::<u32>(), t.parse::<u32>()) {
            (Ok(f), Ok(t)) if t > f => Ok(()),
            (Ok(f), Ok(t)) if t == f => Err(format!(
                "it already runs PostgreSQL {f}; minor versions need no upgrade (its data opens as is)"
            )),
            (Ok(_), Ok(_)) => Err(format!(
                "PostgreSQL {to} is older than {from}; going back is `dockhand upgrade --rollback` after an upgrade, \
                 or a backup restored into a service of the older version"
            )),
            _ => Err(format!("cannot compare PostgreSQL versions {from:?} and {to:?}")),
        }
    }

    fn freeze(&self, password: &str, users: &[&str]) -> Vec<ToolCommand> {
        if users.is_empty() {
            return vec![];
        }
        let mut out: Vec<String> = users
            .iter()
            .map(|u| format!("ALTER ROLE {} NOLOGIN", pg_ident(u)))
            .collect();
        let names: Vec<String> = users.iter().map(|u| pg_literal(u)).collect();
        out.push(format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename IN ({})",
            names.join(", ")
        ));
        out.iter()
            .map(|statement| super::Sql.admin_sql(password, "postgres", statement))
            .collect()
    }

    fn copy(&self, password: &str, old_host: &str, _databases: &[String]) -> ToolCommand {
        // The new server has its own admin role already: the dump's `CREATE ROLE postgres;` is
        // the one statement that would fail (the `ALTER ROLE` after it still applies). Any other
        // error stops the copy (ON_ERROR_STOP), and pipefail makes a failed dump fail the whole.
        let admin = SPEC.admin_user;
        let script = format!(
            "set -o pipefail; pg_dumpall -h \"$OLD_HOST\" -U {admin} --no-password \
             | sed -e '/^CREATE ROLE {admin};$/d' \
             | psql -X -q -v ON_ERROR_STOP=1 -U {admin} -d postgres > /dev/null"
        );
        let mut t = shell_tool(
            "pg_dumpall",
            &script,
            vec![
                format!("PGPASSWORD={password}"),
                format!("OLD_HOST={old_host}"),
            ],
        );
        // dash (the image's sh) has no pipefail.
        t.cmd[0] = "bash".into();
        t
    }

    fn table_checksums(&self, _database: &str) -> Checksums {
        // query_to_xml runs one dynamic query per table inside a single statement. The checksum
        // is order-independent (a sum of 64-bit hashes of each row's text form), so it needs no
        // sort; tables that belong to an extension (PostGIS's spatial_ref_sys) are filled by the
        // extension itself and left out.
        Checksums::Statement(
        "SELECT format('%I.%I', n.nspname, c.relname), \
                (xpath('/row/n/text()', x))[1]::text, (xpath('/row/h/text()', x))[1]::text \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, \
              LATERAL query_to_xml(format('SELECT count(*) AS n, coalesce(sum(hashtextextended(t::text, 0)), 0) AS h FROM ONLY %I.%I t', \
                                          n.nspname, c.relname), false, true, '') AS x \
         WHERE c.relkind IN ('r', 'm') \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
                           AND d.objid = c.oid AND d.deptype = 'e') \
         ORDER BY 1".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_newer_major_is_an_upgrade() {
        Upgrade.check_versions("15", "17").unwrap();
        Upgrade.check_versions("15.4", "16").unwrap();
        assert!(Upgrade
            .check_versions("17", "17.2")
            .unwrap_err()
            .contains("already runs"));
        assert!(Upgrade
            .check_versions("17", "15")
            .unwrap_err()
            .contains("older"));
    }

    #[test]
    fn the_copy_keeps_the_password_out_of_the_command_line() {
        let t = Upgrade.copy("s3cret", "pg", &[]);
        assert!(!t.cmd.join(" ").contains("s3cret"));
        assert!(t.env.contains(&"PGPASSWORD=s3cret".to_string()));
        assert_eq!(t.cmd[0], "bash");
    }
}
