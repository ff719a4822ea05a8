//! The new-service dialog's defaults: what `dockhand up kind:version` would create now — its
//! name, its port, its image — and which of the kind's versions need no download.

use std::time::Duration;

use serde::Serialize;

use super::naming::volume_name;
use super::Manager;
use crate::catalog::extensions::Extension;
use crate::catalog::{Kind, ServiceSpec};
use crate::engine::{labels, EngineError};
use crate::error::Result;
use crate::modes::{default_memory_mb, Mode};
use crate::ports::choose_port;

/// One image lookup; the engine's own limit is longer, and the dialog waits for all of them.
const IMAGE_LOOKUP_LIMIT: Duration = Duration::from_secs(5);

/// What the new-service dialog opens with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewServiceForm {
    pub kind: &'static str,
    pub display_name: &'static str,
    /// The version asked for, else the user's default.
    pub version: String,
    /// The name `dockhand up kind:version` gives it; when a service of that name exists already,
    /// the first free `<name>-2`, `<name>-3`, … (the CLI would start the existing one instead).
    pub name: String,
    /// The port `up` would choose now.
    pub port: u16,
    /// The official image of that version.
    pub image: String,
    pub versions: Vec<VersionOption>,
    /// Extensions a service of this kind can be created with (PostgreSQL's), each with the
    /// image that carries it at this version; empty for other kinds.
    pub extensions: Vec<ExtensionOption>,
    /// The modes a service of this kind can run in, durable first (the default).
    pub modes: Vec<ModeOption>,
}

/// A mode the dialog offers, with what it means and the limit a new service of it gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModeOption {
    pub mode: Mode,
    /// One line on where the data lives and what can lose it.
    pub description: &'static str,
    /// What the user must read before choosing it (data loss); none for durable.
    pub warning: Option<&'static str>,
    /// The default memory limit in MB (`--memory`'s default for this mode).
    pub memory_mb: u32,
}

/// An extension the dialog offers as a checkbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtensionOption {
    /// What `--with` and `dockhand.toml` take (`vector`, `postgis`).
    pub name: &'static str,
    pub display_name: &'static str,
    /// The image a service with only this extension runs.
    pub image: String,
}

/// A version the catalog offers, and whether its image is in the engine already (no download).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionOption {
    pub version: String,
    pub image: String,
    pub present: bool,
}

impl Manager {
    /// The dialog's defaults for a new service of `kind` (at `version`, else the user's default
    /// version). Fails when the engine cannot say which images it has.
    pub async fn new_service_form(
        &self,
        kind: Kind,
        version: Option<&str>,
    ) -> Result<NewServiceForm> {
        let spec = match version {
            Some(v) => ServiceSpec::parse(&format!("{kind}:{v}"))?,
            None => self.parse_spec(kind.as_str())?,
        };
        let services = self.store.services()?;
        let name = free_name(&spec.default_name(), |n| {
            services.iter().any(|r| r.name == n)
        });
        // As `up` does: a volume left by a destroyed service of this name brings its old port.
        let preferred = self
            .engine
            .inspect_volume(&volume_name(&name))
            .await?
            .and_then(|v| v.labels.get(labels::PORT)?.parse().ok());
        let taken: Vec<u16> = services.iter().map(|r| r.host_port).collect();
        let port = choose_port(kind, None, preferred, &taken, self.port_free)?;
        let versions = self.version_options(kind).await?;
        let extensions = match self.driver(kind).extensions() {
            Some(_) => Extension::ALL
                .iter()
                .map(|e| ExtensionOption {
                    name: e.sql_name(),
                    display_name: e.display_name(),
                    image: e.image(&spec.version),
                })
                .collect(),
            None => Vec::new(),
        };
        let driver = self.driver(kind);
        let modes = Mode::ALL
            .into_iter()
            .filter(|m| !m.fast || !driver.fast_settings().is_empty())
            .map(|mode| ModeOption {
                mode,
                description: mode.describe(),
                warning: mode.warning(),
                memory_mb: default_memory_mb(driver.default_memory_mb(), mode),
            })
            .collect();
        Ok(NewServiceForm {
            modes,
            kind: kind.as_str(),
            display_name: kind.spec().display_name,
            image: spec.default_image(),
            version: spec.version,
            name,
            port,
            versions,
            extensions,
        })
    }

    /// The catalog's versions of `kind`, each with whether its image is present. The lookups
    /// run side by side, each bounded.
    async fn version_options(&self, kind: Kind) -> Result<Vec<VersionOption>> {
        let lookups = kind.spec().versions.iter().map(|v| async move {
            let image = ServiceSpec {
                kind,
                version: v.to_string(),
            }
            .default_image();
            let present =
                tokio::time::timeout(IMAGE_LOOKUP_LIMIT, self.engine.image_present(&image))
                    .await
                    .map_err(|_| EngineError::Timeout {
                        op: format!("inspect image {image}"),
                        limit: IMAGE_LOOKUP_LIMIT,
                    })??;
            Ok(VersionOption {
                version: v.to_string(),
                image,
                present,
            })
        });
        futures_util::future::join_all(lookups)
            .await
            .into_iter()
            .collect()
    }
}

/// `base` when no service has that name, else the first of `base-2`, `base-3`, … that is free.
fn free_name(base: &str, exists: impl Fn(&str) -> bool) -> String {
    if !exists(base) {
        return base.to_string();
    }
    (2..)
        .map(|i| format!("{base}-{i}"))
        .find(|n| !exists(n))
        .expect("an unbounded range has a free name")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::engine::fake::FakeEngine;
    use crate::error::CoreError;
    use crate::home::Home;
    use crate::manager::UpRequest;
    use crate::secrets::MemorySecretStore;
    use crate::store::Store;

    fn manager(engine: Arc<FakeEngine>) -> (Manager, tempfile::TempDir) {
        let t = tempfile::tempdir().unwrap();
        let m = Manager::new(
            Home::open(t.path().join("home")).unwrap(),
            Store::open_in_memory().unwrap(),
            engine,
            Arc::new(MemorySecretStore::default()),
        )
        .unwrap()
        .with_port_check(|p| p != 5433);
        (m, t)
    }

    #[test]
    fn a_taken_name_gets_the_first_free_number() {
        let names = ["postgres-15", "postgres-15-2"];
        let exists = |n: &str| names.contains(&n);
        assert_eq!(free_name("postgres-16", exists), "postgres-16");
        assert_eq!(free_name("postgres-15", exists), "postgres-15-3");
    }

    #[tokio::test(start_paused = true)]
    async fn the_form_offers_what_up_would_create() {
        let e = Arc::new(FakeEngine::default());
        e.add_image("postgres:15");
        let (m, _t) = manager(e.clone());
        m.set_default_version(Kind::Postgres, "15").unwrap();
        let f = m.new_service_form(Kind::Postgres, None).await.unwrap();
        assert_eq!(
            (f.kind, f.display_name, f.version.as_str(), f.name.as_str()),
            ("postgres", "PostgreSQL", "15", "postgres-15")
        );
        assert_eq!((f.port, f.image.as_str()), (5432, "postgres:15"));
        let present: Vec<&str> = f
            .versions
            .iter()
            .filter(|v| v.present)
            .map(|v| v.version.as_str())
            .collect();
        assert_eq!(present, ["15"]);
        assert_eq!(f.versions.len(), Kind::Postgres.spec().versions.len());
        let modes: Vec<(&str, u32, bool)> = f
            .modes
            .iter()
            .map(|m| (m.mode.as_str(), m.memory_mb, m.warning.is_some()))
            .collect();
        assert_eq!(
            modes,
            [
                ("durable", 512, false),
                ("fast", 512, true),
                ("ephemeral", 1024, true),
                ("ephemeral-fast", 1024, true)
            ]
        );
        let offered: Vec<(&str, &str)> = f
            .extensions
            .iter()
            .map(|e| (e.name, e.image.as_str()))
            .collect();
        assert_eq!(
            offered,
            [
                ("vector", "pgvector/pgvector:pg15"),
                ("postgis", "postgis/postgis:15-3.5")
            ]
        );

        // The service the form describes, created as the window creates it, is the one `up`
        // would have made; the next form moves on to a free name and port.
        let req = UpRequest::new_service(Kind::Postgres, &f.version, &f.name, None, Some(f.image))
            .unwrap();
        assert_eq!(req.image, None, "the official image is no override");
        m.up(&req, &|_| {}).await.unwrap_err(); // the fake runs no server
        let row = m.store().service("postgres-15").unwrap().unwrap();
        assert_eq!((row.host_port, row.port_explicit), (5432, false));
        let f = m
            .new_service_form(Kind::Postgres, Some("15"))
            .await
            .unwrap();
        // 5433 is "taken" outside Dockhand in this test.
        assert_eq!((f.name.as_str(), f.port), ("postgres-15-2", 5434));
    }

    #[tokio::test(start_paused = true)]
    async fn up_with_an_extension_runs_the_image_that_carries_it_under_its_own_name() {
        let e = Arc::new(FakeEngine::default());
        e.add_image("pgvector/pgvector:pg17");
        let (m, _t) = manager(e.clone());
        let req = UpRequest {
            spec: ServiceSpec::parse("postgres:17").unwrap(),
            name: None,
            port: None,
            image: None,
            options: Default::default(),
        };
        m.up_with_extensions(req.clone(), &[Extension::Vector], &|_| {})
            .await
            .unwrap_err(); // the fake runs no server
        let row = m.store().service("postgres-17-vector").unwrap().unwrap();
        assert_eq!(row.image, "pgvector/pgvector:pg17");
        assert_eq!(m.service_carries(&row).unwrap(), [Extension::Vector]);
        let err = m
            .up_with_extensions(req, &[Extension::Vector, Extension::Postgis], &|_| {})
            .await
            .unwrap_err();
        assert_eq!(err.code(), "extensions_not_in_one_image", "{err}");
        assert_eq!(err.exit_code(), 2);
    }

    #[tokio::test]
    async fn a_bad_version_or_a_stopped_engine_is_an_error() {
        let e = Arc::new(FakeEngine::default());
        let (m, _t) = manager(e.clone());
        let err = m
            .new_service_form(Kind::Redis, Some("7 beta"))
            .await
            .unwrap_err();
        assert!(matches!(err, CoreError::InvalidInput(_)), "{err}");
        e.set_down(true);
        let err = m.new_service_form(Kind::Redis, None).await.unwrap_err();
        assert_eq!(err.code(), "engine_unavailable", "{err}");
    }
}
