//! What the shells (the CLI and the tray app) need from the core, in one place: the snapshot
//! both show, settings as one table, what Quit stops, the project views — and every type and
//! helper a shell names, re-exported here, so the shells import `dockhand_core::facade` (and
//! the crate root's [`Manager`](crate::Manager), errors and kinds) and no internal module.
//! `shells_name_only_the_facade` below holds the CLI and the app to that.

mod details;
mod env_file;
mod inspect;
mod port_check;
mod quit;
mod settings;
mod snapshot;
mod views;

pub use crate::manager::{DatabaseView, ExtensionOption, NewServiceForm, VersionOption};
pub use crate::modes::Mode;
pub use crate::platform::PortHolder;
pub use details::ServiceDetails;
pub use env_file::EnvWritten;
pub use inspect::Inspection;
pub use port_check::PortCheck;
pub use quit::HolderKind;
pub use settings::{
    parse_duration, setting_names, QuitBehaviour, SettingDef, SettingKey, SettingScope,
    SettingValue, Settings, NOTIFICATION_KINDS, SETTINGS,
};
pub use snapshot::{
    AttachmentView, BranchDatabase, HealthView, KindView, ProjectView, ServiceView, Snapshot,
};

// Records the core keeps and hands out, as the shells list them (defined beside the SQL that
// stores them; a shell names them only here).
pub use crate::store::{
    now_ms, AttachmentRow, BackupRow, EventRow, ExternalRow, Origin, ProjectRow, ServiceRow,
    TaskProgress, TaskRow, TaskState, UpgradeStep, TASK_HISTORY,
};
// What operations take and give.
pub use crate::actions::refusal;
pub use crate::backup::{BackupAllReport, BackupScope, Restored, Verification};
pub use crate::catalog::extensions::parse_list as parse_extensions;
pub use crate::engine::OutputStream;
pub use crate::error::{human_bytes, human_duration};
pub use crate::logging::init as init_logging;
pub use crate::manager::{
    BranchMade, BranchSource, BranchView, Branches, Checkout, ClientLaunch, CloneSource, Detected,
    ExportDest, Exported, ExternalView, FileFormat, Finished, ImageView, ImportError, Imported,
    Lease, MemoryChange, ModeOption, ProgressFn, ProjectConnection, PruneReport, ReconcileReport,
    ResetDone, RestorePointPart, RestorePointView, RolledBack, ServiceStatus, Settled, TakenPoint,
    TaskKind, TestClones, UpOutcome, UpgradeChoices, UpgradeTarget, Upgraded, MAX_CLONES,
};
pub use crate::modes::{memory_arg, memory_text, parse_memory, ServiceOptions};
pub use crate::project_config::read as read_project_config;
pub use crate::secrets::Secret;

/// Connection URLs and `.env` lines.
pub mod env {
    pub use crate::env::*;
}
/// The tray menu's model.
pub mod menu {
    pub use crate::menu::*;
}
/// What differs between operating systems (process groups, exit codes, port holders).
pub mod platform {
    pub use crate::platform::*;
}
/// The loop that watches services and acts on their health (the tray runs it, `status --watch`
/// observes it).
pub mod supervisor {
    pub use crate::supervisor::*;
}

#[cfg(test)]
mod tests {
    /// The CLI and the app name `dockhand_core::facade::…` or an item of the crate root
    /// (`Manager`, `CoreError`, `Kind`, `open_default`, …), never a module of the core: a store
    /// row, an engine type or a manager file reached directly would tie a shell to how the core
    /// is built inside.
    #[test]
    fn shells_name_only_the_facade() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let allowed_fns = [
            "open_default",
            "recover_default",
            "has_services_default",
            "completion_names",
        ];
        let mut found = Vec::new();
        for shell in ["crates/cli/src", "crates/tray/src", "src-tauri/src"] {
            let mut dirs = vec![std::path::PathBuf::from(format!("{root}/{shell}"))];
            while let Some(dir) = dirs.pop() {
                for e in std::fs::read_dir(&dir).unwrap() {
                    let path = e.unwrap().path();
                    if path.is_dir() {
                        dirs.push(path);
                        continue;
                    }
                    let text = std::fs::read_to_string(&path).unwrap();
                    for rest in text.split("dockhand_core::").skip(1) {
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        let module = name.starts_with(|c: char| c.is_lowercase());
                        if module && name != "facade" && !allowed_fns.contains(&name.as_str()) {
                            found.push(format!("{}: dockhand_core::{name}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "shells reaching past the facade: {found:#?}"
        );
    }
}
