//! End-to-end tests of `dockhand import` and `dockhand export`: real PostgreSQL and MariaDB
//! servers, dump files written by the servers' own tools (pg_dump -Fc, plain pg_dump, gzip,
//! mariadb-dump), the real `dockhand` binary.

#![cfg(unix)]

use crate::common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::*;

fn url_of(vars: &serde_json::Value) -> String {
    vars["DATABASE_URL"].as_str().unwrap().to_string()
}

/// Runs `cmd` in a shell with stdout into `file` (how a user makes a dump file).
fn dump_to(cmd: &str, file: &Path) {
    let r = sh(&format!("{cmd} > '{}'", file.display()));
    assert_eq!(r.code, 0, "{cmd}: {}", r.all());
    assert!(
        std::fs::metadata(file).unwrap().len() > 0,
        "{cmd} wrote nothing"
    );
}

fn backups_of(env: &Env, database: &str) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(&env.ok(&["backups", "--json"]))
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["database"] == database)
        .cloned()
        .collect()
}

/// Row count and a checksum of every row, in a stable order.
const PG_FINGERPRINT: &str = "SELECT count(*) || ':' || md5(coalesce(string_agg(id::text || note, ',' ORDER BY id), '')) FROM items";
const MY_FINGERPRINT: &str =
    "SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(',', id, note))), 0)) FROM items";

/// PostgreSQL databases whose names say they are a restore's or import's scratch work.
fn pg_leftovers(admin: &str) -> String {
    client(
        "postgres",
        admin,
        "SELECT coalesce(string_agg(datname, ','), '') FROM pg_database WHERE datname LIKE 'dockhand\\_%'",
    )
}

fn assert_refused(r: &Run, needles: &[&str]) {
    assert_ne!(r.code, 0, "expected a refusal:\n{}", r.all());
    for n in needles {
        assert!(r.stderr.contains(n), "expected {n:?} in:\n{}", r.all());
    }
}

/// kill -9 of `dockhand import --replace` while the file streams in: the database keeps its
/// rows; the next import succeeds and nothing of the killed one is left.
#[test]
fn an_import_killed_mid_stream_leaves_the_database_as_it_was() {
    let env = Env::new();
    let pg = env.name("pgk");
    env.ok(&["up", pg_spec(), "--name", &pg]);
    let container = format!("dockhand-{pg}");
    let src = url_of(&attached_project(&env, "big", &[&pg]));
    let dst = url_of(&attached_project(&env, "dst", &[&pg]));
    let admin = env.url(&pg);
    let (_, src_db) = user_and_database(&src);
    client(
        "postgres",
        &src,
        "CREATE TABLE items (id int PRIMARY KEY, note text); \
         INSERT INTO items SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 400000) g;",
    );
    let want = client("postgres", &src, PG_FINGERPRINT);
    client(
        "postgres",
        &dst,
        "CREATE TABLE items (id int PRIMARY KEY, note text); INSERT INTO items VALUES (1, 'kept')",
    );
    let kept = client("postgres", &dst, PG_FINGERPRINT);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.sql.gz");
    dump_to(
        &format!("docker exec {container} pg_dump -U postgres {src_db} | gzip -1"),
        &file,
    );
    let path = file.display().to_string();
    let mut child = env
        .command(&["import", "dst", &path, "--replace", "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once rows are being copied into the import's own database.
    // Seen from inside the server (a short COPY can fall between two `psql` runs).
    let copying = pg_wait_for(
        &admin,
        "EXISTS (SELECT FROM pg_stat_progress_copy)",
        Duration::from_secs(120),
    );
    assert!(copying, "the import never began to copy rows");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the import ended before it could be killed"
    );
    let _ = child.kill(); // SIGKILL: no cleanup code runs
    let _ = child.wait();
    assert_eq!(client("postgres", &dst, PG_FINGERPRINT), kept);
    let out = env.ok(&["import", "dst", &path, "--replace", "--yes"]);
    assert!(out.contains("imported"), "{out}");
    assert_eq!(client("postgres", &dst, PG_FINGERPRINT), want);
    assert_eq!(pg_leftovers(&admin), "");
}

/// MariaDB cannot rename a database, so `import --replace` drops the target after backing it up
/// and fills it again, marked until complete. Killed with -9 while rows stream in: the old
/// content is in the listed backup (restorable), the next import removes the killed one's
/// marked database and succeeds, and no marker is left.
#[test]
fn a_mariadb_import_killed_mid_stream_is_recoverable_and_the_next_one_succeeds() {
    let env = Env::new();
    let db = env.name("myk");
    env.ok(&["up", my_spec(), "--name", &db]);
    let container = format!("dockhand-{db}");
    let admin = env.url(&db);
    let (root_pw, _) = password_and_port(&admin);
    let src = url_of(&attached_project(&env, "big", &[&db]));
    let dst = url_of(&attached_project(&env, "dst", &[&db]));
    let (dst_user, dst_db) = user_and_database(&dst);
    let (_, src_db) = user_and_database(&src);
    client(
        "mariadb",
        &src,
        &format!(
            "CREATE TABLE items (id INT PRIMARY KEY, note TEXT); \
             INSERT INTO items SELECT seq, REPEAT(LEFT(SHA2(seq, 256), 32), 4) FROM {}",
            my_numbers(400000)
        ),
    );
    let want = client("mariadb", &src, MY_FINGERPRINT);
    client(
        "mariadb",
        &dst,
        "CREATE TABLE items (id INT PRIMARY KEY, note TEXT); INSERT INTO items VALUES (1, 'kept')",
    );
    let kept = client("mariadb", &dst, MY_FINGERPRINT);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.sql");
    // Small INSERT statements: the import takes long enough to be caught in the middle.
    let my_dump = my_programs().1;
    dump_to(
        &format!(
            "docker exec -e MYSQL_PWD={root_pw} {container} {my_dump} --single-transaction \
             --net-buffer-length=16384 -uroot {src_db}"
        ),
        &file,
    );
    let path = file.display().to_string();
    let mut child = env
        .command(&["import", "dst", &path, "--replace", "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let inserting = format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '{dst_user}' AND INFO LIKE 'INSERT%'"
    );
    let streaming = wait_until(Duration::from_secs(120), || {
        child.try_wait().unwrap().is_some() || client("mariadb", &admin, &inserting) != "0"
    });
    assert!(streaming, "the import never began to insert rows");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the import ended before it could be killed"
    );
    let _ = child.kill(); // SIGKILL: no cleanup code runs
    let _ = child.wait();

    // The content it replaced is in the backup it took first.
    let safety = backups_of(&env, &dst_db)
        .into_iter()
        .find(|b| b["reason"] == "before-import")
        .expect("the killed import backed the database up first");
    env.ok(&["restore", &safety["id"].to_string(), "--into", "dst_before"]);
    let r = docker(&[
        "exec",
        "-e",
        &format!("MYSQL_PWD={root_pw}"),
        &container,
        my_programs().0,
        "-uroot",
        "-N",
        "-B",
        "dst_before",
        "-e",
        MY_FINGERPRINT,
    ]);
    assert_eq!(r.stdout.trim(), kept, "{}", r.all());

    let out = env.ok(&["import", "dst", &path, "--replace", "--yes"]);
    assert!(out.contains("imported"), "{out}");
    assert_eq!(client("mariadb", &dst, MY_FINGERPRINT), want);
    assert_eq!(
        client(
            "mariadb",
            &admin,
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '__dockhand_restore_pending'"
        ),
        "0"
    );
}

/// The tests whose outcome depends on the server's version (its initialisation, isolation rules,
/// dump and restore tools, exit on kill): run on the oldest supported versions, then again on the
/// catalog's defaults — scripts/test-all.sh selects every `each_version::` test for that pass.
mod each_version {
    use super::*;

    /// Every PostgreSQL format into a project's database: the rows arrive, belong to the project's
    /// user, a filled database is only replaced with --replace (after a listed backup), wrong or
    /// broken files are refused with the database untouched, and export → import keeps the rows.
    #[test]
    fn postgres_imports_each_format_as_the_project_user_and_refuses_what_does_not_fit() {
        let env = Env::new();
        let pg = env.name("pgi");
        env.ok(&["up", pg_spec(), "--name", &pg]);
        let container = format!("dockhand-{pg}");
        let src = url_of(&attached_project(&env, "src", &[&pg]));
        let dst_vars = attached_project(&env, "dst", &[&pg]);
        let dst = url_of(&dst_vars);
        let dst_user = dst_vars["PGUSER"].as_str().unwrap().to_string();
        let dst_db = dst_vars["PGDATABASE"].as_str().unwrap().to_string();
        let (_, src_db) = user_and_database(&src);
        let admin = env.url(&pg);
        client(
            "postgres",
            &src,
            "CREATE TABLE items (id int PRIMARY KEY, note text); \
         INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 3000) g; \
         CREATE VIEW recent AS SELECT * FROM items WHERE id > 2900; \
         CREATE SEQUENCE tickets;",
        );
        let want = client("postgres", &src, PG_FINGERPRINT);
        assert!(want.starts_with("3000:"), "{want}");

        let dir = tempfile::tempdir().unwrap();
        let f = |n: &str| dir.path().join(n);
        dump_to(
            &format!("docker exec {container} pg_dump -Fc -U postgres {src_db}"),
            &f("src.dump"),
        );
        dump_to(
            &format!("docker exec {container} pg_dump -U postgres {src_db}"),
            &f("src.sql"),
        );
        dump_to(
            &format!("gzip -c '{}'", f("src.sql").display()),
            &f("src.sql.gz"),
        );
        // A custom-format dump named like SQL: the content decides.
        std::fs::copy(f("src.dump"), f("misnamed.sql")).unwrap();

        let owner_q = "SELECT tableowner FROM pg_tables WHERE tablename = 'items'";
        let mut first = true;
        for file in ["src.dump", "src.sql", "src.sql.gz", "misnamed.sql"] {
            let path = f(file).display().to_string();
            if !first {
                // Filled now: without --replace nothing happens.
                client(
                    "postgres",
                    &dst,
                    "INSERT INTO items VALUES (999999, 'mine')",
                );
                let before = client("postgres", &dst, PG_FINGERPRINT);
                let r = env.run(&["import", "dst", &path]);
                assert_refused(&r, &["already holds", "--replace"]);
                assert_eq!(client("postgres", &dst, PG_FINGERPRINT), before, "{file}");
                // --replace off a terminal needs --yes.
                let r = env.run(&["import", "dst", &path, "--replace"]);
                assert_refused(&r, &["--yes"]);
                let backups_before = backups_of(&env, &dst_db).len();
                let out = env.ok(&["import", "dst", &path, "--replace", "--yes"]);
                assert!(out.contains("backed up first"), "{out}");
                let after = backups_of(&env, &dst_db);
                assert_eq!(after.len(), backups_before + 1, "{file}: no backup listed");
                assert_eq!(after[0]["reason"], "before-import");
            } else {
                // The project's database exists but is empty: no --replace needed.
                env.ok(&["import", "dst", &path]);
                first = false;
            }
            assert_eq!(client("postgres", &dst, PG_FINGERPRINT), want, "{file}");
            assert_eq!(client("postgres", &dst, owner_q), dst_user, "{file}: owner");
            assert_eq!(
                client("postgres", &dst, "SELECT count(*) FROM recent"),
                "100",
                "{file}: the view"
            );
            assert_eq!(client("postgres", &dst, "SELECT nextval('tickets')"), "1");
            assert_eq!(pg_leftovers(&admin), "", "{file}");
        }
        // The project's database is still its own alone: other projects cannot connect.
        let (src_user, _) = user_and_database(&src);
        let r = client_run(
            "postgres",
            &src.replace(&format!("/{src_db}"), &format!("/{dst_db}")),
            "SELECT 1",
        );
        assert_ne!(
            r.code,
            0,
            "{src_user} opened the imported database: {}",
            r.all()
        );

        // Wrong or broken files: refused, saying what the file is; the database as it was.
        let before = client("postgres", &dst, PG_FINGERPRINT);
        std::fs::write(f("dump.rdb"), b"REDIS0011\xfa\tredis-ver\x057.2.4\xff").unwrap();
        std::fs::write(
            f("maria.sql"),
            "-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\nCREATE TABLE x (a int);\n",
        )
        .unwrap();
        let gz = std::fs::read(f("src.sql.gz")).unwrap();
        std::fs::write(f("cut.sql.gz"), &gz[..gz.len() / 2]).unwrap();
        std::fs::write(f("empty.sql"), b"").unwrap();
        let cases: [(&str, &[&str]); 6] = [
            ("dump.rdb", &["Redis snapshot", "every project's keys"]),
            (
                "maria.sql",
                &["MariaDB/MySQL dump", "cannot go into PostgreSQL"],
            ),
            ("cut.sql.gz", &["not a complete gzip file"]),
            ("empty.sql", &["is empty"]),
            ("missing.sql", &["missing.sql", "No such file"]),
            ("", &["a folder"]),
        ];
        for (file, needles) in cases {
            let path = f(file).display().to_string();
            let r = env.run(&["import", "dst", &path, "--replace", "--yes"]);
            assert_refused(&r, needles);
            assert_eq!(client("postgres", &dst, PG_FINGERPRINT), before, "{file}");
            assert_eq!(pg_leftovers(&admin), "", "{file}");
        }

        // Export → import: the same rows. `.gz` compresses; an existing file is never overwritten.
        let exported = f("export.dump.gz");
        let out = env.ok(&["export", "src", &exported.display().to_string()]);
        assert!(out.contains("gzipped"), "{out}");
        let head = std::fs::read(&exported).unwrap();
        assert_eq!(&head[..2], &[0x1f, 0x8b]);
        assert!(!dir.path().read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".partial")));
        let r = env.run(&["export", "src", &exported.display().to_string()]);
        assert_refused(&r, &["exists already"]);
        client("postgres", &dst, "DELETE FROM items WHERE id > 10");
        env.ok(&[
            "import",
            &format!("{pg}/{dst_db}"),
            &exported.display().to_string(),
            "--replace",
            "--yes",
        ]);
        assert_eq!(client("postgres", &dst, PG_FINGERPRINT), want);
        // To stdout, as a pipe.
        let mut c = env.command(&["export", &format!("{pg}/{src_db}"), "-"]);
        c.stdout(std::fs::File::create(f("piped.dump")).unwrap());
        assert!(c.status().unwrap().success());
        assert!(std::fs::read(f("piped.dump"))
            .unwrap()
            .starts_with(b"PGDMP"));
        // A file named .sql (or .sql.gz) gets SQL, which psql reads; it imports back too.
        for name in ["export.sql", "export2.sql.gz"] {
            let path = f(name);
            env.ok(&["export", "src", &path.display().to_string()]);
            let text = sh(&format!("zcat -f '{}' | head -c 2000", path.display())).stdout;
            assert!(
                text.contains("PostgreSQL database dump") && !text.starts_with("PGDMP"),
                "{name}: {text}"
            );
            client("postgres", &dst, "DELETE FROM items WHERE id > 10");
            env.ok(&[
                "import",
                "dst",
                &path.display().to_string(),
                "--replace",
                "--yes",
            ]);
            assert_eq!(client("postgres", &dst, PG_FINGERPRINT), want, "{name}");
        }
        // A database of no project is not imported into (the file would run as the admin).
        let r = env.run(&[
            "import",
            &format!("{pg}/postgres"),
            &f("src.sql").display().to_string(),
        ]);
        assert_refused(&r, &["no project's database"]);
    }

    /// A hostile plain SQL file: each attack fails, says why, and the project's database and the
    /// server are as they were.
    #[test]
    fn a_hostile_sql_file_fails_cleanly_and_changes_nothing() {
        let env = Env::new();
        let pg = env.name("pgh");
        env.ok(&["up", pg_spec(), "--name", &pg]);
        let container = format!("dockhand-{pg}");
        let vars = attached_project(&env, "victim", &[&pg]);
        let url = url_of(&vars);
        let user = vars["PGUSER"].as_str().unwrap().to_string();
        let other = url_of(&attached_project(&env, "other", &[&pg]));
        let (_, other_db) = user_and_database(&other);
        client(
            "postgres",
            &other,
            "CREATE TABLE secrets (s text); INSERT INTO secrets VALUES ('x')",
        );
        let dir = tempfile::tempdir().unwrap();
        let attacks = [
        ("alter-role", format!("CREATE TABLE a (i int);\nALTER ROLE {user} SUPERUSER;\n"), "may not"),
        ("set-role", "CREATE TABLE a (i int);\nSET ROLE postgres;\nCREATE TABLE b (i int);\n".into(), "may not"),
        ("program", "CREATE TABLE a (t text);\nCOPY a FROM PROGRAM 'id';\n".into(), "may not"),
        ("shell", "CREATE TABLE a (i int);\n\\! touch /tmp/pwned-by-import\n".into(), "psql command"),
        (
            "reconnect",
            format!("\\connect {other_db} postgres\nDROP TABLE secrets;\n"),
            "psql command",
        ),
        (
            "unrestrict",
            "\\unrestrict guess\n\\! touch /tmp/pwned-by-import\n".into(),
            "psql command",
        ),
        (
            "other-database",
            format!("CREATE TABLE a (i int);\nSELECT * FROM dblink('dbname={other_db}', 'select 1') AS t(i int);\n"),
            "failed",
        ),
    ];
        for (name, sql, says) in attacks {
            let file = dir.path().join(format!("{name}.sql"));
            std::fs::write(&file, sql).unwrap();
            let r = env.run(&["import", "victim", &file.display().to_string()]);
            assert_refused(&r, &[says]);
            assert!(
                r.stderr.contains("Nothing was imported")
                    || r.stderr.contains("nothing was imported"),
                "{name}: {}",
                r.all()
            );
            assert_eq!(
                client(
                    "postgres",
                    &url,
                    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                ),
                "0",
                "{name}: the database changed"
            );
            assert_eq!(
                client(
                    "postgres",
                    &url,
                    &format!("SELECT rolsuper FROM pg_roles WHERE rolname = '{user}'")
                ),
                "f",
                "{name}"
            );
            assert_eq!(
                client("postgres", &other, "SELECT count(*) FROM secrets"),
                "1",
                "{name}"
            );
            let pwned = docker(&["exec", &container, "ls", "/tmp/pwned-by-import"]);
            assert_ne!(
                pwned.code, 0,
                "{name}: a shell command ran in the container"
            );
        }
    }

    /// MariaDB: mariadb-dump files (plain and gzipped, with a view and a trigger defined by root)
    /// go in as the project's user; refusals leave data as it was; a hostile file's client
    /// commands and grabs at other databases fail; export → import keeps the rows.
    #[test]
    fn mariadb_imports_dumps_as_the_project_user_and_refuses_what_does_not_fit() {
        let env = Env::new();
        let db = env.name("myi");
        env.ok(&["up", my_spec(), "--name", &db]);
        let container = format!("dockhand-{db}");
        let admin = env.url(&db);
        let (root_pw, _) = password_and_port(&admin);
        let src = url_of(&attached_project(&env, "src", &[&db]));
        let dst_vars = attached_project(&env, "dst", &[&db]);
        let dst = url_of(&dst_vars);
        let (dst_user, dst_db) = user_and_database(&dst);
        let (_, src_db) = user_and_database(&src);
        // Made by root, as a dump from another machine's admin would be: the view and trigger
        // name root as their definer.
        let r = docker(&[
        "exec",
        "-e",
        &format!("MYSQL_PWD={root_pw}"),
        &container,
        my_programs().0,
        "-uroot",
        &src_db,
        "-e",
        &format!("CREATE TABLE items (id INT PRIMARY KEY, note TEXT); \
         INSERT INTO items SELECT seq, LEFT(SHA2(seq, 256), 32) FROM {}; \
         CREATE VIEW recent AS SELECT * FROM items WHERE id > 2900; \
         CREATE TABLE log (n INT); \
         CREATE TRIGGER count_new AFTER INSERT ON items FOR EACH ROW INSERT INTO log VALUES (NEW.id);",
         my_numbers(3000)),
    ]);
        assert_eq!(r.code, 0, "{}", r.all());
        let want = client("mariadb", &src, MY_FINGERPRINT);
        assert!(want.starts_with("3000:"), "{want}");
        let dir = tempfile::tempdir().unwrap();
        let f = |n: &str| dir.path().join(n);
        let my_dump = my_programs().1;
        dump_to(
            &format!(
                "docker exec -e MYSQL_PWD={root_pw} {container} {my_dump} --single-transaction \
             --routines --triggers -uroot {src_db}"
            ),
            &f("src.sql"),
        );
        assert!(
            file_contains(&f("src.sql"), "DEFINER=`root`"),
            "the dump names root"
        );
        dump_to(
            &format!("gzip -c '{}'", f("src.sql").display()),
            &f("src.sql.gz"),
        );

        env.ok(&["import", "dst", &f("src.sql").display().to_string()]);
        assert_eq!(client("mariadb", &dst, MY_FINGERPRINT), want);
        assert_eq!(
            client("mariadb", &dst, "SELECT COUNT(*) FROM recent"),
            "100"
        );
        client("mariadb", &dst, "INSERT INTO items VALUES (999999, 'mine')");
        assert_eq!(
            client("mariadb", &dst, "SELECT COUNT(*) FROM log WHERE n = 999999"),
            "1"
        );
        let definer = client(
            "mariadb",
            &dst,
            &format!(
                "SELECT DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '{dst_db}'"
            ),
        );
        assert!(definer.starts_with(&format!("{dst_user}@")), "{definer}");

        // Filled: refused without --replace, replaced (after a listed backup) with it.
        let before = client("mariadb", &dst, MY_FINGERPRINT);
        let gz = f("src.sql.gz").display().to_string();
        assert_refused(&env.run(&["import", "dst", &gz]), &["already holds"]);
        assert_eq!(client("mariadb", &dst, MY_FINGERPRINT), before);
        let n = backups_of(&env, &dst_db).len();
        env.ok(&["import", "dst", &gz, "--replace", "--yes"]);
        assert_eq!(client("mariadb", &dst, MY_FINGERPRINT), want);
        assert_eq!(backups_of(&env, &dst_db).len(), n + 1);

        // A PostgreSQL archive, a broken file, a hostile file: refused, data as it was.
        let before = client("mariadb", &dst, MY_FINGERPRINT);
        std::fs::write(f("pg.dump"), b"PGDMP\x01\x0e\x00\x04\x08\x01\x01").unwrap();
        std::fs::write(
            f("shell.sql"),
            "CREATE TABLE z (i INT);\n\\! touch /tmp/pwned-by-import\n",
        )
        .unwrap();
        std::fs::write(
            f("system.sql"),
            "CREATE TABLE z (i INT);\nsystem touch /tmp/pwned-by-import\n",
        )
        .unwrap();
        std::fs::write(
            f("grab.sql"),
            "CREATE TABLE z (i INT);\nUSE mysql;\nSELECT * FROM user;\n",
        )
        .unwrap();
        std::fs::write(
            f("grant.sql"),
            format!("CREATE TABLE z (i INT);\nGRANT ALL ON *.* TO '{dst_user}'@'%';\n"),
        )
        .unwrap();
        let into = format!(
            "cannot go into {}",
            if my_kind() == "mysql" {
                "MySQL"
            } else {
                "MariaDB"
            }
        );
        let cases: [(&str, &[&str]); 5] = [
            ("pg.dump", &["PostgreSQL custom-format dump", &into]),
            ("shell.sql", &["Nothing was imported"]),
            ("system.sql", &["Nothing was imported"]),
            ("grab.sql", &["Nothing was imported"]),
            ("grant.sql", &["Nothing was imported"]),
        ];
        for (file, needles) in cases {
            let r = env.run(&[
                "import",
                "dst",
                &f(file).display().to_string(),
                "--replace",
                "--yes",
            ]);
            assert_refused(&r, needles);
            assert_eq!(client("mariadb", &dst, MY_FINGERPRINT), before, "{file}");
            assert_eq!(
            client("mariadb", &dst, &format!("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{dst_db}' AND table_name = 'z'")),
            "0",
            "{file}"
        );
            let pwned = docker(&["exec", &container, "ls", "/tmp/pwned-by-import"]);
            assert_ne!(
                pwned.code, 0,
                "{file}: a shell command ran in the container"
            );
        }

        // Export → import: the same rows.
        let out_file = f("export.sql.gz");
        env.ok(&["export", "src", &out_file.display().to_string()]);
        client("mariadb", &dst, "DELETE FROM items WHERE id > 10");
        env.ok(&[
            "import",
            "dst",
            &out_file.display().to_string(),
            "--replace",
            "--yes",
        ]);
        assert_eq!(client("mariadb", &dst, MY_FINGERPRINT), want);
    }
}
