//! The images of Dockhand's kinds in the engine (`dockhand images`): which are present, how big,
//! which services use them; pulling them ahead of time; and pruning those no service needs.

use serde::Serialize;

use super::progress::stamped;
use super::{Manager, Progress, ProgressFn, TaskKind};
use crate::catalog::{Kind, ServiceSpec};
use crate::engine::{EngineError, ImageInfo, PullProgress};
use crate::error::{CoreError, Result};

/// One name of an image of one of Dockhand's kinds.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImageView {
    pub kind: Kind,
    /// `postgres:17`.
    pub reference: String,
    pub id: String,
    /// `postgres@sha256:…`, when the image came from a registry.
    pub digest: Option<String>,
    pub size_bytes: u64,
    /// Services (and upgrades kept for a rollback) that use it.
    pub used_by: Vec<String>,
}

/// The repository of an image reference (`valkey/valkey:8` → `valkey/valkey`, a registry port
/// kept: `127.0.0.1:5000/redis:7` → `127.0.0.1:5000/redis`).
fn repo_of(reference: &str) -> &str {
    let reference = reference.split('@').next().unwrap_or(reference);
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => reference,
    }
}

/// Which kind an image repository serves: the kind's own image, or one of its family (an
/// extension image built on PostgreSQL's: `pgvector/pgvector`, `postgis/postgis`).
fn kind_of_repo(repo: &str) -> Option<Kind> {
    let name = repo.rsplit('/').next().unwrap_or(repo);
    Kind::ALL.into_iter().find(|k| {
        let own = k.spec().image_repo;
        repo == own
            || repo.ends_with(&format!("/{own}"))
            || k.driver().image_families().contains(&name)
    })
}

impl Manager {
    /// What references to images Dockhand's services and kept upgrades hold.
    fn images_in_use(&self) -> Result<Vec<(String, String)>> {
        let mut used: Vec<(String, String)> = self
            .store
            .services()?
            .into_iter()
            .map(|r| (r.image, r.name))
            .collect();
        for u in self.store.upgrades()? {
            // A rollback starts the old version again: its image must stay.
            used.push((u.from_image, format!("{} (kept for --rollback)", u.service)));
            used.push((u.to_image, u.service));
        }
        Ok(used)
    }

    /// Every image of Dockhand's kinds present in the engine, with the services that use it —
    /// and the containers that are not this home's services (another Dockhand home's, the
    /// user's own): a prune must not count on the engine's refusal to spare those, which a
    /// dry run never asks for.
    pub async fn images(&self) -> Result<Vec<ImageView>> {
        let present = self.engine.list_images().await?;
        let mut used = self.images_in_use()?;
        for c in self.engine.list_containers(&[]).await? {
            let ours = c
                .labels
                .get(crate::engine::labels::INSTANCE)
                .map(String::as_str)
                == Some(self.instance.as_str());
            if !ours {
                used.push((c.image, format!("container {} (not this home's)", c.name)));
            }
        }
        let mut out = Vec::new();
        for ImageInfo {
            id,
            tags,
            digests,
            size_bytes,
            ..
        } in present
        {
            for t in tags {
                let Some(kind) = kind_of_repo(repo_of(&t)) else {
                    continue;
                };
                let mut used_by: Vec<String> = used
                    .iter()
                    .filter(|(image, _)| *image == t || *image == id)
                    .map(|(_, s)| s.clone())
                    .collect();
                used_by.sort();
                used_by.dedup();
                out.push(ImageView {
                    kind,
                    digest: digests.iter().find(|d| repo_of(d) == repo_of(&t)).cloned(),
                    reference: t,
                    id: id.clone(),
                    size_bytes,
                    used_by,
                });
            }
        }
        out.sort_by(|a, b| (a.kind.as_str(), &a.reference).cmp(&(b.kind.as_str(), &b.reference)));
        Ok(out)
    }

    /// Pulls the official image of each `kind[:version]` (its default version when none is
    /// named), reporting bytes as they come. Stops at the first that fails, naming it.
    pub async fn pull_images(
        &self,
        specs: &[String],
        progress: &ProgressFn<'_>,
    ) -> Result<Vec<String>> {
        let progress = stamped(TaskKind::Pull, progress);
        let images: Vec<String> = specs
            .iter()
            .map(|s| ServiceSpec::parse(s).map(|spec| spec.default_image()))
            .collect::<Result<_>>()?;
        for image in &images {
            let on = |p: PullProgress| {
                if let PullProgress::Bytes { current, total } = p {
                    progress(Progress::bytes(
                        image,
                        format!("pulling {image}"),
                        current,
                        Some(total),
                    ));
                }
            };
            self.engine
                .pull_image(image, &on)
                .await
                .map_err(|e| match e {
                    e @ EngineError::Unavailable { .. } => CoreError::Engine(e),
                    e => CoreError::ImagePull {
                        image: image.clone(),
                        kind: repo_of(image).to_string(),
                        reason: e.to_string(),
                    },
                })?;
        }
        Ok(images)
    }

    /// Removes the images of Dockhand's kinds that no service, kept upgrade or container uses
    /// (`dry_run`: only says which). An image the engine refuses to remove (a container of
    /// someone else's uses it) is reported, not forced.
    pub async fn prune_images(&self, dry_run: bool) -> Result<PruneReport> {
        let mut report = PruneReport::default();
        for img in self.images().await? {
            if !img.used_by.is_empty() {
                report.kept.push(img);
                continue;
            }
            if dry_run {
                report.removed.push(img);
                continue;
            }
            match self.engine.remove_image(&img.reference).await {
                Ok(()) => report.removed.push(img),
                Err(EngineError::Conflict(why)) => report.refused.push((img, why)),
                Err(e @ EngineError::Unavailable { .. }) => return Err(e.into()),
                Err(e) => report.refused.push((img, e.to_string())),
            }
        }
        Ok(report)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneReport {
    pub removed: Vec<ImageView>,
    /// In use by a service or a kept upgrade.
    pub kept: Vec<ImageView>,
    /// The engine would not remove them (used by a container), with its words.
    pub refused: Vec<(ImageView, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine as _;

    #[test]
    fn image_names_map_to_their_kind() {
        assert_eq!(kind_of_repo(repo_of("postgres:17")), Some(Kind::Postgres));
        assert_eq!(
            kind_of_repo(repo_of("pgvector/pgvector:pg17")),
            Some(Kind::Postgres)
        );
        assert_eq!(
            kind_of_repo(repo_of("postgis/postgis:17-3.5")),
            Some(Kind::Postgres)
        );
        assert_eq!(kind_of_repo(repo_of("valkey/valkey:8")), Some(Kind::Valkey));
        assert_eq!(
            kind_of_repo(repo_of("127.0.0.1:5000/redis:7")),
            Some(Kind::Redis)
        );
        assert_eq!(kind_of_repo(repo_of("mariadb:11.8")), Some(Kind::Mariadb));
        assert_eq!(kind_of_repo(repo_of("nginx:1")), None);
        assert_eq!(kind_of_repo(repo_of("dockhand-test-base:trixie")), None);
        assert_eq!(kind_of_repo(repo_of("myredis-cache:1")), None);
    }

    #[tokio::test]
    async fn prune_keeps_what_services_use_and_what_is_not_dockhands() {
        let engine = std::sync::Arc::new(crate::engine::fake::FakeEngine::default());
        let (m, _t) = crate::manager::tests::manager(engine.clone());
        for i in ["postgres:15", "postgres:17", "redis:7", "nginx:1"] {
            engine.add_image(i);
        }
        m.store
            .claim_service(
                &crate::store::NewService {
                    name: "pg",
                    kind: Kind::Postgres,
                    version: "15",
                    image: "postgres:15",
                    port_explicit: false,
                    pinned: true,
                    volume: None,
                },
                |_| Ok(5432),
            )
            .unwrap();
        let names = |v: &[ImageView]| v.iter().map(|i| i.reference.clone()).collect::<Vec<_>>();
        let dry = m.prune_images(true).await.unwrap();
        assert_eq!(names(&dry.removed), ["postgres:17", "redis:7"]);
        assert_eq!(
            engine.list_images().await.unwrap().len(),
            4,
            "a dry run removes nothing"
        );
        let r = m.prune_images(false).await.unwrap();
        assert_eq!(names(&r.kept), ["postgres:15"]);
        assert_eq!(r.kept[0].used_by, ["pg"]);
        assert_eq!(names(&r.removed), ["postgres:17", "redis:7"]);
        let left: Vec<String> = engine
            .list_images()
            .await
            .unwrap()
            .into_iter()
            .flat_map(|i| i.tags)
            .collect();
        assert_eq!(left, ["nginx:1", "postgres:15"], "nginx is not Dockhand's");
    }
}
