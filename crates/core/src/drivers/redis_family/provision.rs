//! Redis: an ACL user confined to its key (and channel) prefix `<db>:`. ACL users live in
//! memory, so they are re-applied whenever a consumer starts, deleted when the project detaches
//! or is removed, and never written to a file (a restarted server knows only the admin).
//!
//! Isolation on a shared server. A key pattern confines commands that *name* keys or channels;
//! it does not filter commands that act on the whole server or list what is in it. Each rule
//! below closes one such command, and each was checked against Redis 7.0 (see `ACL_RULES` and
//! the adversarial tests in `crates/cli/tests/it/adversarial_redis.rs`). What stays allowed is what
//! real apps use: `EVAL`/`EVALSHA`/`SCRIPT LOAD`/`SCRIPT EXISTS` on own keys (Sidekiq, BullMQ,
//! Celery, Rails cache), pub/sub on own channels, `INFO`, `SELECT`, `PING`, `HELLO`, `CLIENT
//! SETNAME`/`ID`/`INFO`, transactions. Redis Functions are server-wide (one namespace of
//! libraries for everyone): a project that needs them gets its own Redis service.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};
use tokio::time::Instant;

use super::key_prefix as redis_prefix;
use crate::drivers::BusyScript;
use crate::drivers::Kind;
use crate::drivers::ProbeTarget;
use crate::drivers::{fail, Grant};
use crate::error::Result;

/// The ACL rules after the user's password and patterns, in order (later rules win), each with
/// why. `-@dangerous` already takes KEYS, FLUSHALL/FLUSHDB, SWAPDB, MIGRATE, SORT/SORT_RO (whose
/// BY/GET patterns read any key), MONITOR, CLIENT LIST/KILL, SLOWLOG, DEBUG, CONFIG, SHUTDOWN.
pub(crate) const ACL_RULES: &[(&str, &str)] = &[
    ("+@all", "every command, then the exceptions below"),
    (
        "-@admin",
        "server administration belongs to Dockhand's admin user",
    ),
    (
        "-@dangerous",
        "whole-keyspace and server-wide commands (KEYS, FLUSHALL, SWAPDB, SORT … BY, MONITOR, …)",
    ),
    (
        "+info",
        "client libraries (BullMQ, Sidekiq) call INFO on connect; it shows server-wide counts \
         (clients, memory, keys per database), never key, channel or user names",
    ),
    (
        "-function",
        "libraries are one server-wide namespace: LOAD REPLACE/DELETE/FLUSH/RESTORE would change \
         another project's library, LIST WITHCODE/DUMP/STATS would show it, KILL would stop it",
    ),
    (
        "-script|flush",
        "empties every project's script cache: their EVALSHA then fails with NOSCRIPT",
    ),
    (
        "-script|kill",
        "would stop another project's running script; Dockhand's supervisor does this as admin",
    ),
    (
        "-script|debug",
        "SYNC mode blocks the whole server while a debugger is attached",
    ),
    (
        "-scan",
        "returns every key of the database whatever the key pattern (HSCAN/SSCAN/ZSCAN name their \
         key and stay allowed)",
    ),
    ("-randomkey", "returns any project's key names"),
    (
        "-dbsize",
        "counts every project's keys (it would also mislead an app into thinking they are its own)",
    ),
    (
        "-pubsub",
        "CHANNELS/NUMSUB/NUMPAT/SHARDCHANNELS/SHARDNUMSUB list or count other projects' channels",
    ),
    (
        "-client|tracking",
        "BCAST mode without a prefix receives the name of every key any project writes",
    ),
];

pub(super) fn acl_setuser(g: &Grant<'_>) -> Vec<String> {
    let prefix = redis_prefix(g.database);
    let mut args: Vec<String> = vec![
        "ACL".into(),
        "SETUSER".into(),
        g.user.into(),
        "reset".into(),
        "on".into(),
        format!(">{}", g.password.expose()),
        format!("~{}*", glob_escape(&prefix)),
        format!("&{}*", glob_escape(&prefix)),
    ];
    args.extend(ACL_RULES.iter().map(|(r, _)| r.to_string()));
    args
}

/// A literal for a Redis glob pattern (`*`, `?`, `[`, `]` and `\` are special).
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A connection as `user` (None: the default user, i.e. the admin), authenticated during the
/// handshake. Each round trip is bounded; callers bound the whole session too.
async fn connect(
    host: &str,
    port: u16,
    user: Option<&str>,
    password: &str,
) -> redis::RedisResult<MultiplexedConnection> {
    let mut settings = RedisConnectionInfo::default()
        .set_password(password)
        // No `CLIENT SETINFO` on connect: one command less, and nothing a project's ACL decides.
        .set_skip_set_lib_name();
    if let Some(u) = user {
        settings = settings.set_username(u);
    }
    let info = ConnectionAddr::Tcp(host.to_string(), port)
        .into_connection_info()?
        .set_redis_settings(settings);
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(ROUND_TRIP))
        .set_response_timeout(Some(ROUND_TRIP));
    redis::Client::open(info)?
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// One round trip to a server that answers.
const ROUND_TRIP: Duration = Duration::from_secs(10);

/// The user authenticates and the current rules confine it: a user applied by an older Dockhand
/// (before `-pubsub`, the newest rule, existed) is re-applied. A restarted server forgets users.
pub(crate) async fn verify(host: &str, port: u16, g: &Grant<'_>) -> bool {
    let Ok(mut c) = connect(host, port, Some(g.user), g.password.expose()).await else {
        return false;
    };
    let whoami: redis::RedisResult<String> =
        redis::cmd("ACL").arg("WHOAMI").query_async(&mut c).await;
    if whoami.ok().as_deref() != Some(g.user) {
        return false;
    }
    // A read-only count: refused under the current rules, answered under older ones.
    let numpat: redis::RedisResult<i64> =
        redis::cmd("PUBSUB").arg("NUMPAT").query_async(&mut c).await;
    matches!(numpat, Err(e) if e.code() == Some("NOPERM"))
}

async fn admin(kind: Kind, admin: &ProbeTarget) -> Result<MultiplexedConnection> {
    connect(&admin.host, admin.port, None, &admin.password)
        .await
        .map_err(|e| fail(kind, e))
}

pub(crate) async fn provision(kind: Kind, target: &ProbeTarget, g: &Grant<'_>) -> Result<()> {
    let mut c = admin(kind, target).await?;
    let mut setuser = redis::cmd("ACL");
    for a in acl_setuser(g).iter().skip(1) {
        setuser.arg(a);
    }
    // The command carries the password: on failure only the server's error code and message
    // are reported, never the arguments.
    setuser
        .query_async::<()>(&mut c)
        .await
        .map_err(|e| fail(kind, format!("ACL SETUSER answered {e}")))
}

/// An ACL user of the grant's name, or keys under its prefix (in any database), that the
/// server has already: a project given them would read and write someone else's keys.
pub(crate) async fn already_taken(
    kind: Kind,
    target: &ProbeTarget,
    g: &Grant<'_>,
) -> Result<Option<String>> {
    let mut c = admin(kind, target).await?;
    let f = |e: redis::RedisError| fail(kind, e);
    let user: Option<redis::Value> = redis::cmd("ACL")
        .arg("GETUSER")
        .arg(g.user)
        .query_async(&mut c)
        .await
        .map_err(f)?;
    if user.is_some_and(|v| v != redis::Value::Nil) {
        return Ok(Some(format!("an ACL user '{}'", g.user)));
    }
    let prefix = redis_prefix(g.database);
    let pattern = format!("{}*", glob_escape(&prefix));
    let keyspace: String = redis::cmd("INFO")
        .arg("keyspace")
        .query_async(&mut c)
        .await
        .map_err(f)?;
    for db in keyspace
        .lines()
        .filter_map(|l| l.strip_prefix("db")?.split(':').next()?.parse::<i64>().ok())
    {
        redis::cmd("SELECT")
            .arg(db)
            .query_async::<()>(&mut c)
            .await
            .map_err(f)?;
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut c)
                .await
                .map_err(f)?;
            if let Some(k) = keys.first() {
                return Ok(Some(format!(
                    "keys under the prefix '{prefix}' (such as '{k}' in database {db})"
                )));
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    Ok(None)
}

/// Sets `maxmemory` on the running server (the config file, rewritten by the caller, carries it
/// across restarts).
pub(crate) async fn set_maxmemory(kind: Kind, target: &ProbeTarget, bytes: u64) -> Result<()> {
    let mut c = admin(kind, target).await?;
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(bytes)
        .query_async::<()>(&mut c)
        .await
        .map_err(|e| fail(kind, format!("CONFIG SET maxmemory answered {e}")))
}

/// Deletes the project's user. Redis also disconnects every client logged in as it, so a
/// detached project keeps no open door. A user that is not there is already revoked.
pub(crate) async fn revoke(kind: Kind, target: &ProbeTarget, user: &str) -> Result<()> {
    let mut c = admin(kind, target).await?;
    redis::cmd("ACL")
        .arg("DELUSER")
        .arg(user)
        .query_async::<i64>(&mut c)
        .await
        .map(|_| ())
        .map_err(|e| fail(kind, format!("ACL DELUSER answered {e}")))
}

/// How long one removal may delete keys before it reports how far it got (a re-run continues:
/// it deletes what is left).
pub(super) const DROP_DEADLINE: Duration = Duration::from_secs(25);

/// Removes the project's user (first, so nothing writes new keys meanwhile), then every key under
/// its prefix in every database, found with `SCAN MATCH` (never `KEYS`, which blocks the server)
/// and deleted with `UNLINK` (freed in the background) in batches. Returns how many were deleted.
pub(crate) async fn drop(
    kind: Kind,
    target: &ProbeTarget,
    g: &Grant<'_>,
    deadline: Duration,
) -> Result<u64> {
    revoke(kind, target, g.user).await?;
    let mut c = admin(kind, target).await?;
    let f = |what: &str, e: redis::RedisError| fail(kind, format!("{what} answered {e}"));
    let pattern = format!("{}*", glob_escape(&redis_prefix(g.database)));
    let databases: u32 = redis::cmd("CONFIG")
        .arg("GET")
        .arg("databases")
        .query_async::<(String, String)>(&mut c)
        .await
        .ok()
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(16);
    let end = Instant::now() + deadline;
    let mut deleted = 0u64;
    for db in 0..databases {
        redis::cmd("SELECT")
            .arg(db)
            .query_async::<()>(&mut c)
            .await
            .map_err(|e| f("SELECT", e))?;
        let mut cursor = 0u64;
        loop {
            if Instant::now() >= end {
                return Err(fail(
                    kind,
                    format!(
                        "deleted {deleted} keys of '{}' in {} s and stopped (database {db}); \
                         run the removal again to delete the rest",
                        g.database,
                        deadline.as_secs()
                    ),
                ));
            }
            // Key names as the server sends them: binary-safe.
            let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut c)
                .await
                .map_err(|e| f("SCAN", e))?;
            if !keys.is_empty() {
                let n: u64 = redis::cmd("UNLINK")
                    .arg(&keys)
                    .query_async(&mut c)
                    .await
                    .map_err(|e| f("UNLINK", e))?;
                deleted += n;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    Ok(deleted)
}

/// Ends a script that keeps the whole server busy (every other client gets `BUSY`): first the
/// harmless `SCRIPT KILL` (or `FUNCTION KILL`), and when Redis answers UNKILLABLE — the script has
/// written, so stopping it halfway would break its atomicity — `SHUTDOWN NOSAVE`, the only other
/// command Redis accepts then.
pub(crate) async fn end_busy_script(kind: Kind, target: &ProbeTarget) -> Result<BusyScript> {
    let mut c = admin(kind, target).await?;
    match redis::cmd("PING").query_async::<String>(&mut c).await {
        Err(e) if e.code() == Some("BUSY") => {}
        // Not reachable is a failure to report; any other answer means it is not busy.
        Err(e) if e.code().is_none() => return Err(fail(kind, format!("PING: {e}"))),
        _ => return Ok(BusyScript::NotBusy),
    }
    for kill in ["SCRIPT", "FUNCTION"] {
        match redis::cmd(kill).arg("KILL").query_async::<()>(&mut c).await {
            Ok(()) => return Ok(BusyScript::Killed),
            Err(e) if e.code() == Some("UNKILLABLE") => {
                // The server closes the connection as it goes: no reply is the expected answer;
                // an error reply from the server is not.
                return match redis::cmd("SHUTDOWN")
                    .arg("NOSAVE")
                    .query_async::<()>(&mut c)
                    .await
                {
                    Err(e) if e.code().is_some() => {
                        Err(fail(kind, format!("SHUTDOWN NOSAVE answered {e}")))
                    }
                    _ => Ok(BusyScript::ShutDown),
                };
            }
            // SCRIPT KILL while a function runs (or the script ended meanwhile): try FUNCTION
            // KILL; if that finds nothing either, the server is no longer busy.
            Err(e) if e.code() == Some("NOTBUSY") || e.to_string().contains("FUNCTION KILL") => {
                continue
            }
            Err(e) => return Err(fail(kind, format!("{kill} KILL answered {e}"))),
        }
    }
    Ok(BusyScript::NotBusy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    fn args() -> Vec<String> {
        let pw = Secret::new("pw");
        acl_setuser(&Grant {
            database: "shop",
            user: "shop",
            password: &pw,
            connection_limit: 50,
        })
    }

    #[test]
    fn confines_the_user_to_its_prefix() {
        let args = args();
        assert_eq!(&args[..5], ["ACL", "SETUSER", "shop", "reset", "on"]);
        assert!(args.contains(&"~shop:*".to_string()) && args.contains(&"&shop:*".to_string()));
        assert!(args.contains(&"-@dangerous".to_string()) && args.contains(&"-@admin".to_string()));
        assert!(!args
            .iter()
            .any(|a| a == "allkeys" || a == "~*" || a == "allchannels" || a == "&*"));
    }

    #[test]
    fn denies_server_wide_and_enumerating_commands_after_allowing_all() {
        let args = args();
        let at = |r: &str| {
            args.iter()
                .position(|a| a == r)
                .unwrap_or_else(|| panic!("{r} missing from {args:?}"))
        };
        // Rules apply in order: every denial comes after `+@all`, and `+info` after `-@dangerous`
        // (INFO is in @dangerous) so that it alone comes back.
        for denied in [
            "-@admin",
            "-@dangerous",
            "-function",
            "-script|flush",
            "-script|kill",
            "-script|debug",
            "-scan",
            "-randomkey",
            "-dbsize",
            "-pubsub",
            "-client|tracking",
        ] {
            assert!(at(denied) > at("+@all"), "{denied} before +@all");
        }
        assert!(at("+info") > at("-@dangerous"));
        // Nothing re-allows what a denial closed, and nothing that scripts or pub/sub need is
        // denied.
        let allowed: Vec<&String> = args[8..].iter().filter(|a| a.starts_with('+')).collect();
        assert_eq!(allowed, ["+@all", "+info"]);
        for kept in [
            "-eval",
            "-evalsha",
            "-script",
            "-script|load",
            "-script|exists",
            "-@scripting",
            "-@pubsub",
            "-subscribe",
            "-publish",
            "-select",
            "-client",
            "-hello",
            "-info",
        ] {
            assert!(!args.iter().any(|a| a == kept), "{kept} would break apps");
        }
        // Every rule says why.
        assert!(ACL_RULES.iter().all(|(_, why)| !why.is_empty()));
    }

    #[test]
    fn patterns_are_literal_prefixes() {
        assert_eq!(glob_escape("a_b"), "a_b");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
