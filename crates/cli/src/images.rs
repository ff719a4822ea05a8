//! `images` (list, pull, prune) and `inspect`.

use dockhand_core::{CoreError, Manager, Result};

use crate::args::ImagesCommand;
use crate::output::{ago, human_bytes, table, ProgressView};

pub async fn run(m: &Manager, action: Option<ImagesCommand>, json: bool) -> Result<()> {
    match action {
        None => list(m, json).await,
        Some(ImagesCommand::Pull { specs }) => pull(m, &specs, json).await,
        Some(ImagesCommand::Prune { dry_run, yes }) => prune(m, dry_run, yes, json).await,
    }
}

async fn list(m: &Manager, json: bool) -> Result<()> {
    let images = m.images().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&images).unwrap());
        return Ok(());
    }
    if images.is_empty() {
        println!("no images of Dockhand's kinds yet (`dockhand images pull postgres` fetches one)");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = images
        .iter()
        .map(|i| {
            vec![
                i.kind.to_string(),
                i.reference.clone(),
                human_bytes(i.size_bytes),
                if i.used_by.is_empty() {
                    "—".into()
                } else {
                    i.used_by.join(", ")
                },
                i.digest
                    .as_deref()
                    .and_then(|d| d.split_once('@'))
                    .map_or("(built locally)".into(), |(_, d)| {
                        d.chars().take(19).collect()
                    }),
            ]
        })
        .collect();
    print!(
        "{}",
        table(&["KIND", "IMAGE", "SIZE", "USED BY", "DIGEST"], &rows)
    );
    Ok(())
}

async fn pull(m: &Manager, specs: &[String], json: bool) -> Result<()> {
    let view = ProgressView::new(json);
    let progress = |p| view.show(p);
    let pulled = m.pull_images(specs, &progress).await;
    view.done();
    let pulled = pulled?;
    if json {
        println!("{}", serde_json::json!({ "pulled": pulled }));
    } else {
        for p in pulled {
            println!("pulled {p}");
        }
    }
    Ok(())
}

async fn prune(m: &Manager, dry_run: bool, yes: bool, json: bool) -> Result<()> {
    if !dry_run && !yes {
        let would = m.prune_images(true).await?;
        if would.removed.is_empty() {
            println!("nothing to remove: every image of Dockhand's kinds is in use");
            return Ok(());
        }
        let list: Vec<String> = would.removed.iter().map(|i| i.reference.clone()).collect();
        let confirmed = crate::output::typed_confirmation(
            &format!("Remove {}? Type yes to confirm: ", list.join(", ")),
            &["yes"],
            format!(
                "images prune would remove {}; confirm with --yes when not at a terminal (or see --dry-run). Nothing was removed",
                list.join(", ")
            ),
        )?;
        if !confirmed {
            return Err(CoreError::InvalidInput(
                "not confirmed; nothing was removed".into(),
            ));
        }
    }
    let r = m.prune_images(dry_run).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap());
        return Ok(());
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    for i in &r.removed {
        println!("{verb} {} ({})", i.reference, human_bytes(i.size_bytes));
    }
    for i in &r.kept {
        println!("kept {} (used by {})", i.reference, i.used_by.join(", "));
    }
    for (i, why) in &r.refused {
        println!("kept {} (Docker would not remove it: {why})", i.reference);
    }
    if r.removed.is_empty() {
        println!("nothing {verb}");
    }
    Ok(())
}

pub async fn inspect(m: &Manager, service: &str, events: usize, json: bool) -> Result<()> {
    let i = m.inspect(service, events).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&i).unwrap());
        return Ok(());
    }
    let d = &i.details;
    let v = &d.view;
    let line = |k: &str, val: String| println!("{k:<16}{val}");
    line(
        "service",
        format!("{} ({} {})", v.name, v.kind.spec().display_name, v.version),
    );
    line(
        "state",
        match &v.detail {
            Some(r) => format!("{} — {r}", v.state),
            None => v.state.to_string(),
        },
    );
    line("image", d.view.image.clone());
    line(
        "digest",
        i.image_digest
            .clone()
            .unwrap_or_else(|| "(built locally, no registry digest)".into()),
    );
    line(
        "port",
        format!("{}:{} → {}", v.host, v.host_port, d.container_port),
    );
    line(
        "network",
        format!("{} (aliases: {})", d.network, i.network_aliases.join(", ")),
    );
    line(
        "volume",
        format!(
            "{} ({})",
            d.volume,
            d.volume_bytes
                .map_or("size unknown while stopped".into(), human_bytes)
        ),
    );
    line("mode", v.mode.describe().to_string());
    let limit = dockhand_core::facade::memory_text(v.memory_limit_mb);
    line(
        "memory",
        match d.memory_bytes {
            Some(u) => format!("{} in use; limit {limit}", human_bytes(u)),
            None => format!("— (not running); limit {limit}"),
        },
    );
    if let Some(why) = &v.lifetime {
        line("lifetime", why.clone());
    }
    line(
        "consumers",
        if v.consumers.is_empty() && !v.pinned {
            "nobody".into()
        } else {
            let mut c = v.consumers.clone();
            if v.pinned {
                c.insert(0, "pinned (up)".into());
            }
            c.join(", ")
        },
    );
    line(
        "databases",
        d.databases
            .iter()
            .map(|db| match &db.project {
                Some(p) => format!("{} ({p})", db.name),
                None => db.name.clone(),
            })
            .collect::<Vec<_>>()
            .join(", "),
    );
    line(
        "last health",
        i.last_health
            .as_ref()
            .map_or("no health event yet".into(), |e| {
                format!("{} {} — {}", ago(e.at_ms), e.kind, e.message)
            }),
    );
    if let Some(u) = &i.upgrade {
        line(
            "upgrade",
            format!(
                "{} → {} ({:?}); old data {}, new data {}",
                u.from_version, u.to_version, u.step, u.from_volume, u.to_volume
            ),
        );
    }
    println!("recent events:");
    for e in &i.events {
        println!("  {}  {:<14} {}", ago(e.at_ms), e.kind, e.message);
    }
    Ok(())
}
