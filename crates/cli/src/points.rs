//! `dockhand point take|list|reset|delete`: restore points of a project.

use dockhand_core::{CoreError, Manager, Result};

use crate::args::PointCommand;
use crate::output::{ago, human_bytes, table, timestamp, ProgressView};

/// The project named, else the current folder's.
fn project(m: &Manager, name: Option<String>) -> Result<String> {
    let here = crate::projects::cwd()?;
    Ok(m.project_for(name.as_deref(), &here)?.name)
}

pub async fn point(m: &Manager, cmd: PointCommand, json: bool) -> Result<()> {
    match cmd {
        PointCommand::Take {
            name,
            project: p,
            end_sessions,
        } => {
            let p = project(m, p)?;
            let taken = m
                .take_restore_point(&p, name.as_deref(), end_sessions)
                .await?;
            if json {
                println!("{}", serde_json::to_string(&taken).expect("serializable"));
                return Ok(());
            }
            println!(
                "restore point '{}' of project {} taken in {} ms ({}):",
                taken.point.label,
                p,
                taken.took_ms,
                human_bytes(taken.point.size_bytes.max(0) as u64)
            );
            for part in &taken.point.parts {
                println!(
                    "  {} on {} (kept as {})",
                    part.database, part.service, part.copy
                );
            }
            for (what, why) in &taken.not_included {
                println!("  not included: {what} — {why}");
            }
            println!(
                "reset to it with `dockhand point reset {} -p {p}`",
                taken.point.label
            );
            Ok(())
        }
        PointCommand::List { project: p } => {
            let p = project(m, p)?;
            let points = m.restore_points(Some(&p))?;
            if json {
                println!("{}", serde_json::to_string(&points).expect("serializable"));
                return Ok(());
            }
            if points.is_empty() {
                println!("project {p} has no restore point; take one with `dockhand point take NAME -p {p}`");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = points
                .iter()
                .map(|v| {
                    vec![
                        v.label.clone(),
                        format!("{} ({})", timestamp(v.created_at_ms), ago(v.created_at_ms)),
                        human_bytes(v.size_bytes.max(0) as u64),
                        v.parts
                            .iter()
                            .map(|x| format!("{} on {}", x.database, x.service))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]
                })
                .collect();
            print!("{}", table(&["NAME", "TAKEN", "SIZE", "DATABASES"], &rows));
            Ok(())
        }
        PointCommand::Reset {
            name,
            project: p,
            yes,
        } => {
            let p = project(m, p)?;
            if !yes
                && !crate::output::typed_confirmation(
                    &format!(
                        "This puts project {p}'s databases back to restore point '{name}' (each is \
                         backed up first; the project's open sessions on them are ended). Continue? [y/N] "
                    ),
                    &["y", "Y", "yes", "YES", "Yes"],
                    format!(
                        "`point reset` replaces what project {p}'s databases hold (after a backup); \
                         confirm with --yes when not at a terminal. Nothing was changed"
                    ),
                )?
            {
                return Err(CoreError::InvalidInput("not confirmed; nothing was changed".into()));
            }
            let view = ProgressView::new(json);
            let progress = |x| view.show(x);
            let done = m.reset_to_restore_point(&p, &name, &progress).await?;
            if json {
                println!("{}", serde_json::to_string(&done).expect("serializable"));
                return Ok(());
            }
            println!(
                "project {p} reset to restore point '{name}' in {} ms:",
                done.took_ms
            );
            for (db, backup) in &done.databases {
                match backup {
                    Some(b) => println!("  {db} (what it held before: backup {b})"),
                    None => println!("  {db}"),
                }
            }
            Ok(())
        }
        PointCommand::Delete { name, project: p } => {
            let p = project(m, p)?;
            m.delete_restore_point(&p, &name).await?;
            if json {
                println!("{}", serde_json::json!({"project": p, "deleted": name}));
            } else {
                println!("restore point '{name}' of project {p} deleted");
            }
            Ok(())
        }
    }
}
