//! Redis-family major upgrades (Redis 7 → 8, Valkey 7.2 → 8): the new server becomes a replica
//! of the old one — the old server sends it its data as an RDB snapshot, the replication
//! protocol's full sync — until the link is up and the sync is done, then it stops replicating.
//! ACL users are not part of the data: the projects' users are provisioned again on the new
//! server from the keychain (same passwords, same key prefixes and rules).

use super::RedisFamily;
use crate::drivers::upgrade::{CopyStep, MajorUpgrade};
use crate::drivers::{shell_tool, tool, Kind, ToolCommand};

/// Per database: the number of keys and a checksum of every key's name, type and content, in
/// an order-independent way (members of sets and fields of hashes sorted; the server's internal
/// encodings, which differ between versions, never enter). Run with EVAL; SCAN does not block
/// the server between batches of the walk's commands, but the script as a whole does, which is
/// fine while projects are kept out.
const CHECKSUM_SCRIPT: &str = r#"
local cursor, n, acc = "0", 0, {}
repeat
  local r = redis.call("SCAN", cursor, "COUNT", 1000)
  cursor = r[1]
  for _, k in ipairs(r[2]) do
    n = n + 1
    local t = redis.call("TYPE", k)["ok"]
    local v = ""
    if t == "string" then v = redis.call("GET", k)
    elseif t == "list" then v = table.concat(redis.call("LRANGE", k, 0, -1), "\0")
    elseif t == "set" then local m = redis.call("SMEMBERS", k); table.sort(m); v = table.concat(m, "\0")
    elseif t == "zset" then v = table.concat(redis.call("ZRANGE", k, 0, -1, "WITHSCORES"), "\0")
    elseif t == "hash" then
      local h, pairs_ = redis.call("HGETALL", k), {}
      for i = 1, #h, 2 do pairs_[#pairs_ + 1] = h[i] .. "\1" .. h[i + 1] end
      table.sort(pairs_); v = table.concat(pairs_, "\0")
    elseif t == "stream" then
      for _, e in ipairs(redis.call("XRANGE", k, "-", "+")) do v = v .. e[1] .. "\1" .. table.concat(e[2], "\0") .. "\2" end
    end
    acc[#acc + 1] = redis.sha1hex(k .. "\1" .. t .. "\1" .. v)
  end
until cursor == "0"
table.sort(acc)
return n .. "|" .. redis.sha1hex(table.concat(acc))
"#;

pub(crate) struct RedisUpgrade {
    pub family: &'static RedisFamily,
}

pub(super) static REDIS_UPGRADE: RedisUpgrade = RedisUpgrade {
    family: &crate::drivers::redis::REDIS,
};
pub(super) static VALKEY_UPGRADE: RedisUpgrade = RedisUpgrade {
    family: &crate::drivers::valkey::VALKEY,
};

fn major(v: &str) -> Option<(u32, u32)> {
    let mut p = v.split(['.', '-']);
    let a = p.next()?.parse().ok()?;
    let b = p.next().and_then(|b| b.parse().ok()).unwrap_or(u32::MAX);
    Some((a, b))
}

impl MajorUpgrade for RedisUpgrade {
    fn check_versions(&self, from: &str, to: &str) -> std::result::Result<(), String> {
        let name = self.family.spec.display_name;
        let (Some(f), Some(t)) = (major(from), major(to)) else {
            return Err(format!(
                "cannot compare {name} versions {from:?} and {to:?}"
            ));
        };
        // `7` names the newest 7.x (MAX minor): `7` → `7.4` is no upgrade, `7.2` → `8` is.
        if t.0 > f.0 || (t.0 == f.0 && t.1 > f.1 && f.1 != u32::MAX) {
            Ok(())
        } else if t.0 == f.0 {
            Err(format!(
                "{name} {to} is the same major version as {from}; its data opens as is (no upgrade needed)"
            ))
        } else {
            Err(format!(
                "{name} {to} is older than {from}; going back is `dockhand upgrade --rollback` after an upgrade"
            ))
        }
    }

    fn check_kind_change(&self, from: &str, to: Kind) -> std::result::Result<(), String> {
        if self.family.kind != Kind::Redis || to != Kind::Valkey {
            return Err(format!(
                "{} cannot become {}",
                self.family.spec.display_name,
                to.spec().display_name
            ));
        }
        // Valkey forked from Redis 7.2 and reads its data up to that version (RDB 11); Redis
        // 7.4 and 8 write RDB 12, which Valkey 8 and 9 refuse by default. Valkey 8.1+ can try it
        // with `rdb-version-check relaxed`, best effort: loading stops at the first type or
        // encoding Valkey lacks (hash-field expiry, Redis 8's new types) — a copy that may fail
        // half-way is not offered (valkey-io/valkey#1604, #2543).
        match major(from) {
            Some((7, m)) if m <= 2 || m == u32::MAX => Ok(()),
            _ => Err(format!(
                "Valkey reads the data of Redis up to 7.2, and this server runs Redis {from}"
            )),
        }
    }

    fn freeze(&self, password: &str, users: &[&str]) -> Vec<ToolCommand> {
        let env = || vec![format!("REDISCLI_AUTH={password}")];
        users
            .iter()
            .flat_map(|u| {
                [
                    tool(
                        self.family.cli,
                        &["--no-auth-warning", "ACL", "SETUSER", u, "off"],
                        env(),
                    ),
                    tool(
                        self.family.cli,
                        &["--no-auth-warning", "CLIENT", "KILL", "USER", u],
                        env(),
                    ),
                ]
            })
            .collect()
    }

    fn copy(&self, password: &str, old_host: &str, _databases: &[String]) -> Vec<CopyStep> {
        // The admin password reaches the server on stdin (printf is a shell builtin), never in
        // an argument list. The wait is bounded by the caller's deadline on the whole exec.
        let cli = self.family.cli;
        let port = self.family.spec.container_port;
        let script = format!(
            "set -eo pipefail; c() {{ {cli} --no-auth-warning \"$@\"; }}; \
             printf 'CONFIG SET masterauth \"%s\"\\n' \"$REDISCLI_AUTH\" | c > /dev/null; \
             c REPLICAOF \"$OLD_HOST\" {port} > /dev/null; \
             idle=0; while :; do i=$(c INFO replication); \
               case \"$i\" in *master_link_status:up*) case \"$i\" in *master_sync_in_progress:0*) break;; esac;; esac; \
               case \"$i\" in *master_sync_in_progress:1*) idle=0;; *) idle=$((idle + 1));; esac; \
               if [ $idle -ge 150 ]; then c REPLICAOF NO ONE > /dev/null; \
                 echo \"the new server could not replicate from the old one for 30 s; its log says why\" >&2; exit 1; fi; \
               sleep 0.2; done; \
             c REPLICAOF NO ONE > /dev/null; \
             printf 'CONFIG SET masterauth \"\"\\n' | c > /dev/null"
        );
        let mut t = shell_tool(
            cli,
            &script,
            vec![
                format!("REDISCLI_AUTH={password}"),
                format!("OLD_HOST={old_host}"),
            ],
        );
        t.cmd[0] = "bash".into();
        vec![CopyStep {
            tool: t,
            what: "every database, by replication".into(),
        }]
    }

    fn server_checksums(&self, password: &str) -> Option<ToolCommand> {
        let cli = self.family.cli;
        let script = format!(
            "set -eo pipefail; c() {{ {cli} --no-auth-warning \"$@\"; }}; \
             for db in $(c INFO keyspace | tr -d '\\r' | sed -n 's/^db\\([0-9]*\\):.*/\\1/p'); do \
               printf 'db%s|%s\\n' \"$db\" \"$(c -n \"$db\" EVAL \"$SCRIPT\" 0)\"; done"
        );
        Some({
            let mut t = shell_tool(
                cli,
                &script,
                vec![
                    format!("REDISCLI_AUTH={password}"),
                    format!("SCRIPT={CHECKSUM_SCRIPT}"),
                ],
            );
            t.cmd[0] = "bash".into();
            t
        })
    }

    fn table_checksums(&self, _database: &str) -> String {
        // Not used: `server_checksums` covers every database.
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_major_is_an_upgrade() {
        let u = RedisUpgrade {
            family: &crate::drivers::redis::REDIS,
        };
        u.check_versions("7", "8").unwrap();
        u.check_versions("7.2", "8").unwrap();
        u.check_versions("7.2", "7.4").unwrap();
        assert!(u.check_versions("7", "7.4").is_err());
        assert!(u.check_versions("8", "7").unwrap_err().contains("older"));
    }

    #[test]
    fn the_password_stays_out_of_argument_lists() {
        let u = RedisUpgrade {
            family: &crate::drivers::redis::REDIS,
        };
        for t in u
            .copy("s3cret", "r", &[])
            .into_iter()
            .map(|s| s.tool)
            .chain(u.freeze("s3cret", &["p"]))
        {
            assert!(!t.cmd.join(" ").contains("s3cret"), "{:?}", t.cmd);
        }
    }
}
