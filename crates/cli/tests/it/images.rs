//! `dockhand images` and `dockhand inspect` against the real engine. A real prune would remove
//! the machine's test images (no registry to pull them again here), so this file only runs
//! `--dry-run`; the removal itself is tested against the fake engine in the core
//! (`prune_keeps_what_services_use_and_what_is_not_dockhands`).

use crate::common;

use common::*;

#[test]
fn images_lists_what_services_use_and_prune_dry_run_keeps_them() {
    let env = Env::new();
    let pg = env.name("img");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let list: serde_json::Value = serde_json::from_str(&env.ok(&["images", "--json"])).unwrap();
    let pg15 = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == "postgres:15")
        .unwrap_or_else(|| panic!("postgres:15 not listed: {list}"));
    assert_eq!(pg15["kind"], "postgres");
    assert!(pg15["size_bytes"].as_u64().unwrap() > 10 << 20, "{pg15}");
    assert_eq!(pg15["used_by"], serde_json::json!([pg]));
    // Images of other software are not Dockhand's to list.
    assert!(
        list.as_array().unwrap().iter().all(|i| !i["reference"]
            .as_str()
            .unwrap()
            .starts_with("dockhand-test-base")),
        "{list}"
    );
    let table = env.ok(&["images"]);
    assert!(
        table.contains("postgres:15") && table.contains(&pg),
        "{table}"
    );

    let dry: serde_json::Value =
        serde_json::from_str(&env.ok(&["images", "prune", "--dry-run", "--json"])).unwrap();
    let kept: Vec<&str> = dry["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reference"].as_str().unwrap())
        .collect();
    let would: Vec<&str> = dry["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reference"].as_str().unwrap())
        .collect();
    assert!(kept.contains(&"postgres:15"), "{dry}");
    assert!(
        !would.contains(&"postgres:15"),
        "a used image would be removed: {dry}"
    );
    // A container that is not this home's (another Dockhand home's, or the user's own) uses
    // postgres:17: a dry run keeps it too, naming that container — it does not count on the
    // engine's refusal, which a dry run never asks for.
    let theirs = format!("dockhand-{}", env.name("theirs"));
    let created = docker(&[
        "create",
        "--name",
        &theirs,
        "--label",
        "dockhand.instance=another-home",
        "postgres:17",
    ]);
    assert_eq!(created.code, 0, "{}", created.all());
    let dry: serde_json::Value =
        serde_json::from_str(&env.ok(&["images", "prune", "--dry-run", "--json"])).unwrap();
    let pg17 = dry["kept"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == "postgres:17")
        .unwrap_or_else(|| panic!("postgres:17 is not kept: {dry}"));
    assert!(pg17["used_by"].to_string().contains(&theirs), "{pg17}");
    let would: Vec<&str> = dry["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reference"].as_str().unwrap())
        .collect();
    // Without --yes off a terminal, nothing is removed and the list is named.
    let refused = env.run(&["images", "prune"]);
    if !would.is_empty() {
        assert_ne!(refused.code, 0);
        assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    }
    assert!(
        docker(&["image", "inspect", "postgres:17"]).code == 0,
        "nothing was removed"
    );
}

#[test]
fn pull_errors_name_the_image_and_say_why() {
    let env = Env::new();
    let bad = env.run(&["images", "pull", "postgres:99"]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("not supported") && bad.stderr.contains("choose one of"),
        "{}",
        bad.stderr
    );
    // No registry answers on these machines: the failed pull names the image.
    let offline = env.run(&["images", "pull", "postgres:13"]);
    if offline.code != 0 {
        assert!(offline.stderr.contains("postgres:13"), "{}", offline.stderr);
    }
}

#[test]
fn inspect_shows_image_volume_ports_mode_health_and_events() {
    let env = Env::new();
    let pg = env.name("ins");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let i: serde_json::Value = serde_json::from_str(&env.ok(&["inspect", &pg, "--json"])).unwrap();
    assert_eq!(i["image"], "postgres:15");
    assert_eq!(i["volume"], format!("dockhand-{pg}-data"));
    assert!(i["volume_bytes"].as_u64().unwrap() > 1 << 20, "{i}");
    assert_eq!(i["network_aliases"], serde_json::json!([pg]));
    assert_eq!(i["mode"], "durable");
    assert_eq!(i["last_health"]["kind"], "started", "{i}");
    assert!(i["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "started"));
    let text = env.ok(&["inspect", &pg]);
    for needle in [
        "postgres:15",
        "digest",
        "durable",
        "recent events:",
        "started",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    env.ok(&["down", &pg]);
    let stopped = env.ok(&["inspect", &pg]);
    assert!(stopped.contains("stopped"), "{stopped}");
    let unknown = env.run(&["inspect", "no-such-service"]);
    assert_ne!(unknown.code, 0);
}
