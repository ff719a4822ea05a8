//! Real client libraries read Dockhand's variables as an app would: each program under
//! tests/clients/ is run by `dockhand run -p <project> -- <program>`, so it finds the URL in its
//! environment exactly as Dockhand hands it out, writes a row (or key) and reads it back. The test
//! then checks from outside, as the project's user with psql, mariadb and redis-cli, that the data
//! landed in THAT project's database, and that the other project on the same servers cannot read
//! it. Each program also tries the URL under other schemes (`postgres://` vs `postgresql://`, …);
//! what each library takes is asserted here and written in docs/manual.md's "Client libraries" table.
//!
//! The libraries come from `bash tests/clients/setup.sh` (Python venv and npm folder, pinned and
//! cached; scripts/setup-machine.sh runs it) and Debian packages (JDK, the PostgreSQL and MariaDB
//! JDBC drivers, Go with pgx v4, Ruby with ActiveRecord and pg). A missing one fails the test
//! with what to install: a missing client must never pass as if it had been tested.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

/// Installing a missing client takes minutes; running one, seconds (a cold Go build ~1 min).
const PROGRAM_LIMIT: Duration = Duration::from_secs(300);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn clients_dir() -> PathBuf {
    repo().join("tests/clients")
}

/// Where tests/clients/setup.sh installed the Python and npm packages, once checked to be the
/// install of the pinned files as they are now; and every other client checked to be there.
pub(crate) fn installed() -> PathBuf {
    let src = clients_dir();
    let link = src.join(".installed");
    let mut missing = Vec::new();
    let hash = sh(&format!(
        "cd '{}' && cat requirements.txt package.json package-lock.json | sha256sum | cut -c1-16",
        src.display()
    ))
    .stdout
    .trim()
    .to_string();
    let stamp = std::fs::read_to_string(link.join(".complete")).unwrap_or_default();
    if stamp.trim() != hash {
        missing.push(format!(
            "the Python and npm client libraries of tests/clients (pinned files hash {hash}; \
             installed: {:?}): run `bash tests/clients/setup.sh`",
            stamp.trim()
        ));
    }
    for (what, check, how) in [
        ("a JDK", "javac -version", "openjdk-17-jdk-headless"),
        (
            "PostgreSQL JDBC",
            "test -f /usr/share/java/postgresql.jar",
            "libpostgresql-jdbc-java",
        ),
        (
            "MariaDB Connector/J",
            "test -f /usr/share/java/mariadb-java-client.jar",
            "libmariadb-java",
        ),
        (
            "mysqlclient (MySQLdb) with SQLAlchemy for Debian's python3",
            "/usr/bin/python3 -c 'import MySQLdb, sqlalchemy'",
            "python3-mysqldb python3-sqlalchemy",
        ),
        (
            "Go with pgx v4",
            "go version && test -d /usr/share/gocode/src/github.com/jackc/pgx/v4",
            "golang-go golang-github-jackc-pgx-v4-dev",
        ),
        (
            "Ruby with ActiveRecord and pg",
            "ruby -e 'require \"active_record\"; require \"pg\"'",
            "ruby-activerecord ruby-pg",
        ),
    ] {
        if sh(check).code != 0 {
            missing.push(format!("{what}: `apt-get install {how}`"));
        }
    }
    assert!(
        missing.is_empty(),
        "client libraries missing, so they cannot be tested (scripts/setup-machine.sh installs \
         them all):\n  - {}",
        missing.join("\n  - ")
    );
    link
}

/// What one program printed: the schemes it tried and the token it read back.
struct Outcome {
    schemes: BTreeMap<String, String>,
    read: Option<String>,
    all: String,
}

/// Runs `program` under `dockhand run -p project` in tests/clients/<dir>, with `extra` in the
/// environment of `dockhand` (and so of the program: `run` adds the project's variables to it).
fn run_client(
    env: &Env,
    project: &str,
    dir: &str,
    program: &[&str],
    extra: &[(&str, String)],
) -> Outcome {
    let mut args = vec!["run", "-p", project, "--"];
    args.extend_from_slice(program);
    let mut c = env.command(&args);
    c.current_dir(clients_dir().join(dir));
    for (k, v) in extra {
        c.env(k, v);
    }
    let r = run_limited(c, PROGRAM_LIMIT);
    assert_eq!(
        r.code,
        0,
        "dockhand run -p {project} -- {program:?} failed:\n{}",
        r.all()
    );
    let mut schemes = BTreeMap::new();
    let mut read = None;
    for line in r.stdout.lines() {
        if let Some(rest) = line.strip_prefix("SCHEME ") {
            let (scheme, verdict) = rest.split_once(' ').unwrap_or((rest, ""));
            schemes.insert(scheme.to_string(), verdict.to_string());
        } else if let Some(t) = line.strip_prefix("READ ") {
            read = Some(t.trim().to_string());
        }
    }
    Outcome {
        schemes,
        read,
        all: r.all(),
    }
}

/// Asserts which schemes a library took (`ok`) and refused, and returns a table row for the log.
fn assert_schemes(client: &str, o: &Outcome, takes: &[&str], refuses: &[&str]) -> String {
    for s in takes {
        let v = o.schemes.get(*s).map(String::as_str).unwrap_or("not tried");
        assert!(
            v.starts_with("ok"),
            "{client} should take {s}://: {v}\n{}",
            o.all
        );
    }
    for s in refuses {
        let v = o.schemes.get(*s).map(String::as_str).unwrap_or("not tried");
        assert!(
            v.starts_with("fail"),
            "{client} took {s}:// (the README says it does not): {v}\n{}",
            o.all
        );
    }
    format!(
        "{client}: {}",
        o.schemes
            .iter()
            .map(|(s, v)| format!("{s}={}", v.split(' ').next().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(" ")
    )
}

fn token(client: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{client}-{nanos:x}")
}

/// The row a client wrote, read back as the owning project's user with the server's own client.
fn row_of(kind: &str, url: &str, client: &str) -> String {
    client_run_ok(
        kind,
        url,
        &format!("SELECT token FROM client_rows WHERE client = '{client}'"),
    )
}

fn client_run_ok(kind: &str, url: &str, statement: &str) -> String {
    common::client(kind, url, statement)
}

/// `other` (a project's URL) cannot read `owner`'s database: the server says no.
fn cannot_read(kind: &str, other_url: &str, owner_db: &str) {
    let statement = match kind {
        "postgres" => "SELECT token FROM client_rows".to_string(),
        _ => format!("SELECT token FROM `{owner_db}`.client_rows"),
    };
    // psql connects to the owner's database with the other project's credentials; mariadb
    // names the owner's database in the statement.
    let url = match kind {
        "postgres" => format!("{}/{owner_db}", other_url.rsplit_once('/').unwrap().0),
        _ => other_url.to_string(),
    };
    let r = client_run(kind, &url, &statement);
    assert_ne!(r.code, 0, "{url} read {owner_db}'s rows: {}", r.all());
    assert!(
        r.all().contains("permission denied") || r.all().contains("denied"),
        "{}",
        r.all()
    );
}

#[test]
fn real_client_libraries_read_the_variables_as_they_are_and_stay_in_their_project() {
    let clients = installed();
    let venv_python = clients.join("venv/bin/python").display().to_string();
    let node_path = clients.join("node/node_modules").display().to_string();

    let env = Env::new();
    let (pg, maria, redis) = (env.name("pg"), env.name("maria"), env.name("cache"));
    let svcs = [
        ("postgres", versions().postgres, pg.as_str()),
        (my_kind(), my_version(), maria.as_str()),
        ("redis", versions().redis, redis.as_str()),
    ];
    let a = project_dir(&env, "alpha", &svcs);
    let b = project_dir(&env, "beta", &svcs);
    // A project whose main database is MariaDB: its DATABASE_URL and JDBC_DATABASE_URL are
    // MariaDB's.
    let m = project_dir(&env, "gamma", &svcs[1..2]);
    env.ok(&["config", "set", "grace-period", "10m"]);
    for dir in [&a, &b, &m] {
        ok_in(&env, dir, &["attach"]);
    }
    let ea = env_map(&env.ok(&["env", "alpha", "--json"]));
    let eb = env_map(&env.ok(&["env", "beta", "--json"]));
    let eg = env_map(&env.ok(&["env", "gamma", "--json"]));
    assert!(eg["DATABASE_URL"].starts_with("mysql://gamma:"), "{eg:?}");
    // Each server's own Connector/J scheme (MariaDB Connector/J 3 takes only jdbc:mariadb:,
    // MySQL's only jdbc:mysql:).
    let jdbc = if my_kind() == "mysql" {
        "jdbc:mysql"
    } else {
        "jdbc:mariadb"
    };
    assert!(
        eg["JDBC_DATABASE_URL"].starts_with(&format!("{jdbc}://127.0.0.1:")),
        "{eg:?}"
    );
    assert!(
        ea["JDBC_DATABASE_URL"].starts_with("jdbc:postgresql://127.0.0.1:"),
        "{ea:?}"
    );
    assert_eq!(ea["DB_NAME"], "alpha");
    assert_eq!(ea["DB_USER"], "alpha");
    assert_eq!(ea["DB_PASSWORD"], ea["PGPASSWORD"]);
    assert_eq!(ea["DB_PORT"], ea["PGPORT"]);

    let mut table = Vec::new();
    let py = |project: &str, args: &[&str]| {
        let mut p = vec![venv_python.as_str()];
        p.extend_from_slice(args);
        run_client(&env, project, "python", &p, &[])
    };

    // --- PostgreSQL (alpha's main database) ---
    for driver in ["psycopg", "psycopg2"] {
        let t = token(driver);
        let o = py("alpha", &["sqlalchemy_pg.py", driver, &t]);
        assert_eq!(o.read.as_deref(), Some(t.as_str()), "{}", o.all);
        let dialect = format!("postgresql+{driver}");
        table.push(assert_schemes(
            &format!("SQLAlchemy + {driver}"),
            &o,
            &["postgresql", &dialect],
            &["postgres"],
        ));
        assert_eq!(
            row_of(
                "postgres",
                &ea["DATABASE_URL"],
                &format!("sqlalchemy-{driver}")
            ),
            t
        );
    }
    let t = token("psycopg");
    let o = py("alpha", &["psycopg_direct.py", &t]);
    assert_eq!(o.read.as_deref(), Some(t.as_str()), "{}", o.all);
    table.push(assert_schemes(
        "psycopg 3",
        &o,
        &["postgres", "postgresql"],
        &[],
    ));
    assert_eq!(row_of("postgres", &ea["DATABASE_URL"], "psycopg"), t);

    // Django: the real check is `manage.py migrate` creating its tables in alpha's database.
    let o = run_client(
        &env,
        "alpha",
        "python/django_site",
        &[&venv_python, "manage.py", "migrate", "--no-input"],
        &[],
    );
    assert!(
        o.all.contains("Applying auth.0001_initial... OK"),
        "{}",
        o.all
    );
    let migrated = client_run_ok(
        "postgres",
        &ea["DATABASE_URL"],
        "SELECT count(*) > 0 FROM django_migrations WHERE app = 'auth'",
    );
    assert_eq!(migrated, "t");
    assert_eq!(
        client_run_ok(
            "postgres",
            &eb["DATABASE_URL"],
            "SELECT to_regclass('django_migrations') IS NULL"
        ),
        "t",
        "Django's tables went into beta's database"
    );
    let o = py(
        "alpha",
        &[
            "dj_schemes.py",
            "DATABASE_URL",
            "postgres",
            "postgresql",
            "pgsql",
        ],
    );
    table.push(assert_schemes(
        "dj-database-url",
        &o,
        &["postgres", "postgresql", "pgsql"],
        &[],
    ));

    let t = token("node-pg");
    let o = run_client(
        &env,
        "alpha",
        "node",
        &["node", "pg.js", &t],
        &[("NODE_PATH", node_path.clone())],
    );
    assert_eq!(o.read.as_deref(), Some(t.as_str()), "{}", o.all);
    table.push(assert_schemes(
        "node-postgres",
        &o,
        &["postgres", "postgresql"],
        &[],
    ));
    assert_eq!(row_of("postgres", &ea["DATABASE_URL"], "node-pg"), t);

    let t = token("jdbc");
    let o = run_client(
        &env,
        "alpha",
        "java",
        &[
            "java",
            "-cp",
            "/usr/share/java/postgresql.jar",
            "Jdbc.java",
            &t,
            "jdbc:postgresql",
            "jdbc:postgres",
        ],
        &[],
    );
    assert_eq!(o.read.as_deref(), Some(t.as_str()), "{}", o.all);
    table.push(assert_schemes(
        "PostgreSQL JDBC",
        &o,
        &["jdbc:postgresql"],
        &["jdbc:postgres"],
    ));
    assert_eq!(row_of("postgres", &ea["DATABASE_URL"], "jdbc"), t);

    // Go pgx, built offline from Debian's packages in GOPATH mode (its build cache kept beside
    // the installed clients, so only the first run compiles pgx).
    let bin = env.home.path().join("pgx_client");
    let mut go = Command::new("go");
    go.args(["build", "-o"])
        .arg(&bin)
        .arg("pgx_client.go")
        .current_dir(clients_dir().join("go"))
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOCACHE", clients.join("go-build-cache"));
    let built = run_limited(go, PROGRAM_LIMIT);
    assert_eq!(built.code, 0, "go build: {}", built.all());
    let t = token("pgx");
    let bin_s = bin.display().to_string();
    let o = run_client(&env, "alpha", "go", &[&bin_s, &t], &[]);
    assert_eq!(o.read.as_deref(), Some(t.as_str()), "{}", o.all);
    table.push(assert_schemes(
        "Go pgx v4",
        &o,
        &["postgres", "postgresql"],
        &[],
    ));
    assert_eq!(row_of("postgres", &ea["DATABASE_URL"], "pgx"), t);

    let t = token("activerecord");
    let o = run_client(
        &env,
        "alpha",
        "ruby",
        &["ruby", "active_record.rb", &t],
        &[],
    );
    assert_eq!(o.read.as_deref(), Some(t.as_str()), "{}", o.all);
    table.push(assert_schemes(
        "ActiveRecord (Rails) + pg",
        &o,
        &["postgres", "postgresql"],
        &[],
    ));
    assert_eq!(row_of("postgres", &ea["DATABASE_URL"], "activerecord"), t);

    // Every PostgreSQL row is alpha's: beta cannot read them, and has no such table.
    cannot_read("postgres", &eb["DATABASE_URL"], "alpha");
    assert_eq!(
        client_run_ok(
            "postgres",
            &eb["DATABASE_URL"],
            "SELECT to_regclass('client_rows') IS NULL"
        ),
        "t"
    );

    // --- MariaDB: alpha's MYSQL_URL, gamma's DATABASE_URL ---
    let t = token("pymysql");
    let o = py("alpha", &["pymysql_sqlalchemy.py", "MYSQL_URL", &t]);
    assert_eq!(o.read.as_deref(), Some(t.as_str()), "{}", o.all);
    // SQLAlchemy's mariadb dialect checks the server: on MySQL it refuses ("is not a MariaDB
    // variant").
    let (takes, refuses): (&[&str], &[&str]) = if my_kind() == "mysql" {
        (&["mysql+pymysql"], &["mysql", "mariadb", "mariadb+pymysql"])
    } else {
        (&["mysql+pymysql", "mariadb+pymysql"], &["mysql", "mariadb"])
    };
    table.push(assert_schemes("SQLAlchemy + PyMySQL", &o, takes, refuses));
    assert_eq!(row_of("mariadb", &ea["MYSQL_URL"], "pymysql"), t);
    // mysqlclient, the C driver behind SQLAlchemy's plain mysql:// and Django's MySQL backend
    // (Debian's build, on MariaDB Connector/C; caching_sha2_password on MySQL).
    let t = token("mysqlclient");
    let o = run_client(
        &env,
        "alpha",
        "python",
        &[
            "/usr/bin/python3",
            "mysqlclient_sqlalchemy.py",
            "MYSQL_URL",
            &t,
        ],
        &[],
    );
    assert_eq!(o.read.as_deref(), Some(t.as_str()), "{}", o.all);
    table.push(assert_schemes(
        "SQLAlchemy + mysqlclient",
        &o,
        &["mysql", "mysql+mysqldb"],
        &[],
    ));
    assert_eq!(row_of("mariadb", &ea["MYSQL_URL"], "mysqlclient"), t);
    let t = token("mysql2");
    let o = run_client(
        &env,
        "alpha",
        "node",
        &["node", "mysql2.js", "MYSQL_URL", &t],
        &[("NODE_PATH", node_path.clone())],
    );
    assert_eq!(o.read.as_deref(), Some(t.as_str()), "{}", o.all);
    table.push(assert_schemes("mysql2", &o, &["mysql", "mariadb"], &[]));
    assert_eq!(row_of("mariadb", &ea["MYSQL_URL"], "mysql2"), t);
    cannot_read("mariadb", &eb["MYSQL_URL"], "alpha");

    // gamma: MariaDB is its main database, so DATABASE_URL and JDBC_DATABASE_URL are MariaDB's.
    let t = token("mysql2");
    let o = run_client(
        &env,
        "gamma",
        "node",
        &["node", "mysql2.js", "DATABASE_URL", &t],
        &[("NODE_PATH", node_path.clone())],
    );
    assert_eq!(o.read.as_deref(), Some(t.as_str()), "{}", o.all);
    assert_eq!(row_of("mariadb", &eg["DATABASE_URL"], "mysql2"), t);
    let t = token("jdbc");
    let o = run_client(
        &env,
        "gamma",
        "java",
        &[
            "java",
            "-cp",
            "/usr/share/java/mariadb-java-client.jar",
            "Jdbc.java",
            &t,
            "jdbc:mariadb",
            "jdbc:mysql",
        ],
        &[],
    );
    assert_eq!(o.read.as_deref(), Some(t.as_str()), "{}", o.all);
    table.push(assert_schemes(
        "MariaDB Connector/J 2.7",
        &o,
        &["jdbc:mariadb", "jdbc:mysql"],
        &[],
    ));
    assert_eq!(row_of("mariadb", &eg["DATABASE_URL"], "jdbc"), t);
    cannot_read("mariadb", &eb["MYSQL_URL"], "gamma");
    let o = py(
        "gamma",
        &["dj_schemes.py", "DATABASE_URL", "mysql", "mariadb"],
    );
    table.push(assert_schemes(
        "dj-database-url (MariaDB)",
        &o,
        &["mysql"],
        &["mariadb"],
    ));

    // --- Redis: keys under the project's prefix, as its own ACL user ---
    let t = token("redis-py");
    let o = py("alpha", &["redis_py.py", &t]);
    assert_eq!(o.read.as_deref(), Some(t.as_str()), "{}", o.all);
    table.push(assert_schemes("redis-py", &o, &["redis"], &[]));
    assert_eq!(
        client_run_ok("redis", &ea["REDIS_URL"], "GET alpha:clients:redis-py"),
        t
    );
    let t = token("ioredis");
    let o = run_client(
        &env,
        "alpha",
        "node",
        &["node", "ioredis.js", &t],
        &[("NODE_PATH", node_path.clone())],
    );
    assert_eq!(o.read.as_deref(), Some(t.as_str()), "{}", o.all);
    table.push(assert_schemes("ioredis", &o, &["redis"], &[]));
    assert_eq!(
        client_run_ok("redis", &ea["REDIS_URL"], "GET alpha:clients:ioredis"),
        t
    );
    for key in ["alpha:clients:redis-py", "alpha:clients:ioredis"] {
        let r = client_run("redis", &eb["REDIS_URL"], &format!("GET {key}"));
        assert!(r.all().contains("NOPERM"), "beta read {key}: {}", r.all());
    }

    eprintln!(
        "schemes each client took (ok) or refused (fail):\n  {}",
        table.join("\n  ")
    );
}

/// A project renames and leaves out variables in its dockhand.toml: `env` (text, --json,
/// --write) and `run` hand them out that way at once, without re-attaching; a mistake is an error
/// naming the entry, and nothing is handed out.
#[test]
fn a_projects_env_table_renames_and_leaves_out_variables_everywhere() {
    let env = Env::new();
    let pg = env.name("pg");
    let dir = project_dir(&env, "shop", &[("postgres", versions().postgres, &pg)]);
    ok_in(&env, &dir, &["attach"]);
    let before = env_map(&ok_in(&env, &dir, &["env", "--json"]));
    let toml = std::fs::read_to_string(dir.join("dockhand.toml")).unwrap();
    std::fs::write(
        dir.join("dockhand.toml"),
        format!("{toml}[env]\nDATABASE_URL = \"PRIMARY_DATABASE_URL\"\nPGPASSWORD = false\n"),
    )
    .unwrap();

    let after = env_map(&ok_in(&env, &dir, &["env", "--json"]));
    assert_eq!(after["PRIMARY_DATABASE_URL"], before["DATABASE_URL"]);
    assert!(!after.contains_key("DATABASE_URL") && !after.contains_key("PGPASSWORD"));
    assert_eq!(after.len(), before.len() - 1);
    let text = ok_in(&env, &dir, &["env"]);
    assert!(
        text.contains("PRIMARY_DATABASE_URL=postgresql://"),
        "{text}"
    );
    assert!(
        !text.contains("\nDATABASE_URL=") && !text.contains("PGPASSWORD"),
        "{text}"
    );

    std::fs::write(dir.join(".env"), "DATABASE_URL=mine\n").unwrap();
    ok_in(&env, &dir, &["env", "--write", ".env"]);
    let dotenv = std::fs::read_to_string(dir.join(".env")).unwrap();
    assert!(
        dotenv.contains("DATABASE_URL=mine\n"),
        "left alone: {dotenv}"
    );
    assert!(
        dotenv.contains("PRIMARY_DATABASE_URL=postgresql://"),
        "{dotenv}"
    );
    assert!(!dotenv.contains("PGPASSWORD"), "{dotenv}");

    // `run`: the command sees the renamed variable and not the left-out ones, and psql
    // connects with it.
    let out = ok_in(
        &env,
        &dir,
        &[
            "run",
            "--",
            "sh",
            "-c",
            "echo \"db=${DATABASE_URL:-unset} pw=${PGPASSWORD:-unset}\"; psql \"$PRIMARY_DATABASE_URL\" -tAc 'SELECT current_user'",
        ],
    );
    assert!(out.contains("db=unset pw=unset"), "{out}");
    assert!(out.contains("shop"), "{out}");

    // A typo: an error naming the entry and what is valid, from env and run alike.
    std::fs::write(
        dir.join("dockhand.toml"),
        format!("{toml}[env]\nDATABSE_URL = false\n"),
    )
    .unwrap();
    for args in [&["env"][..], &["run", "--", "true"][..]] {
        let r = in_dir(&env, &dir, args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.all());
        assert!(
            r.stderr
                .contains("[env] DATABSE_URL is not a variable Dockhand sets")
                && r.stderr.contains("did you mean DATABASE_URL?")
                && r.stderr
                    .contains("`dockhand env` prints the variables it sets"),
            "{}",
            r.stderr
        );
    }
}
