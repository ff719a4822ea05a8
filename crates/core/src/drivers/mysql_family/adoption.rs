//! Adopting a MariaDB or MySQL container made from the official images, by their documented
//! environment (`MARIADB_*` and the older `MYSQL_*` names both work on MariaDB's image).

use std::collections::HashMap;

use crate::drivers::adoption::{Adoption, FoundAdmin};

pub(super) struct Adopt;

impl Adoption for Adopt {
    fn version_from_env(&self, env: &HashMap<String, String>) -> Option<String> {
        // MARIADB_VERSION=1:11.4.2+maria~ubu2404, MYSQL_VERSION=8.0.39-1.el9
        let raw = env.get("MARIADB_VERSION").or(env.get("MYSQL_VERSION"))?;
        let raw = raw.split_once(':').map_or(raw.as_str(), |(_, v)| v);
        let v: String = raw
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        (!v.is_empty()).then_some(v)
    }

    fn admin(
        &self,
        env: &HashMap<String, String>,
        _cmd: &[String],
    ) -> std::result::Result<FoundAdmin, String> {
        let set = |k: &str| env.get(k).is_some_and(|v| !v.is_empty() && v != "no");
        if set("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD") || set("MYSQL_ALLOW_EMPTY_PASSWORD") {
            return Err(
                "its root user has no password (…ALLOW_EMPTY…PASSWORD), so any project could log in as root \
                 and read every other's data; set one (`ALTER USER 'root'@'%' IDENTIFIED BY '…'`) and adopt it again"
                    .into(),
            );
        }
        for key in ["MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD"] {
            if let Some(p) = env.get(key).filter(|p| !p.is_empty()) {
                return Ok(FoundAdmin {
                    password: Some(p.clone()),
                    source: Some(if key.starts_with("MARIADB") {
                        "MARIADB_ROOT_PASSWORD"
                    } else {
                        "MYSQL_ROOT_PASSWORD"
                    }),
                });
            }
        }
        // A password file, or a random one the container printed once in its log.
        Ok(FoundAdmin {
            password: None,
            source: None,
        })
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
    fn the_official_images_contract() {
        let f = Adopt
            .admin(&env(&[("MARIADB_ROOT_PASSWORD", "pw")]), &[])
            .unwrap();
        assert_eq!(
            (f.password.as_deref(), f.source),
            (Some("pw"), Some("MARIADB_ROOT_PASSWORD"))
        );
        let f = Adopt
            .admin(&env(&[("MYSQL_ROOT_PASSWORD", "pw2")]), &[])
            .unwrap();
        assert_eq!(f.password.as_deref(), Some("pw2"));
        let f = Adopt
            .admin(&env(&[("MARIADB_RANDOM_ROOT_PASSWORD", "1")]), &[])
            .unwrap();
        assert_eq!(f.password, None);
        assert!(Adopt
            .admin(&env(&[("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", "1")]), &[])
            .is_err());
        assert_eq!(
            Adopt
                .version_from_env(&env(&[("MARIADB_VERSION", "1:11.4.2+maria~ubu2404")]))
                .as_deref(),
            Some("11.4.2")
        );
        assert_eq!(
            Adopt
                .version_from_env(&env(&[("MYSQL_VERSION", "8.0.39-1.el9")]))
                .as_deref(),
            Some("8.0.39")
        );
    }
}
