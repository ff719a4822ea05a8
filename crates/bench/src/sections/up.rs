//! `up`: time from `dockhand up` (a stopped service, data and image present) to healthy, next to
//! the raw baseline in the same run — `docker start` of the same container and a tight loop of
//! the same query until it answers.

use std::time::Instant;

use dockhand_core::engine::Engine;
use dockhand_core::ServiceSpec;
use serde_json::{json, Value};

use super::Ctx;
use crate::commands::{median, ms, ms_list, Result};
use crate::target::target_of;

pub(crate) fn run(ctx: &Ctx) -> Result<Value> {
    let cli = &ctx.cli;
    println!(
        "{:<16} {:>12} {:>12} {:>8} {:>14}",
        "service", "dockhand ms", "raw ms", "ratio", "first start ms"
    );
    let mut rows = Vec::new();
    for spec_text in &ctx.args.kinds {
        let spec = ServiceSpec::parse(spec_text)?;
        let name = format!("bench-up-{}", spec.default_name());
        let container = format!("dockhand-{name}");
        let first_start = cli.timed_in(None, &["up", spec_text, "--name", &name])?;
        let target = target_of(cli, &name, spec.kind)?;
        cli.run(&["down", &name])?;

        let (mut ours, mut raw) = (Vec::new(), Vec::new());
        for i in 0..ctx.args.runs {
            // Alternate the order so drift on a shared machine hits both sides alike.
            for side in if i % 2 == 0 { [0, 1] } else { [1, 0] } {
                if side == 0 {
                    ours.push(cli.timed_in(None, &["up", spec_text, "--name", &name])?);
                    cli.run(&["down", &name])?;
                } else {
                    raw.push(ctx.rt.block_on(async {
                        let t = Instant::now();
                        ctx.engine.start_container(&container).await?;
                        super::until_answers(spec.kind, &target).await?;
                        let took = t.elapsed();
                        ctx.engine
                            .stop_container(&container, spec.kind.spec().stop_timeout)
                            .await?;
                        Ok::<_, crate::commands::BenchError>(took)
                    })?);
                }
            }
        }
        let (o, r) = (median(ours.clone()), median(raw.clone()));
        let ratio = o.as_secs_f64() / r.as_secs_f64();
        println!(
            "{:<16} {:>12.0} {:>12.0} {:>7.2}x {:>14.0}",
            spec_text,
            ms(o),
            ms(r),
            ratio,
            ms(first_start)
        );
        cli.run(&["destroy", &name, "--purge", "--yes"])?;
        rows.push(json!({
            "service": spec_text,
            "dockhand_up_ms_median": ms(o),
            "raw_start_ms_median": ms(r),
            "ratio": ratio,
            "first_start_ms": ms(first_start),
            "dockhand_up_ms": ms_list(&ours),
            "raw_start_ms": ms_list(&raw),
        }));
    }
    Ok(json!({
        "benchmark": "up-to-healthy (data and image present) vs docker start + tight query loop",
        "results": rows,
    }))
}
