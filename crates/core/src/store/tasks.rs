//! The record of long operations (backups, restores, upgrades, imports, exports, `up` with a pull
//! or a creation) as tasks: what runs, how far it got, how it ended. A task is written before its
//! operation starts and finished where its result is known, so every Dockhand process (the CLI,
//! the tray app, the window) sees the same list. The row names the process that runs it (PID and
//! start time): one whose process is gone is marked interrupted by whoever looks next.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{now_ms, Store};
use crate::error::Result;

/// Finished tasks kept (running ones are never removed): enough for a few weeks of a developer's
/// backups and imports, small enough that listing them costs nothing.
pub const TASK_HISTORY: i64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Running,
    Succeeded,
    Failed,
    /// Its process ended (killed, crashed, cancelled) before the task did.
    Interrupted,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Running => "running",
            TaskState::Succeeded => "succeeded",
            TaskState::Failed => "failed",
            TaskState::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> TaskState {
        match s {
            "running" => TaskState::Running,
            "succeeded" => TaskState::Succeeded,
            "interrupted" => TaskState::Interrupted,
            _ => TaskState::Failed,
        }
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a task got: `done` of `total` `unit`s (bytes, databases…), and a short line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TaskProgress {
    pub done: Option<u64>,
    pub total: Option<u64>,
    pub unit: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRow {
    pub id: i64,
    /// backup, backup-all, restore, upgrade, rollback, import, export, up, restore-point,
    /// reset, branch, clones.
    pub kind: String,
    /// The service, `service/database`, project or backup it works on.
    pub target: String,
    pub state: TaskState,
    pub progress: TaskProgress,
    /// What it did, once succeeded.
    pub result: Option<String>,
    /// Why it failed or was interrupted.
    pub error: Option<String>,
    pub pid: u32,
    pub pid_start: Option<String>,
    pub started_at_ms: i64,
    pub updated_at_ms: i64,
    pub finished_at_ms: Option<i64>,
}

const COLUMNS: &str = "id, kind, target, state, progress_done, progress_total, progress_unit, message, result, error, pid, pid_start, started_at_ms, updated_at_ms, finished_at_ms";

fn task_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TaskRow> {
    Ok(TaskRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        target: r.get(2)?,
        state: TaskState::parse(&r.get::<_, String>(3)?),
        progress: TaskProgress {
            done: r.get::<_, Option<i64>>(4)?.map(|n| n as u64),
            total: r.get::<_, Option<i64>>(5)?.map(|n| n as u64),
            unit: r.get(6)?,
            message: r.get(7)?,
        },
        result: r.get(8)?,
        error: r.get(9)?,
        pid: r.get(10)?,
        pid_start: r.get(11)?,
        started_at_ms: r.get(12)?,
        updated_at_ms: r.get(13)?,
        finished_at_ms: r.get(14)?,
    })
}

impl Store {
    /// Records a task as running in process `pid` (started at `pid_start`); returns its id.
    pub fn insert_task(
        &self,
        kind: &str,
        target: &str,
        pid: u32,
        pid_start: Option<&str>,
    ) -> Result<i64> {
        self.with(|c| {
            let now = now_ms();
            c.execute(
                "INSERT INTO tasks (kind, target, state, pid, pid_start, started_at_ms, updated_at_ms)
                 VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?5)",
                params![kind, target, pid, pid_start, now],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// A running task's progress (a finished one keeps its last).
    pub fn set_task_progress(&self, id: i64, p: &TaskProgress) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE tasks SET progress_done = ?2, progress_total = ?3, progress_unit = ?4,
                        message = ?5, updated_at_ms = ?6
                 WHERE id = ?1 AND state = 'running'",
                params![
                    id,
                    p.done.map(|n| n as i64),
                    p.total.map(|n| n as i64),
                    p.unit,
                    p.message,
                    now_ms()
                ],
            )?;
            Ok(())
        })
    }

    /// Ends a running task (one already ended stays as it ended: the first word counts), then
    /// trims the history to the newest [`TASK_HISTORY`] finished tasks. Returns whether this
    /// call ended it.
    pub fn finish_task(
        &self,
        id: i64,
        state: TaskState,
        result: Option<&str>,
        error: Option<&str>,
    ) -> Result<bool> {
        self.with(|c| {
            let now = now_ms();
            let n = c.execute(
                "UPDATE tasks SET state = ?2, result = ?3, error = ?4, updated_at_ms = ?5,
                        finished_at_ms = ?5
                 WHERE id = ?1 AND state = 'running'",
                params![id, state.as_str(), result, error, now],
            )?;
            c.execute(
                "DELETE FROM tasks WHERE state != 'running' AND id NOT IN
                   (SELECT id FROM tasks WHERE state != 'running'
                    ORDER BY finished_at_ms DESC, id DESC LIMIT ?1)",
                [TASK_HISTORY],
            )?;
            Ok(n == 1)
        })
    }

    pub fn task(&self, id: i64) -> Result<Option<TaskRow>> {
        self.with(|c| {
            Ok(c.query_row(
                &format!("SELECT {COLUMNS} FROM tasks WHERE id = ?1"),
                [id],
                task_row,
            )
            .optional()?)
        })
    }

    /// Running tasks (oldest first), then up to `history` finished ones (newest first).
    pub fn tasks(&self, history: usize) -> Result<Vec<TaskRow>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM tasks WHERE state = 'running' ORDER BY id"
            ))?;
            let mut rows = st
                .query_map([], task_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM tasks WHERE state != 'running'
                 ORDER BY finished_at_ms DESC, id DESC LIMIT ?1"
            ))?;
            rows.extend(
                st.query_map([history as i64], task_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
            );
            Ok(rows)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(done: u64) -> TaskProgress {
        TaskProgress {
            done: Some(done),
            total: None,
            unit: Some("bytes".into()),
            message: Some("pg/shop".into()),
        }
    }

    #[test]
    fn a_task_runs_reports_progress_and_ends_once() {
        let s = Store::open_in_memory().unwrap();
        let id = s.insert_task("backup", "pg", 42, Some("777")).unwrap();
        let t = s.task(id).unwrap().unwrap();
        assert_eq!(
            (t.state, t.pid, t.pid_start.as_deref(), t.finished_at_ms),
            (TaskState::Running, 42, Some("777"), None)
        );
        s.set_task_progress(id, &progress(1024)).unwrap();
        assert_eq!(s.task(id).unwrap().unwrap().progress, progress(1024));
        assert!(s
            .finish_task(id, TaskState::Succeeded, Some("1 backup"), None)
            .unwrap());
        // The first ending counts: a late second word (a guard's drop) changes nothing, and
        // progress after the end is not recorded.
        assert!(!s
            .finish_task(id, TaskState::Failed, None, Some("late"))
            .unwrap());
        s.set_task_progress(id, &progress(1)).unwrap();
        let t = s.task(id).unwrap().unwrap();
        assert_eq!(t.state, TaskState::Succeeded);
        assert_eq!(t.result.as_deref(), Some("1 backup"));
        assert_eq!(t.error, None);
        assert_eq!(t.progress.done, Some(1024));
        assert!(t.finished_at_ms.is_some());
    }

    #[test]
    fn running_tasks_come_first_and_history_is_bounded() {
        let s = Store::open_in_memory().unwrap();
        let running = s.insert_task("restore", "backup 1", 1, None).unwrap();
        for i in 0..(TASK_HISTORY + 5) {
            let id = s.insert_task("backup", &format!("pg{i}"), 1, None).unwrap();
            s.finish_task(id, TaskState::Failed, None, Some("boom"))
                .unwrap();
        }
        let all = s.tasks(usize::MAX).unwrap();
        assert_eq!(all.len() as i64, TASK_HISTORY + 1, "history kept bounded");
        assert_eq!(all[0].id, running, "the running task first");
        assert_eq!(
            all[1].target,
            format!("pg{}", TASK_HISTORY + 4),
            "then the newest"
        );
        assert!(
            !all.iter().any(|t| t.target == "pg0"),
            "the oldest finished ones went"
        );
        assert_eq!(s.tasks(3).unwrap().len(), 4, "running + 3 recent");
    }

    /// The cost that throttling bounds: one progress write on a file database (WAL, as Dockhand
    /// opens it). At most two a second, a write under 5 ms costs under 1% of an operation's time;
    /// measured here at about 45 µs (`cargo test -p dockhand-core --lib progress_write -- --nocapture`).
    #[test]
    fn a_progress_write_costs_far_less_than_the_throttle_interval() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(&t.path().join("state.db")).unwrap();
        let id = s.insert_task("backup", "pg", 1, None).unwrap();
        let n = 200;
        let start = std::time::Instant::now();
        for i in 0..n {
            s.set_task_progress(id, &progress(i)).unwrap();
        }
        let each = start.elapsed() / n as u32;
        println!("one progress write: {each:?}");
        assert!(each < std::time::Duration::from_millis(5), "{each:?}");
    }
}
