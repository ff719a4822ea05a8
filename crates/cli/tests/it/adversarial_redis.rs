//! Adversarial tests of project isolation on one shared Redis server: project `alpha` (the
//! attacker) tries each known way to reach, see or disturb project `beta`'s data, scripts,
//! functions and channels; every attempt must be refused (NOPERM) and `beta` must keep working.
//! Also: what real apps need still works, revocation on detach/remove, `--drop-data`, and a
//! runaway script ended by the supervisor while the other project keeps its data. The real
//! `dockhand` binary, the real Docker engine, real Redis and Valkey servers (which versions:
//! `common::versions`), the OS keychain.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::*;

/// A project folder whose dockhand.toml names this test's Redis-family service.
fn redis_project(env: &Env, name: &str, kind: &str, version: &str, service: &str) -> PathBuf {
    project_dir(env, name, &[(kind, version, service)])
}

fn redis_url(env: &Env, dir: &Path) -> String {
    let out = ok_in(env, dir, &["env", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["REDIS_URL"].as_str().expect(&out).to_string()
}

/// redis-cli as the URL's user, each argument passed as it is (scripts contain spaces); returns
/// what it printed, refusals included.
fn cli_command(url: &str, args: &[&str]) -> Command {
    let (password, port) = password_and_port(url);
    let (user, _) = user_and_database(url);
    let mut c = Command::new("redis-cli");
    c.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "--no-auth-warning",
    ]);
    c.args(["--user", &user]);
    c.env("REDISCLI_AUTH", password);
    c.args(args);
    c
}

fn redis(url: &str, args: &[&str]) -> String {
    let r = run_limited(cli_command(url, args), COMMAND_LIMIT);
    r.all().trim().to_string()
}

#[track_caller]
fn refused(url: &str, args: &[&str]) -> String {
    let out = redis(url, args);
    assert!(out.contains("NOPERM"), "{args:?} was not refused: {out}");
    out
}

/// One Redis service with two projects on it: (admin URL, alpha's URL, beta's URL, dirs).
struct Shared {
    service: String,
    admin: String,
    alpha: String,
    beta: String,
    alpha_dir: PathBuf,
    beta_dir: PathBuf,
}

fn shared(env: &Env, kind: &str, version: &str) -> Shared {
    let service = env.name("shared");
    let alpha_dir = redis_project(env, "alpha", kind, version, &service);
    let beta_dir = redis_project(env, "beta", kind, version, &service);
    // The server stays up between commands (no stop after each attach).
    env.ok(&["config", "set", "grace-period", "10m"]);
    ok_in(env, &alpha_dir, &["attach"]);
    ok_in(env, &beta_dir, &["attach"]);
    ok_in(env, &beta_dir, &["project", "up"]);
    Shared {
        admin: env.url(&service),
        alpha: redis_url(env, &alpha_dir),
        beta: redis_url(env, &beta_dir),
        service,
        alpha_dir,
        beta_dir,
    }
}

/// Runs a scenario on each Redis-family server of this run's version set (`common::versions`:
/// Redis 7, or Redis 8 and Valkey 8), each a fresh service with its two projects. The same
/// attacks, the same expectations: Valkey must isolate projects exactly as Redis does.
fn on_each_server(scenario: impl Fn(&Env, &Shared)) {
    for (kind, version, _) in versions().redis_family {
        eprintln!("-- on {kind}:{version}");
        let env = Env::new();
        let s = shared(&env, kind, version);
        scenario(&env, &s);
    }
}

const BETA_LIB: &str = "#!lua name=beta_lib\nredis.register_function('beta_incr', function(keys, args) return redis.call('INCR', keys[1]) end)";
const EVIL_LIB: &str = "#!lua name=beta_lib\nredis.register_function('beta_incr', function(keys, args) return redis.call('SET', keys[1], 'owned') end)";

fn wait_line(rx: &Receiver<String>, limit: Duration, pred: impl Fn(&str) -> bool) -> bool {
    let end = Instant::now() + limit;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(l) if pred(&l) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// A running `dockhand supervise --json`, its lines on a channel.
struct Supervisor {
    child: Child,
    lines: Receiver<serde_json::Value>,
}

impl Supervisor {
    fn start(env: &Env) -> Supervisor {
        let mut child = env
            .command(&["supervise", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        Supervisor { child, lines }
    }

    fn expect(
        &self,
        limit: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let end = Instant::now() + limit;
        let mut seen = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(v) if pred(&v) => return v,
                Ok(v) => seen.push(v),
                Err(_) => break,
            }
        }
        panic!("not seen within {limit:?}; saw {seen:#?}");
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a script as the URL's user in the background; the reply arrives on the channel.
fn eval_in_background(url: &str, script: &str, keys: &[&str]) -> Receiver<String> {
    let mut args = vec!["EVAL", script];
    let n = keys.len().to_string();
    args.push(&n);
    args.extend_from_slice(keys);
    let c = cli_command(url, &args);
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let _ = tx.send(run_limited(c, COMMAND_LIMIT).all());
    });
    rx
}

/// The tests whose outcome depends on the server's version (its initialisation, isolation rules,
/// dump and restore tools, exit on kill): run on the oldest supported versions, then again on the
/// catalog's defaults — scripts/test-all.sh selects every `each_version::` test for that pass.
mod each_version {
    use super::*;

    #[test]
    fn another_projects_functions_cannot_be_replaced_deleted_flushed_or_read() {
        on_each_server(|_, s| {
            // Beta's library (Functions are server-wide: only the admin loads them).
            assert_eq!(redis(&s.admin, &["FUNCTION", "LOAD", BETA_LIB]), "beta_lib");
            assert_eq!(
                redis(&s.beta, &["FCALL", "beta_incr", "1", "beta:counter"]),
                "1"
            );

            refused(&s.alpha, &["FUNCTION", "LOAD", "REPLACE", EVIL_LIB]);
            refused(&s.alpha, &["FUNCTION", "DELETE", "beta_lib"]);
            refused(&s.alpha, &["FUNCTION", "FLUSH"]);
            let listing = refused(&s.alpha, &["FUNCTION", "LIST", "WITHCODE"]);
            assert!(!listing.contains("register_function"), "{listing}");
            refused(&s.alpha, &["FUNCTION", "DUMP"]);
            refused(&s.alpha, &["FUNCTION", "STATS"]);
            refused(&s.alpha, &["FUNCTION", "KILL"]);

            // Beta's function is still beta's, and still works.
            assert_eq!(
                redis(&s.beta, &["FCALL", "beta_incr", "1", "beta:counter"]),
                "2"
            );
            let code = redis(&s.admin, &["FUNCTION", "LIST", "WITHCODE"]);
            assert!(
                code.contains("redis.call('INCR'") && !code.contains("owned"),
                "{code}"
            );
        });
    }

    #[test]
    fn another_projects_scripts_cannot_be_flushed_or_killed() {
        on_each_server(|_, s| {
            let script = "return redis.call('INCR', KEYS[1])";
            let sha = redis(&s.beta, &["SCRIPT", "LOAD", script]);
            assert_eq!(sha.len(), 40, "{sha}");
            assert_eq!(redis(&s.beta, &["EVALSHA", &sha, "1", "beta:n"]), "1");

            refused(&s.alpha, &["SCRIPT", "FLUSH"]);
            refused(&s.alpha, &["SCRIPT", "FLUSH", "ASYNC"]);
            refused(&s.alpha, &["SCRIPT", "KILL"]);
            refused(&s.alpha, &["SCRIPT", "DEBUG", "SYNC"]);

            assert_eq!(redis(&s.beta, &["EVALSHA", &sha, "1", "beta:n"]), "2");
        });
    }

    #[test]
    fn another_projects_key_and_channel_names_stay_hidden() {
        on_each_server(|_, s| {
            assert_eq!(redis(&s.beta, &["SET", "beta:secret-plans", "v"]), "OK");
            assert_eq!(redis(&s.beta, &["RPUSH", "beta:list", "3", "1"]), "2");
            // A live subscriber on beta's channel (its name is what an attacker would look for).
            let mut sub = cli_command(&s.beta, &["SUBSCRIBE", "beta:orders"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            assert!(
                wait_until(Duration::from_secs(30), || redis(
                    &s.admin,
                    &["PUBSUB", "NUMSUB", "beta:orders"]
                )
                .ends_with('1')),
                "beta's subscriber never subscribed"
            );

            for attempt in [
                &["SCAN", "0"][..],
                &["SCAN", "0", "MATCH", "beta:*"],
                &["RANDOMKEY"],
                &["KEYS", "*"],
                &["DBSIZE"],
                &["PUBSUB", "CHANNELS"],
                &["PUBSUB", "NUMSUB", "beta:orders"],
                &["PUBSUB", "NUMPAT"],
                &["PUBSUB", "SHARDCHANNELS"],
                &["PUBSUB", "SHARDNUMSUB", "beta:orders"],
                &["CLIENT", "TRACKING", "on", "BCAST"],
                &["CLIENT", "LIST"],
                &["ACL", "USERS"],
                &["ACL", "LIST"],
                // Commands that name a key of beta's, or reach any key through a pattern.
                &["SORT", "beta:list"],
                &["SORT", "alpha:list", "BY", "beta:*", "GET", "beta:*"],
                &["OBJECT", "ENCODING", "beta:secret-plans"],
                &["MEMORY", "USAGE", "beta:secret-plans"],
                &["MOVE", "beta:secret-plans", "1"],
                &["COPY", "beta:secret-plans", "alpha:copy"],
                &["SWAPDB", "0", "1"],
                &["MIGRATE", "127.0.0.1", "1", "beta:secret-plans", "0", "100"],
            ] {
                refused(&s.alpha, attempt);
            }
            // A script runs with its caller's rights: no way round the rules from Lua (Redis words the
            // refusal differently there, and Redis 8 and Valkey differently again).
            for attempt in [
                &["EVAL", "return redis.call('SCAN', '0')", "0"][..],
                &["EVAL", "return redis.call('RANDOMKEY')", "0"],
                &["EVAL", "return redis.call('PUBSUB', 'CHANNELS')", "0"],
                &[
                    "EVAL",
                    "return redis.call('GET', KEYS[1])",
                    "1",
                    "beta:secret-plans",
                ],
                &["EVAL", "return redis.call('GET', 'beta:secret-plans')", "0"],
            ] {
                let out = redis(&s.alpha, attempt);
                assert!(
                    out.contains("The user executing the script can't")
                        || out.contains("NOPERM")
                        || out.contains("ACL failure in script"),
                    "{attempt:?} was not refused: {out}"
                );
            }

            let _ = Command::new("kill").arg(sub.id().to_string()).status();
            let _ = sub.wait();
            assert_eq!(redis(&s.beta, &["GET", "beta:secret-plans"]), "v");
        });
    }

    #[test]
    fn what_real_apps_use_keeps_working_on_their_own_prefix() {
        on_each_server(|_, s| {
            let a = &s.alpha;
            // Connection set-up as Sidekiq, BullMQ, Celery and Rails cache do it.
            assert_eq!(redis(a, &["PING"]), "PONG");
            assert!(redis(a, &["INFO"]).contains("redis_version:"));
            assert!(redis(a, &["INFO", "keyspace"]).contains("# Keyspace"));
            assert_eq!(redis(a, &["SELECT", "1"]), "OK");
            assert_eq!(redis(a, &["CLIENT", "SETNAME", "worker-1"]), "OK");
            assert!(redis(a, &["CLIENT", "ID"]).parse::<u64>().is_ok());
            // The server names itself here: "redis", or "valkey" (which still answers redis_version
            // in INFO, above, for clients that check it).
            let hello = redis(a, &["HELLO", "3"]);
            assert!(
                hello.contains("proto") && (hello.contains("redis") || hello.contains("valkey")),
                "{hello}"
            );
            // Scripts on own keys: EVAL, SCRIPT LOAD + EXISTS + EVALSHA (BullMQ, Sidekiq).
            assert_eq!(
                redis(
                    a,
                    &[
                        "EVAL",
                        "return redis.call('INCR', KEYS[1])",
                        "1",
                        "alpha:jobs"
                    ]
                ),
                "1"
            );
            let sha = redis(a, &["SCRIPT", "LOAD", "return redis.call('INCR', KEYS[1])"]);
            assert_eq!(redis(a, &["SCRIPT", "EXISTS", &sha]), "1");
            assert_eq!(redis(a, &["EVALSHA", &sha, "1", "alpha:jobs"]), "2");
            // Own hashes, sets and their cursors (HSCAN names its key).
            assert_eq!(redis(a, &["HSET", "alpha:h", "f", "v"]), "1");
            assert!(redis(a, &["HSCAN", "alpha:h", "0"]).contains('f'));
            assert_eq!(redis(a, &["SET", "alpha:cache:x", "1", "EX", "60"]), "OK");

            // Pub/sub on own channels (Celery results, Rails Action Cable, BullMQ events).
            let mut sub = cli_command(a, &["SUBSCRIBE", "alpha:events"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let (tx, rx) = channel();
            let out = sub.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
            assert!(
                wait_until(Duration::from_secs(30), || redis(
                    a,
                    &["PUBLISH", "alpha:events", "job-done"]
                ) == "1"),
                "the subscriber never received"
            );
            let got = wait_line(&rx, Duration::from_secs(30), |l| l == "job-done");
            let _ = Command::new("kill").arg(sub.id().to_string()).status();
            let _ = sub.wait();
            assert!(got, "published message not delivered");
            // Counting subscribers is server-wide introspection, refused even for an own channel.
            refused(a, &["PUBSUB", "NUMSUB", "alpha:events"]);
        });
    }

    #[test]
    fn detach_and_remove_revoke_the_projects_user_and_keep_its_keys() {
        on_each_server(|env, s| {
            assert_eq!(redis(&s.alpha, &["SET", "alpha:k", "kept"]), "OK");
            assert_eq!(redis(&s.beta, &["SET", "beta:k", "b"]), "OK");

            // An open connection of alpha's (a subscriber, as a worker holds one).
            let mut sub = cli_command(&s.alpha, &["SUBSCRIBE", "alpha:events"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            assert!(
                wait_until(Duration::from_secs(30), || redis(
                    &s.admin,
                    &["PUBSUB", "NUMSUB", "alpha:events"]
                )
                .ends_with('1')),
                "alpha's subscriber never subscribed"
            );

            // Detach while running: the user is gone at once, its open connections too.
            ok_in(env, &s.alpha_dir, &["detach", &s.service]);
            let closed = wait_until(Duration::from_secs(30), || {
                sub.try_wait().unwrap().is_some()
            });
            if !closed {
                let _ = sub.kill();
            }
            let _ = sub.wait();
            assert!(closed, "alpha's open connection survived the detach");
            let denied = redis(&s.alpha, &["GET", "alpha:k"]);
            assert!(
                denied.contains("WRONGPASS"),
                "alpha still logs in: {denied}"
            );
            assert_eq!(redis(&s.admin, &["GET", "alpha:k"]), "kept");
            assert_eq!(redis(&s.beta, &["GET", "beta:k"]), "b");

            // Attached again: same user, same keys.
            ok_in(env, &s.alpha_dir, &["attach"]);
            assert_eq!(redis(&s.alpha, &["GET", "alpha:k"]), "kept");

            // Detach while the server is stopped: a restart must not bring the user back.
            ok_in(env, &s.beta_dir, &["project", "down"]);
            env.ok(&["down", &s.service]);
            ok_in(env, &s.alpha_dir, &["detach", &s.service]);
            env.ok(&["up", &s.service]);
            let denied = redis(&s.alpha, &["GET", "alpha:k"]);
            assert!(denied.contains("WRONGPASS"), "alpha came back: {denied}");
            assert_eq!(
                redis(&s.beta, &["GET", "beta:k"]),
                "b",
                "beta re-provisioned"
            );

            // Removing a project (keeping its data) revokes its user too.
            env.ok(&["project", "remove", "beta"]);
            let denied = redis(&s.beta, &["GET", "beta:k"]);
            assert!(denied.contains("WRONGPASS"), "beta still logs in: {denied}");
            assert_eq!(redis(&s.admin, &["GET", "beta:k"]), "b");
            assert_eq!(redis(&s.admin, &["ACL", "USERS"]), "default");
        });
    }

    #[test]
    fn drop_data_backs_up_the_server_then_deletes_only_the_projects_keys() {
        on_each_server(|env, s| {
            // More keys than one SCAN batch, in two databases, and a neighbour whose name shares the
            // prefix's first letters.
            let fill = "for i = 1, 2500 do redis.call('SET', KEYS[1] .. i, i) end return 1";
            assert_eq!(redis(&s.alpha, &["EVAL", fill, "1", "alpha:item:"]), "1");
            assert_eq!(
                redis(&s.alpha, &["-n", "1", "SET", "alpha:other-db", "x"]),
                "OK"
            );
            assert_eq!(redis(&s.beta, &["SET", "beta:k", "b"]), "OK");
            assert_eq!(redis(&s.admin, &["SET", "alphabet", "admin's"]), "OK");

            let out = env.ok(&["project", "remove", "alpha", "--drop-data", "--yes"]);
            let backup = out
                .lines()
                .find_map(|l| l.strip_prefix("backed up to "))
                .expect(&out)
                .to_string();
            let head = std::fs::read(&backup).unwrap();
            assert!(head.starts_with(b"REDIS"), "a whole-server RDB snapshot");
            assert!(file_contains(Path::new(&backup), "alpha:item:2500"));

            assert_eq!(
                redis(&s.admin, &["DBSIZE"]),
                "2",
                "beta:k and alphabet left"
            );
            assert_eq!(redis(&s.admin, &["-n", "1", "DBSIZE"]), "0");
            assert_eq!(redis(&s.admin, &["GET", "alphabet"]), "admin's");
            assert_eq!(redis(&s.beta, &["GET", "beta:k"]), "b");
            let denied = redis(&s.alpha, &["PING"]);
            assert!(denied.contains("WRONGPASS"), "{denied}");
            assert!(!env.ok(&["project", "list"]).contains("alpha"));
            let events = env.ok(&["events", &s.service]);
            assert!(events.contains("2501 deleted"), "{events}");
        });
    }

    #[test]
    fn a_runaway_script_is_ended_and_the_other_project_keeps_working() {
        on_each_server(|env, s| {
            assert_eq!(redis(&s.beta, &["SET", "beta:k", "b"]), "OK");
            assert_eq!(redis(&s.alpha, &["SET", "alpha:before", "1"]), "OK");
            let sup = Supervisor::start(env);
            sup.expect(Duration::from_secs(60), |v| v["type"] == "ready");

            // A script that only reads and loops: SCRIPT KILL stops it, the server stays up.
            let reply = eval_in_background(&s.alpha, "while true do end", &[]);
            let ended = sup.expect(Duration::from_secs(120), |v| v["type"] == "busy-ended");
            assert!(
                ended["message"].as_str().unwrap().contains("SCRIPT KILL"),
                "{ended}"
            );
            let r = reply.recv_timeout(Duration::from_secs(60)).unwrap();
            assert!(r.contains("killed"), "{r}");
            assert_eq!(redis(&s.beta, &["GET", "beta:k"]), "b");

            // One that writes and loops cannot be killed: the server is shut down without saving and
            // started again. What was written before is kept, the script's own write is not.
            let reply = eval_in_background(
                &s.alpha,
                "redis.call('SET', KEYS[1], 'half-done') while true do end",
                &["alpha:during"],
            );
            let ended = sup.expect(Duration::from_secs(120), |v| v["type"] == "busy-ended");
            assert_eq!(ended["ok"], true, "{ended}");
            assert!(
                ended["message"]
                    .as_str()
                    .unwrap()
                    .contains("SHUTDOWN NOSAVE"),
                "{ended}"
            );
            let _ = reply.recv_timeout(Duration::from_secs(60));
            assert!(
                wait_until(Duration::from_secs(60), || redis(
                    &s.beta,
                    &["GET", "beta:k"]
                ) == "b"),
                "beta never got its data back: {}",
                redis(&s.beta, &["GET", "beta:k"])
            );
            assert_eq!(redis(&s.alpha, &["GET", "alpha:before"]), "1");
            assert_eq!(redis(&s.admin, &["EXISTS", "alpha:during"]), "0");
            let events = env.ok(&["events", &s.service]);
            assert!(
                events.contains("script-killed") && events.contains("script-unkillable"),
                "{events}"
            );
            eprintln!("{events}");
        });
    }
}
