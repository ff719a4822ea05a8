//! A project's user on a server: its password (from the keychain), its grant (database, limits,
//! the isolation rules of its kind), applied when it is attached and re-applied after every
//! start, so the server always matches the keychain. Attach, upgrades, restores and starts use it.

use super::naming::project_secret_key;
use super::{container_of, Manager, HOST};
use crate::error::{CoreError, Result};
use crate::probe::ProbeTarget;
use crate::provision::{self, Grant};
use crate::secrets::Secret;
use crate::store::{AttachmentRow, ServiceRow};

impl Manager {
    /// True if the project's user logs in to its database on a running server with the grant
    /// as it should be (false for a stopped server or a grant to re-apply).
    pub(super) async fn already_logs_in(&self, att: &AttachmentRow) -> Result<bool> {
        let row = self.resolve(&att.service)?;
        let key = project_secret_key(&self.instance, &att.project, &att.service);
        let Some(password) = self.secrets.get(&key)? else {
            return Ok(false);
        };
        if !self.store.is_own_account(&row.name, &att.db_user)? {
            return Ok(false);
        }
        let grant = Grant {
            database: &att.db_name,
            user: &att.db_user,
            password: &password,
            connection_limit: self.connection_limit()?,
        };
        Ok(provision::verify(self.driver(row.kind), HOST, row.host_port, &grant).await)
    }

    pub(super) fn admin_target(&self, row: &ServiceRow) -> Result<ProbeTarget> {
        let pw = self.admin_password(&row.name)?;
        Ok(self.probe_target(row, &pw))
    }

    /// Provisioning under the service's lock: concurrent DDL on one role or database fails in
    /// PostgreSQL ("tuple concurrently updated"), and a stop must not interleave with it.
    pub(super) async fn provision_locked(&self, att: &AttachmentRow) -> Result<()> {
        let _lock = self
            .lock(&att.service, super::consumers::LOCK_LIMIT)
            .await?;
        self.provision_attachment(att).await
    }

    /// A project's password on a service (from the keychain, created on first use) and the
    /// connection limit its user gets: what a [`Grant`] needs besides the names.
    pub(super) fn grant_secret(&self, att: &AttachmentRow) -> Result<(Secret, u32)> {
        let password = self.secrets.get_or_create(&project_secret_key(
            &self.instance,
            &att.project,
            &att.service,
        ))?;
        Ok((password, self.connection_limit()?))
    }

    /// A project's password on a service, which must be in the keychain already (a database
    /// restored or imported as the project's user needs the one the server has).
    pub(super) fn project_password(&self, att: &AttachmentRow) -> Result<Secret> {
        let key = project_secret_key(&self.instance, &att.project, &att.service);
        self.secrets.get(&key)?.ok_or_else(|| {
            CoreError::Secret(format!(
                "the password of project '{}' on '{}' is not in the OS keychain; `dockhand attach {} {}` sets it again",
                att.project, att.service, att.project, att.service
            ))
        })
    }

    /// Creates or re-applies a project's database and user on its (running) service. A project
    /// whose user already logs in to its database is left as it is.
    pub async fn provision_attachment(&self, att: &AttachmentRow) -> Result<()> {
        let row = self.resolve(&att.service)?;
        let (password, connection_limit) = self.grant_secret(att)?;
        let grant = Grant {
            database: &att.db_name,
            user: &att.db_user,
            password: &password,
            connection_limit,
        };
        // Only a user Dockhand already created can log in; trying one it has not (a first
        // attach) would leave "password authentication failed … Role does not exist" in the
        // server's log, an alarm about nothing.
        if self.store.is_own_account(&row.name, grant.user)?
            && provision::verify(self.driver(row.kind), HOST, row.host_port, &grant).await
        {
            return Ok(());
        }
        let admin = self.admin_target(&row)?;
        self.claim_account(&row, &admin, &grant).await?;
        provision::provision(
            self.engine.as_ref(),
            self.driver(row.kind),
            &container_of(&row),
            &admin,
            &grant,
        )
        .await
    }

    /// Provisioning takes over no user (or database, or key prefix) that Dockhand did not
    /// create: an adopted server's own `app`, or a role someone made through the admin URL,
    /// would otherwise get a new password, lose its rights and hand its data to the project.
    /// A user not in Dockhand's record of its own is checked for on the server first, then
    /// recorded before it is created — a run killed in between finds it recorded.
    async fn claim_account(
        &self,
        row: &ServiceRow,
        admin: &ProbeTarget,
        grant: &Grant<'_>,
    ) -> Result<()> {
        if self.store.is_own_account(&row.name, grant.user)? {
            return Ok(());
        }
        let driver = self.driver(row.kind);
        if let Some(what) = provision::already_taken(driver, admin, grant).await? {
            return Err(CoreError::TakenOnServer {
                service: row.name.clone(),
                what,
            });
        }
        self.store
            .record_own_account(&row.name, grant.user, grant.database)
    }

    /// After a (re)start: every project's grant on the service, re-applied. Failures are logged
    /// and recorded, not fatal — the service itself is up.
    pub(super) async fn reprovision_all(&self, service: &str) {
        let Ok(atts) = self.store.attachments(None, Some(service)) else {
            return;
        };
        for att in atts {
            if let Err(e) = self.provision_attachment(&att).await {
                tracing::warn!(
                    service,
                    project = att.project,
                    "re-provisioning failed: {e}"
                );
                self.event(
                    service,
                    "provision-failed",
                    &format!("project '{}': {e}", att.project),
                );
            }
        }
    }
}
