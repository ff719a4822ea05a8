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

    /// Run one after the other in the NEW server's container (both servers share the admin
    /// password): copies every database, role (with its password), owner, grant and extension
    /// from the old server, reachable as `old_host` on Dockhand's network. Any step failing
    /// fails the copy. `databases` are the old server's (its `list_databases`), for kinds that
    /// copy a list. Nothing of a project's may run with the admin's rights on the new server.
    fn copy(&self, password: &str, old_host: &str, databases: &[String]) -> Vec<CopyStep>;

    /// How many objects of roles other than their database's owner the copy gave to that
    /// owner, as a step's output says (kinds that copy each database as its owner).
    fn reowned(&self, _output: &str) -> u64 {
        0
    }

    /// Run in the new container after the copy (MariaDB's `mariadb-upgrade`).
    fn after_copy(&self, _password: &str) -> Option<ToolCommand> {
        None
    }

    /// For kinds without SQL databases: a tool (run as the admin in each container) that prints
    /// one line per database — its name, its number of keys and a checksum of their content.
    fn server_checksums(&self, _password: &str) -> Option<ToolCommand> {
        None
    }

    /// Statement(s), run as the admin in `database` in one session, printing one row per user
    /// table — its name, its number of rows and a checksum of its content — computed alike by
    /// both versions. The admin is on the project's ground there: nothing in them may resolve
    /// to, or cast through, anything the project defined.
    fn table_checksums(&self, database: &str) -> String;
}

/// One step of a copy, and what it copies (for progress).
pub struct CopyStep {
    pub tool: ToolCommand,
    pub what: String,
}
