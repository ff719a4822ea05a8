//! The databases of one server: what is on it, which project owns each, and creating and
//! dropping one from the window (`dockhand db list|create|drop`). A database created here is a
//! folder-less project of the same name: its own user and password, visible and removable like
//! any other project.

use serde::Serialize;

use super::progress::stamped;
use super::{Manager, ProgressFn, TaskKind};
use crate::error::{CoreError, Result};
use crate::ident::{derive_identifier, validate_project_name};
use crate::store::{AttachmentRow, BackupRow, ServiceRow};

/// One database (Redis: one key prefix) of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseView {
    pub name: String,
    /// The project it belongs to; `None` for one made by hand (or the server's own).
    pub project: Option<String>,
    pub user: Option<String>,
    /// One of the server's own (postgres, mysql, sys, …): never dropped by Dockhand.
    pub server_own: bool,
}

impl Manager {
    /// The service's databases: what the server lists (while it runs), joined with the
    /// projects attached to it. Kinds without SQL databases (Redis, MongoDB) and stopped servers
    /// list the projects' databases only.
    pub async fn databases(&self, service: &str) -> Result<Vec<DatabaseView>> {
        let row = self.resolve(service)?;
        let on_server = if self.is_running(&row.name).await? {
            self.server_database_names(&row).await?
        } else {
            Vec::new()
        };
        self.join_databases(&row, on_server)
    }

    fn join_databases(
        &self,
        row: &ServiceRow,
        on_server: Vec<String>,
    ) -> Result<Vec<DatabaseView>> {
        let atts = self.store.attachments(None, Some(&row.name))?;
        let own = self.server_own(row);
        // A restore's scratch database and a restore point's copy are Dockhand's own, listed
        // where they are meant (`point list`), not as databases of the server.
        let mut out: Vec<DatabaseView> = on_server
            .into_iter()
            .filter(|name| !super::naming::is_restore_scratch(name))
            .map(|name| {
                let att = atts.iter().find(|a| a.db_name == name);
                DatabaseView {
                    server_own: own.contains(&name.as_str()),
                    project: att.map(|a| a.project.clone()),
                    user: att.map(|a| a.db_user.clone()),
                    name,
                }
            })
            .collect();
        for a in &atts {
            if !out.iter().any(|d| d.name == a.db_name) {
                out.push(DatabaseView {
                    name: a.db_name.clone(),
                    project: Some(a.project.clone()),
                    user: Some(a.db_user.clone()),
                    server_own: false,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Creates a database `name` on the service with its own user and password: a folder-less
    /// project called `name`, attached to the service. Refuses a name the server or a project
    /// has already.
    pub async fn create_database(&self, service: &str, name: &str) -> Result<AttachmentRow> {
        let row = self.resolve(service)?;
        validate_project_name(name)?;
        let ident = derive_identifier(name);
        if ident != name {
            return Err(CoreError::InvalidInput(format!(
                "database name {name:?} is not valid: use lowercase letters, digits and '_', \
                 starting with a letter (for example '{ident}')"
            )));
        }
        if self.store.project(name)?.is_some() {
            return Err(CoreError::NameTaken {
                name: name.into(),
                place: "as a project (`dockhand project list` shows it)".into(),
            });
        }
        if let Some(a) = self
            .store
            .attachments(None, Some(&row.name))?
            .into_iter()
            .find(|a| a.db_name == name)
        {
            return Err(CoreError::NameTaken {
                name: name.into(),
                place: format!("on '{}', as project '{}''s database", row.name, a.project),
            });
        }
        // The server must run to be asked what it holds; the lease keeps it up meanwhile.
        let holder = format!("db-create:{}", std::process::id());
        let noop = |_| {};
        let (lease, _) = self.acquire(&row.name, &holder, false, None, &noop).await?;
        let result = async {
            if self
                .server_database_names(&row)
                .await?
                .iter()
                .any(|d| d == name)
            {
                return Err(CoreError::NameTaken {
                    name: name.into(),
                    place: format!("on '{}'", row.name),
                });
            }
            let (project, _) = self.store.add_project(name, None)?;
            self.event(
                name,
                "project-added",
                &format!("project '{name}' (a database created on '{}')", row.name),
            );
            match self.attach_one(&project, &row, &noop).await {
                Ok(att) => Ok(att),
                Err(e) => {
                    // Nothing is left of a database that could not be made.
                    if let Err(r) = self.store.remove_project(name) {
                        tracing::warn!(
                            "could not remove project '{name}' after a failed create: {r}"
                        );
                    }
                    Err(e)
                }
            }
        }
        .await;
        if let Err(e) = self.release(&lease).await {
            tracing::warn!("could not release the create lease: {e}");
        }
        result
    }

    /// Drops database `name` of the service after backing it up (no backup, no drop). A
    /// project's database goes with its user and attachment, as `project remove --drop-data`
    /// does (a folder-less project left with nothing is removed); one made by hand with the
    /// server's drop statement; the server's own are refused. Re-running after an interruption
    /// finishes the job. The backup, when one was taken.
    pub async fn drop_database(
        &self,
        service: &str,
        name: &str,
        progress: &ProgressFn<'_>,
    ) -> Result<Option<BackupRow>> {
        let progress = &stamped(TaskKind::Backup, progress);
        let row = self.resolve(service)?;
        if self.server_own(&row).contains(&name) {
            return Err(CoreError::ServerDatabase {
                service: row.name.clone(),
                name: name.into(),
            });
        }
        let holder = format!("db-drop:{}", std::process::id());
        let att = self
            .store
            .attachments(None, Some(&row.name))?
            .into_iter()
            .find(|a| a.db_name == name);
        if let Some(att) = att {
            if !row.kind.spec().drops_project_data {
                return Err(CoreError::InvalidInput(format!(
                    "dropping a project's data is not supported for {} yet; nothing was deleted",
                    row.kind.spec().display_name
                )));
            }
            let backup = self.drop_attachment_data(&att, &holder, progress).await?;
            self.remove_if_emptied(&att.project)?;
            return Ok(backup);
        }
        // A run killed between forgetting the attachment and removing its project.
        if self.remove_if_emptied(name)? {
            return Ok(None);
        }
        self.sql_of(&row)?;
        let noop = |_| {};
        let (lease, _) = self.acquire(&row.name, &holder, false, None, &noop).await?;
        let result = async {
            if !self
                .server_database_names(&row)
                .await?
                .iter()
                .any(|d| d == name)
            {
                return Err(CoreError::UnknownDatabase {
                    service: row.name.clone(),
                    name: name.into(),
                });
            }
            let pw = self.admin_password(&row.name)?;
            let backup = match self
                .backup_one(&row, pw.expose(), name, "before dropping it", progress)
                .await
            {
                Ok(b) => b,
                // Gone while we looked: an earlier, killed run's DROP finishing in the server
                // (it backed the database up first).
                Err(_)
                    if !self
                        .server_database_names(&row)
                        .await?
                        .iter()
                        .any(|d| d == name) =>
                {
                    return Err(CoreError::UnknownDatabase {
                        service: row.name.clone(),
                        name: name.into(),
                    })
                }
                Err(e) => return Err(e),
            };
            let statement = self.sql_of(&row)?.drop_database(name);
            self.run_sql(&row, pw.expose(), &statement).await?;
            self.event(
                &row.name,
                "dropped",
                &format!("database '{name}' (backup: {})", backup.path),
            );
            Ok(Some(backup))
        }
        .await;
        if let Err(e) = self.release(&lease).await {
            tracing::warn!("could not release the drop lease: {e}");
        }
        result
    }

    /// Removes a folder-less project with no attachments left (what `db drop` of its database
    /// leaves behind). Whether it did.
    fn remove_if_emptied(&self, project: &str) -> Result<bool> {
        let Some(p) = self.store.project(project)? else {
            return Ok(false);
        };
        if p.path.is_some() || !self.store.attachments(Some(project), None)?.is_empty() {
            return Ok(false);
        }
        self.store.remove_project(project)?;
        self.event(project, "project-removed", "its only database was dropped");
        Ok(true)
    }

    /// What the (running) server lists, for kinds with SQL databases; nothing for the others.
    async fn server_database_names(&self, row: &ServiceRow) -> Result<Vec<String>> {
        if self.driver(row.kind).sql().is_none() {
            return Ok(Vec::new());
        }
        let pw = self.admin_password(&row.name)?;
        self.list_databases(row, pw.expose()).await
    }

    fn server_own(&self, row: &ServiceRow) -> &'static [&'static str] {
        self.driver(row.kind)
            .sql()
            .map_or(&[], |s| s.server_databases())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::engine::fake::FakeEngine;
    use crate::home::Home;
    use crate::secrets::MemorySecretStore;
    use crate::store::{NewService, Store};
    use crate::Kind;

    fn manager() -> (Manager, tempfile::TempDir) {
        let t = tempfile::tempdir().unwrap();
        let m = Manager::new(
            Home::open(t.path().join("home")).unwrap(),
            Store::open_in_memory().unwrap(),
            Arc::new(FakeEngine::default()),
            Arc::new(MemorySecretStore::default()),
        )
        .unwrap();
        let new = NewService {
            name: "pg",
            kind: Kind::Postgres,
            version: "15",
            image: "postgres:15",
            port_explicit: false,
            pinned: false,
            volume: None,
        };
        m.store.claim_service(&new, |_| Ok(5432)).unwrap();
        m.store.add_project("shop", Some("/tmp/shop")).unwrap();
        m.store
            .attach("shop", "pg", "postgres", "shop", "shop_1")
            .unwrap();
        (m, t)
    }

    #[tokio::test]
    async fn the_server_listing_is_joined_with_the_projects() {
        let (m, _t) = manager();
        let row = m.resolve("pg").unwrap();
        let got = m
            .join_databases(
                &row,
                vec!["postgres".into(), "shop".into(), "legacy".into()],
            )
            .unwrap();
        let want = |n: &str, p: Option<&str>, own| DatabaseView {
            name: n.into(),
            project: p.map(String::from),
            user: p.map(|_| "shop".to_string()),
            server_own: own,
        };
        assert_eq!(
            got,
            [
                want("legacy", None, false),
                want("postgres", None, true),
                want("shop", Some("shop"), false)
            ]
        );
        // A stopped server: the projects' databases only.
        assert_eq!(
            m.databases("pg").await.unwrap(),
            [want("shop", Some("shop"), false)]
        );
    }

    #[tokio::test]
    async fn names_in_use_and_the_servers_own_are_refused_before_anything_runs() {
        let (m, _t) = manager();
        let e = m.create_database("pg", "shop").await.unwrap_err();
        assert_eq!(e.code(), "name_taken", "{e}");
        assert!(e.to_string().contains("as a project"), "{e}");
        let e = m.create_database("pg", "My-DB").await.unwrap_err();
        assert!(e.to_string().contains("'my_db'"), "{e}");
        let e = m
            .drop_database("pg", "postgres", &|_| {})
            .await
            .unwrap_err();
        assert_eq!(e.code(), "server_database", "{e}");
        assert_eq!(e.exit_code(), 2);
    }

    #[tokio::test]
    async fn an_interrupted_drop_is_finished_by_the_next_run() {
        let (m, _t) = manager();
        // Killed after the attachment was forgotten, before its folder-less project went.
        m.store.add_project("tmpdb", None).unwrap();
        assert_eq!(m.drop_database("pg", "tmpdb", &|_| {}).await.unwrap(), None);
        assert!(m.store.project("tmpdb").unwrap().is_none());
        // A project with a folder is never removed that way.
        assert!(!m.remove_if_emptied("shop").unwrap());
    }
}
