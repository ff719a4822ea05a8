//! Read-only views the shells list: events, projects with their attachments, kinds.

use serde::Serialize;

use super::snapshot::{AttachmentView, KindView, ProjectView};
use crate::catalog::Kind;
use crate::drivers::RestoreStrategy;
use crate::error::Result;
use crate::manager::{Manager, ServiceStatus};
use crate::menu;
use crate::store::{AttachmentRow, EventRow, ExternalRow, ProjectRow, ServiceRow};

/// A project with its attachments, as `dockhand project list --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectListing {
    #[serde(flatten)]
    pub project: ProjectRow,
    pub attachments: Vec<AttachmentRow>,
}

impl Manager {
    /// The newest events first, of one service or all.
    pub fn events(&self, service: Option<&str>, limit: usize) -> Result<Vec<EventRow>> {
        self.store().events(service, limit)
    }

    /// The service of exactly this name, if there is one (no lookup by kind: see `resolve`).
    pub fn service_named(&self, name: &str) -> Result<Option<ServiceRow>> {
        self.store().service(name)
    }

    pub fn project_exists(&self, name: &str) -> Result<bool> {
        Ok(self.store().project(name)?.is_some())
    }

    /// Every project with its attachments.
    pub fn project_listings(&self) -> Result<Vec<ProjectListing>> {
        let atts = self.store().attachments(None, None)?;
        Ok(self
            .store()
            .projects()?
            .into_iter()
            .map(|p| ProjectListing {
                attachments: atts
                    .iter()
                    .filter(|a| a.project == p.name)
                    .cloned()
                    .collect(),
                project: p,
            })
            .collect())
    }

    /// The projects as the window and the tray show them; a project is up while every service
    /// it uses is held by its standing lease (as `services` report their consumers).
    pub fn project_views(&self, services: &[ServiceStatus]) -> Result<Vec<ProjectView>> {
        let dedicated = |project: &str, service: &str| {
            services
                .iter()
                .any(|s| s.name == service && s.dedicated_to.as_deref() == Some(project))
        };
        let externals = self.store().externals(None)?;
        let points = self.restore_points(None)?;
        let branch_rows = self
            .store()
            .copies(crate::store::CopyPurpose::Branch, None)?;
        Ok(self
            .project_listings()?
            .into_iter()
            .map(|l| {
                let own: Vec<ExternalRow> = externals
                    .iter()
                    .filter(|e| e.project == l.project.name)
                    .cloned()
                    .collect();
                let holder = super::quit::project_holder(&l.project.name);
                let up = !l.attachments.is_empty()
                    && l.attachments.iter().all(|a| {
                        services
                            .iter()
                            .any(|s| s.name == a.service && s.consumers.contains(&holder))
                    });
                let kinds: Vec<Kind> = l
                    .attachments
                    .iter()
                    .map(|a| &a.kind)
                    .chain(own.iter().map(|e| &e.kind))
                    .filter_map(|k| Kind::parse(k).ok())
                    .collect();
                // The URL variables under the names the project's `[env]` gives them (left-out
                // ones hidden); a dockhand.toml with a mistake shows none, and says why.
                let (vars, env_error) = match self.env_mapping(&l.project) {
                    Ok(mapping) => (
                        menu::url_vars(&kinds)
                            .into_iter()
                            .filter_map(|v| mapping.name_of(v).map(str::to_string))
                            .collect(),
                        None,
                    ),
                    Err(e) => (Vec::new(), Some(e.to_string())),
                };
                let (checkout, branch_error) = match self.checkout(&l.project) {
                    Ok(c) => (c.map(|(_, at)| at), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                let branches_in_file = l
                    .project
                    .path
                    .as_deref()
                    .and_then(|d| {
                        crate::project_config::read(std::path::Path::new(d))
                            .ok()
                            .flatten()
                    })
                    .is_some_and(|c| c.branches.is_some());
                let mut branch_databases: Vec<super::snapshot::BranchDatabase> = Vec::new();
                for r in branch_rows.iter().filter(|r| {
                    r.project == l.project.name && r.state == crate::store::CopyState::Ready
                }) {
                    match branch_databases.iter_mut().find(|b| b.branch == r.label) {
                        Some(b) => b.size_bytes += r.size_bytes.unwrap_or(0),
                        None => branch_databases.push(super::snapshot::BranchDatabase {
                            branch: r.label.clone(),
                            size_bytes: r.size_bytes.unwrap_or(0),
                            created_at_ms: r.created_at_ms,
                        }),
                    }
                }
                ProjectView {
                    copies: l.attachments.iter().any(|a| self.copies_kind(a)),
                    points: points
                        .iter()
                        .filter(|p| p.project == l.project.name)
                        .cloned()
                        .collect(),
                    checkout,
                    branch_error,
                    branches_toggle: self.follows_branches_by_toggle(&l.project.name),
                    branches_in_file,
                    branch_databases,
                    name: l.project.name,
                    path: l.project.path,
                    up,
                    vars,
                    env_error,
                    attachments: l
                        .attachments
                        .into_iter()
                        .map(|a| AttachmentView {
                            dedicated: dedicated(&a.project, &a.service),
                            service: a.service,
                            kind: a.kind,
                            database: a.db_name,
                            user: a.db_user,
                        })
                        .collect(),
                    externals: own,
                }
            })
            .collect())
    }

    /// Every kind with its display name, the user's default version and the versions offered.
    pub fn kinds(&self) -> Vec<KindView> {
        Kind::ALL
            .iter()
            .map(|k| KindView {
                kind: k.as_str(),
                name: k.spec().display_name,
                version: self.default_version(*k),
                versions: k.spec().versions,
                restores: !matches!(
                    k.driver().restore_strategy(),
                    RestoreStrategy::Unsupported(_)
                ),
                drops_data: k.spec().drops_project_data,
                client: k
                    .driver()
                    .client(&crate::drivers::Connection {
                        kind: *k,
                        host: "",
                        port: 0,
                        database: "",
                        user: "",
                        password: "",
                    })
                    .map(|c| c.programs[0]),
            })
            .collect()
    }
}
