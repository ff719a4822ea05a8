//! PostgreSQL restores go into a scratch database of their own, which takes the target's name
//! only once complete — in one transaction with the old one stepping aside when it is replaced.

use crate::drivers::RenamingRestore;
use crate::ident::{pg_ident, pg_literal};

pub(super) struct Rename;

impl RenamingRestore for Rename {
    fn create_scratch(&self, scratch: &str, owner: &str) -> String {
        format!(
            "CREATE DATABASE {} OWNER {} TEMPLATE template0",
            pg_ident(scratch),
            pg_ident(owner)
        )
    }

    fn open_only_to(&self, database: &str, owner: &str) -> String {
        format!(
            "REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC; \
             GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {role}",
            db = pg_ident(database),
            role = pg_ident(owner)
        )
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
}
