//! Valkey, official `valkey/valkey` image: a member of the Redis family. Its entrypoint, like
//! Redis's, runs `valkey-server <conf>` as the `valkey` user (uid 999) with data in `/data`;
//! clients speak the Redis protocol, so projects get a `REDIS_URL`.

use std::time::Duration;

use super::redis_family::RedisFamily;
use super::{Kind, KindSpec, UrlDatabase};

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
    default_version: "9",
    versions: &["7.2", "8", "8.0", "8.1", "9", "9.0", "9.1"],
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

#[cfg(test)]
mod tests {
    use super::super::{Connection, Driver, SECRET_DIR};
    use super::*;

    /// The official valkey/valkey image's contract: its entrypoint runs `valkey-server <conf>` as
    /// uid 999 with data in /data; clients get a `redis://` URL in REDIS_URL, the scheme every
    /// Redis client and the Valkey ones (valkey-py, valkey-glide) accept.
    #[test]
    fn follows_the_official_valkey_image_and_hands_out_redis_urls() {
        let setup = VALKEY.container_setup("8", "pw", &Default::default());
        assert_eq!(setup.cmd[0], "valkey-server");
        let conf = &setup.files[0];
        assert_eq!(setup.cmd[1], conf.path);
        assert!(conf.path.starts_with(SECRET_DIR), "{}", conf.path);
        assert_eq!(conf.uid, 999);
        assert!(String::from_utf8_lossy(&conf.contents).contains("dir /data\n"));
        assert_eq!(
            (SPEC.data_path, SPEC.image_repo, SPEC.container_port),
            ("/data", "valkey/valkey", 6379)
        );
        let url = VALKEY.url(&Connection {
            kind: Kind::Valkey,
            host: "127.0.0.1",
            port: 6390,
            database: "shop",
            user: "shop",
            password: "pw",
        });
        assert_eq!(url, "redis://shop:pw@127.0.0.1:6390/0");
        assert_eq!(VALKEY.url_variable().own, "REDIS_URL");
    }
}
