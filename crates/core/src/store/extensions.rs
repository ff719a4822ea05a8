//! The extensions a service was created with. Kept beside the service's row rather than in
//! `ServiceRow`: only attaching and the window ask for them.

use rusqlite::{params, OptionalExtension};

use super::{now_ms, Store};
use crate::catalog::extensions::Extension;
use crate::error::Result;

impl Store {
    /// The extensions recorded for a service (none for an unknown service).
    pub fn service_extensions(&self, name: &str) -> Result<Vec<Extension>> {
        self.with(|c| {
            let list: Option<String> = c
                .query_row(
                    "SELECT extensions FROM services WHERE name = ?1",
                    [name],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(list
                .map(|l| Extension::parse_stored(&l))
                .unwrap_or_default())
        })
    }

    /// Records the extensions a service's image carries.
    pub fn set_service_extensions(&self, name: &str, extensions: &[Extension]) -> Result<()> {
        let list = extensions
            .iter()
            .map(|e| e.sql_name())
            .collect::<Vec<_>>()
            .join(",");
        self.with(|c| {
            c.execute(
                "UPDATE services SET extensions = ?2, updated_at_ms = ?3 WHERE name = ?1",
                params![name, list, now_ms()],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::extensions::Extension;
    use crate::catalog::Kind;
    use crate::store::{NewService, Store};

    #[test]
    fn a_service_remembers_its_extensions() {
        let s = Store::open_in_memory().unwrap();
        s.claim_service(
            &NewService {
                name: "pg-gis",
                kind: Kind::Postgres,
                version: "17",
                image: "postgis/postgis:17-3.5",
                port_explicit: false,
                pinned: true,
                volume: None,
            },
            |_| Ok(5432),
        )
        .unwrap();
        assert!(s.service_extensions("pg-gis").unwrap().is_empty());
        s.set_service_extensions("pg-gis", &[Extension::Postgis])
            .unwrap();
        assert_eq!(
            s.service_extensions("pg-gis").unwrap(),
            [Extension::Postgis]
        );
        assert!(s.service_extensions("nope").unwrap().is_empty());
    }
}
