//! The window's own way from nothing to a project's URL, through Tauri's IPC on the mock runtime
//! (no display), against the real Docker engine, a real PostgreSQL 15 and the real keychain: the
//! new-service dialog's defaults and port check, creating the service, its details and
//! databases, adding a project folder (its dockhand.toml read), attaching, writing `.env`. The
//! native dialogs (destructive confirmations, the folder picker) are exercised by the end-to-end
//! test in the real webview (tests/e2e/app_e2e.py); here only what needs no answer from a person.

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

/// `dockhand tasks --json` from the CLI binary of this build (another process, as a user in a
/// terminal would run it), on the home the test set in `DOCKHAND_HOME`.
fn cli_tasks() -> Vec<Value> {
    let bin = std::env::var_os("DOCKHAND_CLI_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            // target/debug/deps/window_flow-… → target/debug/dockhand
            let exe = std::env::current_exe().unwrap();
            exe.parent().unwrap().parent().unwrap().join("dockhand")
        });
    assert!(
        bin.exists(),
        "no CLI at {} — build it first (`cargo build -p dockhand-cli`; scripts/test-all.sh does)",
        bin.display()
    );
    let out = std::process::Command::new(&bin)
        .args(["tasks", "--json"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Removes what the test made even when an assertion fails half-way (a panic unwinds through it).
struct Cleanup {
    service: String,
    projects: Vec<String>,
    dir: std::path::PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let Ok(m) = dockhand_core::open_default().await else {
                return;
            };
            for p in &self.projects {
                if let Ok(p) = m.project_for(Some(p), &self.dir) {
                    let _ = m.remove_project(&p, true).await;
                }
            }
            let _ = m.destroy(&self.service, true).await;
        });
    }
}

#[test]
fn from_an_empty_home_to_a_project_url_through_the_windows_commands() {
    let home = tempfile::tempdir().unwrap();
    std::env::set_var("DOCKHAND_HOME", home.path().join("home"));
    let suffix = std::process::id() % 100000;
    let service = format!("win-pg-{suffix}");
    let project = format!("winshop{suffix}");
    let project_dir = home.path().join(&project);
    std::fs::create_dir_all(&project_dir).unwrap();
    std::fs::write(
        project_dir.join("dockhand.toml"),
        format!("[services]\npostgres = {{ version = \"15\", service = \"{service}\" }}\n"),
    )
    .unwrap();

    let _cleanup = Cleanup {
        service: service.clone(),
        projects: vec![project.clone(), format!("reports{suffix}")],
        dir: project_dir.clone(),
    };

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
    assert_eq!(snap["services"], json!([]), "an empty home: {snap}");

    // The dialog's defaults: the CLI's name, a free port, the local image marked present.
    let form = call(
        &w,
        "new_service_form",
        json!({ "kind": "postgres", "version": "15" }),
    )
    .unwrap();
    assert_eq!(form["name"], "postgres-15", "{form}");
    let v15 = form["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version"] == "15")
        .unwrap();
    assert_eq!(
        v15["present"], true,
        "the test image postgres:15 is local: {form}"
    );
    let port = form["port"].as_u64().unwrap();
    let check = call(&w, "check_port", json!({ "port": port })).unwrap();
    assert_eq!(check["free"], true, "{check}");
    // A port this test holds is named with our PID.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = held.local_addr().unwrap().port();
    let check = call(&w, "check_port", json!({ "port": taken })).unwrap();
    assert_eq!(check["free"], false, "{check}");
    assert_eq!(check["holder"]["pid"], std::process::id(), "{check}");
    drop(held);
    let err = call(
        &w,
        "create_service",
        json!({ "kind": "postgres", "version": "twelve", "name": service }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid_input", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("choose one of"),
        "{err}"
    );
    // PostgreSQL's extensions are offered with the image that carries each, and what the
    // checkboxes pass reaches `up --with`'s checks.
    let offered: Vec<(&str, &str)> = form["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["image"].as_str().unwrap()))
        .collect();
    assert_eq!(
        offered,
        [
            ("vector", "pgvector/pgvector:pg15"),
            ("postgis", "postgis/postgis:15-3.5")
        ],
        "{form}"
    );
    let err = call(
        &w,
        "create_service",
        json!({ "kind": "postgres", "version": "15", "name": service, "extensions": ["vector", "postgis"] }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "extensions_not_in_one_image", "{err}");
    let err = call(
        &w,
        "create_service",
        json!({ "kind": "postgres", "version": "15", "name": service, "extensions": ["timescaledb"] }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "unknown_extension", "{err}");

    // The dialog's modes: each with its warning and the limit it gets; bad choices are named.
    let modes: Vec<(&str, u64, bool)> = form["modes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["mode"].as_str().unwrap(),
                m["memory_mb"].as_u64().unwrap(),
                m["warning"].is_string(),
            )
        })
        .collect();
    assert_eq!(
        modes,
        [
            ("durable", 512, false),
            ("fast", 512, true),
            ("ephemeral", 1024, true),
            ("ephemeral-fast", 1024, true)
        ],
        "{form}"
    );
    let err = call(
        &w,
        "create_service",
        json!({ "kind": "postgres", "version": "15", "name": service, "mode": "turbo" }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "unknown_mode", "{err}");
    let err = call(
        &w,
        "create_service",
        json!({ "kind": "postgres", "version": "15", "name": service, "memory": "lots" }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "bad_memory_limit", "{err}");

    let created = call(
        &w,
        "create_service",
        json!({ "kind": "postgres", "version": "15", "name": service, "port": port, "mode": "durable", "memory": "" }),
    )
    .unwrap();
    assert_eq!(created["name"], service.as_str(), "{created}");
    assert_eq!(created["host_port"], port, "{created}");
    assert_eq!(created["admin_user"], "postgres");

    let d = call(&w, "service_details", json!({ "name": service })).unwrap();
    assert_eq!(d["state"], "running", "{d}");
    // What `dockhand inspect` adds: the mode, the last health change (the start just now)
    assert_eq!(d["mode"], "durable", "{d}");
    assert!(
        d["mode_text"].as_str().unwrap().starts_with("durable"),
        "{d}"
    );
    assert_eq!(d["memory_limit_text"], "512 MB", "{d}");
    assert_eq!(d["memory_limit_bytes"], 512 * 1024 * 1024, "{d}");
    // (the app's supervisor may already have recorded its own look: "starting → healthy").
    let last = d["last_health"]["kind"].as_str().unwrap_or_default();
    assert!(["started", "healthy"].contains(&last), "{d}");
    // An ephemeral Redis from the dialog: its details say so, its limit is the one given, and
    // stopping it removes it.
    let scratch = format!("win-eph-{suffix}");
    let _scratch_cleanup = Cleanup {
        service: scratch.clone(),
        projects: vec![],
        dir: project_dir.clone(),
    };
    let created = call(
        &w,
        "create_service",
        json!({ "kind": "redis", "version": "7", "name": scratch, "mode": "ephemeral", "memory": "64m" }),
    )
    .unwrap();
    assert_eq!(created["mode"], "ephemeral", "{created}");
    assert!(
        created["mode_warning"]
            .as_str()
            .unwrap()
            .contains("lost at `down`"),
        "{created}"
    );
    let e = call(&w, "service_details", json!({ "name": scratch })).unwrap();
    assert_eq!(
        (e["mode"].as_str(), e["memory_limit_text"].as_str()),
        (Some("ephemeral"), Some("64 MB")),
        "{e}"
    );
    assert!(e["volume"].as_str().unwrap().contains("tmpfs"), "{e}");
    call(&w, "stop", json!({ "name": scratch })).unwrap();
    let snap = call(&w, "status", json!({})).unwrap();
    assert!(
        !snap["services"].to_string().contains(&scratch),
        "an ephemeral service is gone after a stop: {snap}"
    );

    // Settings ▸ Images lists the image with the service that uses it.
    let images = call(&w, "images", json!({})).unwrap();
    let used = images
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == d["image"])
        .unwrap_or_else(|| panic!("{} not in {images}", d["image"]));
    assert!(
        used["used_by"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| *u == json!(service)),
        "{used}"
    );
    // The details panel's upgrade choices: PostgreSQL 15 can go to 16, 17, 18.
    let choices = call(&w, "upgrade_choices", json!({ "service": service })).unwrap();
    let to: Vec<&str> = choices["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert!(to.contains(&"17") && !to.contains(&"15"), "{choices}");
    assert!(choices["on_record"].is_null(), "{choices}");
    assert!(d["volume_bytes"].as_u64().unwrap() > 1_000_000, "{d}");
    assert!(d["memory_bytes"].as_u64().unwrap() > 0, "{d}");
    assert!(
        d["databases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|db| db["name"] == "postgres" && db["server_own"] == true),
        "{d}"
    );

    // A database of its own in the service, with its own user.
    let db = format!("reports{suffix}");
    let made = call(
        &w,
        "create_database",
        json!({ "service": service, "name": db }),
    )
    .unwrap();
    assert_eq!(made["db_name"], db.as_str(), "{made}");
    assert_eq!(made["db_user"], db.as_str(), "{made}");
    let dbs = call(&w, "databases", json!({ "service": service })).unwrap();
    assert!(
        dbs.as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == db.as_str() && x["user"] == db.as_str()),
        "{dbs}"
    );

    // "Back up now" from the window is a task the CLI lists (and the window's own list too).
    let backed_up = call(&w, "backup_service", json!({ "name": service })).unwrap();
    assert!(!backed_up.as_array().unwrap().is_empty(), "{backed_up}");
    let cli = cli_tasks();
    let task = cli
        .iter()
        .find(|t| t["kind"] == "backup" && t["target"] == service.as_str())
        .unwrap_or_else(|| panic!("the window's backup is not in `dockhand tasks`: {cli:#?}"));
    assert_eq!(task["state"], "succeeded", "{task}");
    assert_eq!(task["pid"], std::process::id(), "run by the app: {task}");
    let listed = call(&w, "tasks", json!({})).unwrap();
    assert_eq!(listed[0]["id"], task["id"], "{listed}");

    // The folder as "Add project" shows it, then added and attached as its dockhand.toml says.
    let f = call(
        &w,
        "inspect_project_folder",
        json!({ "path": project_dir.display().to_string() }),
    )
    .unwrap();
    assert_eq!(f["name"], project.as_str(), "{f}");
    assert_eq!(f["needs"][0]["target"], service.as_str(), "{f}");
    let err = call(
        &w,
        "inspect_project_folder",
        json!({ "path": "/no/such/folder" }),
    )
    .unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("is not a folder"),
        "{err}"
    );
    let added = call(
        &w,
        "add_project",
        json!({ "path": project_dir.display().to_string() }),
    )
    .unwrap();
    assert_eq!(added, project.as_str());
    let atts = call(
        &w,
        "attach_project",
        json!({ "project": project, "targets": [] }),
    )
    .unwrap();
    assert_eq!(atts[0]["service"], service.as_str(), "{atts}");

    // .env written into the folder: merged, private.
    std::fs::write(project_dir.join(".env"), "SECRET_KEY=mine\n").unwrap();
    let written = call(&w, "write_env", json!({ "project": project })).unwrap();
    let text = std::fs::read_to_string(project_dir.join(".env")).unwrap();
    assert!(
        text.contains("SECRET_KEY=mine") && text.contains("DATABASE_URL=postgres"),
        "{text}"
    );
    assert!(
        written["added"]
            .as_array()
            .unwrap()
            .contains(&json!("DATABASE_URL")),
        "{written}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(project_dir.join(".env"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The project renames DATABASE_URL and leaves PGPASSWORD out in its dockhand.toml: the
    // window's list, the .env snippet and Write .env follow at once, without re-attaching.
    let toml = std::fs::read_to_string(project_dir.join("dockhand.toml")).unwrap();
    std::fs::write(
        project_dir.join("dockhand.toml"),
        format!("{toml}[env]\nDATABASE_URL = \"PRIMARY_DATABASE_URL\"\nPGPASSWORD = false\n"),
    )
    .unwrap();
    let card = |snap: &Value| {
        snap["projects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == project.as_str())
            .cloned()
            .unwrap()
    };
    let p = card(&call(&w, "status", json!({})).unwrap());
    assert_eq!(p["vars"], json!(["PRIMARY_DATABASE_URL"]), "{p}");
    let snippet = call(&w, "env_snippet", json!({ "project": project })).unwrap();
    let snippet = snippet.as_str().unwrap();
    assert!(
        snippet.contains("PRIMARY_DATABASE_URL=postgresql://")
            && snippet.contains("DB_NAME=")
            && snippet.contains("JDBC_DATABASE_URL=jdbc:postgresql://")
            && !snippet.contains("\nDATABASE_URL=")
            && !snippet.contains("PGPASSWORD"),
        "{snippet}"
    );
    let written = call(&w, "write_env", json!({ "project": project })).unwrap();
    assert!(
        written["added"]
            .as_array()
            .unwrap()
            .contains(&json!("PRIMARY_DATABASE_URL")),
        "{written}"
    );
    // A mistake in the table: the card says what is wrong, and nothing is handed out.
    std::fs::write(
        project_dir.join("dockhand.toml"),
        format!("{toml}[env]\nDATABSE_URL = false\n"),
    )
    .unwrap();
    let p = card(&call(&w, "status", json!({})).unwrap());
    assert_eq!(p["vars"], json!([]), "{p}");
    assert!(
        p["env_error"]
            .as_str()
            .unwrap()
            .contains("DATABSE_URL is not a variable Dockhand sets"),
        "{p}"
    );
    let err = call(&w, "env_snippet", json!({ "project": project })).unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("DATABSE_URL"),
        "{err}"
    );
    std::fs::write(project_dir.join("dockhand.toml"), &toml).unwrap();

    call(
        &w,
        "detach_project",
        json!({ "project": project, "service": service }),
    )
    .unwrap();
    let snap = call(&w, "status", json!({})).unwrap();
    assert!(
        snap["projects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == project.as_str() && p["attachments"] == json!([])),
        "{snap}"
    );

    // `_cleanup` removes the projects (their databases dropped) and the service with its data.
}
