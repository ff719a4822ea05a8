//! Adopting a Redis or Valkey container. The official images have no password setting: a
//! password is given on the command line (`--requirepass`); a container without one cannot keep
//! projects apart, since its default user can read and change every key.

use std::collections::HashMap;

use crate::drivers::adoption::{flag_value, Adoption, FoundAdmin};

pub(super) struct Adopt;

impl Adoption for Adopt {
    fn version_from_env(&self, env: &HashMap<String, String>) -> Option<String> {
        env.get("REDIS_VERSION")
            .or(env.get("VALKEY_VERSION"))
            .cloned()
    }

    fn admin(
        &self,
        env: &HashMap<String, String>,
        cmd: &[String],
    ) -> std::result::Result<FoundAdmin, String> {
        if let Some(p) = flag_value(cmd, "--requirepass").filter(|p| !p.is_empty()) {
            return Ok(FoundAdmin {
                password: Some(p),
                source: Some("--requirepass"),
            });
        }
        // Bitnami's images take it from the environment.
        if let Some(p) = env.get("REDIS_PASSWORD").filter(|p| !p.is_empty()) {
            return Ok(FoundAdmin {
                password: Some(p.clone()),
                source: Some("REDIS_PASSWORD"),
            });
        }
        // A config file may set one: the user is asked, and a server without one is refused
        // when the password is checked.
        let configured = cmd.iter().any(|a| a.ends_with(".conf"));
        if configured {
            return Ok(FoundAdmin {
                password: None,
                source: None,
            });
        }
        Err(
            "its default user has no password, so every client of it can read and change every key — no project \
             could be kept from another's; start it with `--requirepass <password>` and adopt it again"
                .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_on_the_command_line_or_none() {
        let cmd: Vec<String> = ["redis-server", "--requirepass", "pw"]
            .map(String::from)
            .to_vec();
        let f = Adopt.admin(&HashMap::new(), &cmd).unwrap();
        assert_eq!(f.password.as_deref(), Some("pw"));
        let bare: Vec<String> = vec!["redis-server".into()];
        let e = Adopt.admin(&HashMap::new(), &bare).unwrap_err();
        assert!(
            e.contains("no password") && e.contains("--requirepass"),
            "{e}"
        );
        let conf: Vec<String> = ["redis-server", "/etc/redis.conf"]
            .map(String::from)
            .to_vec();
        assert_eq!(Adopt.admin(&HashMap::new(), &conf).unwrap().password, None);
    }
}
