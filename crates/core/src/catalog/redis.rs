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
    // No 6.x: Redis 6 ACLs cannot deny subcommands (`-script|flush`, `-client|tracking`), so a
    // shared Redis 6 could not keep one project out of another's scripts and key names.
    versions: &["7", "7.0", "7.2", "7.4", "8"],
    container_port: 6379,
    default_host_port: 6379,
    data_path: "/data",
    admin_user: "default",
    url_scheme: "redis",
    ready_deadline: Duration::from_secs(30),
    stop_timeout: Duration::from_secs(15),
    server_uid: 999,
};

/// A script running longer than this makes Redis answer BUSY to everyone else.
pub const BUSY_REPLY_MS: u64 = 5000;
/// Connections the server accepts, all users together.
pub const MAX_CLIENTS: u32 = 10000;

pub(super) fn setup(_version: &str, admin_password: &str) -> ContainerSetup {
    // appendonly: a developer's data survives a crash of the container, not only a clean stop —
    // and a server shut down without saving to end a runaway script keeps everything written
    // before that script (its own writes reach the file only when it returns).
    // lua-time-limit (`busy-reply-threshold` in Redis 7, which accepts both names): after this
    // many ms a running script no longer blocks other clients silently — they get BUSY, and the
    // supervisor ends the script (`Manager::end_busy_script`). Stated, not left to the default.
    // maxclients: Redis has no per-user connection limit and keeps no slot for its admin; 10000
    // (Redis's default, stated) is far above what one developer's apps open, and the container's
    // open-file limit must stay above it (+32) or Redis lowers it silently.
    let conf = format!(
        "requirepass {admin_password}\nprotected-mode no\nappendonly yes\ndir /data\nmaxmemory-policy noeviction\nrepl-diskless-sync-delay 0\nlua-time-limit {BUSY_REPLY_MS}\nmaxclients {MAX_CLIENTS}\n"
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
