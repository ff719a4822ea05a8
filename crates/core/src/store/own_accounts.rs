//! The users Dockhand created on each service (see migration 9): provisioning takes over no
//! user it did not create.

use rusqlite::{params, OptionalExtension};

use super::{now_ms, Store};
use crate::error::Result;

impl Store {
    /// Whether Dockhand created (or set out to create) `user` on `service`.
    pub fn is_own_account(&self, service: &str, user: &str) -> Result<bool> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT 1 FROM own_accounts WHERE service = ?1 AND db_user = ?2",
                params![service, user],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
        })
    }

    /// Records `user` (and its database) as Dockhand's, before it is created on the server: a
    /// run killed in between finds it recorded and creates it.
    pub fn record_own_account(&self, service: &str, user: &str, database: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO own_accounts (service, db_user, db_name, created_at_ms) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![service, user, database, now_ms()],
            )?;
            Ok(())
        })
    }

    /// Forgets `user` on `service` once Dockhand has deleted it there.
    pub fn forget_own_account(&self, service: &str, user: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "DELETE FROM own_accounts WHERE service = ?1 AND db_user = ?2",
                params![service, user],
            )?;
            Ok(())
        })
    }

    /// Forgets every user of a service whose data is gone (`destroy --purge`).
    pub fn forget_own_accounts(&self, service: &str) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM own_accounts WHERE service = ?1", [service])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[test]
    fn an_account_is_ours_from_its_record_until_it_is_forgotten() {
        let s = Store::open_in_memory().unwrap();
        assert!(!s.is_own_account("pg", "shop").unwrap());
        s.record_own_account("pg", "shop", "shop").unwrap();
        s.record_own_account("pg", "shop", "shop").unwrap();
        assert!(s.is_own_account("pg", "shop").unwrap());
        assert!(!s.is_own_account("other", "shop").unwrap());
        s.forget_own_account("pg", "shop").unwrap();
        assert!(!s.is_own_account("pg", "shop").unwrap());
        s.record_own_account("pg", "a", "a").unwrap();
        s.forget_own_accounts("pg").unwrap();
        assert!(!s.is_own_account("pg", "a").unwrap());
    }
}
