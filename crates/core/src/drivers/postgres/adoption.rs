//! Adopting a PostgreSQL container made from the official image (or one of its family: PostGIS,
//! pgvector), by the image's documented environment.

use std::collections::HashMap;

use super::SPEC;
use crate::drivers::adoption::{Adoption, FoundAdmin};

pub(super) struct Adopt;

impl Adoption for Adopt {
    fn version_from_env(&self, env: &HashMap<String, String>) -> Option<String> {
        env.get("PG_MAJOR").cloned()
    }

    fn admin(
        &self,
        env: &HashMap<String, String>,
        _cmd: &[String],
    ) -> std::result::Result<FoundAdmin, String> {
        if env
            .get("POSTGRES_HOST_AUTH_METHOD")
            .is_some_and(|m| m == "trust")
        {
            return Err(
                "it lets anyone log in as anyone without a password (POSTGRES_HOST_AUTH_METHOD=trust), \
                 so no project could be kept from another's data; re-create it with POSTGRES_PASSWORD set"
                    .into(),
            );
        }
        let user = env.get("POSTGRES_USER").map_or(SPEC.admin_user, |u| u);
        if user != SPEC.admin_user {
            // Dockhand's dump, restore and SQL tools run as `postgres` inside the container.
            return Err(format!(
                "its superuser is '{user}' (POSTGRES_USER), and Dockhand manages PostgreSQL as '{}'; \
                 create that role (`CREATE ROLE {} SUPERUSER LOGIN PASSWORD '…'` as '{user}') and adopt \
                 it again, giving that password",
                SPEC.admin_user, SPEC.admin_user
            ));
        }
        Ok(
            match env.get("POSTGRES_PASSWORD").filter(|p| !p.is_empty()) {
                Some(p) => FoundAdmin {
                    password: Some(p.clone()),
                    source: Some("POSTGRES_PASSWORD"),
                },
                None => FoundAdmin {
                    password: None,
                    source: None,
                },
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_official_image_contract() {
        let found = Adopt
            .admin(&env(&[("POSTGRES_PASSWORD", "pw")]), &[])
            .unwrap();
        assert_eq!(found.password.as_deref(), Some("pw"));
        // A password file (POSTGRES_PASSWORD_FILE) is not readable from outside: asked for.
        let found = Adopt
            .admin(&env(&[("POSTGRES_PASSWORD_FILE", "/run/secrets/pg")]), &[])
            .unwrap();
        assert_eq!(found.password, None);
        let trust = Adopt
            .admin(&env(&[("POSTGRES_HOST_AUTH_METHOD", "trust")]), &[])
            .unwrap_err();
        assert!(trust.contains("without a password"), "{trust}");
        let other = Adopt
            .admin(
                &env(&[("POSTGRES_USER", "app"), ("POSTGRES_PASSWORD", "x")]),
                &[],
            )
            .unwrap_err();
        assert!(
            other.contains("'app'") && other.contains("CREATE ROLE postgres"),
            "{other}"
        );
        assert_eq!(
            Adopt
                .version_from_env(&env(&[("PG_MAJOR", "16")]))
                .as_deref(),
            Some("16")
        );
    }
}
