//! A small pool of store connections, shared by everything in one collector that reads or
//! writes the store: batch ingestion, the console, the notifier, the purge.
//!
//! With one connection, every batch of every agent queued behind the one before it, and behind
//! each console page; on PostgreSQL the database can do more than one thing at a time, and the
//! store is already written for that — every decision several *collectors* could race on is
//! taken in the database (inserts `ON CONFLICT DO NOTHING`, advisory locks on grouping keys, a
//! reservation lock for logins), so several connections of *one* collector are just as safe.
//! The pool opens connections as load needs them, up to `store_pool_size` (default
//! [`DEFAULT_POOL_SIZE`]), and keeps them. SQLite has one writer at a time whatever the number
//! of connections, so a SQLite store is a pool of one.
//!
//! A connection PostgreSQL closed (a restart, a failover) is replaced when it comes back to the
//! pool, so the collector recovers without a restart of its own. A connection whose user
//! panicked in the middle of a transaction is rolled back before anyone else gets it.

use super::{Store, StoreLocation};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Connections a collector keeps to a PostgreSQL store by default.
pub const DEFAULT_POOL_SIZE: u32 = 4;

/// Store connections, handed out one caller at a time each.
pub struct StorePool {
    /// Where to open more; `None` for a pool of exactly the store it was given.
    location: Option<StoreLocation>,
    size: usize,
    state: Mutex<PoolState>,
    returned: Condvar,
}

struct PoolState {
    idle: Vec<Store>,
    /// Connections in existence (idle or in use).
    open: usize,
}

impl StorePool {
    /// A pool of one connection: `store`.
    pub fn single(store: Store) -> StorePool {
        StorePool { location: None, size: 1, state: Mutex::new(PoolState { idle: vec![store], open: 1 }), returned: Condvar::new() }
    }

    /// A pool that starts with `first` (already migrated) and opens up to `size` connections to
    /// `location` in all as callers need them; a SQLite location is always a pool of one.
    pub fn new(first: Store, location: StoreLocation, size: u32) -> StorePool {
        let size = match location {
            StoreLocation::Sqlite(_) => 1,
            StoreLocation::Postgres(_) => size.max(1) as usize,
        };
        StorePool { location: Some(location), size, state: Mutex::new(PoolState { idle: vec![first], open: 1 }), returned: Condvar::new() }
    }

    /// The most connections this pool holds.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Runs `f` with a connection of its own (blocking: waits for one when all are in use).
    pub fn with<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        let mut lease = Lease { pool: self, store: Some(self.checkout()) };
        f(lease.store.as_mut().unwrap_or_else(|| unreachable!("a lease holds its store until dropped")))
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn checkout(&self) -> Store {
        let mut state = self.lock();
        loop {
            if let Some(store) = state.idle.pop() {
                return store;
            }
            if state.open < self.size
                && let Some(location) = &self.location
            {
                state.open += 1;
                drop(state);
                match Store::open_location(location) {
                    Ok(store) => return store,
                    Err(e) => {
                        // At least one connection exists (the first): wait for it instead.
                        tracing::warn!(error = %e, "cannot open another store connection; waiting for one in use");
                        state = self.lock();
                        state.open -= 1;
                    }
                }
            }
            state = self.returned.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn checkin(&self, mut store: Store) {
        if std::thread::panicking() {
            store.recover();
        }
        if store.is_broken()
            && let Some(location) = &self.location
        {
            match Store::open_location(location) {
                Ok(fresh) => {
                    tracing::info!("a store connection was closed by the database; replaced it");
                    store = fresh;
                }
                // Kept: its next use fails with the database's error, and is retried here.
                Err(e) => tracing::warn!(error = %e, "a store connection was closed and cannot be reopened yet"),
            }
        }
        self.lock().idle.push(store);
        self.returned.notify_one();
    }
}

/// A connection lent out; back to the pool when dropped, panics included.
struct Lease<'p> {
    pool: &'p StorePool,
    store: Option<Store>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            self.pool.checkin(store);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_store_is_a_pool_of_one_whatever_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let pool = StorePool::new(Store::open(&path).unwrap(), StoreLocation::Sqlite(path), 8);
        assert_eq!(pool.size(), 1);
        assert_eq!(pool.with(|s| s.finding_count().unwrap()), 0);
    }

    #[test]
    fn a_panic_inside_a_transaction_is_rolled_back_before_the_next_caller() {
        let dir = tempfile::tempdir().unwrap();
        let pool = StorePool::single(Store::open(&dir.path().join("c.db")).unwrap());
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.with(|s| {
                let _ = s.atomically(|s| -> Result<(), crate::store::StoreError> {
                    s.revoke_agent("a", "r", 1)?;
                    panic!("interrupted");
                });
            })
        }));
        assert!(r.is_err());
        assert!(!pool.with(|s| s.is_revoked("a").unwrap()), "the interrupted transaction was rolled back");
        pool.with(|s| s.revoke_agent("b", "r", 2).unwrap());
        assert!(pool.with(|s| s.is_revoked("b").unwrap()), "and the connection works");
    }
}
