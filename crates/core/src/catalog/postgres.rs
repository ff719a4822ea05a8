//! PostgreSQL, official `postgres` image. The entrypoint reads `POSTGRES_PASSWORD_FILE` during
//! initdb and runs its first-start server on the Unix socket only, so a TCP round trip from the
//! host can only succeed once the real server is up.

use std::time::Duration;

use super::{admin_password_file, ContainerSetup, Kind, KindSpec, ADMIN_PASSWORD_FILE};

pub(super) const SPEC: KindSpec = KindSpec {
    id: "postgres",
    display_name: "PostgreSQL",
    aliases: &["postgresql", "pg"],
    image_repo: "postgres",
    default_version: "17",
    versions: &["13", "14", "15", "16", "17", "18"],
    container_port: 5432,
    default_host_port: 5432,
    data_path: "/var/lib/postgresql/data",
    admin_user: "postgres",
    url_scheme: "postgres",
    ready_deadline: Duration::from_secs(90),
    stop_timeout: Duration::from_secs(20),
    server_uid: 999,
};

pub(super) fn setup(_version: &str, admin_password: &str) -> ContainerSetup {
    debug_assert_eq!(SPEC.id, Kind::Postgres.as_str());
    ContainerSetup {
        env: vec![format!("POSTGRES_PASSWORD_FILE={ADMIN_PASSWORD_FILE}")],
        // A shared development server: modest buffers, enough connections for many projects.
        cmd: [
            "postgres",
            "-c",
            "shared_buffers=64MB",
            "-c",
            "max_connections=200",
        ]
        .map(String::from)
        .to_vec(),
        files: vec![admin_password_file(&SPEC, admin_password)],
    }
}
