//! A project's database on a service: attached (its database and user made, its extensions,
//! recorded) and dropped (backed up, dropped with its user, forgotten) — what `attach`,
//! `project remove --drop-data`, `db create` and `db drop` share — and a project's external
//! databases: their URL (from the keychain) and forgetting one (`external remove`, `project
//! remove`).

use super::naming::{external_secret_key, project_secret_key, standing_holder};
use super::{Manager, ProgressFn};
use crate::catalog::extensions::Extension;
use crate::error::{CoreError, Result};
use crate::ident::{derive_identifier, disambiguate};
use crate::provision::{self, Grant};
use crate::secrets::Secret;
use crate::store::{AttachmentRow, BackupRow, ExternalRow, NewLease, ProjectRow, ServiceRow};

/// How long an attach keeps the service running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keep {
    /// Only while provisioning.
    ForTheMoment,
    /// Until the project is taken down (`project down`, "Let its services go") or the service
    /// is stopped.
    WhileProjectIsUp,
}

impl Manager {
    /// Provisions a project's database on a service, holding the service only for the moment
    /// (`db create`: a database made on request keeps no server running).
    pub(super) async fn attach_one(
        &self,
        project: &ProjectRow,
        row: &ServiceRow,
        progress: &ProgressFn<'_>,
    ) -> Result<AttachmentRow> {
        self.attach_one_with(project, row, &[], Keep::ForTheMoment, progress)
            .await
    }

    /// [`Self::attach_one`], then the extensions created in the project's database. The server
    /// is asked whether it can create them before anything is provisioned, so a missing one
    /// leaves nothing behind. With [`Keep::WhileProjectIsUp`] the project is left "up" on the
    /// service (a standing lease, as `project up` takes): a URL handed out by an attach stays
    /// alive until `project down` or a Stop, whichever shell attached it.
    pub(super) async fn attach_one_with(
        &self,
        project: &ProjectRow,
        row: &ServiceRow,
        extensions: &[Extension],
        keep: Keep,
        progress: &ProgressFn<'_>,
    ) -> Result<AttachmentRow> {
        // Every way of attaching (a file, a name typed, the window) ends here: a server
        // dedicated to one project never gets another's database.
        check_serves(row, &project.name, row.dedicated_to.is_some())?;
        let preferred = derive_identifier(&project.name);
        let fallback = disambiguate(&preferred, &project.name);
        let (att, created) = self.store.attach(
            &project.name,
            &row.name,
            row.kind.as_str(),
            &preferred,
            &fallback,
        )?;
        // An attachment whose user already logs in needs no lease, start or admin: that login
        // proves the server runs and the grant is in place. It skips the admin keychain lookups
        // and admin login of a start, most of an attach of a provisioned project.
        let standing = standing_holder(&project.name);
        let was_up = self.holds_standing(&row.name, &standing)?;
        if !created && extensions.is_empty() && self.already_logs_in(&att).await? {
            if keep == Keep::WhileProjectIsUp && !was_up {
                // The login proved the server runs: the standing lease needs no start.
                self.store.add_lease(&NewLease {
                    service: &row.name,
                    holder: &standing,
                    pid: None,
                    pid_start: None,
                    expires_at_ms: None,
                })?;
            }
            return Ok(att);
        }
        // Provisioning needs the server up: held for the moment, as any consumer would — or,
        // for a project's attach, from now on while the project is up.
        let (holder, is_standing) = match keep {
            Keep::ForTheMoment => (format!("attach:{}", project.name), false),
            Keep::WhileProjectIsUp => (standing.clone(), true),
        };
        let (lease, _) = match self
            .acquire(&row.name, &holder, is_standing, None, progress)
            .await
        {
            Ok(l) => l,
            Err(e) => {
                if created {
                    self.store.detach(&project.name, &row.name)?;
                }
                self.forget_if_never_created(&row.name).await;
                return Err(e);
            }
        };
        let result = async {
            if !extensions.is_empty() {
                self.check_extensions(row, extensions).await?;
            }
            self.provision_locked(&att).await?;
            if !extensions.is_empty() {
                self.create_extensions(row, &att, extensions).await?;
            }
            Ok::<_, CoreError>(())
        }
        .await;
        // A failed attach leaves the project as up (or not) as it was before.
        let settled = if !is_standing || (result.is_err() && !was_up) {
            self.release(&lease).await.map(|_| ())
        } else {
            Ok(())
        };
        if let Err(e) = result {
            if created {
                self.store.detach(&project.name, &row.name)?;
            }
            return Err(e);
        }
        settled?;
        if created {
            self.event(
                &row.name,
                "attached",
                &format!(
                    "project '{}' got database '{}' and user '{}'",
                    project.name, att.db_name, att.db_user
                ),
            );
        }
        Ok(att)
    }

    /// Backs up one attachment's database, drops it with its user and forgets the attachment:
    /// what `project remove --drop-data` does per attachment and `db drop` does to a project's
    /// database. Resumable: a run killed at any step is finished by the next (a database already
    /// dropped is not backed up again — its backup was taken before the drop). The backup, when
    /// this run took one.
    pub(super) async fn drop_attachment_data(
        &self,
        att: &AttachmentRow,
        holder: &str,
        progress: &ProgressFn<'_>,
    ) -> Result<Option<BackupRow>> {
        let noop = |_| {};
        let (lease, _) = self
            .acquire(&att.service, holder, false, None, &noop)
            .await?;
        let work = async {
            let row = self.resolve(&att.service)?;
            let admin = self.admin_target(&row)?;
            // A kind backed up as a whole server (Redis's RDB snapshot): the project's
            // keys cannot be saved alone, so the whole server is, and the event says so.
            let driver = self.driver(row.kind);
            let (scope, what) = if driver.backup_unit() == crate::drivers::BackupUnit::WholeServer {
                (
                    crate::backup::tools::WHOLE_SERVER.to_string(),
                    format!(
                        "keys '{}*' of project '{}'",
                        driver.key_prefix(&att.db_name).unwrap_or_default(),
                        att.project
                    ),
                )
            } else {
                (
                    att.db_name.clone(),
                    format!("database '{}' of project '{}'", att.db_name, att.project),
                )
            };
            let backup = if provision::database_exists(self.driver(row.kind), &admin, &att.db_name)
                .await?
            {
                let taken = self
                    .backup_one(
                        &row,
                        &admin.password,
                        &scope,
                        &format!("before dropping project '{}'", att.project),
                        progress,
                    )
                    .await;
                match taken {
                    Ok(file) => {
                        tracing::info!("backed up {scope} before dropping {what}: {}", file.path);
                        Some(file)
                    }
                    // Gone while we looked: the DROP of an earlier, killed run finishing in
                    // the server (an exec outlives the process that started it). That run
                    // dropped only after its own backup was recorded.
                    Err(e)
                        if !provision::database_exists(
                            self.driver(row.kind),
                            &admin,
                            &att.db_name,
                        )
                        .await? =>
                    {
                        tracing::info!(
                            "{what} went during its backup ({e}): an earlier run dropped it"
                        );
                        None
                    }
                    Err(e) => return Err(e),
                }
            } else {
                None
            };
            let pw = self.secrets.get_or_create(&project_secret_key(
                &self.instance,
                &att.project,
                &att.service,
            ))?;
            let grant = Grant {
                database: &att.db_name,
                user: &att.db_user,
                password: &pw,
                connection_limit: self.connection_limit()?,
            };
            let deleted = provision::drop_grant(self.driver(row.kind), &admin, &grant).await?;
            // A user kept because it still owns data elsewhere stays Dockhand's own.
            let kept = provision::already_taken(self.driver(row.kind), &admin, &grant).await?;
            if kept.is_none() {
                self.store.forget_own_account(&row.name, &att.db_user)?;
            }
            self.secrets.delete(&project_secret_key(
                &self.instance,
                &att.project,
                &att.service,
            ))?;
            self.release_standing(&att.service, &standing_holder(&att.project))
                .await?;
            self.store.detach(&att.project, &att.service)?;
            let file = backup.as_ref().map_or(
                "taken by an earlier, interrupted removal".to_string(),
                |b| b.path.clone(),
            );
            let mut msg = match deleted {
                Some(n) => format!(
                    "{what} ({n} deleted) and its user (backup of the whole server first: {file})"
                ),
                None => format!("{what} (backup: {file})"),
            };
            if let Some(kept) = kept {
                msg.push_str(&format!(
                    "; {kept} kept, without login: it still owns data outside the project's database \
                     (a restored copy), which is never dropped unasked nor handed to the admin"
                ));
            }
            self.event(&row.name, "dropped", &msg);
            Ok::<_, CoreError>(backup)
        }
        .await;
        let _ = self.release(&lease).await;
        work
    }
}

/// Whether `row` may serve `project`: a server dedicated to another project never does, and a
/// dedicated need is not met by a shared server (that would put the project's data beside
/// everyone else's, which is what it asked not to).
pub(super) fn check_serves(row: &ServiceRow, project: &str, dedicated: bool) -> Result<()> {
    match row.dedicated_to.as_deref() {
        Some(p) if p != project => Err(CoreError::InvalidInput(format!(
            "service '{}' is dedicated to project '{p}'; another project cannot use it — \
             attach to a shared {} service (`dockhand attach {}`), or give this project its own \
             (`dedicated = true` in dockhand.toml, or `dockhand attach {} --dedicated`)",
            row.name, row.kind, row.kind, row.kind
        ))),
        None if dedicated => Err(CoreError::InvalidInput(format!(
            "service '{}' is shared by all projects, so it cannot be project '{project}''s \
             dedicated server; leave out `service = \"{}\"` to get one named after the project, \
             or name a new one",
            row.name, row.name
        ))),
        _ => Ok(()),
    }
}

impl Manager {
    /// The URL of an external database, from the keychain.
    pub(super) fn external_url(&self, row: &ExternalRow) -> Result<Secret> {
        self.secrets
            .get(&external_secret_key(&self.instance, &row.name))?
            .ok_or_else(|| {
                CoreError::InvalidInput(format!(
                    "the URL of external database '{}' is not in the OS keychain any more; add it again: \
                     `dockhand external remove {}` then `dockhand external add {} -p {}`",
                    row.name, row.name, row.kind, row.project
                ))
            })
    }

    /// Forgets an external database of a project: its record and its URL in the keychain. The
    /// server and its data are not touched.
    pub fn remove_external(&self, project: &ProjectRow, name: &str) -> Result<ExternalRow> {
        let row = self
            .store
            .external(name)?
            .filter(|e| e.project == project.name)
            .ok_or_else(|| {
                CoreError::InvalidInput(format!(
                    "project '{}' has no external database '{name}'; `dockhand external list` shows them",
                    project.name
                ))
            })?;
        self.store.remove_external(name)?;
        self.secrets
            .delete(&external_secret_key(&self.instance, name))?;
        self.event(
            &project.name,
            "external-removed",
            &format!("external database '{name}' forgotten; the server was not touched"),
        );
        Ok(row)
    }
}
