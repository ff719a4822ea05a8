//! Database containers Dockhand did not create: finding them (`dockhand detect`), taking one
//! over (`dockhand adopt`) and letting it go again (`dockhand destroy` of an adopted service).
//!
//! An adopted container is never re-created, removed, relabelled or restarted on Dockhand's
//! own initiative: it is started and stopped when the user asks (`up`, `down`, a project that
//! needs it), its superuser password goes to the keychain (read from the container's own
//! configuration where its image keeps it, else given by the user), and from then on it is a
//! service like the others — projects, backups, the supervisor.

use serde::Serialize;

use super::naming::container_of;
use super::{admin_secret_key, Manager, HOST, STATUS_PROBE_LIMIT};
use crate::catalog::Kind;
use crate::drivers::adoption::{env_map, image_family, image_tag};
use crate::engine::{labels, ContainerConfig, ContainerInfo, RunState};
use crate::error::{CoreError, Result};
use crate::probe::{probe_with, ProbeTarget};
use crate::project_config::version_matches;
use crate::secrets::Secret;
use crate::state::ServiceState;
use crate::store::{Desired, Origin, ServiceRow};

/// A database container Dockhand does not manage, as `dockhand detect` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Detected {
    pub container: String,
    pub image: String,
    pub kind: Kind,
    /// From the image's environment (`PG_MAJOR`) or its tag.
    pub version: Option<String>,
    pub running: bool,
    /// The host port its server port is published on.
    pub host_port: Option<u16>,
    /// Its data: `volume-name → /var/lib/postgresql/data`, or a host folder.
    pub volumes: Vec<String>,
    /// Where its superuser password is (`POSTGRES_PASSWORD`), never the password itself.
    pub credentials: Option<String>,
    /// The service it was adopted as.
    pub adopted_as: Option<String>,
    /// Why it cannot be adopted as it is, and what to do.
    pub blocked: Option<String>,
}

impl Manager {
    /// Every database container (by image family) that no Dockhand home created.
    pub async fn detect(&self) -> Result<Vec<Detected>> {
        let rows = self.store.services()?;
        let mut out = Vec::new();
        for c in self.engine.list_containers(&[]).await? {
            if c.labels.contains_key(labels::MANAGED) {
                continue;
            }
            let Some(kind) = kind_of_image(&c.image) else {
                continue;
            };
            let Some(cfg) = self.engine.container_config(&c.name).await? else {
                continue; // removed since the list
            };
            let look = look_at(kind, &c, &cfg);
            out.push(Detected {
                adopted_as: rows
                    .iter()
                    .find(|r| {
                        r.origin == Origin::Adopted && r.container.as_deref() == Some(&c.name)
                    })
                    .map(|r| r.name.clone()),
                container: c.name.clone(),
                image: c.image.clone(),
                kind,
                version: look.version,
                running: c.state == RunState::Running,
                host_port: look.host_port,
                volumes: cfg
                    .mounts
                    .iter()
                    .map(|m| format!("{} → {}", m.source, m.destination))
                    .collect(),
                credentials: match &look.admin {
                    Ok(found) => Some(
                        found
                            .source
                            .map(|s| format!("found in its configuration ({s})"))
                            .unwrap_or_else(|| "asked for at adoption".into()),
                    ),
                    Err(_) => None,
                },
                blocked: look.admin.err().or(look.unreachable),
            });
        }
        out.sort_by(|a, b| a.container.cmp(&b.container));
        Ok(out)
    }

    /// Takes over container `container` as service `name` (default: the container's name made
    /// a service name). `password`: the superuser's, when the container's configuration does
    /// not hold it. The container must run, so the password can be checked before anything is
    /// recorded; a refusal changes nothing.
    pub async fn adopt(
        &self,
        container: &str,
        name: Option<&str>,
        password: Option<Secret>,
    ) -> Result<ServiceRow> {
        let bad = |why: String| CoreError::InvalidInput(format!("cannot adopt {container}: {why}"));
        let Some(c) = self.engine.inspect_container(container).await? else {
            return Err(bad(
                "there is no such container; `dockhand detect` lists the database containers Dockhand can adopt"
                    .into(),
            ));
        };
        // `dockhand-<name>` is where Dockhand looks for its own service `<name>`: a container
        // adopted under such a name could be taken for one of Dockhand's own.
        if c.name.starts_with("dockhand-") {
            return Err(bad(
                "names starting with `dockhand-` are Dockhand's own; rename it (`docker rename`) and adopt it again"
                    .into(),
            ));
        }
        if c.labels.contains_key(labels::MANAGED) {
            return Err(bad(format!(
                "it is a Dockhand service's own container{}",
                c.labels
                    .get(labels::SERVICE)
                    .map(|s| format!(" ('{s}')"))
                    .unwrap_or_default()
            )));
        }
        let rows = self.store.services()?;
        if let Some(r) = rows
            .iter()
            .find(|r| r.container.as_deref() == Some(c.name.as_str()))
        {
            return Err(bad(format!(
                "it is adopted already, as service '{}'",
                r.name
            )));
        }
        let kind = kind_of_image(&c.image).ok_or_else(|| {
            bad(format!(
                "its image {} is not one of a database Dockhand knows ({})",
                c.image,
                Kind::ALL
                    .iter()
                    .flat_map(|k| k.driver().image_families())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let cfg = self
            .engine
            .container_config(&c.name)
            .await?
            .ok_or_else(|| bad("it went away while being looked at".into()))?;
        let look = look_at(kind, &c, &cfg);
        let found = look.admin.map_err(&bad)?;
        if let Some(why) = look.unreachable {
            return Err(bad(why));
        }
        let host_port = look.host_port.expect("reachable means published");
        if c.state != RunState::Running {
            return Err(bad(format!(
                "it is not running; start it (`docker start {}`) so Dockhand can check its password first \
                 — Dockhand does not start a container it does not manage yet",
                c.name
            )));
        }
        let name = match name {
            Some(n) => n.to_string(),
            None => service_name_for(&c.name, kind),
        };
        crate::names::validate_service_name(&name)?;
        if rows.iter().any(|r| r.name == name) {
            return Err(bad(format!(
                "a service named '{name}' exists; choose another with --name"
            )));
        }
        if let Some(r) = rows.iter().find(|r| r.host_port == host_port) {
            return Err(bad(format!(
                "its port {host_port} is recorded for service '{}' (stopped now); give one of them another port",
                r.name
            )));
        }
        let (password, source) = match (password, found.password) {
            (Some(p), _) => (p, "the password given".to_string()),
            (None, Some(p)) => (
                Secret::new(p),
                format!("the password in {}", found.source.unwrap_or("its configuration")),
            ),
            (None, None) => {
                return Err(bad(
                    "its superuser password is not in its configuration (a password file, or a random one it \
                     printed once); give it on standard input: `dockhand adopt CONTAINER --password-stdin`"
                        .into(),
                ))
            }
        };
        let driver = self.driver(kind);
        let target = ProbeTarget {
            host: HOST.into(),
            port: host_port,
            user: kind.spec().admin_user.into(),
            password: password.expose().into(),
        };
        probe_with(driver, &target, STATUS_PROBE_LIMIT)
            .await
            .map_err(|e| {
                bad(format!(
                    "{source} does not log in as '{}' on port {host_port} ({e}); it may have been changed since \
                     the container was made — give the current one with --password-stdin",
                    kind.spec().admin_user
                ))
            })?;

        // Recorded: the password first (a process killed after it leaves an entry the next
        // adoption under this name overwrites), then the row in one statement.
        let key = admin_secret_key(&self.instance, &name);
        self.secrets.put(&key, &password)?;
        let version = look
            .version
            .unwrap_or_else(|| kind.spec().default_version.to_string());
        let data_path = self.driver(kind).data_path(&version);
        let row = ServiceRow {
            name: name.clone(),
            kind,
            version,
            image: c.image.clone(),
            host_port,
            port_explicit: true,
            desired: Desired::Running,
            state: ServiceState::Running,
            reason: None,
            ever_ready: true,
            created_at_ms: 0,
            updated_at_ms: 0,
            // It ran before Dockhand knew it: it keeps running until the user says otherwise.
            pinned: true,
            idle_since_ms: None,
            volume: cfg
                .mounts
                .iter()
                .find(|m| m.destination == data_path && m.named_volume)
                .map(|m| m.source.clone()),
            // Its owner's settings: whatever durability and memory limit it was made with.
            mode: crate::modes::Mode::DURABLE,
            memory_mb: c.memory_limit_bytes.map(|b| (b >> 20) as u32),
            dedicated_to: None,
            origin: Origin::Adopted,
            container: Some(c.name.clone()),
        };
        if !self.store.adopt_service(&row)? {
            let _ = self.secrets.delete(&key);
            return Err(bad(format!(
                "a service named '{name}' was made meanwhile; choose another with --name"
            )));
        }
        self.event(
            &name,
            "adopted",
            &format!(
                "container {} ({}) adopted; its superuser password (from {source}) is in the keychain",
                c.name, c.image
            ),
        );
        self.store
            .service(&name)?
            .ok_or_else(|| CoreError::unknown_service(name))
    }

    /// `destroy` of a service Dockhand did not create: forgets it — the record and the
    /// keychain entry of its superuser — and leaves the container and its data as they are.
    pub(super) async fn forget(&self, row: ServiceRow, purge: bool) -> Result<ServiceRow> {
        let what = format!("the adopted container {}", container_of(&row));
        if purge {
            return Err(CoreError::InvalidInput(format!(
                "'{}' is {what}: Dockhand deletes only data it created; `dockhand destroy {}` (without --purge) \
                 forgets it and leaves its data alone — remove the data yourself if you mean to",
                row.name, row.name
            )));
        }
        // Its projects are detached: their databases and users stay in the container (its
        // owner's now), and a later adoption under this name attaches them afresh rather than
        // leaving them pointing at a service that is gone (whose `up` would make a new one).
        let mut detached = Vec::new();
        for a in self.store.attachments(None, Some(&row.name))? {
            self.secrets.delete(&super::naming::project_secret_key(
                &self.instance,
                &a.project,
                &row.name,
            ))?;
            let _ = self
                .store
                .remove_standing_lease(&row.name, &super::standing_holder(&a.project));
            self.store.detach(&a.project, &row.name)?;
            detached.push(a.project);
        }
        self.secrets
            .delete(&admin_secret_key(&self.instance, &row.name))?;
        self.store.delete_service(&row.name)?;
        let projects = if detached.is_empty() {
            String::new()
        } else {
            format!(
                "; projects detached (their databases stay in it): {}",
                detached.join(", ")
            )
        };
        self.event(
            &row.name,
            "forgotten",
            &format!("Dockhand no longer manages {what}; it was left as it is{projects}"),
        );
        Ok(row)
    }
}

/// The kind whose image family `image` belongs to.
pub(crate) fn kind_of_image(image: &str) -> Option<Kind> {
    let family = image_family(image);
    // The repository path without tag or digest (`mcr.microsoft.com/mssql/server`), for
    // families named with their path because their last segment says nothing (`server`).
    let repo = image.split('@').next().unwrap_or(image);
    let repo = match repo.rsplit_once(':') {
        Some((r, tag)) if !tag.contains('/') => r,
        _ => repo,
    };
    Kind::ALL.into_iter().find(|k| {
        k.driver().image_families().iter().any(|f| {
            if f.contains('/') {
                repo == *f || repo.ends_with(&format!("/{f}"))
            } else {
                *f == family
            }
        })
    })
}

struct Look {
    version: Option<String>,
    host_port: Option<u16>,
    admin: std::result::Result<crate::drivers::adoption::FoundAdmin, String>,
    /// Why Dockhand could not reach its server.
    unreachable: Option<String>,
}

fn look_at(kind: Kind, c: &ContainerInfo, cfg: &ContainerConfig) -> Look {
    let env = env_map(&cfg.env);
    let spec = kind.spec();
    let adoption = kind.driver().adoption();
    let raw = adoption
        .and_then(|a| a.version_from_env(&env))
        .or_else(|| image_tag(&c.image).map(str::to_string));
    let version = raw.map(|v| catalog_line(kind, &v).unwrap_or(v));
    // Reached from this machine through a published port (on all addresses or loopback).
    let host_port = cfg
        .ports
        .iter()
        .filter(|(cp, ip, _)| {
            *cp == spec.container_port && matches!(ip.as_str(), "" | "0.0.0.0" | "127.0.0.1" | "::")
        })
        .map(|(_, _, hp)| *hp)
        .next();
    let admin = match adoption {
        Some(a) => a.admin(&env, &cfg.cmd),
        None => Err(format!(
            "Dockhand cannot adopt {} containers yet",
            spec.display_name
        )),
    };
    let fixed = format!(
        "`-p 127.0.0.1:{}:{}` (its data volume stays)",
        spec.default_host_port, spec.container_port
    );
    let unreachable = if host_port.is_none() {
        Some(format!(
            "it does not publish its port {} to this machine, and Dockhand reaches servers through a published \
             port; re-create it with {fixed}",
            spec.container_port
        ))
    } else if cfg.random_ports.contains(&spec.container_port) {
        // Docker picks another host port at each start: the projects' URLs would break.
        Some(format!(
            "Docker picks its host port anew at each start (it was made with `-p ::{}`), so the URLs \
             Dockhand hands out would stop working; re-create it with a fixed port: {fixed}",
            spec.container_port
        ))
    } else {
        None
    };
    Look {
        version,
        host_port,
        admin,
        unreachable,
    }
}

/// The catalog's version line a detected version is on (`16.4` → `16`), preferring the
/// longest (`10.11.8` → `10.11`, not `10`).
fn catalog_line(kind: Kind, version: &str) -> Option<String> {
    kind.spec()
        .versions
        .iter()
        .filter(|line| version_matches(line, version))
        .max_by_key(|line| line.len())
        .map(|l| l.to_string())
}

/// A container's name made a service name: lowercase DNS label rules, starting with a letter.
fn service_name_for(container: &str, kind: Kind) -> String {
    let mut s = String::new();
    for ch in container.chars() {
        let ch = ch.to_ascii_lowercase();
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            s.push(ch);
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    let s = s.trim_matches('-');
    let mut name = if s.starts_with(|c: char| c.is_ascii_lowercase()) {
        s.to_string()
    } else {
        format!("{kind}-{s}")
    };
    name.truncate(crate::names::MAX_SERVICE_NAME);
    name.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_of_each_family() {
        for (image, kind) in [
            ("postgres:16", Some(Kind::Postgres)),
            ("postgis/postgis:16-3.4", Some(Kind::Postgres)),
            ("pgvector/pgvector:pg17", Some(Kind::Postgres)),
            ("mariadb:11", Some(Kind::Mariadb)),
            ("mysql:8.0", Some(Kind::Mysql)),
            ("mysql/mysql-server:8.0", Some(Kind::Mysql)),
            ("redis:7-alpine", Some(Kind::Redis)),
            ("valkey/valkey:8", Some(Kind::Valkey)),
            ("mongo:7", Some(Kind::Mongo)),
            (
                "mcr.microsoft.com/mssql/server:2022-latest",
                Some(Kind::Mssql),
            ),
            ("acme/server:1", None),
            ("nginx:latest", None),
            ("my-postgres-app:1", None),
        ] {
            assert_eq!(kind_of_image(image), kind, "{image}");
        }
    }

    #[test]
    fn versions_land_on_the_catalog_line() {
        assert_eq!(catalog_line(Kind::Postgres, "16").as_deref(), Some("16"));
        assert_eq!(catalog_line(Kind::Postgres, "16.4").as_deref(), Some("16"));
        assert_eq!(
            catalog_line(Kind::Mariadb, "10.11.8").as_deref(),
            Some("10.11")
        );
        assert_eq!(catalog_line(Kind::Postgres, "9.6"), None);
    }

    #[test]
    fn container_names_become_service_names() {
        for (c, want) in [
            ("shop_db_1", "shop-db-1"),
            ("Legacy.Postgres", "legacy-postgres"),
            ("1db", "postgres-1db"),
        ] {
            let got = service_name_for(c, Kind::Postgres);
            assert_eq!(got, want);
            crate::names::validate_service_name(&got).unwrap();
        }
    }
}
