//! A project's database on a server Dockhand does not run (a team's staging server, a hosted
//! database): `dockhand external add postgres` takes its URL, checks that it logs in, and from
//! then on hands it out with the project's other variables (`env`, `run`, `.env`, the window).
//! Dockhand never starts, stops, provisions or backs up such a server; it only probes it.
//!
//! The URL — with its password — goes to the keychain; the store keeps where the database is
//! (host, port, database, user) for listing.

use std::time::Duration;

use serde::Serialize;

use super::naming::external_secret_key;
use super::Manager;
use crate::catalog::Kind;
use crate::drivers::UrlDatabase;
use crate::error::{CoreError, Result};
use crate::probe::{probe_with, ProbeTarget};
use crate::secrets::Secret;
use crate::store::{ExternalRow, ProjectRow};

/// How long the login check of an external server may take (a server across the internet).
const LOGIN_LIMIT: Duration = Duration::from_secs(10);

/// An external database and whether it answers now.
#[derive(Debug, Clone, Serialize)]
pub struct ExternalView {
    #[serde(flatten)]
    pub row: ExternalRow,
    /// `None`: it logged in; else why not.
    pub problem: Option<String>,
}

/// Why an external server did not log the URL's user in. A refused password is the URL's
/// (the probe's own words speak of the admin password of a server Dockhand created).
fn login_problem(e: &crate::drivers::ProbeError) -> String {
    match e {
        crate::drivers::ProbeError::Auth(said) => {
            format!("the server refused the URL's user and password: {said}")
        }
        other => other.to_string(),
    }
}

/// The parts of a URL Dockhand needs, checked against the kind it is said to be.
#[derive(Debug, PartialEq, Eq)]
struct Parsed {
    host: String,
    port: u16,
    database: String,
    user: String,
    password: String,
}

/// The URL schemes each kind's clients take (driver data).
fn schemes(kind: Kind) -> &'static [&'static str] {
    kind.spec().url_schemes
}

fn parse(kind: Kind, url: &str) -> std::result::Result<Parsed, String> {
    if schemes(kind).is_empty() {
        return Err(format!(
            "Dockhand does not take external {} databases yet (their connection strings are not URLs)",
            kind.spec().display_name
        ));
    }
    let u = url::Url::parse(url.trim()).map_err(|e| {
        format!(
            "it is not a URL ({e}); write it as {}://USER:PASSWORD@HOST:PORT/DATABASE",
            schemes(kind)[0]
        )
    })?;
    if !schemes(kind).contains(&u.scheme()) {
        return Err(format!(
            "it starts with {}://, which is not a {} URL ({}://…)",
            u.scheme(),
            kind.spec().display_name,
            schemes(kind).join("://… or ")
        ));
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let host = u
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("it names no host")?
        .trim_matches(['[', ']'])
        .to_string();
    let password = u
        .password()
        .map(decode)
        .filter(|p| !p.is_empty())
        .ok_or("it has no password (USER:PASSWORD@HOST); Dockhand does not hand out databases anyone can open")?;
    let user = match decode(u.username()) {
        u if !u.is_empty() => u,
        // `redis://:password@host` is the old AUTH form: Redis's default user.
        _ if kind.spec().url_database == UrlDatabase::Numbered => "default".to_string(),
        _ => return Err("it names no user (USER:PASSWORD@HOST)".into()),
    };
    let path = decode(u.path().trim_start_matches('/'));
    let database = match kind.spec().url_database {
        UrlDatabase::Numbered => {
            if !path.is_empty() && path.parse::<u8>().is_err() {
                return Err(format!("/{path} is not a Redis database number (0–15)"));
            }
            path
        }
        _ if path.is_empty() => {
            return Err("it names no database (…@HOST:PORT/DATABASE)".into());
        }
        _ => path,
    };
    Ok(Parsed {
        host,
        port: u.port().unwrap_or(kind.spec().container_port),
        database,
        user,
        password,
    })
}

/// The password in an external database's URL (for the variables besides the URL).
pub(super) fn password_of(kind: Kind, url: &Secret) -> Result<Secret> {
    parse(kind, url.expose())
        .map(|p| Secret::new(p.password))
        .map_err(CoreError::InvalidInput)
}

impl Manager {
    /// Adds a project's database on a server Dockhand does not run. The URL must log in now
    /// (as the user it names); a refusal records nothing.
    pub async fn add_external(
        &self,
        project: &ProjectRow,
        kind: Kind,
        url: &Secret,
        name: Option<&str>,
    ) -> Result<ExternalRow> {
        let bad = |why: String| CoreError::InvalidInput(format!("the external {kind} URL: {why}"));
        let p = parse(kind, url.expose()).map_err(bad)?;
        let name = match name {
            Some(n) => n.to_string(),
            None => format!(
                "{}-ext",
                super::naming::dedicated_service_name(&project.name, kind)
            ),
        };
        crate::names::validate_service_name(&name)?;
        if self.store.service(&name)?.is_some() || self.store.external(&name)?.is_some() {
            return Err(CoreError::InvalidInput(format!(
                "'{name}' is taken by a service or another external database; choose a name with --name"
            )));
        }
        let target = ProbeTarget {
            host: p.host.clone(),
            port: p.port,
            user: p.user.clone(),
            password: p.password.clone(),
        };
        probe_with(self.driver(kind), &target, LOGIN_LIMIT)
            .await
            .map_err(|e| {
                CoreError::InvalidInput(format!(
                    "the external {kind} at {}:{} did not log in as '{}' ({}); nothing was recorded — check the URL \
                     and that this machine can reach it",
                    p.host,
                    p.port,
                    p.user,
                    login_problem(&e)
                ))
            })?;
        // The keychain first: a process killed after it leaves an entry a later add under this
        // name overwrites, never a row without its URL.
        let key = external_secret_key(&self.instance, &name);
        self.secrets.put(&key, &Secret::new(url.expose().trim()))?;
        let row = ExternalRow {
            name: name.clone(),
            project: project.name.clone(),
            kind: kind.as_str().into(),
            host: p.host,
            port: p.port,
            db_name: p.database,
            db_user: p.user,
            created_at_ms: 0,
        };
        if !self.store.add_external(&row)? {
            let _ = self.secrets.delete(&key);
            return Err(CoreError::InvalidInput(format!(
                "'{name}' was taken meanwhile; choose a name with --name"
            )));
        }
        self.event(
            &project.name,
            "external-added",
            &format!(
                "external {kind} database '{}' at {}:{} as '{}' ({name})",
                row.db_name, row.host, row.port, row.db_user
            ),
        );
        Ok(row)
    }

    /// A project's external databases (every project's when `None`), each probed now as its
    /// user, within a deadline: `problem` says why one does not answer.
    pub async fn externals(&self, project: Option<&str>) -> Result<Vec<ExternalView>> {
        let rows = self.store.externals(project)?;
        let checks = rows.into_iter().map(|row| async move {
            let problem = match self.external_target(&row) {
                Ok((kind, target)) => probe_with(self.driver(kind), &target, LOGIN_LIMIT)
                    .await
                    .err()
                    .map(|e| login_problem(&e)),
                Err(e) => Some(e.to_string()),
            };
            ExternalView { row, problem }
        });
        Ok(futures_util::future::join_all(checks).await)
    }

    fn external_target(&self, row: &ExternalRow) -> Result<(Kind, ProbeTarget)> {
        let kind = Kind::parse(&row.kind)?;
        let p = parse(kind, self.external_url(row)?.expose()).map_err(CoreError::InvalidInput)?;
        Ok((
            kind,
            ProbeTarget {
                host: p.host,
                port: p.port,
                user: p.user,
                password: p.password,
            },
        ))
    }

    /// The project an external database belongs to.
    pub fn external_project(&self, name: &str) -> Result<String> {
        self.store
            .external(name)?
            .map(|e| e.project)
            .ok_or_else(|| {
                CoreError::InvalidInput(format!(
                    "no external database named '{name}'; `dockhand external list` shows them"
                ))
            })
    }

    /// Why `name`, an external database, is not a service Dockhand can start, stop or back up.
    pub(super) fn not_a_service(&self, name: &str) -> Result<Option<CoreError>> {
        Ok(self.store.external(name)?.map(|e| {
            CoreError::InvalidInput(format!(
                "'{name}' is project '{}''s external {} database at {}:{}: Dockhand hands out its URL but does not \
                 run it, so it does not start, stop or back it up — use its provider's backups, or dump it \
                 yourself (`dockhand run -p {} -- pg_dump \"$DATABASE_URL\"`)",
                e.project, e.kind, e.host, e.port, e.project
            ))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_people_paste() {
        let p = parse(
            Kind::Postgres,
            "postgresql://app:p%40ss@db.example.com:6543/shop?sslmode=require",
        )
        .unwrap();
        assert_eq!(
            p,
            Parsed {
                host: "db.example.com".into(),
                port: 6543,
                database: "shop".into(),
                user: "app".into(),
                password: "p@ss".into(),
            }
        );
        assert_eq!(
            parse(Kind::Postgres, "postgres://a:b@h/d").unwrap().port,
            5432
        );
        let r = parse(Kind::Redis, "redis://:secret@cache:6380/2").unwrap();
        assert_eq!((r.user.as_str(), r.database.as_str()), ("default", "2"));
        let m = parse(Kind::Mariadb, "mysql://u:p@[::1]:3307/app").unwrap();
        assert_eq!((m.host.as_str(), m.port), ("::1", 3307));
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        for (kind, url, want) in [
            (Kind::Postgres, "db.example.com/shop", "not a URL"),
            (
                Kind::Postgres,
                "db.example.com:5432",
                "not a PostgreSQL URL",
            ),
            (Kind::Postgres, "mysql://u:p@h/d", "not a PostgreSQL URL"),
            (Kind::Postgres, "postgres://u@h/d", "no password"),
            (Kind::Postgres, "postgres://:p@h/d", "no user"),
            (Kind::Postgres, "postgres://u:p@h:5432", "no database"),
            (Kind::Redis, "redis://:p@h/cache", "database number"),
        ] {
            let e = parse(kind, url).unwrap_err();
            assert!(e.contains(want), "{url}: {e}");
        }
    }
}
