//! Shell completion: the scripts the packages install call back into `dockhand`
//! (`DOCKHAND_COMPLETE=bash dockhand -- …`), which answers with subcommands and flags from the
//! clap definition and with the names of this user's services and projects, read from the state
//! database as it is (see `dockhand_core::completion_names`).

use std::ffi::OsString;

use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::{CompleteEnv, Shells};
use clap_complete::Shell;
use dockhand_core::Kind;

use crate::args::command;

/// The variable the installed scripts set when they ask for completions. Dockhand's own name,
/// not clap's default `COMPLETE`, so that a variable of that common name set for something else
/// never turns a command into a completion.
const VAR: &str = "DOCKHAND_COMPLETE";
/// The program the scripts call: the one on PATH, as installed.
const BIN: &str = "dockhand";

/// Answers a completion request and exits when the shell asked for one; else returns.
pub fn answer_if_asked() {
    CompleteEnv::with_factory(command)
        .var(VAR)
        .bin(BIN)
        .completer(BIN)
        .complete();
}

/// `dockhand completions <shell>`: the script that registers Dockhand's completion in that shell.
pub fn registration(shell: Shell) -> Result<Vec<u8>, String> {
    let name = shell.to_string();
    let shells = Shells::builtins();
    let completer = shells
        .completer(&name)
        .ok_or_else(|| format!("completions for {name} are not available"))?;
    let mut out = Vec::new();
    completer
        .write_registration(VAR, BIN, BIN, BIN, &mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Completion of a service's name.
pub fn services() -> ArgValueCandidates {
    ArgValueCandidates::new(|| candidates(dockhand_core::completion_names().0, "service"))
}

/// Completion of a project's name.
pub fn projects() -> ArgValueCandidates {
    ArgValueCandidates::new(|| candidates(dockhand_core::completion_names().1, "project"))
}

/// Where a service or a kind is taken (`up`, `attach`): the services, then the kinds.
pub fn services_and_kinds() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        let mut c = candidates(dockhand_core::completion_names().0, "service");
        c.extend(
            Kind::ALL
                .into_iter()
                .map(|k| CompletionCandidate::new(k.as_str()).help(Some("kind".into()))),
        );
        c
    })
}

/// Where a project or a service is taken (`url`): projects first.
pub fn projects_and_services() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        let (services, projects) = dockhand_core::completion_names();
        let mut c = candidates(projects, "project");
        c.extend(candidates(services, "service"));
        c
    })
}

fn candidates(names: Vec<String>, what: &'static str) -> Vec<CompletionCandidate> {
    names
        .into_iter()
        .map(|n| CompletionCandidate::new(OsString::from(n)).help(Some(what.into())))
        .collect()
}
