//! The variables a project's processes get: `DATABASE_URL`, `REDIS_URL`, `MONGODB_URI`, `PG*`,
//! `MYSQL_*`; for the host (127.0.0.1 and the published port) or for containers (the service's
//! name on the `dockhand` network and the server's own port). And the merge into a `.env` file
//! that leaves every other line alone.

use crate::catalog::Kind;
pub use crate::drivers::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Processes on this machine: 127.0.0.1 and the published host port.
    Host,
    /// Containers on the `dockhand` Docker network: the service name and the server's port.
    Container,
    /// Containers under Docker Desktop, through `host.docker.internal` and the host port.
    DockerDesktop,
}

impl Audience {
    pub fn parse(s: &str) -> Option<Audience> {
        match s {
            "host" => Some(Audience::Host),
            "container" => Some(Audience::Container),
            "docker-desktop" => Some(Audience::DockerDesktop),
            _ => None,
        }
    }
}

pub fn url(c: &Connection<'_>) -> String {
    c.kind.driver().url(c)
}

/// The variable holding each connection's URL, in order: `DATABASE_URL` goes to the connection
/// whose kind ranks best for it (PostgreSQL, else MariaDB/MySQL); the others keep their own
/// (`MYSQL_URL`, `REDIS_URL`, `MONGODB_URI`). The one place this rule is written.
pub fn url_variable_names(kinds: &[Kind]) -> Vec<&'static str> {
    let best = kinds
        .iter()
        .filter_map(|k| k.driver().url_variable().database_url_rank)
        .min();
    let mut given = false;
    kinds
        .iter()
        .map(|k| {
            let v = k.driver().url_variable();
            if !given && v.database_url_rank.is_some() && v.database_url_rank == best {
                given = true;
                "DATABASE_URL"
            } else {
                v.own
            }
        })
        .collect()
}

/// All variables for a project's connections: each one's URL (see [`url_variable_names`]) and
/// its kind's own variables.
pub fn variables(conns: &[Connection<'_>]) -> Vec<(String, String)> {
    let kinds: Vec<Kind> = conns.iter().map(|c| c.kind).collect();
    let mut out = Vec::new();
    for (c, name) in conns.iter().zip(url_variable_names(&kinds)) {
        out.push((name.to_string(), url(c)));
        for (k, v) in c.kind.driver().extra_variables(c) {
            out.push((k.to_string(), v));
        }
    }
    out
}

/// `KEY=value`, quoted only when the value needs it (unquoted values also suit `docker --env-file`).
pub fn dotenv_line(k: &str, v: &str) -> String {
    let plain = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-./:@?=&%+,".contains(c));
    if plain {
        format!("{k}={v}")
    } else {
        format!(
            "{k}=\"{}\"",
            v.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        )
    }
}

/// Merges `vars` into the text of a dotenv file: lines setting one of `vars` are replaced in
/// place, the others (comments, blank lines, other keys, `export` forms) are kept as they are,
/// and new keys are appended.
pub fn merge_dotenv(existing: &str, vars: &[(String, String)]) -> String {
    let mut done = std::collections::HashSet::new();
    let mut lines = Vec::new();
    for line in existing.lines() {
        let t = line.trim_start();
        let t = t.strip_prefix("export ").unwrap_or(t);
        let key = t.split_once('=').map(|(k, _)| k.trim());
        match key.and_then(|k| vars.iter().find(|(vk, _)| vk == k)) {
            Some((k, v)) if !t.starts_with('#') => {
                if done.insert(k.clone()) {
                    lines.push(dotenv_line(k, v));
                }
            }
            _ => lines.push(line.to_string()),
        }
    }
    let missing: Vec<&(String, String)> = vars.iter().filter(|(k, _)| !done.contains(k)).collect();
    if !missing.is_empty() {
        if lines.last().is_some_and(|l| !l.trim().is_empty()) {
            lines.push(String::new());
        }
        lines.push("# Added by dockhand (`dockhand env --write`)".into());
        for (k, v) in missing {
            lines.push(dotenv_line(k, v));
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg() -> Connection<'static> {
        Connection {
            kind: Kind::Postgres,
            host: "127.0.0.1",
            port: 5433,
            database: "shop",
            user: "shop",
            password: "p@ss/word",
        }
    }

    #[test]
    fn postgres_variables_are_complete_and_encoded() {
        let v = variables(&[pg()]);
        let get = |k: &str| {
            v.iter()
                .find(|(a, _)| a == k)
                .map(|(_, b)| b.as_str())
                .unwrap()
        };
        assert_eq!(
            get("DATABASE_URL"),
            "postgres://shop:p%40ss%2Fword@127.0.0.1:5433/shop"
        );
        assert_eq!(get("PGPASSWORD"), "p@ss/word");
        assert_eq!(get("PGPORT"), "5433");
    }

    #[test]
    fn database_url_prefers_postgres_and_others_get_their_own() {
        let my = Connection {
            kind: Kind::Mariadb,
            host: "maria",
            port: 3306,
            database: "shop",
            user: "shop",
            password: "x",
        };
        let r = Connection {
            kind: Kind::Redis,
            host: "cache",
            port: 6379,
            database: "shop",
            user: "shop",
            password: "x",
        };
        let m = Connection {
            kind: Kind::Mongo,
            host: "mongo",
            port: 27017,
            database: "shop",
            user: "shop",
            password: "x",
        };
        let v = variables(&[my, pg(), r, m]);
        let keys: Vec<&str> = v.iter().map(|(k, _)| k.as_str()).collect();
        assert!(keys.contains(&"MYSQL_URL") && keys.contains(&"DATABASE_URL"));
        assert_eq!(v.iter().filter(|(k, _)| k == "DATABASE_URL").count(), 1);
        let get = |k: &str| {
            v.iter()
                .find(|(a, _)| a == k)
                .map(|(_, b)| b.clone())
                .unwrap()
        };
        assert_eq!(get("REDIS_URL"), "redis://shop:x@cache:6379/0");
        assert_eq!(get("REDIS_KEY_PREFIX"), "shop:");
        assert_eq!(
            get("MONGODB_URI"),
            "mongodb://shop:x@mongo:27017/shop?authSource=shop"
        );
        assert!(get("DATABASE_URL").starts_with("postgres://"));
    }

    #[test]
    fn merge_replaces_ours_and_keeps_everything_else() {
        let before = "# my app\nSECRET_KEY=abc\nexport DATABASE_URL=old\n\nPORT=3000\n";
        let vars = vec![
            (
                "DATABASE_URL".to_string(),
                "postgres://a:b@127.0.0.1:5432/shop".to_string(),
            ),
            ("PGPASSWORD".to_string(), "has space".to_string()),
        ];
        let after = merge_dotenv(before, &vars);
        assert_eq!(
            after,
            "# my app\nSECRET_KEY=abc\nDATABASE_URL=postgres://a:b@127.0.0.1:5432/shop\n\nPORT=3000\n\n# Added by dockhand (`dockhand env --write`)\nPGPASSWORD=\"has space\"\n"
        );
        // Idempotent: merging again changes nothing.
        assert_eq!(merge_dotenv(&after, &vars), after);
    }
}
