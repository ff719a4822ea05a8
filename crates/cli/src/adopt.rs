//! `dockhand detect` and `dockhand adopt`: database containers Dockhand did not create.

use std::io::BufRead;

use dockhand_core::facade::Secret;
use dockhand_core::{CoreError, Manager, Result};

use crate::output::table;

pub async fn detect(m: &Manager, json: bool) -> Result<()> {
    let found = m.detect().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&found).unwrap());
        return Ok(());
    }
    if found.is_empty() {
        println!("No database containers outside Dockhand.");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|d| {
            vec![
                d.container.clone(),
                format!(
                    "{} {}",
                    d.kind.spec().display_name,
                    d.version.as_deref().unwrap_or("?")
                ),
                d.host_port
                    .map_or("not published".into(), |p| p.to_string()),
                if d.running { "running" } else { "stopped" }.into(),
                d.volumes.join(", "),
                match (&d.adopted_as, &d.blocked, &d.credentials) {
                    (Some(s), _, _) => format!("adopted as '{s}'"),
                    (None, Some(why), _) => format!("cannot be adopted: {why}"),
                    (None, None, Some(c)) => {
                        format!("`dockhand adopt {}` (password {c})", d.container)
                    }
                    (None, None, None) => format!("`dockhand adopt {}`", d.container),
                },
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["CONTAINER", "SERVER", "PORT", "STATE", "DATA", "ADOPTION"],
            &rows
        )
    );
    Ok(())
}

pub async fn adopt(
    m: &Manager,
    container: &str,
    name: Option<&str>,
    password_stdin: bool,
    json: bool,
) -> Result<()> {
    // From standard input, never the command line (argv is readable by every user).
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let p = line.trim_end_matches(['\n', '\r']).to_string();
        if p.is_empty() {
            return Err(CoreError::InvalidInput(
                "--password-stdin read an empty line; pipe the password in (`… | dockhand adopt NAME --password-stdin`)".into(),
            ));
        }
        Some(Secret::new(p))
    } else {
        None
    };
    let row = m.adopt(container, name, password).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&row).unwrap());
        return Ok(());
    }
    println!(
        "{container} adopted as '{}' ({} {}, 127.0.0.1:{}); its superuser password is in the OS keychain.",
        row.name,
        row.kind.spec().display_name,
        row.version,
        row.host_port
    );
    println!(
        "Attach projects to it (`dockhand attach {}`), back it up (`dockhand backup {}`). Dockhand never re-creates \
         or removes it; `dockhand destroy {}` forgets it and leaves it as it is.",
        row.name, row.name, row.name
    );
    Ok(())
}
