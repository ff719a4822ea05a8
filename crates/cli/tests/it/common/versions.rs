//! Which version of each kind the end-to-end tests run, chosen by `DOCKHAND_TEST_VERSIONS`:
//! - unset or `oldest`: the oldest versions Dockhand supports, from the Debian 12 test images
//!   (postgres:15, redis:7, mariadb:10.11);
//! - `defaults`: the catalog's default versions, what a user gets without naming one, from the
//!   Debian 13 images (postgres:17, redis:8, mariadb:11, and Valkey 8 wherever Redis runs).
//!
//! scripts/test-all.sh runs the lifecycle, project, backup, supervisor and Redis-isolation tests
//! once with each set; `engine.rs` checks that the `defaults` set is what the catalog installs.

/// One set of versions.
pub struct Versions {
    pub name: &'static str,
    pub postgres: &'static str,
    pub redis: &'static str,
    pub mariadb: &'static str,
    /// The same as `dockhand up` takes them (`postgres:15`).
    pub pg_spec: &'static str,
    pub redis_spec: &'static str,
    pub maria_spec: &'static str,
    /// Every Redis-family server a Redis test runs on in this set: (kind, version, spec).
    pub redis_family: &'static [(&'static str, &'static str, &'static str)],
}

pub const OLDEST: Versions = Versions {
    name: "oldest",
    postgres: "15",
    redis: "7",
    mariadb: "10.11",
    pg_spec: "postgres:15",
    redis_spec: "redis:7",
    maria_spec: "mariadb:10.11",
    redis_family: &[("redis", "7", "redis:7")],
};

pub const DEFAULTS: Versions = Versions {
    name: "defaults",
    postgres: "17",
    redis: "8",
    mariadb: "11",
    pg_spec: "postgres:17",
    redis_spec: "redis:8",
    maria_spec: "mariadb:11",
    redis_family: &[("redis", "8", "redis:8"), ("valkey", "8", "valkey:8")],
};

/// The set this run tests; an unknown value is a mistake in the caller, not a silent fallback.
pub fn versions() -> &'static Versions {
    match std::env::var("DOCKHAND_TEST_VERSIONS").as_deref() {
        Err(_) | Ok("") | Ok("oldest") => &OLDEST,
        Ok("defaults") => &DEFAULTS,
        Ok(other) => {
            panic!("DOCKHAND_TEST_VERSIONS={other:?}: use `oldest` (the default) or `defaults`")
        }
    }
}

/// `postgres:<version>` of this run.
pub fn pg_spec() -> &'static str {
    versions().pg_spec
}

/// `redis:<version>` of this run.
pub fn redis_spec() -> &'static str {
    versions().redis_spec
}

/// `mariadb:<version>` of this run.
pub fn maria_spec() -> &'static str {
    versions().maria_spec
}

/// `pg_restore --list` of a custom-format dump, as a user would check it: with the host's
/// pg_restore when it is as new as this run's server, else with the one in the server's image.
/// pg_restore reads dumps of its own major version and older only, and the host's (Debian 12's)
/// is 15 — a 17 dump says "unsupported version (1.16) in file header" to it.
pub fn pg_restore_list(dump: &std::path::Path) -> super::Run {
    let host_major = super::sh("pg_restore --version")
        .stdout
        .split_whitespace()
        .last()
        .and_then(|v| v.split('.').next()?.parse::<u32>().ok())
        .unwrap_or(0);
    let server_major: u32 = versions().postgres.parse().unwrap();
    let mut c = if host_major >= server_major {
        let mut c = std::process::Command::new("pg_restore");
        c.arg("--list").arg(dump);
        c
    } else {
        let file = std::fs::File::open(dump).unwrap_or_else(|e| panic!("{}: {e}", dump.display()));
        let mut c = std::process::Command::new("docker");
        c.args([
            "run",
            "--rm",
            "-i",
            "--network",
            "none",
            "--entrypoint",
            "pg_restore",
        ])
        .args([pg_spec(), "--list"])
        .stdin(file);
        c
    };
    c.env("LC_ALL", "C");
    super::run_limited(c, super::COMMAND_LIMIT)
}
