//! A command run inside a service's container (each driver builds its dump, restore and SQL
//! tools' command lines), so the tool's version always matches the server's. Passwords reach them through
//! the exec's environment, never through the command line (`ps` in the container would show it).

/// Redis has no databases to pick from: one snapshot holds the whole server.
pub const WHOLE_SERVER: &str = "all";

/// A command to run in the container, with the environment it needs.
#[derive(Clone, PartialEq, Eq)]
pub struct ToolCommand {
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    /// The program messages name (`redis-cli` for a `sh -c "… redis-cli …"` script).
    pub program: &'static str,
}

impl std::fmt::Debug for ToolCommand {
    // The environment carries the admin password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.cmd.join(" "))
    }
}

impl ToolCommand {
    pub fn argv(&self) -> Vec<&str> {
        self.cmd.iter().map(String::as_str).collect()
    }
}

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
            if let Ok(r) = d.restore(pw, "shop", "shop") {
                assert!(!r.cmd.iter().any(|a| a.contains(pw)), "{kind}: {r:?}");
            }
            if let Some(sql) = d.sql() {
                let q = sql.admin_sql(pw, "postgres", "SELECT 1");
                assert!(!q.cmd.iter().any(|a| a.contains(pw)), "{kind}: {q:?}");
            }
        }
    }

    #[test]
    fn a_redis_snapshot_is_not_restored_half_way() {
        let e = Kind::Redis.driver().restore("pw", "all", "x").unwrap_err();
        assert!(e.to_string().contains("not supported"), "{e}");
    }
}
