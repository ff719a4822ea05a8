//! PostgreSQL extensions a service can be created with (`dockhand up postgres:17 --with pgvector`,
//! `extensions = ["vector"]` in `dockhand.toml`), and which image carries them.
//!
//! The plain `postgres` image has neither; each comes in the image its project publishes, `FROM
//! postgres:<major>` plus the extension: `pgvector/pgvector:pg<major>` and
//! `postgis/postgis:<major>-<postgis>`. No official image carries both (postgis/docker-postgis
//! #455: its maintainers suggest building one), so asking for both needs `--image`.

use std::fmt;

use serde::Serialize;

use super::{Kind, ServiceSpec};

/// An extension Dockhand knows which image carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Extension {
    /// pgvector: the `vector` type and its distance operators.
    Vector,
    /// PostGIS: geometry and geography types and functions.
    Postgis,
}

impl Extension {
    pub const ALL: [Extension; 2] = [Extension::Vector, Extension::Postgis];

    /// The name `CREATE EXTENSION` takes; also how the store and `dockhand.toml` spell it.
    pub fn sql_name(self) -> &'static str {
        match self {
            Extension::Vector => "vector",
            Extension::Postgis => "postgis",
        }
    }

    /// Other names accepted for it (the project's own name).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Extension::Vector => &["pgvector"],
            Extension::Postgis => &[],
        }
    }

    /// How people call it.
    pub fn display_name(self) -> &'static str {
        match self {
            Extension::Vector => "pgvector",
            Extension::Postgis => "PostGIS",
        }
    }

    /// The image repository that carries it.
    fn image_repo(self) -> &'static str {
        match self {
            Extension::Vector => "pgvector/pgvector",
            Extension::Postgis => "postgis/postgis",
        }
    }

    /// The image of this extension for a PostgreSQL version (its major decides the tag).
    pub fn image(self, version: &str) -> String {
        let major = version.split(['.', '-']).next().unwrap_or(version);
        match self {
            Extension::Vector => format!("{}:pg{major}", self.image_repo()),
            // PostGIS 3.5 is published for PostgreSQL 13–17; 18 starts with 3.6.
            Extension::Postgis => {
                let postgis = if major.parse::<u32>().is_ok_and(|m| m >= 18) {
                    "3.6"
                } else {
                    "3.5"
                };
                format!("{}:{major}-{postgis}", self.image_repo())
            }
        }
    }

    /// `vector`, `pgvector`, `postgis` (any case).
    pub fn parse(name: &str) -> Result<Extension, ExtensionError> {
        let lower = name.trim().to_ascii_lowercase();
        Extension::ALL
            .into_iter()
            .find(|e| e.sql_name() == lower || e.aliases().contains(&lower.as_str()))
            .ok_or_else(|| ExtensionError::Unknown {
                name: name.to_string(),
                known: known_names(),
            })
    }

    /// Reads the names stored for a service (unknown ones, from a newer Dockhand, are skipped).
    pub fn parse_stored(list: &str) -> Vec<Extension> {
        list.split(',')
            .filter_map(|n| Extension::parse(n).ok())
            .collect()
    }

    /// The extensions an image is known to carry, from its repository (a mirror's prefix such
    /// as `registry.local/` is allowed).
    pub fn carried_by(image: &str) -> Vec<Extension> {
        let image = image.split('@').next().unwrap_or(image);
        let repo = match image.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => repo,
            _ => image,
        };
        Extension::ALL
            .into_iter()
            .filter(|e| repo == e.image_repo() || repo.ends_with(&format!("/{}", e.image_repo())))
            .collect()
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sql_name())
    }
}

/// "vector (also pgvector), postgis" — what the errors list.
pub fn known_names() -> String {
    Extension::ALL
        .iter()
        .map(|e| match e.aliases() {
            [] => e.sql_name().to_string(),
            a => format!("{} (also {})", e.sql_name(), a.join(", ")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a list of names for a kind: each known, for PostgreSQL, sorted, without repeats.
pub fn parse_list<S: AsRef<str>>(
    kind: Kind,
    names: &[S],
) -> Result<Vec<Extension>, ExtensionError> {
    let mut out = names
        .iter()
        .filter(|n| !n.as_ref().trim().is_empty())
        .map(|n| Extension::parse(n.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    if !out.is_empty() && kind.driver().extensions().is_none() {
        return Err(ExtensionError::NotForKind {
            kind: kind.spec().display_name,
        });
    }
    Ok(out)
}

/// The official image that carries `extensions` for this spec: `None` for none (the kind's own
/// image), the extension's image for one, an error for a combination no official image has.
pub fn image_for(
    spec: &ServiceSpec,
    extensions: &[Extension],
) -> Result<Option<String>, ExtensionError> {
    match extensions {
        [] => Ok(None),
        _ if spec.kind.driver().extensions().is_none() => Err(ExtensionError::NotForKind {
            kind: spec.kind.spec().display_name,
        }),
        [one] => Ok(Some(one.image(&spec.version))),
        _ => Err(ExtensionError::NotInOneImage {
            spec: spec.to_string(),
            names: list(extensions),
        }),
    }
}

/// The command that creates a service carrying `extensions`, as the errors suggest it.
pub fn up_command(spec: &ServiceSpec, extensions: &[Extension]) -> String {
    let name = match extensions {
        [Extension::Postgis] => "pg-gis".to_string(),
        [Extension::Vector] => "pg-vector".to_string(),
        _ => format!("{}-ext", spec.default_name()),
    };
    format!(
        "dockhand up {spec} --with {} --name {name}",
        list(extensions).replace(", ", ",")
    )
}

fn list(extensions: &[Extension]) -> String {
    extensions
        .iter()
        .map(|e| e.sql_name())
        .collect::<Vec<_>>()
        .join(", ")
}

pub use crate::error::ExtensionError;

impl ExtensionError {
    /// What the service at `service` (of `kind`, running `image`, version `version`) lacks,
    /// with the image and command that give it.
    pub fn missing_from_image(
        service: &str,
        kind: Kind,
        image: &str,
        version: &str,
        missing: &[Extension],
    ) -> ExtensionError {
        let spec = ServiceSpec {
            kind,
            version: version.to_string(),
        };
        let suggested = match image_for(&spec, missing) {
            Ok(Some(i)) => i,
            _ => "an image with all of them (see `--image`)".to_string(),
        };
        ExtensionError::MissingFromImage {
            service: service.to_string(),
            image: image.to_string(),
            missing: list(missing),
            advice: format!(
                "{suggested} has it: create such a service with `{}` and name it in dockhand.toml \
                 (`{} = {{ version = \"{version}\", service = \"<its name>\", extensions = [...] }}`)",
                up_command(&spec, missing),
                spec.kind
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(v: &str) -> ServiceSpec {
        ServiceSpec::parse(&format!("postgres:{v}")).unwrap()
    }

    #[test]
    fn the_image_that_carries_the_extensions_is_chosen() {
        assert_eq!(image_for(&pg("17"), &[]).unwrap(), None);
        assert_eq!(
            image_for(&pg("17"), &[Extension::Vector])
                .unwrap()
                .as_deref(),
            Some("pgvector/pgvector:pg17")
        );
        assert_eq!(
            image_for(&pg("16.4"), &[Extension::Vector])
                .unwrap()
                .as_deref(),
            Some("pgvector/pgvector:pg16")
        );
        assert_eq!(
            image_for(&pg("17"), &[Extension::Postgis])
                .unwrap()
                .as_deref(),
            Some("postgis/postgis:17-3.5")
        );
        assert_eq!(
            image_for(&pg("18"), &[Extension::Postgis])
                .unwrap()
                .as_deref(),
            Some("postgis/postgis:18-3.6")
        );
    }

    #[test]
    fn both_together_is_a_clear_error_saying_what_to_do() {
        let both = parse_list(Kind::Postgres, &["postgis", "pgvector"]).unwrap();
        assert_eq!(both, [Extension::Vector, Extension::Postgis]);
        let e = image_for(&pg("17"), &both).unwrap_err();
        assert!(matches!(e, ExtensionError::NotInOneImage { .. }));
        let m = e.to_string();
        assert!(
            m.contains("postgis/postgis has no pgvector") && m.contains("--image"),
            "{m}"
        );
    }

    #[test]
    fn names_and_aliases_are_accepted_and_unknown_ones_listed() {
        let l = parse_list(Kind::Postgres, &["pgvector", "VECTOR", " postgis "]).unwrap();
        assert_eq!(
            l,
            [Extension::Vector, Extension::Postgis],
            "sorted, no repeats"
        );
        let e = parse_list(Kind::Postgres, &["timescaledb"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown extension \"timescaledb\"")
                && e.contains("vector (also pgvector), postgis"),
            "{e}"
        );
        let e = parse_list(Kind::Redis, &["vector"]).unwrap_err();
        assert!(
            matches!(e, ExtensionError::NotForKind { kind: "Redis" }),
            "{e}"
        );
        assert!(parse_list(Kind::Redis, &[] as &[&str]).unwrap().is_empty());
    }

    #[test]
    fn images_say_what_they_carry() {
        assert_eq!(Extension::carried_by("postgres:17"), []);
        assert_eq!(
            Extension::carried_by("pgvector/pgvector:pg17"),
            [Extension::Vector]
        );
        assert_eq!(
            Extension::carried_by("mirror.local:5000/postgis/postgis:17-3.5"),
            [Extension::Postgis]
        );
        assert_eq!(
            Extension::parse_stored("vector,postgis,futurething"),
            [Extension::Vector, Extension::Postgis]
        );
    }

    #[test]
    fn a_missing_extension_names_the_image_and_the_command() {
        let e = ExtensionError::missing_from_image(
            "postgres-17",
            Kind::Postgres,
            "postgres:17",
            "17",
            &[Extension::Postgis],
        )
        .to_string();
        assert!(
            e.contains("'postgres-17' runs postgres:17")
                && e.contains("postgis/postgis:17-3.5 has it")
                && e.contains("`dockhand up postgres:17 --with postgis --name pg-gis`")
                && e.contains("Nothing was changed"),
            "{e}"
        );
    }
}
