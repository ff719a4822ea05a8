//! Why an import did not happen: defined here, beside [`CoreError`](super::CoreError) which
//! carries it, so the error types depend on nothing above them (the import operation is in
//! `manager/import.rs`).

use std::path::PathBuf;

/// Why an import did not happen (the target is as it was in every case).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}", .path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{} is {what}, not a file; name the dump file itself", .path.display())]
    NotAFile { path: PathBuf, what: &'static str },

    #[error("{} is empty: there is nothing to import (was the dump cut short, or written to another file?)", .path.display())]
    Empty { path: PathBuf },

    #[error("{} is not a complete gzip file ({detail}): it was probably cut short while it was copied or written; copy or dump it again. Nothing was imported", .path.display())]
    BadGzip { path: PathBuf, detail: String },

    #[error("{} is {what}", .path.display())]
    NotADump { path: PathBuf, what: String },

    #[error("{} is {file_is}, which cannot go into {kind} '{service}': {hint}. Nothing was imported", .path.display())]
    WrongKind {
        path: PathBuf,
        file_is: String,
        kind: String,
        service: String,
        hint: String,
    },

    #[error("{} is a Redis snapshot (RDB), which Dockhand does not import: {hint}", .path.display())]
    Snapshot { path: PathBuf, hint: String },

    #[error("database '{database}' on '{service}' already holds {objects} table(s), view(s) or routine(s); nothing was changed. Replace its whole content with --replace (a backup of it is taken first), or import into another project")]
    HasData {
        service: String,
        database: String,
        objects: i64,
    },

    #[error("no project named '{0}'; name a project (`dockhand project list` lists them) or a service's database as <service>/<database>")]
    UnknownTarget(String),

    #[error("'{database}' on '{service}' is no project's database: an import runs as the project's own user, so that the file cannot reach anything else. Import into a project's database (`dockhand db list {service}` shows who owns each), or create one with `dockhand db create {service} <name>`")]
    NotAProjectDatabase { service: String, database: String },

    #[error("project '{project}' has no database {detail}; attach one first (`dockhand attach {project} postgres`)")]
    NoDatabase { project: String, detail: String },

    #[error("project '{project}' has databases on {services}; name one: `dockhand import <service>/{database} FILE`")]
    AmbiguousProject {
        project: String,
        services: String,
        database: String,
    },

    #[error("{0}")]
    Unsupported(String),

    #[error("the import into '{database}' on '{service}' failed: {why}. Nothing was imported{}", .safety.as_ref().map(|s| format!("; the database is as it was (backup {s} holds it too)")).unwrap_or_default())]
    Rejected {
        service: String,
        database: String,
        why: String,
        safety: Option<i64>,
    },
}

impl ImportError {
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Unreadable { .. } | ImportError::NotAFile { .. } => "import_unreadable",
            ImportError::Empty { .. } => "import_empty",
            ImportError::BadGzip { .. } => "import_bad_gzip",
            ImportError::NotADump { .. } => "import_not_a_dump",
            ImportError::WrongKind { .. } => "import_wrong_kind",
            ImportError::Snapshot { .. } => "import_redis_snapshot",
            ImportError::HasData { .. } => "import_has_data",
            ImportError::UnknownTarget(_) => "import_unknown_target",
            ImportError::NotAProjectDatabase { .. } => "import_not_a_project_database",
            ImportError::NoDatabase { .. } => "import_no_database",
            ImportError::AmbiguousProject { .. } => "import_ambiguous",
            ImportError::Unsupported(_) => "import_unsupported",
            ImportError::Rejected { .. } => "import_rejected",
        }
    }
}
