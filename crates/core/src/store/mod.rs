//! The state store: SQLite (bundled) in WAL mode, migrated by `user_version`. It holds what the
//! user asked for (desired state, chosen ports) and what was last seen; Docker's labels remain
//! the truth about containers, and [`crate::Manager::reconcile`] brings the two together.
//! No secret is ever stored here.

mod backups;
mod copies;
mod extensions;
mod externals;
mod migrations;
mod origin;
mod own_accounts;
mod projects;
mod resources;
mod tasks;
mod upgrades;

pub use backups::{BackupRow, NewBackup};
pub use copies::{CopyPurpose, CopyRow, CopyState, NewCopy};
pub use externals::ExternalRow;
pub use origin::Origin;
pub use projects::{AttachmentRow, LeaseRow, NewLease, ProjectRow};
pub use resources::Resources;
pub use tasks::{TaskProgress, TaskRow, TaskState, TASK_HISTORY};
pub use upgrades::{UpgradeRow, UpgradeStep};

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::catalog::Kind;
use crate::error::{CoreError, Result};
use crate::modes::Mode;
use crate::state::ServiceState;

pub struct Store {
    conn: Mutex<Connection>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Desired {
    Running,
    Stopped,
}

impl Desired {
    fn as_str(self) -> &'static str {
        match self {
            Desired::Running => "running",
            Desired::Stopped => "stopped",
        }
    }
    fn parse(s: &str) -> Desired {
        if s == "running" {
            Desired::Running
        } else {
            Desired::Stopped
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceRow {
    pub name: String,
    pub kind: Kind,
    pub version: String,
    pub image: String,
    pub host_port: u16,
    /// The user chose this port; Dockhand must not move it.
    pub port_explicit: bool,
    pub desired: Desired,
    /// Last observed state.
    pub state: ServiceState,
    pub reason: Option<String>,
    /// Became ready at least once; until then an auto-chosen port may still be moved.
    pub ever_ready: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// Started by the user (`dockhand up`): runs until `down`, whatever its consumers do.
    /// Unpinned services run while consumers hold leases on them.
    pub pinned: bool,
    /// When the last lease ended (unpinned services stop a grace period after this).
    pub idle_since_ms: Option<i64>,
    /// The data volume when it is not the one named after the service (after a major upgrade).
    pub volume: Option<String>,
    /// The one project this server serves (`dedicated = true`); no other project attaches.
    pub dedicated_to: Option<String>,
    pub origin: Origin,
    /// An adopted service's container (its own name, not `dockhand-<name>`).
    pub container: Option<String>,
    /// How it keeps its data; chosen at creation.
    pub mode: Mode,
    /// The container's memory limit in MB (`None`: no limit).
    pub memory_mb: Option<u32>,
}

/// A running, Dockhand-made service with the official image, for unit tests of decisions.
#[cfg(test)]
impl ServiceRow {
    pub(crate) fn example(name: &str, kind: Kind, version: &str) -> ServiceRow {
        ServiceRow {
            name: name.into(),
            kind,
            version: version.into(),
            image: crate::catalog::ServiceSpec {
                kind,
                version: version.into(),
            }
            .default_image(),
            host_port: 5432,
            port_explicit: false,
            desired: Desired::Running,
            state: ServiceState::Running,
            reason: None,
            ever_ready: true,
            created_at_ms: 0,
            updated_at_ms: 0,
            pinned: true,
            idle_since_ms: None,
            volume: None,
            dedicated_to: None,
            origin: Origin::Managed,
            container: None,
            mode: Mode::default(),
            memory_mb: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub id: i64,
    pub at_ms: i64,
    pub service: Option<String>,
    pub kind: String,
    pub message: String,
}

/// What to insert when a service is first claimed.
pub struct NewService<'a> {
    pub name: &'a str,
    pub kind: Kind,
    pub version: &'a str,
    pub image: &'a str,
    pub port_explicit: bool,
    pub pinned: bool,
    /// The data volume, when not the one named after the service (see [`ServiceRow::volume`]).
    pub volume: Option<&'a str>,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as i64
}

const COLUMNS: &str = "name, kind, version, image, host_port, port_explicit, desired, state, reason, ever_ready, created_at_ms, updated_at_ms, pinned, idle_since_ms, volume, mode, memory_mb, dedicated_to, origin, container";

fn row_to_service(r: &rusqlite::Row<'_>) -> rusqlite::Result<ServiceRow> {
    let kind: String = r.get(1)?;
    let desired: String = r.get(6)?;
    Ok(ServiceRow {
        name: r.get(0)?,
        kind: Kind::parse(&kind).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                e.to_string().into(),
            )
        })?,
        version: r.get(2)?,
        image: r.get(3)?,
        host_port: r.get(4)?,
        port_explicit: r.get(5)?,
        desired: Desired::parse(&desired),
        state: ServiceState::parse(&r.get::<_, String>(7)?),
        reason: r.get(8)?,
        ever_ready: r.get(9)?,
        created_at_ms: r.get(10)?,
        updated_at_ms: r.get(11)?,
        pinned: r.get(12)?,
        idle_since_ms: r.get(13)?,
        volume: r.get(14)?,
        mode: Mode::parse(&r.get::<_, String>(15)?).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                15,
                rusqlite::types::Type::Text,
                e.to_string().into(),
            )
        })?,
        memory_mb: r.get(16)?,
        dedicated_to: r.get(17)?,
        origin: Origin::parse(&r.get::<_, String>(18)?),
        container: r.get(19)?,
    })
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(15))?;
        migrations::back_up_before_migrating(&conn, path)?;
        Self::init(conn)
    }

    pub fn open_in_memory() -> Result<Store> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Store> {
        // Two processes (tray app and CLI) share this file: wait for each other, don't fail.
        conn.busy_timeout(Duration::from_secs(15))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::migrate(&mut conn)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut c)
    }

    pub fn schema_version(&self) -> Result<i64> {
        self.with(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?))
    }

    /// The instance id, if this database has one yet (never creates it).
    pub fn existing_instance_id(&self) -> Result<Option<String>> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT value FROM meta WHERE key = 'instance_id'",
                [],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    /// Gives a new state database the identity of the home it recovers (`dockhand recover`);
    /// refuses one that has another identity already.
    pub fn adopt_instance_id(&self, id: &str) -> Result<()> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing: Option<String> = tx
                .query_row("SELECT value FROM meta WHERE key = 'instance_id'", [], |r| r.get(0))
                .optional()?;
            match existing {
                Some(e) if e == id => {}
                Some(e) => {
                    return Err(CoreError::Home(format!(
                        "the state database already belongs to instance '{e}', not '{id}'; nothing was changed"
                    )))
                }
                None => {
                    tx.execute("INSERT INTO meta (key, value) VALUES ('instance_id', ?1)", [id])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// This home's instance id, created on first use; it goes into every label Dockhand sets.
    pub fn instance_id(&self) -> Result<String> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing: Option<String> = tx
                .query_row(
                    "SELECT value FROM meta WHERE key = 'instance_id'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            let id = match existing {
                Some(id) => id,
                None => {
                    let id: String =
                        crate::secrets::generate_password().expose()[..12].to_lowercase();
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ('instance_id', ?1)",
                        [&id],
                    )?;
                    id
                }
            };
            tx.commit()?;
            Ok(id)
        })
    }

    pub fn service(&self, name: &str) -> Result<Option<ServiceRow>> {
        self.with(|c| {
            Ok(c.query_row(
                &format!("SELECT {COLUMNS} FROM services WHERE name = ?1"),
                [name],
                row_to_service,
            )
            .optional()?)
        })
    }

    pub fn services(&self) -> Result<Vec<ServiceRow>> {
        self.with(|c| {
            let mut st = c.prepare(&format!("SELECT {COLUMNS} FROM services ORDER BY name"))?;
            let rows = st.query_map([], row_to_service)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Returns the service called `new.name`, inserting it if it does not exist yet. The port of a
    /// new service comes from `choose_port`, which sees the ports already taken in this store.
    /// Runs under `BEGIN IMMEDIATE`, so two processes claiming at once get one row and distinct
    /// ports.
    /// A new row is durable with its kind's default memory limit; see [`Store::claim_service_as`].
    pub fn claim_service(
        &self,
        new: &NewService<'_>,
        choose_port: impl FnOnce(&[u16]) -> Result<u16>,
    ) -> Result<(ServiceRow, bool)> {
        self.claim_service_with(
            new,
            &Resources::default_for(new.kind, Mode::DURABLE),
            None,
            choose_port,
        )
    }

    /// [`Store::claim_service`] for a server dedicated to one project: the new row is marked in
    /// the same transaction, so no other project can be given it in between. An existing row
    /// is returned as it is (the caller checks whom it serves).
    pub fn claim_service_for(
        &self,
        new: &NewService<'_>,
        dedicated_to: Option<&str>,
        choose_port: impl FnOnce(&[u16]) -> Result<u16>,
    ) -> Result<(ServiceRow, bool)> {
        self.claim_service_with(
            new,
            &Resources::default_for(new.kind, Mode::DURABLE),
            dedicated_to,
            choose_port,
        )
    }

    /// [`Store::claim_service`] with the mode and memory limit a new row gets, written in the
    /// same transaction (a process killed right after the claim leaves no service in the wrong
    /// mode). An existing row is returned as it is.
    pub fn claim_service_as(
        &self,
        new: &NewService<'_>,
        resources: &Resources,
        choose_port: impl FnOnce(&[u16]) -> Result<u16>,
    ) -> Result<(ServiceRow, bool)> {
        self.claim_service_with(new, resources, None, choose_port)
    }

    fn claim_service_with(
        &self,
        new: &NewService<'_>,
        resources: &Resources,
        dedicated_to: Option<&str>,
        choose_port: impl FnOnce(&[u16]) -> Result<u16>,
    ) -> Result<(ServiceRow, bool)> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing = tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM services WHERE name = ?1"),
                    [new.name],
                    row_to_service,
                )
                .optional()?;
            if let Some(row) = existing {
                return Ok((row, false));
            }
            let taken: Vec<u16> = tx
                .prepare("SELECT host_port FROM services")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let port = choose_port(&taken)?;
            let now = now_ms();
            tx.execute(
                "INSERT INTO services (name, kind, version, image, host_port, port_explicit, desired, state, ever_ready, created_at_ms, updated_at_ms, pinned, volume, mode, memory_mb)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running', 'creating', 0, ?7, ?7, ?8, ?9, ?10, ?11)",
                params![new.name, new.kind.as_str(), new.version, new.image, port, new.port_explicit, now, new.pinned, new.volume,
                        resources.mode.as_str(), resources.memory_mb],
            )?;
            if let Some(project) = dedicated_to {
                tx.execute(
                    "UPDATE services SET dedicated_to = ?2 WHERE name = ?1",
                    params![new.name, project],
                )?;
            }
            let row = tx.query_row(
                &format!("SELECT {COLUMNS} FROM services WHERE name = ?1"),
                [new.name],
                row_to_service,
            )?;
            tx.commit()?;
            Ok((row, true))
        })
    }

    /// Inserts a row for a container found in Docker but unknown here (reconcile: a container of
    /// ours the store forgot), or for a service adopted or connected to (`dockhand adopt`,
    /// external servers). Returns false when the name is taken.
    pub fn adopt_service(&self, row: &ServiceRow) -> Result<bool> {
        self.with(|c| {
            let n = c.execute(
                "INSERT OR IGNORE INTO services (name, kind, version, image, host_port, port_explicit, desired, state, reason, ever_ready, created_at_ms, updated_at_ms, pinned, volume, mode, memory_mb, dedicated_to, origin, container)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                params![row.name, row.kind.as_str(), row.version, row.image, row.host_port, row.port_explicit,
                        row.desired.as_str(), row.state.as_str(), row.reason, row.ever_ready, now_ms(), row.pinned, row.volume,
                        row.mode.as_str(), row.memory_mb, row.dedicated_to, row.origin.as_str(), row.container],
            )?;
            Ok(n == 1)
        })
    }

    /// Moves a service that never became ready to another port (its first choice was taken by
    /// something outside this store between choosing and starting).
    pub fn move_port(
        &self,
        name: &str,
        choose_port: impl FnOnce(&[u16]) -> Result<u16>,
    ) -> Result<u16> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let taken: Vec<u16> = tx
                .prepare("SELECT host_port FROM services")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let port = choose_port(&taken)?;
            tx.execute(
                "UPDATE services SET host_port = ?2, updated_at_ms = ?3 WHERE name = ?1",
                params![name, port, now_ms()],
            )?;
            tx.commit()?;
            Ok(port)
        })
    }

    pub fn set_pinned(&self, name: &str, pinned: bool) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE services SET pinned = ?2, updated_at_ms = ?3 WHERE name = ?1",
                params![name, pinned, now_ms()],
            )?;
            Ok(())
        })
    }

    pub fn set_idle_since(&self, name: &str, at_ms: Option<i64>) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE services SET idle_since_ms = ?2 WHERE name = ?1",
                params![name, at_ms],
            )?;
            Ok(())
        })
    }

    pub fn set_desired(&self, name: &str, desired: Desired) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE services SET desired = ?2, updated_at_ms = ?3 WHERE name = ?1",
                params![name, desired.as_str(), now_ms()],
            )?;
            Ok(())
        })
    }

    pub fn set_state(&self, name: &str, state: ServiceState, reason: Option<&str>) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE services SET state = ?2, reason = ?3, updated_at_ms = ?4,
                        ever_ready = ever_ready OR (?2 = 'running') WHERE name = ?1",
                params![name, state.as_str(), reason, now_ms()],
            )?;
            Ok(())
        })
    }

    pub fn delete_service(&self, name: &str) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM services WHERE name = ?1", [name])?;
            Ok(())
        })
    }

    pub fn record_event(&self, service: Option<&str>, kind: &str, message: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO events (at_ms, service, kind, message) VALUES (?1, ?2, ?3, ?4)",
                params![now_ms(), service, kind, message],
            )?;
            Ok(())
        })
    }

    /// The most recent events, newest first.
    pub fn events(&self, service: Option<&str>, limit: usize) -> Result<Vec<EventRow>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT id, at_ms, service, kind, message FROM events
                 WHERE ?1 IS NULL OR service = ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = st.query_map(params![service, limit as i64], |r| {
                Ok(EventRow {
                    id: r.get(0)?,
                    at_ms: r.get(1)?,
                    service: r.get(2)?,
                    kind: r.get(3)?,
                    message: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

/// The names of a state database's services and projects, read-only and within a moment (a
/// database another process is writing answers nothing rather than waiting): for shell
/// completion, which must neither change the state (no migration) nor hang a TAB press.
pub fn names_read_only(db: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let c = Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(Duration::from_millis(200))?;
    let names = |sql: &str| -> Result<Vec<String>> {
        let mut st = c.prepare(sql)?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    Ok((
        names("SELECT name FROM services ORDER BY name")?,
        names("SELECT name FROM projects ORDER BY name")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_pg<'a>(name: &'a str) -> NewService<'a> {
        NewService {
            name,
            kind: Kind::Postgres,
            version: "15",
            image: "postgres:15",
            port_explicit: false,
            pinned: true,
            volume: None,
        }
    }

    #[test]
    fn claims_once_and_hands_out_distinct_ports() {
        let s = Store::open_in_memory().unwrap();
        let pick = |taken: &[u16]| Ok((5432..).find(|p| !taken.contains(p)).unwrap());
        let (a, created) = s.claim_service(&new_pg("a"), pick).unwrap();
        assert!(created);
        let (a2, created) = s
            .claim_service(&new_pg("a"), |_| panic!("no port needed"))
            .unwrap();
        assert!(!created);
        assert_eq!(a.host_port, a2.host_port);
        let (b, _) = s.claim_service(&new_pg("b"), pick).unwrap();
        assert_ne!(a.host_port, b.host_port);
        assert_eq!(s.services().unwrap().len(), 2);
    }

    #[test]
    fn state_changes_are_kept_and_ready_is_remembered() {
        let s = Store::open_in_memory().unwrap();
        s.claim_service(&new_pg("a"), |_| Ok(5432)).unwrap();
        s.set_state("a", ServiceState::Running, None).unwrap();
        s.set_state("a", ServiceState::Failed, Some("exited with code 1"))
            .unwrap();
        let r = s.service("a").unwrap().unwrap();
        assert_eq!(
            (r.state, r.reason.as_deref(), r.ever_ready),
            (ServiceState::Failed, Some("exited with code 1"), true)
        );
        s.set_desired("a", Desired::Stopped).unwrap();
        assert_eq!(s.service("a").unwrap().unwrap().desired, Desired::Stopped);
    }

    #[test]
    fn events_come_back_newest_first_and_filtered() {
        let s = Store::open_in_memory().unwrap();
        s.record_event(Some("a"), "started", "ready in 1.2 s")
            .unwrap();
        s.record_event(Some("b"), "stopped", "by user").unwrap();
        s.record_event(Some("a"), "stopped", "by user").unwrap();
        let all = s.events(None, 10).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].service.as_deref(), Some("a"));
        assert_eq!(all[0].kind, "stopped");
        assert_eq!(s.events(Some("a"), 10).unwrap().len(), 2);
    }

    #[test]
    fn file_store_survives_reopen_and_keeps_its_instance() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("state.db");
        let id = {
            let s = Store::open(&p).unwrap();
            s.claim_service(&new_pg("a"), |_| Ok(5432)).unwrap();
            s.instance_id().unwrap()
        };
        let s = Store::open(&p).unwrap();
        assert_eq!(s.instance_id().unwrap(), id);
        assert_eq!(s.service("a").unwrap().unwrap().host_port, 5432);
        assert_eq!(s.schema_version().unwrap(), migrations::LATEST);
    }
}
