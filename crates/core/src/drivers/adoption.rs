//! What a driver knows about containers of its kind that Dockhand did not create: which images
//! are of its family, which version the image carries, and where the container's owner put the
//! superuser's password (`dockhand detect`, `dockhand adopt`).

use std::collections::HashMap;

/// The superuser's password as the container holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundAdmin {
    /// `None`: not in the container's configuration (a password file, a random one printed
    /// once in its log): the user gives it.
    pub password: Option<String>,
    /// Where it was found, for messages (`POSTGRES_PASSWORD`); never the value.
    pub source: Option<&'static str>,
}

pub trait Adoption: Send + Sync {
    /// The server's version as the image says it (`PG_MAJOR=16`), when it does.
    fn version_from_env(&self, env: &HashMap<String, String>) -> Option<String>;

    /// The superuser's password, or why a container of this kind cannot be adopted as it is
    /// (one whose superuser has no password would let every project in as everyone).
    fn admin(
        &self,
        env: &HashMap<String, String>,
        cmd: &[String],
    ) -> std::result::Result<FoundAdmin, String>;
}

/// `KEY=value` lines as a map (the last of a key wins, as in the container).
pub fn env_map(env: &[String]) -> HashMap<String, String> {
    env.iter()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The value after `flag` in a command line (`--requirepass x` or `--requirepass=x`).
pub fn flag_value(cmd: &[String], flag: &str) -> Option<String> {
    let mut it = cmd.iter();
    while let Some(a) = it.next() {
        if a == flag {
            return it.next().cloned();
        }
        if let Some(v) = a.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            return Some(v.to_string());
        }
    }
    None
}

/// The repository's last path segment of an image reference, without tag or digest:
/// `docker.io/library/postgres:16-alpine` → `postgres`, `bitnami/redis@sha256:…` → `redis`.
pub fn image_family(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last)
}

/// The tag of an image reference (`postgres:16.4-alpine` → `16.4-alpine`), if any.
pub fn image_tag(image: &str) -> Option<&str> {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split_once(':').map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_tags_of_the_references_people_use() {
        for (image, family, tag) in [
            ("postgres", "postgres", None),
            ("postgres:16-alpine", "postgres", Some("16-alpine")),
            ("docker.io/library/redis:7.2", "redis", Some("7.2")),
            ("localhost:5000/mariadb:11", "mariadb", Some("11")),
            ("pgvector/pgvector:pg17", "pgvector", Some("pg17")),
            ("bitnami/redis@sha256:abcd", "redis", None),
        ] {
            assert_eq!(image_family(image), family, "{image}");
            assert_eq!(image_tag(image), tag, "{image}");
        }
    }

    #[test]
    fn flags_in_both_spellings() {
        let cmd: Vec<String> = [
            "redis-server",
            "--appendonly",
            "yes",
            "--requirepass",
            "s3cret",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(flag_value(&cmd, "--requirepass").as_deref(), Some("s3cret"));
        let cmd: Vec<String> = ["redis-server", "--requirepass=a=b"]
            .map(String::from)
            .to_vec();
        assert_eq!(flag_value(&cmd, "--requirepass").as_deref(), Some("a=b"));
        assert_eq!(flag_value(&cmd, "--port"), None);
    }
}
