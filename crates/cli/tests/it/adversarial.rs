//! The adversarial suite: each test attacks one isolation rule or crash point of a shared server
//! the way a hostile project or a careless user would — with the real `dockhand` binary, the real
//! Docker engine and the real PostgreSQL and MariaDB servers — and asserts that the attack is
//! refused AND that the victim keeps working. Redis has its own file (adversarial_redis.rs).
//!
//! Crash loops run `DOCKHAND_STRESS` iterations (default 10 in CI; `DOCKHAND_STRESS=50` for the
//! stress mode reported in docs/manual.md), killing the CLI with SIGKILL at pseudo-random moments
//! (the seed is printed, `DOCKHAND_SEED` replays a run).

// Unix only: it kills whole process groups.
#![cfg(unix)]

use crate::common;

use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn iterations() -> usize {
    stress_iterations(10)
}

/// Starts `dockhand args` in `dir` and kills it with SIGKILL after `ms`; returns whether it had
/// already finished on its own.
fn kill_after(env: &Env, dir: &std::path::Path, args: &[&str], ms: u64) -> bool {
    let mut c = env.command(args);
    c.current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    let finished = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    let _ = child.wait();
    finished
}

/// Holds sessions open as a user: each child runs a long sleep statement; all are killed (by
/// their own process group, so only what this test started) when dropped.
struct Sessions(Vec<Child>);

impl Sessions {
    fn open(kind: &str, url: &str, n: usize) -> Sessions {
        let sleep = match kind {
            "postgres" => "SELECT pg_sleep(120)",
            _ => "SELECT SLEEP(120)",
        };
        Sessions(
            (0..n)
                .map(|_| {
                    let mut c = client_command(kind, url, sleep);
                    c.stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .process_group(0);
                    c.spawn().unwrap()
                })
                .collect(),
        )
    }
}

impl Drop for Sessions {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = std::process::Command::new("kill")
                .args(["-9", "--", &format!("-{}", c.id())])
                .status();
            let _ = c.wait();
        }
    }
}

/// The URL with another database in its path.
fn with_database(url: &str, database: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{database}")
}

/// Connections the server counts for a user, asked as the admin.
fn sessions_of(kind: &str, admin_url: &str, user: &str) -> usize {
    let q = match kind {
        "postgres" => format!("SELECT count(*) FROM pg_stat_activity WHERE usename = '{user}'"),
        _ => format!("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '{user}'"),
    };
    let r = client_run(kind, admin_url, &q);
    r.stdout.trim().parse().unwrap_or(0)
}

#[test]
fn mariadb_grants_do_not_treat_underscores_in_a_projects_name_as_wildcards() {
    let env = Env::new();
    let maria = env.name("wild");
    env.ok(&["up", my_spec(), "--name", &maria]);
    // Project "ab-c" gets database `ab_c`; in a database-level grant `_` matches any character,
    // so unescaped it would also cover `abxc` and `ab9c`.
    let attacker = project_dir(&env, "ab-c", &[(my_kind(), my_version(), &maria)]);
    let victim = project_dir(&env, "abxc", &[(my_kind(), my_version(), &maria)]);
    ok_in(&env, &attacker, &["attach"]);
    ok_in(&env, &victim, &["attach"]);
    // A project with MariaDB as its only SQL service gets it as DATABASE_URL.
    let a = env_map(&ok_in(&env, &attacker, &["env", "--json"]))["DATABASE_URL"].clone();
    let v = env_map(&ok_in(&env, &victim, &["env", "--json"]))["DATABASE_URL"].clone();
    client(
        "mariadb",
        &v,
        "CREATE TABLE secrets (s TEXT); INSERT INTO secrets VALUES ('victim-data')",
    );

    let shown = client("mariadb", &a, "SHOW DATABASES");
    assert!(
        !shown.contains("abxc"),
        "the attacker sees the victim's database: {shown}"
    );
    for attack in [
        "SELECT * FROM abxc.secrets",
        "DROP TABLE abxc.secrets",
        "CREATE DATABASE ab9c",
        "CREATE TABLE abxc.planted (x INT)",
    ] {
        let r = client_run("mariadb", &a, attack);
        assert_ne!(r.code, 0, "{attack:?} was allowed: {}", r.all());
        assert!(r.all().contains("denied"), "{attack:?}: {}", r.all());
    }
    // The victim's data is intact and the attacker still works in its own database.
    assert_eq!(
        client("mariadb", &v, "SELECT s FROM secrets"),
        "victim-data"
    );
    assert_eq!(
        client(
            "mariadb",
            &a,
            "CREATE TABLE mine (x INT); SELECT DATABASE()"
        ),
        "ab_c"
    );
}

#[test]
fn one_project_cannot_take_every_connection_slot_from_the_others() {
    let env = Env::new();
    let pg = env.name("slots");
    let maria = env.name("mslots");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    env.ok(&["up", my_spec(), "--name", &maria]);
    env.ok(&["config", "set", "connection-limit", "4"]);
    let svcs = [
        ("postgres", "15", pg.as_str()),
        (my_kind(), my_version(), maria.as_str()),
    ];
    let hog = project_dir(&env, "hog", &svcs);
    let quiet = project_dir(&env, "quiet", &svcs);
    ok_in(&env, &hog, &["attach"]);
    ok_in(&env, &quiet, &["attach"]);
    let h = env_map(&ok_in(&env, &hog, &["env", "--json"]));
    let q = env_map(&ok_in(&env, &quiet, &["env", "--json"]));

    for (kind, var, service) in [
        ("postgres", "DATABASE_URL", &pg),
        (my_kind(), "MYSQL_URL", &maria),
    ] {
        let admin = env.url(service);
        // The hog opens as many sessions as it can, and more.
        let _held = Sessions::open(kind, &h[var], 4);
        assert!(
            wait_until(Duration::from_secs(60), || sessions_of(kind, &admin, "hog")
                >= 4),
            "{kind}: the hog's sessions never appeared"
        );
        let refused = client_run(kind, &h[var], "SELECT 1");
        assert_ne!(refused.code, 0, "{kind}: a 5th session was allowed");
        assert!(
            refused
                .all()
                .to_lowercase()
                .contains("too many connections")
                || refused.all().contains("max_user_connections"),
            "{kind}: {}",
            refused.all()
        );
        // The other project and the admin still get in.
        assert_eq!(
            client(kind, &q[var], "SELECT 1"),
            "1",
            "{kind}: the quiet project"
        );
        assert_eq!(client(kind, &admin, "SELECT 1"), "1", "{kind}: the admin");
    }
    // The limit is visible where a user would look.
    assert!(env.ok(&["config", "show"]).contains("connection-limit = 4"));
}

#[test]
fn a_project_named_pg_something_gets_a_postgres_role_it_can_use() {
    let env = Env::new();
    let pg = env.name("pgname");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let dir = project_dir(&env, "pg-tools", &[("postgres", "15", &pg)]);
    ok_in(&env, &dir, &["attach"]);
    let vars = env_map(&ok_in(&env, &dir, &["env", "--json"]));
    assert_eq!(
        client(
            "postgres",
            &vars["DATABASE_URL"],
            "SELECT current_user || '@' || current_database()"
        ),
        "p_pg_tools@p_pg_tools"
    );
}

#[test]
fn a_postgres_project_user_has_no_way_into_other_projects_or_the_server() {
    let env = Env::new();
    let pg = env.name("pgatk");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let a = project_dir(&env, "mallory", &[("postgres", "15", &pg)]);
    let v = project_dir(&env, "alice", &[("postgres", "15", &pg)]);
    ok_in(&env, &a, &["attach"]);
    ok_in(&env, &v, &["attach"]);
    let au = env_map(&ok_in(&env, &a, &["env", "--json"]))["DATABASE_URL"].clone();
    let vu = env_map(&ok_in(&env, &v, &["env", "--json"]))["DATABASE_URL"].clone();
    client(
        "postgres",
        &vu,
        "CREATE TABLE s (x text); INSERT INTO s VALUES ('alice-data')",
    );
    let into_victim = with_database(&au, "alice");
    for (url, attack) in [
        (into_victim.as_str(), "SELECT 1"),
        (au.as_str(), "CREATE DATABASE stolen"),
        (au.as_str(), "CREATE ROLE sidekick LOGIN"),
        (au.as_str(), "ALTER ROLE mallory SUPERUSER"),
        (au.as_str(), "ALTER ROLE alice PASSWORD 'x'"),
        (au.as_str(), "ALTER ROLE mallory CONNECTION LIMIT -1"),
        (
            au.as_str(),
            "SELECT * FROM dblink('dbname=alice', 'SELECT 1') AS t(x int)",
        ),
        (au.as_str(), "COPY (SELECT 1) TO PROGRAM 'id'"),
        (
            au.as_str(),
            "SELECT pg_read_file('/var/lib/postgresql/data/pg_hba.conf')",
        ),
    ] {
        let r = client_run("postgres", url, attack);
        assert_ne!(r.code, 0, "{attack:?} was allowed: {}", r.all());
    }
    // The victim keeps its data; the attacker's connection limit is the one Dockhand set.
    assert_eq!(client("postgres", &vu, "SELECT x FROM s"), "alice-data");
    assert_eq!(
        client(
            "postgres",
            &au,
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user"
        ),
        "50"
    );
}

#[test]
fn an_attach_killed_at_random_moments_always_finishes_on_the_next_run() {
    let env = Env::new();
    let pg = env.name("cattach");
    let maria = env.name("cmattach");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    env.ok(&["up", my_spec(), "--name", &maria]);
    let mut moments = Moments::new("attach");
    let svcs = [
        ("postgres", "15", pg.as_str()),
        (my_kind(), my_version(), maria.as_str()),
    ];
    for i in 0..iterations() {
        let name = format!("ka{i}");
        let dir = project_dir(&env, &name, &svcs);
        let ms = moments.next_ms(400);
        kill_after(&env, &dir, &["attach"], ms);
        ok_in(&env, &dir, &["attach"]);
        let vars = env_map(&ok_in(&env, &dir, &["env", "--json"]));
        assert_eq!(
            client(
                "postgres",
                &vars["DATABASE_URL"],
                "SELECT current_user || '@' || current_database()"
            ),
            format!("{name}@{name}"),
            "killed after {ms} ms"
        );
        assert_eq!(
            client("mariadb", &vars["MYSQL_URL"], "SELECT DATABASE()"),
            name,
            "killed after {ms} ms"
        );
        // No window in which PUBLIC could open the new database survives a kill.
        let admin = env.url(&pg);
        assert_eq!(
            client(
                "postgres",
                &admin,
                &format!("SELECT has_database_privilege('public', '{name}', 'CONNECT')")
            ),
            "f"
        );
    }
    assert_eq!(containers_of(&pg).len(), 1);
}

#[test]
fn a_project_removal_killed_at_random_moments_is_finished_by_the_next_run() {
    let env = Env::new();
    let pg = env.name("cremove");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let mut moments = Moments::new("remove");
    for i in 0..iterations() {
        let name = format!("kr{i}");
        let dir = project_dir(&env, &name, &[("postgres", "15", &pg)]);
        ok_in(&env, &dir, &["attach"]);
        let vars = env_map(&ok_in(&env, &dir, &["env", "--json"]));
        client(
            "postgres",
            &vars["DATABASE_URL"],
            "CREATE TABLE t (x int); INSERT INTO t VALUES (7)",
        );
        let ms = moments.next_ms(1500);
        kill_after(
            &env,
            &dir,
            &["project", "remove", &name, "--drop-data", "--yes"],
            ms,
        );
        // The re-run finishes whatever is left (or says the project is gone, if it had finished).
        let again = env.run(&["project", "remove", &name, "--drop-data", "--yes"]);
        let listed = env.ok(&["project", "list"]);
        assert!(
            again.code == 0 || again.all().contains("no project named"),
            "killed after {ms} ms, the re-run failed: {}",
            again.all()
        );
        assert!(
            !listed.contains(&name),
            "killed after {ms} ms: still listed: {listed}"
        );
        let admin = env.url(&pg);
        let left = client(
            "postgres",
            &admin,
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
        );
        assert_eq!(left, "0", "killed after {ms} ms: database left behind");
        let role = client(
            "postgres",
            &admin,
            &format!("SELECT count(*) FROM pg_roles WHERE rolname = '{name}'"),
        );
        assert_eq!(role, "0", "killed after {ms} ms: role left behind");
        // Nothing lost: a backup of the data was taken before it was dropped.
        let backups = env.ok(&["backups", "--json"]);
        assert!(
            backups.contains(&format!("\"{name}\"")),
            "no backup of {name}: {backups}"
        );
    }
}

#[test]
fn removing_a_project_that_owns_a_restored_copy_keeps_the_copy_and_finishes() {
    let env = Env::new();
    let pg = env.name("rcopy");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let dir = project_dir(&env, "alpha", &[("postgres", "15", &pg)]);
    ok_in(&env, &dir, &["attach"]);
    let vars = env_map(&ok_in(&env, &dir, &["env", "--json"]));
    client(
        "postgres",
        &vars["DATABASE_URL"],
        "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)",
    );
    env.ok(&["backup", &pg, "--project", "alpha"]);
    let list: serde_json::Value = serde_json::from_str(&env.ok(&["backups", "--json"])).unwrap();
    let id = list.as_array().unwrap()[0]["id"].to_string();
    assert!(id.parse::<i64>().is_ok(), "{list}");
    env.ok(&["restore", &id, "--into", "alpha_copy"]);
    let out = env.ok(&["project", "remove", "alpha", "--drop-data", "--yes"]);
    assert!(!env.ok(&["project", "list"]).contains("alpha"), "{out}");
    let admin = env.url(&pg);
    // The copy (the project user's, made by restore) is kept with its rows, and so is its
    // owner, without login: handing the project's objects to the admin would make the admin run
    // the project's code when that data is next restored.
    assert_eq!(
        client(
            "postgres",
            &with_database(&admin, "alpha_copy"),
            "SELECT count(*) FROM t"
        ),
        "2"
    );
    assert_eq!(
        client(
            "postgres",
            &admin,
            "SELECT rolcanlogin::text || ' ' || pg_get_userbyid(datdba) FROM pg_roles, pg_database \
             WHERE rolname = 'alpha' AND datname = 'alpha_copy'"
        ),
        "false alpha"
    );
    // A second run says clearly that there is nothing left to remove.
    let again = env.run(&["project", "remove", "alpha", "--drop-data", "--yes"]);
    assert_ne!(again.code, 0);
    assert!(again.all().contains("no project named"), "{}", again.all());
}

#[test]
fn destroying_a_service_never_leaves_projects_pointing_at_nothing() {
    let env = Env::new();
    let pg = env.name("gone");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let dir = project_dir(&env, "orphan", &[("postgres", "15", &pg)]);
    ok_in(&env, &dir, &["attach"]);
    // Destroyed, data kept: the project's commands say what happened and how to go on.
    env.ok(&["destroy", &pg]);
    let r = in_dir(&env, &dir, &["env"]);
    assert_ne!(r.code, 0);
    assert!(
        r.all().contains("was destroyed") && r.all().contains("dockhand up"),
        "{}",
        r.all()
    );
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let vars = env_map(&ok_in(&env, &dir, &["env", "--json"]));
    assert_eq!(
        client(
            "postgres",
            &vars["DATABASE_URL"],
            "SELECT current_database()"
        ),
        "orphan"
    );
    // Destroyed with its data: the attachment goes too, and every project command works.
    env.ok(&["destroy", &pg, "--purge", "--yes"]);
    let r = in_dir(&env, &dir, &["env", "--json"]);
    assert!(r.all().contains("uses no service yet"), "{}", r.all());
    assert!(env
        .ok(&["events", &pg])
        .contains("projects detached: orphan"));
    // Detaching from a destroyed (kept-data) service works without the server.
    env.ok(&["up", "postgres:15", "--name", &pg]);
    ok_in(&env, &dir, &["attach"]);
    env.ok(&["destroy", &pg]);
    ok_in(&env, &dir, &["detach", &pg]);
    let r = in_dir(&env, &dir, &["env", "--json"]);
    assert!(r.all().contains("uses no service yet"), "{}", r.all());
}

#[test]
fn a_failed_first_start_leaves_no_phantom_service() {
    let env = Env::new();
    // No registry is reachable here: the pull fails. The service must not stay behind holding a
    // port and making `postgres` ambiguous for the README's next command.
    let r = env.run(&["up", "postgres:13"]);
    assert_ne!(r.code, 0);
    let status = env.status_json();
    assert_eq!(status, serde_json::json!([]), "a phantom row: {status}");
    let pg = env.name("after");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    assert_eq!(
        env.url("postgres"),
        env.url(&pg),
        "'postgres' is not ambiguous"
    );

    // A name another Dockhand home's container holds: refused, nothing recorded, and that
    // container's logs are never shown as this home's.
    let other = Env::new_unserialized();
    let shared = env.name("taken");
    let r = other.run(&["up", "redis:7", "--name", &shared]);
    assert_eq!(r.code, 0, "{}", r.all());
    let refused = env.run(&["up", "redis:7", "--name", &shared]);
    assert_eq!(refused.code, 7, "{}", refused.all());
    assert!(
        refused.all().contains("another Dockhand home"),
        "{}",
        refused.all()
    );
    assert!(
        !env.ok(&["status"]).contains(&shared),
        "the refused service was recorded"
    );
    let logs = env.run(&["logs", &shared]);
    assert_ne!(
        logs.code,
        0,
        "logs of another home's container: {}",
        logs.all()
    );
}

#[test]
fn a_lost_state_database_is_a_clear_error_with_a_way_back_never_a_new_identity() {
    let env = Env::new();
    let pg = env.name("lost");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let url = env.url(&pg);
    std::fs::remove_file(env.home_dir().join("state.db")).unwrap();
    let _ = std::fs::remove_file(env.home_dir().join("state.db-wal"));
    let _ = std::fs::remove_file(env.home_dir().join("state.db-shm"));
    let r = env.run(&["status"]);
    assert_eq!(r.code, 7, "{}", r.all());
    assert!(
        r.all().contains("is missing") && r.all().contains("dockhand recover"),
        "{}",
        r.all()
    );
    assert!(
        !env.home_dir().join("state.db").exists(),
        "nothing was created"
    );
    let out = env.ok(&["recover"]);
    assert!(out.contains("1 service(s) found again"), "{out}");
    // The same service, the same password from the keychain: the old URL still works.
    assert_eq!(env.url(&pg), url);
    assert_eq!(client("postgres", &url, "SELECT 1"), "1");
}

#[test]
fn a_closed_stdout_ends_the_cli_quietly_not_with_a_panic() {
    let env = Env::new();
    let dir = env.home.path().join("quiet");
    std::fs::create_dir_all(&dir).unwrap();
    env.ok(&["project", "add", dir.to_str().unwrap()]);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut c = env.command(&["events"]);
    c.stdout(writer).stderr(Stdio::piped());
    let start = Instant::now();
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(start.elapsed() < COMMAND_LIMIT);
}

#[test]
fn up_and_destroy_killed_at_random_moments_leave_nothing_the_next_run_cannot_finish() {
    let env = Env::new();
    let dir = env.home.path().to_path_buf();
    let mut moments = Moments::new("up-destroy");
    for i in 0..iterations() {
        let name = env.name(&format!("ud{i}"));
        let ms = moments.next_ms(2500);
        kill_after(&env, &dir, &["up", "postgres:15", "--name", &name], ms);
        // Whatever the kill left, `up` finishes it: one container, answering.
        env.ok(&["up", "postgres:15", "--name", &name]);
        assert_eq!(containers_of(&name).len(), 1, "killed after {ms} ms");
        assert_eq!(client("postgres", &env.url(&name), "SELECT 1"), "1");
        let ms = moments.next_ms(1500);
        kill_after(&env, &dir, &["destroy", &name, "--purge", "--yes"], ms);
        // The re-run finishes the purge, or says the service is gone if it had finished.
        let again = env.run(&["destroy", &name, "--purge", "--yes"]);
        assert!(
            again.code == 0 || again.code == 4,
            "killed after {ms} ms, the re-run failed: {}",
            again.all()
        );
        assert!(
            containers_of(&name).is_empty(),
            "killed after {ms} ms: a container is left"
        );
        assert!(
            !volume_exists(&name),
            "killed after {ms} ms: the volume is left"
        );
        assert!(
            !env.ok(&["status"]).contains(&name),
            "killed after {ms} ms: still listed"
        );
    }
}
