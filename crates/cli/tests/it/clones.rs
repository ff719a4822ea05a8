//! Clones for tests (`dockhand run --clones N`): a real PostgreSQL server, the real `dockhand`
//! binary, a real pytest-xdist run whose workers each take their clone with psycopg, `psql`
//! sessions of the project and of another project, and kill -9 of the run.

#![cfg(unix)]

use crate::common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::*;

/// The test clones on the server (as the admin sees them).
fn clones_on(admin: &str) -> Vec<String> {
    client(
        "postgres",
        admin,
        "SELECT datname FROM pg_database WHERE datname LIKE 'dockhand\\_cl\\_%' ORDER BY 1",
    )
    .lines()
    .filter(|l| !l.is_empty())
    .map(str::to_string)
    .collect()
}

/// A project `shop` on `pg` with three rows, as the project's user wrote them.
fn seeded_shop(env: &Env, pg: &str) -> String {
    let url = attached_project(env, "shop", &[pg])["DATABASE_URL"]
        .as_str()
        .unwrap()
        .to_string();
    client(
        "postgres",
        &url,
        "CREATE TABLE items (id int PRIMARY KEY, note text); \
         INSERT INTO items VALUES (1, 'seed'), (2, 'seed'), (3, 'seed');",
    );
    url
}

/// A pytest suite as a user would split it over workers: each worker takes the URL its number
/// names (`PYTEST_XDIST_WORKER`: gw0 → DATABASE_URL_1), writes its own row, and checks it sees
/// the seeded rows and no other worker's. It also tells the outside test which URL it used.
const SUITE: &str = r#"
import os, psycopg, pytest

def my_url():
    n = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]) + 1
    return n, os.environ[f"DATABASE_URL_{n}"]

@pytest.mark.parametrize("case", range(6))
def test_each_worker_has_its_own_database(case):
    n, url = my_url()
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("INSERT INTO items VALUES (%s, %s)", (100 + case, f"worker{n}"))
        notes = {r[0] for r in c.execute("SELECT note FROM items")}
        assert notes <= {"seed", f"worker{n}"}, notes
        seeded = c.execute("SELECT count(*) FROM items WHERE note = 'seed'").fetchone()[0]
        assert seeded == int(os.environ["SEEDED"]), seeded
    with open(os.path.join(os.environ["OUT"], f"worker{n}"), "w") as f:
        f.write(url)
"#;

fn venv_python() -> std::path::PathBuf {
    crate::client_libraries::installed().join("venv/bin/python")
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

mod each_version {
    use super::*;

    /// `pytest -n 3` under `dockhand run --clones 3`: each worker writes into its own clone of
    /// the project's data (now, or a restore point), the project's own database is untouched,
    /// another project's user cannot reach a clone, the command's exit code is the run's, and
    /// no clone is left once it ends.
    #[test]
    fn test_workers_each_get_their_own_clone_and_none_is_left_after() {
        let env = Env::new();
        let pg = env.name("cl");
        env.ok(&["up", pg_spec(), "--name", &pg]);
        let admin = env.url(&pg);
        let shop = seeded_shop(&env, &pg);
        let blog = attached_project(&env, "blog", &[&pg])["DATABASE_URL"]
            .as_str()
            .unwrap()
            .to_string();
        env.ok(&["point", "take", "seeded", "-p", "shop"]);
        client("postgres", &shop, "INSERT INTO items VALUES (4, 'seed')");

        let work = env.home.path().join("suite");
        let out = work.join("out");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(work.join("test_clones.py"), SUITE).unwrap();
        let python = venv_python();
        let mut c = env.command(&[
            "run",
            "-p",
            "shop",
            "--clones",
            "3",
            "--",
            python.to_str().unwrap(),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            "3",
            "--dist",
            "load",
        ]);
        c.current_dir(&work)
            .env("OUT", &out)
            .env("SEEDED", "4")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let r = run_limited(c, Duration::from_secs(300));
        assert_eq!(r.code, 0, "{}", r.all());
        assert!(
            r.stderr.contains("3 clone(s) of shop") && r.stderr.contains("dropped the 3"),
            "{}",
            r.all()
        );
        // Each worker that ran used a clone of its own, none the project's database.
        let used: Vec<String> = files_in(&out)
            .iter()
            .map(|f| std::fs::read_to_string(out.join(f)).unwrap())
            .collect();
        assert!(!used.is_empty(), "{}", r.all());
        let mut dbs: Vec<String> = used.iter().map(|u| user_and_database(u).1).collect();
        dbs.sort();
        dbs.dedup();
        assert_eq!(
            dbs.len(),
            used.len(),
            "two workers shared a clone: {used:?}"
        );
        assert!(dbs.iter().all(|d| d.starts_with("dockhand_cl_")), "{dbs:?}");
        assert_eq!(
            client("postgres", &shop, "SELECT count(*) FROM items"),
            "4",
            "the tests wrote into the project's own database"
        );
        assert!(clones_on(&admin).is_empty(), "{:?}", clones_on(&admin));
        // Making them was a task every shell sees (`dockhand tasks`, the window's Events), as
        // was the restore point.
        let tasks: serde_json::Value = serde_json::from_str(&env.ok(&["tasks", "--json"])).unwrap();
        for kind in ["clones", "restore-point"] {
            assert!(
                tasks
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["kind"] == kind && t["state"] == "succeeded"),
                "no succeeded {kind} task: {tasks}"
            );
        }

        // From a restore point; another project's user cannot reach a clone while it lives; the
        // command's exit code is the run's, and the clones go whatever it was.
        let script = "set -u; \
            test \"$DATABASE_URL\" = \"$DATABASE_URL_1\" || exit 90; \
            test \"$DOCKHAND_CLONES\" = 2 || exit 91; \
            test \"$DATABASE_URL_1\" != \"$DATABASE_URL_2\" || exit 92; \
            psql \"$DATABASE_URL_2\" -tAc 'SELECT count(*) FROM items' > \"$OUT/count\" || exit 93; \
            psql \"${BLOG%/*}/${DATABASE_URL_1##*/}\" -tAc 'SELECT 1' 2> \"$OUT/blog\" && exit 94; \
            exit 7";
        let mut c = env.command(&[
            "run", "-p", "shop", "--clones", "2", "--point", "seeded", "--", "sh", "-c", script,
        ]);
        c.env("OUT", &out)
            .env("BLOG", &blog)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let r = run_limited(c, COMMAND_LIMIT);
        assert_eq!(r.code, 7, "{}", r.all());
        assert_eq!(
            std::fs::read_to_string(out.join("count")).unwrap().trim(),
            "3"
        );
        let refused = std::fs::read_to_string(out.join("blog")).unwrap();
        assert!(refused.contains("permission denied"), "{refused}");
        assert!(clones_on(&admin).is_empty(), "{:?}", clones_on(&admin));

        // Bad asks are refused before anything is made.
        let r = env.run(&["run", "-p", "shop", "--clones", "0", "--", "true"]);
        assert!(r.code != 0 && r.stderr.contains("1 to 64"), "{}", r.all());
        let r = env.run(&[
            "run", "-p", "shop", "--clones", "2", "--point", "nope", "--", "true",
        ]);
        assert!(
            r.code != 0 && r.stderr.contains("no restore point 'nope'"),
            "{}",
            r.all()
        );
        assert!(clones_on(&admin).is_empty());
        // A server volume without room for the copies is refused before anything is copied,
        // with what was asked and what is free (the volume made to look full: its real free
        // space, read by `df` in the container, less a petabyte kept free).
        let mut c = env.command(&["run", "-p", "shop", "--clones", "2", "--", "true"]);
        c.env("DOCKHAND_TEST_COPY_RESERVE", (1u64 << 50).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let r = run_limited(c, COMMAND_LIMIT);
        assert!(
            r.code != 0
                && r.stderr.contains("free on its data volume")
                && r.stderr.contains("Nothing was copied"),
            "{}",
            r.all()
        );
        assert!(clones_on(&admin).is_empty());
        env.ok(&["destroy", &pg, "--purge", "--yes"]);
    }
}

/// kill -9 of `dockhand run --clones` while its command runs ends the command too, and the next
/// Dockhand command drops the clones; killed at its steps and at random moments of making them,
/// no clone outlives the run and the project's data is whole.
#[test]
fn a_run_killed_with_its_clones_leaves_none_behind() {
    let env = Env::new();
    let pg = env.name("clk");
    env.ok(&["up", pg_spec(), "--name", &pg]);
    let admin = env.url(&pg);
    let shop = seeded_shop(&env, &pg);
    client(
        "postgres",
        &shop,
        "INSERT INTO items SELECT g, repeat('x', 200) FROM generate_series(10, 20000) g",
    );
    let out = env.home.path().join("killed");
    std::fs::create_dir_all(&out).unwrap();

    // Killed while its command runs.
    let script = "echo $$ > \"$OUT/pid\"; exec sleep 600";
    let mut run = env
        .command(&[
            "run", "-p", "shop", "--clones", "2", "--", "sh", "-c", script,
        ])
        .env("OUT", &out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(120), || out.join("pid").exists()),
        "the command never started"
    );
    assert_eq!(clones_on(&admin).len(), 2);
    let command_pid = std::fs::read_to_string(out.join("pid")).unwrap();
    let proc_dir = Path::new("/proc").join(command_pid.trim());
    run.kill().unwrap();
    run.wait().unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || !proc_dir.exists()),
        "the command outlived its killed `dockhand run`"
    );
    env.ok(&["status"]);
    assert!(clones_on(&admin).is_empty(), "{:?}", clones_on(&admin));

    // Killed while making them: at its steps, then at random moments.
    let mut moments = Moments::new("a_run_killed_with_its_clones_leaves_none_behind");
    let args = ["run", "-p", "shop", "--clones", "3", "--", "true"];
    for step in ["point-recorded", "point-copied"] {
        kill_at_step(&env, step, &args);
        env.ok(&["status"]);
        assert!(
            clones_on(&admin).is_empty(),
            "after {step}: {:?}",
            clones_on(&admin)
        );
    }
    for _ in 0..stress_iterations(4) {
        let mut child = env
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(moments.next_ms(2500)));
        let _ = child.kill();
        let _ = child.wait();
        env.ok(&["status"]);
        assert!(clones_on(&admin).is_empty(), "{:?}", clones_on(&admin));
    }
    assert_eq!(
        client("postgres", &shop, "SELECT count(*) FROM items"),
        "19994"
    );
    env.ok(&["destroy", &pg, "--purge", "--yes"]);
}
