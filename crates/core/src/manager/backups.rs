//! `dockhand backup` (one service, `--all`, the schedule), the backup list and the backup
//! settings; the pieces they share with other operations are in `dumps.rs`.

use std::path::Path;

use super::dumps::{DIR_KEY, KEEP_KEY, MAX_AGE_KEY, SCHEDULE_KEY};
use super::progress::stamped;
use super::{Manager, ProgressFn, TaskKind};
use crate::backup::file::private_dir_all;
use crate::backup::{BackupAllReport, BackupScope, Schedule};
use crate::error::{CoreError, Result};
use crate::store::{now_ms, BackupRow, ServiceRow};

impl Manager {
    /// Changes one backup setting: `keep` (count, 0 = all), `max-age-days` (0 = off),
    /// `schedule` (off/hourly/daily/weekly), `dir` (an absolute folder).
    pub fn set_backup_setting(&self, key: &str, value: &str) -> Result<()> {
        let bad = |what: &str| CoreError::InvalidInput(format!("{key} = {value:?}: {what}"));
        match key {
            "keep" => {
                let n: u32 = value
                    .parse()
                    .map_err(|_| bad("expected a number of backups per database (0 keeps all)"))?;
                self.store.set_setting(KEEP_KEY, &n.to_string())
            }
            "max-age-days" => {
                let n: u32 = value
                    .parse()
                    .map_err(|_| bad("expected a number of days (0 turns it off)"))?;
                self.store.set_setting(MAX_AGE_KEY, &n.to_string())
            }
            "schedule" => {
                let s = Schedule::parse(value)?;
                self.store.set_setting(SCHEDULE_KEY, s.as_str())
            }
            "dir" => {
                let p = Path::new(value);
                if !p.is_absolute() {
                    return Err(bad("expected an absolute folder path"));
                }
                private_dir_all(p, p)?;
                self.store.set_setting(DIR_KEY, value)
            }
            _ => Err(CoreError::InvalidInput(format!(
                "unknown backup setting '{key}'; use keep, max-age-days, schedule or dir"
            ))),
        }
    }

    /// Backs up databases of one service. The service is started if needed and held by a lease
    /// meanwhile (so the idle stopper cannot stop it mid-dump).
    pub async fn backup(
        &self,
        query: &str,
        scope: &BackupScope,
        reason: &str,
        progress: &ProgressFn<'_>,
    ) -> Result<Vec<BackupRow>> {
        let task = self.begin_task(TaskKind::Backup, &self.backup_task_target(query, scope))?;
        let feed = task.feed(progress);
        task.finish(self.backup_untracked(query, scope, reason, &feed).await)
    }

    async fn backup_untracked(
        &self,
        query: &str,
        scope: &BackupScope,
        reason: &str,
        progress: &ProgressFn<'_>,
    ) -> Result<Vec<BackupRow>> {
        let row = self.resolve(query)?;
        let done = self.backup_held(&row, scope, reason, progress).await?;
        if done.is_empty() {
            return Err(self.nothing_to_back_up(&row));
        }
        Ok(done)
    }

    /// Backs up every database of every running service; a failure of one does not stop the others.
    pub async fn backup_all_running(
        &self,
        reason: &str,
        progress: &ProgressFn<'_>,
    ) -> Result<(Vec<BackupRow>, Vec<(String, CoreError)>)> {
        let r = self.backup_all(reason, progress).await?;
        Ok((r.done, r.failed))
    }

    /// [`Manager::backup_all_running`], saying also which services had nothing to back up and
    /// which were not running: nothing is skipped silently.
    pub async fn backup_all(
        &self,
        reason: &str,
        progress: &ProgressFn<'_>,
    ) -> Result<BackupAllReport> {
        let task = self.begin_task(TaskKind::BackupAll, "every running service")?;
        let feed = task.feed(progress);
        task.finish(self.backup_all_untracked(reason, &feed).await)
    }

    async fn backup_all_untracked(
        &self,
        reason: &str,
        progress: &ProgressFn<'_>,
    ) -> Result<BackupAllReport> {
        let mut report = BackupAllReport::default();
        for row in self.store.services()? {
            if !self.is_running(&row.name).await? {
                report.not_running.push(row.name.clone());
                continue;
            }
            match self
                .backup_held(&row, &BackupScope::All, reason, progress)
                .await
            {
                Ok(rows) if rows.is_empty() => {
                    let CoreError::NothingToBackUp { why, .. } = self.nothing_to_back_up(&row)
                    else {
                        unreachable!()
                    };
                    report.nothing.push((row.name.clone(), why));
                }
                Ok(mut rows) => report.done.append(&mut rows),
                Err(e) => report.failed.push((row.name.clone(), e)),
            }
        }
        Ok(report)
    }

    /// Runs the backups the schedule asks for: each database of a running service whose newest
    /// backup is older than the interval. Returns what was done.
    pub async fn run_scheduled_backups(
        &self,
        progress: &ProgressFn<'_>,
    ) -> Result<(Vec<BackupRow>, Vec<(String, CoreError)>)> {
        let progress = &stamped(TaskKind::Backup, progress);
        let policy = self.backup_policy()?;
        let Some(every) = policy.schedule.interval() else {
            return Ok((vec![], vec![]));
        };
        let (mut done, mut failed) = (Vec::new(), Vec::new());
        for row in self.store.services()? {
            if !self.is_running(&row.name).await? {
                continue;
            }
            let due = async {
                let pw = self.admin_password(&row.name)?;
                let dbs = self
                    .databases_in_scope(&row, pw.expose(), &BackupScope::All)
                    .await?;
                let mut due = Vec::new();
                for db in dbs {
                    let newest = self.store.backups(Some(&row.name), Some(&db))?;
                    let fresh = newest
                        .first()
                        .is_some_and(|b| now_ms() - b.created_at_ms < every.as_millis() as i64);
                    if !fresh {
                        due.push(db);
                    }
                }
                Ok::<_, CoreError>(due)
            }
            .await;
            match due {
                Ok(dbs) => {
                    for db in dbs {
                        match self
                            .backup(&row.name, &BackupScope::Database(db), "scheduled", progress)
                            .await
                        {
                            Ok(mut rows) => done.append(&mut rows),
                            Err(e) => failed.push((row.name.clone(), e)),
                        }
                    }
                }
                Err(e) => failed.push((row.name.clone(), e)),
            }
        }
        Ok((done, failed))
    }

    pub fn backups(&self, service: Option<&str>, database: Option<&str>) -> Result<Vec<BackupRow>> {
        // A destroyed service's backups stay listed under its name.
        let service = service.map(|q| self.resolve(q).map_or_else(|_| q.to_string(), |r| r.name));
        self.store.backups(service.as_deref(), database)
    }
}

impl Manager {
    fn nothing_to_back_up(&self, row: &ServiceRow) -> CoreError {
        CoreError::NothingToBackUp {
            service: row.name.clone(),
            why: self.driver(row.kind).nothing_to_back_up().into(),
        }
    }
}
