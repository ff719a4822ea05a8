//! `dockhand db list|create|drop`: the databases of one service.

use dockhand_core::{CoreError, Manager, Result};

use crate::args::DbCommand;
use crate::output::table;

pub async fn db(m: &Manager, cmd: DbCommand, json: bool) -> Result<()> {
    match cmd {
        DbCommand::List { service } => {
            let dbs = m.databases(&service).await?;
            if json {
                println!("{}", serde_json::to_string(&dbs).expect("serializable"));
                return Ok(());
            }
            let rows: Vec<Vec<String>> = dbs
                .iter()
                .map(|d| {
                    let owner = match (&d.project, d.server_own) {
                        (Some(p), _) => format!("project {p}"),
                        (None, true) => "the server's own".into(),
                        // Made with the admin's tools: by hand, or by `restore --into`.
                        (None, false) => "no project (the admin's)".into(),
                    };
                    vec![
                        d.name.clone(),
                        owner,
                        d.user.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            print!("{}", table(&["DATABASE", "OWNER", "USER"], &rows));
            Ok(())
        }
        DbCommand::Create { service, name } => {
            let att = m.create_database(&service, &name).await?;
            if json {
                println!("{}", serde_json::to_string(&att).expect("serializable"));
            } else {
                println!(
                    "database '{}' created on {} with user '{}' (project '{}'); `dockhand url {}` prints its URL",
                    att.db_name, att.service, att.db_user, att.project, att.project
                );
            }
            Ok(())
        }
        DbCommand::Drop { service, name, yes } => {
            let row = m.resolve(&service)?;
            if !yes && !confirm_drop(&row.name, &name)? {
                return Err(CoreError::InvalidInput(
                    "not confirmed; nothing was dropped".into(),
                ));
            }
            let backup = m.drop_database(&row.name, &name, &|_| {}).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"service": row.name, "database": name, "backup": backup})
                );
            } else {
                match backup {
                    Some(b) => println!(
                        "database '{name}' dropped from {}; backup {} first: {}",
                        row.name, b.id, b.path
                    ),
                    None => println!(
                        "database '{name}' dropped from {} (its backup was taken by an earlier, interrupted run)",
                        row.name
                    ),
                }
            }
            Ok(())
        }
    }
}

/// Asks as `destroy --purge` does: the name typed back at a terminal, `--yes` elsewhere.
fn confirm_drop(service: &str, name: &str) -> Result<bool> {
    crate::output::typed_confirmation(
        &format!("This drops database '{name}' of '{service}' (a backup is taken first). Type the database name to confirm: "),
        &[name],
        format!("`db drop` deletes database '{name}' of '{service}' (after a backup); confirm with --yes when not at a terminal. Nothing was dropped"),
    )
}
