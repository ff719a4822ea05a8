//! MongoDB, official `mongo` image (contract only: no MongoDB exists on the test machines'
//! registries). The entrypoint reads `MONGO_INITDB_ROOT_PASSWORD_FILE`, creates the root user
//! through a first-start `mongod` bound to localhost inside the container, then restarts it bound
//! to all interfaces; only then does a `hello` through the published port succeed.

use std::time::Duration;

use super::{admin_password_file, ContainerSetup, KindSpec, ADMIN_PASSWORD_FILE};

pub(super) const SPEC: KindSpec = KindSpec {
    id: "mongo",
    display_name: "MongoDB",
    aliases: &["mongodb"],
    image_repo: "mongo",
    default_version: "8",
    versions: &["6", "7", "8"],
    container_port: 27017,
    default_host_port: 27017,
    data_path: "/data/db",
    admin_user: "root",
    url_scheme: "mongodb",
    ready_deadline: Duration::from_secs(90),
    stop_timeout: Duration::from_secs(30),
    server_uid: 999,
};

pub(super) fn setup(_version: &str, admin_password: &str) -> ContainerSetup {
    ContainerSetup {
        env: vec![
            format!("MONGO_INITDB_ROOT_USERNAME={}", SPEC.admin_user),
            format!("MONGO_INITDB_ROOT_PASSWORD_FILE={ADMIN_PASSWORD_FILE}"),
        ],
        // WiredTiger takes half the RAM minus 1 GB by default; a dev server needs far less.
        cmd: ["mongod", "--wiredTigerCacheSizeGB", "0.25"]
            .map(String::from)
            .to_vec(),
        files: vec![admin_password_file(&SPEC, admin_password)],
    }
}
