//! The dashboard's commands through Tauri's IPC on the mock runtime (no display), against the real
//! Docker engine, a real Redis server and the real keychain (scripts/test-all.sh provides one).

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::webview::InvokeRequest;

fn call<W: AsRef<tauri::Webview<tauri::test::MockRuntime>>>(
    w: &W,
    cmd: &str,
    body: Value,
) -> Result<Value, Value> {
    let req = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(body),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.into(),
    };
    get_ipc_response(w, req).map(|b| b.deserialize::<Value>().unwrap())
}

fn service<'a>(snap: &'a Value, name: &str) -> &'a Value {
    snap["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing in {snap}"))
}

#[test]
fn commands_drive_real_services_and_report_errors_as_code_and_message() {
    let home = tempfile::tempdir().unwrap();
    std::env::set_var("DOCKHAND_HOME", home.path().join("home"));
    let name = format!("ipc-{}", std::process::id() % 100000);
    let project_dir = home.path().join("ipcproj");
    std::fs::create_dir_all(&project_dir).unwrap();
    std::fs::write(
        project_dir.join("dockhand.toml"),
        format!("[services]\nredis = {{ version = \"7\", service = \"{name}\" }}\n"),
    )
    .unwrap();

    let app = dockhand_app::build_app(
        mock_builder(),
        dockhand_app::Options {
            tray: false,
            single_instance: false,
            window_only: false,
        },
    )
    .build(mock_context(noop_assets()))
    .unwrap();
    let w = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

    let snap = call(&w, "status", json!({})).unwrap();
    assert_eq!(snap["engine_error"], Value::Null, "{snap}");
    assert_eq!(snap["services"], json!([]));

    // A project attached with the core, as the CLI would.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let m = dockhand_core::open_default().await.unwrap();
        let (p, _) = m.add_project(&project_dir, Some("ipcproj")).unwrap();
        m.attach(&p, &[], &|_| {}).await.unwrap();
    });

    let started = call(&w, "start", json!({ "name": name })).unwrap();
    assert!(started.as_u64().is_some(), "{started}");
    let snap = call(&w, "status", json!({})).unwrap();
    assert_eq!(service(&snap, &name)["state"], "running");
    assert_eq!(snap["projects"][0]["name"], "ipcproj");
    assert_eq!(snap["projects"][0]["vars"], json!(["REDIS_URL"]));

    let env = call(&w, "env_snippet", json!({ "project": "ipcproj" })).unwrap();
    let env = env.as_str().unwrap();
    assert!(
        env.contains("REDIS_URL=redis://ipcproj:") && env.contains("REDIS_KEY_PREFIX=ipcproj:"),
        "{env}"
    );

    // "Write .env" asks first: the preview names what it would add and writes nothing; inside
    // a git work tree that would commit it, the warning comes with a way out that keeps the
    // user's .gitignore lines.
    let preview = call(&w, "preview_env", json!({ "project": "ipcproj" })).unwrap();
    assert!(
        preview["added"]
            .as_array()
            .unwrap()
            .contains(&json!("REDIS_URL")),
        "{preview}"
    );
    assert!(
        !project_dir.join(".env").exists(),
        "a preview wrote the file"
    );
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(&project_dir)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if git(&["init", "-q"]) {
        std::fs::write(project_dir.join(".gitignore"), "target").unwrap();
        let preview = call(&w, "preview_env", json!({ "project": "ipcproj" })).unwrap();
        assert!(
            preview["git_warning"]
                .as_str()
                .is_some_and(|t| t.contains("not ignored by git")),
            "{preview}"
        );
        let ignore = call(&w, "ignore_env_in_git", json!({ "project": "ipcproj" })).unwrap();
        assert_eq!(
            ignore.as_str().unwrap(),
            project_dir.join(".gitignore").display().to_string()
        );
        let text = std::fs::read_to_string(project_dir.join(".gitignore")).unwrap();
        assert!(
            text.starts_with("target\n") && text.ends_with("/.env\n"),
            "{text}"
        );
        let preview = call(&w, "preview_env", json!({ "project": "ipcproj" })).unwrap();
        assert!(preview["git_warning"].is_null(), "{preview}");
        // Twice is once.
        call(&w, "ignore_env_in_git", json!({ "project": "ipcproj" })).unwrap();
        assert_eq!(
            std::fs::read_to_string(project_dir.join(".gitignore")).unwrap(),
            text
        );
    } else {
        eprintln!("git is not installed: the .gitignore half is not checked");
    }

    // One-click backup from the window or tray, listed and verified.
    let taken = call(&w, "backup_service", json!({ "name": name })).unwrap();
    let b = &taken[0];
    assert_eq!(b["service"], name.as_str());
    assert!(b["size_bytes"].as_u64().unwrap() > 0, "{b}");
    let listed = call(&w, "backups", json!({})).unwrap();
    assert_eq!(listed[0]["id"], b["id"]);
    let v = call(&w, "verify_backup", json!({ "id": b["id"] })).unwrap();
    assert_eq!(v["checksum_ok"], true, "{v}");
    assert_eq!(v["readable"], true, "{v}");
    // Restoring a Redis snapshot is not offered: the error says so rather than pretending.
    let err = call(
        &w,
        "restore_backup",
        json!({ "id": b["id"], "overwrite": false }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid_input", "{err}");
    call(
        &w,
        "set_backup_setting",
        json!({ "key": "schedule", "value": "daily" }),
    )
    .unwrap();
    call(&w, "set_notify", json!({ "kind": "backup", "on": false })).unwrap();
    let settings = call(&w, "settings", json!({})).unwrap();
    assert_eq!(settings["backup"]["schedule"], "daily");
    assert!(settings["notifications"]
        .as_array()
        .unwrap()
        .contains(&json!(["backup", false])));
    let err = call(
        &w,
        "set_backup_setting",
        json!({ "key": "schedule", "value": "sometimes" }),
    )
    .unwrap_err();
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("off, hourly, daily, weekly"),
        "{err}"
    );

    call(&w, "stop", json!({ "name": name })).unwrap();
    assert_eq!(
        service(&call(&w, "status", json!({})).unwrap(), &name)["state"],
        "stopped"
    );

    let logs = call(&w, "logs", json!({ "name": name, "tail": 50 })).unwrap();
    assert!(
        logs.as_str()
            .unwrap()
            .contains("Ready to accept connections"),
        "{logs}"
    );
    let events = call(&w, "events", json!({ "limit": 20 })).unwrap();
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "stopped"),
        "{events}"
    );

    let err = call(&w, "start", json!({ "name": "no-such-service" })).unwrap_err();
    assert_eq!(err["code"], "unknown_service", "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("no service named 'no-such-service'"),
        "{err}"
    );

    rt.block_on(async {
        let m = dockhand_core::open_default().await.unwrap();
        let p = m.project_for(Some("ipcproj"), &project_dir).unwrap();
        m.remove_project(&p, false).await.unwrap();
        m.destroy(&name, true).await.unwrap();
    });
}
