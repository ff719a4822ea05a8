//! Where a service comes from: created by Dockhand, adopted from a container the user already
//! ran, or a server elsewhere that Dockhand only connects to.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Dockhand created its container, volume and admin password, and may re-create them.
    #[default]
    Managed,
    /// A container Dockhand found (`dockhand adopt`): started and stopped when asked, never
    /// re-created, removed or relabelled; its data stays where its owner put it.
    Adopted,
    /// A server Dockhand does not run: probed, never started or stopped.
    External,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Managed => "managed",
            Origin::Adopted => "adopted",
            Origin::External => "external",
        }
    }

    pub(super) fn parse(s: &str) -> Origin {
        match s {
            "adopted" => Origin::Adopted,
            "external" => Origin::External,
            _ => Origin::Managed,
        }
    }

    /// Dockhand runs the server (its own container or an adopted one).
    pub fn has_container(self) -> bool {
        self != Origin::External
    }
}
