//! Whether a container or volume under a service's name is this home's: Dockhand never touches
//! another home's (or nobody's) resources.

use std::collections::HashMap;

use super::Manager;
use crate::catalog::Kind;
use crate::engine::{labels, ContainerInfo};
use crate::error::{CoreError, Result};

impl Manager {
    /// Whether volume `vname` is this home's and holds data of `kind` that `version` opens.
    pub(super) fn check_volume_is_ours(
        &self,
        vname: &str,
        kind: Kind,
        version: &str,
        l: &HashMap<String, String>,
    ) -> Result<()> {
        let name = l.get(labels::SERVICE).map_or(vname, String::as_str);
        let foreign = |why: String| CoreError::ForeignResource {
            what: "Docker volume",
            name: vname.to_string(),
            why,
        };
        if l.get(labels::MANAGED).map(String::as_str) != Some("true") {
            return Err(foreign("it has no Dockhand labels".into()));
        }
        if l.get(labels::INSTANCE) != Some(&self.instance) {
            return Err(foreign("it belongs to another Dockhand home".into()));
        }
        if l.get(labels::KIND).map(String::as_str) != Some(kind.as_str()) {
            return Err(foreign(format!(
                "it holds {} data, not {kind}",
                l.get(labels::KIND).map_or("unknown", String::as_str)
            )));
        }
        let had = l.get(labels::VERSION).cloned().unwrap_or_default();
        if !self.driver(kind).opens_data_of(&had, version) {
            let server = kind.spec().display_name;
            return Err(CoreError::InvalidInput(format!(
                "the data of '{name}' was written by {server} {had}, which {server} {version} cannot open; \
                 run `dockhand up {kind}:{had} --name {name}`, or give the new version its own name"
            )));
        }
        Ok(())
    }

    pub(super) fn check_container_is_ours(&self, c: &ContainerInfo) -> Result<()> {
        let ours = c.labels.get(labels::MANAGED).map(String::as_str) == Some("true")
            && c.labels.get(labels::INSTANCE) == Some(&self.instance);
        // A container this home adopted has no labels of ours (Dockhand does not relabel what
        // it did not create): the store's record of it is what makes it ours to run.
        let adopted = !c.labels.contains_key(labels::MANAGED)
            && self.store.services().is_ok_and(|rows| {
                rows.iter().any(|r| {
                    r.origin == crate::store::Origin::Adopted
                        && r.container.as_deref() == Some(c.name.as_str())
                })
            });
        if ours || adopted {
            Ok(())
        } else {
            Err(CoreError::ForeignResource {
                what: "container",
                name: c.name.clone(),
                why: if c.labels.contains_key(labels::MANAGED) {
                    "it belongs to another Dockhand home".into()
                } else {
                    "it has no Dockhand labels".into()
                },
            })
        }
    }
}
