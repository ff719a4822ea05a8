//! The variables a project's processes get: `DATABASE_URL`, `REDIS_URL`, `MONGODB_URI`, `PG*`,
//! `MYSQL_*`, and for the main database `DB_*` and `JDBC_DATABASE_*`; for the host (127.0.0.1 and
//! the published port) or for containers (the service's name on the `dockhand` network and the
//! server's own port). A project's `[env]` table renames or leaves out any of them
//! ([`EnvMapping`]). And the merge into a `.env` file that leaves every other line alone.

use std::collections::BTreeMap;

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
/// its kind's own variables; the connection that gets `DATABASE_URL` also gets
/// [`main_database_variables`]. Before any `[env]` mapping ([`EnvMapping::apply`]).
pub fn variables(conns: &[Connection<'_>]) -> Vec<(String, String)> {
    let kinds: Vec<Kind> = conns.iter().map(|c| c.kind).collect();
    let mut out = Vec::new();
    for (c, name) in conns.iter().zip(url_variable_names(&kinds)) {
        out.push((name.to_string(), url(c)));
        for (k, v) in c.kind.driver().extra_variables(c) {
            out.push((k.to_string(), v));
        }
        if name == "DATABASE_URL" {
            for (k, v) in main_database_variables(c) {
                out.push((k.to_string(), v));
            }
        }
    }
    out
}

/// The main database's variables in two conventions apps already read: seed 001's `DB_*` set
/// (frameworks configured by host/port/user/password/name), and Heroku's `JDBC_DATABASE_*` (what
/// JVM buildpacks hand to Spring's `spring.datasource.url`/`username`/`password`) for kinds a
/// JDBC driver reaches. The JDBC URL carries no password (Heroku's also puts the credentials in
/// its query): it is in `JDBC_DATABASE_PASSWORD` only, as the user is in `…_USERNAME`.
pub fn main_database_variables(c: &Connection<'_>) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("DB_HOST", c.host.to_string()),
        ("DB_PORT", c.port.to_string()),
        ("DB_USER", c.user.to_string()),
        ("DB_PASSWORD", c.password.to_string()),
        ("DB_NAME", c.database.to_string()),
    ];
    if let Some(jdbc) = c.kind.driver().jdbc_url(c) {
        out.push(("JDBC_DATABASE_URL", jdbc));
        out.push(("JDBC_DATABASE_USERNAME", c.user.to_string()));
        out.push(("JDBC_DATABASE_PASSWORD", c.password.to_string()));
    }
    out
}

/// Every variable name Dockhand can set, whatever the project's kinds: what an `[env]` table may
/// name. Asked of the drivers (with a placeholder connection), so a new kind's names are here.
pub fn known_names() -> Vec<&'static str> {
    let mut names = vec!["DATABASE_URL"];
    for kind in Kind::ALL {
        let c = Connection {
            kind,
            host: "h",
            port: 1,
            database: "d",
            user: "u",
            password: "p",
        };
        let d = kind.driver();
        names.push(d.url_variable().own);
        names.extend(d.extra_variables(&c).into_iter().map(|(k, _)| k));
        if d.url_variable().database_url_rank.is_some() {
            names.extend(main_database_variables(&c).into_iter().map(|(k, _)| k));
        }
    }
    names.sort_unstable();
    names.dedup();
    names
}

/// A project's choices for its variables, from the `[env]` table of its `dockhand.toml`:
///
/// ```toml
/// [env]
/// DATABASE_URL = "PRIMARY_DATABASE_URL"   # rename
/// PGPASSWORD = false                      # leave it out
/// ```
///
/// Checked when read ([`EnvMapping::from_table`]), so every mapping in use names only variables
/// Dockhand sets, and no two variables end up under one name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvMapping {
    /// Dockhand's name → the name to use, or `None` to leave the variable out.
    choices: BTreeMap<String, Option<String>>,
}

impl EnvMapping {
    /// Reads an `[env]` table. Errors say which entry is wrong and what is valid; `origin`
    /// (the file) starts them.
    pub fn from_table(table: &toml::Table) -> std::result::Result<EnvMapping, String> {
        let known = known_names();
        let mut choices = BTreeMap::new();
        for (name, value) in table {
            if !known.contains(&name.as_str()) {
                // A likely typo gets its fix alone; otherwise the whole list helps.
                return Err(match crate::suggest::closest(name, known.iter().copied()) {
                    Some(k) => format!(
                        "[env] {name} is not a variable Dockhand sets; did you mean {k}? \
                         (`dockhand env` prints the variables it sets)"
                    ),
                    None => format!(
                        "[env] {name} is not a variable Dockhand sets; it sets {}",
                        known.join(", ")
                    ),
                });
            }
            let choice = match value {
                toml::Value::String(to) if to == name => continue,
                toml::Value::String(to) => {
                    if !is_variable_name(to) {
                        return Err(format!(
                            "[env] {name} = {to:?}: a variable name is letters, digits and _, \
                             not starting with a digit (e.g. \"PRIMARY_{name}\")"
                        ));
                    }
                    Some(to.clone())
                }
                toml::Value::Boolean(false) => None,
                toml::Value::Boolean(true) => continue,
                other => {
                    return Err(format!(
                    "[env] {name} = {other}: write a new name in quotes (rename), false (leave it \
                         out) or true (keep it)"
                ))
                }
            };
            choices.insert(name.clone(), choice);
        }
        let mut targets: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, to) in &choices {
            let Some(to) = to else { continue };
            if known.contains(&to.as_str()) && !choices.contains_key(to) {
                return Err(format!(
                    "[env] {name} = {to:?}: {to} is already one of Dockhand's variables; choose \
                     another name, or rename or leave out {to} too"
                ));
            }
            if let Some(first) = targets.insert(to, name) {
                return Err(format!(
                    "[env] {first} and {name} are both renamed to {to}; give each its own name"
                ));
            }
        }
        Ok(EnvMapping { choices })
    }

    /// The name a variable goes out under, or `None` when the project left it out.
    pub fn name_of<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        match self.choices.get(name) {
            Some(choice) => choice.as_deref(),
            None => Some(name),
        }
    }

    /// The project's variables as it wants them: renamed, the left-out ones gone, order kept.
    pub fn apply(&self, vars: Vec<(String, String)>) -> Vec<(String, String)> {
        vars.into_iter()
            .filter_map(|(k, v)| self.name_of(&k).map(|n| (n.to_string(), v)))
            .collect()
    }

    pub fn is_default(&self) -> bool {
        self.choices.is_empty()
    }
}

/// What a shell accepts as an environment variable's name (POSIX: letters, digits, `_`).
fn is_variable_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
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
            "postgresql://shop:p%40ss%2Fword@127.0.0.1:5433/shop"
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
        assert!(get("DATABASE_URL").starts_with("postgresql://"));
    }

    fn maria() -> Connection<'static> {
        Connection {
            kind: Kind::Mariadb,
            host: "127.0.0.1",
            port: 3307,
            database: "shop",
            user: "shop",
            password: "x/y",
        }
    }

    fn get(v: &[(String, String)], k: &str) -> Option<String> {
        v.iter().find(|(a, _)| a == k).map(|(_, b)| b.clone())
    }

    #[test]
    fn the_main_database_gets_db_and_jdbc_variables() {
        let v = variables(&[pg()]);
        for (k, want) in [
            ("DB_HOST", "127.0.0.1"),
            ("DB_PORT", "5433"),
            ("DB_USER", "shop"),
            ("DB_PASSWORD", "p@ss/word"),
            ("DB_NAME", "shop"),
            ("JDBC_DATABASE_URL", "jdbc:postgresql://127.0.0.1:5433/shop"),
            ("JDBC_DATABASE_USERNAME", "shop"),
            ("JDBC_DATABASE_PASSWORD", "p@ss/word"),
        ] {
            assert_eq!(get(&v, k).as_deref(), Some(want), "{k}");
        }
        // MariaDB alone is the main database, with MariaDB Connector/J's scheme; MySQL gets its
        // own Connector/J's.
        let v = variables(&[maria()]);
        assert_eq!(
            get(&v, "DATABASE_URL").unwrap(),
            "mysql://shop:x%2Fy@127.0.0.1:3307/shop"
        );
        assert_eq!(
            get(&v, "JDBC_DATABASE_URL").unwrap(),
            "jdbc:mariadb://127.0.0.1:3307/shop"
        );
        assert_eq!(get(&v, "DB_PASSWORD").unwrap(), "x/y");
        let my = Connection {
            kind: Kind::Mysql,
            ..maria()
        };
        assert_eq!(
            get(&variables(&[my]), "JDBC_DATABASE_URL").unwrap(),
            "jdbc:mysql://127.0.0.1:3307/shop?allowPublicKeyRetrieval=true"
        );
    }

    #[test]
    fn only_the_main_database_gets_them_and_nothing_else_changes() {
        // PostgreSQL is main: the DB_* set is its, MariaDB keeps MYSQL_URL and MYSQL_* only.
        let v = variables(&[maria(), pg()]);
        assert_eq!(get(&v, "DB_PORT").as_deref(), Some("5433"));
        assert_eq!(v.iter().filter(|(k, _)| k == "DB_HOST").count(), 1);
        assert_eq!(
            v.iter().filter(|(k, _)| k == "JDBC_DATABASE_URL").count(),
            1
        );
        assert_eq!(get(&v, "MYSQL_PORT").as_deref(), Some("3307"));
        // Redis alone has no main database: no DB_* at all.
        let r = Connection {
            kind: Kind::Redis,
            ..pg()
        };
        let v = variables(&[r]);
        let keys: Vec<&str> = v.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["REDIS_URL", "REDIS_KEY_PREFIX"]);
        // Every variable of before is there with its value, in its order, before the new ones.
        let keys: Vec<String> = variables(&[pg()]).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys[..6],
            [
                "DATABASE_URL",
                "PGHOST",
                "PGPORT",
                "PGUSER",
                "PGPASSWORD",
                "PGDATABASE"
            ]
        );
    }

    #[test]
    fn known_names_cover_every_kind() {
        let k = known_names();
        for n in [
            "DATABASE_URL",
            "MYSQL_URL",
            "REDIS_URL",
            "MONGODB_URI",
            "PGPASSWORD",
            "MYSQL_USER",
            "REDIS_KEY_PREFIX",
            "DB_NAME",
            "JDBC_DATABASE_PASSWORD",
        ] {
            assert!(k.contains(&n), "{n}");
        }
    }

    fn mapping(text: &str) -> std::result::Result<EnvMapping, String> {
        EnvMapping::from_table(&text.parse::<toml::Table>().unwrap())
    }

    #[test]
    fn a_mapping_renames_and_leaves_out() {
        let m = mapping(
            "DATABASE_URL = \"PRIMARY_DATABASE_URL\"\nPGPASSWORD = false\nPGHOST = true\nPGPORT = \"PGPORT\"",
        )
        .unwrap();
        let v = m.apply(variables(&[pg()]));
        assert_eq!(
            get(&v, "PRIMARY_DATABASE_URL").as_deref(),
            Some("postgresql://shop:p%40ss%2Fword@127.0.0.1:5433/shop")
        );
        assert_eq!(get(&v, "DATABASE_URL"), None);
        assert_eq!(get(&v, "PGPASSWORD"), None);
        assert_eq!(get(&v, "PGHOST").as_deref(), Some("127.0.0.1"));
        assert_eq!(get(&v, "PGPORT").as_deref(), Some("5433"));
        // The renamed variable keeps its place.
        assert_eq!(v[0].0, "PRIMARY_DATABASE_URL");
        assert_eq!(v.len(), variables(&[pg()]).len() - 1);
        assert_eq!(m.name_of("DATABASE_URL"), Some("PRIMARY_DATABASE_URL"));
        assert_eq!(m.name_of("PGPASSWORD"), None);
        assert_eq!(m.name_of("REDIS_URL"), Some("REDIS_URL"));
        assert!(mapping("").unwrap().is_default());
    }

    #[test]
    fn a_name_freed_by_its_own_rename_can_be_taken() {
        // DATABASE_URL is left out, so MYSQL_URL may take its name.
        let m = mapping("DATABASE_URL = false\nMYSQL_URL = \"DATABASE_URL\"").unwrap();
        let v = m.apply(variables(&[maria(), pg()]));
        assert!(get(&v, "DATABASE_URL").unwrap().starts_with("mysql://"));
        assert_eq!(v.iter().filter(|(k, _)| k == "DATABASE_URL").count(), 1);
        // A swap is two renames onto freed names.
        let m = mapping("PGUSER = \"PGDATABASE\"\nPGDATABASE = \"PGUSER\"").unwrap();
        assert_eq!(m.name_of("PGUSER"), Some("PGDATABASE"));
    }

    #[test]
    fn mistakes_in_a_mapping_say_what_is_wrong_and_what_is_valid() {
        for (text, want) in [
            (
                "DATABSE_URL = \"X\"",
                "[env] DATABSE_URL is not a variable Dockhand sets; did you mean DATABASE_URL? (`dockhand env`",
            ),
            (
                "APP_SECRET = \"X\"",
                "[env] APP_SECRET is not a variable Dockhand sets; it sets DATABASE_URL, DB_HOST,",
            ),
            ("database_url = false", "did you mean DATABASE_URL?"),
            (
                "DATABASE_URL = \"PGHOST\"",
                "PGHOST is already one of Dockhand's variables; choose another name, or rename or leave out PGHOST too",
            ),
            (
                "DATABASE_URL = \"APP_DB\"\nMYSQL_URL = \"APP_DB\"",
                "DATABASE_URL and MYSQL_URL are both renamed to APP_DB",
            ),
            ("DATABASE_URL = \"1DB\"", "a variable name is letters, digits and _"),
            ("DATABASE_URL = \"MY-URL\"", "a variable name is letters"),
            ("DATABASE_URL = \"\"", "a variable name is letters"),
            ("PGPASSWORD = 0", "write a new name in quotes (rename), false"),
        ] {
            let e = mapping(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
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
