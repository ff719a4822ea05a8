//! A service's mode and memory limit as the store keeps them.

use rusqlite::params;

use super::{now_ms, Store};
use crate::catalog::Kind;
use crate::error::Result;
use crate::modes::{default_memory_mb, Mode};

/// What a new service row is created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    pub mode: Mode,
    /// `None`: no limit.
    pub memory_mb: Option<u32>,
}

impl Resources {
    /// A new service of `kind` in `mode` with its default limit (an ephemeral one has room for
    /// its data in memory on top).
    pub fn default_for(kind: Kind, mode: Mode) -> Resources {
        Resources {
            mode,
            memory_mb: Some(default_memory_mb(kind.driver().default_memory_mb(), mode)),
        }
    }
}

impl Store {
    /// Records a service's new memory limit (`None`: no limit). Returns whether it exists.
    pub fn set_memory(&self, name: &str, memory_mb: Option<u32>) -> Result<bool> {
        self.with(|c| {
            let n = c.execute(
                "UPDATE services SET memory_mb = ?2, updated_at_ms = ?3 WHERE name = ?1",
                params![name, memory_mb, now_ms()],
            )?;
            Ok(n == 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewService;

    fn new(name: &str) -> NewService<'_> {
        NewService {
            name,
            kind: Kind::Redis,
            version: "7",
            image: "redis:7",
            port_explicit: false,
            pinned: true,
            volume: None,
        }
    }

    #[test]
    fn a_service_keeps_the_mode_and_limit_it_was_created_with() {
        let s = Store::open_in_memory().unwrap();
        let (plain, _) = s.claim_service(&new("plain"), |_| Ok(6379)).unwrap();
        assert_eq!(plain.mode, Mode::DURABLE);
        assert_eq!(
            plain.memory_mb,
            Some(Kind::Redis.driver().default_memory_mb())
        );

        let eph = Resources::default_for(Kind::Redis, Mode::parse("ephemeral-fast").unwrap());
        let (row, created) = s
            .claim_service_as(&new("scratch"), &eph, |_| Ok(6380))
            .unwrap();
        assert!(created);
        assert_eq!(row.mode.as_str(), "ephemeral-fast");
        assert_eq!(
            row.memory_mb,
            Some(2 * Kind::Redis.driver().default_memory_mb())
        );
        // Claimed again with other wishes: the row is what it was.
        let (again, created) = s
            .claim_service_as(
                &new("scratch"),
                &Resources::default_for(Kind::Redis, Mode::DURABLE),
                |_| panic!("no port needed"),
            )
            .unwrap();
        assert!(!created);
        assert_eq!(again.mode.as_str(), "ephemeral-fast");

        assert!(s.set_memory("scratch", Some(1024)).unwrap());
        assert_eq!(s.service("scratch").unwrap().unwrap().memory_mb, Some(1024));
        assert!(s.set_memory("scratch", None).unwrap());
        assert_eq!(s.service("scratch").unwrap().unwrap().memory_mb, None);
        assert!(!s.set_memory("nope", Some(64)).unwrap());
    }

    #[test]
    fn services_from_before_limits_existed_keep_running_without_one() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("state.db");
        // A version-5 database with one service in it (made by undoing migrations 6–10), then this
        // binary opens it.
        {
            let s = Store::open(&p).unwrap();
            s.claim_service(&new("old"), |_| Ok(6379)).unwrap();
            s.with(|c| {
                c.execute_batch(
                    "UPDATE services SET memory_mb = NULL;
                     DROP TABLE copies;
                     DROP TABLE own_accounts;
                     DROP TABLE tasks;
                     DROP TABLE externals;
                     ALTER TABLE services DROP COLUMN dedicated_to;
                     ALTER TABLE services DROP COLUMN origin;
                     ALTER TABLE services DROP COLUMN container;
                     ALTER TABLE services DROP COLUMN memory_mb;
                     ALTER TABLE services DROP COLUMN mode;
                     PRAGMA user_version = 5;",
                )?;
                Ok(())
            })
            .unwrap();
        }
        let s = Store::open(&p).unwrap();
        let row = s.service("old").unwrap().unwrap();
        assert_eq!((row.mode, row.memory_mb), (Mode::DURABLE, None));
    }
}
