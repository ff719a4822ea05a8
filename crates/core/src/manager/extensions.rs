//! Services created with PostgreSQL extensions (`dockhand up postgres:17 --with pgvector`), and
//! the extensions a project's `dockhand.toml` asks for, created in its database when it attaches.

use super::{Manager, UpOutcome, UpRequest};
use crate::catalog::extensions::{self, Extension, ExtensionError};
use crate::error::{CoreError, Result};
use crate::manager::ProgressFn;
use crate::provision::PROVISION_LIMIT;
use crate::store::{AttachmentRow, ServiceRow};

impl Manager {
    /// `up` with extensions: the image that carries them unless `req.image` names one (the user
    /// vouches for it), and the service remembers them.
    pub async fn up_with_extensions(
        &self,
        mut req: UpRequest,
        wanted: &[Extension],
        progress: &ProgressFn<'_>,
    ) -> Result<UpOutcome> {
        if wanted.is_empty() {
            return self.up(&req, progress).await;
        }
        let chosen = match extensions::image_for(&req.spec, wanted) {
            Ok(image) => image,
            // Two extensions no official image carries together: fine in an image the user names.
            Err(ExtensionError::NotInOneImage { .. }) if req.image.is_some() => None,
            Err(e) => return Err(e.into()),
        };
        if req.image.is_none() {
            req.image = chosen;
        }
        // Not `postgres-17`: that name is usually the plain server's, already there.
        if req.name.is_none() {
            let names: Vec<&str> = wanted.iter().map(|e| e.sql_name()).collect();
            req.name = Some(format!("{}-{}", req.spec.default_name(), names.join("-")));
        }
        let out = self.up(&req, progress).await?;
        let mut all = self.store.service_extensions(&out.name)?;
        all.extend_from_slice(wanted);
        all.sort();
        all.dedup();
        self.store.set_service_extensions(&out.name, &all)?;
        Ok(out)
    }

    /// The extensions a service carries, as far as Dockhand knows without asking it: the ones it
    /// was created with and the ones its image is known for.
    pub fn service_carries(&self, row: &ServiceRow) -> Result<Vec<Extension>> {
        let mut all = self.store.service_extensions(&row.name)?;
        all.extend(Extension::carried_by(&row.image));
        all.sort();
        all.dedup();
        Ok(all)
    }

    /// Before a project's database is touched: the (running) server can create every wanted
    /// extension, else an error naming the image that has them and how to create such a service.
    pub(super) async fn check_extensions(
        &self,
        row: &ServiceRow,
        wanted: &[Extension],
    ) -> Result<()> {
        let Some(sql) = self.driver(row.kind).extensions() else {
            return Err(ExtensionError::NotForKind {
                kind: row.kind.spec().display_name,
            }
            .into());
        };
        let admin = self.admin_target(row)?;
        let names: Vec<&str> = wanted.iter().map(|e| e.sql_name()).collect();
        let missing = bounded(sql.missing(&admin, &names)).await?;
        if missing.is_empty() {
            return Ok(());
        }
        let missing: Vec<Extension> = wanted
            .iter()
            .copied()
            .filter(|e| missing.iter().any(|m| m == e.sql_name()))
            .collect();
        Err(ExtensionError::missing_from_image(
            &row.name,
            row.kind,
            &row.image,
            &row.version,
            &missing,
        )
        .into())
    }

    /// Creates the wanted extensions in the project's database, as the admin; idempotent.
    pub(super) async fn create_extensions(
        &self,
        row: &ServiceRow,
        att: &AttachmentRow,
        wanted: &[Extension],
    ) -> Result<()> {
        let Some(sql) = self.driver(row.kind).extensions() else {
            return Ok(());
        };
        let admin = self.admin_target(row)?;
        let names: Vec<&str> = wanted.iter().map(|e| e.sql_name()).collect();
        bounded(sql.create(&admin, &att.db_name, &names)).await?;
        tracing::info!(
            service = %row.name,
            database = %att.db_name,
            "extensions in place: {}",
            names.join(", ")
        );
        Ok(())
    }
}

impl Manager {
    /// Creates extensions (by their SQL names) in a database nothing of a project's is in yet,
    /// as the admin: how an import gets the service's extensions before its content runs.
    pub(super) async fn create_extensions_in(
        &self,
        row: &ServiceRow,
        database: &str,
        names: &[&str],
    ) -> Result<()> {
        let Some(sql) = self.driver(row.kind).extensions() else {
            return Ok(());
        };
        if names.is_empty() {
            return Ok(());
        }
        let admin = self.admin_target(row)?;
        bounded(sql.create(&admin, database, names)).await
    }
}

async fn bounded<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(PROVISION_LIMIT, work)
        .await
        .unwrap_or_else(|_| {
            Err(CoreError::Provision(format!(
                "PostgreSQL: extensions: no answer within {}s",
                PROVISION_LIMIT.as_secs()
            )))
        })
}
