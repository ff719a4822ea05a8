//! PostgreSQL major upgrades: a logical copy made by the NEW version's tools (what the
//! PostgreSQL documentation recommends: the newer pg_dump reads the older server), inside the new
//! container, reading the old server over Dockhand's network; nothing passes through Dockhand's
//! process.
//!
//! The copy runs none of a project's code with the admin's rights. Roles (with their password
//! hashes and memberships) come first, as the admin: they are catalog entries, not code. Then
//! each database is restored by the restore script (`restore.rs`, [`Mode::Copy`]) as its owner:
//! the admin creates the database from the dump's own entries (encoding, locale, settings,
//! privileges) and its extensions; everything else — tables whose CHECK constraints, defaults
//! and index expressions call the owner's functions, which run while rows load — is restored by
//! a temporary login that may act as the owner and as nothing else (a `SET ROLE` the admin's
//! own session made could be undone by the project's code with `RESET ROLE`). A database the
//! admin owns (`postgres`, `template1`, one made by hand) is restored by the admin, and may hold
//! nothing of another role's.
//!
//! Why not `pg_upgrade`, which copies the files and runs no SQL at all: it needs the old and the
//! new version's binaries in one container, and each official image carries one major only.

use super::restore::{Mode, Script};
use super::{major, SPEC};
use crate::drivers::upgrade::{CopyStep, MajorUpgrade};
use crate::drivers::{SqlDialect, ToolCommand};
use crate::ident::{pg_ident, pg_literal};

pub(super) struct Upgrade;

/// The server's own databases that exist on the new server already: their content is copied
/// into them (`template0` is never written to; it is not copied).
const EXISTING: [&str; 2] = ["postgres", "template1"];

/// Copies one database: its owner is read from the old server; a database of a role that is not
/// a superuser is restored through a temporary login (`$COPY_LOGIN`, a random password) made a
/// member of that role alone, dropped afterwards with anything its session was made to create.
pub(super) const COPY_DATABASE: &str = r#"set -euo pipefail
q() { psql -X -q -At -v ON_ERROR_STOP=1 -U "$ADMIN" "$@"; }
info=$(printf '%s\n' "SELECT r.rolname || '|' || r.rolsuper FROM pg_catalog.pg_database d JOIN pg_catalog.pg_roles r ON r.oid = d.datdba WHERE d.datname = :'db'" \
  | q -h "$OLD_HOST" -d postgres -v db="$DB")
owner=${info%|*}
if [ "${info##*|}" = t ]; then
  export OWNER_ROLE= OWNER_LOGIN= OWNER_PW=
else
  export OWNER_ROLE="$owner" OWNER_LOGIN="$COPY_LOGIN" OWNER_PW="$COPY_PW"
  printf '%s\n' "CREATE ROLE :\"login\" LOGIN PASSWORD :'pw' IN ROLE :\"owner\";" \
    | q -d postgres -v login="$COPY_LOGIN" -v pw="$COPY_PW" -v owner="$owner"
fi
pg_dump -h "$OLD_HOST" -U "$ADMIN" -Fc --create -d "$DB" | sh -c "$RESTORE"
if [ -n "$OWNER_ROLE" ]; then
  printf '%s\n' 'REASSIGN OWNED BY :"login" TO :"owner";' 'DROP OWNED BY :"login";' \
    | q -d "$DB" -v login="$COPY_LOGIN" -v owner="$owner"
  printf '%s\n' 'DROP ROLE :"login";' | q -d postgres -v login="$COPY_LOGIN"
fi
"#;

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

    fn copy(&self, password: &str, old_host: &str, databases: &[String]) -> Vec<CopyStep> {
        let admin = SPEC.admin_user;
        // Roles: the new server has its own admin role already, so the dump's `CREATE ROLE
        // postgres;` is the one statement that would fail (the `ALTER ROLE` after it still
        // applies). Any other error stops the copy (ON_ERROR_STOP), pipefail a failed dump.
        let roles = format!(
            "set -o pipefail; pg_dumpall -h \"$OLD_HOST\" -U {admin} --globals-only --no-password \
             | sed -e '/^CREATE ROLE {admin};$/d' \
             | psql -X -q -v ON_ERROR_STOP=1 -U {admin} -d postgres > /dev/null"
        );
        let mut steps = vec![CopyStep {
            tool: bash(&roles, super::session::admin_env(password), old_host),
            what: "roles and their passwords".into(),
        }];
        let login = format!("dockhand_copy_{}", random_hex(12));
        let login_password = random_hex(32);
        let all = EXISTING.iter().map(|d| d.to_string()).chain(
            databases
                .iter()
                .filter(|d| !EXISTING.contains(&d.as_str()))
                .cloned(),
        );
        for db in all {
            let restore = Script {
                mode: Mode::Copy {
                    create: !EXISTING.contains(&db.as_str()),
                },
                admin,
                admin_password: password,
                database: &db,
                owner: None,
                extensions: &[],
            }
            .command();
            // The restore script's environment, less the owner it is told by COPY_DATABASE.
            let mut env: Vec<String> = restore
                .env
                .into_iter()
                .filter(|e| !e.starts_with("OWNER_"))
                .collect();
            env.extend([
                format!("RESTORE={}", restore.cmd[2]),
                format!("COPY_LOGIN={login}"),
                format!("COPY_PW={login_password}"),
            ]);
            steps.push(CopyStep {
                tool: bash(COPY_DATABASE, env, old_host).unprivileged(),
                what: format!("database '{db}'"),
            });
        }
        steps
    }

    fn reowned(&self, output: &str) -> u64 {
        super::restore::reowned(output).unwrap_or(0)
    }

    fn table_checksums(&self, _database: &str) -> String {
        // query_to_xml runs one dynamic query per table inside a single statement. The checksum
        // is order-independent (a sum of 64-bit hashes of each row's text form), so it needs no
        // sort; tables that belong to an extension (PostGIS's spatial_ref_sys) are filled by the
        // extension itself and left out.
        //
        // The admin runs it in the project's database: the session's search path is pinned to
        // pg_catalog (`session.rs`) and every function is the catalog's by name; a row's text is
        // `record_out(t)` — `t::text` would call a cast the project may have defined for its
        // table's row type (`CREATE CAST (t AS text) WITH FUNCTION …`), whatever the search path.
        "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), \
                (pg_catalog.xpath('/row/n/text()', x))[1]::text, (pg_catalog.xpath('/row/h/text()', x))[1]::text \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, \
              LATERAL pg_catalog.query_to_xml(pg_catalog.format('SELECT pg_catalog.count(*) AS n, \
                coalesce(pg_catalog.sum(pg_catalog.hashtextextended(pg_catalog.textin(pg_catalog.record_out(t)), 0::int8)), 0) AS h \
                FROM ONLY %I.%I t', n.nspname, c.relname), false, true, '') AS x \
         WHERE c.relkind IN ('r', 'm') \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                           AND d.objid = c.oid AND d.deptype = 'e') \
         ORDER BY 1"
            .into()
    }
}

/// A bash script (dash, the image's sh, has no pipefail) with the old server's address.
fn bash(script: &str, mut env: Vec<String>, old_host: &str) -> ToolCommand {
    env.push(format!("OLD_HOST={old_host}"));
    let mut t = crate::drivers::shell_tool("pg_dump", script, env);
    t.cmd[0] = "bash".into();
    t
}

fn random_hex(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
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
    fn the_copy_keeps_passwords_and_names_out_of_command_lines() {
        let steps = Upgrade.copy("s3cret", "pg", &["shop".into(), "x'; DROP".into()]);
        // Roles, the server's own two databases, then each of the others once.
        let whats: Vec<&str> = steps.iter().map(|s| s.what.as_str()).collect();
        assert_eq!(
            whats,
            [
                "roles and their passwords",
                "database 'postgres'",
                "database 'template1'",
                "database 'shop'",
                "database 'x'; DROP'"
            ]
        );
        for s in &steps {
            let line = s.tool.cmd.join(" ");
            assert!(
                !line.contains("s3cret") && !line.contains("x'; DROP"),
                "{line}"
            );
            assert!(s.tool.env.contains(&"PGPASSWORD=s3cret".to_string()));
            assert_eq!(s.tool.cmd[0], "bash");
        }
        assert!(steps[3].tool.env.contains(&"CREATE=1".to_string()));
        assert!(steps[1].tool.env.contains(&"CREATE=0".to_string()));
    }

    #[test]
    fn checksums_never_cast_a_row_or_resolve_a_name_outside_the_catalog() {
        let q = Upgrade.table_checksums("shop");
        assert!(!q.contains("::text, 0") && !q.contains("t::text"), "{q}");
        assert!(q.contains("pg_catalog.record_out(t)"));
    }
}
