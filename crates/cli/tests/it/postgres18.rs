//! PostgreSQL 18 and its new data layout (docker-library/postgres#1259): the official image keeps
//! its data in `/var/lib/postgresql/18/docker` inside the volume `/var/lib/postgresql` and refuses
//! a mount at the old `/var/lib/postgresql/data`. Run on the postgres:18 test image built from the
//! vendored Debian sid packages (tests/images: it mimics that layout and that refusal).

use crate::common;

use common::*;

const ROWS: &str = "SELECT count(*) || ':' || coalesce(sum(id), 0) FROM items";

/// The mounts of a service's container: `destination type` lines.
fn mounts(service: &str) -> String {
    docker(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{.Destination}} {{.Type}}\n{{end}}",
        &format!("dockhand-{service}"),
    ])
    .stdout
}

/// A new 18 service runs with its volume where the image keeps its data; destroyed and brought
/// back, it has its data; an ephemeral one mounts its tmpfs there too.
#[test]
fn postgres_18_keeps_its_data_in_the_new_layout_across_a_re_creation() {
    let env = Env::new();
    let pg = env.name("pg18");
    env.ok(&["up", "postgres:18", "--name", &pg]);
    assert_eq!(mounts(&pg).trim(), "/var/lib/postgresql volume");
    let shop = attached_project(&env, "shop", &[&pg]);
    let url = shop["DATABASE_URL"].as_str().unwrap().to_string();
    client(
        "postgres",
        &url,
        "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 100);",
    );
    assert_eq!(
        client("postgres", &env.url(&pg), "SHOW data_directory"),
        "/var/lib/postgresql/18/docker"
    );
    assert!(client("postgres", &url, "SHOW server_version").starts_with("18."));

    env.ok(&["destroy", &pg]);
    assert!(volume_exists(&pg), "destroy keeps the data");
    env.ok(&["up", "postgres:18", "--name", &pg]);
    assert_eq!(
        client("postgres", &url, ROWS),
        "100:5050",
        "the same URL, the same rows"
    );

    let eph = env.name("pg18e");
    env.ok(&["up", "postgres:18", "--name", &eph, "--ephemeral"]);
    // Read inside the container: Podman's inspect does not list tmpfs mounts (Docker's does).
    let inside = docker(&["exec", &format!("dockhand-{eph}"), "cat", "/proc/mounts"]);
    let data = inside
        .stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("/var/lib/postgresql"))
        .unwrap_or_else(|| panic!("no mount at /var/lib/postgresql:\n{}", inside.all()));
    assert!(data.starts_with("tmpfs "), "{data}");
    assert!(!volume_exists(&eph), "an ephemeral service has no volume");
    assert_eq!(client("postgres", &env.url(&eph), "SELECT 1"), "1");
}

/// `upgrade --to 18` from 15: the new server is built in the new layout beside the old one, the
/// project's URL reaches 18 with its rows; the rollback goes back to the old data (mounted the
/// old way), and `--finish` removes the kept 18 volume.
#[test]
fn an_upgrade_from_15_to_18_keeps_data_and_urls_and_rolls_back() {
    upgrade_to_18_and_back("15");
}

/// The same from 17: blocked here. The Debian 13 postgresql-17 of this machine's mirror
/// (17.12-0+deb13u1, the postgres:17 test image) stamps an attribute option `pg_attver` on every
/// column it creates or alters (a RESET is stamped again at once) — an option no upstream
/// PostgreSQL has (none of the public sources searched names it), so the official image's PGDG
/// build does not set it. PostgreSQL 18's pg_dump writes it out (`ALTER COLUMN … SET
/// (pg_attver=…)`) and 18 refuses it ("unrecognized parameter"). Unblocked by a postgres:17
/// test image without that patch (PGDG's packages, or 17 debs beside the vendored 18 ones).
/// What a user of that package gets instead is tested below.
#[test]
#[ignore = "the Debian 17 test image stamps a non-upstream pg_attver column option that 18 refuses (issue 25)"]
fn an_upgrade_from_17_to_18_keeps_data_and_urls_and_rolls_back() {
    upgrade_to_18_and_back("17");
}

/// From this machine's Debian 17 (see above): the copy stops on the foreign column option, says
/// so, and the service still runs 17 with every row, on the same URL. (On a 17 image without
/// that option, the whole upgrade runs instead.)
#[test]
fn an_upgrade_from_17_the_copy_cannot_take_changes_nothing_and_says_why() {
    let env = Env::new();
    let pg = env.name("upg17");
    env.ok(&["up", "postgres:17", "--name", &pg]);
    let shop = attached_project(&env, "shop", &[&pg]);
    let url = shop["DATABASE_URL"].as_str().unwrap().to_string();
    client(
        "postgres",
        &url,
        "CREATE TABLE items (id serial PRIMARY KEY, note text); \
         INSERT INTO items (note) SELECT md5(g::text) FROM generate_series(1, 100) g;",
    );
    let stamped = "SELECT count(*) FROM pg_attribute WHERE attrelid = 'items'::regclass \
                   AND array_to_string(attoptions, ',') LIKE 'pg_attver=%'";
    if client("postgres", &url, stamped) == "0" {
        // An image without the foreign option: the whole upgrade must go through.
        eprintln!("this postgres:17 image stamps no pg_attver: running the 17 -> 18 upgrade");
        drop(env);
        upgrade_to_18_and_back("17");
        return;
    }
    let before = client("postgres", &url, ROWS);
    let r = env.run(&["upgrade", &pg, "--to", "18"]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(r.all().contains("pg_attver"), "{}", r.all());
    assert!(client("postgres", &url, "SHOW server_version").starts_with("17."));
    assert_eq!(client("postgres", &url, ROWS), before);
    assert_eq!(mounts(&pg).trim(), "/var/lib/postgresql/data volume");
    assert!(env.ok(&["upgrade", &pg, "--status"]).contains("no upgrade"));
}

fn upgrade_to_18_and_back(from: &str) {
    let env = Env::new();
    let pg = env.name("upg18");
    env.ok(&["up", &format!("postgres:{from}"), "--name", &pg]);
    let shop = attached_project(&env, "shop", &[&pg]);
    let url = shop["DATABASE_URL"].as_str().unwrap().to_string();
    client(
        "postgres",
        &url,
        "CREATE TABLE items (id serial PRIMARY KEY, note text); \
         INSERT INTO items (note) SELECT md5(g::text) FROM generate_series(1, 1000) g;",
    );
    let before = client("postgres", &url, ROWS);

    let out = env.ok(&["upgrade", &pg, "--to", "18", "--json"]);
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (r["from_version"].as_str(), r["to_version"].as_str()),
        (Some(from), Some("18"))
    );
    assert!(client("postgres", &url, "SHOW server_version").starts_with("18."));
    assert_eq!(client("postgres", &url, ROWS), before);
    assert_eq!(
        client("postgres", &url, "SELECT nextval('items_id_seq')"),
        "1001"
    );
    assert_eq!(mounts(&pg).trim(), "/var/lib/postgresql volume");

    let out = env.ok(&["upgrade", &pg, "--rollback", "--json"]);
    let rb: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rb["version"], from);
    assert!(client("postgres", &url, "SHOW server_version").starts_with(&format!("{from}.")));
    assert_eq!(client("postgres", &url, ROWS), before);
    assert_eq!(mounts(&pg).trim(), "/var/lib/postgresql/data volume");
    let kept = rb["kept_volume"].as_str().unwrap().to_string();
    env.ok(&["upgrade", &pg, "--finish", "--yes"]);
    assert_ne!(
        docker(&["volume", "inspect", &kept]).code,
        0,
        "the 18 data is removed"
    );
}
