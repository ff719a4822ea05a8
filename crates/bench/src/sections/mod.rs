//! One module per section, each named for what it measures. Every section runs in its own
//! `DOCKHAND_HOME` and sets up everything it needs (services, projects, settings), so it does not
//! depend on which sections ran before it.

pub(crate) mod attach;
pub(crate) mod backup;
pub(crate) mod copies;
pub(crate) mod crowd;
pub(crate) mod memory;
pub(crate) mod parallel;
pub(crate) mod scale;
pub(crate) mod supervisor;
pub(crate) mod up;
pub(crate) mod upgrade;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use dockhand_core::probe::{probe, ProbeTarget};
use dockhand_core::{DockerEngine, Kind};
use serde_json::Value;

use crate::commands::{BenchError, Cli, Result};
use crate::Args;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Section {
    Up,
    Attach,
    Crowd,
    Backup,
    Supervisor,
    Parallel,
    Memory,
    Scale,
    Upgrade,
    Copies,
}

impl Section {
    pub(crate) const ALL: [Section; 10] = [
        Section::Up,
        Section::Attach,
        Section::Crowd,
        Section::Backup,
        Section::Supervisor,
        Section::Parallel,
        Section::Memory,
        Section::Scale,
        Section::Upgrade,
        Section::Copies,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Section::Up => "up",
            Section::Attach => "attach",
            Section::Crowd => "crowd",
            Section::Backup => "backup",
            Section::Supervisor => "supervisor",
            Section::Parallel => "parallel",
            Section::Memory => "memory",
            Section::Scale => "scale",
            Section::Upgrade => "upgrade",
            Section::Copies => "copies",
        }
    }

    pub(crate) fn run(self, ctx: &Ctx) -> Result<Value> {
        match self {
            Section::Up => up::run(ctx),
            Section::Attach => attach::run(ctx),
            Section::Crowd => crowd::run(ctx),
            Section::Backup => backup::run(ctx),
            Section::Supervisor => supervisor::run(ctx),
            Section::Parallel => parallel::run(ctx),
            Section::Memory => memory::run(ctx),
            Section::Scale => scale::run(ctx),
            Section::Upgrade => upgrade::run(ctx),
            Section::Copies => copies::run(ctx),
        }
    }
}

/// What a section gets: `dockhand` bound to the section's own home, a scratch directory for
/// project folders and dumps, the arguments, and a runtime and engine for the raw baselines.
pub(crate) struct Ctx<'a> {
    pub(crate) cli: Cli,
    pub(crate) work: PathBuf,
    pub(crate) args: &'a Args,
    pub(crate) rt: &'a tokio::runtime::Runtime,
    pub(crate) engine: &'a DockerEngine,
}

/// Long enough for MariaDB's first start on a busy machine; a server that never answers ends
/// the section instead of looping forever.
const ANSWER_LIMIT: Duration = Duration::from_secs(120);

/// The raw baseline's tight loop: the same query Dockhand's probe sends, until it answers.
pub(crate) async fn until_answers(kind: Kind, target: &ProbeTarget) -> Result<()> {
    let t = Instant::now();
    while probe(kind, target, Duration::from_secs(2)).await.is_err() {
        if t.elapsed() > ANSWER_LIMIT {
            return Err(BenchError::Timeout {
                what: format!("{kind} on port {} answering", target.port),
                limit: ANSWER_LIMIT,
            });
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}
