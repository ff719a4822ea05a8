//! Which version of each kind the end-to-end tests run, chosen by `DOCKHAND_TEST_VERSIONS`:
//! - unset or `oldest`: the oldest versions Dockhand supports, from the Debian 12 test images
//!   (postgres:15, redis:7, mariadb:10.11);
//! - `defaults`: the catalog's default versions, what a user gets without naming one (postgres:18,
//!   redis:8, mariadb:11, and Valkey 9 wherever Redis runs; 18 and Valkey 9 from the vendored
//!   Debian sid packages, the others from Debian 13).
//!
//! And which server of the MySQL family the MariaDB tests run on, chosen by
//! `DOCKHAND_TEST_MYSQL_FAMILY`: unset, the set's MariaDB; `mysql`, MySQL 9 (the MySQL lane of
//! scripts/test-all.sh, which runs every test that calls [`my_spec`] — the list there is checked
//! by `mysql_lane_covers_every_test_of_the_mysql_family`).
//!
//! scripts/test-all.sh runs the lifecycle, project, backup, supervisor and Redis-isolation tests
//! once with each set; `engine.rs` checks that the `defaults` set is what the catalog installs.

/// One set of versions.
pub struct Versions {
    pub name: &'static str,
    pub postgres: &'static str,
    pub redis: &'static str,
    /// MariaDB's version (the MySQL lane's tests take [`my_version`] instead).
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
    postgres: "18",
    redis: "8",
    mariadb: "11",
    pg_spec: "postgres:18",
    redis_spec: "redis:8",
    maria_spec: "mariadb:11",
    redis_family: &[("redis", "8", "redis:8"), ("valkey", "9", "valkey:9")],
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

/// The MySQL-family server of this run: (kind, version, spec as `dockhand up` takes it).
pub fn my_server() -> (&'static str, &'static str, &'static str) {
    match std::env::var("DOCKHAND_TEST_MYSQL_FAMILY").as_deref() {
        Err(_) | Ok("") | Ok("mariadb") => ("mariadb", versions().mariadb, versions().maria_spec),
        Ok("mysql") => ("mysql", "9", "mysql:9"),
        Ok(other) => {
            panic!("DOCKHAND_TEST_MYSQL_FAMILY={other:?}: use `mariadb` (the default) or `mysql`")
        }
    }
}

/// `mariadb:<version>` of this run, or `mysql:9` in the MySQL lane.
pub fn my_spec() -> &'static str {
    my_server().2
}

/// `mariadb` or `mysql`: the kind [`my_spec`] runs.
pub fn my_kind() -> &'static str {
    my_server().0
}

/// The version [`my_spec`] runs.
pub fn my_version() -> &'static str {
    my_server().1
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

/// The program names of [`my_kind`]'s image: its client and its dump tool (`mariadb`,
/// `mariadb-dump`; `mysql`, `mysqldump`), for tests that run them in the server's container.
pub fn my_programs() -> (&'static str, &'static str) {
    match my_kind() {
        "mysql" => ("mysql", "mysqldump"),
        _ => ("mariadb", "mariadb-dump"),
    }
}

/// A derived table `seq` of the numbers 1..=n that MariaDB and MySQL both read (MariaDB's
/// `seq_1_to_N` tables are its own Sequence engine; MySQL's recursive CTEs stop at 1000 rows
/// unless told otherwise): `INSERT INTO t SELECT seq, LEFT(SHA2(seq, 256), 32) FROM {my_numbers(3000)}`.
pub fn my_numbers(n: u32) -> String {
    let digits = "(SELECT 0 AS i UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 \
                  UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 \
                  UNION ALL SELECT 8 UNION ALL SELECT 9)";
    let places = n.max(1).to_string().len();
    let sum: Vec<String> = (0..places)
        .map(|p| format!("d{p}.i * {}", 10u64.pow(p as u32)))
        .collect();
    let from: Vec<String> = (0..places).map(|p| format!("{digits} AS d{p}")).collect();
    format!(
        "(SELECT * FROM (SELECT {} + 1 AS seq FROM {}) AS all_numbers WHERE seq <= {n}) AS numbers",
        sum.join(" + "),
        from.join(" CROSS JOIN ")
    )
}

/// The MySQL lane of scripts/test-all.sh runs a list of tests by name; a test that takes its
/// server from [`my_spec`] (or the kind, version or programs beside it) but is missing from that
/// list would run on MariaDB only, and MySQL would silently lose its coverage.
#[test]
fn mysql_lane_covers_every_test_of_the_mysql_family() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let script = std::fs::read_to_string(format!("{root}/scripts/test-all.sh")).unwrap();
    let lane: Vec<&str> = script
        .split_once("\nMYSQL_LANE=(\n")
        .and_then(|(_, rest)| rest.split_once("\n)"))
        .expect("scripts/test-all.sh has no MYSQL_LANE=( … ) list")
        .0
        .lines()
        .map(str::trim)
        .collect();
    let dir = format!("{root}/crates/cli/tests/it");
    let mut missing = Vec::new();
    let mut found = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let each_version = text.find("mod each_version {");
        let tests: Vec<(usize, &str)> = text
            .match_indices("#[test]")
            .filter_map(|(at, _)| {
                let after = &text[at..];
                let name = after.split_once("fn ")?.1.split_once('(')?.0;
                Some((at, name))
            })
            .collect();
        for (i, (at, name)) in tests.iter().enumerate() {
            let end = tests.get(i + 1).map_or(text.len(), |t| t.0);
            let body = &text[*at..end];
            let uses = [
                "my_spec()",
                "my_kind()",
                "my_version()",
                "my_server()",
                "my_programs()",
            ]
            .iter()
            .any(|f| body.contains(f));
            if !uses {
                continue;
            }
            found += 1;
            let module = if each_version.is_some_and(|ev| *at > ev) {
                format!("{stem}::each_version::{name}")
            } else {
                format!("{stem}::{name}")
            };
            if !lane.contains(&module.as_str()) {
                missing.push(module);
            }
        }
    }
    assert!(found >= 20, "found only {found} tests of the MySQL family");
    assert!(
        missing.is_empty(),
        "tests of the MySQL family missing from MYSQL_LANE in scripts/test-all.sh: {missing:?}"
    );
}
