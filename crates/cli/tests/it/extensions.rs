//! PostgreSQL extensions, end to end: `dockhand up postgres:17 --with …` (and 18 for pgvector) runs the image that
//! carries them, a project's `extensions = [...]` are created in its database by the admin, the
//! project's own user uses them, other projects on the same server see none of it, and asking a
//! server for an extension its image does not have is an error that changes nothing.
//! The real `dockhand` binary, the real Docker engine, the test images pgvector/pgvector:pg17, :pg18 and
//! postgis/postgis:17-3.5 (tests/images/build-images.sh).

use crate::common;

use std::path::PathBuf;

use common::*;

/// A project folder whose dockhand.toml asks `service` for `extensions`.
fn project_with(env: &Env, name: &str, service: &str, extensions: &[&str]) -> PathBuf {
    project_on(env, name, service, "17", extensions)
}

/// The same, on a PostgreSQL `version`.
fn project_on(env: &Env, name: &str, service: &str, version: &str, extensions: &[&str]) -> PathBuf {
    let dir = env.home.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let list = extensions
        .iter()
        .map(|e| format!("\"{e}\""))
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(
        dir.join("dockhand.toml"),
        format!(
            "name = \"{name}\"\n[services]\npostgres = {{ version = \"{version}\", service = \"{service}\", extensions = [{list}] }}\n"
        ),
    )
    .unwrap();
    dir
}

/// Backs up the project's database, restores it `--into` a copy, and returns the copy's URL (the
/// project's user owns the copy). A dump of a database with extensions holds `CREATE EXTENSION`,
/// which only the admin may run: the restore must still succeed.
fn backup_and_restore_a_copy(env: &Env, service: &str, project: &str, url: &str) -> String {
    env.ok(&["backup", service, "--project", project]);
    let list: serde_json::Value = serde_json::from_str(&env.ok(&["backups", "--json"])).unwrap();
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["service"] == service)
        .map(|b| b["id"].as_i64().unwrap())
        .max()
        .unwrap()
        .to_string();
    let copy = format!("{project}_copy");
    env.ok(&["restore", &id, "--into", &copy]);
    with_database(url, project, &copy)
}

/// The URL with another database (the last path segment's `from` replaced by `to`).
fn with_database(url: &str, from: &str, to: &str) -> String {
    let (base, db_and_query) = url.rsplit_once('/').unwrap();
    format!("{base}/{}", db_and_query.replacen(from, to, 1))
}

fn database_url(env: &Env, dir: &std::path::Path) -> String {
    env_map(&ok_in(env, dir, &["env", "--json"]))["DATABASE_URL"].clone()
}

#[test]
fn a_pgvector_service_gives_a_project_vector_columns_and_keeps_other_projects_apart() {
    pgvector_service("postgres:17", "17");
}

/// PostgreSQL 18, the default: `up postgres --with pgvector` picks pgvector/pgvector:pg18.
#[test]
fn pgvector_on_the_default_postgres_18_works_the_same() {
    pgvector_service("postgres", "18");
}

fn pgvector_service(spec: &str, version: &str) {
    let env = Env::new();
    let svc = env.name("vec");
    env.ok(&["up", spec, "--with", "pgvector", "--name", &svc]);
    assert_eq!(
        env.service_status(&svc)["image"],
        format!("pgvector/pgvector:pg{version}").as_str(),
        "--with pgvector picks the image that carries it"
    );
    env.ok(&["config", "set", "grace-period", "10m"]);

    let ai = project_on(&env, "ai", &svc, version, &["vector"]);
    ok_in(&env, &ai, &["attach"]);
    let ai_url = database_url(&env, &ai);
    // As the project's own user: a vector column, nearest neighbour by `<->`.
    client(
        "postgres",
        &ai_url,
        "CREATE TABLE items (id int, embedding vector(3));
         INSERT INTO items VALUES (1, '[1,2,3]'), (2, '[4,5,6]'), (3, '[9,9,9]');",
    );
    assert_eq!(
        client(
            "postgres",
            &ai_url,
            "SELECT string_agg(id::text, ',' ORDER BY embedding <-> '[4,5,5]') FROM items"
        ),
        "2,1,3"
    );
    // The admin created it; the project's user could not have, and cannot drop it.
    assert_eq!(
        client(
            "postgres",
            &ai_url,
            "SELECT extowner::regrole::text FROM pg_extension WHERE extname = 'vector'"
        ),
        "postgres"
    );
    let r = client_run("postgres", &ai_url, "DROP EXTENSION vector CASCADE");
    assert_ne!(
        r.code, 0,
        "the project's user dropped the admin's extension"
    );
    assert!(r.stderr.contains("must be owner"), "{}", r.all());
    // Attaching again is idempotent and keeps the data.
    ok_in(&env, &ai, &["attach"]);
    assert_eq!(
        client("postgres", &ai_url, "SELECT count(*) FROM items"),
        "3"
    );
    // Its backup restores (the admin creates the extension, the project's user the rest).
    let copy_url = backup_and_restore_a_copy(&env, &svc, "ai", &ai_url);
    assert_eq!(
        client(
            "postgres",
            &copy_url,
            "SELECT string_agg(id::text, ',' ORDER BY embedding <-> '[4,5,5]') FROM items"
        ),
        "2,1,3"
    );
    assert_eq!(
        client(
            "postgres",
            &copy_url,
            "SELECT tableowner FROM pg_tables WHERE tablename = 'items'"
        ),
        "ai"
    );
    // Its export imports back over its own database, as an archive and as SQL: the admin creates
    // `vector` (which the service is made for) in the new database before the project's user
    // restores the rest.
    for name in ["ai.dump", "ai.sql"] {
        let file = env.home.path().join(name);
        let file = file.to_str().unwrap();
        ok_in(&env, &ai, &["export", "ai", file]);
        ok_in(&env, &ai, &["import", "ai", file, "--replace", "--yes"]);
        assert_eq!(
            client(
                "postgres",
                &ai_url,
                "SELECT string_agg(id::text, ',' ORDER BY embedding <-> '[4,5,5]') FROM items"
            ),
            "2,1,3",
            "{name}"
        );
    }

    // Another project on the same server, without extensions: none in its database, and the
    // first one's database and tables stay out of its reach.
    let other = project_on(&env, "plain", &svc, version, &[]);
    ok_in(&env, &other, &["attach"]);
    let other_url = database_url(&env, &other);
    assert_eq!(
        client(
            "postgres",
            &other_url,
            "SELECT count(*) FROM pg_extension WHERE extname = 'vector'"
        ),
        "0",
        "an extension created for one project appeared in another's database"
    );
    assert_eq!(
        client(
            "postgres",
            &other_url,
            "SELECT to_regclass('items') IS NULL"
        ),
        "t"
    );
    let (_, ai_db) = user_and_database(&ai_url);
    let (_, other_db) = user_and_database(&other_url);
    let at = other_url.rfind(&format!("/{other_db}")).unwrap();
    let crossed = format!(
        "{}/{ai_db}{}",
        &other_url[..at],
        &other_url[at + 1 + other_db.len()..]
    );
    assert_ne!(crossed, other_url);
    let r = client_run("postgres", &crossed, "SELECT count(*) FROM items");
    assert_ne!(
        r.code, 0,
        "another project opened the vector project's database"
    );
    assert!(
        r.stderr.contains("permission denied for database"),
        "{}",
        r.all()
    );

    // The second project fills its database, then asks for the extension: the admin does not
    // run an install script in a schema the project has written to (its objects could act with
    // the admin's rights), says why and what to do, and creates nothing.
    client(
        "postgres",
        &other_url,
        "CREATE FUNCTION public.array_length(anyarray) RETURNS int LANGUAGE sql AS 'SELECT 1'; CREATE TABLE notes (id int)",
    );
    let other = project_on(&env, "plain", &svc, version, &["vector"]);
    let refused = in_dir(&env, &other, &["attach"]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    assert!(
        refused.stderr.contains("already holds") && refused.stderr.contains("dockhand import"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        client(
            "postgres",
            &other_url,
            "SELECT count(*) FROM pg_extension WHERE extname = 'vector'"
        ),
        "0"
    );
}

#[test]
fn postgis_is_used_by_a_project_and_a_server_without_it_is_a_clear_error_that_changes_nothing() {
    let env = Env::new();
    let plain = env.name("plain");
    env.ok(&["up", "postgres:17", "--name", &plain]);
    env.ok(&["config", "set", "grace-period", "10m"]);

    // The plain image has no PostGIS: the error names the image that has it and the command.
    let geo = project_with(&env, "geo", &plain, &["postgis"]);
    let r = in_dir(&env, &geo, &["attach"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr
            .contains("does not have the PostgreSQL extension postgis")
            && r.stderr.contains("postgis/postgis:17-3.5 has it")
            && r.stderr
                .contains("dockhand up postgres:17 --with postgis --name pg-gis"),
        "{}",
        r.all()
    );
    // Nothing half-done: no database, no role, no attachment.
    let admin = env.url(&plain);
    assert_eq!(
        client(
            "postgres",
            &admin,
            "SELECT count(*) FROM pg_database WHERE datname = 'geo'"
        ),
        "0"
    );
    assert_eq!(
        client(
            "postgres",
            &admin,
            "SELECT count(*) FROM pg_roles WHERE rolname = 'geo'"
        ),
        "0"
    );
    assert!(
        !env.ok(&["status", "--json"]).contains("\"geo\""),
        "the failed attach left the project attached"
    );

    // What the message says to do works.
    let gis = env.name("gis");
    env.ok(&["up", "postgres:17", "--with", "postgis", "--name", &gis]);
    assert_eq!(env.service_status(&gis)["image"], "postgis/postgis:17-3.5");
    // As the official image does on its first start: a template_postgis database.
    assert_eq!(
        client(
            "postgres",
            &env.url(&gis),
            "SELECT datistemplate FROM pg_database WHERE datname = 'template_postgis'"
        ),
        "t"
    );
    let geo = project_with(&env, "geo", &gis, &["postgis"]);
    ok_in(&env, &geo, &["attach"]);
    let url = database_url(&env, &geo);
    assert_eq!(
        client("postgres", &url, "SELECT ST_AsText(ST_MakePoint(1,2))"),
        "POINT(1 2)"
    );
    client(
        "postgres",
        &url,
        "CREATE TABLE places (name text, at geometry(Point, 4326));
         INSERT INTO places VALUES ('here', ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326));",
    );
    assert_eq!(
        client(
            "postgres",
            &url,
            "SELECT name FROM places WHERE ST_X(at) > 13"
        ),
        "here"
    );
    // A spatial reference system of the project's own goes into PostGIS's table (the admin's),
    // and comes back with the rest from a backup.
    client(
        "postgres",
        &with_database(&env.url(&gis), "postgres", "geo"),
        "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, proj4text) \
         VALUES (990001, 'test', 990001, '+proj=longlat +datum=WGS84 +no_defs')",
    );
    let copy_url = backup_and_restore_a_copy(&env, &gis, "geo", &url);
    assert_eq!(
        client(
            "postgres",
            &copy_url,
            "SELECT name FROM places WHERE ST_X(at) > 13"
        ),
        "here"
    );
    assert_eq!(
        client(
            "postgres",
            &copy_url,
            "SELECT count(*) FROM spatial_ref_sys WHERE srid = 990001"
        ),
        "1"
    );
}

#[test]
fn extension_choices_no_image_offers_are_refused_with_what_to_do() {
    let env = Env::new();
    let svc = env.name("both");
    let r = env.run(&[
        "up",
        "postgres:17",
        "--with",
        "vector,postgis",
        "--name",
        &svc,
    ]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr.contains("postgis/postgis has no pgvector") && r.stderr.contains("--image"),
        "{}",
        r.all()
    );
    let r = env.run(&["up", "postgres:17", "--with", "timescaledb", "--name", &svc]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr.contains(
            "unknown extension \"timescaledb\"; Dockhand knows vector (also pgvector), postgis"
        ),
        "{}",
        r.all()
    );
    let r = env.run(&["up", "redis:8", "--with", "vector", "--name", &svc]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("PostgreSQL only"), "{}", r.all());
    assert!(
        containers_of(&svc).is_empty(),
        "a refused up created a container"
    );
}
