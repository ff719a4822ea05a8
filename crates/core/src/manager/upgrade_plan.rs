//! What an upgrade will do, decided before anything changes from what is known — the service's
//! record, the upgrade data it still keeps, its projects' other services, the version and image
//! asked for — with no Docker and no database, so every refusal and every choice of target is
//! unit-tested. `upgrade.rs` does the I/O; an interrupted upgrade's recovery is decided here too
//! ([`recovery`]).

use crate::catalog::extensions::{image_for, Extension};
use crate::catalog::{Kind, ServiceSpec};
use crate::drivers::upgrade::MajorUpgrade;
use crate::drivers::Driver;
use crate::error::{CoreError, Result};
use crate::store::{Origin, ServiceRow, UpgradeRow, UpgradeStep};

use super::naming::versioned_volume_name;

/// What is known before an upgrade.
pub(super) struct Facts<'a> {
    pub row: &'a ServiceRow,
    /// The upgrade whose data the service still keeps (for a rollback, or rolled back).
    pub kept: Option<&'a UpgradeRow>,
    /// The services of the projects attached to it: (project, kind, service).
    pub project_services: &'a [(String, String, String)],
    /// `17`, or `kind[:version]` for a change of kind (Redis → `valkey:8`).
    pub to: &'a str,
    /// `--image`.
    pub image: Option<&'a str>,
}

/// What the upgrade builds.
pub(super) struct Plan {
    pub to: ServiceSpec,
    pub to_image: String,
    pub to_volume: String,
    pub staging: String,
    pub from: &'static dyn MajorUpgrade,
    pub into: &'static dyn MajorUpgrade,
}

/// The upgrade `f` asks for, or why it cannot be done (nothing has changed either way).
pub(super) fn plan(f: &Facts<'_>, driver: impl Fn(Kind) -> &'static dyn Driver) -> Result<Plan> {
    let row = f.row;
    if row.origin != Origin::Managed {
        return Err(CoreError::InvalidInput(format!(
            "'{}' is {} ({}): an upgrade makes a new container and data volume, which Dockhand \
             does only for servers it created; upgrade it the way it was set up, or back up its \
             databases (`dockhand backup {}`) and import them into a service Dockhand made",
            row.name,
            row.origin.as_str(),
            row.container.as_deref().unwrap_or("?"),
            row.name
        )));
    }
    super::Manager::refuse_ephemeral_upgrade(row)?;
    if let Some(u) = f.kept {
        let what = match u.step {
            UpgradeStep::RolledBack => format!(
                "it was rolled back from {} to {} and still keeps the {} data",
                u.to_version, u.from_version, u.to_version
            ),
            _ => format!(
                "it was upgraded from {} to {} and still keeps the {} data for a rollback",
                u.from_version, u.to_version, u.from_version
            ),
        };
        return Err(CoreError::InvalidInput(format!(
            "'{}': {what}; `dockhand upgrade --finish {}` removes that data (after `--rollback` if you want it back), then upgrade again",
            row.name, row.name
        )));
    }
    let display = row.kind.spec().display_name;
    let from = driver(row.kind).major_upgrade().ok_or_else(|| {
        CoreError::InvalidInput(format!(
            "Dockhand cannot upgrade {display} yet; back it up (`dockhand backup {}`), create a service of the new version and restore into it",
            row.name
        ))
    })?;
    let to = if f.to.starts_with(|c: char| c.is_ascii_digit()) {
        ServiceSpec::parse(&format!("{}:{}", row.kind, f.to))?
    } else {
        ServiceSpec::parse(f.to)?
    };
    let to_display = to.kind.spec().display_name;
    let refused = |why: String| {
        CoreError::InvalidInput(format!(
            "cannot upgrade '{}' to {to_display} {}: {why}",
            row.name, to.version
        ))
    };
    if to.kind == row.kind {
        from.check_versions(&row.version, &to.version)
            .map_err(refused)?;
    } else {
        from.check_kind_change(&row.version, to.kind)
            .map_err(refused)?;
        // A project has one service per kind: one that has a service of the new kind already
        // would end up with two.
        if let Some((project, _, other)) = f
            .project_services
            .iter()
            .find(|(_, kind, _)| kind == to.kind.as_str())
        {
            return Err(refused(format!(
                "project '{project}' uses the {to_display} service '{other}' already, and a project has one service per kind"
            )));
        }
    }
    let into = driver(to.kind).major_upgrade().ok_or_else(|| {
        refused(format!(
            "Dockhand cannot build a {to_display} server by an upgrade"
        ))
    })?;
    let to_image = image_of(row, &to, f.image)?;
    Ok(Plan {
        to_volume: versioned_volume_name(&row.name, &to.version),
        staging: staging_name(&row.name),
        to,
        to_image,
        from,
        into,
    })
}

/// The new server's image: `--image`; the official one after the official one; an extension's
/// official image (pgvector/pgvector:pg15) after the same for the old version; otherwise the
/// user must say.
fn image_of(row: &ServiceRow, to: &ServiceSpec, image: Option<&str>) -> Result<String> {
    let old = ServiceSpec {
        kind: row.kind,
        version: row.version.clone(),
    };
    let official_old = old.default_image();
    match image {
        Some(i) if i.is_empty() || i.chars().any(char::is_whitespace) => Err(
            CoreError::InvalidInput(format!("image {i:?} is not a valid image reference")),
        ),
        Some(i) => Ok(i.to_string()),
        None if row.image == official_old => Ok(to.default_image()),
        None if to.kind == row.kind
            && image_for(&old, &Extension::carried_by(&row.image))
                .ok()
                .flatten()
                .as_deref()
                == Some(row.image.as_str()) =>
        {
            Ok(image_for(to, &Extension::carried_by(&row.image))
                .ok()
                .flatten()
                .unwrap_or_else(|| to.default_image()))
        }
        None => Err(CoreError::InvalidInput(format!(
            "'{}' runs image {}, not the official {official_old}; name the image of {} {} with --image",
            row.name,
            row.image,
            to.kind.spec().display_name,
            to.version
        ))),
    }
}

/// The temporary service an upgrade builds the new version in (a valid service name however
/// long the service's own).
pub(super) fn staging_name(service: &str) -> String {
    let suffix = "-upgrade";
    let keep = crate::names::MAX_SERVICE_NAME - suffix.len();
    let base: String = service.chars().take(keep).collect();
    format!("{}{suffix}", base.trim_end_matches('-'))
}

/// What to do about an upgrade found unfinished (its process was killed).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Recovery {
    /// Nothing is unfinished.
    Nothing,
    /// The switch was recorded with the service's new version but not its step: mark it done.
    MarkSwitched,
    /// Killed before or during the switch: remove the new server, the old one runs on.
    Abandon { during_switch: bool },
    /// Killed during a rollback: complete it.
    CompleteRollback,
}

/// The recovery of an upgrade at `step`, the service's record now saying `version`.
pub(super) fn recovery(u: &UpgradeRow, version: Option<&str>) -> Recovery {
    match u.step {
        UpgradeStep::Switched | UpgradeStep::RolledBack => Recovery::Nothing,
        UpgradeStep::Copying | UpgradeStep::Switching if version == Some(&u.to_version) => {
            // Cannot happen (the switch is one transaction with its step); kept whole.
            Recovery::MarkSwitched
        }
        UpgradeStep::Copying | UpgradeStep::Switching => Recovery::Abandon {
            during_switch: u.step == UpgradeStep::Switching,
        },
        UpgradeStep::RollingBack => Recovery::CompleteRollback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: Kind, version: &str) -> ServiceRow {
        ServiceRow::example("pg", kind, version)
    }

    fn kept(step: UpgradeStep) -> UpgradeRow {
        UpgradeRow {
            service: "pg".into(),
            kind: Kind::Postgres,
            from_version: "16".into(),
            from_image: "postgres:16".into(),
            from_volume: "dockhand-pg-data".into(),
            to_kind: Kind::Postgres,
            to_version: "17".into(),
            to_image: "postgres:17".into(),
            to_volume: "dockhand-pg-17-data".into(),
            staging: "pg-upgrade".into(),
            step,
            detail: None,
            started_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    fn try_plan(row: &ServiceRow, to: &str, image: Option<&str>) -> Result<Plan> {
        plan(
            &Facts {
                row,
                kept: None,
                project_services: &[],
                to,
                image,
            },
            Kind::driver,
        )
    }

    fn refusal(r: Result<Plan>) -> String {
        match r {
            Ok(p) => panic!("planned an upgrade to {}", p.to),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn an_official_image_goes_to_the_official_image_of_the_new_version() {
        let p = try_plan(&row(Kind::Postgres, "15"), "17", None).unwrap();
        assert_eq!(p.to.to_string(), "postgres:17");
        assert_eq!(p.to_image, "postgres:17");
        assert_eq!(p.to_volume, versioned_volume_name("pg", "17"));
        assert_eq!(p.staging, "pg-upgrade");
    }

    #[test]
    fn an_extension_image_goes_to_the_same_extension_for_the_new_version() {
        let mut r = row(Kind::Postgres, "15");
        r.image = "pgvector/pgvector:pg15".into();
        let p = try_plan(&r, "17", None).unwrap();
        assert_eq!(p.to_image, "pgvector/pgvector:pg17");
    }

    #[test]
    fn a_custom_image_needs_the_new_one_named() {
        let mut r = row(Kind::Postgres, "15");
        r.image = "registry.local/pg:15-custom".into();
        let why = refusal(try_plan(&r, "17", None));
        assert!(why.contains("--image"), "{why}");
        let p = try_plan(&r, "17", Some("registry.local/pg:17-custom")).unwrap();
        assert_eq!(p.to_image, "registry.local/pg:17-custom");
        let why = refusal(try_plan(&r, "17", Some("bad image")));
        assert!(why.contains("not a valid image reference"), "{why}");
    }

    #[test]
    fn what_cannot_be_upgraded_is_refused_saying_why() {
        let mut adopted = row(Kind::Postgres, "15");
        adopted.origin = Origin::Adopted;
        assert!(refusal(try_plan(&adopted, "17", None)).contains("servers it created"));

        let mut ephemeral = row(Kind::Postgres, "15");
        ephemeral.mode.ephemeral = true;
        assert!(refusal(try_plan(&ephemeral, "17", None)).contains("ephemeral"));

        let why = refusal(try_plan(&row(Kind::Postgres, "17"), "15", None));
        assert!(
            why.contains("cannot upgrade 'pg' to PostgreSQL 15: PostgreSQL 15 is older than 17"),
            "{why}"
        );

        let r = row(Kind::Postgres, "15");
        for step in [UpgradeStep::Switched, UpgradeStep::RolledBack] {
            let k = kept(step);
            let why = refusal(plan(
                &Facts {
                    row: &r,
                    kept: Some(&k),
                    project_services: &[],
                    to: "17",
                    image: None,
                },
                Kind::driver,
            ));
            assert!(why.contains("--finish"), "{why}");
        }
    }

    #[test]
    fn a_change_of_kind_never_gives_a_project_two_services_of_one_kind() {
        let r = row(Kind::Redis, "7.2");
        let p = try_plan(&r, "valkey:8", None).unwrap();
        assert_eq!(p.to.kind, Kind::Valkey);
        let others = [("shop".to_string(), "valkey".to_string(), "vk".to_string())];
        let why = refusal(plan(
            &Facts {
                row: &r,
                kept: None,
                project_services: &others,
                to: "valkey:8",
                image: None,
            },
            Kind::driver,
        ));
        assert!(
            why.contains("project 'shop' uses the Valkey service 'vk'"),
            "{why}"
        );
    }

    #[test]
    fn an_interrupted_upgrade_is_undone_before_the_switch_and_a_rollback_completed() {
        use Recovery::*;
        let at = |step| kept(step);
        assert_eq!(recovery(&at(UpgradeStep::Switched), Some("17")), Nothing);
        assert_eq!(recovery(&at(UpgradeStep::RolledBack), Some("16")), Nothing);
        assert_eq!(
            recovery(&at(UpgradeStep::Copying), Some("16")),
            Abandon {
                during_switch: false
            }
        );
        assert_eq!(
            recovery(&at(UpgradeStep::Switching), Some("16")),
            Abandon {
                during_switch: true
            }
        );
        assert_eq!(
            recovery(&at(UpgradeStep::Switching), Some("17")),
            MarkSwitched
        );
        assert_eq!(
            recovery(&at(UpgradeStep::RollingBack), Some("17")),
            CompleteRollback
        );
    }

    #[test]
    fn staging_names_stay_valid_service_names() {
        assert_eq!(staging_name("pg"), "pg-upgrade");
        let long = "a".repeat(40);
        let s = staging_name(&long);
        crate::names::validate_service_name(&s).unwrap();
        assert!(s.ends_with("-upgrade"));
    }
}
