//! The commands run inside the container with the image's `sqlcmd`: admin statements, the
//! backup (`BACKUP DATABASE` to a file in the container, then streamed out on stdout), its
//! readability check (`RESTORE VERIFYONLY`) and the restore (`RESTORE DATABASE … WITH MOVE`).
//!
//! Where `sqlcmd` is depends on the image: `/opt/mssql-tools18/bin` (ODBC 18, which encrypts by
//! default and needs `-C` to trust the self-signed certificate) in 2022 from CU14, 2019 from
//! CU28 and 2025; `/opt/mssql-tools/bin` in older tags. The scripts look in both. The password
//! reaches `sqlcmd` as `SQLCMDPASSWORD` in the exec's environment, never on a command line.
//!
//! A server-side file does not fit the "dump to stdout" contract by itself, so a backup is two
//! steps in one script: `BACKUP … TO DISK` into `/var/opt/mssql/backup/dockhand-*.bak`, then
//! `cat` of that file, which is removed when the script ends (a trap). A script killed before
//! its trap runs leaves a file that the next backup removes once it is older than the longest a
//! backup may run (6 h).

use crate::drivers::{shell_tool, ToolCommand, ADMIN_PASSWORD_FILE};

use super::quote::{ident, literal};

/// Where backups are written inside the container (in the data volume, so it has room).
pub(crate) const BACKUP_DIR: &str = "/var/opt/mssql/backup";
/// Where the image keeps database files.
pub(crate) const DATA_DIR: &str = "/var/opt/mssql/data";

/// Finds `sqlcmd` and defines `q` (the admin's `sqlcmd`: errors on stderr, exit status 1 on
/// any error, no `$(name)` scripting-variable substitution in the statements) for the rest of a
/// script.
const PRELUDE: &str = r#"s=""
for d in /opt/mssql-tools18/bin /opt/mssql-tools/bin; do
  if [ -x "$d/sqlcmd" ]; then s="$d/sqlcmd"; break; fi
done
if [ -z "$s" ]; then echo "sqlcmd is in neither /opt/mssql-tools18/bin nor /opt/mssql-tools/bin" >&2; exit 127; fi
c=""
case "$s" in *tools18*) c="-C" ;; esac
q() { "$s" $c -S localhost -U sa -b -r1 -x "$@"; }
"#;

fn script(body: &str) -> String {
    format!("{PRELUDE}{body}")
}

fn env(password: &str, more: &[(&str, String)]) -> Vec<String> {
    std::iter::once(format!("SQLCMDPASSWORD={password}"))
        .chain(more.iter().map(|(k, v)| format!("{k}={v}")))
        .collect()
}

/// One statement as the admin in `database`: no headers, no row counts, no informational
/// messages, tab-separated columns, trailing blanks trimmed.
pub(crate) fn admin_sql(password: &str, database: &str, statement: &str) -> ToolCommand {
    let database = if database.is_empty() {
        "master"
    } else {
        database
    };
    shell_tool(
        "sqlcmd",
        &script(
            "q -d \"$DOCKHAND_DB\" -h -1 -W -m 1 -s \"$(printf '\\t')\" -Q \"SET NOCOUNT ON; $DOCKHAND_SQL\"\n",
        ),
        env(
            password,
            &[
                ("DOCKHAND_DB", database.to_string()),
                ("DOCKHAND_SQL", statement.to_string()),
            ],
        ),
    )
}

/// `BACKUP DATABASE [db] TO DISK = N'<file>' WITH COPY_ONLY, CHECKSUM, INIT`: COPY_ONLY leaves
/// the server's own backup chain alone, CHECKSUM verifies every page as it is read.
pub(crate) fn backup_statement(database: &str, file: &str) -> String {
    format!(
        "BACKUP DATABASE {} TO DISK = {} WITH COPY_ONLY, CHECKSUM, INIT",
        ident(database),
        literal(file)
    )
}

/// The backup: the server writes the file, the script streams it to stdout and removes it.
/// sqlcmd's own output ("Processed 360 pages…") goes to stderr, so stdout is the file alone.
pub(crate) fn dump(password: &str, database: &str) -> ToolCommand {
    let body = format!(
        r#"mkdir -p {BACKUP_DIR} || exit 1
find {BACKUP_DIR} -maxdepth 1 -name 'dockhand-*.bak' -mmin +360 -exec rm -f {{}} + 2>/dev/null
f="{BACKUP_DIR}/dockhand-$$-$(date +%s).bak"
trap 'rm -f "$f"' EXIT
q -d master -m 1 -Q "$(printf "$DOCKHAND_SQL" "$f")" >&2 || exit $?
cat "$f"
"#
    );
    // The file name is only known in the container: the statement is a printf template.
    let template = backup_statement(database, "\u{1}")
        .replace('\\', "\\\\")
        .replace('%', "%%")
        .replace('\u{1}', "%s");
    shell_tool(
        "sqlcmd",
        &script(&body),
        env(password, &[("DOCKHAND_SQL", template)]),
    )
}

/// Reads a backup fed on stdin into a file in the container and runs `sqlcmd` on it with the
/// statement `template` (`%s`: the file). The file is removed when the script ends.
fn with_uploaded(password: &str, body: &str, more: &[(&str, String)]) -> ToolCommand {
    let body = format!(
        r#"mkdir -p {BACKUP_DIR} || exit 1
f="{BACKUP_DIR}/dockhand-in-$$-$(date +%s).bak"
trap 'rm -f "$f"' EXIT
cat > "$f" || exit 1
{body}"#
    );
    shell_tool("sqlcmd", &script(&body), env(password, more))
}

/// `RESTORE VERIFYONLY … WITH CHECKSUM`: the server reads the whole backup and checks every
/// page's checksum. Prints "The backup set on file 1 is valid." per backup set.
///
/// A readability check is handed no password (`ReadabilityCheck` has none), so the script reads
/// the admin's from the secret file Dockhand placed in the container at creation, which the
/// exec's user (the image's `mssql`, its owner) may read.
pub(crate) fn verify_only() -> ToolCommand {
    let mut t = with_uploaded(
        "",
        &format!(
            "SQLCMDPASSWORD=$(cat {ADMIN_PASSWORD_FILE}) || exit 1\nexport SQLCMDPASSWORD\n\
             q -d master -Q \"RESTORE VERIFYONLY FROM DISK = N'$f' WITH CHECKSUM\"\n"
        ),
        &[],
    );
    t.env.clear();
    t
}

/// How many backup sets `RESTORE VERIFYONLY` found valid.
pub(crate) fn valid_sets(out: &[u8]) -> usize {
    String::from_utf8_lossy(out)
        .lines()
        .filter(|l| l.contains("is valid"))
        .count()
}

/// The restore into `database` (a scratch database the caller created): the backup's logical
/// files are read with `RESTORE FILELISTONLY` and moved to files named after `database` (the
/// original ones may be in use by the database the backup was taken of), `WITH REPLACE` over
/// the empty scratch database; then `owner` (a project's login) is made its owner again, as
/// provisioning does.
pub(crate) fn restore(password: &str, database: &str, owner: &str, admin: &str) -> ToolCommand {
    let after = if owner == admin {
        String::new()
    } else {
        format!(
            "ALTER AUTHORIZATION ON DATABASE::{} TO {};",
            ident(database),
            ident(owner)
        )
    };
    // awk reads FILELISTONLY's rows (LogicalName|PhysicalName|Type|…) and writes the MOVE
    // clauses, doubling any quote in a logical name.
    let body = format!(
        r#"moves=$(q -d master -h -1 -W -m 1 -s '|' -Q "SET NOCOUNT ON; RESTORE FILELISTONLY FROM DISK = N'$f'" | awk -F'|' -v db="$DOCKHAND_DB" -v dir={DATA_DIR} -v sq="'" '
  $3 == "D" || $3 == "L" {{
    n = $1; gsub(sq, sq sq, n)
    if ($3 == "D") {{ d++; file = (d == 1) ? db ".mdf" : db "_" d ".ndf" }}
    else {{ l++; file = (l == 1) ? db "_log.ldf" : db "_log" l ".ldf" }}
    printf "%s MOVE N%s%s%s TO N%s%s/%s%s", sep, sq, n, sq, sq, dir, file, sq; sep = ","
  }}') || exit 1
if [ -z "$moves" ]; then echo "RESTORE FILELISTONLY found no data or log file in the backup" >&2; exit 1; fi
q -d master -m 1 -Q "RESTORE DATABASE $DOCKHAND_IDENT FROM DISK = N'$f' WITH REPLACE, CHECKSUM, $moves" >&2 || exit $?
if [ -n "$DOCKHAND_AFTER" ]; then q -d master -m 1 -Q "$DOCKHAND_AFTER" >&2 || exit $?; fi
"#
    );
    with_uploaded(
        password,
        &body,
        &[
            ("DOCKHAND_DB", database.to_string()),
            ("DOCKHAND_IDENT", ident(database)),
            ("DOCKHAND_AFTER", after),
        ],
    )
}

/// The version of the `sqlcmd` that takes the backups.
pub(crate) fn version() -> ToolCommand {
    shell_tool("sqlcmd", &script("\"$s\" -? 2>&1 | sed -n 2p\n"), vec![])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of<'a>(t: &'a ToolCommand, key: &str) -> &'a str {
        t.env
            .iter()
            .find_map(|e| e.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in the environment"))
    }

    #[test]
    fn the_backup_is_copy_only_with_checksums_and_its_file_is_removed() {
        let t = dump("Pw1-secret", "shop");
        let script = &t.cmd[2];
        assert_eq!(&t.cmd[..2], ["sh", "-c"]);
        assert!(script.contains("trap 'rm -f \"$f\"' EXIT"), "{script}");
        assert!(
            script.contains("/var/opt/mssql/backup/dockhand-"),
            "{script}"
        );
        // sqlcmd's messages must not mix into the backup stream.
        assert!(script.contains(">&2 || exit $?\ncat \"$f\""), "{script}");
        assert_eq!(
            env_of(&t, "DOCKHAND_SQL"),
            "BACKUP DATABASE [shop] TO DISK = N'%s' WITH COPY_ONLY, CHECKSUM, INIT"
        );
        assert!(!t.cmd.iter().any(|a| a.contains("Pw1-secret")));
        assert_eq!(env_of(&t, "SQLCMDPASSWORD"), "Pw1-secret");
    }

    #[test]
    fn sqlcmd_is_found_in_either_tools_folder_and_trusts_the_certificate_only_on_odbc_18() {
        let s = &admin_sql("pw", "", "SELECT 1").cmd[2];
        assert!(
            s.contains("/opt/mssql-tools18/bin /opt/mssql-tools/bin"),
            "{s}"
        );
        assert!(s.contains("*tools18*) c=\"-C\""), "{s}");
        let t = admin_sql("pw", "", "SELECT name FROM sys.databases");
        assert_eq!(env_of(&t, "DOCKHAND_DB"), "master");
        assert_eq!(env_of(&t, "DOCKHAND_SQL"), "SELECT name FROM sys.databases");
    }

    #[test]
    fn a_percent_in_a_database_name_cannot_reach_printf_as_a_directive() {
        let t = dump("pw", "a%sb");
        assert_eq!(
            env_of(&t, "DOCKHAND_SQL"),
            "BACKUP DATABASE [a%%sb] TO DISK = N'%s' WITH COPY_ONLY, CHECKSUM, INIT"
        );
    }

    #[test]
    fn restores_move_files_to_the_target_and_give_it_back_to_its_owner() {
        let t = restore("pw", "dockhand_restore_ab", "shop", "sa");
        let s = &t.cmd[2];
        assert!(s.contains("RESTORE FILELISTONLY"), "{s}");
        assert!(s.contains("WITH REPLACE, CHECKSUM, $moves"), "{s}");
        assert_eq!(env_of(&t, "DOCKHAND_IDENT"), "[dockhand_restore_ab]");
        assert_eq!(
            env_of(&t, "DOCKHAND_AFTER"),
            "ALTER AUTHORIZATION ON DATABASE::[dockhand_restore_ab] TO [shop];"
        );
        let admin_owned = restore("pw", "copy", "sa", "sa");
        assert_eq!(env_of(&admin_owned, "DOCKHAND_AFTER"), "");
    }

    #[test]
    fn verification_counts_valid_backup_sets() {
        assert_eq!(valid_sets(b"The backup set on file 1 is valid.\n"), 1);
        assert_eq!(valid_sets(b"Msg 3241, Level 16\n"), 0);
    }
}
