//! Long operations as tasks every Dockhand process sees (`dockhand tasks`, `status --watch`, the
//! window). An operation takes a [`Task`] guard before it starts and hands its result to
//! [`Task::finish`]; its progress callbacks go through the guard's feeds, which record how far
//! it got at most twice a second. A guard dropped without a result (a panic, or the operation's
//! future dropped — Ctrl-C, a closed window) ends the task itself, so nothing stays "running"
//! in a live process. A process killed outright cannot say anything: its tasks are marked
//! interrupted by the next process that lists tasks or starts one (the PID and start time tell
//! a dead owner from a live one). The task is only the record; each operation's own recovery
//! (partial backup files, pending restores, half-done upgrades) does the cleaning up.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Manager, Progress, ProgressFn, TaskKind, UpOutcome};
use crate::backup::{BackupAllReport, BackupScope, Restored};
use crate::error::Result;
use crate::leases::{process_alive, this_process};
use crate::store::{BackupRow, Store, TaskProgress, TaskRow, TaskState};

/// At most this often is a task's progress written (≤ 2 writes a second, whatever the operation
/// reports): a row update costs well under a millisecond, so the record costs nothing measurable.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// One operation's record, from before it starts until its result is known.
pub struct Task<'m> {
    manager: &'m Manager,
    kind: TaskKind,
    target: String,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    /// `None` until the row is written (a lazy task: `up` only records a pull or a creation).
    id: Option<i64>,
    last_write: Option<Instant>,
    /// The latest report left out by the throttle, written when the interval is over: an
    /// operation that goes quiet after it (a long step, a pause) still shows where it is.
    pending: Option<TaskProgress>,
    flush_scheduled: bool,
    ended: bool,
}

/// How an operation's result reads in the task list; `Err` for a result that is a failure even
/// though the call returned (a `backup --all` in which some service failed).
pub trait TaskSummary {
    fn summary(&self) -> std::result::Result<String, String>;
}

impl Manager {
    /// Records a task as running in this process, before its operation starts.
    pub(crate) fn begin_task(&self, kind: TaskKind, target: &str) -> Result<Task<'_>> {
        let task = self.lazy_task(kind, target);
        task.begin()?;
        Ok(task)
    }

    /// A task recorded only once its operation turns out to be a long one ([`Task::begin`], or
    /// the `up` feed on a pull or a container creation).
    pub(crate) fn lazy_task(&self, kind: TaskKind, target: &str) -> Task<'_> {
        Task {
            manager: self,
            kind,
            target: target.to_string(),
            inner: Arc::new(Mutex::new(Inner::default())),
        }
    }

    /// A service's name for a task's target, as the user typed it when it names no service (the
    /// operation itself says what is wrong with it).
    pub(crate) fn task_target(&self, query: &str) -> String {
        self.resolve(query)
            .map_or_else(|_| query.to_string(), |r| r.name)
    }

    /// A backup's target: the service, with the database or project when the scope names one.
    pub(crate) fn backup_task_target(&self, query: &str, scope: &BackupScope) -> String {
        let service = self.task_target(query);
        match scope {
            BackupScope::Database(d) => format!("{service}/{d}"),
            BackupScope::Project(p) => format!("{service} (project {p})"),
            BackupScope::All => service,
        }
    }

    /// Running tasks, then the `history` most recent finished ones. Tasks whose process is gone
    /// are marked interrupted first.
    pub fn tasks(&self, history: usize) -> Result<Vec<TaskRow>> {
        self.reap_tasks()?;
        self.store.tasks(history)
    }

    /// The tasks still running (in any Dockhand process).
    pub fn running_tasks(&self) -> Result<Vec<TaskRow>> {
        Ok(self
            .tasks(0)?
            .into_iter()
            .filter(|t| t.state == TaskState::Running)
            .collect())
    }

    /// Marks running tasks whose process died (kill -9, a crash, a power cut) as interrupted.
    fn reap_tasks(&self) -> Result<()> {
        for t in self.store.tasks(0)? {
            if t.state != TaskState::Running || process_alive(t.pid, t.pid_start.as_deref()) {
                continue;
            }
            let why = format!(
                "its process (PID {}) ended before it finished — killed or crashed; \
                 Dockhand's own recovery removes what it left half-done",
                t.pid
            );
            if self
                .store
                .finish_task(t.id, TaskState::Interrupted, None, Some(&why))?
            {
                tracing::info!(task = t.id, kind = t.kind, target = t.target, "{why}");
            }
        }
        Ok(())
    }
}

impl Task<'_> {
    /// Writes the task's row (once).
    pub(crate) fn begin(&self) -> Result<()> {
        let mut inner = self.lock();
        if inner.id.is_some() {
            return Ok(());
        }
        // A dead process's tasks are settled before a new one joins the list.
        self.manager.reap_tasks()?;
        let (pid, start) = this_process();
        let id = self.manager.store.insert_task(
            self.kind.as_str(),
            &self.target,
            pid,
            start.as_deref(),
        )?;
        inner.id = Some(id);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// The task's id, once recorded.
    #[cfg(test)]
    pub(crate) fn id(&self) -> Option<i64> {
        self.lock().id
    }

    /// Records how far the operation got — at most every [`PROGRESS_EVERY`] (the first report
    /// at once). A report within the interval is kept and written when the interval ends,
    /// unless a newer one replaces it first.
    pub(crate) fn progress(&self, p: TaskProgress) {
        let mut inner = self.lock();
        let Some(id) = inner.id.filter(|_| !inner.ended) else {
            return;
        };
        let since = inner.last_write.map(|t| t.elapsed());
        if let Some(since) = since.filter(|s| *s < PROGRESS_EVERY) {
            inner.pending = Some(p);
            // Without a runtime (a synchronous caller) the next report or the end writes it.
            if !inner.flush_scheduled {
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    inner.flush_scheduled = true;
                    let (shared, store) = (self.inner.clone(), self.manager.store.clone());
                    rt.spawn(async move {
                        tokio::time::sleep(PROGRESS_EVERY - since).await;
                        flush(&shared, &store);
                    });
                }
            }
            return;
        }
        inner.pending = None;
        inner.last_write = Some(Instant::now());
        write_progress(&self.manager.store, id, &p);
    }

    /// Ends the task with the operation's result, and hands the result back.
    pub(crate) fn finish<T: TaskSummary>(&self, r: Result<T>) -> Result<T> {
        let (state, result, error) = match &r {
            Ok(v) => match v.summary() {
                Ok(s) => (TaskState::Succeeded, Some(s), None),
                Err(e) => (TaskState::Failed, None, Some(e)),
            },
            Err(e) => (TaskState::Failed, None, Some(e.to_string())),
        };
        self.end(state, result.as_deref(), error.as_deref());
        r
    }

    fn end(&self, state: TaskState, result: Option<&str>, error: Option<&str>) {
        let mut inner = self.lock();
        if inner.ended {
            return;
        }
        inner.ended = true;
        let Some(id) = inner.id else { return };
        if let Err(e) = self.manager.store.finish_task(id, state, result, error) {
            tracing::warn!("could not record the end of task {id}: {e}");
        }
    }

    /// The operation's reports, recorded (as they come, at most every [`PROGRESS_EVERY`]) and
    /// handed on to the shell as part of this task's operation. A lazy task (`up`) is recorded
    /// when a pull or a container creation begins: a start of an existing container is no long
    /// operation.
    pub(crate) fn feed<'a>(
        &'a self,
        inner: &'a ProgressFn<'_>,
    ) -> impl Fn(Progress) + Send + Sync + 'a {
        move |p: Progress| {
            let p = p.of(self.kind);
            if p.long {
                if let Err(e) = self.begin() {
                    tracing::warn!("could not record a task for {}: {e}", self.target);
                }
            }
            self.progress(p.task());
            inner(p)
        }
    }
}

impl Drop for Task<'_> {
    /// Without a result: a panic (a failure), or the operation's future dropped before it ended
    /// (Ctrl-C, the window's call cancelled), which interrupted it.
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.end(
                TaskState::Failed,
                None,
                Some("Dockhand stopped on an internal error (a panic) while it ran"),
            );
        } else {
            self.end(
                TaskState::Interrupted,
                None,
                Some("cancelled before it finished (Ctrl-C, or the window's request was dropped)"),
            );
        }
    }
}

/// A restore's target: the backup, and the database it goes into when another is named.
pub(super) fn restore_task_target(id: i64, into: Option<&str>) -> String {
    match into {
        Some(db) => format!("backup {id} into {db}"),
        None => format!("backup {id}"),
    }
}

fn lock(inner: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

/// The record must never stop the operation it records: a failed write is logged.
fn write_progress(store: &Store, id: i64, p: &TaskProgress) {
    if let Err(e) = store.set_task_progress(id, p) {
        tracing::warn!("could not record the progress of task {id}: {e}");
    }
}

/// Writes the report the throttle held back, if the task is still running.
fn flush(inner: &Mutex<Inner>, store: &Store) {
    let mut inner = lock(inner);
    inner.flush_scheduled = false;
    if inner.ended {
        return;
    }
    if let (Some(id), Some(p)) = (inner.id, inner.pending.take()) {
        inner.last_write = Some(Instant::now());
        write_progress(store, id, &p);
    }
}

fn backups_summary(rows: &[BackupRow]) -> String {
    let total: u64 = rows.iter().map(|b| b.size_bytes).sum();
    match rows {
        [b] => format!(
            "backup {} of {}/{} ({} bytes): {}",
            b.id, b.service, b.database, b.size_bytes, b.path
        ),
        _ => format!(
            "{} backups ({}; {total} bytes)",
            rows.len(),
            rows.iter()
                .map(|b| format!("{} of {}/{}", b.id, b.service, b.database))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl TaskSummary for Vec<BackupRow> {
    fn summary(&self) -> std::result::Result<String, String> {
        Ok(backups_summary(self))
    }
}

impl TaskSummary for BackupAllReport {
    /// Every service accounted for; any failure fails the task (the backups that were made are
    /// named too).
    fn summary(&self) -> std::result::Result<String, String> {
        let mut parts = vec![if self.done.is_empty() {
            "no backups".to_string()
        } else {
            backups_summary(&self.done)
        }];
        if !self.nothing.is_empty() {
            parts.push(format!(
                "nothing to back up on {}",
                self.nothing
                    .iter()
                    .map(|(s, _)| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !self.not_running.is_empty() {
            parts.push(format!("not running: {}", self.not_running.join(", ")));
        }
        if self.failed.is_empty() {
            return Ok(parts.join("; "));
        }
        let failed = self
            .failed
            .iter()
            .map(|(s, e)| format!("{s}: {e}"))
            .collect::<Vec<_>>()
            .join("; ");
        Err(format!("failed on {failed} ({})", parts.join("; ")))
    }
}

impl TaskSummary for Restored {
    fn summary(&self) -> std::result::Result<String, String> {
        let mut s = format!(
            "backup {} restored into '{}' on '{}'",
            self.from.id, self.database, self.service
        );
        if let Some(b) = &self.safety_backup {
            s.push_str(&format!(" (its previous contents: backup {})", b.id));
        }
        if self.finished_by_earlier_run {
            s.push_str(" (completed by an earlier, interrupted run)");
        }
        Ok(s)
    }
}

impl TaskSummary for UpOutcome {
    fn summary(&self) -> std::result::Result<String, String> {
        Ok(format!(
            "'{}' ready on 127.0.0.1:{} in {} ms",
            self.name, self.host_port, self.ready_ms
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::engine::fake::FakeEngine;
    use crate::error::CoreError;
    use crate::manager::tests::manager;

    struct Done;
    impl TaskSummary for Done {
        fn summary(&self) -> std::result::Result<String, String> {
            Ok("done".into())
        }
    }

    fn only(m: &Manager) -> TaskRow {
        let all = m.tasks(10).unwrap();
        assert_eq!(all.len(), 1, "{all:?}");
        all.into_iter().next().unwrap()
    }

    #[test]
    fn a_task_is_running_before_its_operation_and_ends_with_its_result() {
        let (m, _t) = manager(Arc::new(FakeEngine::default()));
        let task = m.begin_task(TaskKind::Backup, "pg").unwrap();
        let row = only(&m);
        assert_eq!(
            (row.kind.as_str(), row.target.as_str(), row.state),
            ("backup", "pg", TaskState::Running)
        );
        assert_eq!(row.pid, std::process::id());
        task.finish(Ok(Done)).unwrap();
        drop(task);
        let row = only(&m);
        assert_eq!(
            row.state,
            TaskState::Succeeded,
            "the drop after finish changes nothing"
        );
        assert_eq!(row.result.as_deref(), Some("done"));
    }

    #[test]
    fn a_failure_is_recorded_with_its_error_text() {
        let (m, _t) = manager(Arc::new(FakeEngine::default()));
        let task = m.begin_task(TaskKind::Restore, "backup 9").unwrap();
        let r: Result<Done> =
            task.finish(Err(CoreError::InvalidInput("no backup with id 9".into())));
        assert!(r.is_err(), "the result is handed back as it was");
        let row = only(&m);
        assert_eq!(row.state, TaskState::Failed);
        assert!(
            row.error
                .as_deref()
                .unwrap()
                .ends_with("no backup with id 9"),
            "the error as the user reads it: {row:?}"
        );
    }

    #[test]
    fn a_guard_dropped_without_a_result_ends_its_task() {
        let (m, _t) = manager(Arc::new(FakeEngine::default()));
        drop(m.begin_task(TaskKind::Export, "pg/shop").unwrap());
        let row = only(&m);
        assert_eq!(row.state, TaskState::Interrupted);
        assert!(row.error.unwrap().contains("cancelled"));

        let (m, _t) = manager(Arc::new(FakeEngine::default()));
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _task = m.begin_task(TaskKind::Import, "shop").unwrap();
            panic!("a bug");
        }));
        assert!(panicked.is_err());
        let row = only(&m);
        assert_eq!(row.state, TaskState::Failed);
        assert!(row.error.unwrap().contains("panic"));
    }

    #[test]
    fn progress_is_written_at_once_then_at_most_twice_a_second() {
        let (m, _t) = manager(Arc::new(FakeEngine::default()));
        let task = m.begin_task(TaskKind::Backup, "pg").unwrap();
        let noop = |_| {};
        let feed = task.feed(&noop);
        let report = |n| feed(Progress::bytes("pg", "backing up shop", n, None));
        report(100);
        report(200);
        let row = only(&m);
        assert_eq!(
            row.progress.done,
            Some(100),
            "the second report came too soon"
        );
        assert_eq!(row.progress.unit.as_deref(), Some("bytes"));
        assert_eq!(row.progress.message.as_deref(), Some("backing up shop"));
        std::thread::sleep(PROGRESS_EVERY);
        report(300);
        assert_eq!(only(&m).progress.done, Some(300));
        task.finish(Ok(Done)).unwrap();
    }

    #[tokio::test]
    async fn a_report_held_back_by_the_throttle_is_written_when_the_interval_ends() {
        let (m, _t) = manager(Arc::new(FakeEngine::default()));
        let task = m.begin_task(TaskKind::Upgrade, "pg to 17").unwrap();
        let noop = |_| {};
        let feed = task.feed(&noop);
        feed(Progress::step("pg", "backing up"));
        feed(Progress::step("pg", "copying every database"));
        assert_eq!(
            only(&m).progress.message.as_deref(),
            Some("backing up"),
            "held back"
        );
        // The operation goes quiet (a long copy): the last step still shows.
        tokio::time::sleep(PROGRESS_EVERY + Duration::from_millis(200)).await;
        assert_eq!(
            only(&m).progress.message.as_deref(),
            Some("copying every database")
        );
        task.finish(Ok(Done)).unwrap();
    }

    #[test]
    fn a_task_whose_process_died_is_interrupted_when_tasks_are_listed() {
        let (m, _t) = manager(Arc::new(FakeEngine::default()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let id = m.store().insert_task("backup", "pg", dead, None).unwrap();
        let live = m.begin_task(TaskKind::Upgrade, "pg2").unwrap();
        let all = m.tasks(10).unwrap();
        let of = |id| all.iter().find(|t| t.id == id).unwrap();
        assert_eq!(of(id).state, TaskState::Interrupted);
        assert!(of(id)
            .error
            .as_deref()
            .unwrap()
            .contains(&format!("PID {dead}")));
        assert_eq!(
            of(live.id().unwrap()).state,
            TaskState::Running,
            "ours runs on"
        );
        assert_eq!(m.running_tasks().unwrap().len(), 1);
        live.finish(Ok(Done)).unwrap();
    }

    #[test]
    fn a_lazy_task_is_recorded_only_when_up_pulls_or_creates() {
        let (m, _t) = manager(Arc::new(FakeEngine::default()));
        let quiet = |_| {};
        let task = m.lazy_task(TaskKind::Up, "pg");
        let feed = task.feed(&quiet);
        feed(Progress::step("pg", "starting"));
        assert!(m.tasks(10).unwrap().is_empty(), "a start is no task");
        feed(Progress::long_step("pg", "pulling image postgres:17"));
        assert_eq!(only(&m).state, TaskState::Running);
        drop(feed);
        let _ = task.finish(Ok(Done));
        assert_eq!(only(&m).state, TaskState::Succeeded);

        let (m, _t) = manager(Arc::new(FakeEngine::default()));
        let task = m.lazy_task(TaskKind::Up, "pg");
        task.finish(Ok(Done)).unwrap();
        drop(task);
        assert!(m.tasks(10).unwrap().is_empty(), "never begun, never listed");
    }
}
