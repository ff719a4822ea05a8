//! Redis, official `redis` image: a member of the Redis family (`redis_family`), which holds
//! the protocol, isolation and backup code it shares with Valkey.

use std::time::Duration;

use super::redis_family::RedisFamily;
use super::{Kind, KindSpec, UrlDatabase};

pub(super) static REDIS: RedisFamily = RedisFamily {
    kind: Kind::Redis,
    spec: &SPEC,
    server: "redis-server",
    cli: "redis-cli",
    url_variable: "REDIS_URL",
    main_database_rank: 4,
};

const SPEC: KindSpec = KindSpec {
    id: "redis",
    display_name: "Redis",
    aliases: &[],
    image_repo: "redis",
    // The official image's `latest` is 8.x since Redis 8.0 (May 2025).
    default_version: "8",
    // No 6.x: Redis 6 ACLs cannot deny subcommands (`-script|flush`, `-client|tracking`), so a
    // shared Redis 6 could not keep one project out of another's scripts and key names.
    versions: &["7", "7.0", "7.2", "7.4", "8"],
    container_port: 6379,
    default_host_port: 6379,
    data_path: "/data",
    admin_user: "default",
    url_scheme: "redis",
    url_schemes: &["redis", "rediss", "valkey", "valkeys"],
    url_database: UrlDatabase::Numbered,
    drops_project_data: true,
    ready_deadline: Duration::from_secs(30),
    stop_timeout: Duration::from_secs(15),
    server_uid: 999,
};
