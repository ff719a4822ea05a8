//! `dockhand external`: a project's databases on servers Dockhand does not run.

use std::io::{BufRead, IsTerminal};

use dockhand_core::facade::Secret;
use dockhand_core::{CoreError, Kind, Manager, Result};

use crate::args::ExternalCommand;
use crate::output::table;

pub async fn run(m: &Manager, cmd: ExternalCommand, json: bool) -> Result<()> {
    let here = std::env::current_dir()?;
    match cmd {
        ExternalCommand::Add {
            kind,
            project,
            name,
        } => {
            let kind = Kind::parse(&kind)?;
            let p = m.project_for(project.as_deref(), &here)?;
            let url = read_url(kind)?;
            let row = m.add_external(&p, kind, &url, name.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&row).unwrap());
            } else {
                println!(
                    "{}: external {} database '{}' at {}:{} as '{}' added as '{}'; its URL is in the OS keychain.",
                    p.name,
                    kind.spec().display_name,
                    row.db_name,
                    row.host,
                    row.port,
                    row.db_user,
                    row.name
                );
                println!("`dockhand env` hands it out with the project's other variables; Dockhand never starts, stops or backs it up.");
            }
        }
        ExternalCommand::List { project } => {
            let p = match project {
                Some(n) => Some(m.project_for(Some(&n), &here)?.name),
                None => None,
            };
            let list = m.externals(p.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list).unwrap());
                return Ok(());
            }
            if list.is_empty() {
                println!("No external databases. `dockhand external add postgres` adds one (its URL on standard input).");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|e| {
                    vec![
                        e.row.name.clone(),
                        e.row.project.clone(),
                        e.row.kind.clone(),
                        format!("{}:{}/{}", e.row.host, e.row.port, e.row.db_name),
                        e.row.db_user.clone(),
                        e.problem
                            .as_ref()
                            .map_or("logs in".into(), |p| format!("does not answer: {p}")),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(&["NAME", "PROJECT", "KIND", "WHERE", "USER", "NOW"], &rows)
            );
        }
        ExternalCommand::Remove { name, project } => {
            // External names are unique across projects: the name alone says whose it is.
            let owner = match project {
                Some(n) => n,
                None => m.external_project(&name)?,
            };
            let p = m.project_for(Some(&owner), &here)?;
            let row = m.remove_external(&p, &name)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&row).unwrap());
            } else {
                println!(
                    "{}: external database '{}' forgotten (its server and data were not touched)",
                    p.name, row.name
                );
            }
        }
    }
    Ok(())
}

/// The URL, from standard input: typed without echo at a terminal, else one line of a pipe.
fn read_url(kind: Kind) -> Result<Secret> {
    let example = format!(
        "{}://USER:PASSWORD@HOST:PORT/DATABASE",
        kind.spec().url_scheme
    );
    let line = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("URL ({example}), not shown: "))?
    } else {
        let mut l = String::new();
        std::io::stdin().lock().read_line(&mut l)?;
        l
    };
    let url = line.trim().to_string();
    if url.is_empty() {
        return Err(CoreError::InvalidInput(format!(
            "no URL on standard input; pipe it in (`printf '%s\\n' \"$URL\" | dockhand external add {kind}`) or type it at the prompt — e.g. {example}"
        )));
    }
    Ok(Secret::new(url))
}
