//! How the admin connects to a PostgreSQL server: every admin session — Dockhand's own client
//! and every tool it runs as the admin (psql, pg_dump, pg_restore) — starts with
//! `search_path = pg_catalog, pg_temp`.
//!
//! A project owns its database and the `public` schema in it, so any name the admin's SQL
//! resolves there — a function, an operator such as `=(oid, regclass)`, a type — can be the
//! project's own code, run with the admin's rights: an exact-type match in `public` beats a
//! `pg_catalog` one that needs a cast (CVE-2018-1058's pattern). With the search path pinned,
//! an unqualified name can only be the server's own. It is set as a connection option, not a
//! `SET`: a startup option outranks `ALTER DATABASE … SET search_path`, which the project may
//! run on its own database, and it is in force before the first statement.
//!
//! What the search path cannot cover — casts, which are looked up by type, not by name — the
//! admin's statements avoid: `pg_catalog.record_out(t)` instead of `t::text` (a project may
//! `CREATE CAST (its_table AS text)`).

use crate::drivers::ProbeTarget;

/// The startup option (libpq's `options`, `PGOPTIONS` for the tools).
pub(crate) const PINNED_SEARCH_PATH: &str = "-c search_path=pg_catalog,pg_temp";

/// The environment of a tool run as the admin: its password and the pinned search path.
pub(crate) fn admin_env(password: &str) -> Vec<String> {
    vec![
        format!("PGPASSWORD={password}"),
        format!("PGOPTIONS={PINNED_SEARCH_PATH}"),
    ]
}

/// A client connection as the admin to `database`, with the pinned search path.
pub(crate) fn admin_config(admin: &ProbeTarget, database: &str) -> tokio_postgres::Config {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&admin.host)
        .port(admin.port)
        .user(&admin.user)
        .password(&admin.password)
        .dbname(database)
        .options(PINNED_SEARCH_PATH)
        .application_name("dockhand");
    cfg
}
