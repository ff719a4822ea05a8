//! The admin on a project's ground: every operation where Dockhand's superuser works inside a
//! project's database (import, restore, upgrade and its verification, extensions) or reads a
//! file the project wrote, attacked by a project that plants code for the admin to run.
//!
//! The attacker owns its database, its `public` schema and everything in it. It plants, as its own
//! user, code that does nothing unless the session's user is a superuser; when it is, it takes
//! the admin's rights back (`RESET ROLE`), creates a superuser role `pwned` and makes itself a
//! member of another project's role. Each route is one way the admin could be made to run it:
//! an operator `=(oid, regclass)` in `public` (a catalog query's `=` with a cast), a function
//! named like a catalog one with an exact-type match (`hashtextextended(text, integer)`), a cast
//! of its table's row type to text, CHECK constraints and a domain evaluated while rows load, an
//! index expression, a materialized view, and a search path set on its database. After each
//! operation: no role `pwned`, no membership granted, the other project's database still closed
//! to the attacker and its data intact.
//!
//! The real `dockhand` binary, real servers (tests/images), real clients.

#![cfg(unix)]

use crate::common;

use std::path::Path;

use common::*;

/// The planted code. `victim` is the role the attacker would join.
fn plant_pg(attacker_role: &str, victim_role: &str) -> String {
    format!(
        r#"
CREATE FUNCTION public.pwn() RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = session_user) THEN
    RESET ROLE;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'pwned') THEN
      EXECUTE 'CREATE ROLE pwned SUPERUSER';
    END IF;
    EXECUTE 'GRANT "{victim_role}" TO "{attacker_role}"';
  END IF;
  RETURN true;
END $f$;
CREATE FUNCTION public.pwn_int(int) RETURNS boolean LANGUAGE sql AS $f$ SELECT public.pwn() $f$;
CREATE FUNCTION public.pwn_imm(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $f$ BEGIN PERFORM public.pwn(); RETURN $1; END $f$;
-- Catalog queries: `=` between an oid and a regclass, and an exact-type hash function.
CREATE FUNCTION public.pwn_eq(oid, regclass) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN PERFORM public.pwn(); RETURN $1 = $2::oid; END $f$;
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = regclass, FUNCTION = public.pwn_eq);
CREATE FUNCTION public.hashtextextended(text, integer) RETURNS bigint LANGUAGE plpgsql AS $f$ BEGIN PERFORM public.pwn(); RETURN 0; END $f$;
-- Rows that run code while they load, and a cast of the row type.
CREATE TABLE checked (a int CHECK (public.pwn_int(a)));
INSERT INTO checked VALUES (1), (2), (3);
CREATE FUNCTION public.row_text(checked) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN PERFORM public.pwn(); RETURN 'x'; END $f$;
CREATE CAST (checked AS text) WITH FUNCTION public.row_text(checked);
CREATE DOMAIN guarded AS int CHECK (public.pwn_int(VALUE));
CREATE TABLE typed (a guarded);
INSERT INTO typed VALUES (7);
CREATE INDEX typed_expr ON typed ((public.pwn_imm(a)));
CREATE MATERIALIZED VIEW planted AS SELECT public.pwn() AS x;
"#
    )
}

/// A database's owner puts its `public` first on every session's search path, the admin's too.
const SEARCH_PATH_ON_THE_DATABASE: &str =
    "ALTER DATABASE :dbname SET search_path = public, pg_catalog;";

/// Runs a psql script (with `:dbname` set to the URL's database) as the URL's user.
fn psql_script(url: &str, script: &str) {
    let (_, db) = user_and_database(url);
    let file = std::env::temp_dir().join(format!("plant-{}-{}.sql", std::process::id(), db));
    std::fs::write(&file, script.replace(":dbname", &format!("\"{db}\""))).unwrap();
    let r = sh(&format!(
        "psql '{url}' -X -q -v ON_ERROR_STOP=1 -f '{}'",
        file.display()
    ));
    let _ = std::fs::remove_file(&file);
    assert_eq!(r.code, 0, "planting failed: {}", r.all());
}

/// What must hold after every route: the planted code never ran as the admin.
fn assert_contained(route: &str, admin: &str, attacker: &str, victim: &str) {
    let (attacker_role, _) = user_and_database(attacker);
    let (victim_role, victim_db) = user_and_database(victim);
    assert_eq!(
        client(
            "postgres",
            admin,
            "SELECT count(*) FROM pg_roles WHERE rolname = 'pwned'"
        ),
        "0",
        "{route}: the planted code created a superuser"
    );
    assert_eq!(
        client(
            "postgres",
            admin,
            &format!("SELECT pg_has_role('{attacker_role}', '{victim_role}', 'MEMBER')")
        ),
        "f",
        "{route}: the attacker was made a member of the victim's role"
    );
    let into_victim = attacker.rsplit_once('/').unwrap().0.to_string() + "/" + &victim_db;
    let r = client_run("postgres", &into_victim, "SELECT count(*) FROM secret");
    assert_ne!(
        r.code,
        0,
        "{route}: the attacker read the victim's data: {}",
        r.all()
    );
    assert_eq!(
        client("postgres", victim, "SELECT s FROM secret"),
        "victim's secret",
        "{route}: the victim lost its data"
    );
}

fn newest_backup(env: &Env, database: &str) -> String {
    let list: serde_json::Value = serde_json::from_str(&env.ok(&["backups", "--json"])).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .filter(|b| b["database"] == database)
        .map(|b| b["id"].as_i64().unwrap())
        .max()
        .unwrap()
        .to_string()
}

fn attacker_and_victim(env: &Env, service: &str) -> (String, String) {
    let attacker = attached_project(env, "attacker", &[service])["DATABASE_URL"]
        .as_str()
        .unwrap()
        .to_string();
    let victim = attached_project(env, "victim", &[service])["DATABASE_URL"]
        .as_str()
        .unwrap()
        .to_string();
    client(
        "postgres",
        &victim,
        "CREATE TABLE secret (s text); INSERT INTO secret VALUES ('victim''s secret')",
    );
    let (attacker_role, _) = user_and_database(&attacker);
    let (victim_role, _) = user_and_database(&victim);
    psql_script(
        &attacker,
        &(plant_pg(&attacker_role, &victim_role) + SEARCH_PATH_ON_THE_DATABASE),
    );
    (attacker, victim)
}

/// An admin-owned database whose backup holds another role's objects is not restored by the
/// admin (that role's code would run with the admin's rights): refused, naming them.
#[test]
fn a_database_the_admin_owns_takes_no_project_code_on_restore() {
    let env = Env::new();
    let pg = env.name("pgo");
    env.ok(&["up", pg_spec(), "--name", &pg]);
    let admin = env.url(&pg);
    let attacker = attached_project(&env, "attacker", &[&pg])["DATABASE_URL"]
        .as_str()
        .unwrap()
        .to_string();
    let (attacker_role, _) = user_and_database(&attacker);
    // A database the admin made by hand, where the admin let the attacker create objects.
    client("postgres", &admin, "CREATE DATABASE handmade");
    let handmade_admin = admin.rsplit_once('/').unwrap().0.to_string() + "/handmade";
    client(
        "postgres",
        &handmade_admin,
        &format!("GRANT CREATE ON SCHEMA public TO \"{attacker_role}\""),
    );
    client(
        "postgres",
        &admin,
        &format!("GRANT CONNECT ON DATABASE handmade TO \"{attacker_role}\""),
    );
    let handmade_attacker = attacker.rsplit_once('/').unwrap().0.to_string() + "/handmade";
    psql_script(&handmade_attacker, &plant_pg(&attacker_role, "postgres"));
    env.ok(&["backup", &pg, "--database", "handmade"]);
    let id = newest_backup(&env, "handmade");
    let r = env.run(&["restore", &id, "--into", "handmade_copy"]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(
        r.stderr.contains("objects of other roles") && r.stderr.contains(&attacker_role),
        "{}",
        r.all()
    );
    assert_eq!(
        client(
            "postgres",
            &admin,
            "SELECT count(*) FROM pg_roles WHERE rolname = 'pwned'"
        ),
        "0"
    );
    assert_eq!(
        client(
            "postgres",
            &admin,
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'dockhand%' OR datname = 'handmade_copy'"
        ),
        "0",
        "nothing is left of the refused restore"
    );
}

/// An upgrade copies every database and verifies it table by table, as the admin on both
/// servers: the planted code must run neither in the copy nor in the verification.
#[test]
fn an_upgrade_copies_and_verifies_without_running_a_projects_code_as_the_admin() {
    let env = Env::new();
    let pg = env.name("pgu");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let (attacker, victim) = attacker_and_victim(&env, &pg);
    let out = env.ok(&["upgrade", &pg, "--to", "17"]);
    assert!(out.contains("verified"), "{out}");
    let admin = env.url(&pg);
    assert!(client("postgres", &admin, "SHOW server_version").starts_with("17"));
    assert_contained("an upgrade from 15 to 17", &admin, &attacker, &victim);
    // Everything came along, owned by the project, its code working for it.
    for (table, rows) in [("checked", "3"), ("typed", "1")] {
        assert_eq!(
            client(
                "postgres",
                &attacker,
                &format!("SELECT count(*) FROM {table}")
            ),
            rows
        );
    }
    assert_eq!(
        client(
            "postgres",
            &admin,
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'dockhand%'"
        ),
        "0",
        "the copy's temporary login is gone"
    );
    env.ok(&["upgrade", "--finish", &pg, "--yes"]);
}

/// A project marks its database as a template and closes it to connections: a backup of the
/// whole server still covers it or says it cannot, and an upgrade refuses before anything
/// (it would have been missing on the new server, and `--finish` would have deleted it).
#[test]
fn a_project_cannot_hide_its_database_from_backups_or_upgrades() {
    let env = Env::new();
    let pg = env.name("pgt");
    env.ok(&["up", "postgres:15", "--name", &pg]);
    let hider = attached_project(&env, "hider", &[&pg])["DATABASE_URL"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, hider_db) = user_and_database(&hider);
    client(
        "postgres",
        &hider,
        "CREATE TABLE kept (a int); INSERT INTO kept VALUES (1)",
    );
    let admin = env.url(&pg);
    client(
        "postgres",
        &hider,
        &format!("ALTER DATABASE \"{hider_db}\" IS_TEMPLATE true"),
    );
    let out = env.ok(&["backup", &pg]);
    assert!(
        out.contains(&hider_db),
        "a template database is backed up too: {out}"
    );
    client(
        "postgres",
        &admin,
        &format!("ALTER DATABASE \"{hider_db}\" ALLOW_CONNECTIONS false"),
    );
    let r = env.run(&["backup", &pg]);
    assert_eq!(r.code, 9, "{}", r.all());
    assert!(
        r.stderr.contains(&hider_db) && r.stderr.contains("ALLOW_CONNECTIONS"),
        "{}",
        r.all()
    );
    let r = env.run(&["upgrade", &pg, "--to", "17"]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(
        r.stderr.contains(&hider_db) && r.stderr.contains("nothing was changed"),
        "{}",
        r.all()
    );
    assert!(client("postgres", &admin, "SHOW server_version").starts_with("15"));
    assert!(!container_exists(&format!("{pg}-upgrade")));
    let status = env.ok(&["upgrade", "--status", &pg]);
    assert!(!status.contains("switched"), "{status}");
}

/// An import that replaces a database, killed (-9) while its project is kept out: the next
/// Dockhand command lets the project in again, and the import runs again to the end.
#[test]
fn a_replacement_killed_while_the_project_is_kept_out_lets_it_in_again() {
    let env = Env::new();
    let pg = env.name("pgx");
    let my = env.name("myx");
    env.ok(&["up", pg_spec(), "--name", &pg]);
    env.ok(&["up", my_spec(), "--name", &my]);
    let vars = attached_project(&env, "app", &[&pg, &my]);
    let file = env.home.path().join("seed.sql");
    std::fs::write(
        &file,
        "CREATE TABLE seeded (a int);\nINSERT INTO seeded VALUES (1);\n",
    )
    .unwrap();
    for (kind, service, step) in [("postgres", &pg, "finishing"), (my_kind(), &my, "locked")] {
        let url = vars[if kind == "postgres" {
            "DATABASE_URL"
        } else {
            "MYSQL_URL"
        }]
        .as_str()
        .unwrap()
        .to_string();
        let (_, db) = user_and_database(&url);
        client(kind, &url, "CREATE TABLE kept (a int)");
        let target = format!("{service}/{db}");
        kill_at_step(
            &env,
            step,
            &[
                "import",
                &target,
                file.to_str().unwrap(),
                "--replace",
                "--yes",
            ],
        );
        // Kept out right now; any Dockhand command lets it in again.
        let r = client_run(kind, &url, "SELECT 1");
        assert_ne!(
            r.code,
            0,
            "{kind}: the project was not kept out: {}",
            r.all()
        );
        env.ok(&["status"]);
        assert_eq!(client(kind, &url, "SELECT 1"), "1", "{kind}");
        env.ok(&[
            "import",
            &target,
            file.to_str().unwrap(),
            "--replace",
            "--yes",
        ]);
        assert_eq!(
            client(kind, &url, "SELECT COUNT(*) FROM seeded"),
            "1",
            "{kind}"
        );
        assert_ne!(
            client_run(kind, &url, "SELECT 1 FROM kept").code,
            0,
            "{kind}"
        );
    }
}

/// Attaching never takes over a role, user, database or key prefix someone else made on the
/// server (through the admin URL here; an adopted server's own users alike): refused, and the
/// owner's login keeps working. A project Dockhand provisioned attaches again after a detach.
#[test]
fn attaching_never_takes_over_what_dockhand_did_not_create() {
    let env = Env::new();
    let pg = env.name("pgk");
    let my = env.name("myk");
    let rd = env.name("rdk");
    env.ok(&["up", pg_spec(), "--name", &pg]);
    env.ok(&["up", my_spec(), "--name", &my]);
    env.ok(&["up", redis_spec(), "--name", &rd]);
    let (pg_admin, my_admin, rd_admin) = (env.url(&pg), env.url(&my), env.url(&rd));
    client(
        "postgres",
        &pg_admin,
        "CREATE ROLE app LOGIN PASSWORD 'owners-pw'",
    );
    client("postgres", &pg_admin, "CREATE DATABASE app OWNER app");
    client(
        "mariadb",
        &my_admin,
        "CREATE USER 'app'@'%' IDENTIFIED BY 'owners-pw'; CREATE DATABASE app; GRANT ALL ON app.* TO 'app'@'%'",
    );
    client("redis", &rd_admin, "SET app:owned mine");
    let dir = env.home.path().join("app");
    std::fs::create_dir_all(&dir).unwrap();
    ok_in(&env, &dir, &["project", "add", "--name", "app"]);
    for service in [&pg, &my, &rd] {
        let r = in_dir(&env, &dir, &["attach", service]);
        assert_eq!(r.code, 7, "{service}: {}", r.all());
        assert!(
            r.stderr.contains("did not create") && r.stderr.contains("app"),
            "{service}: {}",
            r.all()
        );
    }
    let (_, pg_port) = password_and_port(&pg_admin);
    let (_, my_port) = password_and_port(&my_admin);
    assert_eq!(
        client(
            "postgres",
            &format!("postgres://app:owners-pw@127.0.0.1:{pg_port}/app"),
            "SELECT current_user"
        ),
        "app",
        "the role's owner still logs in"
    );
    assert_eq!(
        client(
            "mariadb",
            &format!("mysql://app:owners-pw@127.0.0.1:{my_port}/app"),
            "SELECT CURRENT_USER()"
        ),
        "app@%"
    );
    assert_eq!(client("redis", &rd_admin, "GET app:owned"), "mine");
    let r = env.run(&["env", "app", "--json"]);
    assert!(
        !r.stdout.contains("DATABASE_URL"),
        "no attachment was left: {}",
        r.all()
    );
    // What Dockhand made itself, it may take up again.
    let other = attached_project(&env, "mine", &[&pg]);
    let mine_dir = env.home.path().join("mine");
    ok_in(&env, &mine_dir, &["detach", &pg]);
    ok_in(&env, &mine_dir, &["attach", &pg]);
    let url = other["DATABASE_URL"].as_str().unwrap();
    assert_eq!(client("postgres", url, "SELECT 1"), "1");
}

/// `env --write` never follows a link the project's folder holds: not at the temporary name it
/// writes first, not at `.env` itself.
#[test]
fn env_write_follows_no_link_in_the_project_folder() {
    let env = Env::new();
    let rd = env.name("rde");
    env.ok(&["up", redis_spec(), "--name", &rd]);
    attached_project(&env, "linked", &[&rd]);
    let dir = env.home.path().join("linked");
    let precious = env.home.path().join("precious");
    std::fs::write(&precious, "mine\n").unwrap();
    // The old fixed temporary name, shipped by a repository as a link.
    std::os::unix::fs::symlink(&precious, dir.join("..env.dockhand-tmp")).unwrap();
    ok_in(&env, &dir, &["env", "--write", ".env"]);
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "mine\n");
    assert!(file_contains(&dir.join(".env"), "REDIS_URL="));
    // A .env that is a link: refused, the link and what it points to as they were.
    std::fs::remove_file(dir.join(".env")).unwrap();
    std::os::unix::fs::symlink(&precious, dir.join(".env")).unwrap();
    let r = in_dir(&env, &dir, &["env", "--write", ".env"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("is a link to"), "{}", r.all());
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "mine\n");
    assert!(Path::new(&dir.join(".env")).is_symlink());
}

/// The tests whose outcome depends on the server's version (its initialisation, isolation rules,
/// dump and restore tools, exit on kill): run on the oldest supported versions, then again on the
/// catalog's defaults — scripts/test-all.sh selects every `each_version::` test for that pass.
mod each_version {
    use super::*;

    /// Restore points, test clones (the path a branch's database takes too) and a reset of a
    /// database full of planted code, its search path put first on the database: the admin's
    /// checks (size, sessions), copies, hand-over and the reset's backup run none of it.
    #[test]
    fn copies_of_a_projects_database_never_run_its_code_as_the_admin() {
        let env = Env::new();
        let pg = env.name("pgcp");
        env.ok(&["up", pg_spec(), "--name", &pg]);
        let admin = env.url(&pg);
        let (attacker, victim) = attacker_and_victim(&env, &pg);
        env.ok(&["point", "take", "planted", "-p", "attacker"]);
        assert_contained("point take", &admin, &attacker, &victim);
        env.ok(&["run", "-p", "attacker", "--clones", "2", "--", "true"]);
        assert_contained("run --clones", &admin, &attacker, &victim);
        env.ok(&["point", "reset", "planted", "-p", "attacker", "--yes"]);
        assert_contained("point reset", &admin, &attacker, &victim);
        // The project's data came back whole, planted code and all (it is the project's).
        assert_eq!(
            client("postgres", &attacker, "SELECT count(*) FROM checked"),
            "3"
        );
        env.ok(&["destroy", &pg, "--purge", "--yes"]);
    }

    /// Imports (refused or not), restores and exports of a database full of planted code: each
    /// runs the project's code as the project, never as the admin.
    #[test]
    fn postgres_imports_and_restores_never_run_a_projects_code_as_the_admin() {
        let env = Env::new();
        let pg = env.name("pgh");
        env.ok(&["up", pg_spec(), "--name", &pg]);
        let admin = env.url(&pg);
        let (attacker, victim) = attacker_and_victim(&env, &pg);
        let (_, attacker_db) = user_and_database(&attacker);
        let work = env.home.path().join("files");
        std::fs::create_dir_all(&work).unwrap();

        // 1. An import into a database that holds something is refused — after counting its
        // objects as the admin, in the attacker's database.
        let sql = work.join("small.sql");
        std::fs::write(&sql, "CREATE TABLE imported (a int);\n").unwrap();
        let r = env.run(&["import", "attacker", sql.to_str().unwrap()]);
        assert_eq!(r.code, 2, "{}", r.all());
        assert!(r.stderr.contains("already holds"), "{}", r.all());
        assert_contained("a refused import", &admin, &attacker, &victim);

        // 2. Its own backup restored into a copy, then over itself.
        env.ok(&["backup", &pg, "--project", "attacker"]);
        let id = newest_backup(&env, &attacker_db);
        env.ok(&["restore", &id, "--into", "attacker_copy"]);
        assert_contained("a restore into a copy", &admin, &attacker, &victim);
        let copy = attacker.rsplit_once('/').unwrap().0.to_string() + "/attacker_copy";
        assert_eq!(
            client("postgres", &copy, "SELECT count(*) FROM checked"),
            "3"
        );
        env.ok(&[
            "restore",
            &id,
            "--into",
            &attacker_db,
            "--overwrite",
            "--yes",
        ]);
        assert_contained("a restore over the database", &admin, &attacker, &victim);
        assert_eq!(
            client("postgres", &attacker, "SELECT count(*) FROM typed"),
            "1"
        );

        // 3. Its export imported back, as an archive and as SQL (replacing its content).
        for name in ["attacker.dump", "attacker.sql"] {
            let file = work.join(name);
            env.ok(&["export", "attacker", file.to_str().unwrap()]);
            env.ok(&[
                "import",
                "attacker",
                file.to_str().unwrap(),
                "--replace",
                "--yes",
            ]);
            assert_contained(&format!("an import of {name}"), &admin, &attacker, &victim);
            assert_eq!(
                client("postgres", &attacker, "SELECT count(*) FROM checked"),
                "3"
            );
        }

        // 4. The server's own databases take nothing of a project's (PostgreSQL 14 and older let
        // every role create objects in `public` of `postgres` and `template1`).
        for db in ["postgres", "template1"] {
            let url = attacker.rsplit_once('/').unwrap().0.to_string() + "/" + db;
            let r = client_run("postgres", &url, "CREATE TABLE public.planted (a int)");
            assert_ne!(r.code, 0, "a project wrote into {db}: {}", r.all());
        }
    }

    /// Rows an application writes while an import streams in are never lost: without `--replace`
    /// they make the import refuse (the file was meant for an empty database); with it, they are
    /// in the backup taken just before the database is replaced.
    #[test]
    fn writes_made_while_an_import_streams_in_are_never_lost() {
        let env = Env::new();
        let pg = env.name("pgw");
        env.ok(&["up", pg_spec(), "--name", &pg]);
        let app = attached_project(&env, "app", &[&pg])["DATABASE_URL"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, app_db) = user_and_database(&app);
        let file = env.home.path().join("seed.sql");
        std::fs::write(
            &file,
            "CREATE TABLE seeded (a int);\nINSERT INTO seeded VALUES (1);\n",
        )
        .unwrap();
        for replace in [false, true] {
            client(
                "postgres",
                &app,
                "DROP TABLE IF EXISTS seeded; DROP TABLE IF EXISTS written_meanwhile",
            );
            let flag = env.home.path().join(format!("paused-{replace}"));
            let mut args = vec!["import", "app", file.to_str().unwrap()];
            if replace {
                args.extend(["--replace", "--yes"]);
            }
            let child = env
                .command(&args)
                .env(
                    "DOCKHAND_TEST_PAUSE_AT",
                    format!("restored:{}", flag.display()),
                )
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            assert!(
                wait_until(std::time::Duration::from_secs(120), || flag.exists()),
                "the import never reached its pause"
            );
            // The file is in (in a database of its own); the application writes meanwhile.
            client(
                "postgres",
                &app,
                "CREATE TABLE written_meanwhile (a int); INSERT INTO written_meanwhile VALUES (42)",
            );
            std::fs::remove_file(&flag).unwrap();
            let out = child.wait_with_output().unwrap();
            let said = String::from_utf8_lossy(&out.stderr).to_string();
            if replace {
                assert!(out.status.success(), "{said}");
                assert_eq!(client("postgres", &app, "SELECT count(*) FROM seeded"), "1");
                // The backup taken before the replacement holds what was written meanwhile.
                let id = newest_backup(&env, &app_db);
                env.ok(&["restore", &id, "--into", "check_meanwhile"]);
                let check = app.rsplit_once('/').unwrap().0.to_string() + "/check_meanwhile";
                assert_eq!(
                    client("postgres", &check, "SELECT a FROM written_meanwhile"),
                    "42"
                );
            } else {
                assert_eq!(out.status.code(), Some(2), "{said}");
                assert!(said.contains("already holds"), "{said}");
                assert_eq!(
                    client("postgres", &app, "SELECT a FROM written_meanwhile"),
                    "42",
                    "the application's table is there"
                );
                assert_ne!(
                    client_run("postgres", &app, "SELECT 1 FROM seeded").code,
                    0,
                    "nothing of the file arrived"
                );
            }
            // The project can connect again (the import kept it out only for the swap).
            assert_eq!(client("postgres", &app, "SELECT 1"), "1");
        }
    }

    /// MariaDB replaces a database by dropping it (it has no rename): its project is kept out from
    /// the database's last backup until the new content is in — its account locked, its sessions
    /// ended — and an import, which runs as that very account, is let through.
    #[test]
    fn mariadb_keeps_the_project_out_while_its_database_is_replaced() {
        let env = Env::new();
        let db = env.name("mw");
        env.ok(&["up", my_spec(), "--name", &db]);
        let app = attached_project(&env, "app", &[&db])["DATABASE_URL"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, app_db) = user_and_database(&app);
        let admin_base = env.url(&db).rsplit_once('/').unwrap().0.to_string();
        let file = env.home.path().join("seed.sql");
        std::fs::write(
            &file,
            "CREATE TABLE seeded (a int);\nINSERT INTO seeded VALUES (1);\n",
        )
        .unwrap();
        for kind in ["import", "restore"] {
            let args: Vec<String> = match kind {
                "import" => [
                    "import",
                    "app",
                    file.to_str().unwrap(),
                    "--replace",
                    "--yes",
                ]
                .map(String::from)
                .to_vec(),
                _ => {
                    env.ok(&["backup", &db, "--project", "app"]);
                    let id = newest_backup(&env, &app_db);
                    ["restore", &id, "--into", &app_db, "--overwrite", "--yes"]
                        .map(String::from)
                        .to_vec()
                }
            };
            // Written just before the operation starts, by an application that stays connected.
            let written = format!("written_before_{kind}");
            client(
                "mariadb",
                &app,
                &format!("CREATE TABLE {written} (a int); INSERT INTO {written} VALUES (42)"),
            );
            let mut session = client_command("mariadb", &app, "SELECT SLEEP(600)")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let flag = env.home.path().join(format!("locked-{kind}"));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let child = env
                .command(&args)
                .env(
                    "DOCKHAND_TEST_PAUSE_AT",
                    format!("locked:{}", flag.display()),
                )
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            assert!(
                wait_until(std::time::Duration::from_secs(120), || flag.exists()),
                "the {kind} never locked the project out"
            );
            // Kept out: its open session was ended, a new one is refused.
            assert!(
                wait_until(std::time::Duration::from_secs(10), || session
                    .try_wait()
                    .unwrap()
                    .is_some()),
                "the application's session survived the lock-out"
            );
            let r = client_run("mariadb", &app, "SELECT 1");
            assert_ne!(r.code, 0, "the project connected during the {kind}");
            assert!(r.stderr.contains("locked"), "{}", r.all());
            std::fs::remove_file(&flag).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            // Let in again; what it wrote before is in the backup taken first.
            assert_eq!(client("mariadb", &app, "SELECT 1"), "1");
            let id = newest_backup(&env, &app_db);
            let check = format!("check_{kind}");
            env.ok(&["restore", &id, "--into", &check]);
            assert_eq!(
                client(
                    "mariadb",
                    &format!("{admin_base}/{check}"),
                    &format!("SELECT a FROM {written}")
                ),
                "42",
                "{kind}"
            );
        }
    }

    /// MariaDB: an import's client reads no file of the server's container (the admin password
    /// there) and a restore takes over no more than the project had.
    #[test]
    fn mariadb_imports_read_no_server_file_and_restores_grant_nothing_new() {
        let env = Env::new();
        let db = env.name("mh");
        env.ok(&["up", my_spec(), "--name", &db]);
        let attacker = attached_project(&env, "attacker", &[&db])["DATABASE_URL"]
            .as_str()
            .unwrap()
            .to_string();
        let victim = attached_project(&env, "victim", &[&db])["DATABASE_URL"]
            .as_str()
            .unwrap()
            .to_string();
        client(
            "mariadb",
            &victim,
            "CREATE TABLE secret (s text); INSERT INTO secret VALUES ('victim secret')",
        );
        let (attacker_user, attacker_db) = user_and_database(&attacker);
        let (_, victim_db) = user_and_database(&victim);
        let grants_before = client("mariadb", &attacker, "SHOW GRANTS");
        let file = env.home.path().join("leak.sql");
        std::fs::write(
            &file,
            "CREATE TABLE leak (s TEXT);\n\
         LOAD DATA LOCAL INFILE '/run/dockhand/admin-password' INTO TABLE leak;\n",
        )
        .unwrap();
        let r = env.run(&["import", "attacker", file.to_str().unwrap()]);
        assert_ne!(r.code, 0, "{}", r.all());
        assert!(
            r.stderr.contains("local infile") || r.stderr.contains("LOCAL"),
            "{}",
            r.all()
        );
        assert_ne!(
            client_run("mariadb", &attacker, "SELECT * FROM leak").code,
            0,
            "nothing of the file stayed"
        );
        // Its own code in its database: a trigger, a view, a routine (DEFINER = itself), restored.
        client(
            "mariadb",
            &attacker,
            "CREATE TABLE t (a int); INSERT INTO t VALUES (1); \
         CREATE VIEW v AS SELECT a FROM t; \
         CREATE FUNCTION f() RETURNS int RETURN (SELECT COUNT(*) FROM t); \
         CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = NEW.a + f()",
        );
        env.ok(&["backup", &db, "--project", "attacker"]);
        let id = newest_backup(&env, &attacker_db);
        env.ok(&[
            "restore",
            &id,
            "--into",
            &attacker_db,
            "--overwrite",
            "--yes",
        ]);
        assert_eq!(client("mariadb", &attacker, "SELECT COUNT(*) FROM v"), "1");
        assert_eq!(
            client("mariadb", &attacker, "SHOW GRANTS"),
            grants_before,
            "the restore granted the project nothing new"
        );
        let into_victim = format!("{}/{victim_db}", attacker.rsplit_once('/').unwrap().0);
        assert_ne!(
            client_run("mariadb", &into_victim, "SELECT * FROM secret").code,
            0,
            "{attacker_user} reads the victim's database"
        );
        assert_eq!(
            client("mariadb", &victim, "SELECT s FROM secret"),
            "victim secret"
        );
    }
}
