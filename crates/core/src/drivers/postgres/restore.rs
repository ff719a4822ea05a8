//! PostgreSQL restores go into a scratch database of their own, which takes the target's name
//! only once complete — in one transaction with the old one stepping aside when it is replaced.
//!
//! A dump's content is its database owner's: tables with CHECK constraints, defaults, index
//! expressions and triggers that call the project's own functions, which run while the data is
//! loaded. So the restore runs as that owner, never as the admin (a `--role` set by the admin is
//! no guard: the project's code can `RESET ROLE` back to the session's superuser). What only the
//! admin may do — create an extension, fill an extension's own configuration table — the admin
//! does in a database where nothing of the project's exists yet, or into a table the project
//! cannot touch. [`SCRIPT`] says how, step by step.

use crate::drivers::{RenamingRestore, SqlDialect, ToolCommand};
use crate::ident::{pg_ident, pg_literal};

pub(super) struct Rename;

impl RenamingRestore for Rename {
    fn create_scratch(&self, scratch: &str) -> Vec<String> {
        // Created closed (not even PUBLIC's default CONNECT can be used), PUBLIC's rights
        // revoked, then opened — to the admin alone: its owner is the admin until the admin's
        // part of the restore is done.
        let db = pg_ident(scratch);
        vec![
            format!("CREATE DATABASE {db} TEMPLATE template0 ALLOW_CONNECTIONS false"),
            format!(
                "REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC; \
                 ALTER DATABASE {db} ALLOW_CONNECTIONS true"
            ),
        ]
    }

    fn hand_over(&self, database: &str, owner: &str) -> Option<String> {
        Some(format!(
            "ALTER DATABASE {db} OWNER TO {role}; \
             GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {role}",
            db = pg_ident(database),
            role = pg_ident(owner)
        ))
    }

    fn swap(&self, target: &str, scratch: &str, replaced: Option<&str>) -> String {
        let rename = format!(
            "ALTER DATABASE {} RENAME TO {}",
            pg_ident(scratch),
            pg_ident(target)
        );
        match replaced {
            // Sessions on the database being replaced are ended (as DROP … WITH (FORCE) would);
            // both renames commit together or not at all (psql -c runs one transaction).
            Some(old) => format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = {lit} AND pid <> pg_backend_pid(); \
                 ALTER DATABASE {t} RENAME TO {o}; {rename}",
                lit = pg_literal(target),
                t = pg_ident(target),
                o = pg_ident(old),
            ),
            None => rename,
        }
    }

    fn swap_retryable(&self, stderr: &str) -> bool {
        stderr.contains("being accessed by other users")
    }

    fn connection_limit(&self, database: &str) -> Option<String> {
        Some(format!(
            "SELECT datconnlimit FROM pg_database WHERE datname = {}",
            pg_literal(database)
        ))
    }

    /// A database connection limit binds every role but superusers: 0 keeps the project (and
    /// anyone else) out while the admin still connects to back it up.
    fn close(&self, database: &str) -> String {
        format!(
            "ALTER DATABASE {} CONNECTION LIMIT 0; \
             SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = {} AND pid <> pg_backend_pid()",
            pg_ident(database),
            pg_literal(database)
        )
    }

    fn others_connected(&self, database: &str) -> String {
        format!(
            "SELECT count(*) FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid \
             WHERE a.datname = {} AND NOT r.rolsuper",
            pg_literal(database)
        )
    }

    fn reopen(&self, database: &str, limit: i64) -> String {
        format!(
            "ALTER DATABASE {} CONNECTION LIMIT {limit}",
            pg_ident(database)
        )
    }
}

/// Who a restore's own objects are created as, and how the tool logs in for them.
pub(super) struct Owner<'a> {
    /// The role that owns the database and everything restored into it.
    pub role: &'a str,
    /// The user the tool logs in as (the role itself, or a login that may `SET ROLE` to it and
    /// to nothing else).
    pub login: &'a str,
    pub password: &'a str,
}

/// What a run of [`SCRIPT`] restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// A backup of Dockhand's into a scratch database the admin made (`create_scratch`).
    Restore,
    /// A file someone else wrote: the admin creates only the extensions it is allowed to
    /// ([`Script::extensions`]) and fills no table.
    Import,
    /// An upgrade's copy of one database of the old server (`pg_dump --create` on stdin): the
    /// database is created from the archive's own entries unless it exists (`postgres`,
    /// `template1`), and privileges inside it are kept (every role exists on the new server).
    Copy { create: bool },
}

/// The restore of a custom-format archive read on stdin into `database`.
pub(super) struct Script<'a> {
    pub mode: Mode,
    pub admin: &'a str,
    pub admin_password: &'a str,
    pub database: &'a str,
    /// `None`: the admin owns the database; the archive may then hold nothing of another role.
    pub owner: Option<Owner<'a>>,
    /// [`Mode::Import`]: the extensions the admin creates (names from Dockhand's catalog).
    pub extensions: &'a [&'a str],
}

/// Restoring an archive: which entries are whose, then each part by the right user.
///
/// 1. The archive is kept in a temporary file (pg_restore reads a table of contents first).
/// 2. Extensions (and the comments on them), which a project's role may not create, are the
///    admin's — in a database that holds nothing yet, so an install script cannot meet a
///    project's object. An import's admin creates only the extensions the service is made for.
/// 3. Data of an extension's configuration tables (PostGIS's `spatial_ref_sys`: data in the
///    archive, but no definition — the extension makes the table) belongs to the admin; the
///    project cannot change those tables, so nothing of its own runs while they fill.
/// 4. A database the admin owns takes no object of another role (it would run that role's code
///    as the admin): refused, naming them (exit 3).
/// 5. The database is handed to its owner, and everything else is restored by the owner: its
///    own code runs with its own rights.
///
/// Names and passwords come through the environment (psql variables for SQL), never through
/// the text of a shell command or statement.
const SCRIPT: &str = r#"set -eu
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cat > "$d/dump"
pg_restore --list "$d/dump" > "$d/all"
e='^[0-9]+; [0-9]+ [0-9]+ '
admin() { PGPASSWORD=$ADMIN_PW "$@" -U "$ADMIN"; }
: > "$d/ext"
if [ "$MODE" = import ]; then
  for x in $EXTENSIONS; do
    grep -E "${e}(EXTENSION - $x|COMMENT - EXTENSION $x) \$" "$d/all" >> "$d/ext" || true
  done
else
  grep -E "${e}(EXTENSION|COMMENT - EXTENSION) " "$d/all" > "$d/ext" || true
fi
: > "$d/data"
if [ "$MODE" != import ]; then
  sed -n -E "s/${e}TABLE //p" "$d/all" > "$d/tables"
  grep -E "${e}TABLE DATA .* $ADMIN\$" "$d/all" | while IFS= read -r l; do
    grep -Fxq -- "${l#* TABLE DATA }" "$d/tables" || printf '%s\n' "$l" >> "$d/data"
  done
fi
grep -vxF -f "$d/ext" -f "$d/data" "$d/all" | grep -v '^;' | grep . > "$d/own" || true
if [ -z "$OWNER_ROLE" ]; then
  while IFS= read -r l; do
    case "${l##* }" in ""|"$ADMIN"|pg_database_owner) ;; *) printf '%s\n' "$l" ;; esac
  done < "$d/own" > "$d/foreign"
  if [ -s "$d/foreign" ]; then
    echo "dockhand: objects of other roles in a database the admin owns:" >&2
    cat "$d/foreign" >&2
    exit 3
  fi
elif [ "$MODE" != import ]; then
  n=0
  while IFS= read -r l; do
    case "${l##* }" in ""|"$OWNER_ROLE"|pg_database_owner) ;; *) n=$((n + 1)) ;; esac
  done < "$d/own"
  echo "dockhand: reowned $n"
fi
if [ "$CREATE" = 1 ]; then
  pg_restore --list --create "$d/dump" | grep -E "${e}(DATABASE|DATABASE PROPERTIES|ACL - DATABASE|COMMENT - DATABASE|SECURITY LABEL - DATABASE) " > "$d/db" || true
  admin pg_restore --create --exit-on-error -d "$MAINT" -L "$d/db" "$d/dump"
fi
if [ -s "$d/ext" ]; then admin pg_restore --exit-on-error -d "$DB" -L "$d/ext" "$d/dump"; fi
if [ -n "$OWNER_ROLE" ]; then
  if [ "$CREATE" = 0 ] && [ "$MODE" != copy ]; then
    printf '%s\n' 'ALTER DATABASE :"db" OWNER TO :"owner";' 'GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"owner";' \
      | admin psql -X -q -v ON_ERROR_STOP=1 -d "$MAINT" -v db="$DB" -v owner="$OWNER_ROLE"
  fi
  PGPASSWORD=$OWNER_PW pg_restore -U "$OWNER_LOGIN" --role "$OWNER_ROLE" --no-owner $PRIVILEGES \
    --single-transaction --exit-on-error -d "$DB" -L "$d/own" "$d/dump"
else
  admin pg_restore --no-owner $PRIVILEGES --single-transaction --exit-on-error -d "$DB" -L "$d/own" "$d/dump"
fi
if [ -s "$d/data" ]; then admin pg_restore --data-only --exit-on-error -d "$DB" -L "$d/data" "$d/dump"; fi
"#;

/// The exit code of [`SCRIPT`] for an admin-owned database holding another role's objects.
pub(super) const FOREIGN_OBJECTS: i64 = 3;

impl Script<'_> {
    /// The command (a shell script reading the archive on stdin), run as a user who can read
    /// none of the server's files.
    pub(super) fn command(&self) -> ToolCommand {
        let (mode, create) = match self.mode {
            Mode::Restore => ("restore", false),
            Mode::Import => ("import", false),
            Mode::Copy { create } => ("copy", create),
        };
        let mut env = super::session::admin_env(self.admin_password);
        env.extend([
            format!("MODE={mode}"),
            format!("CREATE={}", u8::from(create)),
            format!("ADMIN={}", self.admin),
            format!("ADMIN_PW={}", self.admin_password),
            format!("DB={}", self.database),
            format!("MAINT={}", super::Sql.maintenance_database(self.database)),
            format!("EXTENSIONS={}", self.extensions.join(" ")),
            // Grants inside the database name roles of the machine the dump came from, except
            // in an upgrade's copy, where every role comes along.
            format!(
                "PRIVILEGES={}",
                if matches!(self.mode, Mode::Copy { .. }) {
                    ""
                } else {
                    "--no-privileges"
                }
            ),
        ]);
        match &self.owner {
            Some(o) => env.extend([
                format!("OWNER_ROLE={}", o.role),
                format!("OWNER_LOGIN={}", o.login),
                format!("OWNER_PW={}", o.password),
            ]),
            None => env.extend(["OWNER_ROLE=".to_string(), "OWNER_LOGIN=".to_string()]),
        }
        ToolCommand {
            cmd: ["sh", "-c", SCRIPT].map(String::from).to_vec(),
            env,
            program: "pg_restore",
            user: None,
        }
        .unprivileged()
    }
}

/// How many objects of other roles a copy gave to the database's owner (the script's
/// `dockhand: reowned N` line), if it says.
pub(super) fn reowned(stdout: &str) -> Option<u64> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("dockhand: reowned "))
        .and_then(|n| n.trim().parse().ok())
}

/// The entries the script refused ([`FOREIGN_OBJECTS`]), as `type name (role)` for a message.
pub(super) fn foreign_objects(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .skip_while(|l| !l.starts_with("dockhand: objects of other roles"))
        .skip(1)
        .filter_map(|l| {
            // `ID; OID OID TYPE SCHEMA NAME OWNER`
            let rest = l.split_once("; ")?.1;
            let mut words = rest.splitn(3, ' ');
            let (_, _, what) = (words.next()?, words.next()?, words.next()?);
            let (what, owner) = what.rsplit_once(' ')?;
            Some(format!("{what} ({owner})"))
        })
        .collect()
}

/// Restore points: whole-database copies by the server itself.
pub(super) struct Copies;

/// FILE_COPY copies the files at a checkpoint instead of logging every block (WAL_LOG, the
/// default since 15): seconds for a gigabyte, and on PostgreSQL 18 with `file_copy_method =
/// clone` a reflink where the filesystem has them. Before 15 there is no choice (and no
/// `STRATEGY` keyword): a copy is a file copy.
fn strategy(version: &str) -> &'static str {
    let major: u32 = version
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major >= 15 {
        " STRATEGY = FILE_COPY"
    } else {
        ""
    }
}

impl crate::drivers::DatabaseCopies for Copies {
    fn copy_closed(&self, version: &str, source: &str, copy: &str) -> Vec<String> {
        vec![format!(
            "CREATE DATABASE {} TEMPLATE {}{} ALLOW_CONNECTIONS = false",
            pg_ident(copy),
            pg_ident(source),
            strategy(version)
        )]
    }

    fn copy_to_scratch(&self, version: &str, copy: &str, scratch: &str) -> Vec<String> {
        let db = pg_ident(scratch);
        vec![
            format!(
                "CREATE DATABASE {db} TEMPLATE {}{} ALLOW_CONNECTIONS = false",
                pg_ident(copy),
                strategy(version)
            ),
            // As a restore's scratch database: PUBLIC's rights gone, then open to the admin.
            format!(
                "REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC; \
                 ALTER DATABASE {db} ALLOW_CONNECTIONS true"
            ),
        ]
    }

    fn hand_over(&self, copy: &str, owner: &str) -> Vec<String> {
        Rename.hand_over(copy, owner).into_iter().collect()
    }

    fn source_in_use(&self, stderr: &str) -> bool {
        stderr.contains("is being accessed by other users")
    }

    fn sessions_on(&self, database: &str) -> String {
        format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = {} AND pid <> pg_backend_pid()",
            pg_literal(database)
        )
    }

    fn end_sessions_on(&self, database: &str) -> String {
        format!(
            "SELECT count(pg_terminate_backend(a.pid)) FROM pg_stat_activity a \
             JOIN pg_roles r ON r.oid = a.usesysid \
             WHERE a.datname = {} AND a.pid <> pg_backend_pid() AND NOT r.rolsuper",
            pg_literal(database)
        )
    }

    /// Only for Dockhand's own copies: their names are random tokens of Dockhand's, so a
    /// statement naming one is working on it.
    fn end_work_on(&self, name: &str) -> String {
        format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE pid <> pg_backend_pid() AND (datname = {lit} OR strpos(query, {lit}) > 0)",
            lit = pg_literal(name)
        )
    }

    fn size(&self, database: &str) -> String {
        format!("SELECT pg_database_size({})", pg_literal(database))
    }

    fn sessions_per(&self, databases: &[&str]) -> String {
        let lits: Vec<String> = databases.iter().map(|d| pg_literal(d)).collect();
        format!(
            "SELECT datname, count(*) FROM pg_stat_activity WHERE datname IN ({}) \
             AND pid <> pg_backend_pid() GROUP BY datname",
            lits.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(t: &'a ToolCommand, key: &str) -> &'a str {
        t.env
            .iter()
            .find_map(|e| e.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}"))
    }

    #[test]
    fn the_owner_restores_as_itself_and_names_stay_out_of_the_script() {
        let t = Script {
            mode: Mode::Restore,
            admin: "postgres",
            admin_password: "adminpw",
            database: "x'; DROP DATABASE y; --",
            owner: Some(Owner {
                role: "shop",
                login: "shop",
                password: "shoppw",
            }),
            extensions: &[],
        }
        .command();
        let script = t.cmd.join(" ");
        assert!(!script.contains("shop") && !script.contains("DROP DATABASE y"));
        assert!(!script.contains("adminpw") && !script.contains("shoppw"));
        assert!(!script.contains("--role \"$ADMIN\"") && !script.contains("-U postgres"));
        assert_eq!(env(&t, "OWNER_LOGIN"), "shop");
        assert_eq!(env(&t, "PRIVILEGES"), "--no-privileges");
        assert_eq!(t.user, Some(crate::drivers::UNPRIVILEGED));
    }

    #[test]
    fn an_upgrades_copy_keeps_privileges_and_creates_from_the_archive() {
        let t = Script {
            mode: Mode::Copy { create: true },
            admin: "postgres",
            admin_password: "pw",
            database: "shop",
            owner: None,
            extensions: &[],
        }
        .command();
        assert_eq!(env(&t, "PRIVILEGES"), "");
        assert_eq!(env(&t, "CREATE"), "1");
        assert_eq!(env(&t, "OWNER_ROLE"), "");
    }

    /// The scripts are valid shell (`sh -n`, `bash -n`): a typo cannot first show up in a
    /// user's container.
    #[test]
    fn the_scripts_are_valid_shell() {
        for (shell, script) in [
            ("sh", SCRIPT),
            ("bash", super::super::upgrade::COPY_DATABASE),
        ] {
            let out = std::process::Command::new(shell)
                .args(["-n", "-c", script])
                .output()
                .expect("the shell runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// `STRATEGY` exists from PostgreSQL 15 on; 13 and 14 (still served) copy files anyway.
    #[test]
    fn copies_name_a_strategy_only_where_the_server_has_one() {
        use crate::drivers::DatabaseCopies as _;
        for (version, has) in [
            ("13", false),
            ("14.9", false),
            ("15", true),
            ("18", true),
            ("x", false),
        ] {
            let s = Copies
                .copy_closed(version, "shop", "dockhand_rp_1")
                .join(";");
            assert_eq!(s.contains("STRATEGY = FILE_COPY"), has, "{version}: {s}");
            let s = Copies.copy_to_scratch(version, "a", "b").join(";");
            assert_eq!(s.contains("STRATEGY = FILE_COPY"), has, "{version}: {s}");
        }
    }

    #[test]
    fn refused_entries_read_as_what_and_whose() {
        let err = "pg_restore: warning\ndockhand: objects of other roles in a database the admin owns:\n\
                   218; 1259 16715 TABLE public t shop\n344; 1255 16718 FUNCTION public evil(public.t) shop\n";
        assert_eq!(
            foreign_objects(err),
            [
                "TABLE public t (shop)",
                "FUNCTION public evil(public.t) (shop)"
            ]
        );
        assert_eq!(reowned("x\ndockhand: reowned 4\n"), Some(4));
    }
}
