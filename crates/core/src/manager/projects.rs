//! Projects: a name and a folder, attached to services. Attaching provisions the project's own
//! database and user on the service; the project's variables (`DATABASE_URL`, …) are built from
//! that. A project that is "up" holds standing leases on its services.

use std::path::{Path, PathBuf};

use super::attachments::check_serves;
use super::naming::{dedicated_service_name, project_secret_key, standing_holder};
use super::removal_plan::{self, Step};
use super::{admin_secret_key, container_of, Manager, ProgressFn, UpOutcome, HOST, NETWORK};
use crate::catalog::extensions::Extension;
use crate::catalog::{Kind, ServiceSpec};
use crate::env::{self, Audience, Connection};
use crate::error::{CoreError, Result};
use crate::ident::validate_project_name;
use crate::ports::choose_port;
use crate::project_config::{self, version_matches, Need};
use crate::provision::{self};
use crate::secrets::Secret;
use crate::store::{AttachmentRow, NewService, ProjectRow, ServiceRow};

use super::consumers::{Lease, Settled};

/// One attached service as a project's processes see it.
#[derive(Debug, Clone)]
pub struct ProjectConnection {
    pub service: String,
    pub kind: Kind,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: Secret,
    /// An external database's URL as its owner gave it (kept as-is: its TLS and other
    /// settings are theirs).
    pub given_url: Option<Secret>,
}

/// Setting: the most connections one project's user may hold on a shared server.
const CONNECTION_LIMIT_KEY: &str = "project_connection_limit";

impl Manager {
    /// The most connections one project's user may hold at once on a shared server.
    pub fn connection_limit(&self) -> Result<u32> {
        Ok(self
            .store
            .setting(CONNECTION_LIMIT_KEY)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(provision::DEFAULT_CONNECTION_LIMIT))
    }

    /// Changes the per-project connection limit; applied to every project at its next attach or
    /// consumer start (provisioning re-applies it).
    pub fn set_connection_limit(&self, limit: u32) -> Result<()> {
        if !(1..=10_000).contains(&limit) {
            return Err(CoreError::InvalidInput(format!(
                "connection-limit must be between 1 and 10000, not {limit}; it caps how many connections one project may hold \
                 (PostgreSQL allows 200 in all, MariaDB 151)"
            )));
        }
        self.store
            .set_setting(CONNECTION_LIMIT_KEY, &limit.to_string())
    }

    /// Registers the project in `dir` (name: `name`, else `dockhand.toml`'s, else the folder's).
    pub fn add_project(&self, dir: &Path, name: Option<&str>) -> Result<(ProjectRow, bool)> {
        let dir = dir.canonicalize().map_err(|e| {
            CoreError::InvalidInput(format!("{}: {e}; give the project's folder", dir.display()))
        })?;
        if !dir.is_dir() {
            return Err(CoreError::InvalidInput(format!(
                "{} is not a folder",
                dir.display()
            )));
        }
        let config = project_config::read(&dir)?;
        let name = match (name, config.and_then(|c| c.name)) {
            (Some(n), _) => n.to_string(),
            (None, Some(n)) => n,
            (None, None) => dir
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default(),
        };
        validate_project_name(&name)?;
        let (row, created) = self
            .store
            .add_project(&name, Some(&dir.to_string_lossy()))?;
        if created {
            self.event(
                &name,
                "project-added",
                &format!("project '{name}' in {}", dir.display()),
            );
        }
        Ok((row, created))
    }

    /// The project called `name`, or the one whose folder holds `cwd`.
    pub fn project_for(&self, name: Option<&str>, cwd: &Path) -> Result<ProjectRow> {
        if let Some(n) = name {
            return self.store.project(n)?.ok_or_else(|| {
                CoreError::InvalidInput(format!(
                    "no project named '{n}'; `dockhand project list` shows them, `dockhand project add` adds one"
                ))
            });
        }
        let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
        self.store
            .projects()?
            .into_iter()
            .filter(|p| p.path.as_ref().is_some_and(|path| cwd.starts_with(path)))
            .max_by_key(|p| p.path.as_ref().map_or(0, |p| p.len()))
            .ok_or_else(|| {
                CoreError::InvalidInput(format!(
                    "{} is not inside a Dockhand project; run `dockhand attach` there (or `dockhand project add`), or pass --project",
                    cwd.display()
                ))
            })
    }

    /// Before a folder becomes a project to attach it with no services named: its
    /// `dockhand.toml` must list some, else nothing is added (no project left behind by an
    /// attach that had nothing to do).
    pub fn check_folder_lists_services(&self, dir: &Path) -> Result<()> {
        folder_needs(Some(dir)).map(|_| ())
    }

    /// Attaches a project to services: `targets` name services or `kind[:version]`; when empty,
    /// the project's `dockhand.toml` says what it needs.
    pub async fn attach(
        &self,
        project: &ProjectRow,
        targets: &[String],
        progress: &ProgressFn<'_>,
    ) -> Result<Vec<AttachmentRow>> {
        self.attach_as(project, targets, false, progress).await
    }

    /// [`Self::attach`]; with `dedicated`, each kind named in `targets` gets a server of the
    /// project's own (`dockhand attach postgres:16 --dedicated`).
    pub async fn attach_as(
        &self,
        project: &ProjectRow,
        targets: &[String],
        dedicated: bool,
        progress: &ProgressFn<'_>,
    ) -> Result<Vec<AttachmentRow>> {
        let needs = if targets.is_empty() {
            folder_needs(project.path.as_deref().map(Path::new))?
        } else {
            let mut needs = targets
                .iter()
                .map(|t| self.need_from_target(t))
                .collect::<Result<Vec<_>>>()?;
            // The window (and `dockhand attach postgres:17` in the folder) name what to attach;
            // the extensions the folder's dockhand.toml asks of that service still apply.
            if let Some(config) = match project.path.as_deref() {
                Some(d) => project_config::read(Path::new(d)).ok().flatten(),
                None => None,
            } {
                for need in &mut needs {
                    need.extensions = extensions_asked(&config.needs, need);
                    // The file's `dedicated = true` holds however the kind is attached, so
                    // `dockhand attach postgres` in the folder does not share what it keeps apart.
                    need.dedicated |= asked(&config.needs, need).is_some_and(|n| n.dedicated);
                }
            }
            if dedicated {
                for need in &mut needs {
                    need.dedicated = true;
                }
            }
            needs
        };
        let mut out = Vec::new();
        for need in needs {
            let row = self.service_for_need(&project.name, &need)?;
            out.push(
                self.attach_one_with(
                    project,
                    &row,
                    &need.extensions,
                    super::attachments::Keep::WhileProjectIsUp,
                    progress,
                )
                .await?,
            );
        }
        Ok(out)
    }

    fn need_from_target(&self, target: &str) -> Result<Need> {
        if let Some(row) = self.store.service(target)? {
            return Ok(Need {
                kind: row.kind,
                version: row.version,
                service: Some(row.name),
                extensions: Vec::new(),
                dedicated: row.dedicated_to.is_some(),
            });
        }
        let (kind, version) = match target.split_once(':') {
            Some((k, v)) => (Kind::parse(k)?, project_config::version_line(v)),
            None => (
                Kind::parse(target).map_err(|_| self.unknown_service(target))?,
                String::new(),
            ),
        };
        if !version.is_empty() {
            ServiceSpec::parse(&format!("{kind}:{version}"))?;
        }
        Ok(Need {
            kind,
            version,
            service: None,
            extensions: Vec::new(),
            dedicated: false,
        })
    }

    /// The service that meets a need: the named one, the one of that kind and version line, or a
    /// new (unpinned) one, created on first use. A dedicated need gets the project's own server
    /// (named after it unless the need names one); a shared need never gets a server dedicated
    /// to a project.
    fn service_for_need(&self, project: &str, need: &Need) -> Result<ServiceRow> {
        let dedicated_name = need
            .dedicated
            .then(|| dedicated_service_name(project, need.kind));
        if let Some(name) = need.service.as_ref().or(dedicated_name.as_ref()) {
            if let Some(row) = self.store.service(name)? {
                if row.kind != need.kind {
                    return Err(CoreError::InvalidInput(format!(
                        "service '{name}' runs {}, not {}",
                        row.kind, need.kind
                    )));
                }
                check_serves(&row, project, need.dedicated)?;
                return Ok(row);
            }
        }
        if need.service.is_none() && !need.dedicated {
            let mut matching: Vec<ServiceRow> = self
                .store
                .services()?
                .into_iter()
                .filter(|r| {
                    r.kind == need.kind
                        && r.dedicated_to.is_none()
                        && version_matches(&need.version, &r.version)
                })
                .collect();
            // Several of that version: the one that carries the extensions asked for, if only
            // one does (postgres-17 and pg-gis side by side, the project wants postgis).
            if matching.len() > 1 && !need.extensions.is_empty() {
                let carrying: Vec<ServiceRow> = matching
                    .iter()
                    .filter(|r| {
                        self.service_carries(r)
                            .is_ok_and(|has| need.extensions.iter().all(|e| has.contains(e)))
                    })
                    .cloned()
                    .collect();
                if carrying.len() == 1 {
                    matching = carrying;
                }
            }
            match matching.len() {
                0 => {}
                1 => return Ok(matching.into_iter().next().unwrap()),
                _ => {
                    return Err(CoreError::AmbiguousService {
                        query: format!("{}:{}", need.kind, need.version),
                        matches: matching
                            .iter()
                            .map(|r| r.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
                }
            }
        }
        let version = if need.version.is_empty() {
            self.default_version(need.kind)
        } else {
            need.version.clone()
        };
        let spec = ServiceSpec::parse(&format!("{}:{version}", need.kind))?;
        let name = need
            .service
            .clone()
            .or(dedicated_name)
            .unwrap_or_else(|| spec.default_name());
        crate::names::validate_service_name(&name)?;
        let image = crate::catalog::extensions::image_for(&spec, &need.extensions)?
            .unwrap_or_else(|| spec.default_image());
        let port_free = self.port_free;
        let (row, _) = self.store.claim_service_for(
            &NewService {
                name: &name,
                kind: spec.kind,
                version: &spec.version,
                image: &image,
                port_explicit: false,
                pinned: false,
                volume: None,
            },
            need.dedicated.then_some(project),
            |taken| choose_port(spec.kind, None, None, taken, port_free),
        )?;
        // Claimed by someone else a moment ago: the same rules as for one found above.
        check_serves(&row, project, need.dedicated)?;
        if !need.extensions.is_empty() && row.image == image {
            self.store
                .set_service_extensions(&row.name, &need.extensions)?;
        }
        Ok(row)
    }

    pub async fn detach(&self, project: &ProjectRow, service: &str) -> Result<()> {
        let row = match self.resolve(service) {
            Ok(row) => row,
            // Its service was destroyed (data kept): forgetting the attachment needs no server.
            Err(CoreError::UnknownService { .. })
                if self.store.detach(&project.name, service)? =>
            {
                self.event(
                    service,
                    "detached",
                    &format!(
                        "project '{}' detached from the destroyed service",
                        project.name
                    ),
                );
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let not_attached = || {
            CoreError::InvalidInput(format!(
                "project '{}' is not attached to '{}'",
                project.name, row.name
            ))
        };
        let att = self
            .store
            .attachments(Some(&project.name), Some(&row.name))?
            .into_iter()
            .next()
            .ok_or_else(not_attached)?;
        // The user goes first and the attachment after it, both under the service's lock, so no
        // start or `run` re-creates the user in between; a failure leaves the project attached
        // and the command can be run again.
        let revoked = {
            let _lock = match provision::revoked_on_detach(self.driver(row.kind)) {
                true => Some(self.lock(&row.name, super::consumers::LOCK_LIMIT).await?),
                false => None,
            };
            let revoked = self.revoke_user(&row, &att).await?;
            if !self.store.detach(&project.name, &row.name)? {
                return Err(not_attached());
            }
            revoked
        };
        self.release_standing(&row.name, &standing_holder(&project.name))
            .await?;
        self.event(
            &row.name,
            "detached",
            &format!(
                "project '{}' detached; its data is kept{}",
                project.name,
                revoke_note(self.driver(row.kind), revoked)
            ),
        );
        Ok(())
    }

    /// Deletes a project's user where the kind keeps no data with it (Redis ACL users, see
    /// [`provision::revoked_on_detach`]). A stopped server has nothing to delete: its users
    /// lived in memory, and a start re-creates only attached projects' users. Returns whether a
    /// user was deleted. The caller holds the service's lock.
    async fn revoke_user(&self, row: &ServiceRow, att: &AttachmentRow) -> Result<bool> {
        if !provision::revoked_on_detach(self.driver(row.kind))
            || !self.is_running(&row.name).await?
        {
            return Ok(false);
        }
        let admin = self.admin_target(row)?;
        // The record stays: the user's keys stay under its prefix, still the project's, and a
        // later attach takes them (and the user's name) up again.
        provision::revoke(self.driver(row.kind), &admin, &att.db_user).await?;
        Ok(true)
    }

    /// A Redis service where a script has run past `busy-reply-threshold` answers every other
    /// client `BUSY`: this ends it. A script that has not written is stopped (`SCRIPT KILL`);
    /// one that has cannot be stopped halfway, so the server is shut down without saving and
    /// started again — with the append-only file on, everything written before the script is
    /// kept and the script's own writes are discarded. Records why; returns what was done (None
    /// when the service was not busy).
    pub async fn end_busy_script(&self, service: &str) -> Result<Option<String>> {
        let row = self.resolve(service)?;
        let admin = self.admin_target(&row)?;
        let outcome = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            provision::end_busy_script(self.driver(row.kind), &admin),
        )
        .await
        .map_err(|_| {
            CoreError::Provision(format!(
                "'{}' did not answer SCRIPT KILL within 10 s",
                row.name
            ))
        })??;
        let msg = match outcome {
            provision::BusyScript::NotBusy => return Ok(None),
            provision::BusyScript::Killed => {
                let msg =
                    "a script ran past the time limit and kept every project waiting; it had \
                           not written anything, so it was stopped (SCRIPT KILL)"
                        .to_string();
                self.event(&row.name, "script-killed", &msg);
                msg
            }
            provision::BusyScript::ShutDown => {
                let msg =
                    "a script ran past the time limit and kept every project waiting; it had \
                           written, so it could not be stopped halfway: Redis was shut down \
                           without saving (SHUTDOWN NOSAVE) and started again — data written \
                           before the script is kept, the script's own writes are discarded"
                        .to_string();
                self.event(&row.name, "script-unkillable", &msg);
                // The server exits by itself; start it only once it has.
                let cname = container_of(&row);
                let gone = async {
                    loop {
                        match self.engine.inspect_container(&cname).await {
                            Ok(Some(c)) if c.state == crate::engine::RunState::Running => {}
                            _ => return,
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                };
                let _ = tokio::time::timeout(row.kind.spec().stop_timeout, gone).await;
                self.start_existing(&row.name).await?;
                msg
            }
        };
        Ok(Some(msg))
    }

    /// Everything a project's processes need to connect, per attached service.
    pub fn project_connections(
        &self,
        project: &str,
        audience: Audience,
    ) -> Result<Vec<ProjectConnection>> {
        self.connections_on(project, audience, &|_| None)
    }

    /// `project_connections`, with `instead` naming the database to hand out for an
    /// attachment in place of its own (a test clone's).
    pub(super) fn connections_on(
        &self,
        project: &str,
        audience: Audience,
        instead: &dyn Fn(&AttachmentRow) -> Option<String>,
    ) -> Result<Vec<ProjectConnection>> {
        let mut out = Vec::new();
        // A project following git branches: the checked-out branch's databases.
        let at = match self.store.project(project)? {
            Some(p) => self.checkout(&p)?.map(|(_, at)| at),
            None => None,
        };
        for att in self.store.attachments(Some(project), None)? {
            let database = match instead(&att) {
                Some(db) => db,
                None => self.database_on_branch(&att, at.as_ref())?,
            };
            let row = self.resolve(&att.service).map_err(|e| match e {
                CoreError::UnknownService { name: s, .. } => CoreError::InvalidInput(format!(
                    "project '{project}' uses the {} service '{s}', which was destroyed (its data volume is kept): \
                     `dockhand up {}:<version> --name {s}` brings it back, or `dockhand detach {s}` forgets it",
                    att.kind, att.kind
                )),
                other => other,
            })?;
            let (host, port) = match audience {
                Audience::Host => (HOST.to_string(), row.host_port),
                Audience::Container => (row.name.clone(), row.kind.spec().container_port),
                Audience::DockerDesktop => ("host.docker.internal".to_string(), row.host_port),
            };
            let password = self.secrets.get_or_create(&project_secret_key(
                &self.instance,
                project,
                &att.service,
            ))?;
            out.push(ProjectConnection {
                service: row.name.clone(),
                kind: row.kind,
                host,
                port,
                database,
                user: att.db_user,
                password,
                given_url: None,
            });
        }
        // Its databases elsewhere: the same address whoever asks (Dockhand does not know how a
        // container would reach that host otherwise).
        for e in self.store.externals(Some(project))? {
            let url = self.external_url(&e)?;
            let kind = Kind::parse(&e.kind)?;
            let password = super::external::password_of(kind, &url)?;
            out.push(ProjectConnection {
                service: e.name,
                kind,
                host: e.host,
                port: e.port,
                database: e.db_name,
                user: e.db_user,
                password,
                given_url: Some(url),
            });
        }
        Ok(out)
    }

    /// `DATABASE_URL` and friends for a project, named as its `[env]` table says.
    pub fn project_env(&self, project: &str, audience: Audience) -> Result<Vec<(String, String)>> {
        self.env_on(project, audience, &|_| None)
    }

    /// `project_env`, with `instead` naming the database to hand out for an attachment in
    /// place of its own (a test clone's).
    pub(super) fn env_on(
        &self,
        project: &str,
        audience: Audience,
        instead: &dyn Fn(&AttachmentRow) -> Option<String>,
    ) -> Result<Vec<(String, String)>> {
        let mapping = match self.store.project(project)? {
            Some(row) => self.env_mapping(&row)?,
            None => env::EnvMapping::default(),
        };
        let conns = self.connections_on(project, audience, instead)?;
        let view: Vec<Connection<'_>> = conns
            .iter()
            .map(|c| Connection {
                kind: c.kind,
                host: &c.host,
                port: c.port,
                database: &c.database,
                user: &c.user,
                password: c.password.expose(),
            })
            .collect();
        let mut vars = env::variables(&view);
        // An external database's URL is handed out as its owner wrote it, in place of the one
        // built from its parts; variables that only make sense on Dockhand's servers (a Redis
        // key prefix) are left out.
        let kinds: Vec<Kind> = conns.iter().map(|c| c.kind).collect();
        for ((c, v), name) in conns.iter().zip(&view).zip(env::url_variable_names(&kinds)) {
            let Some(given) = &c.given_url else { continue };
            let built = env::url(v);
            if let Some(slot) = vars.iter_mut().find(|(k, val)| k == name && *val == built) {
                slot.1 = given.expose().to_string();
            }
            if let Some(prefix) = self.driver(c.kind).key_prefix(&c.database) {
                vars.retain(|(_, val)| *val != prefix);
            }
        }
        Ok(mapping.apply(vars))
    }

    /// Takes a lease on each of the project's services (starting them) and re-applies its grants.
    /// `standing` leases last until `project_down`; others end with this process.
    pub async fn hold_project(
        &self,
        project: &ProjectRow,
        holder: Option<&str>,
        progress: &ProgressFn<'_>,
    ) -> Result<Vec<(Lease, UpOutcome)>> {
        let atts = self.store.attachments(Some(&project.name), None)?;
        if atts.is_empty() && self.store.externals(Some(&project.name))?.is_empty() {
            return Err(CoreError::InvalidInput(format!(
                "project '{}' uses no service yet; `dockhand attach postgres` (or list services in dockhand.toml and run `dockhand attach`)",
                project.name
            )));
        }
        let standing = holder.is_none();
        let holder = holder.map_or_else(|| standing_holder(&project.name), str::to_string);
        let mut held = Vec::new();
        for att in &atts {
            let got = async {
                let (lease, outcome) = self
                    .acquire(&att.service, &holder, standing, None, progress)
                    .await?;
                if let Err(e) = self.provision_locked(att).await {
                    let _ = self.release(&lease).await;
                    return Err(e);
                }
                Ok((lease, outcome))
            }
            .await;
            match got {
                Ok(l) => held.push(l),
                Err(e) => {
                    for (lease, _) in &held {
                        let _ = self.release(lease).await;
                    }
                    return Err(e);
                }
            }
        }
        Ok(held)
    }

    /// Before one of the project's URLs is handed out ("Copy DATABASE_URL" in the tray or the
    /// window): a project that is not up, or whose server was stopped, is brought up, so the
    /// URL works when it is pasted instead of pointing at a stopped server. Returns the
    /// services it had to start (none when the project was up and its servers running).
    pub async fn ready_for_url(
        &self,
        project: &ProjectRow,
        progress: &ProgressFn<'_>,
    ) -> Result<Vec<String>> {
        let holder = standing_holder(&project.name);
        let mut idle = Vec::new();
        for att in self.store.attachments(Some(&project.name), None)? {
            let row = self.resolve(&att.service)?;
            let running = self.is_running(&row.name).await?;
            if !running || !self.holds_standing(&row.name, &holder)? {
                idle.push((row.name, running));
            }
        }
        if idle.is_empty() {
            return Ok(Vec::new());
        }
        self.hold_project(project, None, progress).await?;
        Ok(idle
            .into_iter()
            .filter(|(_, was_running)| !was_running)
            .map(|(name, _)| name)
            .collect())
    }

    /// "Copy DATABASE_URL" in the tray or the window: the value of one of the project's
    /// variables (as the host sees it), its servers brought up first so the URL works when it is
    /// pasted. Returns the value and the services that had to be started.
    pub async fn project_var_for_copy(
        &self,
        project: &str,
        var: &str,
        progress: &ProgressFn<'_>,
    ) -> Result<(String, Vec<String>)> {
        let p = self.project_for(Some(project), std::path::Path::new("/"))?;
        let started = self.ready_for_url(&p, progress).await?;
        // A project following git branches: the checked-out branch's URL, its database made on
        // first use.
        self.follow_branch(&p).await?;
        let value = self
            .project_env(project, Audience::Host)?
            .into_iter()
            .find(|(k, _)| k == var)
            .map(|(_, v)| v)
            .ok_or_else(|| {
                CoreError::InvalidInput(format!(
                    "project '{project}' has no {var} (`dockhand env {project}` lists its variables)"
                ))
            })?;
        Ok((value, started))
    }

    pub async fn project_down(&self, project: &ProjectRow) -> Result<Vec<(String, Settled)>> {
        let mut out = Vec::new();
        for att in self.store.attachments(Some(&project.name), None)? {
            let s = self
                .release_standing(&att.service, &standing_holder(&project.name))
                .await?;
            out.push((att.service, s));
        }
        Ok(out)
    }

    /// Removes a project. With `drop_data`, each of its databases is first dumped into the
    /// backups folder, then dropped with its user; without, its data stays on the servers.
    pub async fn remove_project(
        &self,
        project: &ProjectRow,
        drop_data: bool,
    ) -> Result<Vec<PathBuf>> {
        let atts = self.store.attachments(Some(&project.name), None)?;
        let services = self.store.services()?;
        let externals = self.store.externals(Some(&project.name))?;
        let steps = removal_plan::plan(
            &removal_plan::Facts {
                project: &project.name,
                drop_data,
                attachments: &atts,
                services: &services,
                externals: &externals,
            },
            |k| self.driver(k),
        )?;
        let mut backups = Vec::new();
        for step in steps {
            match step {
                Step::DropData(att) => {
                    let holder = format!("remove:{}", project.name);
                    if let Some(b) = self.drop_attachment_data(&att, &holder, &|_| {}).await? {
                        backups.push(PathBuf::from(b.path));
                    }
                }
                Step::Revoke(att) => {
                    let row = self.resolve(&att.service)?;
                    let _lock = self.lock(&row.name, super::consumers::LOCK_LIMIT).await?;
                    if self.revoke_user(&row, &att).await? {
                        self.event(
                            &row.name,
                            "revoked",
                            &format!(
                                "user '{}' of removed project '{}' deleted; its keys are kept",
                                att.db_user, project.name
                            ),
                        );
                    }
                }
                Step::Release(service) => {
                    self.release_standing(&service, &standing_holder(&project.name))
                        .await?;
                }
                Step::DestroyDedicated(service) => {
                    self.destroy(&service, true).await?;
                }
                Step::ForgetExternal(name) => {
                    self.remove_external(project, &name)?;
                }
                Step::Forget => {}
            }
        }
        self.store.remove_project(&project.name)?;
        self.event(
            &project.name,
            "project-removed",
            if drop_data {
                "with its data (backed up first)"
            } else {
                "its data is kept"
            },
        );
        Ok(backups)
    }

    /// The shared network services join, for `--for container`.
    pub fn network(&self) -> &'static str {
        NETWORK
    }

    /// Admin secret key of a service (for front ends that show who holds what).
    pub fn admin_key(&self, service: &str) -> String {
        admin_secret_key(&self.instance, service)
    }
}

/// What a detach did to the project's user, for the event.
/// The extensions a project's file asks of the service a named target resolved to: those of the
/// file's need of that kind naming that service, or of that version line when it names none.
/// The need in a project's file that a named target stands for.
/// What a project folder's `dockhand.toml` asks for; an error that says what to do when it
/// asks for nothing (or there is no file, or no folder).
fn folder_needs(dir: Option<&Path>) -> Result<Vec<Need>> {
    let config = match dir {
        Some(d) => project_config::read(d)?,
        None => None,
    };
    let needs = config.map(|c| c.needs).unwrap_or_default();
    if needs.is_empty() {
        return Err(CoreError::InvalidInput(format!(
            "nothing to attach: name services (`dockhand attach postgres redis`) or list them in {}",
            project_config::FILE_NAME
        )));
    }
    Ok(needs)
}

fn asked<'a>(file: &'a [Need], target: &Need) -> Option<&'a Need> {
    file.iter().find(|n| {
        n.kind == target.kind
            && match (&n.service, &target.service) {
                (Some(a), Some(b)) => a == b,
                (Some(_), None) => false,
                (None, _) => {
                    target.version.is_empty() || version_matches(&n.version, &target.version)
                }
            }
    })
}

fn extensions_asked(file: &[Need], target: &Need) -> Vec<Extension> {
    asked(file, target)
        .map(|n| n.extensions.clone())
        .unwrap_or_default()
}

fn revoke_note(driver: &dyn crate::drivers::Driver, revoked: bool) -> &'static str {
    match (provision::revoked_on_detach(driver), revoked) {
        (true, true) => "; its user was deleted",
        (true, false) => "; its user was in the stopped server's memory only and is not re-created",
        _ => "",
    }
}

#[cfg(test)]
mod extension_tests {
    use super::*;

    fn need(service: Option<&str>, version: &str, extensions: &[Extension]) -> Need {
        Need {
            kind: Kind::Postgres,
            version: version.into(),
            service: service.map(String::from),
            extensions: extensions.to_vec(),
            dedicated: false,
        }
    }

    #[test]
    fn a_named_target_keeps_the_extensions_the_file_asks_of_it() {
        let file = [need(Some("pg-gis"), "17", &[Extension::Postgis])];
        // The window attaches by the service's name.
        assert_eq!(
            extensions_asked(&file, &need(Some("pg-gis"), "17", &[])),
            [Extension::Postgis]
        );
        assert!(extensions_asked(&file, &need(Some("postgres-17"), "17", &[])).is_empty());
        // A file need without a service: by version line.
        let file = [need(None, "17", &[Extension::Vector])];
        assert_eq!(
            extensions_asked(&file, &need(None, "17", &[])),
            [Extension::Vector]
        );
        assert_eq!(
            extensions_asked(&file, &need(Some("postgres-17-vector"), "17", &[])),
            [Extension::Vector]
        );
        assert!(extensions_asked(&file, &need(None, "15", &[])).is_empty());
    }
}
