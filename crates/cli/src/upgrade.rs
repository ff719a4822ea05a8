//! `upgrade`: major-version upgrades, their rollback and the removal of the data they keep.

use dockhand_core::{CoreError, Manager, Result};

use crate::output::ProgressView;

pub enum Action {
    To { to: String, image: Option<String> },
    Rollback,
    Finish { yes: bool },
    Status,
}

pub async fn run(m: &Manager, service: &str, action: Action, json: bool) -> Result<()> {
    let view = ProgressView::new(json);
    let progress = |p| view.show(p);
    match action {
        Action::To { to, image } => {
            let r = m.upgrade(service, &to, image.as_deref(), &progress).await;
            view.done();
            let r = r?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r).unwrap());
            } else {
                println!(
                    "{} upgraded from {} to {} on port {}: {} databases, {} tables, {} rows verified \
                     ({} backups first; projects waited {:.1} s, the server was down {:.1} s, {:.1} s in all)",
                    r.service,
                    r.from_version,
                    r.to_version,
                    r.host_port,
                    r.databases,
                    r.tables,
                    r.rows,
                    r.backups,
                    r.blocked_ms as f64 / 1000.0,
                    r.switch_ms as f64 / 1000.0,
                    r.took_ms as f64 / 1000.0
                );
                println!(
                    "the {} data is kept in volume {}: `dockhand upgrade --rollback {}` goes back, \
                     `dockhand upgrade --finish {}` removes it",
                    r.from_version, r.kept_volume, r.service, r.service
                );
            }
        }
        Action::Rollback => {
            let r = m.rollback_upgrade(service, &progress).await;
            view.done();
            let r = r?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r).unwrap());
            } else {
                println!(
                    "{} rolled back from {} to {} ({} backups of the {} databases first); \
                     the {} data is kept in volume {} until `dockhand upgrade --finish {}`",
                    r.service,
                    r.from_version,
                    r.version,
                    r.backups,
                    r.from_version,
                    r.from_version,
                    r.kept_volume,
                    r.service
                );
            }
        }
        Action::Finish { yes } => {
            let Some(u) = m.upgrade_status(service)? else {
                return Err(CoreError::InvalidInput(format!(
                    "'{service}' keeps no data from an upgrade"
                )));
            };
            if !yes {
                let confirmed = crate::output::typed_confirmation(
                    &format!(
                        "This deletes the data '{}' kept from its upgrade ({} → {}). Type the service's name to confirm: ",
                        u.service, u.from_version, u.to_version
                    ),
                    &[u.service.as_str()],
                    format!(
                        "--finish deletes the data '{}' kept from its upgrade; confirm with --yes when not at a terminal. Nothing was changed",
                        u.service
                    ),
                )?;
                if !confirmed {
                    return Err(CoreError::InvalidInput(
                        "not confirmed; nothing was changed".into(),
                    ));
                }
            }
            let r = m.finish_upgrade(service).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r).unwrap());
            } else {
                println!("{}: removed volume {}", r.service, r.removed_volume);
            }
        }
        Action::Status => {
            let u = m.upgrade_status(service)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&u).unwrap());
            } else {
                match u {
                    None => println!("{service}: no upgrade on record"),
                    Some(u) => println!(
                        "{}: {} → {} ({}); old data {}, new data {}",
                        u.service,
                        u.from_version,
                        u.to_version,
                        serde_json::to_value(u.step).unwrap().as_str().unwrap_or(""),
                        u.from_volume,
                        u.to_volume
                    ),
                }
            }
        }
    }
    Ok(())
}
