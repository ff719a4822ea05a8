//! What a kind knows about moving a server's data to a newer major version (`dockhand upgrade`):
//! the copy from the old server into the new one, what to run afterwards, and a content checksum
//! per table that both versions compute alike, so the copy can be verified before the switch.

use super::{Kind, ToolCommand};

pub trait MajorUpgrade: Send + Sync {
    /// `Err(why)` when going from version `from` to `to` is not an upgrade this kind makes.
    fn check_versions(&self, from: &str, to: &str) -> std::result::Result<(), String>;

    /// `Err(why)` unless a server of version `from` of this kind can become one of `to` (a
    /// server keeps its kind, but for kinds that share a protocol: Redis → Valkey).
    fn check_kind_change(&self, _from: &str, to: Kind) -> std::result::Result<(), String> {
        Err(format!(
            "a service keeps its kind; create a {} service and restore a backup into it",
            to.spec().display_name
        ))
    }

    /// Statements (as the admin, on the old server) that keep the projects' `users` from
    /// connecting and end their sessions while the copy runs, so that nothing they write can
    /// miss the copy. Re-provisioning a project undoes it.
    fn freeze(&self, password: &str, users: &[&str]) -> Vec<ToolCommand>;

    /// Run in the NEW server's container as the admin (both servers share the admin password):
    /// copies every database, role (with its password), owner, grant and extension from the old
    /// server, reachable as `old_host` on Dockhand's network. Fails as a whole on any error.
    /// `databases` are the old server's (its `list_databases`), for kinds that dump a list.
    fn copy(&self, password: &str, old_host: &str, databases: &[String]) -> ToolCommand;

    /// Run in the new container after the copy (MariaDB's `mariadb-upgrade`).
    fn after_copy(&self, _password: &str) -> Option<ToolCommand> {
        None
    }

    /// For kinds without SQL databases: a tool (run as the admin in each container) that prints
    /// one line per database — its name, its number of keys and a checksum of their content.
    fn server_checksums(&self, _password: &str) -> Option<ToolCommand> {
        None
    }

    /// How to get, as the admin, one row per user table of `database` — its name, its number
    /// of rows and a checksum of its content — computed alike by both versions.
    fn table_checksums(&self, database: &str) -> Checksums;
}

/// A checksum statement, or a statement that writes it (kinds without a way to run a query per
/// table inside one statement).
pub enum Checksums {
    Statement(String),
    /// Prints the statement to run; prints `NULL` or nothing when the database has no tables.
    Generator(String),
}
