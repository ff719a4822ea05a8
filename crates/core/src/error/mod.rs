//! The core's error type. Every variant is written for the person at the keyboard: what went wrong
//! and what to do next. `code()` gives a stable machine-readable name (CLI `--json`, Tauri boundary).

use std::time::Duration;

mod extension;
mod import;

pub use extension::ExtensionError;
pub use import::ImportError;

use crate::engine::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    Engine(#[from] EngineError),

    #[error("invalid input: {0}")]
    InvalidInput(String),

    #[error("no service named '{name}' — {}", unknown_service_hint(.suggestion.as_deref()))]
    UnknownService {
        name: String,
        /// The service or kind the user likely meant ("did you mean …?").
        suggestion: Option<String>,
    },

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

    /// A server's own tool (pg_dump, pg_restore, mariadb-dump, psql…) failed: which one, how
    /// it ended, and what it said.
    #[error("{context}: {tool} {}{}", tool_end(.exit), tool_said(.stderr))]
    Tool {
        /// What Dockhand was doing ("backup of 'shop' on 'pg-15'").
        context: String,
        tool: String,
        /// `None` when the tool did not end on its own (its container stopped, the engine lost it).
        exit: Option<i64>,
        stderr: String,
    },

    /// A file or folder Dockhand needed could not be read or written.
    #[error("could not {action} {}: {}{}", .path.display(), file_reason(.source), file_hint(.source, .advice))]
    File {
        path: std::path::PathBuf,
        /// "read", "write", "create the folder", …
        action: &'static str,
        #[source]
        source: std::io::Error,
        /// What to do about it, when there is something better to say than the generic hint.
        advice: Option<&'static str>,
    },

    /// Nothing could be backed up: the scope holds no database.
    #[error("nothing to back up on '{service}': {why}")]
    NothingToBackUp { service: String, why: String },

    /// A new project's user, database or key prefix exists on the server already, made by
    /// someone else: provisioning would take it over.
    #[error("'{service}' has {what} already, which Dockhand did not create: a project given them would take over someone else's data and lock its owner out. Nothing was changed — attach the project under another name (`dockhand project add --name <other>` in its folder), or rename or drop them on the server yourself")]
    TakenOnServer { service: String, what: String },

    /// Databases no dump tool can read (PostgreSQL's `ALLOW_CONNECTIONS false`, which their
    /// owner may set): a backup or an upgrade stops there rather than leave them out.
    #[error("{what}: database(s) {names} on '{service}' take no connections (ALLOW_CONNECTIONS false), so no tool can read them{done}. Let them take connections again (as the admin: `ALTER DATABASE <name> ALLOW_CONNECTIONS true`) and try again")]
    ClosedDatabases {
        /// What could not be done ("cannot back up", "cannot upgrade").
        what: String,
        service: String,
        names: String,
        /// What was done all the same ("; the other 3 databases were backed up").
        done: String,
    },

    /// A new database's name is in use already.
    #[error("'{name}' exists already {place}; choose another name")]
    NameTaken { name: String, place: String },

    /// The database is not on the server (nor a project's).
    #[error(
        "no database '{name}' on '{service}' — `dockhand db list {service}` shows its databases"
    )]
    UnknownDatabase { service: String, name: String },

    /// The server's own databases (postgres, mysql, sys, …) are not Dockhand's to drop.
    #[error("'{name}' is one of {service}'s own databases; Dockhand does not drop it")]
    ServerDatabase { service: String, name: String },

    /// A file could not be imported (`dockhand import`): what it is and what to do.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// Boxed: its largest variant would make every `Result` in the core larger.
    #[error(transparent)]
    Extension(Box<ExtensionError>),

    /// A mode or memory limit that cannot be used (`up --fast`, `set --memory`).
    #[error(transparent)]
    Mode(#[from] crate::modes::ModeError),

    #[error("{0}")]
    Io(#[from] std::io::Error),

    /// A database to copy has sessions open: PostgreSQL copies a database only while nobody is
    /// connected to it. `agree` says how the user lets Dockhand end them, in the words of the
    /// command or window they used.
    #[error(
        "{sessions} session(s) are connected to '{database}' on '{service}' (the project's app, \
         a psql, a test run): PostgreSQL copies a database only while nobody is connected. Close \
         them, or {agree} (only sessions on '{database}' are ended; other projects are not \
         touched)"
    )]
    SessionsOpen {
        database: String,
        service: String,
        sessions: i64,
        agree: String,
    },

    #[error("interrupted")]
    Interrupted,
}

impl From<ExtensionError> for CoreError {
    fn from(e: ExtensionError) -> Self {
        CoreError::Extension(Box::new(e))
    }
}

impl CoreError {
    /// A stable, machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::Engine(e) => e.code(),
            CoreError::InvalidInput(_) => "invalid_input",
            CoreError::UnknownService { .. } => "unknown_service",
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
            CoreError::Tool { .. } => "tool_failed",
            CoreError::File { .. } => "file",
            CoreError::NothingToBackUp { .. } => "nothing_to_back_up",
            CoreError::NameTaken { .. } => "name_taken",
            CoreError::ClosedDatabases { .. } => "closed_databases",
            CoreError::TakenOnServer { .. } => "taken_on_server",
            CoreError::UnknownDatabase { .. } => "unknown_database",
            CoreError::ServerDatabase { .. } => "server_database",
            CoreError::Import(e) => e.code(),
            CoreError::Extension(e) => e.code(),
            CoreError::Mode(e) => e.code(),
            CoreError::Io(_) => "io",
            CoreError::SessionsOpen { .. } => "sessions_open",
            CoreError::Interrupted => "interrupted",
        }
    }

    /// Process exit code for the CLI: scripts can tell "Docker is down" from "bad input" from
    /// "the server would not start".
    pub fn exit_code(&self) -> i32 {
        match self {
            CoreError::InvalidInput(_)
            | CoreError::SessionsOpen { .. }
            | CoreError::NameTaken { .. }
            | CoreError::ServerDatabase { .. }
            | CoreError::SpecMismatch { .. }
            | CoreError::AmbiguousService { .. }
            | CoreError::Extension(_)
            | CoreError::Mode(_) => 2,
            CoreError::Engine(EngineError::Unavailable { .. })
            | CoreError::Engine(EngineError::Timeout { .. }) => 3,
            CoreError::UnknownService { .. } | CoreError::UnknownDatabase { .. } => 4,
            CoreError::NotReady { .. } => 5,
            CoreError::PortInUse { .. } | CoreError::NoFreePort { .. } => 6,
            CoreError::ForeignResource { .. }
            | CoreError::TakenOnServer { .. }
            | CoreError::Home(_) => 7,
            CoreError::ImagePull { .. } => 8,
            CoreError::Tool { .. } | CoreError::ClosedDatabases { .. } => 9,
            CoreError::File { .. } => 10,
            CoreError::NothingToBackUp { .. } => 11,
            CoreError::Secret(_) => 12,
            // The file or the target was wrong; a file the server refused is the tool's failure.
            CoreError::Import(ImportError::Rejected { .. }) => 9,
            CoreError::Import(_) => 2,
            CoreError::Interrupted => 130,
            _ => 1,
        }
    }

    /// The same error with `SessionsOpen`'s hint worded for the shell or command that met it
    /// (one without `--end-sessions` names where the user can agree); other errors as they are.
    pub fn agree_by(self, words: impl Into<String>) -> Self {
        match self {
            CoreError::SessionsOpen {
                database,
                service,
                sessions,
                ..
            } => CoreError::SessionsOpen {
                database,
                service,
                sessions,
                agree: words.into(),
            },
            other => other,
        }
    }

    /// A file error that names the file and what was being done with it.
    pub fn file(
        path: impl Into<std::path::PathBuf>,
        action: &'static str,
        source: std::io::Error,
    ) -> Self {
        CoreError::File {
            path: path.into(),
            action,
            source,
            advice: None,
        }
    }

    pub(crate) fn not_ready(service: &str, reason: impl Into<String>) -> Self {
        CoreError::NotReady {
            service: service.to_string(),
            reason: reason.into(),
        }
    }
}

fn tool_end(exit: &Option<i64>) -> String {
    match *exit {
        // 128 + signal: the tool did not fail on its input, something ended it.
        Some(137) => {
            "was killed (exit code 137, SIGKILL: out of memory, or stopped from outside)".into()
        }
        Some(139) => "crashed (exit code 139, segmentation fault)".into(),
        Some(code) => format!("exited with code {code}"),
        None => "did not finish".into(),
    }
}

fn tool_said(stderr: &str) -> String {
    // The end of what a tool says holds the reason; a whole screen of it does not help.
    let s = stderr.trim();
    if s.is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = s.lines().collect();
    let tail = &lines[lines.len().saturating_sub(8)..];
    format!(": {}", tail.join("\n"))
}

fn file_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::InvalidData => format!("it is not UTF-8 text ({e})"),
        _ => e.to_string(),
    }
}

fn file_hint(e: &std::io::Error, advice: &Option<&'static str>) -> String {
    use std::io::ErrorKind;
    // Error kinds rather than errno values: the same on every system (ENOSPC, EDQUOT, EROFS,
    // EACCES and EPERM on Unix; their Windows counterparts there).
    let generic = match e.kind() {
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => {
            "the disk is full: free space, or choose another place"
        }
        ErrorKind::ReadOnlyFilesystem => "that file system is read-only: choose a writable place",
        ErrorKind::PermissionDenied => {
            "Dockhand may not write there: choose another place or fix its permissions"
        }
        _ => "",
    };
    match (generic, advice) {
        ("", None) => String::new(),
        ("", Some(a)) => format!(" — {a}"),
        (g, None) => format!(" — {g}"),
        (g, Some(a)) => format!(" — {g}; {a}"),
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// What to say after "no service named …": the likely one, or where to look.
fn unknown_service_hint(suggestion: Option<&str>) -> String {
    match suggestion {
        Some(s) => format!("did you mean '{s}'? (`dockhand status` lists your services)"),
        None => "run `dockhand status` to see your services, or `dockhand up <kind>` to create one"
            .into(),
    }
}

impl CoreError {
    /// A service that is not there, with no better guess.
    pub fn unknown_service(name: impl Into<String>) -> CoreError {
        CoreError::UnknownService {
            name: name.into(),
            suggestion: None,
        }
    }
}

/// Sizes the way people read them ("812 B", "3.4 MiB").
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_sessions_are_said_in_the_words_of_the_shell_that_met_them() {
        let e = CoreError::SessionsOpen {
            database: "shop".into(),
            service: "pg".into(),
            sessions: 2,
            agree: "pass --end-sessions to end them".into(),
        }
        .agree_by("take it from the window");
        let text = e.to_string();
        assert!(
            text.starts_with("2 session(s) are connected to 'shop' on 'pg'")
                && text.contains("Close them, or take it from the window (only sessions on 'shop'")
                && !text.contains("--end-sessions"),
            "{text}"
        );
        assert_eq!(e.code(), "sessions_open");
        let other = CoreError::InvalidInput("x".into()).agree_by("y");
        assert_eq!(other.to_string(), "invalid input: x");
    }

    #[test]
    fn tool_and_file_errors_name_what_failed_and_are_not_input_errors() {
        let t = CoreError::Tool {
            context: "backup of 'shop' on 'pg'".into(),
            tool: "pg_dump".into(),
            exit: Some(137),
            stderr: String::new(),
        };
        assert!(t.to_string().contains("pg_dump was killed"), "{t}");
        assert_eq!((t.code(), t.exit_code()), ("tool_failed", 9));
        let f = CoreError::file(
            "/x/dockhand.toml",
            "read",
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ),
        );
        assert!(
            f.to_string()
                .contains("could not read /x/dockhand.toml: it is not UTF-8 text"),
            "{f}"
        );
        assert_eq!((f.code(), f.exit_code()), ("file", 10));
        let ro = CoreError::file(
            "/ro/home",
            "create",
            std::io::Error::from(std::io::ErrorKind::ReadOnlyFilesystem),
        );
        assert!(
            ro.to_string().contains("/ro/home") && ro.to_string().contains("read-only"),
            "{ro}"
        );
        assert_eq!(CoreError::InvalidInput(String::new()).exit_code(), 2);
    }
}
