//! End-to-end tests of the `dockhand` CLI against the real Docker engine and real PostgreSQL,
//! Redis, Valkey and MariaDB servers (the local test images under the official names; which
//! versions is `common::versions`: the oldest supported, or with DOCKHAND_TEST_VERSIONS=defaults
//! the catalog's defaults).
//! MySQL and MongoDB images cannot be built on these machines; their contract is covered by the
//! core's unit tests (catalog, probes).

// Unix only: it stands up a hung Docker socket.
#![cfg(unix)]

use crate::common;

use std::net::TcpListener;
use std::time::Duration;

use common::*;

/// Write, stop, start, destroy (keeping data), recreate: the row written first is still there,
/// read back with the kind's own client through the URL Dockhand gives.
fn lifecycle(kind: &str, version: &str, write: &str, read: &str, expect: &str) {
    let env = Env::new();
    let name = env.name(kind);
    let spec = format!("{kind}:{version}");
    let out = env.ok(&["up", &spec, "--name", &name]);
    assert!(
        out.contains(&format!("{name} (")) && out.contains("ready in"),
        "{out}"
    );
    assert_eq!(env.service_status(&name)["state"], "running");

    let url = env.url(&name);
    client(kind, &url, write);
    assert_eq!(client(kind, &url, read), expect);

    env.ok(&["down", &name]);
    assert_eq!(env.service_status(&name)["state"], "stopped");
    env.ok(&["up", &spec, "--name", &name]);
    assert_eq!(
        client(kind, &url, read),
        expect,
        "data lost across stop/start"
    );

    env.ok(&["destroy", &name]);
    assert!(!container_exists(&name));
    assert!(
        volume_exists(&name),
        "destroy without --purge must keep the data"
    );
    env.ok(&["up", &spec, "--name", &name]);
    assert_eq!(env.url(&name), url, "recreated service changed its URL");
    assert_eq!(
        client(kind, &url, read),
        expect,
        "data lost across destroy/recreate"
    );

    let r = env.run(&["destroy", &name, "--purge"]);
    assert_ne!(r.code, 0, "purge without confirmation must be refused");
    assert!(
        r.stderr.contains("--yes") && r.stderr.contains("Nothing was deleted"),
        "{}",
        r.all()
    );
    assert!(volume_exists(&name));
    env.ok(&["destroy", &name, "--purge", "--yes"]);
    assert!(!container_exists(&name) && !volume_exists(&name));
    assert!(env.status_json().as_array().unwrap().is_empty());
}

/// The port Dockhand would pick for a new Redis service right now.
fn first_free_from(start: u16) -> u16 {
    (start..)
        .find(|p| {
            TcpListener::bind(("127.0.0.1", *p)).is_ok()
                && TcpListener::bind(("0.0.0.0", *p)).is_ok()
        })
        .unwrap()
}

#[test]
fn a_taken_default_port_moves_to_the_next_free_one_and_an_explicit_one_is_refused() {
    let env = Env::new();
    let taken = first_free_from(6379);
    let _squatter = TcpListener::bind(("127.0.0.1", taken)).unwrap();

    let name = env.name("moved");
    env.ok(&["up", redis_spec(), "--name", &name]);
    let port = env.service_status(&name)["host_port"].as_u64().unwrap() as u16;
    assert!(port > taken, "took {port}, squatter on {taken}");
    assert_eq!(client("redis", &env.url(&name), "PING"), "PONG");

    let explicit = env.name("explicit");
    let r = env.run(&[
        "up",
        redis_spec(),
        "--name",
        &explicit,
        "--port",
        &taken.to_string(),
    ]);
    assert_eq!(r.code, 6, "{}", r.all());
    assert!(
        r.stderr.contains(&format!("port {taken}")) && r.stderr.contains("already in use"),
        "{}",
        r.all()
    );
    assert!(
        !container_exists(&explicit),
        "no container for a refused port"
    );
}

#[test]
fn an_unreachable_or_hung_docker_is_a_clear_error_not_a_hang() {
    let env = Env::new();
    let mut c = env.command(&["status"]);
    c.env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    let r = run_limited(c, Duration::from_secs(60));
    assert_eq!(r.code, 3, "{}", r.all());
    assert!(
        r.stderr.contains("Docker is not running") && r.stderr.contains("/nonexistent/docker.sock"),
        "{}",
        r.all()
    );

    // A socket that accepts and never answers: every call has a deadline.
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("hung.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let _keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let mut c = env.command(&["up", redis_spec()]);
    c.env("DOCKER_HOST", format!("unix://{}", sock.display()));
    let r = run_limited(c, Duration::from_secs(60));
    assert_eq!(r.code, 3, "{}", r.all());
    assert!(r.stderr.contains("did not answer"), "{}", r.all());
}

#[test]
fn a_cli_killed_mid_up_is_picked_up_without_a_duplicate() {
    let env = Env::new();
    let name = env.name("killed");
    let child = env
        .command(&["up", my_spec(), "--name", &name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Kill it while the server initialises: the container exists, readiness is not reached.
    assert!(
        wait_until(Duration::from_secs(120), || container_exists(&name)),
        "container never appeared"
    );
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let _ = { child }.wait();

    let st = env.service_status(&name);
    assert_ne!(st["state"], "missing", "{st}");
    env.ok(&["up", my_spec(), "--name", &name]);
    assert_eq!(env.service_status(&name)["state"], "running");
    let same = containers_of(&name);
    assert_eq!(same.len(), 1, "duplicate containers: {same:?}");
    assert_eq!(client("mariadb", &env.url(&name), "SELECT 1"), "1");
}

#[test]
fn bad_input_is_refused_with_a_way_forward_and_nothing_is_touched() {
    let env = Env::new();
    let cases: &[(&[&str], &str)] = &[
        (&["up", "oracle"], "unknown service kind"),
        (&["up", "postgres:9"], "not supported"),
        (&["up", redis_spec(), "--name", "my db"], "not valid"),
        (
            &["up", redis_spec(), "--name", "x'; DROP TABLE t; --"],
            "not valid",
        ),
        (&["up", redis_spec(), "--port", "0"], "1024–65535"),
        (&["up", redis_spec(), "--port", "80"], "1024–65535"),
        (&["up", redis_spec(), "--port", "70000"], "70000"),
        (
            &["up", redis_spec(), pg_spec(), "--port", "7000"],
            "apply to one service",
        ),
        (&["down", "nothing-here"], "no service named"),
    ];
    for (args, want) in cases {
        let r = env.run(args);
        assert_ne!(r.code, 0, "{args:?} was accepted");
        assert!(
            r.stderr.contains(want),
            "{args:?}: expected {want:?} in:\n{}",
            r.all()
        );
    }
    assert!(env.status_json().as_array().unwrap().is_empty());

    // A DOCKHAND_HOME that holds someone else's files is refused and left exactly as it was.
    let foreign = tempfile::tempdir().unwrap();
    std::fs::write(foreign.path().join("notes.txt"), "mine").unwrap();
    let mut c = env.command(&["up", redis_spec()]);
    c.env("DOCKHAND_HOME", foreign.path());
    let r = run_limited(c, COMMAND_LIMIT);
    assert_eq!(r.code, 7, "{}", r.all());
    assert!(
        r.stderr.contains("was not created by Dockhand"),
        "{}",
        r.all()
    );
    let entries: Vec<_> = std::fs::read_dir(foreign.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        std::fs::read_to_string(foreign.path().join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn secrets_stay_out_of_the_state_db_container_config_and_process_list() {
    let env = Env::new();
    let name = env.name("secret");
    env.ok(&["up", pg_spec(), "--name", &name]);
    let (password, _) = password_and_port(&env.url(&name));
    assert_eq!(password.len(), 32);
    for f in ["state.db", "state.db-wal"] {
        assert!(
            !file_contains(&env.home_dir().join(f), &password),
            "password in {f}"
        );
    }
    let inspect = docker(&["inspect", &format!("dockhand-{name}")]);
    assert!(
        !inspect.stdout.contains(&password),
        "password in docker inspect"
    );
    let ps = sh("ps -eo args");
    assert!(
        !ps.stdout.contains(&password),
        "password in the process list"
    );
    let logs = env.ok(&["logs", &name, "--tail", "200"]);
    assert!(!logs.contains(&password), "password in the server's logs");
    assert!(
        logs.contains("database system is ready to accept connections"),
        "{logs}"
    );
}

/// Image pulls go through Debian's docker-registry on loopback, holding a copy of redis:7.
#[test]
fn a_missing_image_is_pulled_with_progress_and_a_failed_pull_says_which_image() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let port = first_free_from(45000);
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\nlog:\n  level: error\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let registry = std::process::Command::new("docker-registry")
        .args(["serve", config.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("docker-registry (apt-get install docker-registry)");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _guard = Kill(registry);
    assert!(wait_until(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    }));

    let image = format!("127.0.0.1:{port}/dockhand-test/{}", redis_spec());
    assert_eq!(docker(&["tag", redis_spec(), &image]).code, 0);
    let push = docker(&["push", &image]);
    assert_eq!(push.code, 0, "{}", push.all());
    assert_eq!(docker(&["rmi", &image]).code, 0);

    let name = env.name("pulled");
    let out = env.run(&["up", redis_spec(), "--name", &name, "--image", &image]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains(&format!("pulling image {image}")),
        "{}",
        out.all()
    );
    assert_eq!(
        docker(&["image", "inspect", &image]).code,
        0,
        "image not present after pull"
    );
    assert_eq!(client("redis", &env.url(&name), "PING"), "PONG");
    let events = env.ok(&["events", &name]);
    assert!(events.contains("pulled"), "{events}");

    let missing = format!("127.0.0.1:{port}/dockhand-test/nothing:7");
    let bad = env.name("nopull");
    let r = env.run(&["up", redis_spec(), "--name", &bad, "--image", &missing]);
    assert_eq!(r.code, 8, "{}", r.all());
    assert!(
        r.stderr
            .contains(&format!("could not pull image '{missing}'")),
        "{}",
        r.all()
    );
    assert!(!container_exists(&bad));
    let _ = docker(&["rmi", &image]);
}

#[test]
fn a_crashing_server_is_reported_with_its_exit_code_and_logs() {
    let env = Env::new();
    let name = env.name("crash");
    env.ok(&["up", pg_spec(), "--name", &name]);
    env.ok(&["down", &name]);
    // A bad manual edit of the configuration in the data volume: the server exits at start.
    let vol = format!("dockhand-{name}-data");
    let edit = docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{vol}:/d"),
        "--entrypoint",
        "sh",
        pg_spec(),
        "-c",
        "echo 'shared_buffers = lots' >> /d/postgresql.conf",
    ]);
    assert_eq!(edit.code, 0, "{}", edit.all());
    let r = env.run(&["up", pg_spec(), "--name", &name]);
    assert_eq!(r.code, 5, "{}", r.all());
    assert!(r.stderr.contains("exited with code"), "{}", r.all());
    assert!(
        r.stderr.contains("shared_buffers"),
        "log tail missing:\n{}",
        r.all()
    );
    let st = env.service_status(&name);
    assert_eq!(st["state"], "exited", "{st}");
}

#[test]
fn the_default_version_is_the_users_choice() {
    let env = Env::new();
    let name = env.name("defv");
    let bad = env.run(&["config", "set", "default-version.postgres", "7.4"]);
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(bad.stderr.contains("7.4"), "{}", bad.stderr);
    env.ok(&["config", "set", "default-version.postgres", "15"]);
    assert!(env
        .ok(&["config", "show"])
        .contains("default-version.postgres = 15"));
    // `up postgres` without a version takes it, not the catalog's 18.
    env.ok(&["up", "postgres", "--name", &name]);
    let st = env.service_status(&name);
    assert_eq!(st["version"], "15");
    assert_eq!(st["state"], "running");
}

/// What a user gets without naming a version is what the `defaults` test set runs: the catalog's
/// default of each kind starts from its image, answers its own client, and is that version.
#[test]
fn the_catalogs_default_versions_are_the_tested_ones_and_run() {
    let env = Env::new();
    let set = &DEFAULTS;
    let mut expected = vec![
        (
            "postgres",
            set.postgres,
            "SELECT current_setting('server_version_num')::int / 10000",
        ),
        (
            "mariadb",
            set.mariadb,
            "SELECT SUBSTRING_INDEX(VERSION(), '.', 1)",
        ),
        // MySQL's default is the newest major the suite runs (MySQL 9, the MySQL lane's).
        ("mysql", "9", "SELECT SUBSTRING_INDEX(VERSION(), '.', 1)"),
    ];
    for (kind, version, _) in set.redis_family {
        expected.push((kind, version, "INFO server"));
    }
    let names: Vec<String> = expected.iter().map(|(k, _, _)| env.name(k)).collect();
    let args: Vec<String> = expected
        .iter()
        .zip(&names)
        .map(|((kind, _, _), n)| format!("{n}={kind}"))
        .collect();
    let mut up = vec!["up"];
    up.extend(args.iter().map(String::as_str));
    env.ok(&up);
    for ((kind, version, ask), name) in expected.iter().zip(&names) {
        let st = env.service_status(name);
        assert_eq!(st["version"], *version, "{kind}: {st}");
        assert_eq!(st["state"], "running", "{kind}: {st}");
        let answer = client(kind, &env.url(name), ask);
        match *kind {
            "redis" | "valkey" => {
                let field = format!("{kind}_version:{version}.");
                assert!(answer.contains(&field), "{kind}: no {field} in {answer}");
            }
            _ => assert_eq!(answer, *version, "{kind} answers another major version"),
        }
    }
}

/// The tests whose outcome depends on the server's version (its initialisation, isolation rules,
/// dump and restore tools, exit on kill): run on the oldest supported versions, then again on the
/// catalog's defaults — scripts/test-all.sh selects every `each_version::` test for that pass.
mod each_version {
    use super::*;

    #[test]
    fn postgres_lifecycle_keeps_data_across_stop_and_destroy() {
        lifecycle(
            "postgres",
            versions().postgres,
            "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept')",
            "SELECT body FROM notes",
            "kept",
        );
    }

    #[test]
    fn redis_lifecycle_keeps_data_across_stop_and_destroy() {
        // Valkey too in the `defaults` set: the Redis family shares this path.
        for (kind, version, _) in versions().redis_family {
            lifecycle(kind, version, "SET note kept", "GET note", "kept");
        }
    }

    #[test]
    fn mariadb_lifecycle_keeps_data_across_stop_and_destroy() {
        lifecycle(
        my_kind(),
        my_version(),
        "CREATE DATABASE app; CREATE TABLE app.notes (body text); INSERT INTO app.notes VALUES ('kept')",
        "SELECT body FROM app.notes",
        "kept",
    );
    }

    #[test]
    fn three_services_start_in_parallel() {
        let env = Env::new();
        let (pg, redis, maria) = (env.name("pg"), env.name("cache"), env.name("maria"));
        let out = env.ok(&[
            "up",
            &format!("{pg}={}", pg_spec()),
            &format!("{redis}={}", redis_spec()),
            &format!("{maria}={}", my_spec()),
        ]);
        for n in [&pg, &redis, &maria] {
            assert!(out.contains(&format!("{n} (")), "{out}");
            assert_eq!(env.service_status(n)["state"], "running");
        }
        assert_eq!(client("postgres", &env.url(&pg), "SELECT 1"), "1");
        assert_eq!(client("redis", &env.url(&redis), "PING"), "PONG");
        assert_eq!(client("mariadb", &env.url(&maria), "SELECT 1"), "1");
        // Three distinct stable ports, every one on loopback only.
        for n in [&pg, &redis, &maria] {
            let b = docker(&[
            "inspect",
            "-f",
            "{{range $p, $b := .HostConfig.PortBindings}}{{range $b}}{{.HostIp}} {{end}}{{end}}",
            &format!("dockhand-{n}"),
        ]);
            assert_eq!(
                b.stdout.trim(),
                "127.0.0.1",
                "{n} published beyond loopback"
            );
        }
    }
}
