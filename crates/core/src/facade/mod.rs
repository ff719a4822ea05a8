//! What the shells (the CLI and the tray app) need from the core, in one place: the snapshot
//! both show, settings as one typed struct, what Quit stops, and the project views. The shells
//! never reach into the store; everything here is a method of [`Manager`](crate::Manager).

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
pub use snapshot::{AttachmentView, HealthView, KindView, ProjectView, ServiceView, Snapshot};
