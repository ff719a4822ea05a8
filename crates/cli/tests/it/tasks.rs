//! End-to-end tests of tasks: long operations recorded in the state database, seen by every
//! Dockhand process — the real `dockhand` binary, the real Docker engine, a real PostgreSQL.
//! A backup paused at a known step (`DOCKHAND_TEST_PAUSE_AT=backup-dumped:<file>`) is watched
//! from another process, then let go or killed with -9.

// Unix only: processes are killed with SIGKILL.
#![cfg(unix)]

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use serde_json::Value;

fn tasks(env: &Env, all: bool) -> Vec<Value> {
    let mut args = vec!["tasks", "--json"];
    if all {
        args.push("--all");
    }
    serde_json::from_str::<Value>(&env.ok(&args))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn backups(env: &Env) -> Vec<Value> {
    serde_json::from_str::<Value>(&env.ok(&["backups", "--json"]))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// A PostgreSQL service with a project whose database holds some rows (a dump of a few hundred
/// KiB), so a backup has bytes to report.
fn service_with_data(env: &Env) -> String {
    let pg = env.name("tpg");
    env.ok(&["up", pg_spec(), "--name", &pg]);
    let vars = attached_project(env, "tasked", &[&pg]);
    client(
        "postgres",
        vars["DATABASE_URL"].as_str().unwrap(),
        "CREATE TABLE items (id int PRIMARY KEY, note text); \
         INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 20000) g;",
    );
    pg
}

/// Starts `dockhand ARGS` to stop at `step`; returns the child and the flag file (removing it
/// lets the command go on).
fn paused_at(env: &Env, step: &str, args: &[&str]) -> (std::process::Child, std::path::PathBuf) {
    let flag = env.home.path().join(format!("paused-{step}"));
    let _ = std::fs::remove_file(&flag);
    let mut child = env
        .command(args)
        .env(
            "DOCKHAND_TEST_PAUSE_AT",
            format!("{step}:{}", flag.display()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let paused = wait_until(Duration::from_secs(180), || {
        flag.exists() || child.try_wait().unwrap().is_some()
    });
    assert!(
        paused && child.try_wait().unwrap().is_none(),
        "dockhand {args:?} never reached {step}"
    );
    (child, flag)
}

#[test]
fn a_backup_in_one_process_is_seen_running_with_progress_by_another_then_succeeded() {
    let env = Env::new();
    let pg = service_with_data(&env);
    let (child, flag) = paused_at(&env, "backup-dumped", &["backup", &pg, "-p", "tasked"]);

    // Progress is written at most twice a second: what the backup reported last (the whole
    // dump, just before the pause) shows within half a second.
    let mut listed = Vec::new();
    let caught_up = wait_until(Duration::from_secs(3), || {
        listed = tasks(&env, false);
        listed
            .iter()
            .any(|t| t["state"] == "running" && t["progress"]["done"].as_u64() > Some(10_000))
    });
    let running: Vec<&Value> = listed.iter().filter(|t| t["state"] == "running").collect();
    assert_eq!(running.len(), 1, "{listed:#?}");
    let t = running[0];
    assert!(caught_up, "the dump's bytes so far: {t}");
    assert_eq!(t["kind"], "backup", "{t}");
    assert_eq!(t["target"], format!("{pg} (project tasked)"), "{t}");
    assert_eq!(t["pid"], child.id(), "the backup's own process: {t}");
    assert_eq!(t["progress"]["unit"], "bytes", "{t}");
    // The project's database (its service is the task's target).
    assert_eq!(t["progress"]["message"], "backing up tasked", "{t}");
    let id = t["id"].clone();
    // The human list says the same.
    let table = env.ok(&["tasks"]);
    assert!(
        table.contains("running") && table.contains(&pg) && table.contains("KiB"),
        "{table}"
    );

    std::fs::remove_file(&flag).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b = &backups(&env)[0];
    let listed = tasks(&env, false);
    let t = listed.iter().find(|t| t["id"] == id).unwrap();
    assert_eq!(t["state"], "succeeded", "{t}");
    assert!(t["finished_at_ms"].as_i64().is_some(), "{t}");
    assert!(
        t["result"]
            .as_str()
            .unwrap()
            .contains(b["path"].as_str().unwrap()),
        "the result names the backup file: {t}"
    );
}

#[test]
fn a_backup_killed_mid_task_is_interrupted_and_leaves_no_backup_listed() {
    let env = Env::new();
    let pg = service_with_data(&env);
    let (mut child, _flag) = paused_at(&env, "backup-dumped", &["backup", &pg, "-p", "tasked"]);
    let pid = child.id();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let listed = tasks(&env, false);
    let t = listed
        .iter()
        .find(|t| t["pid"] == pid)
        .unwrap_or_else(|| panic!("{listed:#?}"));
    assert_eq!(t["state"], "interrupted", "{t}");
    assert!(
        t["error"].as_str().unwrap().contains(&format!("PID {pid}")),
        "{t}"
    );
    assert!(
        !listed.iter().any(|t| t["state"] == "running"),
        "{listed:#?}"
    );
    // The backup's own cleanup: no backup listed, and the half-written file it left is removed
    // by the next backup into that folder.
    assert!(backups(&env).is_empty(), "{:#?}", backups(&env));
    let dir = env.home_dir().join("backups").join(&pg);
    let partials = |dir: &std::path::Path| {
        sh(&format!(
            "find '{}' -name '*.partial' | wc -l",
            dir.display()
        ))
        .stdout
        .trim()
        .parse::<u32>()
        .unwrap()
    };
    assert_eq!(partials(&dir), 1, "the killed backup's partial file");
    env.ok(&["backup", &pg, "-p", "tasked"]);
    assert_eq!(partials(&dir), 0, "swept by the next backup");
    assert_eq!(backups(&env).len(), 1);
    let listed = tasks(&env, false);
    assert_eq!(listed[0]["state"], "succeeded", "newest first: {listed:#?}");
    assert_eq!(listed[1]["state"], "interrupted", "{listed:#?}");
}

#[test]
fn a_failing_operation_is_failed_with_its_error_text() {
    let env = Env::new();
    let r = env.run(&["restore", "9999"]);
    assert_ne!(r.code, 0);
    let listed = tasks(&env, true);
    assert_eq!(listed.len(), 1, "{listed:#?}");
    let t = &listed[0];
    assert_eq!(
        (&t["kind"], &t["target"], &t["state"]),
        (
            &Value::from("restore"),
            &Value::from("backup 9999"),
            &Value::from("failed")
        ),
        "{t}"
    );
    let error = t["error"].as_str().unwrap();
    assert!(error.contains("no backup with id 9999"), "{t}");
    assert!(
        r.stderr.contains(error),
        "the task says what the command said: {}",
        r.stderr
    );
    let table = env.ok(&["tasks"]);
    assert!(
        table.contains("failed") && table.contains("no backup with id 9999"),
        "{table}"
    );
}
