//! The core's error type. Every variant is written for the person at the keyboard: what went wrong
//! and what to do next. `code()` gives a stable machine-readable name (CLI `--json`, Tauri boundary).

use std::time::Duration;

use crate::engine::EngineError;
use crate::probe::ProbeError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    Engine(#[from] EngineError),

    #[error("invalid input: {0}")]
    InvalidInput(String),

    #[error("no service named '{0}' — run `dockhand status` to see your services, or `dockhand up <kind>` to create one")]
    UnknownService(String),

    #[error("'{query}' matches several services ({matches}); name one of them")]
    AmbiguousService { query: String, matches: String },

    #[error("service '{name}' is {existing}, not {requested}; to run both side by side give the new one its own name: `dockhand up {requested} --name <name>`")]
    SpecMismatch {
        name: String,
        existing: String,
        requested: String,
    },

    #[error("port {port} on 127.0.0.1 is already in use{by}; choose another with `--port`, or stop what is listening there")]
    PortInUse { port: u16, by: String },

    #[error("no free port in {from}..={to} for {kind}; free one or pass `--port`")]
    NoFreePort { kind: String, from: u16, to: u16 },

    #[error("{what} '{name}' exists but was not created by this Dockhand home ({why}); nothing was changed — remove or rename it, or pick another service name with `--name`")]
    ForeignResource {
        what: &'static str,
        name: String,
        why: String,
    },

    #[error("could not pull image '{image}': {reason}. Check your network or registry login, or pick a version whose image is present locally (e.g. `dockhand up {kind}:<version>`; `docker images` lists them)")]
    ImagePull {
        image: String,
        kind: String,
        reason: String,
    },

    #[error("{service} did not become ready: {reason}")]
    NotReady { service: String, reason: String },

    #[error("{0}")]
    Home(String),

    #[error("could not set up the project's database on {0}")]
    Provision(String),

    #[error("state store error: {0}")]
    Store(#[from] rusqlite::Error),

    #[error("secret store error: {0}")]
    Secret(String),

    #[error("{0}")]
    Io(#[from] std::io::Error),

    #[error("interrupted")]
    Interrupted,
}

impl CoreError {
    /// A stable, machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::Engine(e) => e.code(),
            CoreError::InvalidInput(_) => "invalid_input",
            CoreError::UnknownService(_) => "unknown_service",
            CoreError::AmbiguousService { .. } => "ambiguous_service",
            CoreError::SpecMismatch { .. } => "spec_mismatch",
            CoreError::PortInUse { .. } => "port_in_use",
            CoreError::NoFreePort { .. } => "no_free_port",
            CoreError::ForeignResource { .. } => "foreign_resource",
            CoreError::ImagePull { .. } => "image_pull_failed",
            CoreError::NotReady { .. } => "not_ready",
            CoreError::Home(_) => "home",
            CoreError::Provision(_) => "provision_failed",
            CoreError::Store(_) => "store",
            CoreError::Secret(_) => "secret_store",
            CoreError::Io(_) => "io",
            CoreError::Interrupted => "interrupted",
        }
    }

    /// Process exit code for the CLI: scripts can tell "Docker is down" from "bad input" from
    /// "the server would not start".
    pub fn exit_code(&self) -> i32 {
        match self {
            CoreError::InvalidInput(_)
            | CoreError::SpecMismatch { .. }
            | CoreError::AmbiguousService { .. } => 2,
            CoreError::Engine(EngineError::Unavailable { .. })
            | CoreError::Engine(EngineError::Timeout { .. }) => 3,
            CoreError::UnknownService(_) => 4,
            CoreError::NotReady { .. } => 5,
            CoreError::PortInUse { .. } | CoreError::NoFreePort { .. } => 6,
            CoreError::ForeignResource { .. } | CoreError::Home(_) => 7,
            CoreError::ImagePull { .. } => 8,
            CoreError::Interrupted => 130,
            _ => 1,
        }
    }

    pub(crate) fn not_ready(service: &str, reason: impl Into<String>) -> Self {
        CoreError::NotReady {
            service: service.to_string(),
            reason: reason.into(),
        }
    }
}

impl From<ProbeError> for CoreError {
    fn from(e: ProbeError) -> Self {
        CoreError::NotReady {
            service: "service".into(),
            reason: e.to_string(),
        }
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// Formats a duration the way people read it in a status line ("1.2 s", "340 ms").
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    }
}
