//! `dockhand`: the command line over Dockhand's core.

mod adopt;
mod args;
mod backups;
mod branches;
mod complete;
mod databases;
mod external;
mod images;
mod import_export;
mod install_files;
mod output;
mod points;
mod projects;
mod tasks;
mod upgrade;
mod watch;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::FromArgMatches;
use dockhand_core::facade::refusal;
use dockhand_core::facade::ProgressFn;
use dockhand_core::facade::SettingKey;
use dockhand_core::facade::{Mode, ServiceOptions};
use dockhand_core::{Action, CoreError, Manager, Result, UpRequest};
use futures_util::StreamExt;

use args::{Cli, Command, ConfigCommand, InternalCommand};
use output::{print_error, table, ProgressView};

/// `logs` without `--follow` returns what Docker has; this bounds a stalled engine.
const LOGS_LIMIT: Duration = Duration::from_secs(30);

/// `dockhand events | head` closes our stdout early: end quietly as other Unix tools do (exit
/// 141, "killed by SIGPIPE") instead of panicking. SIGPIPE itself stays ignored (Rust's default),
/// because a write to a vanished Docker socket must be an error we report, not a silent death.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    // A TAB press in a shell with Dockhand's completion installed: answered, then exits.
    complete::answer_if_asked();
    let cli = match Cli::from_arg_matches(&args::command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // These print what the packages install; they need neither Docker nor the state database.
    match &cli.command {
        Command::Completions { shell } => return install_files::print_completions(*shell),
        Command::Internal(InternalCommand::Man) => return install_files::print_man_page(),
        _ => {}
    }
    dockhand_core::facade::init_logging();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let json = cli.json;
    let code = rt.block_on(async move {
        let held = match &cli.command {
            Command::Run {
                project,
                command,
                clones,
                point,
                end_sessions,
            } => Some(Held::Run(
                project.clone(),
                command.clone(),
                clones.map(|count| projects::CloneAsk {
                    count,
                    point: point.clone(),
                    end_sessions: *end_sessions,
                }),
            )),
            Command::Connect {
                project,
                service,
                args,
            } => Some(Held::Connect(
                project.clone(),
                service.clone(),
                args.clone(),
            )),
            _ => None,
        };
        if let Some(held) = held {
            // `run` and `connect` handle Ctrl-C themselves: the command gets it, Dockhand stays
            // to release leases.
            return match run_command(held).await {
                Ok(code) => code,
                Err(e) => {
                    print_error(&e, json);
                    e.exit_code()
                }
            };
        }
        tokio::select! {
            r = run(cli) => match r {
                Ok(()) => 0,
                Err(e) => {
                    print_error(&e, json);
                    e.exit_code()
                }
            },
            _ = tokio::signal::ctrl_c() => {
                // Whatever was half done is picked up by the next command's reconciliation.
                eprintln!("\ninterrupted");
                CoreError::Interrupted.exit_code()
            }
        }
    });
    // Do not wait for stray background tasks (a follow stream) on the way out.
    rt.shutdown_timeout(Duration::from_millis(100));
    ExitCode::from(code.clamp(0, 255) as u8)
}

/// A command that runs something while holding a project's services.
enum Held {
    Run(Option<String>, Vec<String>, Option<projects::CloneAsk>),
    Connect(Option<String>, Option<String>, Vec<String>),
}

async fn run_command(held: Held) -> Result<i32> {
    let m = Arc::new(dockhand_core::open_default().await?);
    m.reconcile().await?;
    match held {
        Held::Run(project, command, clones) => projects::run(&m, project, command, clones).await,
        Held::Connect(project, service, args) => {
            projects::connect(&m, project, service, args).await
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    if let Command::Recover = &cli.command {
        dockhand_core::recover_default()?;
    }
    let m = Arc::new(dockhand_core::open_default().await?);
    if let Command::Internal(InternalCommand::StopIdle { service, after }) = &cli.command {
        return projects::stop_idle(&m, service, *after).await;
    }
    m.reconcile().await?;
    match cli.command {
        Command::Run { .. }
        | Command::Connect { .. }
        | Command::Internal(_)
        | Command::Completions { .. } => {
            unreachable!("handled above")
        }
        Command::Project(cmd) => projects::project(&m, cmd, cli.json).await,
        Command::Attach {
            targets,
            project,
            dedicated,
        } => projects::attach(&m, targets, project, dedicated, cli.json).await,
        Command::Detach { service, project } => projects::detach(&m, service, project).await,
        Command::Env {
            project,
            audience,
            write,
        } => projects::env(&m, project, &audience, write, cli.json).await,
        Command::Url { name, service } => {
            // Without a name, the project of this folder (as `env` and `run` do).
            let name = match name {
                Some(n) => n,
                None => m.project_for(None, &projects::cwd()?)?.name,
            };
            projects::url(&m, &name, service.as_deref(), cli.json).await
        }
        Command::Config(ConfigCommand::Show) => {
            let values = m.setting_values()?;
            if cli.json {
                let s = m.settings()?;
                println!(
                    "{}",
                    serde_json::json!({"grace_period_secs": s.grace_period_secs, "connection_limit": s.connection_limit, "home": m.home().root(), "backup": s.backup, "settings": values})
                );
            } else {
                let width = values
                    .iter()
                    .map(|v| v.name.len() + v.value.len() + 3)
                    .max()
                    .unwrap_or(0);
                let mut last_doc = "";
                for v in &values {
                    let line = format!("{} = {}", v.name, v.value);
                    // A family's rows share one doc: said once, on its first row.
                    if v.doc == last_doc {
                        println!("{line}");
                    } else {
                        println!("{line:<width$}   # {}", v.doc);
                    }
                    last_doc = v.doc;
                }
                println!("home = {}", m.home().root().display());
            }
            Ok(())
        }
        Command::Config(ConfigCommand::Set { key, value }) => {
            let key = m.set_setting(&key, &value)?;
            let s = m.settings()?;
            let name = key.name();
            match key {
                SettingKey::GracePeriod => println!("{name} = {} s", s.grace_period_secs),
                SettingKey::ConnectionLimit => println!(
                    "{name} = {}   (applied to each project at its next attach or start)",
                    s.connection_limit
                ),
                SettingKey::DefaultVersion(kind) => {
                    println!("{name} = {}", m.default_version(kind))
                }
                SettingKey::RestartOnFailure(service) => {
                    let on = m.restart_on_failure(&m.resolve(&service)?.name);
                    println!("{name} = {}", if on { "on" } else { "off" })
                }
                SettingKey::Quit => println!("{name} = {}", s.quit.as_str()),
                _ => println!("{name} = {value}"),
            }
            Ok(())
        }
        Command::Backup {
            service,
            database,
            project,
            all,
        } => backups::backup(&m, service, database, project, all, cli.json).await,
        Command::Db(cmd) => databases::db(&m, cmd, cli.json).await,
        Command::Point(cmd) => points::point(&m, cmd, cli.json).await,
        Command::Branch(cmd) => branches::branch(&m, cmd, cli.json).await,
        Command::External(cmd) => external::run(&m, cmd, cli.json).await,
        Command::Backups { service, database } => backups::list(&m, service, database, cli.json),
        Command::Verify { backup } => backups::verify(&m, backup, cli.json).await,
        Command::Restore {
            backup,
            into,
            overwrite,
            yes,
        } => backups::restore(&m, backup, into, overwrite, yes, cli.json).await,
        Command::Import {
            target,
            file,
            replace,
            yes,
        } => import_export::import(&m, &target, &file, replace, yes, cli.json).await,
        Command::Export { target, file } => {
            import_export::export(&m, &target, file, cli.json).await
        }
        Command::Images { action } => images::run(&m, action, cli.json).await,
        Command::Detect => adopt::detect(&m, cli.json).await,
        Command::Adopt {
            container,
            name,
            password_stdin,
        } => adopt::adopt(&m, &container, name.as_deref(), password_stdin, cli.json).await,
        Command::Inspect { service, events } => {
            images::inspect(&m, &service, events, cli.json).await
        }
        Command::Upgrade {
            service,
            to,
            image,
            rollback,
            finish,
            status,
            yes,
        } => {
            let action = match (to, rollback, finish, status) {
                (Some(to), ..) => upgrade::Action::To { to, image },
                (_, true, _, _) => upgrade::Action::Rollback,
                (_, _, true, _) => upgrade::Action::Finish { yes },
                _ => upgrade::Action::Status,
            };
            upgrade::run(&m, &service, action, cli.json).await
        }
        Command::Up {
            specs,
            name,
            port,
            image,
            with,
            ephemeral,
            fast,
            memory,
        } => {
            let options = ServiceOptions {
                mode: (ephemeral || fast).then_some(Mode { ephemeral, fast }),
                memory_mb: memory
                    .as_deref()
                    .map(dockhand_core::facade::parse_memory)
                    .transpose()?,
            };
            up(&m, specs, name, port, image, with, options, cli.json).await
        }
        Command::Set { service, memory } => {
            let mb = dockhand_core::facade::parse_memory(&memory)?;
            let change = m.set_memory(&service, mb).await?;
            if cli.json {
                println!("{}", serde_json::to_string(&change).unwrap());
            } else {
                let text = dockhand_core::facade::memory_text;
                println!(
                    "{}: memory limit {} → {}{}",
                    change.service,
                    text(change.before_mb),
                    text(change.after_mb),
                    if change.applied_live {
                        " (applied to the running server; it was not restarted and keeps its data)"
                    } else if change.recreated {
                        " (this engine cannot change it in place: the container was created again with it; its data was kept)"
                    } else {
                        " (applies from its next start)"
                    }
                );
                if let Some(t) = change.tmpfs_mb {
                    println!(
                        "note: it is ephemeral; its data folder keeps the {} it was created with until it is created again",
                        text(Some(t))
                    );
                }
            }
            Ok(())
        }
        Command::Down { services } => {
            for s in services {
                let row = m.down(&s).await?;
                if !cli.json {
                    if row.mode.ephemeral {
                        println!(
                            "{} stopped and removed (ephemeral): its data, its projects' databases and their passwords are gone",
                            row.name
                        );
                    } else {
                        println!("{} stopped", row.name);
                    }
                }
            }
            Ok(())
        }
        Command::Restart { service } => {
            // The same rule as the tray's and the window's Restart: only a running service.
            let st = m.service_status(&service).await?;
            if let Some(why) = refusal(&st.name, st.state, Action::Restart) {
                return Err(CoreError::InvalidInput(why));
            }
            let view = ProgressView::new(cli.json);
            let out = m.restart(&service, &|p| view.show(p)).await;
            view.done();
            let out = out?;
            if cli.json {
                println!("{}", serde_json::to_string(&out).unwrap());
            } else {
                println!(
                    "{} ready at 127.0.0.1:{} in {} ms",
                    out.name, out.host_port, out.ready_ms
                );
            }
            Ok(())
        }
        Command::Destroy {
            service,
            purge,
            yes,
        } => {
            let row = m.resolve(&service)?;
            if purge && !yes && !confirm_purge(&row.name)? {
                return Err(CoreError::InvalidInput(
                    "not confirmed; nothing was deleted".into(),
                ));
            }
            m.destroy(&row.name, purge).await?;
            if !cli.json {
                if purge {
                    println!("{} destroyed, with its data", row.name);
                } else if row.origin != dockhand_core::facade::Origin::Managed {
                    println!(
                        "Dockhand forgot {} (the container {}); it is left as it was, running or not, with its data — \
                         `dockhand adopt {}` takes it over again",
                        row.name,
                        row.container.as_deref().unwrap_or("?"),
                        row.container.as_deref().unwrap_or("?")
                    );
                } else {
                    println!(
                        "{} destroyed; its data volume is kept (`dockhand up {}:{} --name {}` brings it back, `--purge` deletes it)",
                        row.name, row.kind, row.version, row.name
                    );
                }
            }
            Ok(())
        }
        Command::Status { watch: true } => watch::status_watch(&m, cli.json).await,
        Command::Supervise => watch::supervise(&m, cli.json).await,
        Command::Recover => {
            let services = m.store_services_count()?;
            println!(
                "recovered: a new state database with this home's identity ({}); {services} service(s) found again from their containers. \
                 Add projects again with `dockhand project add` / `dockhand attach` — their databases and passwords are still there",
                m.instance()
            );
            Ok(())
        }
        Command::Status { watch: false } => {
            let st = m.status().await?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&st).unwrap());
                return Ok(());
            }
            if st.is_empty() {
                println!("No services yet. Start one with `dockhand up postgres` (or redis, mariadb, mysql, mongo).");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = st
                .iter()
                .map(|s| {
                    let detail = s.detail.clone().unwrap_or_default();
                    let server = match s.origin {
                        dockhand_core::facade::Origin::Managed => {
                            format!("{} {}", s.kind.spec().display_name, s.version)
                        }
                        other => format!(
                            "{} {} ({})",
                            s.kind.spec().display_name,
                            s.version,
                            other.as_str()
                        ),
                    };
                    let projects = match &s.dedicated_to {
                        Some(p) => format!("{p} (dedicated)"),
                        None => s.projects.len().to_string(),
                    };
                    vec![
                        s.name.clone(),
                        server,
                        format!("{}:{}", s.host, s.host_port),
                        s.state.to_string(),
                        projects,
                        s.lifetime.clone().unwrap_or_default(),
                        s.mode.to_string(),
                        dockhand_core::facade::memory_arg(s.memory_limit_mb),
                        detail.lines().next().unwrap_or("").to_string(),
                    ]
                })
                .collect();
            let header = [
                "NAME",
                "SERVER",
                "ADDRESS",
                "STATE",
                "PROJECTS",
                "WHY IT RUNS",
                "MODE",
                "MEMORY",
                "DETAIL",
            ];
            print!("{}", table(&header, &rows));
            Ok(())
        }
        Command::Logs {
            service,
            follow,
            tail,
        } => logs(&m, &service, follow, tail).await,
        Command::Tasks { all } => tasks::list(&m, all, cli.json),
        Command::Events { service, limit } => {
            if let Some(s) = &service {
                m.resolve(s).ok();
            }
            let ev = m.events(service.as_deref(), limit)?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&ev).unwrap());
                return Ok(());
            }
            let rows: Vec<Vec<String>> = ev
                .iter()
                .map(|e| {
                    vec![
                        output::timestamp(e.at_ms),
                        output::ago(e.at_ms),
                        e.service.clone().unwrap_or_default(),
                        e.kind.clone(),
                        e.message.lines().next().unwrap_or("").to_string(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(&["TIME", "", "SERVICE", "EVENT", "MESSAGE"], &rows)
            );
            Ok(())
        }
    }
}

// One argument per flag of `up`: a struct of them would only restate the command's definition.
#[allow(clippy::too_many_arguments)]
async fn up(
    m: &Arc<Manager>,
    specs: Vec<String>,
    name: Option<String>,
    port: Option<u16>,
    image: Option<String>,
    with: Vec<String>,
    options: ServiceOptions,
    json: bool,
) -> Result<()> {
    if specs.len() > 1 && (name.is_some() || port.is_some() || image.is_some() || !with.is_empty())
    {
        return Err(CoreError::InvalidInput(
            "--name, --port, --image and --with apply to one service; run `dockhand up` once per service to set them".into(),
        ));
    }
    let requests = specs
        .iter()
        .map(|s| {
            // NAME=KIND[:VERSION] names each of several services started together.
            let (own_name, spec) = match s.split_once('=') {
                Some((n, spec)) => (Some(n.to_string()), spec),
                None => (None, s.as_str()),
            };
            // An existing service by its name (`dockhand up redis-7`) starts that service.
            if own_name.is_none() && !spec.contains(':') {
                if let Some(row) = m.service_named(spec)? {
                    return Ok(UpRequest {
                        port,
                        image: image.clone(),
                        options,
                        ..UpRequest::for_service(&row)
                    });
                }
            }
            Ok(UpRequest {
                spec: m.parse_spec(spec)?,
                name: own_name.or_else(|| name.clone()),
                port,
                image: image.clone(),
                options,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // --with goes with one service (checked above).
    let wanted = match requests.first() {
        Some(r) => dockhand_core::facade::parse_extensions(r.spec.kind, &with)?,
        None => Vec::new(),
    };
    // Several services start in parallel: one bar would show them in turn, so lines only.
    let printer = Arc::new(match requests.len() {
        1 => ProgressView::new(json),
        _ => ProgressView::lines(json),
    });
    // Several services start in parallel: each waits for its own readiness.
    let results = futures_util::future::join_all(requests.into_iter().map(|req| {
        let m = m.clone();
        let printer = printer.clone();
        let wanted = wanted.clone();
        async move {
            let report = move |p| printer.show(p);
            let progress: &ProgressFn<'_> = &report;
            let r = m.up_with_extensions(req.clone(), &wanted, progress).await;
            (req, r)
        }
    }))
    .await;
    printer.done();
    let mut first_err = None;
    let mut outcomes = Vec::new();
    for (req, r) in results {
        match r {
            Ok(o) => {
                if !json {
                    let how = if o.already_running {
                        "already running".to_string()
                    } else {
                        format!(
                            "ready in {}",
                            dockhand_core::facade::human_duration(Duration::from_millis(
                                o.ready_ms
                            ))
                        )
                    };
                    println!(
                        "{} ({} {}, {}, memory limit {}) {how} at 127.0.0.1:{} — `dockhand url {}` prints its admin URL",
                        o.name,
                        o.kind.spec().display_name,
                        o.version,
                        o.mode,
                        dockhand_core::facade::memory_text(o.memory_limit_mb),
                        o.host_port,
                        o.name
                    );
                    if let Some(w) = o.mode.warning() {
                        println!("warning: {}: {w}", o.name);
                    }
                    if o.mode.fast {
                        let settings = o.kind.driver().fast_settings();
                        println!(
                            "  fast settings: {}",
                            settings
                                .iter()
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                    }
                }
                outcomes.push(o);
            }
            Err(e) => {
                if !json {
                    eprintln!("error: {}: {e}", req.spec);
                }
                first_err.get_or_insert(e);
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&outcomes).unwrap());
    }
    match first_err {
        // Already printed per service above.
        Some(e) if !json => std::process::exit(e.exit_code()),
        Some(e) => Err(e),
        None => Ok(()),
    }
}

async fn logs(m: &Manager, service: &str, follow: bool, tail: usize) -> Result<()> {
    let mut stream = m.logs(service, Some(tail), follow).await?;
    let drain = async {
        let mut out = std::io::stdout().lock();
        let mut err = std::io::stderr().lock();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            match chunk.stream {
                dockhand_core::facade::OutputStream::Stdout => out.write_all(&chunk.bytes)?,
                dockhand_core::facade::OutputStream::Stderr => err.write_all(&chunk.bytes)?,
            }
            out.flush()?;
        }
        Ok::<(), CoreError>(())
    };
    if follow {
        drain.await
    } else {
        tokio::time::timeout(LOGS_LIMIT, drain).await.map_err(|_| {
            CoreError::Engine(dockhand_core::EngineError::Timeout {
                op: "logs".into(),
                limit: LOGS_LIMIT,
            })
        })?
    }
}

fn confirm_purge(name: &str) -> Result<bool> {
    output::typed_confirmation(
        &format!("This deletes all data of '{name}' for good. Type the service name to confirm: "),
        &[name],
        format!("`destroy --purge` deletes the data of '{name}' for good; confirm with --yes when not at a terminal. Nothing was deleted"),
    )
}
