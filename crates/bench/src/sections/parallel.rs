//! `parallel`: `dockhand up` of three stopped services at once, against the slowest of them
//! alone; and the same for the raw baseline (`docker start` + a tight query loop), to show what
//! the machine itself allows when three servers start on its cores at once.

use std::time::{Duration, Instant};

use dockhand_core::engine::Engine;
use dockhand_core::probe::ProbeTarget;
use dockhand_core::{Kind, ServiceSpec};
use serde_json::{json, Value};

use super::{until_answers, Ctx};
use crate::commands::{median, ms, Result};
use crate::target::target_of;

const SPECS: [(&str, &str); 3] = [
    ("bench-par-pg", "postgres:15"),
    ("bench-par-redis", "redis:7"),
    ("bench-par-maria", "mariadb:10.11"),
];

pub(crate) fn run(ctx: &Ctx) -> Result<Value> {
    let cli = &ctx.cli;
    let runs = ctx.args.runs.min(5);
    let engine = ctx.engine;
    let mut targets: Vec<(&str, Kind, ProbeTarget)> = Vec::new();
    for (name, spec) in SPECS {
        cli.run(&["up", spec, "--name", name])?;
        let kind = ServiceSpec::parse(spec)?.kind;
        targets.push((name, kind, target_of(cli, name, kind)?));
        cli.run(&["down", name])?;
    }
    let pairs: Vec<String> = SPECS.iter().map(|(n, s)| format!("{n}={s}")).collect();
    let mut up_all = vec!["up"];
    up_all.extend(pairs.iter().map(String::as_str));
    let raw_start = |name: &str, kind: Kind, t: &ProbeTarget| {
        let c = format!("dockhand-{name}");
        let t = t.clone();
        async move {
            let start = Instant::now();
            engine.start_container(&c).await?;
            until_answers(kind, &t).await?;
            Ok::<_, crate::commands::BenchError>(start.elapsed())
        }
    };
    let stop_all = || async {
        for (name, kind, _) in &targets {
            engine
                .stop_container(&format!("dockhand-{name}"), kind.spec().stop_timeout)
                .await?;
        }
        Ok::<_, crate::commands::BenchError>(())
    };
    let (mut all, mut raw_all) = (Vec::new(), Vec::new());
    let mut alone: Vec<Vec<Duration>> = vec![Vec::new(); SPECS.len()];
    let mut raw_alone: Vec<Vec<Duration>> = vec![Vec::new(); SPECS.len()];
    for _ in 0..runs {
        all.push(cli.timed_in(None, &up_all)?);
        for (name, _) in SPECS {
            cli.run(&["down", name])?;
        }
        raw_all.push(ctx.rt.block_on(async {
            let t = Instant::now();
            // Polled together: the three start at the same time.
            let each = futures_util::future::join_all(
                targets.iter().map(|(n, k, tg)| raw_start(n, *k, tg)),
            )
            .await;
            let took = t.elapsed();
            each.into_iter().collect::<Result<Vec<_>>>()?;
            stop_all().await?;
            Ok::<_, crate::commands::BenchError>(took)
        })?);
        for (i, (name, spec)) in SPECS.iter().enumerate() {
            alone[i].push(cli.timed_in(None, &["up", spec, "--name", name])?);
            cli.run(&["down", name])?;
            let (n, k, t) = &targets[i];
            raw_alone[i].push(ctx.rt.block_on(async {
                let took = raw_start(n, *k, t).await?;
                stop_all().await?;
                Ok::<_, crate::commands::BenchError>(took)
            })?);
        }
    }
    let slowest = |v: &Vec<Vec<Duration>>| {
        v.iter()
            .map(|x| median(x.clone()))
            .max()
            .unwrap_or_default()
    };
    let (together, slow) = (median(all.clone()), slowest(&alone));
    let (raw_together, raw_slow) = (median(raw_all.clone()), slowest(&raw_alone));
    let ratio = together.as_secs_f64() / slow.as_secs_f64();
    let raw_ratio = raw_together.as_secs_f64() / raw_slow.as_secs_f64();
    for (name, _) in SPECS {
        cli.run(&["destroy", name, "--purge", "--yes"])?;
    }
    println!(
        "three services started together: dockhand {:.0} ms vs its slowest alone {:.0} ms: {ratio:.2}x (target <= 1.3x)",
        ms(together),
        ms(slow)
    );
    println!(
        "                          raw docker: {:.0} ms vs its slowest alone {:.0} ms: {raw_ratio:.2}x (the machine's own cost of starting three at once)",
        ms(raw_together),
        ms(raw_slow)
    );
    Ok(json!({
        "together_ms_median": ms(together),
        "slowest_alone_ms_median": ms(slow),
        "ratio": ratio,
        "raw_together_ms_median": ms(raw_together),
        "raw_slowest_alone_ms_median": ms(raw_slow),
        "raw_ratio": raw_ratio,
        "alone_ms_medians": alone.iter().map(|v| ms(median(v.clone()))).collect::<Vec<_>>(),
    }))
}
