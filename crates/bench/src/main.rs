//! `dockhand-bench`: Dockhand's figures next to raw Docker baselines measured in the same run.
//!
//! Sections (one module each under `sections/`): `up`, `attach`, `crowd`, `backup`,
//! `supervisor`, `parallel`, `memory`, `scale`. Each runs in its own `DOCKHAND_HOME`; the
//! [`guard::RunGuard`] removes every container and volume a section made, even when it fails.
//!
//!   dockhand-bench [--only up,attach,...] [--runs N] [--json FILE] [--services 1,4,16,64]
//!                  [--projects 10,100,500] [--rows 10000] …
//!   dockhand-bench plot --json FILE --out docs/bench-scale.svg

mod commands;
mod guard;
mod plot;
mod sections;
mod target;

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use dockhand_core::DockerEngine;

use commands::Cli;
use sections::{Ctx, Section};

#[derive(Parser, Debug)]
#[command(
    name = "dockhand-bench",
    about = "Dockhand against raw Docker baselines measured in the same run"
)]
pub(crate) struct Args {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Sections to run (repeat or comma-separate); default: all.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Section>,
    /// Write every section's figures to this JSON file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Measurements per figure (medians are reported); backup uses at most 3, parallel at most 5.
    #[arg(long, default_value_t = 7)]
    pub(crate) runs: usize,
    /// Kinds for the `up` section.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "postgres:15,redis:7,mariadb:10.11"
    )]
    pub(crate) kinds: Vec<String>,
    /// pgbench scale of the `backup` section's database (20 = ~320 MB).
    #[arg(long, default_value_t = 20)]
    pub(crate) pgbench_scale: u32,
    /// pgbench scale of the `copies` section's database (70: about 1 GiB)
    #[arg(long, default_value_t = 70)]
    pub(crate) copy_scale: u32,
    /// Seconds the `supervisor` section measures the idle supervisor.
    #[arg(long, default_value_t = 60)]
    pub(crate) idle_seconds: u64,
    /// Service counts of the supervisor scale curve.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64")]
    pub(crate) services: Vec<usize>,
    /// Seconds each point of the supervisor scale curve is measured.
    #[arg(long, default_value_t = 15)]
    pub(crate) curve_idle_seconds: u64,
    /// Project counts of the command-latency scale curve.
    #[arg(long, value_delimiter = ',', default_value = "10,100,500")]
    pub(crate) projects: Vec<usize>,
    /// Events rows and backups rows added for the curve's last point.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) rows: usize,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Draw the scale curves of a bench JSON file as an SVG image.
    Plot {
        #[arg(long)]
        json: PathBuf,
        #[arg(long, default_value = "docs/bench-scale.svg")]
        out: PathBuf,
    },
}

/// The `dockhand` binary built beside this one.
fn dockhand_bin() -> Option<PathBuf> {
    let bin = std::env::current_exe().ok()?.with_file_name("dockhand");
    bin.exists().then_some(bin)
}

fn plot(json: &PathBuf, out: &PathBuf) -> ExitCode {
    let doc = std::fs::read_to_string(json)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()));
    let doc: serde_json::Value = match doc {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cannot read {}: {e}", json.display());
            return ExitCode::from(2);
        }
    };
    let Some(svg) = plot::render(&doc) else {
        eprintln!(
            "{} has no scale section: run the bench with the scale section first",
            json.display()
        );
        return ExitCode::from(2);
    };
    if let Err(e) = std::fs::write(out, svg) {
        eprintln!("cannot write {}: {e}", out.display());
        return ExitCode::from(2);
    }
    println!("scale curves drawn to {}", out.display());
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Cmd::Plot { json, out }) = &args.cmd {
        return plot(json, out);
    }
    let Some(bin) = dockhand_bin() else {
        eprintln!("dockhand not found beside this binary: build it with `cargo build --release -p dockhand-cli`");
        return ExitCode::from(2);
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let engine = match rt.block_on(DockerEngine::connect()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(3);
        }
    };
    let guard = match guard::RunGuard::start() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("cannot prepare the bench's run directory: {e}");
            return ExitCode::from(3);
        }
    };
    let wanted: Vec<Section> = if args.only.is_empty() {
        Section::ALL.to_vec()
    } else {
        Section::ALL
            .into_iter()
            .filter(|s| args.only.contains(s))
            .collect()
    };
    let started = Instant::now();
    let mut results = serde_json::Map::new();
    let mut failed = Vec::new();
    for section in wanted {
        let name = section.name();
        println!("\n== {name} ==");
        let t = Instant::now();
        let outcome = guard.section(name).map(|(home, work)| {
            let ctx = Ctx {
                cli: Cli {
                    bin: bin.clone(),
                    home,
                },
                work,
                args: &args,
                rt: &rt,
                engine: &engine,
            };
            let _ = std::fs::create_dir_all(&ctx.work);
            // A panicking section is reported and cleaned up like a failing one; the next runs.
            std::panic::catch_unwind(AssertUnwindSafe(|| section.run(&ctx)))
        });
        guard.clean_section(name);
        match outcome {
            Ok(Ok(Ok(v))) => {
                results.insert(name.into(), v);
            }
            Ok(Ok(Err(e))) => {
                eprintln!("section {name} failed: {e}");
                failed.push(name);
            }
            Ok(Err(_)) => {
                eprintln!("section {name} panicked (message above)");
                failed.push(name);
            }
            Err(e) => {
                eprintln!("section {name} could not start: {e}");
                failed.push(name);
            }
        }
        println!("({name}: {:.0} s)", t.elapsed().as_secs_f64());
    }
    guard.finish();
    println!("\nall sections: {:.0} s", started.elapsed().as_secs_f64());
    let doc = serde_json::json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "runs": args.runs,
        "total_seconds": started.elapsed().as_secs_f64(),
        "failed_sections": failed,
        "sections": results,
    });
    if let Some(p) = &args.json {
        match serde_json::to_string_pretty(&doc).map(|t| std::fs::write(p, t)) {
            Ok(Ok(())) => println!("JSON written to {}", p.display()),
            Ok(Err(e)) => eprintln!("cannot write {}: {e}", p.display()),
            Err(e) => eprintln!("cannot encode the results: {e}"),
        }
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("failed sections: {}", failed.join(", "));
        ExitCode::FAILURE
    }
}
