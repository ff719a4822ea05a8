//! Project commands: project add/list/up/down/remove, attach, detach, env, url, run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dockhand_core::facade::env::{dotenv_line, Audience};
use dockhand_core::facade::platform;
use dockhand_core::facade::{CloneSource, Lease, Settled, TestClones};
use dockhand_core::{CoreError, Manager, Result};

use crate::args::ProjectCommand;
use crate::output::{table, ProgressView};

pub(crate) fn cwd() -> Result<PathBuf> {
    Ok(std::env::current_dir()?)
}

pub async fn project(m: &Arc<Manager>, cmd: ProjectCommand, json: bool) -> Result<()> {
    match cmd {
        ProjectCommand::Add { path, name } => {
            let dir = path.unwrap_or(cwd()?);
            let (p, created) = m.add_project(&dir, name.as_deref())?;
            if json {
                println!("{}", serde_json::to_string(&p).unwrap());
            } else if created {
                println!(
                    "project '{}' added ({})",
                    p.name,
                    p.path.unwrap_or_default()
                );
            } else {
                println!("project '{}' is already registered", p.name);
            }
            Ok(())
        }
        ProjectCommand::List => {
            let listings = m.project_listings()?;
            if json {
                let v: Vec<_> = listings
                    .iter()
                    .map(|l| {
                        serde_json::json!({"name": l.project.name, "path": l.project.path, "attachments": l.attachments})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v).unwrap());
                return Ok(());
            }
            if listings.is_empty() {
                println!("No projects yet. In a project's folder: `dockhand attach postgres` (or `dockhand project add`).");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = listings
                .iter()
                .map(|l| {
                    let services: Vec<String> = l
                        .attachments
                        .iter()
                        .map(|a| format!("{} ({})", a.service, a.db_name))
                        .collect();
                    vec![
                        l.project.name.clone(),
                        l.project.path.clone().unwrap_or_default(),
                        services.join(", "),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(&["PROJECT", "FOLDER", "SERVICES (DATABASE)"], &rows)
            );
            Ok(())
        }
        ProjectCommand::Up { name } => {
            let p = m.project_for(name.as_deref(), &cwd()?)?;
            let printer = ProgressView::new(json);
            let report = |e| printer.show(e);
            let held = m.hold_project(&p, None, &report).await;
            printer.done();
            for (lease, o) in held? {
                if !json {
                    println!(
                        "{}: {} running at 127.0.0.1:{}",
                        p.name, lease.service, o.host_port
                    );
                }
            }
            Ok(())
        }
        ProjectCommand::Down { name } => {
            let p = m.project_for(name.as_deref(), &cwd()?)?;
            for (service, settled) in m.project_down(&p).await? {
                report_settled(&service, &settled, json);
                spawn_stopper_if_due(&service, &settled);
            }
            Ok(())
        }
        ProjectCommand::Remove {
            name,
            drop_data,
            yes,
        } => {
            let p = m.project_for(Some(&name), &cwd()?)?;
            if drop_data && !yes && !confirm(&format!(
                "This drops every database of project '{name}' (each is backed up first). Type the project name to confirm: "
            ), &name)? {
                return Err(CoreError::InvalidInput("not confirmed; nothing was deleted".into()));
            }
            let backups = m.remove_project(&p, drop_data).await?;
            if !json {
                for b in &backups {
                    println!("backed up to {}", b.display());
                }
                if drop_data {
                    println!("project '{name}' removed with its databases");
                } else {
                    println!("project '{name}' removed; its databases are kept on the servers");
                }
            }
            Ok(())
        }
    }
}

fn confirm(prompt: &str, expected: &str) -> Result<bool> {
    crate::output::typed_confirmation(
        prompt,
        &[expected],
        "this deletes data; confirm with --yes when not at a terminal. Nothing was deleted".into(),
    )
}

pub async fn attach(
    m: &Arc<Manager>,
    targets: Vec<String>,
    project: Option<String>,
    dedicated: bool,
    json: bool,
) -> Result<()> {
    if dedicated && targets.is_empty() {
        return Err(CoreError::InvalidInput(
            "--dedicated needs the kinds to give the project its own server of (`dockhand attach postgres:16 --dedicated`); \
             in dockhand.toml write `postgres = { version = \"16\", dedicated = true }`"
                .into(),
        ));
    }
    let here = cwd()?;
    let p = match project {
        Some(name) => m.project_for(Some(&name), &here)?,
        // In a folder that is no project yet, attaching makes it one.
        None => match m.project_for(None, &here) {
            Ok(p) => p,
            Err(_) => {
                if targets.is_empty() {
                    m.check_folder_lists_services(&here)?;
                }
                let (p, _) = m.add_project(&here, None)?;
                if !json {
                    println!("project '{}' added ({})", p.name, here.display());
                }
                p
            }
        },
    };
    let printer = ProgressView::new(json);
    let report = |e| printer.show(e);
    let atts = m.attach_as(&p, &targets, dedicated, &report).await;
    printer.done();
    let atts = atts?;
    if json {
        println!("{}", serde_json::to_string_pretty(&atts).unwrap());
        return Ok(());
    }
    for a in &atts {
        println!(
            "{} → {}: database '{}', user '{}'",
            p.name, a.service, a.db_name, a.db_user
        );
    }
    println!("`dockhand env` prints the variables; `dockhand run -- <command>` runs a command with them.");
    Ok(())
}

pub async fn detach(m: &Arc<Manager>, service: String, project: Option<String>) -> Result<()> {
    let p = m.project_for(project.as_deref(), &cwd()?)?;
    m.detach(&p, &service).await?;
    println!("{} detached from {service}; its database is kept", p.name);
    Ok(())
}

/// A project following git branches: the checked-out branch's databases, made on first use.
async fn follow_branch(m: &Manager, p: &dockhand_core::facade::ProjectRow) -> Result<()> {
    if let Some(made) = m.follow_branch(p).await? {
        crate::branches::say_made(&made);
    }
    Ok(())
}

pub async fn env(
    m: &Manager,
    project: Option<String>,
    audience: &str,
    write: Option<PathBuf>,
    json: bool,
) -> Result<()> {
    let p = m.project_for(project.as_deref(), &cwd()?)?;
    follow_branch(m, &p).await?;
    let audience = Audience::parse(audience).expect("clap checked it");
    let vars = m.project_env(&p.name, audience)?;
    if vars.is_empty() {
        return Err(CoreError::InvalidInput(format!(
            "project '{}' uses no service yet; `dockhand attach postgres` first",
            p.name
        )));
    }
    if audience == Audience::Container && !json {
        eprintln!(
            "# for containers on the '{}' Docker network: docker run --network {} …",
            m.network(),
            m.network()
        );
    }
    if let Some(file) = write {
        let written = m.write_project_env_for(&p.name, Some(&file), audience)?;
        if let Some(w) = &written.git_warning {
            eprintln!("warning: {w}");
        }
        // After a checkout (the hook runs this): an app started on another branch is still
        // connected to that branch's data, and writes there until it is restarted.
        for (branch, n) in m.sessions_left_on_other_branches(&p).await {
            eprintln!(
                "note: {n} session(s) are still connected to branch {branch}'s database: an \
                 app started on {branch} keeps writing there until you restart it"
            );
        }
        if json {
            println!("{}", serde_json::to_string(&written).expect("serializable"));
        } else {
            println!("wrote {} variables to {}", vars.len(), file.display());
        }
        return Ok(());
    }
    if json {
        let map: serde_json::Map<String, serde_json::Value> = vars
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        println!("{}", serde_json::Value::Object(map));
    } else {
        for (k, v) in vars {
            println!("{}", dotenv_line(&k, &v));
        }
    }
    Ok(())
}

pub async fn url(m: &Manager, name: &str, service: Option<&str>, json: bool) -> Result<()> {
    let url = if m.project_exists(name)? {
        follow_branch(m, &m.project_for(Some(name), &cwd()?)?).await?;
        let pick = m.project_connection(name, service)?;
        dockhand_core::facade::env::url(&dockhand_core::facade::env::Connection {
            kind: pick.kind,
            host: &pick.host,
            port: pick.port,
            database: &pick.database,
            user: &pick.user,
            password: pick.password.expose(),
        })
    } else {
        m.admin_url(name)?
    };
    if json {
        println!("{}", serde_json::json!({ "url": url }));
    } else {
        println!("{url}");
    }
    Ok(())
}

/// `dockhand run --clones N`: what the user asked for.
pub struct CloneAsk {
    pub count: usize,
    pub point: Option<String>,
    pub end_sessions: bool,
}

/// `dockhand run`: leases for the command's lifetime, variables in its environment only; with
/// `--clones`, test clones made once the services answer and dropped once the command ends.
pub async fn run(
    m: &Arc<Manager>,
    project: Option<String>,
    command: Vec<String>,
    clones: Option<CloneAsk>,
) -> Result<i32> {
    let p = m.project_for(project.as_deref(), &cwd()?)?;
    // A mistake in its `[env]` stops the run before any service is started for it.
    m.env_mapping(&p)?;
    follow_branch(m, &p).await?;
    let holder = format!("run:{}", command[0]);
    held_run(m, &p, &holder, clones.as_ref(), |made| {
        let mut c = tokio::process::Command::new(&command[0]);
        c.args(&command[1..]);
        match made {
            None => c.envs(m.project_env(&p.name, Audience::Host)?),
            Some(made) => {
                // A run killed with -9 cannot drop its clones: its command ends with it rather
                // than go on with clones the next Dockhand command drops.
                platform::ends_with_this_process(&mut c);
                c.envs(m.clones_env(made, Audience::Host)?)
            }
        };
        Ok(c)
    })
    .await
}

/// What the clones are, on stderr (the command's own output stays clean).
fn say_clones(made: &dockhand_core::facade::TestClones) {
    let dbs: std::collections::BTreeSet<&str> =
        made.parts.iter().map(|p| p.database.as_str()).collect();
    eprintln!(
        "{} clone(s) of {} from {} in {}: DATABASE_URL_1 … DATABASE_URL_{} (DATABASE_URL is \
         the first); dropped when the command ends",
        made.count,
        dbs.into_iter().collect::<Vec<_>>().join(", "),
        made.from,
        dockhand_core::facade::human_duration(Duration::from_millis(made.took_ms)),
        made.count
    );
    for s in &made.shared {
        eprintln!("  not cloned: {s} (every worker shares it)");
    }
}

/// `dockhand connect`: the kind's own client (psql, mariadb, redis-cli) on one of the project's
/// databases, as its user, holding its services while it runs — `run` with the right command.
pub async fn connect(
    m: &Arc<Manager>,
    project: Option<String>,
    service: Option<String>,
    args: Vec<String>,
) -> Result<i32> {
    let p = m.project_for(project.as_deref(), &cwd()?)?;
    follow_branch(m, &p).await?;
    // Which client, before anything is started: a missing psql is said at once.
    let launch = m.client_for(&p.name, service.as_deref(), &args)?;
    let program = launch
        .program
        .file_name()
        .unwrap_or_default()
        .to_string_lossy();
    let holder = format!("connect:{program}");
    eprintln!("{}", launch.describe);
    held_run(m, &p, &holder, None, |_| {
        let mut c = tokio::process::Command::new(&launch.program);
        c.args(&launch.args).envs(launch.env.iter().cloned());
        Ok(c)
    })
    .await
}

/// Holds the project's services (starting them), makes the test clones asked for, runs the
/// command made once they answer, drops the clones and lets the services go when it ends,
/// returning its exit code (127: it could not start).
async fn held_run(
    m: &Arc<Manager>,
    p: &dockhand_core::facade::ProjectRow,
    holder: &str,
    clones: Option<&CloneAsk>,
    command: impl FnOnce(Option<&TestClones>) -> Result<tokio::process::Command>,
) -> Result<i32> {
    let printer = ProgressView::new(false);
    let report = |e| printer.show(e);
    let held = m.hold_project(p, Some(holder), &report).await;
    printer.done();
    let leases: Vec<Lease> = held?.into_iter().map(|(l, _)| l).collect();
    let made = match clones {
        None => None,
        Some(ask) => {
            let from = match &ask.point {
                Some(point) => CloneSource::Point(point.clone()),
                None => CloneSource::Now,
            };
            match m.make_clones(p, ask.count, &from, ask.end_sessions).await {
                Ok(made) => {
                    say_clones(&made);
                    Some(made)
                }
                Err(e) => {
                    release_all(m, &leases).await;
                    return Err(e);
                }
            }
        }
    };
    let spawned = command(made.as_ref()).map(|mut c| c.spawn());
    let code = match spawned {
        Err(e) => {
            drop_clones(m, made.as_ref()).await;
            release_all(m, &leases).await;
            return Err(e);
        }
        Ok(Err(e)) => {
            eprintln!("error: could not run {holder}: {e}");
            127
        }
        Ok(Ok(mut child)) => loop {
            // Ctrl-C reaches the command through the terminal; Dockhand stays to clean up.
            tokio::select! {
                status = child.wait() => {
                    break platform::shell_exit_code(status?);
                }
                _ = tokio::signal::ctrl_c() => continue,
            }
        },
    };
    drop_clones(m, made.as_ref()).await;
    release_all(m, &leases).await;
    Ok(code)
}

/// A run's clones go once its command ended; what cannot go now is said, and goes with the next
/// Dockhand command.
async fn drop_clones(m: &Manager, made: Option<&TestClones>) {
    let Some(made) = made else { return };
    match m.drop_clones(made).await {
        Ok(()) => eprintln!("dropped the {} clone(s)", made.count),
        Err(e) => eprintln!("warning: {e}"),
    }
}

async fn release_all(m: &Manager, leases: &[Lease]) {
    for lease in leases {
        match m.release(lease).await {
            Ok(s) => spawn_stopper_if_due(&lease.service, &s),
            Err(e) => eprintln!("warning: releasing {}: {e}", lease.service),
        }
    }
}

fn report_settled(service: &str, s: &Settled, json: bool) {
    if json {
        println!("{}", serde_json::json!({"service": service, "settled": s}));
        return;
    }
    match s {
        Settled::InUse(n) => println!("{service}: still used by {n} consumer(s)"),
        Settled::Pinned => println!("{service}: keeps running (started with `dockhand up`)"),
        Settled::Stopped => println!("{service}: stopped"),
        Settled::StopsIn(d) => println!(
            "{service}: stops in {} unless used again",
            dockhand_core::facade::human_duration(*d)
        ),
        Settled::AlreadyStopped => println!("{service}: not running"),
    }
}

/// After the last consumer leaves, a detached `dockhand` stops the service once the grace
/// period is over (if nobody took it again meanwhile).
fn spawn_stopper_if_due(service: &str, s: &Settled) {
    let Settled::StopsIn(d) = s else { return };
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut stopper = std::process::Command::new(exe);
    stopper
        .args([
            "internal",
            "stop-idle",
            service,
            "--after",
            &d.as_secs().max(1).to_string(),
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let _ = platform::own_process_group(&mut stopper).spawn();
}

pub async fn stop_idle(m: &Arc<Manager>, service: &str, after: u64) -> Result<()> {
    tokio::time::sleep(Duration::from_secs(after) + Duration::from_millis(200)).await;
    // The home went away while waiting (a removed DOCKHAND_HOME, a test's scratch one): there
    // is nothing of it to stop, and taking the service's lock would create the folder again.
    if !m.home().root().exists() {
        return Ok(());
    }
    m.stop_if_idle(service, true).await?;
    Ok(())
}
