//! End-to-end tests of the registry beyond the shared server: a project's dedicated server,
//! containers Dockhand adopts, and external servers. The real `dockhand` binary, the real
//! Docker engine and real servers (the test images), the real keychain.

#![cfg(unix)]

mod common;

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
