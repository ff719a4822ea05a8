//! MySQL, official `mysql` image (contract only: no MySQL image can be built on the test
//! machines). The entrypoint reads `MYSQL_ROOT_PASSWORD_FILE` and, like MariaDB's, initialises
//! with networking off.

use std::time::Duration;

use super::mysql_family::MysqlFamily;
use super::Kind;
use crate::drivers::{
    admin_password_file, ContainerSetup, KindSpec, UrlDatabase, ADMIN_PASSWORD_FILE,
};

pub(super) static MYSQL: MysqlFamily = MysqlFamily {
    kind: Kind::Mysql,
    spec: &SPEC,
    client: "mysql",
    dump_tool: "mysqldump",
    setup,
    main_database_rank: 2,
    // Not measurable here (no MySQL image on these machines); MySQL 8 is heavier than MariaDB
    // and seed 003 gives it 512 MB.
    default_memory_mb: 512,
    jdbc_scheme: "jdbc:mysql",
};

const SPEC: KindSpec = KindSpec {
    id: "mysql",
    display_name: "MySQL",
    aliases: &[],
    image_repo: "mysql",
    default_version: "8.4",
    versions: &["8.0", "8.4", "9"],
    container_port: 3306,
    default_host_port: 3306,
    data_path: "/var/lib/mysql",
    admin_user: "root",
    url_scheme: "mysql",
    url_schemes: &["mysql", "mariadb"],
    url_database: UrlDatabase::Named,
    drops_project_data: true,
    ready_deadline: Duration::from_secs(150),
    stop_timeout: Duration::from_secs(30),
    server_uid: 999,
};

fn setup(admin_password: &str) -> ContainerSetup {
    ContainerSetup {
        env: vec![format!("MYSQL_ROOT_PASSWORD_FILE={ADMIN_PASSWORD_FILE}")],
        // performance_schema alone takes ~400 MB on a default MySQL 8.
        cmd: [
            "mysqld",
            "--performance-schema=OFF",
            "--innodb-buffer-pool-size=64M",
        ]
        .map(String::from)
        .to_vec(),
        files: vec![admin_password_file(&SPEC, admin_password)],
    }
}
