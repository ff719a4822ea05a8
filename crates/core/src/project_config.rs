//! `dockhand.toml`, the file in a project's folder that says which services it needs:
//!
//! ```toml
//! name = "shop"            # optional; default: the folder's name
//! [services]
//! postgres = "16"          # a version line: 16, 16.x and 16.* all mean "any 16"
//! redis = "7"
//! mariadb = { version = "10.11", service = "maria-main" }   # or name the service to use
//! # postgres = { version = "17", extensions = ["vector"] }  # created in the project's database
//! # postgres = { version = "16", dedicated = true }          # a server of its own
//! [env]                    # optional: rename or leave out any variable Dockhand sets
//! DATABASE_URL = "PRIMARY_DATABASE_URL"
//! PGPASSWORD = false
//! [branches]               # optional: a database per git branch (PostgreSQL)
//! enabled = true
//! main = "main"            # the branch whose data is the project's own database
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::catalog::extensions::{self, Extension};
use crate::catalog::Kind;
use crate::env::EnvMapping;
use crate::error::{CoreError, Result};

pub const FILE_NAME: &str = "dockhand.toml";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub kind: Kind,
    /// A version line ("16", "10.11"), or empty for "any".
    pub version: String,
    /// A specific service to use.
    pub service: Option<String>,
    /// PostgreSQL extensions created in the project's database (by the admin) when it attaches.
    pub extensions: Vec<Extension>,
    /// A server of the project's own (named after it) rather than the shared one.
    pub dedicated: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ProjectConfig {
    pub name: Option<String>,
    pub needs: Vec<Need>,
    /// How the project wants its variables named (`[env]`).
    pub env: EnvMapping,
    /// A database per git branch (`[branches]`), when the project opts in.
    pub branches: Option<Branches>,
}

/// `[branches]`: each git branch gets its own copy of the project's PostgreSQL databases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branches {
    /// The branch whose data is the project's own database; `None`: the repository's default
    /// branch (`origin/HEAD`, else `main` or `master`).
    pub main: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBranches {
    enabled: bool,
    main: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: Option<String>,
    #[serde(default)]
    services: toml::Table,
    #[serde(default)]
    env: toml::Table,
    branches: Option<RawBranches>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNeed {
    version: Option<String>,
    service: Option<String>,
    #[serde(default)]
    extensions: Vec<String>,
    #[serde(default)]
    dedicated: bool,
}

/// "16.x" / "16.*" / "16" → "16"; "*" or "" → any.
pub fn version_line(v: &str) -> String {
    let v = v.trim();
    let v = v
        .strip_suffix(".x")
        .or_else(|| v.strip_suffix(".*"))
        .unwrap_or(v);
    if v == "*" {
        String::new()
    } else {
        v.to_string()
    }
}

/// Whether a service's version is on a version line.
pub fn version_matches(line: &str, version: &str) -> bool {
    line.is_empty()
        || version == line
        || version
            .strip_prefix(line)
            .is_some_and(|r| r.starts_with('.') || r.starts_with('-'))
}

pub fn parse(text: &str, origin: &str) -> Result<ProjectConfig> {
    let bad = |why: String| CoreError::InvalidInput(format!("{origin}: {why}"));
    let raw: Raw = toml::from_str(text)
        .map_err(|e| bad(e.message().to_string() + &location(text, e.span())))?;
    let mut needs = Vec::new();
    for (key, value) in raw.services {
        let kind = Kind::parse(&key).map_err(|e| bad(e.to_string()))?;
        let (version, service, wanted, dedicated) = match value {
            toml::Value::String(v) => (v, None, Vec::new(), false),
            toml::Value::Integer(i) => (i.to_string(), None, Vec::new(), false),
            toml::Value::Float(f) => (f.to_string(), None, Vec::new(), false),
            table @ toml::Value::Table(_) => {
                let n: RawNeed = table.try_into().map_err(|e: toml::de::Error| {
                    bad(format!("[services] {key}: {}", e.message()))
                })?;
                (
                    n.version.unwrap_or_default(),
                    n.service,
                    n.extensions,
                    n.dedicated,
                )
            }
            other => {
                return Err(bad(format!(
                    "[services] {key} = {other} is not a version; write e.g. {key} = \"{}\"",
                    kind.spec().default_version
                )))
            }
        };
        let line = version_line(&version);
        if !line.is_empty() && crate::catalog::ServiceSpec::parse(&format!("{key}:{line}")).is_err()
        {
            return Err(bad(format!(
                "{} version {version:?} is not supported; choose one of {}",
                kind.spec().display_name,
                kind.spec().versions.join(", ")
            )));
        }
        if let Some(s) = &service {
            crate::names::validate_service_name(s)
                .map_err(|e| bad(format!("[services] {key}: {e}")))?;
        }
        let extensions = extensions::parse_list(kind, &wanted)
            .map_err(|e| bad(format!("[services] {key}: {e}")))?;
        needs.push(Need {
            kind,
            version: line,
            service,
            extensions,
            dedicated,
        });
    }
    if let Some(name) = &raw.name {
        crate::ident::validate_project_name(name).map_err(|e| bad(format!("name: {e}")))?;
    }
    let env = EnvMapping::from_table(&raw.env).map_err(bad)?;
    let branches = match raw.branches {
        Some(b) if b.enabled => {
            if let Some(m) = &b.main {
                if m.trim().is_empty() {
                    return Err(bad("[branches] main is empty; name a branch, or leave it out for the repository's default".into()));
                }
            }
            Some(Branches { main: b.main })
        }
        _ => None,
    };
    Ok(ProjectConfig {
        name: raw.name,
        needs,
        env,
        branches,
    })
}

fn location(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| {
        let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
        format!(" (line {line})")
    })
    .unwrap_or_default()
}

pub fn read(dir: &Path) -> Result<Option<ProjectConfig>> {
    let path = dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text, &path.display().to_string()).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CoreError::file(&path, "read", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_users_write() {
        let c = parse(
            "name = \"shop\"\n[services]\npostgres = \"16.x\"\nredis = 7\nmariadb = { version = \"10.11\", service = \"maria-main\" }\n",
            "dockhand.toml",
        )
        .unwrap();
        assert_eq!(c.name.as_deref(), Some("shop"));
        assert!(c.needs.contains(&Need {
            kind: Kind::Postgres,
            version: "16".into(),
            service: None,
            extensions: vec![],
            dedicated: false,
        }));
        assert!(c.needs.contains(&Need {
            kind: Kind::Redis,
            version: "7".into(),
            service: None,
            extensions: vec![],
            dedicated: false,
        }));
        assert!(c.needs.contains(&Need {
            kind: Kind::Mariadb,
            version: "10.11".into(),
            service: Some("maria-main".into()),
            extensions: vec![],
            dedicated: false,
        }));
    }

    #[test]
    fn branches_are_opted_into() {
        let c = parse("[branches]\nenabled = true\n", "dockhand.toml").unwrap();
        assert_eq!(c.branches, Some(Branches { main: None }));
        let c = parse("[branches]\nenabled = true\nmain = \"trunk\"\n", "f").unwrap();
        assert_eq!(c.branches.unwrap().main.as_deref(), Some("trunk"));
        assert!(parse("[branches]\nenabled = false\n", "f")
            .unwrap()
            .branches
            .is_none());
        assert!(parse("", "f").unwrap().branches.is_none());
        for bad in [
            "[branches]\nenable = true",
            "[branches]\nenabled = true\nmain = \"\"",
        ] {
            let e = parse(bad, "dockhand.toml").unwrap_err().to_string();
            assert!(
                e.contains("branches") || e.contains("enable"),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn dedicated_is_read_and_defaults_to_shared() {
        let c = parse(
            "[services]\npostgres = { version = \"16\", dedicated = true }\nredis = \"7\"\n",
            "dockhand.toml",
        )
        .unwrap();
        let pg = c.needs.iter().find(|n| n.kind == Kind::Postgres).unwrap();
        let redis = c.needs.iter().find(|n| n.kind == Kind::Redis).unwrap();
        assert!(pg.dedicated && !redis.dedicated);
        let e = parse(
            "[services]\npostgres = { dedicated = \"yes\" }",
            "dockhand.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("postgres"), "{e}");
    }

    #[test]
    fn extensions_are_read_for_postgres_only() {
        let c = parse(
            "[services]\npostgres = { version = \"17\", extensions = [\"postgis\", \"pgvector\"] }\n",
            "dockhand.toml",
        )
        .unwrap();
        assert_eq!(
            c.needs[0].extensions,
            [Extension::Vector, Extension::Postgis]
        );
        for (text, want) in [
            (
                "[services]\npostgres = { extensions = [\"timescaledb\"] }",
                "unknown extension \"timescaledb\"; Dockhand knows vector (also pgvector), postgis",
            ),
            (
                "[services]\nredis = { extensions = [\"vector\"] }",
                "PostgreSQL only",
            ),
            (
                "[services]\npostgres = { extensions = \"vector\" }",
                "postgres",
            ),
        ] {
            let e = parse(text, "dockhand.toml").unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn bad_files_get_a_message_with_the_place() {
        for (text, want) in [
            ("[services\npostgres = 16", "line"),
            ("[services]\noracle = \"19\"", "unknown service kind"),
            ("[services]\npostgres = \"9\"", "not supported"),
            ("[services]\npostgres = [16]", "is not a version"),
            ("[services]\npostgres = { version = 16 }", "postgres"),
            ("nmae = \"typo\"", "unknown field"),
            (
                "[services]\nredis = { service = \"Bad Name\" }",
                "not valid",
            ),
        ] {
            let e = parse(text, "dockhand.toml").unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn an_env_table_renames_and_leaves_out_variables() {
        let c = parse(
            "[services]\npostgres = \"16\"\n[env]\nDATABASE_URL = \"PRIMARY_DATABASE_URL\"  # rename\nPGPASSWORD = false\n",
            "dockhand.toml",
        )
        .unwrap();
        assert_eq!(c.env.name_of("DATABASE_URL"), Some("PRIMARY_DATABASE_URL"));
        assert_eq!(c.env.name_of("PGPASSWORD"), None);
        assert_eq!(c.env.name_of("PGHOST"), Some("PGHOST"));
        // No [env]: every variable under its own name.
        let c = parse("[services]\npostgres = \"16\"\n", "dockhand.toml").unwrap();
        assert!(c.env.is_default());
    }

    #[test]
    fn env_table_mistakes_name_the_file_and_the_entry() {
        for (text, want) in [
            (
                "[env]\nDATABASE_ULR = \"X\"",
                "shop/dockhand.toml: [env] DATABASE_ULR is not a variable Dockhand sets; did you mean DATABASE_URL?",
            ),
            (
                "[env]\nDATABASE_URL = \"REDIS_URL\"",
                "shop/dockhand.toml: [env] DATABASE_URL = \"REDIS_URL\": REDIS_URL is already one of Dockhand's variables",
            ),
            (
                "[env]\nDB_HOST = \"HOST\"\nPGHOST = \"HOST\"",
                "DB_HOST and PGHOST are both renamed to HOST",
            ),
            ("[env]\nPGHOST = [\"A\"]", "[env] PGHOST = [\"A\"]: write a new name"),
            ("env = 3", "invalid type"),
        ] {
            let e = parse(text, "shop/dockhand.toml").unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn version_lines_match_precise_versions() {
        assert!(version_matches("16", "16"));
        assert!(version_matches("16", "16.4"));
        assert!(!version_matches("16", "161"));
        assert!(version_matches("", "15"));
        assert_eq!(version_line("16.*"), "16");
        assert_eq!(version_line("*"), "");
    }
}
