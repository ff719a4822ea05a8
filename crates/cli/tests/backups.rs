//! End-to-end tests of backup, verify, retention and restore: the real `dockhand` binary, the
//! real Docker engine, real PostgreSQL, MariaDB and Redis servers.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::*;

/// A project attached to `services`, with its URLs.
fn project(env: &Env, name: &str, services: &[&str]) -> serde_json::Value {
    let dir = env.home.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = env.command(&["project", "add", "--name", name]);
    c.current_dir(&dir);
    assert_eq!(run_limited(c, COMMAND_LIMIT).code, 0);
    let mut args = vec!["attach", "-p", name];
    args.extend_from_slice(services);
    env.ok(&args);
    serde_json::from_str(&env.ok(&["env", name, "--json"])).unwrap()
}

fn backups(env: &Env) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(&env.ok(&["backups", "--json"]))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn sha256(path: &Path) -> String {
    let r = sh(&format!("sha256sum '{}'", path.display()));
    r.stdout.split_whitespace().next().unwrap().to_string()
}

/// Row count and a checksum over every row's content, in a stable order.
const PG_FINGERPRINT: &str =
    "SELECT count(*) || ':' || md5(coalesce(string_agg(id::text || note, ',' ORDER BY id), '')) FROM items";

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn postgres_rows_survive_backup_drop_and_restore() {
    let env = Env::new();
    let pg = env.name("pgb");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let vars = project(&env, "shop", &[&pg]);
    let url = vars["DATABASE_URL"].as_str().unwrap();
    client(
        "postgres",
        url,
        "CREATE TABLE items (id int PRIMARY KEY, note text); \
         INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 5000) g;",
    );
    let before = client("postgres", url, PG_FINGERPRINT);
    assert!(before.starts_with("5000:"), "{before}");

    let out: serde_json::Value =
        serde_json::from_str(&env.ok(&["backup", &pg, "--project", "shop", "--json"])).unwrap();
    let b = &out["backups"][0];
    let path = PathBuf::from(b["path"].as_str().unwrap());
    assert!(
        path.starts_with(env.home_dir().join("backups").join(&pg).join("shop")),
        "{path:?}"
    );
    assert!(path.extension().unwrap() == "dump");
    assert_eq!(
        b["sha256"].as_str().unwrap(),
        sha256(&path),
        "recorded checksum"
    );
    assert_eq!(
        b["size_bytes"].as_u64().unwrap(),
        std::fs::metadata(&path).unwrap().len()
    );
    assert!(
        b["tool_version"].as_str().unwrap().contains("pg_dump"),
        "{b}"
    );
    // The host's own pg_restore reads it: a real custom-format archive.
    let listed = sh(&format!("pg_restore --list '{}'", path.display()));
    assert_eq!(listed.code, 0, "{}", listed.all());
    assert!(
        listed.stdout.contains("TABLE public items"),
        "{}",
        listed.stdout
    );
    let id = b["id"].to_string();
    let v = env.ok(&["verify", &id]);
    assert!(v.contains("checksum ok") && v.contains("readable"), "{v}");

    // Disaster: the table is dropped.
    client("postgres", url, "DROP TABLE items");
    // Restoring over an existing database needs the user's say-so.
    let refused = env.run(&["restore", &id]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused.stderr.contains("already exists") && refused.stderr.contains("--overwrite"),
        "{}",
        refused.stderr
    );
    let refused = env.run(&["restore", &id, "--overwrite"]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);

    let r: serde_json::Value =
        serde_json::from_str(&env.ok(&["restore", &id, "--overwrite", "--yes", "--json"])).unwrap();
    // The project's own user still owns and reads its data, with the same content.
    assert_eq!(client("postgres", url, PG_FINGERPRINT), before);
    assert_eq!(
        client(
            "postgres",
            url,
            "SELECT tableowner FROM pg_tables WHERE tablename = 'items'"
        ),
        "shop"
    );
    // What was overwritten was backed up first.
    let safety = r["safety_backup"]["id"]
        .as_i64()
        .expect("a backup before overwriting");
    assert_eq!(r["safety_backup"]["reason"], "before-restore");
    assert!(backups(&env).iter().any(|b| b["id"] == safety));

    // A copy next to the original, for the same project.
    env.ok(&["restore", &id, "--into", "shop_copy"]);
    let (base, db_and_query) = url.rsplit_once('/').unwrap();
    let copy_url = format!("{base}/{}", db_and_query.replacen("shop", "shop_copy", 1));
    assert_eq!(client("postgres", &copy_url, PG_FINGERPRINT), before);

    // A bad target name is refused before anything happens.
    let bad = env.run(&["restore", &id, "--into", "x; DROP DATABASE shop"]);
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert_eq!(client("postgres", url, PG_FINGERPRINT), before);
}

#[test]
fn mariadb_rows_survive_backup_drop_and_restore() {
    let env = Env::new();
    let db = env.name("mdb");
    env.ok(&["up", "mariadb:10.11", "--name", &db]);
    let vars = project(&env, "blog", &[&db]);
    let url = vars["DATABASE_URL"].as_str().unwrap();
    client(
        "mariadb",
        url,
        "CREATE TABLE posts (id INT PRIMARY KEY, title TEXT); \
         INSERT INTO posts SELECT seq, MD5(seq) FROM seq_1_to_3000;",
    );
    let fp = "SELECT CONCAT(COUNT(*), ':', MD5(GROUP_CONCAT(id, title ORDER BY id SEPARATOR ','))) FROM posts";
    let before = client(
        "mariadb",
        url,
        &format!("SET SESSION group_concat_max_len = 1000000; {fp}"),
    );
    assert!(before.starts_with("3000:"), "{before}");
    let out: serde_json::Value = serde_json::from_str(&env.ok(&["backup", &db, "--json"])).unwrap();
    let b = out["backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["database"] == "blog")
        .unwrap()
        .clone();
    let text = std::fs::read_to_string(b["path"].as_str().unwrap()).unwrap();
    assert!(text.contains("CREATE TABLE `posts`") && text.trim_end().contains("-- Dump completed"));
    client("mariadb", url, "DROP TABLE posts");
    env.ok(&["restore", &b["id"].to_string(), "--overwrite", "--yes"]);
    assert_eq!(
        client(
            "mariadb",
            url,
            &format!("SET SESSION group_concat_max_len = 1000000; {fp}")
        ),
        before
    );
}

#[test]
fn a_redis_backup_is_a_complete_snapshot_of_the_server() {
    let env = Env::new();
    let r = env.name("rdb");
    env.ok(&["up", "redis:7", "--name", &r]);
    let vars = project(&env, "cache", &[&r]);
    let url = vars["REDIS_URL"].as_str().unwrap();
    client("redis", url, "SET cache:greeting hello");
    let single = env.run(&["backup", &r, "--database", "cache"]);
    assert_eq!(single.code, 2, "{}", single.all());
    assert!(single.stderr.contains("whole server"), "{}", single.stderr);
    let out: serde_json::Value = serde_json::from_str(&env.ok(&["backup", &r, "--json"])).unwrap();
    let b = &out["backups"][0];
    assert_eq!(b["database"], "all");
    let bytes = std::fs::read(b["path"].as_str().unwrap()).unwrap();
    assert!(bytes.starts_with(b"REDIS"), "an RDB file");
    assert!(
        bytes.windows(14).any(|w| w == b"cache:greeting"),
        "holds the key"
    );
    env.ok(&["verify", &b["id"].to_string()]);
    let restore = env.run(&["restore", &b["id"].to_string()]);
    assert_eq!(restore.code, 2);
    assert!(
        restore.stderr.contains("not supported"),
        "{}",
        restore.stderr
    );
}

#[test]
fn retention_keeps_the_newest_backups_per_database() {
    let env = Env::new();
    let pg = env.name("ret");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    project(&env, "app", &[&pg]);
    env.ok(&["config", "set", "backup-keep", "2"]);
    let mut paths = Vec::new();
    for _ in 0..3 {
        let out: serde_json::Value =
            serde_json::from_str(&env.ok(&["backup", &pg, "-d", "app", "--json"])).unwrap();
        paths.push(PathBuf::from(out["backups"][0]["path"].as_str().unwrap()));
    }
    let listed: Vec<String> = backups(&env)
        .iter()
        .map(|b| b["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(!paths[0].exists(), "the oldest file is removed");
    assert!(paths[1].exists() && paths[2].exists());
}

/// A database whose dump takes a few seconds (about 60 MB of table).
fn fill_big(url: &str) {
    client(
        "postgres",
        url,
        "CREATE TABLE big (id int, a text, b text); \
         INSERT INTO big SELECT g, md5(g::text) || md5((g+1)::text), md5((g*7)::text) FROM generate_series(1, 600000) g;",
    );
}

#[test]
fn a_backup_killed_midway_is_never_listed_and_earlier_backups_stay_intact() {
    let env = Env::new();
    let pg = env.name("kil");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let vars = project(&env, "big", &[&pg]);
    let url = vars["DATABASE_URL"].as_str().unwrap();
    client(
        "postgres",
        url,
        "CREATE TABLE early (x int); INSERT INTO early VALUES (1);",
    );
    let first: serde_json::Value =
        serde_json::from_str(&env.ok(&["backup", &pg, "-p", "big", "--json"])).unwrap();
    let first_path = PathBuf::from(first["backups"][0]["path"].as_str().unwrap());
    let first_sum = sha256(&first_path);
    fill_big(url);

    let dir = first_path.parent().unwrap().to_path_buf();
    let mut child = env
        .command(&["backup", &pg, "-p", "big"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let partial_growing = wait_until(Duration::from_secs(120), || {
        files_under(&dir).iter().any(|p| {
            p.to_string_lossy().ends_with(".partial")
                && std::fs::metadata(p)
                    .map(|m| m.len() > 256 * 1024)
                    .unwrap_or(false)
        })
    });
    assert!(partial_growing, "the backup never got going");
    let _ = child.kill(); // SIGKILL: no cleanup code runs
    let _ = child.wait();

    let listed = backups(&env);
    assert_eq!(
        listed.len(),
        1,
        "only the complete backup is listed: {listed:?}"
    );
    assert_eq!(
        sha256(&first_path),
        first_sum,
        "the earlier backup is untouched"
    );
    env.ok(&["verify", &first["backups"][0]["id"].to_string()]);
    let names: Vec<String> = files_under(&dir)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".partial") || n.ends_with(".dump")),
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".dump")).count(),
        1,
        "no half file under a final name: {names:?}"
    );
    // The killed backup's lease is reaped: it holds the service no longer.
    let holders = env.service_status(&pg)["consumers"].clone();
    assert!(
        !holders
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h.as_str().unwrap().starts_with("backup:")),
        "{holders}"
    );
    // The next backup sweeps the leftover.
    env.ok(&["backup", &pg, "-p", "big"]);
    assert!(
        files_under(&dir)
            .iter()
            .all(|p| !p.to_string_lossy().ends_with(".partial")),
        "{:?}",
        files_under(&dir)
    );
    assert_eq!(backups(&env).len(), 2);
}

#[test]
fn a_full_disk_is_a_clear_error_and_nothing_is_lost() {
    let env = Env::new();
    let pg = env.name("ful");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let vars = project(&env, "full", &[&pg]);
    let url = vars["DATABASE_URL"].as_str().unwrap();
    // A 4 MiB disk for backups.
    let disk = env.home.path().join("small-disk");
    std::fs::create_dir_all(&disk).unwrap();
    let mounted = sh(&format!(
        "mount -t tmpfs -o size=4m tmpfs '{}'",
        disk.display()
    ));
    assert_eq!(
        mounted.code,
        0,
        "mounting a tmpfs needs root: {}",
        mounted.all()
    );
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = sh(&format!("umount '{}'", self.0.display()));
        }
    }
    let _unmount = Unmount(disk.clone());
    env.ok(&["config", "set", "backup-dir", disk.to_str().unwrap()]);

    client(
        "postgres",
        url,
        "CREATE TABLE early (x int); INSERT INTO early VALUES (1);",
    );
    let first: serde_json::Value =
        serde_json::from_str(&env.ok(&["backup", &pg, "-p", "full", "--json"])).unwrap();
    let first_path = PathBuf::from(first["backups"][0]["path"].as_str().unwrap());
    assert!(first_path.starts_with(&disk));
    let first_sum = sha256(&first_path);

    fill_big(url);
    let r = env.run(&["backup", &pg, "-p", "full"]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(r.stderr.contains("disk is full"), "{}", r.stderr);
    assert!(
        r.stderr.contains("backup-dir"),
        "says what to do: {}",
        r.stderr
    );
    assert_eq!(backups(&env).len(), 1);
    assert_eq!(sha256(&first_path), first_sum);
    let leftovers: Vec<PathBuf> = files_under(&disk)
        .into_iter()
        .filter(|p| p != &first_path)
        .collect();
    assert!(
        leftovers.is_empty(),
        "nothing half-written stays: {leftovers:?}"
    );
    // The failure is in the history.
    let events = env.ok(&["events", &pg]);
    assert!(events.contains("backup-failed"), "{events}");
}
