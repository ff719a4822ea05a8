//! Contract tests of the SQL Server driver: what it hands to the image, to clients and to the
//! server, checked against the documented contract and real parsers (no SQL Server runs here).

use super::*;
use crate::catalog::Kind;

fn conn<'a>(password: &'a str, database: &'a str, user: &'a str) -> Connection<'a> {
    Connection {
        kind: Kind::Mssql,
        host: "127.0.0.1",
        port: 14333,
        database,
        user,
        password,
    }
}

/// Passwords that break naive quoting in one format or another.
const HOSTILE: &[&str] = &[
    "Plain1password",
    "semi;colon=equals",
    "it's;a'quote",
    "brace}close{open",
    "all;}'=of them",
    "  spaces around  ",
    "[bracket]:slash/\\back",
];

#[test]
fn the_container_gets_the_images_contract_and_no_password_in_its_configuration() {
    let s = Mssql.container_setup("2022", "Secret-pw1", &crate::drivers::RunOptions::default());
    assert!(s.env.contains(&"ACCEPT_EULA=Y".to_string()));
    assert!(s.env.contains(&"MSSQL_PID=Developer".to_string()));
    assert!(!s
        .env
        .iter()
        .chain(s.cmd.iter())
        .any(|v| v.contains("Secret-pw1")));
    assert!(s.cmd[2].contains("MSSQL_SA_PASSWORD=\"$(cat /run/dockhand/admin-password)\""));
    assert!(
        s.cmd[2].ends_with("exec /opt/mssql/bin/sqlservr"),
        "{}",
        s.cmd[2]
    );
    let f = &s.files[0];
    assert_eq!((f.uid, f.mode), (10001, 0o400));
    assert_eq!(SPEC.data_path, "/var/opt/mssql");
    assert_eq!(SPEC.container_port, 1433);
}

#[test]
fn versions_are_the_images_yearly_tags() {
    assert_eq!(image_tag("2022"), "2022-latest");
    assert_eq!(image_tag("2025"), "2025-latest");
    assert_eq!(
        image_tag("2019-CU28-ubuntu-20.04"),
        "2019-CU28-ubuntu-20.04"
    );
    assert!(Mssql.opens_data_of("2019", "2022"));
    assert!(!Mssql.opens_data_of("2022", "2019-CU28-ubuntu-20.04"));
}

#[test]
fn database_url_is_prismas_sqlserver_form() {
    let c = conn("Pw1abc", "shop", "shop");
    assert_eq!(
        Mssql.url(&c),
        "sqlserver://127.0.0.1:14333;database=shop;user=shop;password=Pw1abc;encrypt=true;trustServerCertificate=true"
    );
    assert_eq!(Mssql.url_variable().database_url_rank, Some(2));
    assert_eq!(
        crate::url::admin_url(Kind::Mssql, "127.0.0.1", 1433, "Pw1"),
        "sqlserver://127.0.0.1:1433;database=master;user=sa;password=Pw1;encrypt=true;trustServerCertificate=true"
    );
}

/// Prisma's SQL Server connector (quaint) parses `sqlserver://…` by reading it as the JDBC
/// string `jdbc:sqlserver://…` with the `connection-string` crate — the parser used here.
#[test]
fn prisma_reads_back_host_port_database_user_and_password_exactly() {
    for pw in HOSTILE {
        let url = Mssql.url(&conn(pw, "shop", "shop_user"));
        let jdbc: connection_string::JdbcString = format!("jdbc:{url}")
            .parse()
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(jdbc.server_name(), Some("127.0.0.1"), "{url}");
        assert_eq!(jdbc.port(), Some(14333));
        let p = jdbc.properties();
        assert_eq!(p.get("database").map(String::as_str), Some("shop"), "{url}");
        assert_eq!(
            p.get("user").map(String::as_str),
            Some("shop_user"),
            "{url}"
        );
        assert_eq!(p.get("password").map(String::as_str), Some(*pw), "{url}");
    }
}

/// The ADO.NET string: tiberius's own `Config::from_ado_string` must accept it and reach the
/// right server, and the parser beneath it must give back every value exactly.
#[test]
fn ado_net_string_parses_back_exactly() {
    for pw in HOSTILE {
        let c = conn(pw, "shop", "shop_user");
        let s = ado_string(&c);
        let cfg = tiberius::Config::from_ado_string(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(cfg.get_addr(), "127.0.0.1:14333", "{s}");
        let dbg = format!("{cfg:?}");
        assert!(dbg.contains("database: Some(\"shop\")"), "{dbg}");
        assert!(dbg.contains("user: \"shop_user\""), "{dbg}");
        assert!(
            !dbg.contains(pw),
            "tiberius's Debug must not show the password"
        );
        let kv: connection_string::AdoNetString = s.parse().unwrap();
        // SqlClient keeps blanks inside quotes; this parser trims trailing ones even there
        // (Dockhand's passwords have none).
        assert_eq!(
            kv.get("password").map(String::as_str),
            Some(pw.trim_end()),
            "{s}"
        );
        assert_eq!(kv.get("user id").map(String::as_str), Some("shop_user"));
        assert_eq!(kv.get("database").map(String::as_str), Some("shop"));
        assert_eq!(
            kv.get("server").map(String::as_str),
            Some("127.0.0.1,14333")
        );
    }
    // Both quote characters: SqlClient's rule (double quotes, `"` doubled). The
    // connection-string crate keeps the doubled quote, unlike SqlClient: stated, not hidden.
    assert_eq!(ado_value("a\"b'c"), "\"a\"\"b'c\"");
}

/// The JDBC URL: tiberius's `Config::from_jdbc_string` must accept it; every value comes back
/// exactly, except a `}`, which Microsoft's driver reads from `}}` and this parser does not.
#[test]
fn jdbc_url_parses_back_exactly() {
    for pw in HOSTILE {
        let c = conn(pw, "shop", "shop_user");
        let s = jdbc_url(&c);
        if pw.contains('}') {
            // Microsoft's `}}` inside braces is a token this parser refuses: the JVM driver
            // reads it, tiberius does not (Dockhand's passwords never hold a brace).
            let read: std::result::Result<connection_string::JdbcString, _> = s.parse();
            assert!(
                read.map_or(true, |j| j.properties().get("password").map(String::as_str)
                    != Some(*pw)),
                "tiberius now reads `}}}}`: check the string against it exactly"
            );
            continue;
        }
        let cfg = tiberius::Config::from_jdbc_string(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(cfg.get_addr(), "127.0.0.1:14333", "{s}");
        let dbg = format!("{cfg:?}");
        assert!(dbg.contains("database: Some(\"shop\")"), "{dbg}");
        let kv: connection_string::JdbcString = s.parse().unwrap();
        let p = kv.properties();
        assert_eq!(p.get("user").map(String::as_str), Some("shop_user"));
        assert_eq!(p.get("databasename").map(String::as_str), Some("shop"));
        assert_eq!(p.get("password").map(String::as_str), Some(*pw), "{s}");
    }
    assert_eq!(jdbc_value("a}b;c"), "{a}}b;c}");
}

#[test]
fn every_variable_a_project_gets_names_its_own_database_and_user() {
    let c = conn("Pw1abc", "shop", "shop");
    let vars = Mssql.extra_variables(&c);
    let get = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("MSSQL_HOST"), Some("127.0.0.1"));
    assert_eq!(get("MSSQL_PORT"), Some("14333"));
    assert_eq!(get("MSSQL_DATABASE"), Some("shop"));
    assert_eq!(
        get("MSSQL_CONNECTION_STRING"),
        Some("Server=127.0.0.1,14333;Database=shop;User Id=shop;Password=Pw1abc;TrustServerCertificate=True")
    );
    assert_eq!(
        get("MSSQL_JDBC_URL"),
        Some("jdbc:sqlserver://127.0.0.1:14333;databaseName=shop;user=shop;password=Pw1abc;encrypt=true;trustServerCertificate=true")
    );
    assert_eq!(
        get("MSSQL_SQLALCHEMY_URL"),
        Some("mssql+pymssql://shop:Pw1abc@127.0.0.1:14333/shop")
    );
}

#[test]
fn a_backup_is_recognised_by_its_tape_header() {
    assert!(Mssql.check_dump(b"TAPE\x00\x00", b"").is_ok());
    assert!(Mssql.check_dump(b"-- MariaDB dump", b"").is_err());
    assert_eq!(Mssql.backup_unit(), BackupUnit::EachDatabase);
    assert_eq!(Mssql.dump_extension(), "bak");
}

#[test]
fn the_servers_own_databases_are_never_listed_or_backed_up() {
    let q = Sql.list_databases();
    assert!(q.contains("database_id > 4"), "{q}");
    assert_eq!(
        Sql.server_databases(),
        ["master", "model", "msdb", "tempdb"]
    );
    let d = Sql.drop_database("a]b");
    assert!(
        d.contains("DROP DATABASE [a]]b]") && d.contains("DB_ID(N'a]b')"),
        "{d}"
    );
    let s = Sql.sessions_on(&["x'y"]);
    assert!(
        s.contains("DB_ID(N'x''y')") && s.contains("LIKE N'%x''y%'"),
        "{s}"
    );
}

#[test]
fn a_replacing_swap_puts_the_old_database_back_when_the_rename_fails() {
    let s = Rename.swap("shop", "dockhand_restore_1", Some("dockhand_replaced_1"));
    let first = s.find("MODIFY NAME = [dockhand_replaced_1]").unwrap();
    let second = s.find("[dockhand_restore_1] MODIFY NAME = [shop]").unwrap();
    assert!(first < second, "{s}");
    assert!(
        s.contains("BEGIN CATCH ALTER DATABASE [dockhand_replaced_1] MODIFY NAME = [shop]"),
        "{s}"
    );
    assert!(s.trim_end().ends_with("THROW; END CATCH"), "{s}");
    assert_eq!(
        Rename.swap("shop", "dockhand_restore_1", None),
        "ALTER DATABASE [dockhand_restore_1] MODIFY NAME = [shop]"
    );
    assert!(Rename.swap_retryable("Msg 5030, Level 16, State 2"));
    assert!(!Rename.swap_retryable("Msg 102, Level 15: Incorrect syntax"));
}

/// Every script is valid POSIX shell (`sh -n`), so a typo cannot first show up in a user's
/// container.
#[test]
fn every_script_is_valid_shell() {
    let scripts = [
        Mssql.dump("pw", "shop"),
        Mssql
            .restore(
                "pw",
                "dockhand_restore_1",
                Some(&crate::drivers::DatabaseOwner {
                    role: "shop",
                    password: "x",
                }),
            )
            .unwrap(),
        Mssql.dump_tool_version(),
        Mssql.readability_check().unwrap().tool,
        Sql.admin_sql("pw", "master", "SELECT 1"),
    ];
    for t in scripts {
        assert_eq!(&t.cmd[..2], ["sh", "-c"]);
        let out = std::process::Command::new("sh")
            .args(["-n", "-c", &t.cmd[2]])
            .output()
            .expect("sh runs");
        assert!(
            out.status.success(),
            "{}: {}",
            t.cmd[2],
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
