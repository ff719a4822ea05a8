//! Validation of the names users type. Everything that ends up in a container name, volume name,
//! network alias or SQL identifier passes through here first.

use crate::error::{CoreError, Result};

pub const MAX_SERVICE_NAME: usize = 40;

/// A service name becomes part of a container name, a volume name and a DNS alias on the
/// `dockhand` network, so it is held to the strictest of those: lowercase DNS label rules.
pub fn validate_service_name(name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(CoreError::InvalidInput(format!(
            "service name {name:?} is not valid ({why}); use 1–{MAX_SERVICE_NAME} lowercase letters, digits or '-', \
             starting with a letter and not ending with '-' (for example 'pg-main')"
        )))
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_SERVICE_NAME {
        return bad("it is too long");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return bad("it must start with a lowercase letter");
    }
    if name.ends_with('-') {
        return bad("it ends with '-'");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return bad(&format!("{c:?} is not allowed"));
    }
    Ok(())
}

/// Host ports below 1024 are privileged and port 0 would mean "random", which breaks the promise
/// of a stable URL.
pub fn validate_port(port: u16) -> Result<()> {
    if port < 1024 {
        return Err(CoreError::InvalidInput(format!(
            "port {port} is not allowed: Dockhand keeps a stable, unprivileged host port; choose one in 1024–65535 \
             or leave out --port to take the kind's default (or the next free one)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names() {
        for n in ["pg", "postgres-15", "a", "redis7", "x1-y2"] {
            validate_service_name(n).unwrap();
        }
    }

    #[test]
    fn rejects_hostile_names_with_a_reason() {
        for n in [
            "",
            "my db",
            "pg'; drop table x; --",
            "Pg",
            "1pg",
            "pg-",
            "pg_main",
            "pg.main",
            "é",
            "../etc",
            &"a".repeat(41),
        ] {
            let err = validate_service_name(n).unwrap_err().to_string();
            assert!(err.contains("not valid"), "{n:?}: {err}");
            assert!(err.contains("lowercase letters"), "{n:?}: {err}");
        }
    }

    #[test]
    fn rejects_privileged_and_zero_ports() {
        assert!(validate_port(0).is_err());
        assert!(validate_port(80).is_err());
        validate_port(5432).unwrap();
        validate_port(65535).unwrap();
    }
}
