//! Redis, official `redis` image. Redis has no password variable; Dockhand writes a config file
//! with `requirepass` (so the password is in neither the environment nor `ps`) and passes its
//! path as the command, which the official entrypoint hands to `redis-server`.

use std::time::Duration;

use super::{ContainerFile, ContainerSetup, KindSpec, SECRET_DIR};

pub(super) const SPEC: KindSpec = KindSpec {
    id: "redis",
    display_name: "Redis",
    aliases: &[],
    image_repo: "redis",
    default_version: "7",
    versions: &["6", "6.2", "7", "7.0", "7.2", "7.4", "8"],
    container_port: 6379,
    default_host_port: 6379,
    data_path: "/data",
    admin_user: "default",
    url_scheme: "redis",
    ready_deadline: Duration::from_secs(30),
    stop_timeout: Duration::from_secs(15),
    server_uid: 999,
};

pub(super) fn setup(_version: &str, admin_password: &str) -> ContainerSetup {
    // appendonly: a developer's data survives a crash of the container, not only a clean stop.
    let conf = format!(
        "requirepass {admin_password}\nprotected-mode no\nappendonly yes\ndir /data\nmaxmemory-policy noeviction\nrepl-diskless-sync-delay 0\n"
    );
    ContainerSetup {
        env: vec![],
        cmd: vec!["redis-server".into(), format!("{SECRET_DIR}/redis.conf")],
        files: vec![ContainerFile {
            path: format!("{SECRET_DIR}/redis.conf"),
            contents: conf.into_bytes(),
            mode: 0o400,
            uid: SPEC.server_uid,
        }],
    }
}
