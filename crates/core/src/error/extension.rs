//! Why a PostgreSQL extension cannot be had: defined here, beside [`CoreError`](super::CoreError)
//! which carries it, so the error types depend on nothing above them (the extension catalog is
//! `catalog/extensions.rs`).

/// Why an extension cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum ExtensionError {
    #[error("unknown extension {name:?}; Dockhand knows {known}")]
    Unknown { name: String, known: String },
    #[error("extensions are offered for PostgreSQL only, not {kind}; remove `--with` / `extensions` for it")]
    NotForKind { kind: &'static str },
    #[error(
        "no official image of {spec} carries {names} together (postgis/postgis has no pgvector); \
         use an image that has both: `dockhand up {spec} --with vector,postgis --image <image>` \
         (e.g. one built FROM postgis/postgis with pgvector added), or one service per extension"
    )]
    NotInOneImage { spec: String, names: String },
    #[error(
        "service '{service}' runs {image}, which does not have the PostgreSQL extension {missing}; \
         {advice}. Nothing was changed"
    )]
    MissingFromImage {
        service: String,
        image: String,
        missing: String,
        /// Which image has it and the command that creates such a service.
        advice: String,
    },
}

impl ExtensionError {
    pub fn code(&self) -> &'static str {
        match self {
            ExtensionError::Unknown { .. } => "unknown_extension",
            ExtensionError::NotForKind { .. } => "extension_not_for_kind",
            ExtensionError::NotInOneImage { .. } => "extensions_not_in_one_image",
            ExtensionError::MissingFromImage { .. } => "extension_missing_from_image",
        }
    }
}
