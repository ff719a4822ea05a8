//! A service's admin password in the OS keychain: read on a blocking thread, created only for
//! a service without data yet.

use std::sync::Arc;

use super::naming::admin_secret_key;
use super::Manager;
use crate::error::{CoreError, Result};
use crate::secrets::{Secret, SecretStore};

/// A service's admin password being read on a blocking thread (keychains are synchronous APIs).
/// Only a service without data yet may get a new one: the data of any other was initialised
/// with the password the keychain held, and a new one would lock Dockhand out of it.
pub(super) struct PendingSecret {
    task: Option<tokio::task::JoinHandle<Result<Option<Secret>>>>,
    value: Option<Secret>,
    secrets: Arc<dyn SecretStore>,
    key: String,
    service: String,
}

impl PendingSecret {
    pub(super) fn start(secrets: Arc<dyn SecretStore>, key: String, service: &str) -> Self {
        let (s, k) = (secrets.clone(), key.clone());
        PendingSecret {
            task: Some(tokio::task::spawn_blocking(move || s.get(&k))),
            value: None,
            secrets,
            key,
            service: service.to_string(),
        }
    }

    async fn fetch(&mut self) -> Result<Option<Secret>> {
        if let Some(task) = self.task.take() {
            self.value = task
                .await
                .map_err(|e| CoreError::Secret(format!("keychain lookup failed: {e}")))??;
        }
        Ok(self.value.clone())
    }

    /// The existing password; missing is an error that says what happened.
    pub(super) async fn get(&mut self) -> Result<Secret> {
        self.fetch()
            .await?
            .ok_or_else(|| missing_admin_password(&self.service, &self.key))
    }

    /// For a service with no data yet: the stored password, or a new one.
    pub(super) async fn get_or_create(&mut self) -> Result<Secret> {
        if let Some(v) = self.fetch().await? {
            return Ok(v);
        }
        let v = self.secrets.get_or_create(&self.key)?;
        self.value = Some(v.clone());
        Ok(v)
    }
}

pub(super) fn missing_admin_password(service: &str, key: &str) -> CoreError {
    CoreError::Secret(format!(
        "the admin password of '{service}' is not in the OS keychain (was the keyring reset or replaced?), \
         and its data was set up with it. Restore the keychain entry (service 'dockhand', account '{key}'), \
         or start over with `dockhand destroy {service} --purge` (deletes its data)"
    ))
}

impl Manager {
    /// The admin password of an existing service (never a new one: see [`PendingSecret`]).
    pub(super) fn admin_password(&self, service: &str) -> Result<Secret> {
        let key = admin_secret_key(&self.instance, service);
        self.secrets
            .get(&key)?
            .ok_or_else(|| missing_admin_password(service, &key))
    }
}
