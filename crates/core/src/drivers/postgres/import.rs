//! Importing a file into a project's PostgreSQL database, as the project's user.
//!
//! A custom-format archive goes to `pg_restore` connected as that user: its entries are SQL the
//! file's author wrote, so they must not run as the admin (`pg_restore --role` would let an entry
//! `RESET ROLE` back to it). Plain SQL goes to `psql`, which would also obey client commands in
//! the file — `\connect` as `postgres` over the container's socket (trusted by the image), `\!`
//! a shell in the container — so the input starts with `\restrict <random key>`: from there on
//! psql refuses every backslash command but `\unrestrict <key>` (psql 13.22/14.19/15.14/16.10/
//! 17.6 and later; an older psql stops at the first line, before any SQL).

use std::borrow::Cow;

use super::SPEC;
use crate::drivers::{
    tool, FileFormat, ImportInput, ImportTo, Importer, SqlLineFilter, ToolCommand,
};

pub(super) struct Import;

impl Importer for Import {
    fn takes(&self, format: FileFormat) -> Option<ImportInput> {
        match format {
            FileFormat::PgArchive => Some(ImportInput::PgArchive),
            FileFormat::PgSql | FileFormat::Sql => Some(ImportInput::Sql),
            FileFormat::MysqlSql | FileFormat::RedisRdb => None,
        }
    }

    fn command(
        &self,
        input: ImportInput,
        to: &ImportTo<'_>,
    ) -> std::result::Result<ToolCommand, String> {
        Ok(match input {
            // Objects belong to whoever creates them: the project's user (the restore script,
            // with the admin's part limited to the service's own extensions). Grants to roles of
            // the machine the dump came from mean nothing here.
            ImportInput::PgArchive => super::restore::Script {
                mode: super::restore::Mode::Import,
                admin: SPEC.admin_user,
                admin_password: to.admin_password,
                database: to.database,
                owner: Some(super::restore::Owner {
                    role: to.user,
                    login: to.user,
                    password: to.password,
                }),
                extensions: to.extensions,
            }
            .command(),
            ImportInput::Sql => tool(
                "psql",
                &[
                    "-X",
                    "-q",
                    "-U",
                    to.user,
                    "-d",
                    to.database,
                    "-v",
                    "ON_ERROR_STOP=1",
                ],
                vec![format!("PGPASSWORD={}", to.password)],
            )
            .unprivileged(),
        })
    }

    fn objects_in(&self, _database: &str) -> String {
        // Run as the admin inside the project's database: the session's search path is pinned
        // to pg_catalog (see `session.rs`), so `=` and `::regclass` below are the server's own
        // and never an operator the project defined for `oid = regclass` in its `public`.
        // Relations (tables, views, sequences, …) and routines outside the system schemas,
        // not members of an extension (a project database may come with extensions).
        "SELECT (SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
         AND d.objid = c.oid AND d.deptype = 'e')) \
         + (SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass \
         AND d.objid = p.oid AND d.deptype = 'e'))"
            .into()
    }

    fn sql_prelude(&self, key: &str) -> Vec<u8> {
        format!("\\restrict {key}\n").into_bytes()
    }

    fn sql_filter(&self) -> Box<dyn SqlLineFilter> {
        Box::new(PlainDump::default())
    }

    fn explain_failure(&self, stderr: &str) -> Option<String> {
        if stderr.contains("invalid command \\restrict") {
            return Some(format!(
                "this server's psql cannot run a file with client commands turned off (\\restrict, \
                 psql 17.6/16.10/15.14 and later); update the image \
                 (`docker pull {}:<version>`, then `dockhand up` again), or import a custom-format \
                 dump (`pg_dump -Fc`)",
                SPEC.image_repo
            ));
        }
        if stderr.contains("unsupported version") && stderr.contains("file header") {
            return Some(format!(
                "the archive was written by a newer pg_dump than this server's pg_restore reads \
                 ({}); import it into a service of that PostgreSQL version or newer, or dump it \
                 again as plain SQL (`pg_dump` without -Fc), which older servers read",
                first_line(stderr)
            ));
        }
        if stderr.contains("backslash commands are restricted") {
            return Some(
                "the file contains a psql command (a line with \\connect, \\!, \\copy, \\i, …); an \
                 import runs SQL only, so that a file cannot act outside its database. Remove \
                 those lines and import again"
                    .into(),
            );
        }
        if stderr.contains("must be owner")
            || stderr.contains("permission denied")
            || stderr.contains("must be superuser")
            || stderr.contains("must be member of role")
        {
            return Some(format!(
                "the file does something the project's user may not ({}); an import runs as the \
                 project's user so that a file cannot reach beyond its database",
                first_error(stderr)
            ));
        }
        None
    }
}

fn first_line(stderr: &str) -> &str {
    stderr.lines().next().unwrap_or("").trim()
}

fn first_error(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.contains("ERROR"))
        .unwrap_or_else(|| stderr.lines().next().unwrap_or(""))
        .trim()
}

/// Makes a plain `pg_dump` file importable as the project's user, as `pg_restore --no-owner
/// --no-privileges` does for an archive: the one-line ownership, grant and session-role
/// statements pg_dump writes (about roles of the machine it ran on) are left out, and so are
/// comments on extensions and pg_dump's own `\restrict`/`\unrestrict` lines (the import sets
/// its own). `CREATE EXTENSION IF NOT EXISTS` stays: the admin has created the service's
/// extensions beforehand, so it does nothing. COPY data passes untouched.
#[derive(Default)]
struct PlainDump {
    in_copy: bool,
}

impl SqlLineFilter for PlainDump {
    fn filter<'a>(&mut self, line: &'a [u8]) -> Option<Cow<'a, [u8]>> {
        let text = String::from_utf8_lossy(line);
        let t = text.trim_end();
        if self.in_copy {
            if t == "\\." {
                self.in_copy = false;
            }
            return Some(Cow::Borrowed(line));
        }
        if t.starts_with("COPY ") && t.ends_with("FROM stdin;") {
            self.in_copy = true;
            return Some(Cow::Borrowed(line));
        }
        let single_statement = t.ends_with(';') && !t[..t.len().saturating_sub(1)].contains(';');
        let drop = (t.starts_with("ALTER ") && t.contains(" OWNER TO ") && single_statement)
            || ((t.starts_with("GRANT ") || t.starts_with("REVOKE ")) && single_statement)
            || (t.starts_with("SET SESSION AUTHORIZATION ") && single_statement)
            // An extension's comment is its owner's, the admin's (pg_dump writes one for each).
            || (t.starts_with("COMMENT ON EXTENSION ") && single_statement)
            || is_restrict_line(t);
        (!drop).then_some(Cow::Borrowed(line))
    }
}

/// `\restrict KEY` / `\unrestrict KEY`, as pg_dump writes them (the key is alphanumeric).
fn is_restrict_line(t: &str) -> bool {
    let rest = t
        .strip_prefix("\\restrict ")
        .or_else(|| t.strip_prefix("\\unrestrict "));
    rest.is_some_and(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> Vec<String> {
        let mut f = PlainDump::default();
        lines
            .iter()
            .filter_map(|l| {
                f.filter(l.as_bytes())
                    .map(|c| String::from_utf8_lossy(&c).to_string())
            })
            .collect()
    }

    #[test]
    fn ownership_grants_and_pg_dumps_restrict_lines_are_left_out_but_not_data() {
        let out = run(&[
            "\\restrict abc123\n",
            "CREATE TABLE public.t (a text);\n",
            "ALTER TABLE public.t OWNER TO alice;\n",
            "GRANT ALL ON TABLE public.t TO bob;\n",
            "COMMENT ON EXTENSION vector IS 'vector data type';\n",
            "COPY public.t (a) FROM stdin;\n",
            "GRANT ALL ON TABLE public.t TO bob;\n",
            "\\.\n",
            "ALTER TABLE public.t ADD COLUMN b int; ALTER TABLE public.t OWNER TO x;\n",
            "\\unrestrict abc123\n",
        ]);
        assert_eq!(
            out,
            [
                "CREATE TABLE public.t (a text);\n",
                "COPY public.t (a) FROM stdin;\n",
                "GRANT ALL ON TABLE public.t TO bob;\n",
                "\\.\n",
                "ALTER TABLE public.t ADD COLUMN b int; ALTER TABLE public.t OWNER TO x;\n",
            ]
        );
    }

    #[test]
    fn runs_as_the_project_user_and_never_the_admin() {
        let to = ImportTo {
            user: "shop",
            password: "pw",
            database: "shop",
            admin_password: "adminpw",
            extensions: &["vector"],
        };
        let sql = Import.command(ImportInput::Sql, &to).unwrap();
        assert!(sql.cmd.windows(2).any(|w| w == ["-U", "shop"]), "{sql:?}");
        let archive = Import.command(ImportInput::PgArchive, &to).unwrap();
        assert!(archive.env.contains(&"OWNER_LOGIN=shop".to_string()));
        assert!(archive.env.contains(&"MODE=import".to_string()));
        assert!(archive.env.contains(&"EXTENSIONS=vector".to_string()));
        for c in [&sql, &archive] {
            assert!(!c.cmd.iter().any(|a| a.contains("pw")), "{c:?}");
            assert_eq!(c.user, Some(crate::drivers::UNPRIVILEGED));
        }
        assert!(String::from_utf8(Import.sql_prelude("k1")).unwrap() == "\\restrict k1\n");
    }
}
