//! `dockhand upgrade`: PostgreSQL 15 → 17 on the real engine (the Debian 12 and 13 test images,
//! postgres:15 and postgres:17), with projects, their users, grants, extensions and data; the
//! rollback; and a kill -9 at every step, after which the old service runs untouched and the next
//! command removes what the killed one left.

use crate::common;

use std::time::Duration;

use common::*;

/// Rows and a checksum of every row's content, in a stable order.
const FINGERPRINT: &str = "SELECT count(*) || ':' || md5(coalesce(string_agg(id::text || note, ',' ORDER BY id), '')) FROM items";

fn server_version(url: &str) -> String {
    client("postgres", url, "SHOW server_version_num")[..2].to_string()
}

fn events(env: &Env, service: &str) -> String {
    env.ok(&["events", service])
}

/// Two projects with data (one with an extension and a sequence), upgraded 15 → 17: same URLs,
/// same data (counted and checksummed by the test itself), same isolation; then rolled back.
#[test]
fn postgres_15_to_17_keeps_projects_data_users_and_urls_and_rolls_back() {
    let env = Env::new();
    let pg = env.name("upg");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let shop = attached_project(&env, "shop", &[&pg]);
    let blog = attached_project(&env, "blog", &[&pg]);
    let shop_url = shop["DATABASE_URL"].as_str().unwrap().to_string();
    let blog_url = blog["DATABASE_URL"].as_str().unwrap().to_string();
    client(
        "postgres",
        &shop_url,
        "CREATE TABLE items (id serial PRIMARY KEY, note text, tags text[], at timestamptz DEFAULT now()); \
         INSERT INTO items (note, tags) SELECT md5(g::text), ARRAY['a', g::text] FROM generate_series(1, 20000) g; \
         CREATE VIEW recent AS SELECT * FROM items WHERE id > 19990; \
         CREATE INDEX items_note ON items (note);",
    );
    client(
        "postgres",
        &blog_url,
        "CREATE TABLE items (id int PRIMARY KEY, note text); INSERT INTO items VALUES (1, 'hello'), (2, 'world');",
    );
    // An extension the admin created in the project's database (what `extensions = [...]` does).
    let admin = env.url(&pg);
    let shop_db = user_and_database(&shop_url).1;
    let admin_shop = format!("{}/{}", admin.rsplit_once('/').unwrap().0, shop_db);
    client(
        "postgres",
        &admin_shop,
        "CREATE EXTENSION IF NOT EXISTS pgcrypto",
    );
    let shop_before = client("postgres", &shop_url, FINGERPRINT);
    let blog_before = client("postgres", &blog_url, FINGERPRINT);
    assert_eq!(server_version(&shop_url), "15");

    let out = env.ok(&["upgrade", &pg, "--to", "17", "--json"]);
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["from_version"], "15");
    assert_eq!(r["to_version"], "17");
    assert!(r["backups"].as_u64().unwrap() >= 3, "{r}");
    assert!(r["rows"].as_u64().unwrap() >= 20002, "{r}");

    // The same URLs reach PostgreSQL 17 with every row, the sequence where it was, the extension.
    assert_eq!(server_version(&shop_url), "17");
    assert_eq!(client("postgres", &shop_url, FINGERPRINT), shop_before);
    assert_eq!(client("postgres", &blog_url, FINGERPRINT), blog_before);
    assert_eq!(
        client("postgres", &shop_url, "SELECT nextval('items_id_seq')"),
        "20001"
    );
    assert_eq!(
        client("postgres", &shop_url, "SELECT count(*) FROM recent"),
        "10"
    );
    assert_eq!(
        client(
            "postgres",
            &shop_url,
            "SELECT length(encode(digest('x', 'sha256'), 'hex'))"
        ),
        "64"
    );
    // Still each project alone: blog's user cannot open shop's database, nor is it privileged.
    let shop_as_blog = format!("{}/{shop_db}", blog_url.rsplit_once('/').unwrap().0);
    let denied = client_run("postgres", &shop_as_blog, "SELECT 1");
    assert_ne!(
        denied.code, 0,
        "blog reached shop's database after the upgrade"
    );
    assert!(
        denied.stderr.contains("permission denied"),
        "{}",
        denied.stderr
    );
    assert_eq!(
        client("postgres", &blog_url, "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = current_user"),
        "f"
    );
    // The service is the one the user knows: same name, same port, new version, nothing extra.
    let st = env.service_status(&pg);
    assert_eq!(st["version"], "17", "{st}");
    assert!(!container_exists(&format!("{pg}-upgrade")));
    assert_eq!(env.status_json().as_array().unwrap().len(), 1);
    assert!(volume_exists(&pg), "the 15 data is kept for a rollback");
    // A second upgrade is refused until the kept data is dealt with.
    let again = env.run(&["upgrade", &pg, "--to", "18"]);
    assert_ne!(again.code, 0);
    assert!(again.stderr.contains("--finish"), "{}", again.stderr);

    // Rollback: back on 15 with the data as it was before the upgrade, same URLs.
    let out = env.ok(&["upgrade", &pg, "--rollback", "--json"]);
    let rb: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rb["version"], "15");
    assert!(
        rb["backups"].as_u64().unwrap() >= 3,
        "the 17 databases are backed up first: {rb}"
    );
    assert_eq!(server_version(&shop_url), "15");
    assert_eq!(client("postgres", &shop_url, FINGERPRINT), shop_before);
    assert_eq!(client("postgres", &blog_url, FINGERPRINT), blog_before);
    let kept = rb["kept_volume"].as_str().unwrap().to_string();
    assert!(
        docker(&["volume", "inspect", &kept]).code == 0,
        "the 17 data is kept"
    );
    // --finish removes the kept 17 data; the service is untouched.
    let fin = env.run(&["upgrade", &pg, "--finish"]);
    assert_ne!(fin.code, 0, "--finish asks for --yes off a terminal");
    env.ok(&["upgrade", &pg, "--finish", "--yes"]);
    assert!(docker(&["volume", "inspect", &kept]).code != 0);
    assert_eq!(client("postgres", &shop_url, FINGERPRINT), shop_before);
    let ev = events(&env, &pg);
    assert!(
        ev.contains("upgraded") && ev.contains("rolled-back"),
        "{ev}"
    );
}

/// kill -9 at every step of an upgrade: afterwards the old service answers with every row, the
/// project connects again (it was kept out during the copy), the next Dockhand command removes
/// the staging server and its volume, and a final upgrade succeeds. The same for a rollback.
#[test]
fn an_upgrade_killed_at_each_step_leaves_the_old_service_running_untouched() {
    let env = Env::new();
    let pg = env.name("upk");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let shop = attached_project(&env, "shop", &[&pg]);
    let url = shop["DATABASE_URL"].as_str().unwrap().to_string();
    client(
        "postgres",
        &url,
        "CREATE TABLE items (id int PRIMARY KEY, note text); \
         INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 5000) g;",
    );
    let before = client("postgres", &url, FINGERPRINT);
    let staging = format!("{pg}-upgrade");
    for step in [
        "upgrade-staging",
        "upgrade-copying",
        "upgrade-verifying",
        "upgrade-switching",
        "upgrade-switch-commit",
    ] {
        kill_at_step(&env, step, &["upgrade", &pg, "--to", "17"]);
        // The next command (any: here `status`) finds the interrupted upgrade and undoes it.
        let st = env.service_status(&pg);
        assert_eq!(st["version"], "15", "{step}: {st}");
        assert!(
            wait_until(Duration::from_secs(60), || !container_exists(&staging)),
            "{step}: the staging server is left"
        );
        assert!(
            docker(&["volume", "inspect", &format!("dockhand-{pg}-data-17")]).code != 0,
            "{step}: the new version's volume is left"
        );
        assert_eq!(server_version(&url), "15", "{step}");
        assert_eq!(client("postgres", &url, FINGERPRINT), before, "{step}");
        assert!(
            events(&env, &pg).contains("upgrade-recovered"),
            "{step}: no event says what happened"
        );
        let none = env.ok(&["upgrade", &pg, "--status"]);
        assert!(none.contains("no upgrade"), "{step}: {none}");
    }
    // After all that, the upgrade itself goes through.
    env.ok(&["upgrade", &pg, "--to", "17"]);
    assert_eq!(server_version(&url), "17");
    assert_eq!(client("postgres", &url, FINGERPRINT), before);
    // A rollback killed before its switch is completed by the next command.
    kill_at_step(&env, "rollback-commit", &["upgrade", &pg, "--rollback"]);
    let st = env.service_status(&pg);
    assert_eq!(st["version"], "15", "{st}");
    assert!(wait_until(Duration::from_secs(90), || client_run(
        "postgres", &url, "SELECT 1"
    )
    .code
        == 0));
    assert_eq!(server_version(&url), "15");
    assert_eq!(client("postgres", &url, FINGERPRINT), before);
    env.ok(&["upgrade", &pg, "--finish", "--yes"]);
}

/// What is not an upgrade is refused before anything changes.
#[test]
fn refusals_say_why_and_change_nothing() {
    let env = Env::new();
    let pg = env.name("upr");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    for (to, says) in [
        ("15", "already runs"),
        ("13", "older"),
        ("9", "not supported"),
    ] {
        let r = env.run(&["upgrade", &pg, "--to", to]);
        assert_ne!(r.code, 0, "{to}");
        assert!(r.stderr.contains(says), "{to}: {}", r.stderr);
    }
    // An image that cannot be had (a registry that refuses at once): the upgrade fails before
    // it backs anything up or starts.
    let absent = "127.0.0.1:1/dockhand-test/absent-postgres:16";
    let r = env.run(&["upgrade", &pg, "--to", "16", "--image", absent]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(r.stderr.contains(absent), "{}", r.all());
    assert!(
        !events(&env, &pg).contains("upgrade-started"),
        "{}",
        events(&env, &pg)
    );
    let r = env.run(&["upgrade", &pg, "--rollback"]);
    assert!(r.stderr.contains("no upgrade to roll back"), "{}", r.stderr);
    assert_eq!(env.service_status(&pg)["version"], "15");
    assert!(
        env.ok(&["backups", "--json"]).trim() == "[]",
        "no backup taken for a refusal"
    );
}

const MY_FINGERPRINT: &str = "SELECT CONCAT(COUNT(*), ':', MD5(COALESCE(GROUP_CONCAT(id, note ORDER BY id SEPARATOR ','), ''))) FROM items";

/// MariaDB 10.11 → 11.8 (the Debian 12 and 13 test images): the projects' data, users and URLs
/// carry over (users provisioned again from the keychain, `mariadb-upgrade` run), each project
/// still alone; a kill during the copy is undone by the next command; then the rollback.
#[test]
fn mariadb_10_11_to_11_8_keeps_projects_data_users_and_urls() {
    let env = Env::new();
    let db = env.name("upm");
    env.ok(&["up", "mariadb:10.11", "--name", &db]);
    let shop = attached_project(&env, "shop", &[&db]);
    let blog = attached_project(&env, "blog", &[&db]);
    let var = |v: &serde_json::Value| {
        v.as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.ends_with("_URL"))
            .map(|(_, u)| u.as_str().unwrap().to_string())
            .unwrap()
    };
    let (shop_url, blog_url) = (var(&shop), var(&blog));
    client(
        "mariadb",
        &shop_url,
        "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(64), n DOUBLE NULL); \
         INSERT INTO items (note, n) SELECT MD5(seq), seq / 7 FROM seq_1_to_5000; \
         CREATE VIEW recent AS SELECT * FROM items WHERE id > 4990;",
    );
    client(
        "mariadb",
        &blog_url,
        "CREATE TABLE items (id INT PRIMARY KEY, note TEXT); INSERT INTO items VALUES (1, 'hello'), (2, NULL); \
         CREATE TABLE `a\\b` (x INT); INSERT INTO `a\\b` VALUES (1);",
    );
    let shop_before = client("mariadb", &shop_url, MY_FINGERPRINT);
    let blog_before = client("mariadb", &blog_url, MY_FINGERPRINT);

    kill_at_step(&env, "upgrade-copying", &["upgrade", &db, "--to", "11.8"]);
    assert_eq!(env.service_status(&db)["version"], "10.11");
    assert!(wait_until(Duration::from_secs(60), || !container_exists(
        &format!("{db}-upgrade")
    )));
    assert_eq!(
        client("mariadb", &shop_url, MY_FINGERPRINT),
        shop_before,
        "the project connects again"
    );

    let r: serde_json::Value =
        serde_json::from_str(&env.ok(&["upgrade", &db, "--to", "11.8", "--json"])).unwrap();
    assert_eq!(r["to_version"], "11.8");
    assert!(r["rows"].as_u64().unwrap() >= 5002, "{r}");
    let version = client("mariadb", &shop_url, "SELECT VERSION()");
    assert!(version.starts_with("11.8"), "{version}");
    assert_eq!(client("mariadb", &shop_url, MY_FINGERPRINT), shop_before);
    assert_eq!(client("mariadb", &blog_url, MY_FINGERPRINT), blog_before);
    // A table whose name holds a backslash is verified like any other (its checksum statement
    // never makes a round trip through the client's escaped output).
    assert_eq!(client("mariadb", &blog_url, "SELECT x FROM `a\\b`"), "1");
    assert_eq!(
        client("mariadb", &shop_url, "SELECT COUNT(*) FROM recent"),
        "10"
    );
    client(
        "mariadb",
        &shop_url,
        "INSERT INTO items (note) VALUES ('after')",
    );
    // Still alone: blog's user cannot read shop's tables.
    let (_, shop_db) = user_and_database(&shop_url);
    let denied = client_run(
        "mariadb",
        &blog_url,
        &format!("SELECT COUNT(*) FROM `{shop_db}`.items"),
    );
    assert_ne!(denied.code, 0, "blog read shop's table after the upgrade");
    assert!(denied.stderr.contains("denied"), "{}", denied.stderr);

    env.ok(&["upgrade", &db, "--rollback"]);
    assert!(client("mariadb", &shop_url, "SELECT VERSION()").starts_with("10.11"));
    assert_eq!(client("mariadb", &shop_url, MY_FINGERPRINT), shop_before);
    env.ok(&["upgrade", &db, "--finish", "--yes"]);
}

/// Redis 7 → 8 (the Debian 12 and 13 test images) by replication: every key of every type under
/// each project's prefix carries over, the projects' users are provisioned again (same
/// passwords, same confinement), then the rollback.
#[test]
fn redis_7_to_8_keeps_every_key_and_each_project_confined() {
    let env = Env::new();
    let r = env.name("upr7");
    env.ok(&["up", "redis:7", "--name", &r]);
    let shop = attached_project(&env, "shop", &[&r]);
    let blog = attached_project(&env, "blog", &[&r]);
    let (shop_url, blog_url) = (
        shop["REDIS_URL"].as_str().unwrap().to_string(),
        blog["REDIS_URL"].as_str().unwrap().to_string(),
    );
    let sp = shop["REDIS_KEY_PREFIX"].as_str().unwrap().to_string();
    let bp = blog["REDIS_KEY_PREFIX"].as_str().unwrap().to_string();
    for cmd in [
        format!("SET {sp}s hello"),
        format!("RPUSH {sp}l a b c"),
        format!("SADD {sp}set x y z"),
        format!("ZADD {sp}z 1 one 2.5 two"),
        format!("HSET {sp}h f1 v1 f2 v2"),
        format!("XADD {sp}st 1-1 k v"),
    ] {
        client("redis", &shop_url, &cmd);
    }
    client("redis", &blog_url, &format!("SET {bp}only mine"));
    let fingerprint = |url: &str, p: &str| {
        [
            format!("GET {p}s"),
            format!("LRANGE {p}l 0 -1"),
            format!("SCARD {p}set"),
            format!("ZRANGE {p}z 0 -1 WITHSCORES"),
            format!("HGET {p}h f2"),
            format!("XLEN {p}st"),
        ]
        .iter()
        .map(|c| client("redis", url, c))
        .collect::<Vec<_>>()
        .join(";")
    };
    let before = fingerprint(&shop_url, &sp);
    let out: serde_json::Value =
        serde_json::from_str(&env.ok(&["upgrade", &r, "--to", "8", "--json"])).unwrap();
    assert_eq!(out["rows"].as_u64().unwrap(), 7, "keys verified: {out}");
    let info = client("redis", &env.url(&r), "INFO server");
    assert!(info.contains("redis_version:8."), "{info}");
    assert_eq!(fingerprint(&shop_url, &sp), before);
    assert_eq!(client("redis", &blog_url, &format!("GET {bp}only")), "mine");
    // Still confined: blog's user cannot read shop's keys.
    let denied = client_run("redis", &blog_url, &format!("GET {sp}s"));
    assert!(denied.all().contains("NOPERM"), "{}", denied.all());
    env.ok(&["upgrade", &r, "--rollback"]);
    let info = client("redis", &env.url(&r), "INFO server");
    assert!(info.contains("redis_version:7."), "{info}");
    assert_eq!(fingerprint(&shop_url, &sp), before);
    env.ok(&["upgrade", &r, "--finish", "--yes"]);
}

/// Redis 7 → Valkey 9, the default (`--to valkey:9`): the service becomes a Valkey service under
/// the same name and port; the project's URL and keys carry over; Redis 8 → Valkey is refused
/// with why.
#[test]
fn redis_7_becomes_valkey_9_with_its_keys_and_urls() {
    let env = Env::new();
    let r = env.name("upv");
    env.ok(&["up", "redis:7", "--name", &r]);
    let shop = attached_project(&env, "shop", &[&r]);
    let url = shop["REDIS_URL"].as_str().unwrap().to_string();
    let p = shop["REDIS_KEY_PREFIX"].as_str().unwrap().to_string();
    client("redis", &url, &format!("HSET {p}h a 1 b 2"));
    client("redis", &url, &format!("SET {p}s kept"));
    env.ok(&["upgrade", &r, "--to", "valkey:9"]);
    let st = env.service_status(&r);
    assert_eq!(st["kind"], "valkey", "{st}");
    let info = client("redis", &env.url(&r), "INFO server");
    assert!(info.contains("valkey_version:9."), "{info}");
    assert_eq!(client("redis", &url, &format!("GET {p}s")), "kept");
    assert_eq!(client("redis", &url, &format!("HGET {p}h b")), "2");
    let env_after: serde_json::Value =
        serde_json::from_str(&env.ok(&["env", "shop", "--json"])).unwrap();
    assert_eq!(
        env_after["REDIS_URL"].as_str().unwrap(),
        url,
        "the project's URL is the same"
    );
    env.ok(&["upgrade", &r, "--rollback"]);
    assert_eq!(env.service_status(&r)["kind"], "redis");
    assert_eq!(client("redis", &url, &format!("GET {p}s")), "kept");
    env.ok(&["upgrade", &r, "--finish", "--yes"]);

    let r8 = env.name("upv8");
    env.ok(&["up", "redis:8", "--name", &r8]);
    let refused = env.run(&["upgrade", &r8, "--to", "valkey:9"]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("up to 7.2"), "{}", refused.stderr);
}

/// Valkey 8 → 9 (Valkey 9 writes its own RDB format, version 80, which 8.1 reads only with
/// `rdb-version-check relaxed`): keys and URLs carry over, each project stays in its prefix, and
/// the rollback brings back the 8 data.
#[test]
fn valkey_8_to_9_keeps_keys_urls_and_confinement() {
    let env = Env::new();
    let v = env.name("upvk");
    env.ok(&["up", "valkey:8", "--name", &v]);
    let shop = attached_project(&env, "shop", &[&v]);
    let blog = attached_project(&env, "blog", &[&v]);
    let url = shop["REDIS_URL"].as_str().unwrap().to_string();
    let p = shop["REDIS_KEY_PREFIX"].as_str().unwrap().to_string();
    let other = blog["REDIS_URL"].as_str().unwrap().to_string();
    client("redis", &url, &format!("RPUSH {p}l a b c"));
    client("redis", &url, &format!("ZADD {p}z 1 one 2 two"));
    client("redis", &url, &format!("SET {p}s kept"));
    env.ok(&["upgrade", &v, "--to", "9"]);
    let info = client("redis", &env.url(&v), "INFO server");
    assert!(info.contains("valkey_version:9."), "{info}");
    assert_eq!(client("redis", &url, &format!("GET {p}s")), "kept");
    assert_eq!(
        client("redis", &url, &format!("LRANGE {p}l 0 -1")),
        "a\nb\nc"
    );
    assert_eq!(client("redis", &url, &format!("ZSCORE {p}z two")), "2");
    let r = client_run("redis", &other, &format!("GET {p}s"));
    assert!(r.all().contains("NOPERM"), "{}", r.all());
    env.ok(&["upgrade", &v, "--rollback"]);
    let info = client("redis", &env.url(&v), "INFO server");
    assert!(info.contains("valkey_version:8."), "{info}");
    assert_eq!(client("redis", &url, &format!("GET {p}s")), "kept");
    env.ok(&["upgrade", &v, "--finish", "--yes"]);
}

/// `destroy --purge` after an upgrade removes the kept old data too: no volume or record left.
#[test]
fn destroying_an_upgraded_service_with_its_data_leaves_nothing() {
    let env = Env::new();
    let r = env.name("upd");
    env.ok(&["up", "redis:7", "--name", &r]);
    env.ok(&["upgrade", &r, "--to", "8"]);
    assert!(volume_exists(&r), "the 7 data is kept");
    env.ok(&["destroy", &r, "--purge", "--yes"]);
    for v in [format!("dockhand-{r}-data"), format!("dockhand-{r}-data-8")] {
        assert!(docker(&["volume", "inspect", &v]).code != 0, "{v} left");
    }
    env.ok(&["up", "redis:7", "--name", &r]);
    assert!(env.ok(&["upgrade", &r, "--status"]).contains("no upgrade"));
}
