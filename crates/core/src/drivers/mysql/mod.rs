//! MySQL, official `mysql` image. The entrypoint reads `MYSQL_ROOT_PASSWORD_FILE` and, like
//! MariaDB's, initialises with networking off. MySQL 9 runs for real in the tests (an image of
//! the vendored Debian sid MySQL 9.7, tests/images/mysql); 8.0 and 8.4 are held to the official
//! image's documented contract only.

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
    // Measured idle with the settings below (MySQL 9.7, `docker stats` after 30 s): 242 MiB,
    // more than twice MariaDB's; 512 MB leaves room for the connections of several projects.
    default_memory_mb: 512,
    jdbc_scheme: "jdbc:mysql",
    jdbc_params: "?allowPublicKeyRetrieval=true",
    no_client_commands: "--commands=OFF",
    dump_options: &["--set-gtid-purged=OFF"],
};

const SPEC: KindSpec = KindSpec {
    id: "mysql",
    display_name: "MySQL",
    aliases: &[],
    image_repo: "mysql",
    default_version: "9",
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
        // performance_schema alone takes ~400 MB on a default MySQL 8. No binary log (MySQL's
        // is on by default, MariaDB's off): a development server replicates to nothing, the log
        // only fills the volume for 30 days, and with it on a project's user cannot create a
        // function without a privilege it must not have (error 1418,
        // log_bin_trust_function_creators).
        cmd: [
            "mysqld",
            "--performance-schema=OFF",
            "--innodb-buffer-pool-size=64M",
            "--disable-log-bin",
        ]
        .map(String::from)
        .to_vec(),
        files: vec![admin_password_file(&SPEC, admin_password)],
    }
}
