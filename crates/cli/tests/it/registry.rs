//! End-to-end tests of the registry beyond the shared server: a project's dedicated server,
//! containers Dockhand adopts, and external servers. The real `dockhand` binary, the real
//! Docker engine and real servers (the test images), the real keychain.

#![cfg(unix)]

use crate::common;

use common::*;

fn pg_version() -> &'static str {
    versions().postgres
}

#[test]
fn a_dedicated_project_gets_its_own_server_and_no_other_project_does() {
    let env = Env::new();
    let shared = env.name("pg");
    env.ok(&["up", pg_spec(), "--name", &shared]);

    // A project sharing the server, and one asking for a server of its own.
    let alpha = env.name("alpha");
    attached_project(&env, &alpha, &[&shared]);
    let shop = env.name("shop");
    // Its server is named after it (registered so the test's clean-up removes it).
    let own = env.name("shop-postgres");
    let dir = env.home.path().join(&shop);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("dockhand.toml"),
        format!(
            "name = \"{shop}\"\n[services]\npostgres = {{ version = \"{}\", dedicated = true }}\n",
            pg_version()
        ),
    )
    .unwrap();
    let out = ok_in(&env, &dir, &["attach"]);
    assert!(out.contains(&own), "{out}");

    let st = env.service_status(&own);
    assert_eq!(st["dedicated_to"], shop.as_str(), "{st}");
    assert_eq!(
        env.service_status(&shared)["dedicated_to"],
        serde_json::Value::Null
    );
    let text = env.ok(&["status"]);
    assert!(text.contains(&format!("{shop} (dedicated)")), "{text}");

    // Its URL points at its own server, and works the same way (run, backup).
    let vars = env_map(&env.ok(&["env", &shop, "--json"]));
    let url = &vars["DATABASE_URL"];
    let (_, port) = password_and_port(url);
    assert_eq!(port, st["host_port"].as_u64().unwrap() as u16);
    assert_ne!(
        port,
        env.service_status(&shared)["host_port"].as_u64().unwrap() as u16
    );
    ok_in(
        &env,
        &dir,
        &[
            "run",
            "--",
            "sh",
            "-c",
            "psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -c 'CREATE TABLE orders (id int); INSERT INTO orders VALUES (7)'",
        ],
    );
    assert_eq!(client("postgres", url, "SELECT sum(id) FROM orders"), "7");
    let (user, db) = user_and_database(url);
    env.ok(&["backup", &own, "--project", &shop]);

    // The shared project's user does not exist on the dedicated server.
    let alpha_url = env_map(&env.ok(&["env", &alpha, "--json"]))["DATABASE_URL"].clone();
    let (alpha_pw, _) = password_and_port(&alpha_url);
    let (alpha_user, alpha_db) = user_and_database(&alpha_url);
    let sneaky = format!("postgres://{alpha_user}:{alpha_pw}@127.0.0.1:{port}/{alpha_db}");
    let r = client_run("postgres", &sneaky, "SELECT 1");
    assert_ne!(r.code, 0, "{}", r.all());

    // Another project asking for that kind and version shares the shared server, never the
    // dedicated one; naming the dedicated one is refused with what to do instead.
    let third = env.name("third");
    let json = attached_project(&env, &third, &[&format!("postgres:{}", pg_version())]);
    let (_, third_port) = password_and_port(json["DATABASE_URL"].as_str().unwrap());
    assert_ne!(
        third_port, port,
        "a shared need was given the dedicated server"
    );
    let r = env.run(&["attach", &own, "-p", &third]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(
        r.stderr.contains(&format!("dedicated to project '{shop}'"))
            && r.stderr.contains("--dedicated"),
        "{}",
        r.all()
    );
    // `--dedicated` from the command line makes the project its own server too.
    let fourth = env.name("fourth");
    let fourth_own = env.name("fourth-redis");
    let dir4 = env.home.path().join(&fourth);
    std::fs::create_dir_all(&dir4).unwrap();
    ok_in(&env, &dir4, &["attach", redis_spec(), "--dedicated"]);
    assert_eq!(
        env.service_status(&fourth_own)["dedicated_to"],
        fourth.as_str()
    );

    // Removing the project with its data: backed up, then its server goes too — nothing left
    // running for no one.
    let out = env.ok(&["project", "remove", &shop, "--drop-data", "--yes"]);
    assert!(out.contains(".sql") || out.contains("backup"), "{out}");
    assert!(!container_exists(&format!("dockhand-{own}")));
    assert!(!volume_exists(&format!("dockhand-{own}-data")));
    let listed = env.ok(&["--json", "backups"]);
    assert!(
        listed.contains(&db),
        "the backup of {user}'s database is listed: {listed}"
    );
    // The shared server and its project are untouched.
    assert_eq!(
        client("postgres", &alpha_url, "SELECT current_database()"),
        alpha_db
    );
}

/// Containers and volumes a test made with `docker` itself (a user's own), removed at its end.
struct Foreign(Vec<String>, Vec<String>);

impl Drop for Foreign {
    fn drop(&mut self) {
        for c in &self.0 {
            let _ = docker(&["rm", "-f", "-v", c]);
        }
        for v in &self.1 {
            let _ = docker(&["volume", "rm", "-f", v]);
        }
    }
}

fn id_and_start(container: &str) -> String {
    docker(&["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", container])
        .stdout
        .trim()
        .to_string()
}

#[test]
fn a_users_own_container_is_adopted_and_serves_projects_without_being_recreated() {
    let env = Env::new();
    let tag = format!("{:x}", std::process::id());
    let legacy = format!("legacy-pg-{tag}");
    let bare_redis = format!("legacy-redis-{tag}");
    let vol = format!("legacy-pg-data-{tag}");
    let _cleanup = Foreign(vec![legacy.clone(), bare_redis.clone()], vec![vol.clone()]);

    // A container whose host port Docker picks at each start cannot keep a URL: refused.
    let random = format!("legacy-random-{tag}");
    let _cleanup_random = Foreign(vec![random.clone()], vec![]);
    let run = docker(&[
        "run",
        "-d",
        "--name",
        &random,
        "-e",
        "POSTGRES_PASSWORD=x",
        "-p",
        "127.0.0.1::5432",
        pg_spec(),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let r = env.run(&["adopt", &random]);
    assert!(
        r.code != 0 && r.stderr.contains("fixed port"),
        "{}",
        r.all()
    );

    // The user's own PostgreSQL, made the way its image's documentation says, with their data.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = docker(&[
        "run",
        "-d",
        "--name",
        &legacy,
        "-e",
        "POSTGRES_PASSWORD=legacy-Secret-1",
        "-p",
        &format!("127.0.0.1:{port}:5432"),
        "-v",
        &format!("{vol}:/var/lib/postgresql/data"),
        pg_spec(),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let admin_url = format!("postgres://postgres:legacy-Secret-1@127.0.0.1:{port}/postgres");
    assert!(
        wait_until(std::time::Duration::from_secs(90), || client_run(
            "postgres", &admin_url, "SELECT 1"
        )
        .code
            == 0),
        "the user's container never answered"
    );
    client("postgres", &admin_url, "CREATE DATABASE legacyapp");
    let legacy_db = format!("postgres://postgres:legacy-Secret-1@127.0.0.1:{port}/legacyapp");
    client(
        "postgres",
        &legacy_db,
        "CREATE TABLE invoices (n int); INSERT INTO invoices VALUES (41), (1)",
    );
    // A Redis without a password, and one of Dockhand's own services, beside it.
    assert_eq!(
        docker(&["run", "-d", "--name", &bare_redis, redis_spec()]).code,
        0
    );
    let own = env.name("pg");
    env.ok(&["up", pg_spec(), "--name", &own]);
    let before = id_and_start(&legacy);

    // detect: the user's containers, never Dockhand's; where the password is, never what it is.
    let out = env.ok(&["--json", "detect"]);
    assert!(
        !out.contains("legacy-Secret-1"),
        "detect printed a password: {out}"
    );
    let found: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let pg = found
        .iter()
        .find(|d| d["container"] == legacy.as_str())
        .unwrap();
    assert_eq!(pg["kind"], "postgres");
    assert_eq!(pg["host_port"], port);
    assert_eq!(pg["blocked"], serde_json::Value::Null, "{pg}");
    assert!(pg["credentials"]
        .as_str()
        .unwrap()
        .contains("POSTGRES_PASSWORD"));
    assert!(pg["volumes"][0].as_str().unwrap().starts_with(&vol));
    let redis = found
        .iter()
        .find(|d| d["container"] == bare_redis.as_str())
        .unwrap();
    assert!(
        redis["blocked"].as_str().unwrap().contains("no password"),
        "{redis}"
    );
    assert!(
        !found
            .iter()
            .any(|d| d["container"] == format!("dockhand-{own}").as_str()),
        "Dockhand's own container was listed: {out}"
    );
    let text = env.ok(&["detect"]);
    assert!(
        text.contains(&legacy) && text.contains("dockhand adopt"),
        "{text}"
    );

    // Refusals change nothing: a Redis anyone can read, a wrong password.
    let r = env.run(&["adopt", &bare_redis]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("--requirepass"), "{}", r.all());
    let mut c = env.command(&["adopt", &legacy, "--password-stdin"]);
    c.stdin(std::process::Stdio::piped());
    let mut child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"not-the-password\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("does not log in"),
        "{err}"
    );
    assert_eq!(
        env.status_json().as_array().unwrap().len(),
        1,
        "a refusal recorded something"
    );

    // Adopted: a service like the others, on the container's own port.
    let out = env.ok(&["adopt", &legacy]);
    assert!(out.contains("adopted"), "{out}");
    let svc = legacy.clone(); // its name made a service name
    let st = env.service_status(&svc);
    assert_eq!(st["origin"], "adopted");
    assert_eq!(st["host_port"], port);
    assert_eq!(st["state"], "running");
    assert!(env.ok(&["status"]).contains("(adopted)"));
    // Its password went to the keychain, not the state database.
    assert!(!file_contains(
        &env.home_dir().join("state.db"),
        "legacy-Secret-1"
    ));
    assert!(env.url(&svc).contains("legacy-Secret-1"));
    assert_ne!(env.run(&["adopt", &legacy]).code, 0, "adopted twice");

    // A project on it: its own database and user, which cannot read the user's data.
    let proj = env.name("billing");
    let vars = attached_project(&env, &proj, &[&svc]);
    let url = vars["DATABASE_URL"].as_str().unwrap().to_string();
    assert_eq!(password_and_port(&url).1, port);
    client(
        "postgres",
        &url,
        "CREATE TABLE mine (x int); INSERT INTO mine VALUES (5)",
    );
    let (pw, _) = password_and_port(&url);
    let (user, _) = user_and_database(&url);
    let sneaky = format!("postgres://{user}:{pw}@127.0.0.1:{port}/legacyapp");
    let r = client_run("postgres", &sneaky, "SELECT sum(n) FROM invoices");
    assert_ne!(
        r.code,
        0,
        "a project read the user's own database: {}",
        r.all()
    );

    // Backed up like any service: the user's own database included.
    env.ok(&["backup", &svc]);
    let listed = env.ok(&["--json", "backups", &svc]);
    assert!(listed.contains("legacyapp"), "{listed}");

    // Stopped and started when asked; never re-created.
    env.ok(&["down", &svc]);
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &legacy])
            .stdout
            .trim(),
        "false"
    );
    env.ok(&["up", &svc]);
    assert_eq!(client("postgres", &url, "SELECT sum(x) FROM mine"), "5");
    let after = id_and_start(&legacy);
    assert_eq!(
        before.split(' ').next(),
        after.split(' ').next(),
        "the container was re-created"
    );

    // Let go: --purge refused (Dockhand deletes only what it made); destroy forgets it and
    // leaves the container and every database in it.
    let r = env.run(&["destroy", &svc, "--purge", "--yes"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("only data it created"), "{}", r.all());
    let forgot = env.ok(&["destroy", &svc]);
    // The user's container is not Dockhand's to bring back with `up`: adopting it is the way.
    assert!(
        forgot.contains("dockhand adopt") && !forgot.contains("dockhand up"),
        "{forgot}"
    );
    assert!(env
        .status_json()
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["name"] != svc.as_str()));
    assert_eq!(
        docker(&["inspect", "-f", "{{.Id}}", &legacy]).stdout.trim(),
        before.split(' ').next().unwrap()
    );
    assert_eq!(
        client("postgres", &legacy_db, "SELECT sum(n) FROM invoices"),
        "42"
    );
    // Its project was detached (its database stays in the container), not left pointing at a
    // service that is gone.
    let r = env.run(&["env", &proj, "--json"]);
    assert!(
        r.code != 0 && r.all().contains("uses no service"),
        "{}",
        r.all()
    );
    assert_eq!(
        client(
            "postgres",
            &format!(
                "postgres://postgres:legacy-Secret-1@127.0.0.1:{port}/{}",
                user_and_database(&url).1
            ),
            "SELECT sum(x) FROM mine"
        ),
        "5"
    );
}

/// A free loopback port, for a container the test runs itself.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The user's own MariaDB — or MySQL, in the MySQL lane — made the way the image's documentation
/// says (`MYSQL_ROOT_PASSWORD`, a named volume, a fixed loopback port) with a database of theirs:
/// adopted as it is, it serves a project that cannot read the user's database, and letting it go
/// leaves both.
#[test]
fn a_users_mysql_family_container_is_adopted_and_serves_projects() {
    let env = Env::new();
    let tag = format!("{:x}", std::process::id());
    let legacy = format!("legacy-{}-{tag}", my_kind());
    let vol = format!("legacy-{}-data-{tag}", my_kind());
    let _cleanup = Foreign(vec![legacy.clone()], vec![vol.clone()]);
    let port = free_port();
    let run = docker(&[
        "run",
        "-d",
        "--name",
        &legacy,
        "-e",
        "MYSQL_ROOT_PASSWORD=legacy-Secret-2",
        "-p",
        &format!("127.0.0.1:{port}:3306"),
        "-v",
        &format!("{vol}:/var/lib/mysql"),
        my_spec(),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let admin = format!("mysql://root:legacy-Secret-2@127.0.0.1:{port}/mysql");
    assert!(
        wait_until(std::time::Duration::from_secs(150), || client_run(
            my_kind(),
            &admin,
            "SELECT 1"
        )
        .code
            == 0),
        "the user's container never answered"
    );
    client(
        my_kind(),
        &admin,
        "CREATE DATABASE legacyapp; CREATE TABLE legacyapp.invoices (n int); \
         INSERT INTO legacyapp.invoices VALUES (41), (1)",
    );
    let before = id_and_start(&legacy);

    let out = env.ok(&["adopt", &legacy]);
    assert!(out.contains("adopted"), "{out}");
    let st = env.service_status(&legacy);
    assert_eq!(
        (
            st["origin"].as_str(),
            st["kind"].as_str(),
            st["state"].as_str()
        ),
        (Some("adopted"), Some(my_kind()), Some("running")),
        "{st}"
    );
    assert_eq!(st["host_port"], port);
    assert!(!file_contains(
        &env.home_dir().join("state.db"),
        "legacy-Secret-2"
    ));

    let proj = env.name("billing");
    let vars = attached_project(&env, &proj, &[&legacy]);
    let url = vars["DATABASE_URL"].as_str().unwrap().to_string();
    assert_eq!(password_and_port(&url).1, port);
    client(
        my_kind(),
        &url,
        "CREATE TABLE mine (x int); INSERT INTO mine VALUES (5)",
    );
    let sneaky = format!("{}/legacyapp", url.rsplit_once('/').unwrap().0);
    let r = client_run(my_kind(), &sneaky, "SELECT SUM(n) FROM invoices");
    assert_ne!(r.code, 0, "a project read the user's database: {}", r.all());

    env.ok(&["backup", &legacy]);
    let listed = env.ok(&["--json", "backups", &legacy]);
    assert!(listed.contains("legacyapp"), "{listed}");
    env.ok(&["destroy", &legacy]);
    assert_eq!(
        id_and_start(&legacy),
        before,
        "the container was re-created or restarted"
    );
    assert_eq!(
        client(my_kind(), &admin, "SELECT SUM(n) FROM legacyapp.invoices"),
        "42"
    );
}

/// A PostgreSQL 18 the user runs themselves the way its image's documentation says from 18 on:
/// the volume at /var/lib/postgresql (the data in 18/docker inside it). Adopted as it is, its
/// data stays where it is, and a project gets a database on it.
#[test]
fn a_users_postgres_18_container_mounted_the_new_way_is_adopted() {
    let env = Env::new();
    let tag = format!("{:x}", std::process::id());
    let legacy = format!("legacy-pg18-{tag}");
    let vol = format!("legacy-pg18-data-{tag}");
    let _cleanup = Foreign(vec![legacy.clone()], vec![vol.clone()]);
    let port = free_port();
    let run = docker(&[
        "run",
        "-d",
        "--name",
        &legacy,
        "-e",
        "POSTGRES_PASSWORD=legacy-Secret-3",
        "-p",
        &format!("127.0.0.1:{port}:5432"),
        "-v",
        &format!("{vol}:/var/lib/postgresql"),
        "postgres:18",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let admin = format!("postgres://postgres:legacy-Secret-3@127.0.0.1:{port}/postgres");
    assert!(
        wait_until(std::time::Duration::from_secs(90), || client_run(
            "postgres", &admin, "SELECT 1"
        )
        .code
            == 0),
        "the user's container never answered"
    );
    client(
        "postgres",
        &admin,
        "CREATE TABLE kept (n int); INSERT INTO kept VALUES (18)",
    );
    let before = id_and_start(&legacy);
    let out = env.ok(&["adopt", &legacy]);
    assert!(out.contains("adopted"), "{out}");
    let st = env.service_status(&legacy);
    assert_eq!(st["version"], "18", "{st}");
    assert_eq!(st["origin"], "adopted", "{st}");
    let vars = attached_project(&env, "eighteen", &[&legacy]);
    let url = vars["DATABASE_URL"].as_str().unwrap();
    assert_eq!(
        client(
            "postgres",
            url,
            "SELECT current_setting('server_version_num')::int / 10000"
        ),
        "18"
    );
    env.ok(&["down", &legacy]);
    env.ok(&["up", &legacy]);
    assert_eq!(client("postgres", &admin, "SELECT n FROM kept"), "18");
    assert_eq!(
        id_and_start(&legacy).split(' ').next(),
        before.split(' ').next(),
        "the container was re-created"
    );
    env.ok(&["destroy", &legacy]);
    assert_eq!(client("postgres", &admin, "SELECT n FROM kept"), "18");
}

/// A PostgreSQL the user runs themselves (`docker run -e POSTGRES_PASSWORD …` on a fixed
/// loopback port), answering; its admin URL. Removed by the caller's [`Foreign`].
fn users_own_postgres(name: &str, password: &str) -> (u16, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = docker(&[
        "run",
        "-d",
        "--name",
        name,
        "-e",
        &format!("POSTGRES_PASSWORD={password}"),
        "-p",
        &format!("127.0.0.1:{port}:5432"),
        pg_spec(),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let admin = format!("postgres://postgres:{password}@127.0.0.1:{port}/postgres");
    assert!(
        wait_until(std::time::Duration::from_secs(90), || {
            client_run("postgres", &admin, "SELECT 1").code == 0
        }),
        "{name} never answered"
    );
    (port, admin)
}

/// A user's own PostgreSQL (see [`users_own_postgres`]) where its admin made the user `app`
/// (with `app_password`) owning the database `shop`; its port.
fn server_with_an_app_user(name: &str, password: &str, app_password: &str) -> u16 {
    let (port, admin) = users_own_postgres(name, password);
    client(
        "postgres",
        &admin,
        &format!(
            "CREATE ROLE app LOGIN PASSWORD '{}'",
            app_password.replace('\'', "''")
        ),
    );
    client("postgres", &admin, "CREATE DATABASE shop OWNER app");
    port
}

/// A project with no services yet, in its own folder under the test's home.
fn empty_project(env: &Env, base: &str) -> (String, std::path::PathBuf) {
    let proj = env.name(base);
    let dir = env.home.path().join(&proj);
    std::fs::create_dir_all(&dir).unwrap();
    ok_in(env, &dir, &["project", "add", "--name", &proj]);
    (proj, dir)
}

/// Runs `dockhand ARGS` with `input` on its standard input.
fn with_stdin(env: &Env, args: &[&str], input: &str) -> Run {
    use std::io::Write;
    let mut child = env
        .command(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    }
}

#[test]
fn an_external_database_is_handed_out_as_given_and_never_run() {
    let env = Env::new();
    let tag = format!("{:x}", std::process::id());
    // "Staging": a server Dockhand does not run, where its admin made the project a user.
    let staging = format!("staging-pg-{tag}");
    let _cleanup = Foreign(vec![staging.clone()], vec![]);
    let port = server_with_an_app_user(&staging, "staging-admin-1", "App pw/1");
    let started = id_and_start(&staging);
    let (proj, dir) = empty_project(&env, "shop");
    let given = format!("postgresql://app:App%20pw%2F1@127.0.0.1:{port}/shop?sslmode=disable");

    // Refusals record nothing: a password that does not log in, a URL of another kind.
    let wrong = given.replace("App%20pw", "Wrong");
    let r = with_stdin(
        &env,
        &["external", "add", "postgres", "-p", &proj],
        &format!("{wrong}\n"),
    );
    assert!(
        r.code != 0 && r.stderr.contains("did not log in"),
        "{}",
        r.all()
    );
    // The words are the URL's, not those of a server Dockhand created.
    assert!(
        r.stderr.contains("refused the URL's user and password")
            && !r.stderr.contains("data volume"),
        "{}",
        r.all()
    );
    assert!(
        !r.all().contains("Wrong%2F1"),
        "the URL was echoed: {}",
        r.all()
    );
    let r = with_stdin(
        &env,
        &["external", "add", "postgres", "-p", &proj],
        "mysql://a:b@127.0.0.1:3306/x\n",
    );
    assert!(
        r.code != 0 && r.stderr.contains("not a PostgreSQL URL"),
        "{}",
        r.all()
    );
    let r = with_stdin(&env, &["external", "add", "postgres", "-p", &proj], "");
    assert!(
        r.code != 0 && r.stderr.contains("no URL on standard input"),
        "{}",
        r.all()
    );
    assert_eq!(env.ok(&["--json", "external", "list"]).trim(), "[]");

    // Added: handed out exactly as given, with the PG* variables from its parts.
    let r = with_stdin(
        &env,
        &["external", "add", "postgres", "-p", &proj],
        &format!("{given}\n"),
    );
    assert_eq!(r.code, 0, "{}", r.all());
    let name = format!("{proj}-postgres-ext");
    assert!(r.stdout.contains(&name), "{}", r.all());
    let vars = env_map(&env.ok(&["env", &proj, "--json"]));
    assert_eq!(vars["DATABASE_URL"], given);
    assert_eq!(vars["PGPASSWORD"], "App pw/1");
    assert_eq!(vars["PGPORT"], port.to_string());
    assert!(!file_contains(&env.home_dir().join("state.db"), "App pw/1"));
    assert!(!file_contains(&env.home_dir().join("state.db"), "App%20pw"));

    // A real client reads it from the environment Dockhand gives a command.
    ok_in(
        &env,
        &dir,
        &[
            "run",
            "--",
            "sh",
            "-c",
            "psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -c 'CREATE TABLE orders (n int); INSERT INTO orders VALUES (3)'",
        ],
    );
    assert_eq!(
        client(
            "postgres",
            &format!("postgres://postgres:staging-admin-1@127.0.0.1:{port}/shop"),
            "SELECT sum(n) FROM orders"
        ),
        "3"
    );

    // Listed as answering; never a service Dockhand starts, stops or backs up.
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&env.ok(&["--json", "external", "list"])).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["problem"], serde_json::Value::Null, "{}", list[0]);
    for args in [vec!["backup", name.as_str()], vec!["down", name.as_str()]] {
        let r = env.run(&args);
        assert!(
            r.code != 0 && r.stderr.contains("does not start, stop or back it up"),
            "{args:?}: {}",
            r.all()
        );
    }
    assert_eq!(
        id_and_start(&staging),
        started,
        "Dockhand touched the server"
    );
    // Its server going away is said plainly, within the check's deadline.
    docker(&["stop", "-t", "1", &staging]);
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&env.ok(&["--json", "external", "list"])).unwrap();
    assert!(list[0]["problem"].is_string(), "{}", list[0]);

    // Forgotten: gone from the project's variables, the server untouched.
    env.ok(&["external", "remove", &name]);
    let r = env.run(&["env", &proj, "--json"]);
    assert!(!r.stdout.contains("DATABASE_URL"), "{}", r.all());
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Status}}", &staging])
            .stdout
            .trim(),
        "exited"
    );
}

/// Starts `dockhand args` (with `input` on its stdin) and kills it with SIGKILL after `ms`.
fn kill_after(env: &Env, args: &[&str], input: &str, ms: u64) {
    use std::io::Write;
    let mut child = env
        .command(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    std::thread::sleep(std::time::Duration::from_millis(ms));
    let _ = child.kill();
    let _ = child.wait();
}

/// `adopt` and `external add` each check a login, write the password to the keychain, then the
/// record in one statement. Killed (-9) at random moments, they leave the record whole (listed,
/// and its password logs in) or absent (and the rerun succeeds) — never a record without its
/// password — and the user's container is never stopped or re-created.
#[test]
fn adopt_and_external_add_killed_at_random_moments_leave_a_whole_record_or_none() {
    let env = Env::new();
    let tag = format!("{:x}", std::process::id());
    let legacy = format!("killed-adopt-pg-{tag}");
    let _cleanup = Foreign(vec![legacy.clone()], vec![]);
    let port = server_with_an_app_user(&legacy, "kill-Secret-1", "app-pw-1");
    let untouched = id_and_start(&legacy);
    let (proj, _dir) = empty_project(&env, "kshop");
    let given = format!("postgresql://app:app-pw-1@127.0.0.1:{port}/shop");
    let external = format!("{proj}-postgres-ext");
    let iterations = stress_iterations(8);
    let mut moments = Moments::new("adopt and external add");

    for i in 0..iterations {
        let svc = format!("kadopt{i}");
        let ms = moments.next_ms(120);
        kill_after(&env, &["adopt", &legacy, "--name", &svc], "", ms);
        let listed = env
            .status_json()
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == svc.as_str());
        eprintln!("adopt killed after {ms} ms: recorded {listed}");
        if !listed {
            env.ok(&["adopt", &legacy, "--name", &svc]);
        }
        assert_eq!(
            client("postgres", &env.url(&svc), "SELECT current_user"),
            "postgres",
            "adopt killed after {ms} ms (listed before the rerun: {listed})"
        );
        env.ok(&["destroy", &svc]);
        assert_eq!(
            id_and_start(&legacy),
            untouched,
            "the user's container was stopped or re-created (adopt killed after {ms} ms)"
        );

        let ms = moments.next_ms(120);
        let add = ["external", "add", "postgres", "-p", &proj];
        kill_after(&env, &add, &format!("{given}\n"), ms);
        let list: Vec<serde_json::Value> =
            serde_json::from_str(&env.ok(&["--json", "external", "list"])).unwrap();
        eprintln!(
            "external add killed after {ms} ms: recorded {}",
            !list.is_empty()
        );
        if list.is_empty() {
            let r = with_stdin(&env, &add, &format!("{given}\n"));
            assert_eq!(r.code, 0, "external add killed after {ms} ms: {}", r.all());
        }
        let vars = env_map(&env.ok(&["env", &proj, "--json"]));
        assert_eq!(
            vars["DATABASE_URL"], given,
            "external add killed after {ms} ms"
        );
        assert_eq!(
            client("postgres", &vars["DATABASE_URL"], "SELECT current_user"),
            "app"
        );
        env.ok(&["external", "remove", &external]);
    }
    assert!(!file_contains(
        &env.home_dir().join("state.db"),
        "kill-Secret-1"
    ));
    assert!(!file_contains(&env.home_dir().join("state.db"), "app-pw-1"));
}
