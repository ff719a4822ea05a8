//! The manager against the fake engine: lifecycle, ownership checks, reconciliation.

use std::collections::HashMap;
use std::sync::Arc;

use super::*;
use crate::catalog::ServiceSpec;
use crate::engine::fake::FakeEngine;
use crate::engine::{labels, Engine};
use crate::error::CoreError;
use crate::home::Home;
use crate::secrets::MemorySecretStore;
use crate::state::ServiceState;
use crate::store::Store;

pub(super) fn manager(engine: Arc<FakeEngine>) -> (Manager, tempfile::TempDir) {
    let t = tempfile::tempdir().unwrap();
    let home = Home::open(t.path().join("home")).unwrap();
    let m = Manager::new(
        home,
        Store::open_in_memory().unwrap(),
        engine,
        Arc::new(MemorySecretStore::default()),
    )
    .unwrap()
    .with_port_check(|_| true);
    (m, t)
}

fn req(s: &str, name: Option<&str>, port: Option<u16>) -> UpRequest {
    UpRequest {
        spec: ServiceSpec::parse(s).unwrap(),
        name: name.map(String::from),
        port,
        image: None,
        options: Default::default(),
    }
}

fn quiet(_: Progress) {}

/// `up` against the fake runs everything but the readiness wait, which needs a server; the
/// error it ends with must come from readiness, after the container was set up right.
#[tokio::test(start_paused = true)]
async fn up_creates_labelled_container_with_secret_files_on_loopback() {
    let e = Arc::new(FakeEngine::default());
    e.add_image("postgres:15");
    let (m, _t) = manager(e.clone());
    let err = m
        .up(&req("postgres:15", None, None), &quiet)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::NotReady { .. }), "{err}");
    let c = e
        .container("dockhand-postgres-15")
        .expect("container created");
    assert_eq!(c.labels[labels::MANAGED], "true");
    assert_eq!(c.labels[labels::KIND], "postgres");
    assert_eq!(c.labels[labels::VERSION], "15");
    assert_eq!(c.labels[labels::SERVICE], "postgres-15");
    assert_eq!(c.labels[labels::INSTANCE], m.instance());
    assert_eq!(c.bindings, vec![("127.0.0.1".to_string(), 5432)]);
    assert_eq!(
        e.files_of("dockhand-postgres-15"),
        ["/run/dockhand/admin-password"]
    );
    assert_eq!(e.volume_names(), ["dockhand-postgres-15-data"]);
    let row = m.store().service("postgres-15").unwrap().unwrap();
    assert_eq!(row.state, ServiceState::Failed);
    assert!(m
        .store()
        .events(None, 5)
        .unwrap()
        .iter()
        .any(|ev| ev.kind == "failed"));
}

#[tokio::test(start_paused = true)]
async fn a_taken_port_moves_an_unused_service_but_never_an_explicit_one() {
    let e = Arc::new(FakeEngine::default());
    e.add_image("redis:7");
    e.occupy_port(6379);
    let (m, _t) = manager(e.clone());
    let _ = m.up(&req("redis:7", None, None), &quiet).await;
    assert_eq!(
        m.store().service("redis-7").unwrap().unwrap().host_port,
        6380
    );
    assert_eq!(e.container("dockhand-redis-7").unwrap().bindings[0].1, 6380);

    let err = m
        .up(&req("redis:7", Some("r2"), Some(6379)), &quiet)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::PortInUse { port: 6379, .. }),
        "{err}"
    );
    assert_eq!(m.store().service("r2").unwrap().unwrap().host_port, 6379);
}

#[tokio::test(start_paused = true)]
async fn pull_failures_name_the_image_and_the_way_out() {
    let e = Arc::new(FakeEngine::default());
    let (m, _t) = manager(e.clone());
    let mut r = req("postgres:16", None, None);
    r.image = Some("missing/postgres:16".into());
    let err = m.up(&r, &quiet).await.unwrap_err();
    let text = err.to_string();
    assert_eq!(err.code(), "image_pull_failed");
    assert!(
        text.contains("missing/postgres:16") && text.contains("dockhand up postgres:<version>"),
        "{text}"
    );
    assert!(
        e.container("dockhand-postgres-16").is_none(),
        "no container without an image"
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_version_under_the_same_name_is_refused() {
    let e = Arc::new(FakeEngine::default());
    e.add_image("postgres:15");
    let (m, _t) = manager(e.clone());
    let _ = m.up(&req("postgres:15", Some("pg"), None), &quiet).await;
    let err = m
        .up(&req("postgres:16", Some("pg"), None), &quiet)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::SpecMismatch { .. }), "{err}");
    assert!(err.to_string().contains("--name"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn foreign_containers_and_volumes_are_left_alone() {
    let e = Arc::new(FakeEngine::default());
    e.add_image("postgres:15");
    e.create_volume("dockhand-pg-data", HashMap::new())
        .await
        .unwrap();
    let (m, _t) = manager(e.clone());
    let err = m
        .up(&req("postgres:15", Some("pg"), None), &quiet)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "foreign_resource", "{err}");
    assert!(err.to_string().contains("no Dockhand labels"), "{err}");
    assert!(e.container("dockhand-pg").is_none());
    assert_eq!(e.volume_names(), ["dockhand-pg-data"]);
}

#[tokio::test(start_paused = true)]
async fn destroy_keeps_data_unless_purged() {
    let e = Arc::new(FakeEngine::default());
    e.add_image("redis:7");
    let (m, _t) = manager(e.clone());
    let _ = m.up(&req("redis:7", Some("r"), None), &quiet).await;
    let url = m.admin_url("r").unwrap();
    m.destroy("r", false).await.unwrap();
    assert!(e.container("dockhand-r").is_none());
    assert_eq!(e.volume_names(), ["dockhand-r-data"]);
    // Recreated under the same name: same password (the data was initialised with it), same port.
    let _ = m.up(&req("redis:7", Some("r"), None), &quiet).await;
    assert_eq!(m.admin_url("r").unwrap(), url);
    m.destroy("r", true).await.unwrap();
    assert!(e.volume_names().is_empty());
    assert!(matches!(
        m.resolve("r"),
        Err(CoreError::UnknownService { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn reconcile_adopts_unknown_containers_and_marks_missing_ones() {
    let e = Arc::new(FakeEngine::default());
    e.add_image("redis:7");
    let (m, _t) = manager(e.clone());
    let _ = m.up(&req("redis:7", Some("a"), None), &quiet).await;
    let _ = m.up(&req("redis:7", Some("b"), None), &quiet).await;
    // The store forgets "a" (as if the process died before recording it) and "b"'s
    // container is removed behind Dockhand's back.
    m.store().delete_service("a").unwrap();
    e.remove_container("dockhand-b").await.unwrap();
    let r = m.reconcile().await.unwrap();
    assert_eq!(r.adopted, ["a"]);
    assert_eq!(r.missing, ["b"]);
    assert_eq!(m.store().service("a").unwrap().unwrap().host_port, 6379);
    assert_eq!(
        m.store().service("b").unwrap().unwrap().state,
        ServiceState::Missing
    );
    // Idempotent.
    let again = m.reconcile().await.unwrap();
    assert!(again.adopted.is_empty() && again.missing.is_empty());
}

#[tokio::test(start_paused = true)]
async fn resolves_by_name_kind_or_kind_and_version() {
    let e = Arc::new(FakeEngine::default());
    e.add_image("redis:7");
    e.add_image("postgres:15");
    let (m, _t) = manager(e.clone());
    let _ = m.up(&req("redis:7", Some("cache"), None), &quiet).await;
    let _ = m.up(&req("postgres:15", Some("pg-a"), None), &quiet).await;
    let _ = m.up(&req("postgres:15", Some("pg-b"), None), &quiet).await;
    assert_eq!(m.resolve("redis").unwrap().name, "cache");
    assert_eq!(m.resolve("cache").unwrap().name, "cache");
    let amb = m.resolve("postgres").unwrap_err().to_string();
    assert!(amb.contains("pg-a, pg-b"), "{amb}");
    assert!(matches!(
        m.resolve("mongo"),
        Err(CoreError::UnknownService { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn engine_down_is_a_clear_error() {
    let e = Arc::new(FakeEngine::default());
    e.set_down(true);
    let (m, _t) = manager(e.clone());
    let err = m.up(&req("redis:7", None, None), &quiet).await.unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert!(err.to_string().contains("Docker is not running"), "{err}");
}

/// Through the driver seam the whole happy path runs against the fake engine: `up` reaches a
/// healthy service, `attach` provisions the project's database and user, and a backup writes,
/// records and verifies a dump — each step checked as a user would see it.
#[tokio::test]
async fn up_attach_and_backup_succeed_through_the_driver_seam() {
    use crate::backup::BackupScope;
    use crate::drivers::fake::{FakeDriver, DUMP_MAGIC};
    use crate::drivers::Driver;
    static FAKE: FakeDriver = FakeDriver::new();
    fn fake(_: crate::catalog::Kind) -> &'static dyn Driver {
        &FAKE
    }

    let e = Arc::new(FakeEngine::default());
    e.add_image("postgres:15");
    e.on_exec(Box::new(|cmd, _stdin| match cmd {
        ["fake_dump", "--version"] => (0, b"fake_dump 1.0\n".to_vec(), vec![]),
        ["fake_dump", db] => {
            let mut out = DUMP_MAGIC.to_vec();
            out.extend(format!(" contents of {db}\n").into_bytes());
            (0, out, vec![])
        }
        other => (127, vec![], format!("{other:?}: not found").into_bytes()),
    }));
    let (m, t) = manager(e.clone());
    let m = m.with_drivers(fake);

    let up = m.up(&req("postgres:15", None, None), &quiet).await.unwrap();
    assert!(!up.already_running);
    assert!(
        *FAKE.probes.lock().unwrap() > 0,
        "readiness asked the driver"
    );
    let status = m.status().await.unwrap();
    assert_eq!(status[0].state, ServiceState::Running, "{status:?}");
    let events = m.store().events(None, 10).unwrap();
    assert_eq!(events.iter().filter(|ev| ev.kind == "started").count(), 1);

    let dir = t.path().join("shop");
    std::fs::create_dir(&dir).unwrap();
    let (project, _) = m.add_project(&dir, Some("shop")).unwrap();
    let atts = m
        .attach(&project, &["postgres-15".to_string()], &quiet)
        .await
        .unwrap();
    assert_eq!(atts.len(), 1);
    assert_eq!(
        *FAKE.provisioned.lock().unwrap(),
        [(atts[0].db_name.clone(), atts[0].db_user.clone())]
    );
    let env: HashMap<String, String> = m
        .project_env("shop", crate::env::Audience::Host)
        .unwrap()
        .into_iter()
        .collect();
    let url = &env["DATABASE_URL"];
    assert!(
        url.starts_with(&format!("postgresql://{}:", atts[0].db_user))
            && url.ends_with(&format!("@127.0.0.1:5432/{}", atts[0].db_name)),
        "{url}"
    );

    let noop = |_| {};
    let done = m
        .backup(
            "postgres-15",
            &BackupScope::Project("shop".into()),
            "manual",
            &noop,
        )
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    let b = &done[0];
    assert_eq!(b.database, atts[0].db_name);
    assert_eq!(b.tool_version, "fake_dump 1.0");
    let written = std::fs::read(&b.path).unwrap();
    assert!(written.starts_with(DUMP_MAGIC), "{written:?}");
    assert_eq!(b.size_bytes, written.len() as u64);
    let v = m.verify(b.id).await.unwrap();
    assert!(v.checksum_ok && v.readable == Some(true), "{v:?}");
    assert_eq!(m.backups(Some("postgres-15"), None).unwrap().len(), 1);
    // Both long operations are on record as tasks: the backup (newest first), then the `up`
    // that created the container.
    let tasks: Vec<(String, String, crate::store::TaskState)> = m
        .tasks(10)
        .unwrap()
        .into_iter()
        .map(|t| (t.kind, t.target, t.state))
        .collect();
    use crate::store::TaskState::Succeeded;
    assert_eq!(
        tasks,
        [
            (
                "backup".into(),
                "postgres-15 (project shop)".into(),
                Succeeded
            ),
            ("up".into(), "postgres-15".into(), Succeeded)
        ]
    );
}
