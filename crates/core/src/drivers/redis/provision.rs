//! Redis: an ACL user confined to its key (and channel) prefix `<db>:`. ACL users live in
//! memory, so they are re-applied whenever a consumer starts, deleted when the project detaches
//! or is removed, and never written to a file (a restarted server knows only the admin).
//!
//! Isolation on a shared server. A key pattern confines commands that *name* keys or channels;
//! it does not filter commands that act on the whole server or list what is in it. Each rule
//! below closes one such command, and each was checked against Redis 7.0 (see `ACL_RULES` and
//! the adversarial tests in `crates/cli/tests/adversarial_redis.rs`). What stays allowed is what
//! real apps use: `EVAL`/`EVALSHA`/`SCRIPT LOAD`/`SCRIPT EXISTS` on own keys (Sidekiq, BullMQ,
//! Celery, Rails cache), pub/sub on own channels, `INFO`, `SELECT`, `PING`, `HELLO`, `CLIENT
//! SETNAME`/`ID`/`INFO`, transactions. Redis Functions are server-wide (one namespace of
//! libraries for everyone): a project that needs them gets its own Redis service.

use std::time::Duration;

use tokio::time::Instant;

use super::key_prefix as redis_prefix;
use super::resp::{Conn, Reply};
use crate::catalog::Kind;
use crate::drivers::BusyScript;
use crate::error::Result;
use crate::probe::ProbeTarget;
use crate::provision::{fail, Grant};

/// The ACL rules after the user's password and patterns, in order (later rules win), each with
/// why. `-@dangerous` already takes KEYS, FLUSHALL/FLUSHDB, SWAPDB, MIGRATE, SORT/SORT_RO (whose
/// BY/GET patterns read any key), MONITOR, CLIENT LIST/KILL, SLOWLOG, DEBUG, CONFIG, SHUTDOWN.
pub const ACL_RULES: &[(&str, &str)] = &[
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

/// The user authenticates and the current rules confine it: a user applied by an older Dockhand
/// (before `-pubsub`, the newest rule, existed) is re-applied. A restarted server forgets users.
pub(crate) async fn verify(host: &str, port: u16, g: &Grant<'_>) -> bool {
    let Ok((mut c, auth)) = Conn::open(host, port, Some(g.user), g.password.expose()).await else {
        return false;
    };
    if !auth.is_ok() {
        return false;
    }
    let whoami = c.call(&["ACL", "WHOAMI"]).await;
    if !matches!(&whoami, Ok(Reply::Bulk(Some(u))) if u == g.user.as_bytes()) {
        return false;
    }
    // A read-only count: refused under the current rules, answered under older ones.
    matches!(c.call(&["PUBSUB", "NUMPAT"]).await, Ok(Reply::Error(e)) if e.starts_with("NOPERM"))
}

async fn admin(admin: &ProbeTarget) -> Result<Conn> {
    let (c, auth) = Conn::open(&admin.host, admin.port, None, &admin.password)
        .await
        .map_err(|e| fail(Kind::Redis, e))?;
    if !auth.is_ok() {
        return Err(fail(Kind::Redis, format!("AUTH answered {}", auth.text())));
    }
    Ok(c)
}

async fn expect_ok(c: &mut Conn, what: &str, args: &[String]) -> Result<()> {
    let r = c.call(args).await.map_err(|e| fail(Kind::Redis, e))?;
    if r.is_ok() {
        Ok(())
    } else {
        Err(fail(Kind::Redis, format!("{what} answered {:?}", r.text())))
    }
}

pub(crate) async fn provision(target: &ProbeTarget, g: &Grant<'_>) -> Result<()> {
    let mut c = admin(target).await?;
    expect_ok(&mut c, "ACL SETUSER", &acl_setuser(g)).await
}

/// Deletes the project's user. Redis also disconnects every client logged in as it, so a
/// detached project keeps no open door. A user that is not there is already revoked.
pub(crate) async fn revoke(target: &ProbeTarget, user: &str) -> Result<()> {
    let mut c = admin(target).await?;
    match c.call(&["ACL", "DELUSER", user]).await {
        Ok(Reply::Int(_)) => Ok(()),
        Ok(r) => Err(fail(
            Kind::Redis,
            format!("ACL DELUSER answered {:?}", r.text()),
        )),
        Err(e) => Err(fail(Kind::Redis, e)),
    }
}

/// How long one removal may delete keys before it reports how far it got (a re-run continues:
/// it deletes what is left).
pub(super) const DROP_DEADLINE: Duration = Duration::from_secs(25);

/// Removes the project's user (first, so nothing writes new keys meanwhile), then every key under
/// its prefix in every database, found with `SCAN MATCH` (never `KEYS`, which blocks the server)
/// and deleted with `UNLINK` (freed in the background) in batches. Returns how many were deleted.
pub(crate) async fn drop(target: &ProbeTarget, g: &Grant<'_>, deadline: Duration) -> Result<u64> {
    revoke(target, g.user).await?;
    let mut c = admin(target).await?;
    let pattern = format!("{}*", glob_escape(&redis_prefix(g.database)));
    let databases = match c.call(&["CONFIG", "GET", "databases"]).await {
        Ok(Reply::Array(kv)) if kv.len() == 2 => kv[1].text().parse().unwrap_or(16),
        _ => 16,
    };
    let end = Instant::now() + deadline;
    let mut deleted = 0u64;
    for db in 0..databases {
        let db = db.to_string();
        expect_ok(&mut c, "SELECT", &["SELECT".to_string(), db.clone()]).await?;
        let mut cursor = "0".to_string();
        loop {
            if Instant::now() >= end {
                return Err(fail(
                    Kind::Redis,
                    format!(
                        "deleted {deleted} keys of '{}' in {} s and stopped (database {db}); \
                         run the removal again to delete the rest",
                        g.database,
                        deadline.as_secs()
                    ),
                ));
            }
            let r = c
                .call(&["SCAN", &cursor, "MATCH", &pattern, "COUNT", "1000"])
                .await
                .map_err(|e| fail(Kind::Redis, e))?;
            let Reply::Array(parts) = r else {
                return Err(fail(Kind::Redis, format!("SCAN answered {:?}", r.text())));
            };
            let (next, keys) = match parts.as_slice() {
                [next, Reply::Array(keys)] => (next.text(), keys),
                _ => return Err(fail(Kind::Redis, "SCAN answered an unexpected shape")),
            };
            if !keys.is_empty() {
                // Key names as the server sent them: binary-safe.
                let mut unlink = vec![b"UNLINK".to_vec()];
                unlink.extend(keys.iter().filter_map(|k| match k {
                    Reply::Bulk(Some(b)) => Some(b.clone()),
                    _ => None,
                }));
                match c.call(&unlink).await.map_err(|e| fail(Kind::Redis, e))? {
                    Reply::Int(n) => deleted += n as u64,
                    r => return Err(fail(Kind::Redis, format!("UNLINK answered {:?}", r.text()))),
                }
            }
            if next == "0" {
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
pub(crate) async fn end_busy_script(target: &ProbeTarget) -> Result<BusyScript> {
    let mut c = admin(target).await?;
    let io = |e: std::io::Error| fail(Kind::Redis, e);
    match c.call(&["PING"]).await.map_err(io)? {
        Reply::Error(e) if e.starts_with("BUSY") => {}
        _ => return Ok(BusyScript::NotBusy),
    }
    for kill in ["SCRIPT", "FUNCTION"] {
        match c.call(&[kill, "KILL"]).await.map_err(io)? {
            Reply::Simple(s) if s == "OK" => return Ok(BusyScript::Killed),
            Reply::Error(e) if e.starts_with("UNKILLABLE") => {
                // The server closes the connection as it goes: no reply is the expected answer.
                match c.call(&["SHUTDOWN", "NOSAVE"]).await {
                    Ok(Reply::Error(e)) => {
                        return Err(fail(Kind::Redis, format!("SHUTDOWN NOSAVE answered {e}")))
                    }
                    _ => return Ok(BusyScript::ShutDown),
                }
            }
            // SCRIPT KILL while a function runs (or the script ended meanwhile): try FUNCTION
            // KILL; if that finds nothing either, the server is no longer busy.
            Reply::Error(e) if e.starts_with("NOTBUSY") || e.contains("FUNCTION KILL") => continue,
            r => {
                return Err(fail(
                    Kind::Redis,
                    format!("{kill} KILL answered {:?}", r.text()),
                ))
            }
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
