//! MariaDB, official `mariadb` image. The entrypoint reads `MARIADB_ROOT_PASSWORD_FILE` and runs
//! its initialisation server with `--skip-networking`, so only the real server answers on TCP.

use std::time::Duration;

use super::mysql_family::MysqlFamily;
use super::Kind;
use crate::drivers::{
    admin_password_file, ContainerSetup, KindSpec, UrlDatabase, ADMIN_PASSWORD_FILE,
};

pub(super) static MARIADB: MysqlFamily = MysqlFamily {
    kind: Kind::Mariadb,
    spec: &SPEC,
    client: "mariadb",
    dump_tool: "mariadb-dump",
    setup,
    main_database_rank: 1,
    // Measured idle (`docker stats`, with the settings below): 88 MiB (10.11), 104 MiB (11.8) —
    // the 64 MB buffer pool, thread stacks and caches; each connection adds ~1–3 MiB.
    default_memory_mb: 512,
    jdbc_scheme: "jdbc:mariadb",
    jdbc_params: "",
    no_client_commands: "--sandbox",
    dump_options: &[],
};

const SPEC: KindSpec = KindSpec {
    id: "mariadb",
    display_name: "MariaDB",
    aliases: &[],
    image_repo: "mariadb",
    default_version: "11",
    versions: &["10.6", "10.11", "11", "11.4", "11.8"],
    container_port: 3306,
    default_host_port: 3306,
    data_path: "/var/lib/mysql",
    admin_user: "root",
    url_scheme: "mysql",
    url_schemes: &["mysql", "mariadb"],
    url_database: UrlDatabase::Named,
    drops_project_data: true,
    ready_deadline: Duration::from_secs(120),
    stop_timeout: Duration::from_secs(30),
    server_uid: 999,
};

fn setup(admin_password: &str) -> ContainerSetup {
    ContainerSetup {
        env: vec![
            format!("MARIADB_ROOT_PASSWORD_FILE={ADMIN_PASSWORD_FILE}"),
            // Time-zone tables cost a second on every first start and few dev apps need them.
            "MARIADB_INITDB_SKIP_TZINFO=1".into(),
        ],
        cmd: [
            "mariadbd",
            "--performance-schema=OFF",
            "--innodb-buffer-pool-size=64M",
        ]
        .map(String::from)
        .to_vec(),
        files: vec![admin_password_file(&SPEC, admin_password)],
    }
}
