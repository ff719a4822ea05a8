//! A database per git branch (`[branches]` in dockhand.toml): a real git repository whose two
//! branches run different migrations, a real PostgreSQL server, the real `dockhand` binary and
//! the post-checkout hook it installs, run by git itself.

#![cfg(unix)]

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// `git` in `dir`, with `env`'s Dockhand home (the hook it runs is Dockhand).
fn git(env: &Env, dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-C"])
        .arg(dir)
        .args(args)
        .env("DOCKHAND_HOME", env.home_dir())
        .env_remove("DOCKHAND_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A project folder that is a git repository on `main`, following branches.
fn repo_project(env: &Env, name: &str, pg: &str) -> std::path::PathBuf {
    let dir = project_dir(env, name, &[("postgres", versions().postgres, pg)]);
    let toml = dir.join("dockhand.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str("[branches]\nenabled = true\n");
    std::fs::write(&toml, text).unwrap();
    git(env, &dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join(".gitignore"), ".env\n").unwrap();
    git(env, &dir, &["add", "."]);
    git(env, &dir, &["commit", "-q", "-m", "start"]);
    ok_in(env, &dir, &["attach"]);
    dir
}

/// The URL `dockhand url` hands out in `dir` (on first use of a branch, after making its
/// database).
fn url_in(env: &Env, dir: &Path) -> String {
    ok_in(env, dir, &["url"]).trim().to_string()
}

fn database_of(url: &str) -> String {
    user_and_database(url).1
}

fn dotenv_url(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(".env"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("DATABASE_URL="))
        .unwrap()
        .trim_matches(|c| c == '"' || c == '\'')
        .to_string()
}

fn branch_dbs_on(admin: &str) -> Vec<String> {
    client(
        "postgres",
        admin,
        "SELECT datname FROM pg_database WHERE datname LIKE 'dockhand\\_br\\_%' ORDER BY 1",
    )
    .lines()
    .filter(|l| !l.is_empty())
    .map(str::to_string)
    .collect()
}

fn listed_branch_dbs(env: &Env, dir: &Path) -> Vec<String> {
    let list: serde_json::Value =
        serde_json::from_str(&ok_in(env, dir, &["branch", "list", "--json"])).unwrap();
    let mut v: Vec<String> = list["branches"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["parts"].as_array().unwrap().clone())
        .map(|p| p["copy"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

mod each_version {
    use super::*;

    /// Two branches whose migrations differ: switching back and forth keeps each branch's data,
    /// with no command (`url`, `run`) or through the hook Dockhand installs (`.env`); another
    /// project cannot reach a branch's database; prune drops only branches gone from git.
    #[test]
    fn each_git_branch_keeps_its_own_data_and_the_url_follows_the_checkout() {
        let env = Env::new();
        let pg = env.name("br");
        env.ok(&["up", pg_spec(), "--name", &pg]);
        let admin = env.url(&pg);
        let dir = repo_project(&env, "shop", &pg);
        let main_url = url_in(&env, &dir);
        assert_eq!(database_of(&main_url), "shop");
        client(
            "postgres",
            &main_url,
            "CREATE TABLE items (id int PRIMARY KEY, note text); \
             INSERT INTO items VALUES (1, 'main'), (2, 'main'), (3, 'main');",
        );

        // A new branch (a hostile name: slash, unicode, quote): its database is made on first
        // use, from main, and said.
        let feature = "feature/ü-'x";
        git(&env, &dir, &["checkout", "-q", "-b", feature]);
        let r = in_dir(&env, &dir, &["url"]);
        assert_eq!(r.code, 0, "{}", r.all());
        assert!(
            r.stderr.contains("got its own database") && r.stderr.contains("from branch main"),
            "{}",
            r.all()
        );
        let feat_url = r.stdout.trim().to_string();
        let feat_db = database_of(&feat_url);
        assert!(
            feat_db.starts_with("dockhand_br_") && feat_db.len() <= 63,
            "{feat_db}"
        );
        assert_eq!(
            user_and_database(&feat_url).0,
            user_and_database(&main_url).0
        );
        assert_eq!(
            client("postgres", &feat_url, "SELECT count(*) FROM items"),
            "3"
        );
        // The feature's migration and data.
        client(
            "postgres",
            &feat_url,
            "ALTER TABLE items ADD COLUMN extra int; INSERT INTO items VALUES (4, 'feature', 1);",
        );

        // Back on main: its own data, without the feature's migration.
        git(&env, &dir, &["checkout", "-q", "main"]);
        assert_eq!(url_in(&env, &dir), main_url);
        let cols = "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) \
                    FROM information_schema.columns WHERE table_name = 'items'";
        assert_eq!(client("postgres", &main_url, cols), "id,note");
        client(
            "postgres",
            &main_url,
            "INSERT INTO items VALUES (5, 'main')",
        );

        // And on the feature again: its data as it was left, main's new row not in it.
        git(&env, &dir, &["checkout", "-q", feature]);
        assert_eq!(url_in(&env, &dir), feat_url);
        assert_eq!(client("postgres", &feat_url, cols), "id,note,extra");
        assert_eq!(
            client(
                "postgres",
                &feat_url,
                "SELECT string_agg(note, ',' ORDER BY id) FROM items"
            ),
            "main,main,main,feature"
        );
        // `run` hands the branch's URL to its command too.
        let out = ok_in(
            &env,
            &dir,
            &["run", "--", "sh", "-c", "echo \"$DATABASE_URL\""],
        );
        assert_eq!(out.trim(), feat_url);

        // Another project's user cannot connect to a branch's database.
        let blog = attached_project(&env, "blog", &[&pg])["DATABASE_URL"]
            .as_str()
            .unwrap()
            .to_string();
        let (base, _) = blog.rsplit_once('/').unwrap();
        let r = client_run("postgres", &format!("{base}/{feat_db}"), "SELECT 1");
        assert_ne!(r.code, 0, "another project reached a branch's database");
        assert!(r.all().contains("permission denied"), "{}", r.all());

        // The hook: git's own checkouts rewrite .env; a new branch is made from its parent
        // (the feature, with its migration).
        ok_in(&env, &dir, &["branch", "hook"]);
        // An app still connected to the feature's database across the checkout: `branch list`
        // counts its session, and the hook says it writes there until restarted.
        let mut app = client_command("postgres", &feat_url, "SELECT pg_sleep(120)")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let feature_sessions = || -> i64 {
            let list: serde_json::Value =
                serde_json::from_str(&ok_in(&env, &dir, &["branch", "list", "--json"])).unwrap();
            list["branches"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["branch"] == feature)
                .map(|b| b["sessions"].as_i64().unwrap())
                .unwrap()
        };
        assert!(
            wait_until(Duration::from_secs(30), || feature_sessions() == 1),
            "branch list never counted the app's session"
        );
        let said = git(&env, &dir, &["checkout", "-q", "main"]);
        // The app goes (its backend would sleep on without its client).
        let _ = app.kill();
        let _ = app.wait();
        client(
            "postgres",
            &admin,
            &format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = '{feat_db}'"
            ),
        );
        assert!(
            wait_until(Duration::from_secs(30), || feature_sessions() == 0),
            "the app's session outlived its termination"
        );
        assert!(
            said.contains(&format!(
                "1 session(s) are still connected to branch {feature}'s database"
            )),
            "{said}"
        );
        assert_eq!(dotenv_url(&dir), main_url);
        git(&env, &dir, &["checkout", "-q", feature]);
        assert_eq!(dotenv_url(&dir), feat_url);
        let said = git(&env, &dir, &["checkout", "-q", "-b", "second"]);
        let second_url = dotenv_url(&dir);
        assert!(
            ![main_url.as_str(), feat_url.as_str()].contains(&second_url.as_str()),
            "{said}"
        );
        assert_eq!(client("postgres", &second_url, cols), "id,note,extra");

        let list: serde_json::Value =
            serde_json::from_str(&ok_in(&env, &dir, &["branch", "list", "--json"])).unwrap();
        let names: Vec<&str> = list["branches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["branch"].as_str().unwrap())
            .collect();
        assert_eq!(names, [feature, "second"]);
        assert_eq!(list["branches"][1]["checked_out"], true);
        assert_eq!(list["branches"][1]["parent"], format!("branch {feature}"));

        // The checked-out branch's databases stay; a gone branch's go, after a confirmation.
        let r = in_dir(&env, &dir, &["branch", "delete", "second", "--yes"]);
        assert!(
            r.code != 0 && r.stderr.contains("checked out"),
            "{}",
            r.all()
        );
        git(&env, &dir, &["checkout", "-q", feature]);
        git(&env, &dir, &["branch", "-q", "-D", "second"]);
        let r = in_dir(&env, &dir, &["branch", "prune"]);
        assert!(r.code != 0 && r.stderr.contains("--yes"), "{}", r.all());
        assert_eq!(branch_dbs_on(&admin).len(), 2);
        let out = ok_in(&env, &dir, &["branch", "prune", "--yes"]);
        assert!(out.contains("second"), "{out}");
        assert_eq!(branch_dbs_on(&admin), std::slice::from_ref(&feat_db));
        assert_eq!(listed_branch_dbs(&env, &dir), [feat_db]);
        env.ok(&["destroy", &pg, "--purge", "--yes"]);
    }
}

/// kill -9 of a branch's first copy at its steps and at random moments: the branch never
/// shows a half-made database, and the next use makes it whole.
#[test]
fn a_branch_copy_killed_at_any_moment_is_made_whole_by_the_next_use() {
    let env = Env::new();
    let pg = env.name("brk");
    env.ok(&["up", pg_spec(), "--name", &pg]);
    let admin = env.url(&pg);
    let dir = repo_project(&env, "shop", &pg);
    let main_url = url_in(&env, &dir);
    client(
        "postgres",
        &main_url,
        "CREATE TABLE items (id int PRIMARY KEY, note text); \
         INSERT INTO items SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;",
    );
    let mut moments =
        Moments::new("a_branch_copy_killed_at_any_moment_is_made_whole_by_the_next_use");
    let steps = ["point-recorded", "point-copied"];
    for (i, step) in steps
        .iter()
        .map(Some)
        .chain((0..stress_iterations(4)).map(|_| None))
        .enumerate()
    {
        let branch = format!("k{i}");
        git(&env, &dir, &["checkout", "-q", "-b", &branch, "main"]);
        match step {
            Some(step) => kill_at_step(&env, step, &["branch", "create", &branch, "-p", "shop"]),
            None => {
                let mut child = env
                    .command(&["branch", "create", &branch, "-p", "shop"])
                    .current_dir(&dir)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                std::thread::sleep(Duration::from_millis(moments.next_ms(1500)));
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // Nothing half-made is handed out: the next use makes (or keeps) a whole copy.
        let url = url_in(&env, &dir);
        assert_ne!(url, main_url);
        assert_eq!(
            client("postgres", &url, "SELECT count(*) FROM items"),
            "20000"
        );
    }
    // The server keeps exactly the listed branch databases.
    assert_eq!(branch_dbs_on(&admin), listed_branch_dbs(&env, &dir));
    env.ok(&["destroy", &pg, "--purge", "--yes"]);
}
