//! One progress type for every long operation: `up`'s pull and start, backups, restores,
//! imports, exports, upgrades, rollbacks and image pulls all report a [`Progress`], worded
//! here once. The window gets it as one event, the CLI prints the same struct, and the task
//! list records it ([`Progress::task`]). An operation's steps build it with [`Progress::step`]
//! or [`Progress::bytes`]; the operation's entry point stamps which operation it belongs to
//! ([`stamped`], or its task's feed), so a backup taken inside an upgrade reports as part of
//! the upgrade.

use serde::Serialize;

use crate::store::TaskProgress;

/// What a task does (and which operation a [`Progress`] report belongs to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// `up` that pulls an image or creates a container.
    Up,
    Backup,
    /// Every running service (`backup --all`, the tray's "Back up all now").
    BackupAll,
    Restore,
    Upgrade,
    Rollback,
    Import,
    Export,
    /// `images pull`: reported as progress, recorded as no task.
    Pull,
    /// `point take`: copies of a project's databases on their servers.
    RestorePoint,
    /// `point reset`: a project's databases put back to a restore point.
    Reset,
    /// A git branch's databases made (`branch create`, or on first use).
    Branch,
    /// A test run's clones (`run --clones`), made.
    Clones,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Up => "up",
            TaskKind::Backup => "backup",
            TaskKind::BackupAll => "backup-all",
            TaskKind::Restore => "restore",
            TaskKind::Upgrade => "upgrade",
            TaskKind::Rollback => "rollback",
            TaskKind::Import => "import",
            TaskKind::Export => "export",
            TaskKind::Pull => "pull",
            TaskKind::RestorePoint => "restore-point",
            TaskKind::Reset => "reset",
            TaskKind::Branch => "branch",
            TaskKind::Clones => "clones",
        }
    }
}

impl serde::Serialize for TaskKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How far a long operation got, for every shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// The operation reporting (`up`, `backup`, `upgrade`, …): the window shows it where that
    /// operation is shown.
    pub op: TaskKind,
    /// The service it works on.
    pub service: String,
    /// The step in words, without the service ("pulling image postgres:18", "backing up shop").
    pub text: String,
    /// A step begins (worth a line of its own in a log), rather than a counter moving on.
    pub step: bool,
    /// Bytes done so far, and of how many when known.
    pub done: Option<u64>,
    pub total: Option<u64>,
    /// `text` with the amounts, for a one-line display ("pulling the image: 12.5 MB of 80.0 MB
    /// (15%)").
    pub line: String,
    /// A pull or a container creation: it makes `up` a long operation (worth a task, and a
    /// line in a log), unlike the start of an existing container.
    pub long: bool,
}

/// What the shells hand a long operation to hear how far it got.
pub type ProgressFn<'a> = dyn Fn(Progress) + Send + Sync + 'a;

impl Progress {
    /// A step begins.
    pub(crate) fn step(service: &str, text: impl Into<String>) -> Progress {
        let text = text.into();
        Progress {
            op: TaskKind::Up,
            service: service.to_string(),
            line: text.clone(),
            text,
            step: true,
            done: None,
            total: None,
            long: false,
        }
    }

    /// A pull or a container creation begins (see [`Progress::long`]).
    pub(crate) fn long_step(service: &str, text: impl Into<String>) -> Progress {
        Progress {
            long: true,
            ..Progress::step(service, text)
        }
    }

    /// Bytes of a step so far (of `total` when known; a zero total is unknown).
    pub(crate) fn bytes(
        service: &str,
        text: impl Into<String>,
        done: u64,
        total: Option<u64>,
    ) -> Progress {
        let text = text.into();
        let total = total.filter(|t| *t > 0);
        let amount = match total {
            Some(t) => format!(
                "{} of {} ({}%)",
                megabytes(done),
                megabytes(t),
                done.min(t) * 100 / t
            ),
            None => format!("{} written", megabytes(done)),
        };
        Progress {
            op: TaskKind::Up,
            service: service.to_string(),
            line: format!("{text}: {amount}"),
            text,
            step: false,
            done: Some(done),
            total,
            long: false,
        }
    }

    /// The same report, as part of `op`.
    pub(crate) fn of(self, op: TaskKind) -> Progress {
        Progress { op, ..self }
    }

    /// A report of another service's step (the new server an upgrade starts beside the old)
    /// shown as `service`'s, naming the other in its words.
    pub(crate) fn on_behalf_of(self, service: &str) -> Progress {
        if self.service == service {
            return self;
        }
        Progress {
            text: format!("{}: {}", self.service, self.text),
            line: format!("{}: {}", self.service, self.line),
            service: service.to_string(),
            ..self
        }
    }

    /// What the task list records of it.
    pub(crate) fn task(&self) -> TaskProgress {
        TaskProgress {
            done: self.done,
            total: self.total,
            unit: self.done.map(|_| "bytes".to_string()),
            message: Some(self.text.clone()),
        }
    }
}

/// `inner`, hearing every report as part of `op`: for an operation recorded as no task (an
/// image pull, a project's hold, the backup before a drop).
pub(crate) fn stamped<'a>(
    op: TaskKind,
    inner: &'a ProgressFn<'_>,
) -> impl Fn(Progress) + Send + Sync + 'a {
    move |p: Progress| inner(p.of(op))
}

fn megabytes(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_its_own_line_and_bytes_say_how_far() {
        let s = Progress::step("pg", "starting");
        assert!(s.step && s.done.is_none());
        assert_eq!(s.line, "starting");

        let b = Progress::bytes("pg", "pulling the image", 12_500_000, Some(50_000_000));
        assert!(!b.step);
        assert_eq!(b.line, "pulling the image: 12.5 MB of 50.0 MB (25%)");
        let b = Progress::bytes("pg", "backing up shop", 2_000_000, Some(0));
        assert_eq!(b.total, None, "a zero total is an unknown one");
        assert_eq!(b.line, "backing up shop: 2.0 MB written");
    }

    #[test]
    fn the_entry_point_stamps_its_operation_and_the_task_records_the_step() {
        let seen = std::sync::Mutex::new(Vec::new());
        let inner = |p: Progress| seen.lock().unwrap().push(p);
        let feed = stamped(TaskKind::Upgrade, &inner);
        feed(Progress::bytes("pg", "backing up shop", 10, None));
        let p = seen.lock().unwrap().pop().unwrap();
        assert_eq!(p.op, TaskKind::Upgrade);
        let t = p.task();
        assert_eq!(
            (t.done, t.unit.as_deref(), t.message.as_deref()),
            (Some(10), Some("bytes"), Some("backing up shop"))
        );
        assert_eq!(
            serde_json::to_value(&p).unwrap()["op"],
            serde_json::json!("upgrade")
        );
    }
}
