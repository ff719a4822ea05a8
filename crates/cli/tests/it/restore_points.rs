//! Restore points (`dockhand point`): real PostgreSQL servers, the real `dockhand` binary, real
//! `psql` sessions of the project, of another project and of an attacker on the copy.

#![cfg(unix)]

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::*;

fn url_of(vars: &serde_json::Value) -> String {
    vars["DATABASE_URL"].as_str().unwrap().to_string()
}

/// `url` with another database in its path.
fn on_database(url: &str, database: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{database}")
}

fn points(env: &Env, project: &str) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(&env.ok(&["point", "list", "-p", project, "--json"]))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The restore point copies on the server (as the admin sees them).
fn copies_on(admin: &str) -> Vec<String> {
    let out = client(
        "postgres",
        admin,
        "SELECT datname FROM pg_database WHERE datname LIKE 'dockhand\\_rp\\_%' ORDER BY 1",
    );
    out.lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

/// The copies the project's listed points name.
fn listed_copies(env: &Env, project: &str) -> Vec<String> {
    let mut v: Vec<String> = points(env, project)
        .iter()
        .flat_map(|p| p["parts"].as_array().unwrap().clone())
        .map(|x| x["copy"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

mod each_version {
    use super::*;

    /// Take, break, reset: the rows come back under the same URL; the copy is out of reach of
    /// the project's user and of another project's; sessions are ended only when asked, and
    /// only the project's own.
    #[test]
    fn a_restore_point_resets_the_project_and_stays_out_of_its_reach() {
        let env = Env::new();
        let pg = env.name("rp");
        env.ok(&["up", pg_spec(), "--name", &pg]);
        let admin = env.url(&pg);
        let shop = url_of(&attached_project(&env, "shop", &[&pg]));
        let blog = url_of(&attached_project(&env, "blog", &[&pg]));
        client(
            "postgres",
            &shop,
            "CREATE TABLE items (id int PRIMARY KEY, note text); \
             INSERT INTO items SELECT g, 'seeded' FROM generate_series(1, 1000) g;",
        );

        // Another project's open session is no reason to refuse, and is not touched.
        let mut blog_session = client_command("postgres", &blog, "SELECT pg_sleep(60)")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        assert!(pg_wait_for(
            &admin,
            "SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'",
            Duration::from_secs(30)
        ));
        let out = env.ok(&["point", "take", "seeded", "-p", "shop"]);
        assert!(out.contains("restore point 'seeded'"), "{out}");
        assert!(
            blog_session.try_wait().unwrap().is_none(),
            "another project's session was ended"
        );
        let _ = blog_session.kill();
        let _ = blog_session.wait();

        let listed = points(&env, "shop");
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0]["label"], "seeded");
        assert!(
            listed[0]["size_bytes"].as_i64().unwrap() > 1_000_000,
            "{listed:?}"
        );
        let copy = listed[0]["parts"][0]["copy"].as_str().unwrap().to_string();
        assert!(
            points(&env, "blog").is_empty(),
            "a point shows in another project"
        );
        // Listings of the server's databases leave the copy out (it is no project's database).
        assert!(!env.ok(&["db", "list", &pg]).contains(&copy));

        // Out of reach: neither the project's user nor another project's may connect to the
        // copy, and the project's user (owner of the tables inside) cannot drop it.
        for (who, url) in [("shop", &shop), ("blog", &blog)] {
            let r = client_run(
                "postgres",
                &on_database(url, &copy),
                "SELECT count(*) FROM items",
            );
            assert_ne!(r.code, 0, "{who}'s user reached the copy: {}", r.all());
            assert!(
                r.all().contains("not currently accepting connections")
                    || r.all().contains("permission denied"),
                "{}",
                r.all()
            );
        }
        let r = client_run("postgres", &shop, &format!("DROP DATABASE \"{copy}\""));
        assert_ne!(r.code, 0, "the project's user dropped its restore point");
        let r = client_run(
            "postgres",
            &shop,
            &format!("ALTER DATABASE \"{copy}\" ALLOW_CONNECTIONS true"),
        );
        assert_ne!(r.code, 0, "the project's user opened its restore point");

        // Break the data, reset, and the rows are back — same URL, still the project's.
        client(
            "postgres",
            &shop,
            "DELETE FROM items WHERE id > 10; UPDATE items SET note = 'broken'",
        );
        let r = env.run(&["point", "reset", "seeded", "-p", "shop"]);
        assert_ne!(
            r.code, 0,
            "a reset without --yes off a terminal must refuse"
        );
        assert!(r.stderr.contains("--yes"), "{}", r.all());
        assert_eq!(
            client("postgres", &shop, "SELECT count(*) FROM items"),
            "10"
        );
        let out = env.ok(&["point", "reset", "seeded", "-p", "shop", "--yes"]);
        assert!(
            out.contains("backup"),
            "the reset names the backup of what was there: {out}"
        );
        assert_eq!(
            client(
                "postgres",
                &shop,
                "SELECT count(*), min(note), max(note) FROM items"
            ),
            "1000|seeded|seeded"
        );
        client(
            "postgres",
            &shop,
            "INSERT INTO items VALUES (1001, 'after the reset')",
        );
        // The point stays, to reset to again.
        assert_eq!(listed_copies(&env, "shop"), vec![copy.clone()]);

        // A session of the project's own: refused with the reason and the way out...
        let mut own = client_command("postgres", &shop, "SELECT pg_sleep(61)")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        assert!(pg_wait_for(
            &admin,
            "SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(61)%'",
            Duration::from_secs(30)
        ));
        let r = env.run(&["point", "take", "busy", "-p", "shop"]);
        assert_ne!(r.code, 0, "{}", r.all());
        assert!(
            r.stderr.contains("session(s) are connected") && r.stderr.contains("--end-sessions"),
            "{}",
            r.all()
        );
        assert_eq!(points(&env, "shop").len(), 1, "a refused point is listed");
        // ...or ended when the user says so.
        env.ok(&["point", "take", "busy", "-p", "shop", "--end-sessions"]);
        assert!(
            wait_until(Duration::from_secs(10), || own
                .try_wait()
                .unwrap()
                .is_some()),
            "the session was not ended"
        );
        let _ = own.wait();
        assert_eq!(points(&env, "shop").len(), 2);

        // A taken name is refused; delete removes the copy from the server.
        let r = env.run(&["point", "take", "busy", "-p", "shop"]);
        assert!(
            r.code != 0 && r.stderr.contains("already has a restore point 'busy'"),
            "{}",
            r.all()
        );
        env.ok(&["point", "delete", "busy", "-p", "shop"]);
        env.ok(&["point", "delete", "seeded", "-p", "shop"]);
        assert!(
            copies_on(&admin).is_empty(),
            "copies left: {:?}",
            copies_on(&admin)
        );
        let r = env.run(&["point", "reset", "seeded", "-p", "shop", "--yes"]);
        assert!(
            r.code != 0 && r.stderr.contains("has no restore point"),
            "{}",
            r.all()
        );
        env.ok(&["destroy", &pg, "--purge", "--yes"]);
    }
}

/// kill -9 of `point take` at its steps and at random moments: what a killed run leaves is
/// never listed, and the next command removes it — the server keeps exactly the listed copies.
#[test]
fn a_point_take_killed_at_any_moment_leaves_nothing_half_made() {
    let env = Env::new();
    let pg = env.name("rpk");
    env.ok(&["up", pg_spec(), "--name", &pg]);
    let admin = env.url(&pg);
    let shop = url_of(&attached_project(&env, "shop", &[&pg]));
    client(
        "postgres",
        &shop,
        "CREATE TABLE items (id int PRIMARY KEY, note text); \
         INSERT INTO items SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;",
    );
    for step in ["point-recorded", "point-copied"] {
        kill_at_step(&env, step, &["point", "take", step, "-p", "shop"]);
        assert!(points(&env, "shop").is_empty(), "a killed take is listed");
    }
    let mut moments = Moments::new("a_point_take_killed_at_any_moment_leaves_nothing_half_made");
    for i in 0..stress_iterations(4) {
        let mut child = env
            .command(&["point", "take", &format!("r{i}"), "-p", "shop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(moments.next_ms(1500)));
        let _ = child.kill();
        let _ = child.wait();
    }
    // The next take tidies up first: afterwards the server has exactly the listed copies.
    env.ok(&["point", "take", "final", "-p", "shop"]);
    assert_eq!(copies_on(&admin), listed_copies(&env, "shop"));
    assert!(points(&env, "shop").iter().any(|p| p["label"] == "final"));
    // A reset killed before its swap leaves the database as it was, and the project is let
    // back in by the next command; killed after it, the database is reset.
    client("postgres", &shop, "DELETE FROM items");
    kill_at_step(
        &env,
        "finishing",
        &["point", "reset", "final", "-p", "shop", "--yes"],
    );
    env.ok(&["point", "list", "-p", "shop"]);
    env.ok(&["point", "take", "after-kill", "-p", "shop"]);
    assert_eq!(client("postgres", &shop, "SELECT count(*) FROM items"), "0");
    kill_at_step(
        &env,
        "swapped",
        &["point", "reset", "final", "-p", "shop", "--yes"],
    );
    env.ok(&["point", "take", "after-swap", "-p", "shop"]);
    assert_eq!(
        client("postgres", &shop, "SELECT count(*) FROM items"),
        "20000"
    );
    // And a reset that runs through.
    client("postgres", &shop, "DELETE FROM items");
    env.ok(&["point", "reset", "final", "-p", "shop", "--yes"]);
    assert_eq!(
        client("postgres", &shop, "SELECT count(*) FROM items"),
        "20000"
    );
    assert_eq!(copies_on(&admin), listed_copies(&env, "shop"));
    env.ok(&["destroy", &pg, "--purge", "--yes"]);
}
