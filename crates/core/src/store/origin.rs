//! Where a service comes from: created by Dockhand, or adopted from a container the user
//! already ran. (A server elsewhere is not a service: see the store's externals.)

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
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Managed => "managed",
            Origin::Adopted => "adopted",
        }
    }

    pub(super) fn parse(s: &str) -> Origin {
        match s {
            "adopted" => Origin::Adopted,
            _ => Origin::Managed,
        }
    }
}
