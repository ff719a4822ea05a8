//! What Dockhand knows about each kind of database server: which image, which versions, where it
//! keeps its data, how its admin credentials are passed in, and how to tell it is ready.
//! Each kind's values live in its driver (`crate::drivers`); this module holds the shared shape
//! and the parsing of `kind[:version]`.

pub mod extensions;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::drivers::{ContainerSetup, Kind, KindSpec, PORT_RANGE};
use crate::error::{CoreError, Result};

impl Kind {
    pub fn spec(self) -> &'static KindSpec {
        self.driver().spec()
    }

    /// The stable name used in labels, the store and on the command line.
    pub fn as_str(self) -> &'static str {
        self.spec().id
    }

    pub fn parse(s: &str) -> Result<Kind> {
        let lower = s.to_ascii_lowercase();
        Kind::ALL
            .into_iter()
            .find(|k| k.spec().id == lower || k.spec().aliases.contains(&lower.as_str()))
            .ok_or_else(|| {
                let names = Kind::ALL.map(|k| k.as_str());
                let hint = crate::suggest::closest(s, names)
                    .map(|k| format!("did you mean {k}? "))
                    .unwrap_or_default();
                CoreError::InvalidInput(format!(
                    "unknown service kind {s:?}; {hint}Dockhand runs {}",
                    names.join(", ")
                ))
            })
    }

    /// Everything a container of this kind needs at creation: environment, command line and the
    /// files (secrets, config) placed into it before its first start.
    pub fn container_setup(
        self,
        version: &str,
        admin_password: &str,
        run: &crate::drivers::RunOptions,
    ) -> ContainerSetup {
        self.driver().container_setup(version, admin_password, run)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind and a version, as in `postgres:15`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub kind: Kind,
    pub version: String,
}

impl ServiceSpec {
    /// Parses `kind` or `kind:version` (`pg:15`, `redis`, `mariadb:10.11`).
    pub fn parse(s: &str) -> Result<ServiceSpec> {
        let (kind, version) = match s.split_once(':') {
            Some((k, v)) => (Kind::parse(k)?, Some(v)),
            None => (Kind::parse(s)?, None),
        };
        let version = match version {
            Some(v) => validate_version(kind, v)?,
            None => kind.spec().default_version.to_string(),
        };
        Ok(ServiceSpec { kind, version })
    }

    /// The official image for this kind and version.
    pub fn default_image(&self) -> String {
        format!(
            "{}:{}",
            self.kind.spec().image_repo,
            self.kind.driver().image_tag(&self.version)
        )
    }

    /// The name a service gets when the user does not choose one: `postgres-15`, `mariadb-10-11`.
    pub fn default_name(&self) -> String {
        let v: String = self
            .version
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        format!("{}-{}", self.kind.as_str(), v)
    }
}

impl fmt::Display for ServiceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.version)
    }
}

fn validate_version(kind: Kind, v: &str) -> Result<String> {
    let spec = kind.spec();
    let well_formed = !v.is_empty()
        && v.len() <= 32
        && v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let known = spec.versions.iter().any(|s| {
        v == *s
            || v.strip_prefix(s)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('-'))
    });
    if well_formed && known {
        Ok(v.to_string())
    } else {
        Err(CoreError::InvalidInput(format!(
            "{} version {v:?} is not supported; choose one of {} (default {})",
            spec.display_name,
            spec.versions.join(", "),
            spec.default_version
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kinds_aliases_and_versions() {
        let s = ServiceSpec::parse("pg:15").unwrap();
        assert_eq!((s.kind, s.version.as_str()), (Kind::Postgres, "15"));
        assert_eq!(s.default_image(), "postgres:15");
        assert_eq!(s.default_name(), "postgres-15");
        let s = ServiceSpec::parse("MariaDB:10.11").unwrap();
        assert_eq!(s.default_name(), "mariadb-10-11");
        assert_eq!(
            ServiceSpec::parse("mongodb").unwrap().default_image(),
            "mongo:8"
        );
        assert_eq!(ServiceSpec::parse("postgres").unwrap().version, "18");
        // SQL Server's version lines are its moving `-latest` tags; a precise tag stays as is.
        let s = ServiceSpec::parse("sqlserver:2019").unwrap();
        assert_eq!(
            s.default_image(),
            "mcr.microsoft.com/mssql/server:2019-latest"
        );
        assert_eq!(s.default_name(), "mssql-2019");
        assert_eq!(
            ServiceSpec::parse("mssql:2022-CU14-ubuntu-22.04")
                .unwrap()
                .default_image(),
            "mcr.microsoft.com/mssql/server:2022-CU14-ubuntu-22.04"
        );
        assert!(ServiceSpec::parse("mssql:2017").is_err());
        assert_eq!(ServiceSpec::parse("postgres:15.4").unwrap().version, "15.4");
        assert_eq!(
            ServiceSpec::parse("redis:7-alpine").unwrap().version,
            "7-alpine"
        );
    }

    #[test]
    fn defaults_match_the_current_official_images() {
        let images: Vec<String> = Kind::ALL
            .iter()
            .map(|k| ServiceSpec::parse(k.as_str()).unwrap().default_image())
            .collect();
        assert_eq!(
            images,
            [
                "postgres:18",
                "redis:8",
                "mariadb:11",
                "mysql:9",
                "mongo:8",
                "valkey/valkey:9",
                "mcr.microsoft.com/mssql/server:2022-latest"
            ]
        );
    }

    /// The tags of the images the test suite runs for real (tests/images/build-images.sh, its
    /// IMAGES list: `"tags|recipe|release|args"` lines), by kind.
    fn images_the_suite_runs() -> Vec<(Kind, String)> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/images/build-images.sh"
        );
        let script = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let list = script
            .split_once("\nIMAGES=(\n")
            .and_then(|(_, rest)| rest.split_once("\n)"))
            .unwrap_or_else(|| panic!("{path} has no IMAGES=( … ) list"))
            .0;
        let mut out = Vec::new();
        for line in list.lines().map(str::trim).filter(|l| l.starts_with('"')) {
            let tags = line.trim_matches('"').split('|').next().unwrap_or("");
            for tag in tags.split_whitespace() {
                let (repo, version) = tag.rsplit_once(':').unwrap();
                if let Some(kind) = Kind::ALL.into_iter().find(|k| k.spec().image_repo == repo) {
                    out.push((kind, version.to_string()));
                }
            }
        }
        out
    }

    fn version_key(v: &str) -> Vec<u32> {
        v.split(['.', '-']).map_while(|p| p.parse().ok()).collect()
    }

    /// What a user gets without naming a version is the newest major the suite runs for real,
    /// so that a default cannot fall a major behind again unnoticed: adding a newer test image
    /// fails here until the default follows (or the catalog says why not). Kinds with no image in
    /// the suite (MongoDB, SQL Server: contract-tested) are not checked.
    #[test]
    fn each_default_is_the_newest_major_the_suite_runs_for_real() {
        let images = images_the_suite_runs();
        assert!(images.len() >= 8, "{images:?}");
        for kind in Kind::ALL {
            let Some(newest) = images
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, v)| v)
                .max_by_key(|v| version_key(v))
            else {
                continue;
            };
            let default = kind.spec().default_version;
            assert!(
                newest == default || newest.starts_with(&format!("{default}.")),
                "{kind}: the default version is {default}, but the test images run {newest}: \
                 make {newest}'s major the default (what users get) or drop the newer image"
            );
        }
    }

    #[test]
    fn refuses_unknown_kinds_and_versions_with_the_choices() {
        let e = ServiceSpec::parse("oracle").unwrap_err().to_string();
        assert!(
            e.contains("unknown service kind") && e.contains("postgres, redis"),
            "{e}"
        );
        let e = ServiceSpec::parse("postgres:9").unwrap_err().to_string();
        assert!(e.contains("not supported") && e.contains("18"), "{e}");
        for bad in [
            "postgres:",
            "postgres:15;rm",
            "postgres:latest",
            "redis:7 ",
            "pg:150",
        ] {
            assert!(ServiceSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_kind_hands_its_password_over_in_a_file_not_the_environment() {
        for kind in Kind::ALL {
            let setup = kind.container_setup(
                kind.spec().default_version,
                "s3cret-pw",
                &Default::default(),
            );
            let leaked = setup
                .env
                .iter()
                .chain(setup.cmd.iter())
                .any(|s| s.contains("s3cret-pw"));
            assert!(!leaked, "{kind}: password in env or command line");
            let in_file = setup
                .files
                .iter()
                .any(|f| String::from_utf8_lossy(&f.contents).contains("s3cret-pw"));
            assert!(in_file, "{kind}: password not handed over at all");
            for f in &setup.files {
                assert_eq!(f.mode & 0o077, 0, "{kind}: {} readable by others", f.path);
            }
        }
    }
}
