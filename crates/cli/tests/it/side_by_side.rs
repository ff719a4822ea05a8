//! Several versions of one kind at once: PostgreSQL 15 and 17 as two services on one machine, each
//! with its own project. The real `dockhand` binary, the real Docker engine, the two test images.

use crate::common;

use common::*;

/// The server's major version as seen through a URL.
fn major(url: &str) -> String {
    client(
        "postgres",
        url,
        "SELECT current_setting('server_version_num')::int / 10000",
    )
}

#[test]
fn postgres_15_and_17_run_side_by_side_each_with_its_own_project() {
    let env = Env::new();
    let (old, new) = (env.name("pg15"), env.name("pg17"));
    env.ok(&[
        "up",
        &format!("{old}=postgres:15"),
        &format!("{new}=postgres:17"),
    ]);
    let (old_st, new_st) = (env.service_status(&old), env.service_status(&new));
    assert_eq!(
        (old_st["version"].as_str(), new_st["version"].as_str()),
        (Some("15"), Some("17"))
    );
    assert_ne!(
        old_st["host_port"], new_st["host_port"],
        "two servers on one port"
    );
    assert_eq!(major(&env.url(&old)), "15");
    assert_eq!(major(&env.url(&new)), "17");

    // One project on each: same shape of dockhand.toml, another version.
    env.ok(&["config", "set", "grace-period", "10m"]);
    let legacy = project_dir(&env, "legacy", &[("postgres", "15", &old)]);
    let fresh = project_dir(&env, "fresh", &[("postgres", "17", &new)]);
    ok_in(&env, &legacy, &["attach"]);
    ok_in(&env, &fresh, &["attach"]);
    let legacy_url = env_map(&ok_in(&env, &legacy, &["env", "--json"]))["DATABASE_URL"].clone();
    let fresh_url = env_map(&ok_in(&env, &fresh, &["env", "--json"]))["DATABASE_URL"].clone();

    // Each project's URL reaches its own version and its own database, and works.
    assert_eq!(major(&legacy_url), "15");
    assert_eq!(major(&fresh_url), "17");
    client(
        "postgres",
        &legacy_url,
        "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('on 15')",
    );
    client(
        "postgres",
        &fresh_url,
        "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('on 17')",
    );
    assert_eq!(
        client("postgres", &legacy_url, "SELECT body FROM notes"),
        "on 15"
    );
    assert_eq!(
        client("postgres", &fresh_url, "SELECT body FROM notes"),
        "on 17"
    );

    // Isolated: each server holds only its own project's database and role, and a project's
    // credentials do not open the other server.
    assert_eq!(
        client(
            "postgres",
            &env.url(&old),
            "SELECT datname FROM pg_database WHERE datname IN ('legacy', 'fresh')"
        ),
        "legacy"
    );
    assert_eq!(
        client(
            "postgres",
            &env.url(&new),
            "SELECT datname FROM pg_database WHERE datname IN ('legacy', 'fresh')"
        ),
        "fresh"
    );
    let (_, new_port) = password_and_port(&fresh_url);
    let (_, old_port) = password_and_port(&legacy_url);
    let crossed = legacy_url.replace(&format!(":{old_port}/"), &format!(":{new_port}/"));
    assert_ne!(crossed, legacy_url);
    let r = client_run("postgres", &crossed, "SELECT 1");
    assert_ne!(r.code, 0, "legacy's credentials opened the 17 server");
    assert!(
        r.stderr.contains("password authentication failed"),
        "{}",
        r.all()
    );

    // Stopping one leaves the other serving its project.
    env.ok(&["down", &old]);
    assert_eq!(env.service_status(&old)["state"], "stopped");
    assert_eq!(
        client("postgres", &fresh_url, "SELECT body FROM notes"),
        "on 17"
    );
    assert_ne!(client_run("postgres", &legacy_url, "SELECT 1").code, 0);
    env.ok(&["up", &old]);
    assert_eq!(
        client("postgres", &legacy_url, "SELECT body FROM notes"),
        "on 15",
        "the 15 server lost its project's data across a stop"
    );
}
