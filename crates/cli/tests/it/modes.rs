//! Modes and memory limits against the real engine and real servers: an ephemeral service on a
//! tmpfs that `down` removes with everything of it, fast mode's settings as a project's own
//! session sees them, the container's memory limit and a change of it while the server runs, and
//! an OOM kill reported with the command that raises the limit. The real `dockhand` binary and a
//! real gnome-keyring (scripts/with-keyring.sh).

#![cfg(unix)]

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;

const MIB: u64 = 1024 * 1024;

/// Whether the engine changes a container's limits in place (Docker; Podman from 5.1): the
/// Podman lane (scripts/podman-tests.sh) says which Podman it runs.
fn engine_updates_in_place() -> bool {
    !std::env::var("DOCKHAND_TEST_ENGINE").is_ok_and(|e| e == "podman-4")
}

/// `docker inspect -f FORMAT CONTAINER`, trimmed.
fn inspect(container: &str, format: &str) -> String {
    let r = docker(&["inspect", "-f", format, container]);
    assert_eq!(r.code, 0, "{}", r.all());
    r.stdout.trim().to_string()
}

/// Runs redis-cli as the admin (the admin URL's password), returning the outcome.
fn redis_admin(admin_url: &str, args: &[&str]) -> Run {
    let (password, port) = password_and_port(admin_url);
    let mut c = Command::new("redis-cli");
    c.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "--no-auth-warning",
    ])
    .args(args)
    .env("REDISCLI_AUTH", password)
    .stdin(Stdio::null());
    run_limited(c, COMMAND_LIMIT)
}

#[test]
fn an_ephemeral_service_keeps_data_in_memory_and_down_leaves_nothing() {
    let env = Env::new();
    let name = env.name("eph");
    let out = env.ok(&["up", pg_spec(), "--name", &name, "--ephemeral"]);
    assert!(
        out.contains("ephemeral") && out.contains("lost at `down`"),
        "up does not say the data goes at down:\n{out}"
    );
    let container = format!("dockhand-{name}");
    // The data directory is a tmpfs, sized at half the limit; no volume exists. Read inside
    // the container (Podman's inspect does not list tmpfs mounts; Docker's does).
    let mounts = docker(&["exec", &container, "cat", "/proc/mounts"]);
    let data = mounts
        .stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("/var/lib/postgresql/data"))
        .unwrap_or_else(|| panic!("no mount at the data directory:\n{}", mounts.all()))
        .to_string();
    assert!(data.starts_with("tmpfs "), "{data}");
    assert!(data.contains("size=524288k"), "{data}");
    assert_eq!(
        inspect(&container, "{{.HostConfig.Memory}}"),
        (1024 * MIB).to_string()
    );
    assert!(!volume_exists(&format!("dockhand-{name}-data")));
    let st = env.service_status(&name);
    assert_eq!(st["mode"], "ephemeral");
    let inspect_out = env.ok(&["inspect", &name]);
    assert!(inspect_out.contains("lost at `down`"), "{inspect_out}");

    // A project uses it like any other: its database works.
    let vars = attached_project(&env, "scratchapp", &[&name]);
    let url = vars["DATABASE_URL"].as_str().unwrap().to_string();
    client(
        "postgres",
        &url,
        "CREATE TABLE t (v int); INSERT INTO t VALUES (42)",
    );
    assert_eq!(client("postgres", &url, "SELECT v FROM t"), "42");
    let (user, _) = user_and_database(&url);
    let before = sh("secret-tool search --all service dockhand 2>&1").stdout;
    assert!(before.contains(&format!("/{name}")), "{before}");

    let out = env.ok(&["down", &name]);
    assert!(out.contains("removed"), "{out}");
    assert!(!container_exists(&container), "container left behind");
    assert!(!volume_exists(&format!("dockhand-{name}-data")));
    assert!(
        env.status_json()
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"] != name.as_str()),
        "its row is still there"
    );
    let after = sh("secret-tool search --all service dockhand 2>&1").stdout;
    assert!(
        !after.contains(&format!("/{name}")) && !after.contains(&user),
        "keychain entries left behind:\n{after}"
    );
    // The project stays, without it: no variables for a service that is gone, and it says so.
    let projects: serde_json::Value =
        serde_json::from_str(&env.ok(&["project", "list", "--json"])).unwrap();
    let p = projects
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "scratchapp")
        .expect("the project was removed with the service");
    assert!(!p.to_string().contains(&name), "{p}");
    let r = env.run(&["env", "scratchapp"]);
    assert!(
        r.code == 2 && r.stderr.contains("uses no service") && !r.stdout.contains("DATABASE_URL"),
        "{}",
        r.all()
    );
    let r = env.run(&["url", &name]);
    assert_eq!(r.code, 4, "{}", r.all());
}

#[test]
fn the_memory_limit_is_on_the_container_and_changes_without_a_restart() {
    let env = Env::new();
    let name = env.name("mem");
    env.ok(&["up", redis_spec(), "--name", &name, "--memory", "64m"]);
    let c = format!("dockhand-{name}");
    assert_eq!(
        inspect(&c, "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}"),
        format!("{} {}", 64 * MIB, 64 * MIB)
    );
    let admin = env.url(&name);
    let got = redis_admin(&admin, &["CONFIG", "GET", "maxmemory"]).stdout;
    assert!(got.contains(&(48 * MIB).to_string()), "{got}");
    let started = inspect(&c, "{{.State.StartedAt}}");
    redis_admin(&admin, &["SET", "kept", "yes"]);

    let out = env.ok(&["set", &name, "--memory", "128m"]);
    assert_eq!(
        inspect(&c, "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}"),
        format!("{} {}", 128 * MIB, 128 * MIB)
    );
    if engine_updates_in_place() {
        assert!(out.contains("not restarted"), "{out}");
        assert_eq!(
            inspect(&c, "{{.State.StartedAt}}"),
            started,
            "it was restarted"
        );
    } else {
        // Podman before 5.1 has no container update: the container is made again, data kept.
        assert!(out.contains("created again"), "{out}");
        assert!(wait_until(std::time::Duration::from_secs(30), || {
            redis_admin(&admin, &["PING"]).stdout.contains("PONG")
        }));
    }
    let got = redis_admin(&admin, &["CONFIG", "GET", "maxmemory"]).stdout;
    assert!(got.contains(&(96 * MIB).to_string()), "{got}");
    assert_eq!(redis_admin(&admin, &["GET", "kept"]).stdout.trim(), "yes");
    assert_eq!(env.service_status(&name)["memory_limit_mb"], 128);

    // Full at maxmemory: a project's writes are refused with Redis's error, the server stays up.
    env.ok(&["set", &name, "--memory", "32m"]);
    let vars = attached_project(&env, "filler", &[&name]);
    let url = vars["REDIS_URL"].as_str().unwrap();
    let prefix = vars["REDIS_KEY_PREFIX"].as_str().unwrap();
    let value = "x".repeat(1 << 20);
    let mut refused = None;
    for i in 0..64 {
        let (password, port) = password_and_port(url);
        let (user, _) = user_and_database(url);
        let mut c = Command::new("redis-cli");
        c.args(["-h", "127.0.0.1", "-p", &port.to_string(), "--user", &user])
            .args(["--no-auth-warning", "-x", "SET", &format!("{prefix}k{i}")])
            .env("REDISCLI_AUTH", password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(value.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if text.contains("OOM") {
            refused = Some(text);
            break;
        }
    }
    let refused = refused.expect("64 MB were written into a 32 MB Redis");
    assert!(refused.contains("maxmemory"), "{refused}");
    assert_eq!(client("redis", url, "PING"), "PONG");
    assert_eq!(inspect(&c, "{{.State.OOMKilled}}"), "false");
}

#[test]
fn an_oom_kill_names_the_limit_and_the_command_that_raises_it() {
    // The cgroup memory controller must work in this engine (it does on these machines: a
    // container with -m 20m that allocates 60 MB is killed with OOMKilled=true).
    let env = Env::new();
    let name = env.name("oom");
    env.ok(&["up", redis_spec(), "--name", &name, "--memory", "24m"]);
    let admin = env.url(&name);
    // The admin lifts maxmemory, then one command allocates 48 MB in a 24 MB container.
    redis_admin(&admin, &["CONFIG", "SET", "maxmemory", "0"]);
    redis_admin(&admin, &["SETRANGE", "big", &(48 * MIB).to_string(), "x"]);
    let c = format!("dockhand-{name}");
    assert!(
        wait_until(std::time::Duration::from_secs(30), || inspect(
            &c,
            "{{.State.Status}}"
        ) == "exited"),
        "the server was not killed"
    );
    assert_eq!(inspect(&c, "{{.State.OOMKilled}}"), "true");
    let st = env.service_status(&name);
    assert_eq!(
        st["detail"].as_str().unwrap(),
        format!(
            "OOM-killed: the server needed more than 24 MB; raise the limit with `dockhand set {name} --memory 48m`"
        )
    );
    // Following the advice works: the limit is raised, the server starts again.
    env.ok(&["set", &name, "--memory", "48m"]);
    env.ok(&["up", &name]);
    assert_eq!(
        redis_admin(&env.url(&name), &["PING"]).stdout.trim(),
        "PONG"
    );
}

#[test]
fn a_full_ephemeral_data_folder_is_a_full_disk_not_an_oom_kill() {
    let env = Env::new();
    let name = env.name("ephfull");
    // 256 MB: a 128 MB tmpfs for the data, the rest for the server.
    env.ok(&[
        "up",
        pg_spec(),
        "--name",
        &name,
        "--ephemeral",
        "--memory",
        "256m",
    ]);
    let admin = env.url(&name);
    let r = client_run(
        "postgres",
        &admin,
        "CREATE TABLE fill AS SELECT repeat(md5(i::text), 40) AS v FROM generate_series(1, 200000) i",
    );
    assert_ne!(r.code, 0, "200 MB fit in a 128 MB tmpfs: {}", r.all());
    let c = format!("dockhand-{name}");
    // The tmpfs is bounded below the memory limit: the server meets a full disk, never the
    // OOM killer. (Which file hits it decides what follows: a table file fails the statement;
    // the WAL makes PostgreSQL stop — measured here, see docs/manual.md.)
    let logs = || docker(&["logs", "--tail", "50", &c]).all();
    assert!(
        wait_until(std::time::Duration::from_secs(30), || logs()
            .contains("No space left on device")),
        "{}\n{}",
        r.all(),
        logs()
    );
    assert_eq!(inspect(&c, "{{.State.OOMKilled}}"), "false");
    env.ok(&["down", &name]);
    assert!(!container_exists(&c));
}

/// The tests whose outcome depends on the server's version (its initialisation, isolation rules,
/// dump and restore tools, exit on kill): run on the oldest supported versions, then again on the
/// catalog's defaults — scripts/test-all.sh selects every `each_version::` test for that pass.
mod each_version {
    use super::*;

    #[test]
    fn fast_mode_settings_are_what_a_projects_session_sees() {
        let env = Env::new();
        let (pg, maria, redis) = (env.name("fpg"), env.name("fmaria"), env.name("fredis"));
        let out = env.ok(&["up", pg_spec(), "--name", &pg, "--fast"]);
        assert!(
            out.contains("lose or corrupt") && out.contains("fsync=off"),
            "up does not warn plainly:\n{out}"
        );
        env.ok(&["up", my_spec(), "--name", &maria, "--fast"]);
        env.ok(&["up", redis_spec(), "--name", &redis, "--fast"]);
        let vars = attached_project(&env, "quick", &[&pg, &maria]);
        let pg_url = vars["DATABASE_URL"].as_str().unwrap();
        for (setting, want) in [
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
        ] {
            assert_eq!(client("postgres", pg_url, &format!("SHOW {setting}")), want);
        }
        let my_url = vars["MYSQL_URL"].as_str().unwrap();
        // innodb_doublewrite reads 0 on MariaDB 10.11 and OFF on 11.8 (an enum there).
        let got = client(
            "mariadb",
            my_url,
            "SELECT @@innodb_flush_log_at_trx_commit, @@sync_binlog, @@innodb_doublewrite",
        );
        assert!(["0\t0\t0", "0\t0\tOFF"].contains(&got.as_str()), "{got}");
        let got = redis_admin(&env.url(&redis), &["CONFIG", "GET", "appendfsync"]).stdout;
        assert!(got.contains("appendfsync\nno"), "{got}");
        let got = redis_admin(&env.url(&redis), &["CONFIG", "GET", "save"]).stdout;
        assert_eq!(got.trim(), "save", "periodic snapshots still on: {got}");
        assert_eq!(env.service_status(&pg)["mode"], "fast");

        // A durable one is as before.
        let plain = env.name("dpg");
        env.ok(&["up", pg_spec(), "--name", &plain]);
        let admin = env.url(&plain);
        assert_eq!(client("postgres", &admin, "SHOW fsync"), "on");
        // The mode is chosen at creation: asking for another is refused, and says why.
        let r = env.run(&["up", pg_spec(), "--name", &plain, "--fast"]);
        assert_eq!(r.code, 2, "{}", r.all());
        assert!(r.stderr.contains("created durable"), "{}", r.all());
    }
}
