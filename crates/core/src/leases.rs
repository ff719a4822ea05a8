//! Leases: who is using a service. A lease held by a process records its PID and the process's
//! start time, so a lease whose process died (or whose PID was reused) is reaped and counts
//! never leak. Decisions that start or stop a service run under a per-service lock file, so a
//! consumer arriving while the last one leaves never sees its server stopped under it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{CoreError, Result};
use crate::platform::{FileLock, LockAttempt};
use crate::store::{now_ms, LeaseRow};

/// Start time of a process (clock ticks since boot on Linux). Compared with the lease's record
/// it tells a live holder from a new process that reuses its PID.
pub use crate::platform::process_start_time;

/// Whether the process that recorded `recorded_start` still runs under `pid`.
pub fn process_alive(pid: u32, recorded_start: Option<&str>) -> bool {
    if !crate::platform::process_exists(pid) {
        return false;
    }
    match (recorded_start, process_start_time(pid)) {
        (Some(rec), Some(now)) => rec == now,
        _ => true,
    }
}

/// Whether a lease still counts.
pub fn lease_live(l: &LeaseRow, now_ms: i64) -> bool {
    if l.expires_at_ms.is_some_and(|t| t <= now_ms) {
        return false;
    }
    match l.pid {
        Some(pid) => process_alive(pid, l.pid_start.as_deref()),
        None => true,
    }
}

/// This process, as a lease holder.
pub fn this_process() -> (u32, Option<String>) {
    let pid = std::process::id();
    (pid, process_start_time(pid))
}

/// An exclusive lock on one service's lifecycle decisions, across processes (a file lock).
pub struct ServiceLock {
    _lock: FileLock,
}

impl ServiceLock {
    pub async fn acquire(home: &Path, service: &str, limit: Duration) -> Result<ServiceLock> {
        let dir = home.join("locks");
        std::fs::create_dir_all(&dir)?;
        let path: PathBuf = dir.join(format!("{service}.lock"));
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        let start = now_ms();
        loop {
            file = match FileLock::try_acquire(file)? {
                LockAttempt::Held(lock) => return Ok(ServiceLock { _lock: lock }),
                LockAttempt::Busy(file) => file,
            };
            if now_ms() - start > limit.as_millis() as i64 {
                return Err(CoreError::InvalidInput(format!(
                    "another Dockhand process has been busy with '{service}' for over {} s; try again, or look for a stuck `dockhand` process",
                    limit.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Held by the one process that acts on a home's health (the tray app or `dockhand supervise`):
/// a second one only watches, so restarts and recorded events never happen twice.
pub struct SupervisorLock {
    _lock: FileLock,
}

impl SupervisorLock {
    pub fn try_acquire(home: &Path) -> Result<Option<SupervisorLock>> {
        let dir = home.join("locks");
        std::fs::create_dir_all(&dir)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".supervisor.lock"))?;
        Ok(FileLock::try_acquire(file)?
            .held()
            .map(|lock| SupervisorLock { _lock: lock }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_live_dead_and_reused_pids() {
        let (pid, start) = this_process();
        assert!(start.is_some(), "no /proc start time");
        assert!(process_alive(pid, start.as_deref()));
        assert!(
            !process_alive(pid, Some("1")),
            "a different start time means a reused PID"
        );
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let cpid = child.id();
        child.wait().unwrap();
        assert!(!process_alive(cpid, None));
    }

    #[test]
    fn expired_and_dead_leases_do_not_count() {
        let (pid, start) = this_process();
        let base = LeaseRow {
            id: 1,
            service: "s".into(),
            holder: "h".into(),
            pid: None,
            pid_start: None,
            expires_at_ms: None,
            created_at_ms: 0,
        };
        assert!(lease_live(&base, 1000));
        assert!(!lease_live(
            &LeaseRow {
                expires_at_ms: Some(999),
                ..base.clone()
            },
            1000
        ));
        assert!(lease_live(
            &LeaseRow {
                pid: Some(pid),
                pid_start: start,
                ..base.clone()
            },
            1000
        ));
        assert!(!lease_live(
            &LeaseRow {
                pid: Some(pid),
                pid_start: Some("0".into()),
                ..base
            },
            1000
        ));
    }

    #[tokio::test]
    async fn the_lock_excludes_a_second_holder_until_released() {
        let home = tempfile::tempdir().unwrap();
        let a = ServiceLock::acquire(home.path(), "pg", Duration::from_secs(1))
            .await
            .unwrap();
        let e = ServiceLock::acquire(home.path(), "pg", Duration::from_millis(100)).await;
        assert!(e.is_err());
        drop(a);
        ServiceLock::acquire(home.path(), "pg", Duration::from_millis(100))
            .await
            .unwrap();
    }
}
