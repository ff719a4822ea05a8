//! SQL Server against the real engine, as far as it can run here. Its image
//! (`mcr.microsoft.com/mssql/server`) cannot be pulled on these machines (no registry) nor built
//! from Debian packages, so the driver itself is tested at contract level in the core
//! (`crates/core/src/drivers/mssql/`); what runs here is everything a user meets without the
//! image: the kind is known everywhere, and a start that cannot get its image fails with a clear
//! error and leaves nothing behind — no container, volume, state row or keychain entry.

use crate::common;

use common::*;

const IMAGE: &str = "mcr.microsoft.com/mssql/server:2022-latest";

fn image_present() -> bool {
    docker(&["image", "inspect", IMAGE]).code == 0
}

#[test]
fn up_mssql_without_its_image_fails_clearly_and_leaves_nothing_behind() {
    assert!(
        !image_present(),
        "{IMAGE} is present on this machine: this test checks the failure without it \
         (remove the image, or run the driver against it by hand)"
    );
    let env = Env::new();
    let name = env.name("mssql");
    let r = env.run(&["up", "mssql:2022", "--name", &name]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(
        r.all().contains(IMAGE),
        "the error must name the image it could not get:\n{}",
        r.all()
    );
    assert!(!r.all().contains("panicked"), "{}", r.all());

    // Nothing behind: no state row, container, volume or keychain entry of the service.
    assert_eq!(
        env.status_json(),
        serde_json::json!([]),
        "a phantom service"
    );
    let containers = docker(&[
        "ps",
        "-a",
        "-q",
        "--filter",
        &format!("name=dockhand-{name}"),
    ]);
    assert_eq!(containers.stdout.trim(), "", "a container was left");
    let volumes = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("name=dockhand-{name}"),
    ]);
    assert_eq!(volumes.stdout.trim(), "", "a volume was left");
    let secrets = sh("secret-tool search --all service dockhand 2>&1");
    assert!(
        !secrets.stdout.contains(&format!("/service/{name}/")),
        "a keychain entry was left:\n{}",
        secrets.all()
    );

    // The name is free again: a second attempt fails the same way, not with "exists".
    let again = env.run(&["up", "sqlserver:2022", "--name", &name]);
    assert_ne!(again.code, 0);
    assert!(again.all().contains(IMAGE), "{}", again.all());
}

#[test]
fn the_kind_is_known_to_every_command_that_lists_kinds() {
    let env = Env::new();
    // An unknown version names the ones there are.
    let r = env.run(&["up", "mssql:2017"]);
    assert_ne!(r.code, 0);
    assert!(
        r.all().contains("2019, 2022, 2025"),
        "the supported versions are named:\n{}",
        r.all()
    );
    // A pull of its image says which image could not be fetched.
    let pull = env.run(&["images", "pull", "mssql:2019"]);
    assert_ne!(pull.code, 0, "{}", pull.all());
    assert!(
        pull.all()
            .contains("mcr.microsoft.com/mssql/server:2019-latest"),
        "{}",
        pull.all()
    );
    // Listing images works with the kind in the catalog (and lists none of it here).
    let list: serde_json::Value = serde_json::from_str(&env.ok(&["images", "--json"])).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|i| i["kind"] != "mssql"),
        "{list}"
    );
}

/// A stand-in for the image's `sqlcmd`: checks that the password arrived in its environment,
/// records its arguments, and answers the statements Dockhand's scripts send as SQL Server's
/// documents them (BACKUP writes the file it is given, FILELISTONLY lists logical files, …).
const FAKE_SQLCMD: &str = r#"#!/bin/sh
[ "$SQLCMDPASSWORD" = "Pw1-test" ] || { echo "Login failed for user 'sa'." >&2; exit 1; }
q=""; prev=""
for a in "$@"; do [ "$prev" = "-Q" ] && q="$a"; prev="$a"; done
printf '%s\n' "$0 $*" >> /tmp/sqlcmd-calls
file=$(printf '%s' "$q" | sed -n "s/.*DISK = N'\([^']*\)'.*/\1/p")
case "$q" in
  *"BACKUP DATABASE"*) printf 'TAPE-fake-backup' > "$file"; echo "Processed 8 pages for database 'shop'." ;;
  *"RESTORE FILELISTONLY"*) echo "shop|/var/opt/mssql/data/shop.mdf|D|PRIMARY|8388608"
                            echo "it's|/var/opt/mssql/data/shop_log.ldf|L||8388608" ;;
  *"RESTORE DATABASE"*) cp "$file" /tmp/restored; echo "RESTORE DATABASE successfully processed" ;;
  *"RESTORE VERIFYONLY"*) echo "The backup set on file 1 is valid." ;;
esac
"#;

/// Runs one of the driver's tool commands in a Debian container holding the stand-in `sqlcmd`
/// in `tools_dir`, with `input` on stdin; returns (stdout, stderr with the calls and what the
/// backup folder still holds).
fn run_tool(t: &dockhand_core::drivers::ToolCommand, tools_dir: &str, input: &[u8]) -> Run {
    use std::io::Write;
    let setup = format!(
        "mkdir -p {tools_dir} /var/opt/mssql/backup /run/dockhand && printf '%s' \"$FAKE\" > {tools_dir}/sqlcmd \
         && chmod +x {tools_dir}/sqlcmd && printf 'Pw1-test' > /run/dockhand/admin-password \
         && sh -c \"$SCRIPT\"; rc=$?; {{ echo \"rc=$rc\"; cat /tmp/sqlcmd-calls; echo \"left:$(ls -A /var/opt/mssql/backup)\"; \
         [ -f /tmp/restored ] && echo \"restored:$(cat /tmp/restored)\"; }} >&2"
    );
    assert_eq!(&t.cmd[..2], ["sh", "-c"]);
    let mut c = std::process::Command::new("docker");
    c.args([
        "run",
        "--rm",
        "-i",
        "--network",
        "none",
        "--entrypoint",
        "sh",
    ]);
    for e in &t.env {
        c.args(["-e", e]);
    }
    c.args(["-e", &format!("FAKE={FAKE_SQLCMD}")])
        .args(["-e", &format!("SCRIPT={}", t.cmd[2])])
        .args(["dockhand-test-base:bookworm", "-c", &setup])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("docker runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// The shell half of backups and restores, run for real (a Debian container, the image's
/// documented `sqlcmd` paths, a stand-in `sqlcmd`): the backup's stdout is the backup file and
/// nothing else, the file is removed from the container, a restore moves every logical file to
/// the target's names (quotes doubled) and gives the database back to its owner.
#[test]
fn backup_and_restore_scripts_do_what_sql_server_documents() {
    use dockhand_core::Kind;
    let d = Kind::Mssql.driver();

    let backup = run_tool(&d.dump("Pw1-test", "shop"), "/opt/mssql-tools18/bin", b"");
    assert!(backup.stderr.contains("rc=0"), "{}", backup.all());
    assert_eq!(
        backup.stdout, "TAPE-fake-backup",
        "stdout must be the file alone"
    );
    assert!(
        backup.stderr.contains("Processed 8 pages"),
        "{}",
        backup.stderr
    );
    assert!(
        backup
            .stderr
            .contains("BACKUP DATABASE [shop] TO DISK = N'/var/opt/mssql/backup/dockhand-"),
        "{}",
        backup.stderr
    );
    assert!(
        backup.stderr.contains("sqlcmd -C -S localhost -U sa"),
        "ODBC 18 needs -C: {}",
        backup.stderr
    );
    assert!(
        backup.stderr.contains("left:\n"),
        "the file stayed in the container: {}",
        backup.stderr
    );
    d.check_dump(backup.stdout.as_bytes(), b"").unwrap();

    // Older tags: /opt/mssql-tools/bin (ODBC 17, no -C).
    let old = run_tool(&d.dump("Pw1-test", "shop"), "/opt/mssql-tools/bin", b"");
    assert_eq!(old.stdout, "TAPE-fake-backup", "{}", old.all());
    assert!(
        old.stderr
            .contains("/opt/mssql-tools/bin/sqlcmd -S localhost"),
        "{}",
        old.stderr
    );

    // A wrong password: the script fails and no backup bytes come out.
    let wrong = run_tool(&d.dump("other", "shop"), "/opt/mssql-tools18/bin", b"");
    assert!(
        !wrong.stderr.contains("rc=0") && wrong.stdout.is_empty(),
        "{}",
        wrong.all()
    );

    let owner = dockhand_core::drivers::DatabaseOwner {
        role: "shop",
        password: "unused",
    };
    let restore = d
        .restore("Pw1-test", "dockhand_restore_1", Some(&owner))
        .unwrap();
    let r = run_tool(&restore, "/opt/mssql-tools18/bin", b"TAPE-fed-in");
    assert!(r.stderr.contains("rc=0"), "{}", r.all());
    assert!(r.stderr.contains("restored:TAPE-fed-in"), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "MOVE N'shop' TO N'/var/opt/mssql/data/dockhand_restore_1.mdf', \
             MOVE N'it''s' TO N'/var/opt/mssql/data/dockhand_restore_1_log.ldf'"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("RESTORE DATABASE [dockhand_restore_1] FROM DISK"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("ALTER AUTHORIZATION ON DATABASE::[dockhand_restore_1] TO [shop];"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("left:\n"), "{}", r.stderr);

    // Verification reads the admin password from the container's secret file.
    let check = d.readability_check().unwrap();
    let v = run_tool(&check.tool, "/opt/mssql-tools18/bin", b"TAPE-fed-in");
    assert!(v.stderr.contains("rc=0"), "{}", v.all());
    assert_eq!((check.entries)(v.stdout.as_bytes()), 1, "{}", v.all());

    // Admin statements: rows tab-separated, no headers.
    let sql = d.sql().unwrap().admin_sql("Pw1-test", "", "SELECT 1");
    let s = run_tool(&sql, "/opt/mssql-tools18/bin", b"");
    assert!(s.stderr.contains("rc=0"), "{}", s.all());
    assert!(
        s.stderr
            .contains("-d master -h -1 -W -m 1 -s \t -Q SET NOCOUNT ON; SELECT 1"),
        "{}",
        s.stderr
    );
}

/// SQLAlchemy (Debian's python3-sqlalchemy, `make_url`: no driver or server needed) reads
/// `MSSQL_SQLALCHEMY_URL` back to the same user, password, host, port and database, hostile
/// passwords included.
#[test]
fn sqlalchemy_reads_the_url_back_exactly() {
    use dockhand_core::drivers::Connection;
    use dockhand_core::Kind;
    const READ: &str = "import json, os\n\
        from sqlalchemy.engine import make_url\n\
        u = make_url(os.environ['URL'])\n\
        print(json.dumps([u.drivername, u.username, u.password, u.host, u.port, u.database]))";
    for pw in [
        "Plain1password",
        "semi;colon=equals",
        "it's}{a'quote",
        "p@ss:w/rd?#%é ",
        "a%20b",
    ] {
        let c = Connection {
            kind: Kind::Mssql,
            host: "127.0.0.1",
            port: 14333,
            database: "shop",
            user: "shop_user",
            password: pw,
        };
        let vars = Kind::Mssql.driver().extra_variables(&c);
        let url = &vars
            .iter()
            .find(|(k, _)| *k == "MSSQL_SQLALCHEMY_URL")
            .expect("MSSQL_SQLALCHEMY_URL")
            .1;
        // Debian's interpreter, where apt put SQLAlchemy (scripts/setup-machine.sh), not
        // whatever python3 comes first on PATH.
        let out = std::process::Command::new("/usr/bin/python3")
            .args(["-c", READ])
            .env("URL", url)
            .output()
            .expect("/usr/bin/python3 (apt-get install python3-sqlalchemy)");
        assert!(
            out.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            got,
            serde_json::json!(["mssql+pymssql", "shop_user", pw, "127.0.0.1", 14333, "shop"]),
            "{url}"
        );
    }
}
