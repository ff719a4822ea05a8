//! End-to-end tests of projects, per-project databases, leases, the OS keychain and env
//! injection: the real `dockhand` binary, the real Docker engine, real PostgreSQL, MariaDB and
//! Redis servers, and a real gnome-keyring on a private D-Bus session (scripts/test-all.sh runs
//! the tests inside one).

// Unix only: it uses process groups and checks file permission bits.
#![cfg(unix)]

use crate::common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[test]
fn passwords_live_in_the_os_keychain_and_persist_across_processes() {
    let env = Env::new();
    let name = env.name("kc");
    env.ok(&["up", redis_spec(), "--name", &name]);
    // A second process finds the same password: the keychain kept it.
    let url = env.url(&name);
    assert_eq!(client("redis", &url, "PING"), "PONG");
    let (password, _) = password_and_port(&url);
    assert!(
        !env.home_dir().join("secrets.json").exists(),
        "a secrets file was written"
    );
    // What the keychain holds, read with an independent client (libsecret's secret-tool).
    let search = sh("secret-tool search --all service dockhand 2>&1");
    assert!(
        search.stdout.contains(&password),
        "not in the keychain:\n{}",
        search.all()
    );

    // The keychain loses the entry (a reset keyring): Dockhand must not invent a new password
    // for data set up with the old one, but say what happened.
    env.ok(&["down", &name]);
    let cleared = sh(&format!("secret-tool clear service dockhand username \"$(secret-tool search --all service dockhand 2>&1 | grep -o '[a-z0-9]*/service/{name}/admin' | head -1)\""));
    assert_eq!(cleared.code, 0, "{}", cleared.all());
    let r = env.run(&["up", redis_spec(), "--name", &name]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(
        r.stderr.contains("not in the OS keychain") && r.stderr.contains("--purge"),
        "{}",
        r.all()
    );
    let search = sh("secret-tool search --all service dockhand 2>&1");
    assert!(
        !search.stdout.contains(&format!("/service/{name}/admin")),
        "a new password was made up:\n{}",
        search.stdout
    );

    // No keychain reachable: a clear error saying how to fix it, and no container started.
    let other = env.name("nokc");
    let mut c = env.command(&["up", redis_spec(), "--name", &other]);
    c.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let r = run_limited(c, Duration::from_secs(120));
    // Its own documented exit code, and the message said once, without terminal escapes.
    assert_eq!(r.code, 12, "{}", r.all());
    assert!(
        r.stderr.contains("OS keychain is not available")
            && r.stderr.contains("DOCKHAND_SECRET_STORE=file"),
        "{}",
        r.all()
    );
    assert_eq!(
        r.stderr.matches("OS keychain is not available").count(),
        1,
        "{}",
        r.all()
    );
    assert!(!r.stderr.contains('\u{1b}'), "{}", r.all());
}

/// Like `client`, but returns the output even when the command fails.
fn client_raw(kind: &str, url: &str, statement: &str) -> String {
    assert_eq!(kind, "redis");
    let (password, port) = password_and_port(url);
    let user = url
        .split_once("://")
        .unwrap()
        .1
        .split_once(':')
        .unwrap()
        .0
        .to_string();
    let mut c = Command::new("redis-cli");
    c.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "--user",
        &user,
        "--no-auth-warning",
    ]);
    c.env("REDISCLI_AUTH", password);
    c.args(statement.split_whitespace());
    run_limited(c, COMMAND_LIMIT).all()
}

#[test]
fn run_holds_the_service_passes_variables_only_to_the_command_and_returns_its_exit_code() {
    let env = Env::new();
    let pg = env.name("runpg");
    let dir = project_dir(&env, "runner", &[("postgres", versions().postgres, &pg)]);
    env.ok(&["config", "set", "grace-period", "0"]);
    ok_in(&env, &dir, &["attach"]);
    // An attached project is up: its URL stays alive however short the grace period, and the
    // status says why the server runs.
    let attached = env.service_status(&pg);
    assert_eq!(attached["state"], "running", "{attached}");
    assert_eq!(attached["consumers"], serde_json::json!(["project:runner"]));
    assert_eq!(attached["lifetime"], "runs while project runner is up");
    // Dockhand's own checks leave no failed login in the server's log: a first attach does not
    // try the project's user before creating it.
    let log = env.ok(&["logs", &pg, "--tail", "500"]);
    assert!(
        !log.contains("password authentication failed") && !log.contains("does not exist"),
        "{log}"
    );
    // Let go: nothing else uses it, so it stops at once (grace 0).
    ok_in(&env, &dir, &["project", "down"]);
    assert_eq!(
        env.service_status(&pg)["state"],
        "stopped",
        "unused service should stop after `project down` with grace 0"
    );

    let bin = env!("CARGO_BIN_EXE_dockhand");
    let script = format!(
        "psql \"$DATABASE_URL\" -tAc 'SELECT current_database()' > out.txt && {bin} status --json > status.json; exit 42"
    );
    let r = in_dir(&env, &dir, &["run", "--", "sh", "-c", &script]);
    assert_eq!(r.code, 42, "{}", r.all());
    assert_eq!(
        std::fs::read_to_string(dir.join("out.txt")).unwrap().trim(),
        "runner"
    );
    let during: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("status.json")).unwrap()).unwrap();
    let svc = during
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == pg.as_str())
        .unwrap();
    assert_eq!(svc["state"], "running");
    assert_eq!(svc["consumers"], serde_json::json!(["run:sh"]));
    // Afterwards: the lease is gone, the unused service stopped, no file holds the password.
    let after = env.service_status(&pg);
    assert_eq!(after["state"], "stopped", "{after}");
    assert_eq!(after["consumers"], serde_json::json!([]));
    assert!(!dir.join(".env").exists());

    // A consumer killed with -9 leaves a dead lease that the next command reaps.
    let mut c = env.command(&["run", "--", "sleep", "60"]);
    // Its own process group, so the `sleep` it starts (orphaned by the kill) can be ended by
    // group — only what this test started.
    c.current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let child = c.spawn().unwrap();
    assert!(
        wait_until(Duration::from_secs(120), || env.service_status(&pg)
            ["consumers"]
            == serde_json::json!(["run:sleep"])),
        "lease never appeared"
    );
    Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status()
        .unwrap();
    let group = child.id();
    let _ = { child }.wait();
    let _ = Command::new("kill")
        .args(["-9", "--", &format!("-{group}")])
        .status();
    let reaped = env.service_status(&pg);
    let history = env.ok(&["events", &pg]);
    assert_eq!(
        reaped["consumers"],
        serde_json::json!([]),
        "{reaped}\n{history}"
    );
    assert_eq!(reaped["state"], "stopped", "{reaped}\n{history}");
    assert!(env.ok(&["events", &pg]).contains("lease-reaped"));

    // A command that does not exist: exit 127 and the lease released all the same.
    let r = in_dir(&env, &dir, &["run", "--", "no-such-command-here"]);
    assert_eq!(r.code, 127, "{}", r.all());
    assert_eq!(env.service_status(&pg)["consumers"], serde_json::json!([]));
}

#[test]
fn fifty_concurrent_runs_share_one_container_and_stop_it_once() {
    let env = Env::new();
    let pg = env.name("fifty");
    let dir = project_dir(&env, "crowd", &[("postgres", versions().postgres, &pg)]);
    env.ok(&["config", "set", "grace-period", "0"]);
    ok_in(&env, &dir, &["attach"]);
    ok_in(&env, &dir, &["project", "down"]);
    let n = 50;
    // Each run waits (bounded) until all 50 hold their leases and the test says go.
    let script = "psql \"$DATABASE_URL\" -tAc 'SELECT 1' >/dev/null && touch ready.$$; \
         i=0; while [ ! -e go ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done";
    let children: Vec<_> = (0..n)
        .map(|_| {
            let mut c = env.command(&["run", "--", "sh", "-c", script]);
            c.current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let ready = || {
        std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("ready.")
            })
            .count()
    };
    if !wait_until(Duration::from_secs(200), || ready() == n) {
        let got = ready();
        std::fs::write(dir.join("go"), "").unwrap();
        let errors: Vec<String> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .filter(|o| !o.status.success())
            .map(|o| {
                format!(
                    "{:?}: {}",
                    o.status.code(),
                    String::from_utf8_lossy(&o.stderr)
                )
            })
            .collect();
        panic!(
            "only {got} of {n} runs got going; failures:\n{}",
            errors.join("\n")
        );
    }
    let st = env.service_status(&pg);
    assert_eq!(st["consumers"].as_array().unwrap().len(), n, "{st}");
    assert_eq!(st["state"], "running");
    let containers = containers_of(&pg);
    assert_eq!(containers.len(), 1, "{containers:?}");
    std::fs::write(dir.join("go"), "").unwrap();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let st = env.service_status(&pg);
    assert_eq!(st["state"], "stopped", "{st}");
    assert_eq!(st["consumers"], serde_json::json!([]));
    let events: serde_json::Value =
        serde_json::from_str(&env.ok(&["events", &pg, "--json", "--limit", "500"])).unwrap();
    let stops = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "stopped")
        .count();
    let starts = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "started")
        .count();
    // One stop after `project down`, one after the crowd left; one start for attach, one for
    // the crowd.
    assert_eq!((starts, stops), (2, 2), "{events}");
}

#[test]
fn env_for_containers_reaches_the_server_over_the_dockhand_network() {
    let env = Env::new();
    let pg = env.name("netpg");
    let dir = project_dir(&env, "boxed", &[("postgres", versions().postgres, &pg)]);
    ok_in(&env, &dir, &["attach"]);
    ok_in(&env, &dir, &["project", "up"]);
    let file = dir.join("container.env");
    let mut c = env.command(&[
        "env",
        "--for",
        "container",
        "--write",
        file.to_str().unwrap(),
    ]);
    c.current_dir(&dir);
    let r = run_limited(c, COMMAND_LIMIT);
    assert_eq!(r.code, 0, "{}", r.all());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&format!("@{pg}:5432/boxed")), "{text}");
    let r = docker(&[
        "run",
        "--rm",
        "--network",
        "dockhand",
        "--env-file",
        file.to_str().unwrap(),
        "--entrypoint",
        "sh",
        pg_spec(),
        "-c",
        "psql \"$DATABASE_URL\" -tAc 'SELECT current_user'",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(r.stdout.trim(), "boxed", "{}\n{text}", r.all());
    ok_in(&env, &dir, &["project", "down"]);
}

fn env_write_merges_on(kind: &str, version: &str) {
    let env = Env::new();
    let r7 = env.name("dotenv");
    let dir = project_dir(&env, "dotty", &[(kind, version, &r7)]);
    ok_in(&env, &dir, &["attach"]);
    std::fs::write(
        dir.join(".env"),
        "# mine\nAPP_SECRET=keep-me\nREDIS_URL=redis://old\n",
    )
    .unwrap();
    ok_in(&env, &dir, &["env", "--write", ".env"]);
    let text = std::fs::read_to_string(dir.join(".env")).unwrap();
    assert!(
        text.starts_with("# mine\nAPP_SECRET=keep-me\nREDIS_URL=redis://dotty:"),
        "{text}"
    );
    assert!(text.contains("REDIS_KEY_PREFIX=dotty:"), "{text}");
    assert_eq!(text.matches("REDIS_URL=").count(), 1, "{text}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(dir.join(".env"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

#[test]
fn hostile_project_input_is_refused_with_reasons() {
    let env = Env::new();
    let dir = env.home.path().join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    for name in [
        "x'; DROP DATABASE postgres; --",
        "a b",
        "naïve",
        &"p".repeat(200),
        "-rf",
        "select",
    ] {
        let arg = format!("--name={name}");
        if name == "select" {
            // Reserved words are fine as project names: the database gets a safe derived name.
            let elsewhere = env.home.path().join("reserved");
            std::fs::create_dir_all(&elsewhere).unwrap();
            let r = in_dir(&env, &elsewhere, &["project", "add", &arg]);
            assert_eq!(r.code, 0, "{}", r.all());
            continue;
        }
        let r = in_dir(&env, &dir, &["project", "add", &arg]);
        assert_eq!(r.code, 2, "{name:?}: {}", r.all());
        assert!(r.stderr.contains("is not valid"), "{}", r.all());
    }
    std::fs::write(dir.join("dockhand.toml"), "[services]\npostgres = [16]\n").unwrap();
    let r = in_dir(&env, &dir, &["attach"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr.contains("dockhand.toml") && r.stderr.contains("is not a version"),
        "{}",
        r.all()
    );
    std::fs::write(dir.join("dockhand.toml"), "[services\n").unwrap();
    let r = in_dir(&env, &dir, &["attach", "redis"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("line 1"), "{}", r.all());
}

#[test]
fn an_attach_killed_mid_provisioning_leaves_nothing_the_next_attach_cannot_finish() {
    let env = Env::new();
    let pg = env.name("kprov");
    env.ok(&["up", pg_spec(), "--name", &pg]);
    // Killed at different moments: before, during and after its CREATE ROLE / CREATE DATABASE.
    for (i, delay_ms) in [0u64, 15, 40, 80, 150].into_iter().enumerate() {
        let name = format!("kp{i}");
        let dir = project_dir(&env, &name, &[("postgres", versions().postgres, &pg)]);
        let mut c = env.command(&["attach"]);
        c.current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // Whatever was half done, the next attach completes it and the project works.
        ok_in(&env, &dir, &["attach"]);
        let vars = env_map(&ok_in(&env, &dir, &["env", "--json"]));
        let who = client(
            "postgres",
            &vars["DATABASE_URL"],
            "SELECT current_user || '@' || current_database()",
        );
        assert_eq!(who, format!("{name}@{name}"), "killed after {delay_ms} ms");
    }
    let st = env.service_status(&pg);
    let holders = st["consumers"].as_array().unwrap();
    assert!(
        holders
            .iter()
            .all(|h| !h.as_str().unwrap().starts_with("attach")),
        "no lease of a killed attach survives: {holders:?}"
    );
    assert_eq!(containers_of(&pg).len(), 1, "one container, no duplicate");
}

/// The tests whose outcome depends on the server's version (its initialisation, isolation rules,
/// dump and restore tools, exit on kill): run on the oldest supported versions, then again on the
/// catalog's defaults — scripts/test-all.sh selects every `each_version::` test for that pass.
mod each_version {
    use super::*;

    #[test]
    fn each_project_gets_its_own_database_and_cannot_open_another_projects() {
        let env = Env::new();
        let (pg, maria, redis) = (env.name("pg"), env.name("maria"), env.name("cache"));
        let svcs = [
            ("postgres", versions().postgres, pg.as_str()),
            (my_kind(), my_version(), maria.as_str()),
            ("redis", versions().redis, redis.as_str()),
        ];
        let a = project_dir(&env, "alpha", &svcs);
        let b = project_dir(&env, "beta-app", &svcs);
        env.ok(&["config", "set", "grace-period", "10m"]);
        let out = ok_in(&env, &a, &["attach"]);
        assert!(
            out.contains("project 'alpha' added") && out.contains("database 'alpha'"),
            "{out}"
        );
        ok_in(&env, &b, &["attach"]);
        let ea = env_map(&ok_in(&env, &a, &["env", "--json"]));
        let eb = env_map(&ok_in(&env, &b, &["env", "--json"]));
        assert_eq!(ea["PGDATABASE"], "alpha");
        assert_eq!(eb["PGDATABASE"], "beta_app");
        assert_eq!(ea["PGUSER"], "alpha");
        assert!(
            ea["DATABASE_URL"].starts_with("postgresql://alpha:"),
            "{}",
            ea["DATABASE_URL"]
        );
        assert!(ea.contains_key("MYSQL_URL") && ea.contains_key("REDIS_URL"));

        // Each project works in its own database...
        client(
            "postgres",
            &ea["DATABASE_URL"],
            "CREATE TABLE t (x int); INSERT INTO t VALUES (1)",
        );
        assert_eq!(
            client("postgres", &ea["DATABASE_URL"], "SELECT current_user"),
            "alpha"
        );
        assert_eq!(
            client(
                "mariadb",
                &ea["MYSQL_URL"],
                "CREATE TABLE t (x int); SELECT DATABASE()"
            ),
            "alpha"
        );
        assert_eq!(client("redis", &ea["REDIS_URL"], "SET alpha:k 1"), "OK");

        // ...and cannot get into the other's.
        let b_db_with_a_creds = eb["DATABASE_URL"].replace(
            &format!("beta_app:{}", eb["PGPASSWORD"]),
            &format!("alpha:{}", ea["PGPASSWORD"]),
        );
        let denied = run_limited(
            {
                let mut c = Command::new("psql");
                c.args([&b_db_with_a_creds, "-tAc", "SELECT 1"]);
                c
            },
            COMMAND_LIMIT,
        );
        assert_ne!(denied.code, 0, "alpha connected to beta's database");
        assert!(
            denied.stderr.contains("permission denied for database"),
            "{}",
            denied.all()
        );

        let (_, mport) = password_and_port(&ea["MYSQL_URL"]);
        let mut c = Command::new("mariadb");
        c.args([
            "-h",
            "127.0.0.1",
            "-P",
            &mport.to_string(),
            "-u",
            "alpha",
            "-e",
            "SELECT * FROM beta_app.t",
        ])
        .env("MYSQL_PWD", &ea["MYSQL_PASSWORD"]);
        let denied = run_limited(c, COMMAND_LIMIT);
        assert_ne!(denied.code, 0);
        assert!(denied.stderr.contains("denied"), "{}", denied.all());

        let sneak = client_raw("redis", &ea["REDIS_URL"], "GET beta_app:k");
        assert!(sneak.contains("NOPERM"), "{sneak}");
        let flush = client_raw("redis", &ea["REDIS_URL"], "FLUSHALL");
        assert!(flush.contains("NOPERM"), "{flush}");

        // Attaching again is idempotent and keeps the data.
        ok_in(&env, &a, &["attach"]);
        assert_eq!(
            client("postgres", &ea["DATABASE_URL"], "SELECT count(*) FROM t"),
            "1"
        );
        let projects = env.ok(&["project", "list"]);
        assert!(
            projects.contains("alpha") && projects.contains("beta-app"),
            "{projects}"
        );
    }

    #[test]
    fn env_write_merges_into_an_existing_dotenv_and_keeps_it_private() {
        for (kind, version, _) in versions().redis_family {
            env_write_merges_on(kind, version);
        }
    }

    #[test]
    fn removing_a_project_keeps_data_unless_asked_and_backs_up_before_dropping() {
        let env = Env::new();
        let pg = env.name("droppg");
        let dir = project_dir(&env, "doomed", &[("postgres", versions().postgres, &pg)]);
        ok_in(&env, &dir, &["attach"]);
        ok_in(&env, &dir, &["project", "up"]);
        let e = env_map(&ok_in(&env, &dir, &["env", "--json"]));
        client(
            "postgres",
            &e["DATABASE_URL"],
            "CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 1000)",
        );

        let r = env.run(&["project", "remove", "doomed", "--drop-data"]);
        assert_ne!(r.code, 0, "dropping without confirmation must be refused");
        assert!(r.stderr.contains("Nothing was deleted"), "{}", r.all());
        assert_eq!(
            client("postgres", &e["DATABASE_URL"], "SELECT count(*) FROM t"),
            "1000"
        );

        let out = env.ok(&["project", "remove", "doomed", "--drop-data", "--yes"]);
        let backup = out
            .lines()
            .find_map(|l| l.strip_prefix("backed up to "))
            .expect(&out)
            .to_string();
        let listing = pg_restore_list(std::path::Path::new(&backup));
        assert_eq!(listing.code, 0, "backup unreadable: {}", listing.all());
        assert!(
            listing.stdout.contains("TABLE public t"),
            "{}",
            listing.stdout
        );
        let admin = env.url(&pg);
        assert_eq!(
            client(
                "postgres",
                &admin,
                "SELECT count(*) FROM pg_database WHERE datname = 'doomed'"
            ),
            "0"
        );
        assert_eq!(
            client(
                "postgres",
                &admin,
                "SELECT count(*) FROM pg_roles WHERE rolname = 'doomed'"
            ),
            "0"
        );
        assert!(!env.ok(&["project", "list"]).contains("doomed"));
    }
}

/// TAB completes the user's own names — projects and services from the state, kinds where a kind
/// is taken — asked the way the installed scripts ask (`DOCKHAND_COMPLETE=bash dockhand -- …`),
/// and a machine where Dockhand never ran gets the kinds and no home made for it.
#[test]
fn completion_offers_the_users_projects_services_and_kinds() {
    let env = Env::new();
    let svc = env.name("tabsvc");
    env.ok(&["up", &format!("{svc}={}", versions().redis_spec)]);
    let dir = project_dir(&env, "tabshop", &[]);
    ok_in(&env, &dir, &["project", "add"]);
    let complete = |home: Option<&std::path::Path>, words: &[&str]| -> Vec<String> {
        let mut c = env.command(&[]);
        c.arg("--").arg("dockhand").args(words);
        c.env("DOCKHAND_COMPLETE", "bash")
            .env("_CLAP_COMPLETE_INDEX", words.len().to_string())
            .env("_CLAP_IFS", "\n");
        if let Some(h) = home {
            c.env("DOCKHAND_HOME", h);
        }
        let r = run_limited(c, COMMAND_LIMIT);
        assert_eq!(r.code, 0, "{}", r.all());
        r.stdout.lines().map(str::to_string).collect()
    };
    assert_eq!(complete(None, &["url", "tabs"]), ["tabshop"]);
    assert_eq!(complete(None, &["project", "up", "tab"]), ["tabshop"]);
    assert_eq!(
        complete(None, &["logs", &svc[..svc.len() - 2]]),
        [svc.as_str()]
    );
    assert_eq!(complete(None, &["attach", "--project", "tab"]), ["tabshop"]);
    let up = complete(None, &["up", ""]);
    assert!(
        up.contains(&svc) && up.iter().any(|c| c == "postgres"),
        "{up:?}"
    );
    assert_eq!(complete(None, &["resta"]), ["restart"]);

    // Mistyped names get a "did you mean"; errors name commands that exist.
    let typo = env.run(&["logs", &svc[..svc.len() - 1]]);
    assert_ne!(typo.code, 0);
    assert!(
        typo.stderr.contains(&format!("did you mean '{svc}'")),
        "{}",
        typo.stderr
    );
    let kind = env.run(&["up", "postgress"]);
    assert_eq!(kind.code, 2, "{}", kind.all());
    assert!(
        kind.stderr.contains("did you mean postgres"),
        "{}",
        kind.stderr
    );
    let nobody = env.run(&["url", "no-such-project-or-service"]);
    assert!(
        !nobody.stderr.contains("dockhand projects"),
        "{}",
        nobody.stderr
    );

    // `attach` in a folder whose dockhand.toml lists nothing adds no project.
    let empty = project_dir(&env, "tabempty", &[]);
    let r = in_dir(&env, &empty, &["attach"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(!env.ok(&["project", "list"]).contains("tabempty"));

    // A completion script read only in part (`| head`) is no error.
    let bin = env!("CARGO_BIN_EXE_dockhand");
    let piped = Command::new("bash")
        .args([
            "-c",
            &format!("set -o pipefail; {bin} completions bash | head -c 10 >/dev/null"),
        ])
        .status()
        .unwrap();
    assert!(piped.success(), "completions | head failed: {piped}");
    // No home yet: kinds still complete, and nothing is created.
    let fresh = env.home.path().join("never-ran");
    assert!(complete(Some(&fresh), &["up", "post"]).contains(&"postgres".to_string()));
    assert!(complete(Some(&fresh), &["url", ""])
        .iter()
        .all(|c| c.starts_with('-')));
    assert!(!fresh.exists(), "a completion created a home");
}

/// `dockhand connect` opens the kind's own client as the project's user — psql here, with the
/// project's database — holding the project's services while it runs, passing the client's exit
/// code through, with the password in no process's arguments; without the client installed it
/// says what to install and starts nothing.
#[test]
fn connect_opens_the_kinds_client_as_the_projects_user() {
    let env = Env::new();
    let pg = env.name("conpg");
    let dir = project_dir(&env, "conshop", &[("postgres", versions().postgres, &pg)]);
    env.ok(&["config", "set", "grace-period", "0"]);
    ok_in(&env, &dir, &["attach"]);
    ok_in(&env, &dir, &["project", "down"]);
    assert_eq!(env.service_status(&pg)["state"], "stopped");

    // The client runs a query that also reads its own command line from the server's view.
    let r = in_dir(
        &env,
        &dir,
        &[
            "connect",
            "--",
            "-tAc",
            "SELECT current_user || '@' || current_database()",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(r.stdout.trim(), "conshop@conshop", "{}", r.all());
    assert!(
        r.stderr.contains("psql: database conshop as conshop"),
        "{}",
        r.stderr
    );
    // Held only while it ran: stopped again (grace 0).
    assert_eq!(env.service_status(&pg)["state"], "stopped");

    // While it runs, the service is held by it, and no command line carries the password.
    let url = ok_in(&env, &dir, &["url"]);
    let password = url
        .split(':')
        .nth(2)
        .unwrap()
        .split('@')
        .next()
        .unwrap()
        .to_string();
    let mut c = env.command(&["connect", "--", "-c", "SELECT pg_sleep(30)"]);
    c.current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = c.spawn().unwrap();
    let held = wait_until(Duration::from_secs(120), || {
        env.service_status(&pg)["consumers"] == serde_json::json!(["connect:psql"])
    });
    let mut leaked = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            if String::from_utf8_lossy(&cmdline).contains(&password) {
                leaked.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
            }
        }
    }
    let group = child.id();
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{group}")])
        .status();
    let _ = child.wait();
    assert!(held, "connect did not hold the service");
    assert!(leaked.is_empty(), "password on a command line: {leaked:?}");

    // The client's exit code is the command's.
    let r = in_dir(
        &env,
        &dir,
        &[
            "connect",
            "--",
            "-c",
            "SELECT * FROM no_such_table",
            "-v",
            "ON_ERROR_STOP=1",
        ],
    );
    assert_ne!(r.code, 0, "{}", r.all());

    // No psql on PATH: said, with how to install it, and nothing started.
    let mut c = env.command(&["connect"]);
    c.current_dir(&dir).env("PATH", "/nonexistent");
    let r = run_limited(c, COMMAND_LIMIT);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr.contains("psql not found on PATH") && r.stderr.contains("postgresql-client"),
        "{}",
        r.stderr
    );
    assert_eq!(env.service_status(&pg)["state"], "stopped");
}
