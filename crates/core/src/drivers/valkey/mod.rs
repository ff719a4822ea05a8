//! Valkey, official `valkey/valkey` image: a member of the Redis family. Its entrypoint, like
//! Redis's, runs `valkey-server <conf>` as the `valkey` user (uid 999) with data in `/data`;
//! clients speak the Redis protocol, so projects get a `REDIS_URL`.

use std::time::Duration;

use super::redis_family::RedisFamily;
use super::{Kind, KindSpec};

pub(super) static VALKEY: RedisFamily = RedisFamily {
    kind: Kind::Valkey,
    spec: &SPEC,
    server: "valkey-server",
    cli: "valkey-cli",
    url_variable: "REDIS_URL",
    main_database_rank: 5,
};

const SPEC: KindSpec = KindSpec {
    id: "valkey",
    display_name: "Valkey",
    aliases: &[],
    image_repo: "valkey/valkey",
    default_version: "8",
    versions: &["7.2", "8", "8.0", "8.1"],
    container_port: 6379,
    default_host_port: 6379,
    data_path: "/data",
    admin_user: "default",
    url_scheme: "redis",
    ready_deadline: Duration::from_secs(30),
    stop_timeout: Duration::from_secs(15),
    server_uid: 999,
};
