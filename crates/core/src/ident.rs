//! Project names, and the database and user identifiers derived from them. A project name is
//! what the user types; what reaches a server is a derived identifier that is plain ASCII,
//! bounded, never a reserved name, and still quoted at every use (defence in depth).

use sha2::{Digest, Sha256};

use crate::error::{CoreError, Result};

pub const MAX_PROJECT_NAME: usize = 64;
/// MySQL caps user names at 32 characters; the same bound keeps every kind's names alike.
pub const MAX_IDENT: usize = 32;

/// Names a derived identifier must never take: system databases and roles of the servers.
const RESERVED: &[&str] = &[
    "postgres",
    "template0",
    "template1",
    "public",
    "pg_catalog",
    "information_schema",
    "mysql",
    "sys",
    "performance_schema",
    "root",
    "admin",
    "local",
    "config",
    "default",
    "user",
    "select",
    "table",
    "database",
    "all",
    "none",
    "mariadb",
    "test",
];

/// Project names: 1–64 characters from letters, digits, `.`, `_`, `-`, starting with a letter or
/// digit. They appear in commands, files and menus, so quotes, spaces, slashes and control
/// characters are refused outright rather than escaped everywhere.
pub fn validate_project_name(name: &str) -> Result<()> {
    let bad = |why: String| {
        Err(CoreError::InvalidInput(format!(
            "project name {name:?} is not valid ({why}); use 1–{MAX_PROJECT_NAME} letters, digits, '.', '_' or '-', \
             starting with a letter or digit (for example 'shop-api'), or pass --name"
        )))
    };
    if name.is_empty() {
        return bad("it is empty".into());
    }
    if name.chars().count() > MAX_PROJECT_NAME {
        return bad(format!("it has {} characters", name.chars().count()));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return bad("it must start with a letter or digit".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return bad(format!("{c:?} is not allowed"));
    }
    Ok(())
}

/// The database (and user) identifier for a project: lowercase ASCII letters, digits and `_`,
/// starting with a letter, at most [`MAX_IDENT`] characters, never reserved. Names that had to be
/// shortened or changed carry a short hash of the full name so different projects do not collide.
pub fn derive_identifier(project: &str) -> String {
    let mut s: String = project
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    while s.contains("__") {
        s = s.replace("__", "_");
    }
    let s = s.trim_matches('_').to_string();
    let mut s = if s.starts_with(|c: char| c.is_ascii_lowercase()) {
        s
    } else {
        format!("p_{s}")
    };
    // PostgreSQL reserves every role name beginning `pg_` ("role name \"pg_tools\" is reserved").
    // `dockhand_…` names Dockhand's own databases (restore points, branches, a restore's
    // scratch): a project's never looks like one.
    if RESERVED.contains(&s.as_str()) || s.starts_with("pg_") || s.starts_with("dockhand_") {
        s = format!("p_{s}");
    }
    if s.len() > MAX_IDENT {
        s.truncate(MAX_IDENT - 7);
        s = format!("{}_{}", s.trim_end_matches('_'), short_hash(project));
    }
    s
}

/// The identifier with a hash suffix, for when the plain one is taken by another project.
pub fn disambiguate(identifier: &str, project: &str) -> String {
    let mut base = identifier.to_string();
    base.truncate(MAX_IDENT - 7);
    format!("{}_{}", base.trim_end_matches('_'), short_hash(project))
}

fn short_hash(s: &str) -> String {
    Sha256::digest(s.as_bytes())[..3]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A PostgreSQL identifier, double-quoted.
pub fn pg_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A PostgreSQL string literal (standard_conforming_strings is on by default since 9.1).
pub fn pg_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A MySQL/MariaDB identifier, backtick-quoted.
pub fn my_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// A MySQL/MariaDB string literal.
pub fn my_literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn never_derives_a_postgres_reserved_role_name() {
        assert_eq!(derive_identifier("pg-tools"), "p_pg_tools");
        assert_eq!(derive_identifier("PG_x"), "p_pg_x");
        assert_eq!(derive_identifier("pgadmin"), "pgadmin");
    }

    /// A project called like one of Dockhand's own databases (a restore point's copy, a
    /// branch's database) gets a name of its own: it can never claim one.
    #[test]
    fn never_derives_a_name_of_dockhands_own_databases() {
        assert_eq!(derive_identifier("dockhand_rp_abc"), "p_dockhand_rp_abc");
        assert_eq!(derive_identifier("Dockhand-br-1"), "p_dockhand_br_1");
        assert_eq!(derive_identifier("dockhand"), "dockhand");
    }

    #[test]
    fn derives_readable_identifiers() {
        assert_eq!(derive_identifier("shop"), "shop");
        assert_eq!(derive_identifier("Shop-API"), "shop_api");
        assert_eq!(derive_identifier("my.app"), "my_app");
        assert_eq!(derive_identifier("42things"), "p_42things");
        assert_eq!(derive_identifier("postgres"), "p_postgres");
        assert_eq!(derive_identifier("Select"), "p_select");
    }

    #[test]
    fn long_names_are_cut_with_a_hash_so_they_stay_distinct() {
        let a = derive_identifier(&format!("{}-one", "x".repeat(40)));
        let b = derive_identifier(&format!("{}-two", "x".repeat(40)));
        assert!(a.len() <= MAX_IDENT && b.len() <= MAX_IDENT);
        assert_ne!(a, b);
        assert_ne!(
            disambiguate("my_app", "my-app"),
            disambiguate("my_app", "my_app")
        );
    }

    #[test]
    fn hostile_project_names_are_refused() {
        for n in [
            "",
            "a b",
            "x';DROP DATABASE y;--",
            "a\"b",
            "a`b",
            "../up",
            "naïve",
            "tab\there",
            "-lead",
            &"a".repeat(65),
        ] {
            assert!(validate_project_name(n).is_err(), "{n:?} accepted");
        }
        for n in ["shop", "Shop-API", "my.app", "a", "42", &"a".repeat(64)] {
            validate_project_name(n).unwrap();
        }
    }

    /// Property: for any string at all, the derived identifier is a safe, bounded, non-reserved
    /// plain identifier, and quoting round-trips through the quote rules of each server.
    #[test]
    fn property_identifiers_and_quoting_are_safe_for_any_input() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0xD0C4);
        let alphabet: Vec<char> = "aZ09_-. '\";`\\/\0\n\té€😀$%(){}[]*".chars().collect();
        let cases = 20_000;
        for _ in 0..cases {
            let len = rng.random_range(0..=200);
            let s: String = (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect();
            let id = derive_identifier(&s);
            assert!(!id.is_empty() && id.len() <= MAX_IDENT, "{s:?} -> {id:?}");
            assert!(
                id.starts_with(|c: char| c.is_ascii_lowercase()),
                "{s:?} -> {id:?}"
            );
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{s:?} -> {id:?}"
            );
            assert!(!RESERVED.contains(&id.as_str()), "{s:?} -> {id:?}");
            // Quoted forms: the only quote characters inside are doubled/escaped ones.
            let q = pg_ident(&s);
            assert_eq!(q[1..q.len() - 1].replace("\"\"", ""), s.replace('"', ""));
            let l = my_literal(&s);
            let inner = &l[1..l.len() - 1];
            assert!(
                !inner.replace("\\\\", "").replace("\\'", "").contains('\''),
                "{s:?}"
            );
            if validate_project_name(&s).is_ok() {
                assert!(s
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)));
            }
        }
    }
}
