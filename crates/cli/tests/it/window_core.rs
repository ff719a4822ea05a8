//! End-to-end tests of what the window asks of the core (issue 12): databases created and
//! dropped inside one service, on real PostgreSQL and MariaDB servers, through the real
//! `dockhand` binary.

#![cfg(unix)]

use crate::common;

use common::*;

fn databases(env: &Env, service: &str) -> Vec<serde_json::Value> {
    let out = env.ok(&["db", "list", service, "--json"]);
    serde_json::from_str::<serde_json::Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn backed_up(env: &Env, service: &str, database: &str) -> bool {
    let out = env.ok(&["backups", service, "--json"]);
    serde_json::from_str::<serde_json::Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["database"] == database)
}

fn find<'a>(dbs: &'a [serde_json::Value], name: &str) -> Option<&'a serde_json::Value> {
    dbs.iter().find(|d| d["name"] == name)
}

/// The same URL with another database at its end.
fn with_database(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{db}")
}

fn create_use_and_drop(kind: &str, version: &str, server_own: &str, make_by_hand: &str) {
    let env = Env::new();
    let svc = env.name("dbs");
    env.ok(&["up", &format!("{kind}:{version}"), "--name", &svc]);

    env.ok(&["db", "create", &svc, "app_one"]);
    env.ok(&["db", "create", &svc, "app_two"]);
    let again = env.run(&["db", "create", &svc, "app_one"]);
    assert_eq!(again.code, 2, "{}", again.all());
    assert!(again.stderr.contains("exists already"), "{}", again.all());

    // Each database has its own user, who gets in to it and to no other.
    let url = env.url("app_one");
    let (user, db) = user_and_database(&url);
    assert_eq!(db, "app_one");
    assert_eq!(client(kind, &url, "SELECT 7"), "7");
    let other = client_run(kind, &with_database(&url, "app_two"), "SELECT 1");
    assert_ne!(other.code, 0, "{user} got into app_two: {}", other.all());

    let dbs = databases(&env, &svc);
    let one = find(&dbs, "app_one").expect("app_one listed");
    assert_eq!(one["project"], "app_one");
    assert_eq!(one["user"], user.as_str());
    assert_eq!(one["server_own"], false);
    if !server_own.is_empty() {
        assert_eq!(
            find(&dbs, server_own).expect("the server's own")["server_own"],
            true
        );
        let r = env.run(&["db", "drop", &svc, server_own, "--yes"]);
        assert_ne!(r.code, 0, "{}", r.all());
    }

    // Not at a terminal and without --yes: nothing is dropped.
    let unconfirmed = env.run(&["db", "drop", &svc, "app_one"]);
    assert_eq!(unconfirmed.code, 2, "{}", unconfirmed.all());
    assert!(find(&databases(&env, &svc), "app_one").is_some());

    // A project's database: backed up, dropped with its user, its folder-less project gone.
    let out = env.ok(&["db", "drop", &svc, "app_one", "--yes"]);
    assert!(out.contains("backup"), "{out}");
    assert!(backed_up(&env, &svc, "app_one"), "no backup of app_one");
    assert!(find(&databases(&env, &svc), "app_one").is_none());
    let projects = env.ok(&["project", "list"]);
    assert!(!projects.contains("app_one"), "{projects}");
    assert_ne!(
        client_run(kind, &url, "SELECT 1").code,
        0,
        "its user still logs in"
    );

    // A database made by hand with the admin's client: listed as such, dropped after a backup.
    let admin = env.url(&svc);
    client(kind, &admin, make_by_hand);
    let dbs = databases(&env, &svc);
    let hand = find(&dbs, "handmade").expect("handmade listed");
    assert!(hand["project"].is_null(), "{hand}");
    // In the table: whose it is, in words (not "made by hand": `restore --into` makes them too).
    let table = env.ok(&["db", "list", &svc]);
    let line = table
        .lines()
        .find(|l| l.contains("handmade"))
        .unwrap_or_default();
    assert!(line.contains("no project (the admin's)"), "{table}");
    env.ok(&["db", "drop", &svc, "handmade", "--yes"]);
    assert!(find(&databases(&env, &svc), "handmade").is_none());
    assert!(backed_up(&env, &svc, "handmade"), "no backup of handmade");
    let gone = env.run(&["db", "drop", &svc, "handmade", "--yes"]);
    assert_eq!(gone.code, 4, "{}", gone.all());
}

#[test]
fn postgres_databases_are_created_alone_and_dropped_after_a_backup() {
    create_use_and_drop("postgres", "15", "postgres", "CREATE DATABASE handmade");
}

#[test]
fn mariadb_databases_are_created_alone_and_dropped_after_a_backup() {
    create_use_and_drop(my_kind(), my_version(), "", "CREATE DATABASE handmade");
}

/// "Back up" on a server nobody has created a database on yet. PostgreSQL backs up its
/// `postgres` database (people do keep tables there); MariaDB, whose own schemas are not backed
/// up, says there is nothing to back up with an error of its own (exit 11), never "invalid
/// input".
#[test]
fn backing_up_a_fresh_server_backs_up_what_is_there_or_says_there_is_nothing() {
    let env = Env::new();
    let pg = env.name("fresh-pg");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let out = env.ok(&["backup", &pg]);
    assert!(out.contains(&format!("{pg}/postgres")), "{out}");

    let maria = env.name("fresh-maria");
    env.ok(&["up", my_spec(), "--name", &maria]);
    let r = env.run(&["backup", &maria]);
    assert_eq!(r.code, 11, "{}", r.all());
    assert!(
        r.stderr
            .contains(&format!("nothing to back up on '{maria}'"))
            && !r.stderr.contains("invalid input"),
        "{}",
        r.all()
    );
    let json = env.run(&["backup", &maria, "--json"]);
    assert!(
        json.all().contains("\"nothing_to_back_up\""),
        "{}",
        json.all()
    );
}

/// A running `dockhand supervise --json` (the tray app's supervisor, in another process than
/// the commands below), its lines arriving on a channel.
struct Supervisor {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<serde_json::Value>,
}

impl Supervisor {
    fn start(env: &Env) -> Supervisor {
        use std::io::BufRead;
        let mut child = env
            .command(&["supervise", "--json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        let s = Supervisor { child, lines };
        s.expect(std::time::Duration::from_secs(60), "its first look", |v| {
            v["type"] == "ready"
        });
        s
    }

    fn expect(
        &self,
        limit: std::time::Duration,
        what: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let end = std::time::Instant::now() + limit;
        let mut seen = Vec::new();
        while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(v) if pred(&v) => return v,
                Ok(v) => seen.push(v),
                Err(_) => break,
            }
        }
        panic!("no {what} within {limit:?}; saw {seen:#?}");
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn event_kinds(env: &Env, service: &str) -> Vec<String> {
    let out = env.ok(&["events", service, "--json"]);
    serde_json::from_str::<serde_json::Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `dockhand restart` while the supervisor of another process watches: the stop and the start
/// are expected steps — no `failed` or `unhealthy` event, the stop recorded once. A `docker kill`
/// is a real failure and is reported as one.
#[test]
fn a_users_restart_is_no_failure_but_a_kill_is() {
    let env = Env::new();
    let svc = env.name("intent");
    env.ok(&["up", "postgres:15", "--name", &svc]);
    let sup = Supervisor::start(&env);
    env.ok(&["restart", &svc]);
    sup.expect(
        std::time::Duration::from_secs(30),
        "healthy again after the restart",
        |v| v["type"] == "transition" && v["service"] == svc.as_str() && v["to"] == "healthy",
    );
    // The supervisor looks every half second while anything moves: give it a few looks.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let kinds = event_kinds(&env, &svc);
    assert!(
        !kinds.iter().any(|k| k == "failed" || k == "unhealthy"),
        "a restart the user asked for was reported as a failure: {kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "stopped").count(),
        1,
        "{kinds:?}"
    );

    let killed = docker(&["kill", &format!("dockhand-{svc}")]);
    assert_eq!(killed.code, 0, "{}", killed.all());
    sup.expect(std::time::Duration::from_secs(30), "a failure", |v| {
        v["type"] == "transition" && v["service"] == svc.as_str() && v["to"] == "failed"
    });
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert!(event_kinds(&env, &svc).contains(&"failed".to_string()));
}

/// `up --port` on a taken port names who has it: a process of this user by its name and PID, a
/// port another container publishes by that container.
#[test]
fn a_taken_port_names_its_holder() {
    let env = Env::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let svc = env.name("port");
    let r = env.run(&["up", "redis:7", "--name", &svc, "--port", &port]);
    assert_eq!(r.code, 6, "{}", r.all());
    assert!(
        r.stderr
            .contains(&format!("port {port} on 127.0.0.1 is already in use by "))
            && r.stderr.contains(&format!("(PID {})", std::process::id())),
        "{}",
        r.all()
    );
    drop(listener);

    // Someone's own container publishing a port (its holder is root's docker-proxy, or nothing
    // visible): named by the container.
    let theirs = env.name("theirs");
    let cname = format!("dockhand-{theirs}");
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port().to_string();
    drop(free);
    let run = docker(&[
        "run",
        "-d",
        "--name",
        &cname,
        "-p",
        &format!("127.0.0.1:{port}:6379"),
        "redis:7",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let r = env.run(&["up", "redis:7", "--name", &svc, "--port", &port]);
    assert_eq!(r.code, 6, "{}", r.all());
    assert!(
        r.stderr.contains(&format!("by Docker container {cname}")),
        "{}",
        r.all()
    );
}

/// kill -9 of `db drop` at random moments (DOCKHAND_STRESS iterations, default 6): the re-run
/// finishes it — no database, role, attachment or folder-less project left, a backup taken
/// before the drop.
#[test]
fn a_db_drop_killed_at_random_moments_is_finished_by_the_next_run() {
    let env = Env::new();
    let pg = env.name("kdrop");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let iterations = stress_iterations(6);
    let mut moments = Moments::new("db drop kill test");
    for i in 0..iterations {
        let name = format!("kd{i}");
        env.ok(&["db", "create", &pg, &name]);
        client(
            "postgres",
            &env.url(&name),
            "CREATE TABLE t (x int); INSERT INTO t VALUES (7)",
        );
        let ms = moments.next_ms(1500);
        let mut child = env
            .command(&["db", "drop", &pg, &name, "--yes"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(ms));
        let _ = child.kill();
        let _ = child.wait();
        // The re-run finishes what is left, or says the database is gone when it had finished.
        let again = env.run(&["db", "drop", &pg, &name, "--yes"]);
        assert!(
            again.code == 0 || again.stderr.contains(&format!("no database '{name}'")),
            "killed after {ms} ms, the re-run failed: {}",
            again.all()
        );
        assert!(
            !env.ok(&["project", "list"]).contains(&name),
            "killed after {ms} ms: its project is still listed"
        );
        let admin = env.url(&pg);
        for (what, q) in [
            (
                "database",
                format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
            ),
            (
                "role",
                format!("SELECT count(*) FROM pg_roles WHERE rolname = '{name}'"),
            ),
        ] {
            assert_eq!(
                client("postgres", &admin, &q),
                "0",
                "killed after {ms} ms: {what} left"
            );
        }
        assert!(
            backed_up(&env, &pg, &name),
            "killed after {ms} ms: no backup of {name}"
        );
    }
}
