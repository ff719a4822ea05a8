//! What removing a project does, decided from the records alone (no Docker, no server): which
//! databases are backed up and dropped, which users go, which leases end, which dedicated
//! servers go, which external databases are forgotten — in an order that a removal killed at
//! any step can be finished by running it again. `projects.rs` carries the steps out.

use crate::catalog::Kind;
use crate::drivers::Driver;
use crate::error::{CoreError, Result};
use crate::store::{AttachmentRow, ExternalRow, ServiceRow};

/// One step of a project's removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// Back up the attachment's database, drop it with its user, forget the attachment.
    DropData(AttachmentRow),
    /// Delete the project's user on its server, keeping its data (users that own nothing: Redis).
    Revoke(AttachmentRow),
    /// End the project's standing lease on a service.
    Release(String),
    /// Remove a server dedicated to the project (its data was backed up and dropped).
    DestroyDedicated(String),
    /// Forget an external database (its server is not Dockhand's).
    ForgetExternal(String),
    /// Forget the project itself.
    Forget,
}

/// What is known before a removal.
pub(super) struct Facts<'a> {
    pub project: &'a str,
    pub drop_data: bool,
    pub attachments: &'a [AttachmentRow],
    /// Every service the store knows (a destroyed one has no server to revoke on).
    pub services: &'a [ServiceRow],
    pub externals: &'a [ExternalRow],
}

/// The steps of the removal `f` asks for, or why it is refused (before any step).
pub(super) fn plan(
    f: &Facts<'_>,
    driver: impl Fn(Kind) -> &'static dyn Driver,
) -> Result<Vec<Step>> {
    let service = |name: &str| f.services.iter().find(|s| s.name == name);
    let mut steps = Vec::new();
    if f.drop_data {
        if let Some(a) = f
            .attachments
            .iter()
            .find(|a| Kind::parse(&a.kind).is_ok_and(|k| !k.spec().drops_project_data))
        {
            return Err(CoreError::InvalidInput(format!(
                "dropping a project's data is not supported for {} yet (service '{}'); nothing was deleted — \
                 remove the project without --drop-data to keep its data",
                a.kind, a.service
            )));
        }
        steps.extend(f.attachments.iter().cloned().map(Step::DropData));
    } else {
        // Keeping the data keeps no door open: users that own nothing (Redis) go now.
        steps.extend(
            f.attachments
                .iter()
                .filter(|a| service(&a.service).is_some_and(|s| driver(s.kind).revoked_on_detach()))
                .cloned()
                .map(Step::Revoke),
        );
    }
    steps.extend(
        f.attachments
            .iter()
            .filter(|a| service(&a.service).is_some())
            .map(|a| Step::Release(a.service.clone())),
    );
    if f.drop_data {
        // Looked up by dedication, not attachment, so a removal killed after the drops (the
        // attachment forgotten) still removes the server.
        steps.extend(
            f.services
                .iter()
                .filter(|s| s.dedicated_to.as_deref() == Some(f.project))
                .map(|s| Step::DestroyDedicated(s.name.clone())),
        );
    }
    steps.extend(
        f.externals
            .iter()
            .map(|e| Step::ForgetExternal(e.name.clone())),
    );
    steps.push(Step::Forget);
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str, kind: Kind, dedicated_to: Option<&str>) -> ServiceRow {
        ServiceRow {
            dedicated_to: dedicated_to.map(Into::into),
            ..ServiceRow::example(name, kind, "1")
        }
    }

    fn att(service: &str, kind: Kind) -> AttachmentRow {
        AttachmentRow {
            project: "shop".into(),
            service: service.into(),
            kind: kind.as_str().into(),
            db_name: "shop".into(),
            db_user: "shop".into(),
        }
    }

    fn external(name: &str) -> ExternalRow {
        ExternalRow {
            name: name.into(),
            project: "shop".into(),
            kind: "postgres".into(),
            host: "db.example".into(),
            port: 5432,
            db_name: "shop".into(),
            db_user: "shop".into(),
            created_at_ms: 0,
        }
    }

    fn steps(
        drop_data: bool,
        atts: &[AttachmentRow],
        services: &[ServiceRow],
    ) -> Result<Vec<Step>> {
        plan(
            &Facts {
                project: "shop",
                drop_data,
                attachments: atts,
                services,
                externals: &[external("legacy")],
            },
            Kind::driver,
        )
    }

    #[test]
    fn keeping_the_data_revokes_only_users_that_own_nothing() {
        let services = [
            service("pg", Kind::Postgres, None),
            service("cache", Kind::Redis, None),
        ];
        let atts = [
            att("pg", Kind::Postgres),
            att("cache", Kind::Redis),
            att("gone", Kind::Redis),
        ];
        let s = steps(false, &atts, &services).unwrap();
        assert_eq!(
            s,
            vec![
                Step::Revoke(att("cache", Kind::Redis)),
                Step::Release("pg".into()),
                Step::Release("cache".into()),
                Step::ForgetExternal("legacy".into()),
                Step::Forget,
            ],
            "PostgreSQL's user owns its data and stays; a destroyed service has no server to touch"
        );
    }

    #[test]
    fn dropping_the_data_drops_each_database_first_and_removes_dedicated_servers_last() {
        let services = [
            service("pg", Kind::Postgres, None),
            service("shop-pg", Kind::Postgres, Some("shop")),
            service("other", Kind::Postgres, Some("blog")),
        ];
        let atts = [att("pg", Kind::Postgres), att("shop-pg", Kind::Postgres)];
        let s = steps(true, &atts, &services).unwrap();
        assert_eq!(
            s,
            vec![
                Step::DropData(att("pg", Kind::Postgres)),
                Step::DropData(att("shop-pg", Kind::Postgres)),
                Step::Release("pg".into()),
                Step::Release("shop-pg".into()),
                Step::DestroyDedicated("shop-pg".into()),
                Step::ForgetExternal("legacy".into()),
                Step::Forget,
            ]
        );
        // Killed after the drops (attachments forgotten): the rerun still removes the server.
        let s = steps(true, &[], &services).unwrap();
        assert!(
            s.contains(&Step::DestroyDedicated("shop-pg".into())),
            "{s:?}"
        );
        assert!(
            !s.contains(&Step::DestroyDedicated("other".into())),
            "{s:?}"
        );
    }

    #[test]
    fn a_kind_whose_data_cannot_be_dropped_refuses_before_any_step() {
        let atts = [att("pg", Kind::Postgres), att("mongo", Kind::Mongo)];
        let services = [
            service("pg", Kind::Postgres, None),
            service("mongo", Kind::Mongo, None),
        ];
        let why = steps(true, &atts, &services).unwrap_err().to_string();
        assert!(why.contains("nothing was deleted"), "{why}");
        assert!(
            steps(false, &atts, &services).is_ok(),
            "keeping the data is fine"
        );
    }
}
