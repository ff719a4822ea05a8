//! Schema migrations by `PRAGMA user_version`: migration N brings the schema from version N-1 to
//! N. Each runs in its own transaction; a newer database than this binary knows is refused
//! rather than guessed at.

use rusqlite::Connection;

use crate::error::{CoreError, Result};

const MIGRATIONS: &[&str] = &[
    // 1: services and their event history.
    "CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
     );
     CREATE TABLE services (
        name          TEXT PRIMARY KEY,
        kind          TEXT NOT NULL,
        version       TEXT NOT NULL,
        image         TEXT NOT NULL,
        host_port     INTEGER NOT NULL UNIQUE,
        port_explicit INTEGER NOT NULL DEFAULT 0,
        desired       TEXT NOT NULL CHECK (desired IN ('running', 'stopped')),
        state         TEXT NOT NULL,
        reason        TEXT,
        ever_ready    INTEGER NOT NULL DEFAULT 0,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
     );
     CREATE TABLE events (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms   INTEGER NOT NULL,
        service TEXT,
        kind    TEXT NOT NULL,
        message TEXT NOT NULL
     );
     CREATE INDEX events_by_service ON events (service, id);",
    // 2: projects, their attachments to services, consumers' leases, settings.
    "ALTER TABLE services ADD COLUMN pinned INTEGER NOT NULL DEFAULT 1;
     ALTER TABLE services ADD COLUMN idle_since_ms INTEGER;
     CREATE TABLE projects (
        name          TEXT PRIMARY KEY,
        path          TEXT UNIQUE,
        created_at_ms INTEGER NOT NULL
     );
     CREATE TABLE attachments (
        project       TEXT NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
        service       TEXT NOT NULL,
        kind          TEXT NOT NULL,
        db_name       TEXT NOT NULL,
        db_user       TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        PRIMARY KEY (project, service),
        UNIQUE (service, db_name)
     );
     CREATE TABLE leases (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        service       TEXT NOT NULL,
        holder        TEXT NOT NULL,
        pid           INTEGER,
        pid_start     TEXT,
        expires_at_ms INTEGER,
        created_at_ms INTEGER NOT NULL
     );
     CREATE INDEX leases_by_service ON leases (service);
     CREATE UNIQUE INDEX standing_leases ON leases (service, holder) WHERE pid IS NULL AND expires_at_ms IS NULL;
     CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
     );",
    // 3: completed backups. A row is written only after its file was fsynced and renamed, so a
    // listed backup is always a complete one.
    "CREATE TABLE backups (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        service       TEXT NOT NULL,
        kind          TEXT NOT NULL,
        db_name       TEXT NOT NULL,
        path          TEXT NOT NULL UNIQUE,
        size_bytes    INTEGER NOT NULL,
        sha256        TEXT NOT NULL,
        duration_ms   INTEGER NOT NULL,
        tool_version  TEXT NOT NULL,
        reason        TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
     );
     CREATE INDEX backups_by_database ON backups (service, db_name, created_at_ms);",
    // 4: major-version upgrades. A service's data volume is named after the service unless an
    // upgrade moved it to a volume of its own (`volume`); `upgrades` records each upgrade's step,
    // so a process killed in the middle leaves enough for the next one to finish or undo it.
    "ALTER TABLE services ADD COLUMN volume TEXT;
     CREATE TABLE upgrades (
        service       TEXT PRIMARY KEY,
        kind          TEXT NOT NULL,
        from_version  TEXT NOT NULL,
        from_image    TEXT NOT NULL,
        from_volume   TEXT NOT NULL,
        to_kind       TEXT NOT NULL,
        to_version    TEXT NOT NULL,
        to_image      TEXT NOT NULL,
        to_volume     TEXT NOT NULL,
        staging       TEXT NOT NULL,
        step          TEXT NOT NULL,
        detail        TEXT,
        started_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
     );",
    // 5: the PostgreSQL extensions a service was created with (`up --with`), comma-separated.
    "ALTER TABLE services ADD COLUMN extensions TEXT NOT NULL DEFAULT '';",
    // 6: how a service keeps its data (`durable`, `fast`, `ephemeral`, `ephemeral-fast`) and its
    // memory limit in MB. Services created before limits existed keep running without one
    // (NULL): a limit they never had could OOM-kill a server that works today.
    "ALTER TABLE services ADD COLUMN mode TEXT NOT NULL DEFAULT 'durable'
        CHECK (mode IN ('durable', 'fast', 'ephemeral', 'ephemeral-fast'));
     ALTER TABLE services ADD COLUMN memory_mb INTEGER CHECK (memory_mb IS NULL OR memory_mb > 0);",
    // 7: long operations as tasks (see `store::tasks`): running ones name their process, so one
    // whose process died is known as interrupted; finished ones are kept as a bounded history.
    "CREATE TABLE tasks (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        kind           TEXT NOT NULL,
        target         TEXT NOT NULL,
        state          TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'interrupted')),
        progress_done  INTEGER,
        progress_total INTEGER,
        progress_unit  TEXT,
        message        TEXT,
        result         TEXT,
        error          TEXT,
        pid            INTEGER NOT NULL,
        pid_start      TEXT,
        started_at_ms  INTEGER NOT NULL,
        updated_at_ms  INTEGER NOT NULL,
        finished_at_ms INTEGER
     );
     CREATE INDEX tasks_by_state ON tasks (state, finished_at_ms);",
    // 8: where a service comes from and whom it serves, and projects' external databases.
    // `dedicated_to`: the one project a dedicated server serves (no other project is given a
    // database on it). `origin`: 'managed' (Dockhand created its container) or 'adopted' (a
    // container Dockhand found and took over: never re-created; `container` names it).
    // `externals`: a project's database on a server Dockhand does not run, reached at
    // host:port; its URL (with the password) is in the keychain, never here.
    "ALTER TABLE services ADD COLUMN dedicated_to TEXT;
     ALTER TABLE services ADD COLUMN origin TEXT NOT NULL DEFAULT 'managed'
        CHECK (origin IN ('managed', 'adopted'));
     ALTER TABLE services ADD COLUMN container TEXT;
     CREATE TABLE externals (
        name          TEXT PRIMARY KEY,
        project       TEXT NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
        kind          TEXT NOT NULL,
        host          TEXT NOT NULL,
        port          INTEGER NOT NULL,
        db_name       TEXT NOT NULL,
        db_user       TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
     );",
    // 9: the users (roles, accounts) Dockhand itself created on each service, with their
    // project's database. Provisioning never takes over a user it did not create (an adopted
    // server's own `app`, a role made through the admin URL): one not listed here that the
    // server has already is refused. Every project attached until now was provisioned by
    // Dockhand, so their users are listed from the start.
    "CREATE TABLE own_accounts (
        service       TEXT NOT NULL,
        db_user       TEXT NOT NULL,
        db_name       TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        PRIMARY KEY (service, db_user)
     );
     INSERT OR IGNORE INTO own_accounts (service, db_user, db_name, created_at_ms)
        SELECT service, db_user, db_name, created_at_ms FROM attachments;",
    // 10: restore points — a copy of a project's database kept on its server under a name of
    // Dockhand's (`copy`), the admin's, closed to connections. A row is written before its copy
    // is made (`state` creating, with the process making it): a run killed mid-copy leaves a
    // row the next run recognises, and it removes what that run made.
    "CREATE TABLE restore_points (
        id            INTEGER PRIMARY KEY,
        project       TEXT NOT NULL,
        label         TEXT NOT NULL,
        service       TEXT NOT NULL,
        db_name       TEXT NOT NULL,
        copy          TEXT NOT NULL UNIQUE,
        state         TEXT NOT NULL,
        pid           INTEGER,
        pid_start     TEXT,
        size_bytes    INTEGER,
        created_at_ms INTEGER NOT NULL,
        UNIQUE (project, label, service, db_name)
     );",
    // 11: restore points become one purpose of Dockhand's copies; a git branch's database is
    // the other (the project's own, made from `parent`). Same crash-safety: a row before its
    // copy. A label is unique per purpose (a point and a branch may both be called `main`).
    "CREATE TABLE copies (
        id            INTEGER PRIMARY KEY,
        purpose       TEXT NOT NULL,
        project       TEXT NOT NULL,
        label         TEXT NOT NULL,
        service       TEXT NOT NULL,
        db_name       TEXT NOT NULL,
        copy          TEXT NOT NULL UNIQUE,
        state         TEXT NOT NULL,
        pid           INTEGER,
        pid_start     TEXT,
        size_bytes    INTEGER,
        created_at_ms INTEGER NOT NULL,
        parent        TEXT,
        UNIQUE (purpose, project, label, service, db_name)
     );
     INSERT INTO copies (id, purpose, project, label, service, db_name, copy, state, pid,
                         pid_start, size_bytes, created_at_ms)
        SELECT id, 'point', project, label, service, db_name, copy, state, pid, pid_start,
               size_bytes, created_at_ms FROM restore_points;
     DROP TABLE restore_points;",
];

pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Before a migration of an existing database, a copy of it as it was (`state.db.before-vN`,
/// N = the version this binary migrates to), made with `VACUUM INTO` (a consistent snapshot even
/// while another process writes). A downgrade, or a migration gone wrong, can go back to it.
pub(super) fn back_up_before_migrating(conn: &Connection, path: &std::path::Path) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current == 0 || current >= LATEST {
        return Ok(());
    }
    let copy = path.with_file_name(format!(
        "{}.before-v{LATEST}",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    if copy.exists() {
        return Ok(());
    }
    let tmp = copy.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    conn.execute("VACUUM INTO ?1", [tmp.to_string_lossy()])?;
    std::fs::rename(&tmp, &copy).map_err(|e| {
        CoreError::Home(format!(
            "cannot keep a copy of the state database at {}: {e}",
            copy.display()
        ))
    })?;
    tracing::info!(
        "kept a copy of the state database before migrating it: {}",
        copy.display()
    );
    Ok(())
}

pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > LATEST {
        return Err(CoreError::Home(format!(
            "the state database has schema version {current}, newer than this Dockhand understands ({LATEST}); \
             upgrade Dockhand — the database was left untouched"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if now > i as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_from_empty_and_is_idempotent() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        migrate(&mut c).unwrap();
        let v: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, LATEST);
    }

    #[test]
    fn an_existing_database_is_copied_before_it_is_migrated() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("state.db");
        {
            let mut c = Connection::open(&p).unwrap();
            let tx = c.transaction().unwrap();
            tx.execute_batch(MIGRATIONS[0]).unwrap();
            tx.pragma_update(None, "user_version", 1).unwrap();
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('instance_id', 'old')",
                [],
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let s = crate::store::Store::open(&p).unwrap();
        assert_eq!(s.schema_version().unwrap(), LATEST);
        let copy = t.path().join(format!("state.db.before-v{LATEST}"));
        let c = Connection::open(&copy).unwrap();
        let v: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1, "the copy is the database as it was");
        let id: String = c
            .query_row(
                "SELECT value FROM meta WHERE key = 'instance_id'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(id, "old");
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "user_version", LATEST + 1).unwrap();
        let e = migrate(&mut c).unwrap_err().to_string();
        assert!(e.contains("upgrade Dockhand"), "{e}");
    }
}
