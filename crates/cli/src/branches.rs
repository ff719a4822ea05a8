//! `dockhand branch list|create|delete|prune|hook`: a database per git branch.

use dockhand_core::facade::{BranchMade, BranchSource, ProjectRow};
use dockhand_core::{CoreError, Manager, Result};

use crate::args::BranchCommand;
use crate::output::{ago, human_bytes, table, timestamp};

fn project(m: &Manager, name: Option<String>) -> Result<ProjectRow> {
    m.project_for(name.as_deref(), &crate::projects::cwd()?)
}

/// What `run`, `env`, `url` and `connect` say on stderr when they made the checked-out
/// branch's databases on first use.
pub fn say_made(made: &BranchMade) {
    eprintln!(
        "dockhand: git branch '{}' got its own database ({}), copied from {} in {} ms",
        made.branch,
        made.parts
            .iter()
            .map(|p| format!("{} on {} as {}", p.database, p.service, p.copy))
            .collect::<Vec<_>>()
            .join(", "),
        made.from,
        made.took_ms
    );
    for s in &made.shared {
        eprintln!("dockhand: {s}");
    }
}

fn confirm(prompt: String, off_terminal: String) -> Result<()> {
    if crate::output::typed_confirmation(&prompt, &["y", "Y", "yes", "YES", "Yes"], off_terminal)? {
        Ok(())
    } else {
        Err(CoreError::InvalidInput(
            "not confirmed; nothing was changed".into(),
        ))
    }
}

pub async fn branch(m: &Manager, cmd: BranchCommand, json: bool) -> Result<()> {
    match cmd {
        BranchCommand::List { project: p } => {
            let p = project(m, p)?;
            let list = m.branches(&p).await?;
            if json {
                println!("{}", serde_json::to_string(&list).expect("serializable"));
                return Ok(());
            }
            let at = &list.checkout;
            println!(
                "project {}: on {}{}; main branch {} uses {}{}",
                p.name,
                at.branch,
                if at.detached { " (HEAD detached)" } else { "" },
                at.main,
                list.main_databases.join(", "),
                sessions_words(list.main_sessions)
            );
            for s in &list.shared {
                println!("shared by every branch: {s}");
            }
            if list.branches.is_empty() {
                println!("no other branch has a database yet (each gets one on first use)");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .branches
                .iter()
                .map(|b| {
                    vec![
                        format!("{}{}", if b.checked_out { "* " } else { "  " }, b.branch),
                        b.parent.clone().unwrap_or_default(),
                        format!("{} ({})", timestamp(b.created_at_ms), ago(b.created_at_ms)),
                        human_bytes(b.size_bytes.max(0) as u64),
                        b.parts
                            .iter()
                            .map(|x| x.copy.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                        b.sessions.to_string(),
                        if b.in_git { "" } else { "gone from git" }.to_string(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(
                    &[
                        "BRANCH",
                        "FROM",
                        "MADE",
                        "SIZE",
                        "DATABASES",
                        "SESSIONS",
                        ""
                    ],
                    &rows
                )
            );
            Ok(())
        }
        BranchCommand::Create {
            branch,
            project: p,
            from,
            point,
            end_sessions,
        } => {
            let p = project(m, p)?;
            let source = match (from, point) {
                (Some(b), _) => BranchSource::Branch(b),
                (None, Some(pt)) => BranchSource::Point(pt),
                (None, None) => BranchSource::Parent,
            };
            let made = m
                .create_branch(&p, branch.as_deref(), &source, end_sessions)
                .await?;
            if json {
                println!("{}", serde_json::to_string(&made).expect("serializable"));
            } else {
                say_made(&made);
            }
            Ok(())
        }
        BranchCommand::Delete {
            branch,
            project: p,
            yes,
        } => {
            let p = project(m, p)?;
            if !yes {
                confirm(
                    format!(
                        "This drops the databases of branch '{branch}' of project {} (their data \
                         goes). Continue? [y/N] ",
                        p.name
                    ),
                    "`branch delete` drops the branch's data; confirm with --yes when not at a \
                     terminal. Nothing was changed"
                        .into(),
                )?;
            }
            m.delete_branch(&p, &branch).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"project": p.name, "deleted": branch})
                );
            } else {
                println!(
                    "the databases of branch '{branch}' of project {} were dropped",
                    p.name
                );
            }
            Ok(())
        }
        BranchCommand::Prune { project: p, yes } => {
            let p = project(m, p)?;
            let gone: Vec<_> = m
                .branches(&p)
                .await?
                .branches
                .into_iter()
                .filter(|b| !b.in_git)
                .collect();
            if gone.is_empty() {
                if json {
                    println!("{}", serde_json::json!({"project": p.name, "deleted": []}));
                } else {
                    println!("every branch with a database is still in git; nothing to prune");
                }
                return Ok(());
            }
            if !yes {
                let list: Vec<String> = gone
                    .iter()
                    .map(|b| {
                        format!(
                            "  {} ({})",
                            b.branch,
                            human_bytes(b.size_bytes.max(0) as u64)
                        )
                    })
                    .collect();
                confirm(
                    format!(
                        "These branches are gone from git; their databases will be dropped:\n{}\nContinue? [y/N] ",
                        list.join("\n")
                    ),
                    format!(
                        "`branch prune` would drop the databases of {} branch(es) gone from git; \
                         confirm with --yes when not at a terminal. Nothing was changed",
                        gone.len()
                    ),
                )?;
            }
            let mut deleted = Vec::new();
            for b in &gone {
                m.delete_branch(&p, &b.branch).await?;
                if !json {
                    println!(
                        "dropped the databases of branch '{}' ({})",
                        b.branch,
                        human_bytes(b.size_bytes.max(0) as u64)
                    );
                }
                deleted.push(b.branch.clone());
            }
            if json {
                println!(
                    "{}",
                    serde_json::json!({"project": p.name, "deleted": deleted})
                );
            }
            Ok(())
        }
        BranchCommand::Hook { project: p } => {
            let p = project(m, p)?;
            let program = std::env::current_exe()?;
            let path = m.install_branch_hook(&p, &program)?;
            if json {
                println!("{}", serde_json::json!({"hook": path}));
            } else {
                println!(
                    "installed {}: after each branch checkout, .env names that branch's database",
                    path.display()
                );
            }
            Ok(())
        }
    }
}

/// The main branch's open sessions, said when there are any.
fn sessions_words(n: i64) -> String {
    if n > 0 {
        format!(" ({n} session(s) connected)")
    } else {
        String::new()
    }
}
