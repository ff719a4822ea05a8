//! MongoDB (contract only; no MongoDB server exists on the test machines). The user is created
//! with `mongosh` inside the service container, the passwords passed in the exec's environment —
//! never on a command line.

use std::time::Duration;

use crate::drivers::Kind;
use crate::drivers::ProbeTarget;
use crate::drivers::{fail, Grant};
use crate::engine::{exec_collect_env, Engine};
use crate::error::Result;

/// The mongosh script: authenticate as root, then create or update the project's user with
/// `readWrite` on its database only. Names are validated identifiers, embedded as JSON strings.
pub(super) fn script(g: &Grant<'_>) -> String {
    let db = serde_json::to_string(g.database).expect("string");
    let user = serde_json::to_string(g.user).expect("string");
    format!(
        "const a = db.getSiblingDB('admin'); a.auth('root', process.env.DOCKHAND_ADMIN_PASSWORD); \
         const d = db.getSiblingDB({db}); const roles = [{{ role: 'readWrite', db: {db} }}]; \
         if (d.getUser({user})) {{ d.updateUser({user}, {{ pwd: process.env.DOCKHAND_USER_PASSWORD, roles }}); }} \
         else {{ d.createUser({{ user: {user}, pwd: process.env.DOCKHAND_USER_PASSWORD, roles }}); }}"
    )
}

pub(crate) async fn provision(
    engine: &dyn Engine,
    container: &str,
    admin: &ProbeTarget,
    g: &Grant<'_>,
) -> Result<()> {
    let script = script(g);
    let env = [
        format!("DOCKHAND_ADMIN_PASSWORD={}", admin.password),
        format!("DOCKHAND_USER_PASSWORD={}", g.password.expose()),
    ];
    let out = exec_collect_env(
        engine,
        container,
        &["mongosh", "--quiet", "--norc", "--eval", &script],
        &env,
        Duration::from_secs(30),
    )
    .await
    .map_err(|e| fail(Kind::Mongo, e))?;
    if out.exit_code != 0 {
        return Err(fail(
            Kind::Mongo,
            format!(
                "mongosh exited with {}: {}",
                out.exit_code,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    #[test]
    fn script_grants_read_write_on_its_database_only_and_holds_no_password() {
        let pw = Secret::new("s3cret");
        let s = script(&Grant {
            database: "shop",
            user: "shop",
            password: &pw,
            connection_limit: 50,
        });
        assert!(s.contains("role: 'readWrite', db: \"shop\""), "{s}");
        assert!(s.contains("createUser") && s.contains("updateUser"));
        assert!(s.contains("process.env.DOCKHAND_USER_PASSWORD"));
        assert!(!s.contains("s3cret"));
    }
}
