//! `dockhand restore`: a backup back into its database or into another one, through the
//! replacement machinery (`replace.rs`), so a kill -9 at any moment leaves the target as it was.

use super::naming::is_restore_scratch;
use super::tasks::restore_task_target;
use super::{Manager, ProgressFn, TaskKind};
use crate::backup::{validate_database_name, Restored};
use crate::catalog::Kind;
use crate::drivers::RestoreStrategy;
use crate::error::{CoreError, Result};

impl Manager {
    /// Restores a backup into `into` (default: the database it was taken of). An existing
    /// database is only replaced with `overwrite`, and then only after a backup of it.
    ///
    /// Crash-safe: a restore killed at any moment leaves the target as it was (or, once the
    /// restore is complete, restored), and whatever it had created is recognised and removed by
    /// the next restore on the service (see `replace.rs`).
    pub async fn restore(
        &self,
        id: i64,
        into: Option<&str>,
        overwrite: bool,
        progress: &ProgressFn<'_>,
    ) -> Result<Restored> {
        let task = self.begin_task(TaskKind::Restore, &restore_task_target(id, into))?;
        let feed = task.feed(progress);
        task.finish(self.restore_untracked(id, into, overwrite, &feed).await)
    }

    async fn restore_untracked(
        &self,
        id: i64,
        into: Option<&str>,
        overwrite: bool,
        progress: &ProgressFn<'_>,
    ) -> Result<Restored> {
        let b = self.backup_row(id)?;
        let kind = Kind::parse(&b.kind)?;
        let target = into.unwrap_or(&b.database).to_string();
        validate_database_name(&target)?;
        if is_restore_scratch(&target) {
            return Err(CoreError::InvalidInput(format!(
                "'{target}' is a name Dockhand uses for restores in progress; choose another"
            )));
        }
        if let RestoreStrategy::Unsupported(why) = self.driver(kind).restore_strategy() {
            return Err(CoreError::InvalidInput(why.into()));
        }
        let v = self.verify(id).await?;
        if !v.checksum_ok || v.readable == Some(false) {
            return Err(CoreError::InvalidInput(format!(
                "backup {id} failed verification ({}); nothing was restored",
                v.detail
            )));
        }
        let row = self.resolve(&b.service)?;
        let holder = format!("restore:{}", std::process::id());
        let noop = |_| {};
        let (lease, _) = self.acquire(&row.name, &holder, false, None, &noop).await?;
        let result = self
            .restore_into(&row, &b, &target, overwrite, progress)
            .await;
        if let Err(e) = self.release(&lease).await {
            tracing::warn!("could not release the restore lease: {e}");
        }
        result
    }
}
