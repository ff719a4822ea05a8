//! A command run inside a service's container (each driver builds its dump, restore and SQL
//! tools' command lines), so the tool's version always matches the server's. Passwords reach them through
//! the exec's environment, never through the command line (`ps` in the container would show it).

pub use crate::drivers::{ToolCommand, WHOLE_SERVER};

#[cfg(test)]
mod tests {
    use crate::catalog::Kind;

    #[test]
    fn passwords_never_reach_the_command_line() {
        let pw = "s3cr3t-pw";
        for kind in Kind::ALL {
            let d = kind.driver();
            let dump = d.dump(pw, "shop");
            assert!(!dump.cmd.iter().any(|a| a.contains(pw)), "{kind}: {dump:?}");
            assert!(dump.env.iter().any(|e| e.ends_with(pw)), "{kind}");
            assert!(!format!("{dump:?}").contains(pw));
            let owner = crate::drivers::DatabaseOwner {
                role: "shop",
                password: "owner-s3cr3t",
            };
            if let Ok(r) = d.restore(pw, "shop", Some(&owner)) {
                for secret in [pw, "owner-s3cr3t"] {
                    assert!(!r.cmd.iter().any(|a| a.contains(secret)), "{kind}: {r:?}");
                }
            }
            if let Some(sql) = d.sql() {
                let q = sql.admin_sql(pw, "postgres", "SELECT 1");
                assert!(!q.cmd.iter().any(|a| a.contains(pw)), "{kind}: {q:?}");
            }
        }
    }

    #[test]
    fn a_redis_snapshot_is_not_restored_half_way() {
        let e = Kind::Redis.driver().restore("pw", "all", None).unwrap_err();
        assert!(e.to_string().contains("not supported"), "{e}");
    }
}
