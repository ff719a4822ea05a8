//! Dockhand's copies of a project's database on its own server — restore points, branch
//! databases and test clones — made by the server itself (PostgreSQL: `CREATE DATABASE … TEMPLATE … STRATEGY
//! FILE_COPY`), and what makes them crash-safe:
//!
//! - each copy is recorded (`creating`, with its process) before it is made and marked `ready`
//!   only once the server has all of it; the server makes a copy whole or not at all;
//! - a run killed in between leaves a row whose process is gone: the next copy command on that
//!   server ends whatever still works on that copy (a `docker exec` psql outlives its client),
//!   drops it and forgets the row — the old state.
//!
//! PostgreSQL copies a database only while nobody is connected to it: the project's own
//! sessions are ended only when the user says so (`end_sessions`); other projects' sessions are
//! never touched (they are on other databases).

use super::{container_of, Manager};
use crate::drivers::DatabaseCopies;
use crate::error::human_bytes;
use crate::error::{CoreError, Result};
use crate::store::{AttachmentRow, CopyPurpose, CopyRow, CopyState, NewCopy, ServiceRow};

/// A copy still `creating` whose process is gone, or a test clone whose process is gone (it
/// lives only as long as the run that made it).
pub(super) fn left_by_a_killed_run(r: &CopyRow) -> bool {
    (r.state == CopyState::Creating || r.purpose == CopyPurpose::Clone)
        && !r
            .pid
            .is_some_and(|pid| crate::leases::process_alive(pid, r.pid_start.as_deref()))
}

/// What a copy must leave free on its server's data volume: a tenth of its size, at least
/// 256 MiB (the server's own WAL and the other projects' writes). Debug builds add
/// `DOCKHAND_TEST_COPY_RESERVE` bytes, so a test can make a real volume look full.
fn room_kept_free(size: u64) -> u64 {
    let base = (size / 10).max(256 * 1024 * 1024);
    #[cfg(debug_assertions)]
    let base = base.saturating_add(
        std::env::var("DOCKHAND_TEST_COPY_RESERVE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    );
    base
}

/// The available bytes `df -Pk PATH` reports for the one filesystem it lists.
fn available_bytes(df: &str) -> Option<u64> {
    let kib: u64 = df.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()?;
    Some(kib * 1024)
}

/// How a copy is made, and for whom.
pub(super) enum Made<'a> {
    /// The admin's, closed to every connection (a restore point).
    Closed,
    /// The project's: `owner` owns it and may connect, nobody else (a branch's database).
    OwnedBy(&'a str),
}

impl Manager {
    /// The ready copy for `purpose` labelled `label` of one project database, if there is one.
    pub(super) fn ready_copy(
        &self,
        purpose: CopyPurpose,
        att: &AttachmentRow,
        label: &str,
    ) -> Result<Option<CopyRow>> {
        Ok(self
            .store
            .copies(purpose, Some(&att.project))?
            .into_iter()
            .find(|r| {
                r.label == label
                    && r.service == att.service
                    && r.db_name == att.db_name
                    && r.state == CopyState::Ready
            }))
    }

    /// The copy holding restore point `point` of one project database, or an error naming it.
    pub(super) fn point_copy(&self, att: &AttachmentRow, point: &str) -> Result<String> {
        self.ready_copy(CopyPurpose::Point, att, point)?
            .map(|r| r.copy)
            .ok_or_else(|| {
                CoreError::InvalidInput(format!(
                    "project '{}' has no restore point '{point}' of {} on {} \
                     (`dockhand point list` shows them)",
                    att.project, att.db_name, att.service
                ))
            })
    }

    /// Runs `f` with the admin password while the server is held running, after the leftovers
    /// of killed copies and restores on it are tidied up.
    pub(super) async fn with_server<T, F, Fut>(&self, row: &ServiceRow, f: F) -> Result<T>
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let holder = format!("copy:{}", std::process::id());
        let noop = |_| {};
        let (lease, _) = self.acquire(&row.name, &holder, false, None, &noop).await?;
        let pw = self.admin_password(&row.name)?.expose().to_string();
        // Leftovers of a killed run on this server go first: a half-made copy (it may hold the
        // source up), a reset cut short (its database is let back in, as it was or reset).
        let recovered = async {
            self.recover_copies(row, &pw).await?;
            self.recover_restores(row, &pw, None).await.map(|_| ())
        };
        let result = match recovered.await {
            Ok(()) => f(pw).await,
            Err(e) => Err(e),
        };
        if let Err(e) = self.release(&lease).await {
            tracing::warn!("could not release the copy's lease: {e}");
        }
        result
    }

    /// Makes `new.copy` from `source` on `row` (recorded first), ending the project's sessions
    /// on `source` first when `end_sessions`. Returns the row's id once the copy is ready.
    pub(super) async fn make_copy(
        &self,
        row: &ServiceRow,
        pw: &str,
        new: &NewCopy<'_>,
        source: &str,
        made: Made<'_>,
        end_sessions: bool,
    ) -> Result<i64> {
        let copies = self.driver(row.kind).copies().ok_or_else(|| {
            CoreError::InvalidInput(format!(
                "{} keeps no copies of its databases yet",
                row.kind.spec().display_name
            ))
        })?;
        let dialect = self.sql_of(row)?;
        let via = dialect.maintenance_database(source);
        // Before anything is recorded, in one round trip: the source's size (for the room it
        // needs, and the copy's size: a file copy is as large as its source) and its sessions.
        let out = self
            .run_sql_in(row, pw, via, &copies.size_and_sessions(source))
            .await?;
        let mut fields = out.trim().split('|').map(|f| f.trim().parse::<i64>().ok());
        let (size, sessions) = (
            fields.next().flatten().unwrap_or(0),
            fields.next().flatten().unwrap_or(0),
        );
        if sessions > 0 && !end_sessions {
            return Err(CoreError::SessionsOpen {
                database: source.to_string(),
                service: row.name.clone(),
                sessions,
                agree: "pass --end-sessions to end them".to_string(),
            });
        }
        self.check_room(row, source, size.max(0) as u64).await?;
        let copy = new.copy;
        // Recorded before the copy exists: whatever this run leaves, the next one finds.
        let id = self.store.record_copy(new)?;
        let result = async {
            super::test_pause::test_pause("point-recorded").await;
            // The copy alone (PostgreSQL's CREATE DATABASE runs outside a transaction), then
            // what opens it to its owner in one round trip.
            let mut statements = match made {
                Made::Closed => copies.copy_closed(&row.version, source, copy),
                Made::OwnedBy(owner) => {
                    let mut s = copies.copy_to_scratch(&row.version, source, copy);
                    s.extend(copies.hand_over(copy, owner));
                    s
                }
            };
            if statements.len() > 2 {
                let rest = statements.split_off(1).join("; ");
                statements.push(rest);
            }
            let mut tries = 0;
            'copy: loop {
                if end_sessions {
                    self.run_sql_in(row, pw, via, &copies.end_sessions_on(source))
                        .await?;
                }
                for (i, statement) in statements.iter().enumerate() {
                    match self.run_sql_in(row, pw, via, statement).await {
                        Ok(_) => {}
                        // An app reconnecting at once: ended again, a few times.
                        Err(CoreError::Tool { stderr, .. })
                            if i == 0
                                && end_sessions
                                && tries < 20
                                && copies.source_in_use(&stderr) =>
                        {
                            tries += 1;
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                            continue 'copy;
                        }
                        Err(CoreError::Tool { stderr, .. })
                            if i == 0 && copies.source_in_use(&stderr) =>
                        {
                            return Err(CoreError::InvalidInput(format!(
                                "a session connected to '{source}' on '{}' while it was copied; \
                                 close it, or pass --end-sessions",
                                row.name
                            )))
                        }
                        Err(e) => return Err(e),
                    }
                }
                break;
            }
            super::test_pause::test_pause("point-copied").await;
            self.store.copy_ready(id, Some(size))?;
            Ok(id)
        }
        .await;
        if result.is_err() && self.remove_copy(row, pw, copies, copy).await {
            let _ = self.store.forget_copy(id);
        }
        result
    }

    /// Refuses a copy of `source` (`size` bytes) the server's data volume has no room for: the
    /// copy, and room left for the other projects on the server to go on writing.
    async fn check_room(&self, row: &ServiceRow, source: &str, size: u64) -> Result<()> {
        let path = self.driver(row.kind).data_path(&row.version);
        let df = crate::engine::exec_collect(
            self.engine.as_ref(),
            &container_of(row),
            &["df", "-Pk", path],
            super::exec::TOOL_LIMIT,
        )
        .await;
        let free = match &df {
            Ok(out) if out.exit_code == 0 => available_bytes(&String::from_utf8_lossy(&out.stdout)),
            _ => None,
        };
        let Some(free) = free else {
            // The server refuses a copy it has no room for by itself (and removes what it
            // wrote): not knowing the free space is said, not fatal.
            tracing::warn!(
                "could not read the free space of {}'s data volume ({df:?}); copying {source} \
                 without checking it",
                row.name
            );
            return Ok(());
        };
        let reserve = room_kept_free(size);
        if free < size.saturating_add(reserve) {
            return Err(CoreError::InvalidInput(format!(
                "copying '{source}' ({}) on '{}' needs {} free on its data volume: the copy, and \
                 {} kept free so the other projects on the server can go on writing; {} are \
                 free. Nothing was copied. Make room (`dockhand point list` and `dockhand branch \
                 list` show copies with their sizes; `docker system df`, what Docker holds) and \
                 try again",
                human_bytes(size),
                row.name,
                human_bytes(size + reserve),
                human_bytes(reserve),
                human_bytes(free)
            )));
        }
        Ok(())
    }

    /// Ends whatever works on `copy`, drops it if it exists. Logged, never fatal: the row stays
    /// for the next run when this fails.
    pub(super) async fn remove_copy(
        &self,
        row: &ServiceRow,
        pw: &str,
        copies: &dyn DatabaseCopies,
        copy: &str,
    ) -> bool {
        let Ok(dialect) = self.sql_of(row) else {
            return false;
        };
        let via = dialect.maintenance_database(copy);
        // Ended, and gone: a killed run's `CREATE DATABASE` still rolling back would otherwise
        // race the drop, and the next copy under the same name (a branch's is deterministic).
        for _ in 0..50 {
            let found: i64 = match self
                .run_sql_in(row, pw, via, &copies.end_work_on(copy))
                .await
            {
                Ok(n) => n.trim().parse().unwrap_or(0),
                Err(_) => 0,
            };
            if found == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        match self
            .run_sql_in(row, pw, via, &dialect.drop_database(copy))
            .await
        {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!("could not drop the copy {copy} on {}: {e}", row.name);
                false
            }
        }
    }

    /// Copies a killed run left on this server: recorded, not ready, their process gone.
    pub(super) async fn recover_copies(&self, row: &ServiceRow, pw: &str) -> Result<()> {
        let Some(copies) = self.driver(row.kind).copies() else {
            return Ok(());
        };
        for r in self.store.copies_on(&row.name)? {
            if left_by_a_killed_run(&r) && self.remove_copy(row, pw, copies, &r.copy).await {
                self.store.forget_copy(r.id)?;
                tracing::info!("removed the copy {} a killed run left", r.copy);
            }
        }
        Ok(())
    }

    /// Drops a recorded copy and forgets it (the server held by the caller).
    pub(super) async fn drop_copy_row(&self, id: i64) -> Result<()> {
        let Some(r) = self.store.copy_row(id)? else {
            return Ok(());
        };
        let row = self.resolve(&r.service)?;
        let Some(copies) = self.driver(row.kind).copies() else {
            return Ok(());
        };
        let pw = self.admin_password(&row.name)?;
        if self.remove_copy(&row, pw.expose(), copies, &r.copy).await {
            self.store.forget_copy(id)?;
            Ok(())
        } else {
            Err(CoreError::InvalidInput(format!(
                "could not drop {} on '{}' (the log says why); nothing is forgotten, try again",
                r.copy, r.service
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_free_space_is_read_from_df_and_a_copy_leaves_room() {
        // GNU df and BusyBox df (Alpine images), POSIX format.
        let gnu = "Filesystem     1024-blocks     Used Available Capacity Mounted on\n\
                   /dev/vda         263174212 35289416 216412436      15% /var/lib/postgresql/data\n";
        assert_eq!(available_bytes(gnu), Some(216_412_436 * 1024));
        let busybox = "Filesystem           1024-blocks    Used Available Capacity Mounted on\n\
                       overlay                 1000       10       990   1% /var/lib/postgresql/data\n";
        assert_eq!(available_bytes(busybox), Some(990 * 1024));
        assert_eq!(
            available_bytes("df: /nope: No such file or directory\n"),
            None
        );
        assert_eq!(available_bytes(""), None);
        // Small copies keep 256 MiB free; large ones a tenth of their size.
        if std::env::var_os("DOCKHAND_TEST_COPY_RESERVE").is_none() {
            assert_eq!(room_kept_free(1024), 256 * 1024 * 1024);
            assert_eq!(room_kept_free(10 << 30), 1 << 30);
        }
    }
}
