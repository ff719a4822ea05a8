//! Connection URLs, with user and password percent-encoded so any character survives.

use crate::catalog::Kind;

/// The admin URL of a service, as clients of each kind expect it.
pub fn admin_url(kind: Kind, host: &str, port: u16, password: &str) -> String {
    kind.driver().admin_url(host, port, password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_each_kinds_url() {
        assert_eq!(
            admin_url(Kind::Postgres, "127.0.0.1", 5432, "pw"),
            "postgresql://postgres:pw@127.0.0.1:5432/postgres"
        );
        assert_eq!(
            admin_url(Kind::Redis, "127.0.0.1", 6380, "pw"),
            "redis://default:pw@127.0.0.1:6380/0"
        );
        assert_eq!(
            admin_url(Kind::Mariadb, "127.0.0.1", 3306, "pw"),
            "mysql://root:pw@127.0.0.1:3306/"
        );
        assert_eq!(
            admin_url(Kind::Mongo, "127.0.0.1", 27017, "pw"),
            "mongodb://root:pw@127.0.0.1:27017/?authSource=admin"
        );
    }

    #[test]
    fn encodes_reserved_characters_in_passwords() {
        let u = admin_url(Kind::Postgres, "127.0.0.1", 5432, "p@ss:w/rd?#%é");
        assert_eq!(
            u,
            "postgresql://postgres:p%40ss%3Aw%2Frd%3F%23%25%C3%A9@127.0.0.1:5432/postgres"
        );
    }
}
