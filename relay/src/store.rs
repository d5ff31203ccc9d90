//! The relay's own RocksDB store, at `<data dir>/relay`: what a relay must remember across
//! restarts and that is not chain state (sign-in nonces, revoked sessions, the access log).
//!
//! One column family per [`RelayTable`]. Writes go through RocksDB's write-ahead log; the ones
//! security depends on (a nonce used, a session revoked) are [`Durability::Synced`]: fsynced
//! before they are acknowledged, so neither a crash nor a power loss can make a used nonce or a
//! revoked token valid again. Rows that expire carry their expiry first in the value
//! ([`expiring_value`]) and [`RelayStore::prune_expired`] removes them.
//!
//! The store is local to one relay process (RocksDB takes a lock on the directory); see the
//! README's "Sign-in" section for what that means behind a load balancer.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, DB, IteratorMode, Options, WriteOptions};

macro_rules! relay_tables {
    ($($(#[$doc:meta])* $variant:ident = $name:literal;)*) => {
        /// The tables of the relay store, each a RocksDB column family.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RelayTable { $($(#[$doc])* $variant),* }

        impl RelayTable {
            /// Every table.
            pub const ALL: &'static [RelayTable] = &[$(RelayTable::$variant),*];

            /// The column family name.
            pub const fn name(self) -> &'static str {
                match self { $(RelayTable::$variant => $name),* }
            }
        }
    };
}

relay_tables! {
    /// sign-in nonce (ASCII) -> expiry (u64 BE, unix ms) ‖ state (0 issued, 1 used)
    Nonces = "nonces";
    /// session id (16 bytes) -> the session's expiry (u64 BE, unix ms)
    RevokedSessions = "revoked_sessions";
    /// The access log of reads through this relay (its layout belongs to the access log).
    AccessLog = "access_log";
}

/// Whether a write must reach the disk before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Written to the write-ahead log, fsynced later: survives a crash of the process, not
    /// necessarily a power loss. For rows whose loss is harmless (an issued nonce).
    Logged,
    /// Fsynced before the call returns. For rows whose loss would reopen a door.
    Synced,
}

/// A store operation failed (disk, corruption, lock held by another process).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("relay store at {path}: {detail}")]
pub struct StoreError {
    path: String,
    detail: String,
}

/// The relay's RocksDB database.
pub struct RelayStore {
    db: DB,
    path: PathBuf,
    /// Serializes read-modify-write of one row ([`RelayStore::update`]) within this process.
    update_lock: Mutex<()>,
    /// The options the database was opened with (they hold its statistics, when enabled).
    options: Options,
    /// Writes made with [`Durability::Synced`] so far.
    synced_writes: AtomicU64,
}

impl std::fmt::Debug for RelayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RelayStore({})", self.path.display())
    }
}

/// A value that expires: the expiry (unix ms, u64 big-endian) followed by `rest`.
pub fn expiring_value(expires_at_ms: u64, rest: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(8 + rest.len());
    value.extend_from_slice(&expires_at_ms.to_be_bytes());
    value.extend_from_slice(rest);
    value
}

/// The expiry of an [`expiring_value`] and what follows it (`None` if it is too short).
pub fn split_expiring(value: &[u8]) -> Option<(u64, &[u8])> {
    let (expiry, rest) = value.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*expiry), rest))
}

impl RelayStore {
    /// Opens (creating if needed) the store of the relay whose data directory is `data_dir`:
    /// `<data_dir>/relay`.
    pub fn open(data_dir: &Path) -> Result<Arc<RelayStore>, StoreError> {
        RelayStore::open_at(&data_dir.join("relay"))
    }

    /// Opens (creating if needed) the store at exactly `path`.
    pub fn open_at(path: &Path) -> Result<Arc<RelayStore>, StoreError> {
        RelayStore::open_with(path, false)
    }

    /// Like [`RelayStore::open_at`], with RocksDB's statistics collected (see
    /// [`RelayStore::ticker`]). For tests and diagnostics.
    pub fn open_with_statistics(path: &Path) -> Result<Arc<RelayStore>, StoreError> {
        RelayStore::open_with(path, true)
    }

    fn open_with(path: &Path, statistics: bool) -> Result<Arc<RelayStore>, StoreError> {
        let error = |detail: String| StoreError {
            path: path.display().to_string(),
            detail,
        };
        std::fs::create_dir_all(path).map_err(|e| error(format!("creating it: {e}")))?;
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        if statistics {
            options.enable_statistics();
        }
        let families = RelayTable::ALL
            .iter()
            .map(|t| ColumnFamilyDescriptor::new(t.name(), Options::default()));
        let db = DB::open_cf_descriptors(&options, path, families)
            .map_err(|e| error(e.into_string()))?;
        Ok(Arc::new(RelayStore {
            db,
            path: path.to_owned(),
            update_lock: Mutex::new(()),
            options,
            synced_writes: AtomicU64::new(0),
        }))
    }

    /// A RocksDB statistics ticker by name (e.g. `rocksdb.wal.synced`), when the store was
    /// opened with [`RelayStore::open_with_statistics`].
    pub fn ticker(&self, name: &str) -> Option<u64> {
        let dump = self.options.get_statistics()?;
        dump.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(" COUNT : ")?;
            rest.trim().parse().ok()
        })
    }

    /// How many [`Durability::Synced`] writes this store has made since it was opened.
    pub fn synced_writes(&self) -> u64 {
        self.synced_writes.load(Ordering::Relaxed)
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, e: rocksdb::Error) -> StoreError {
        StoreError {
            path: self.path.display().to_string(),
            detail: e.into_string(),
        }
    }

    fn cf(&self, table: RelayTable) -> &ColumnFamily {
        self.db
            .cf_handle(table.name())
            .expect("every column family is created at open")
    }

    fn write_options(durability: Durability) -> WriteOptions {
        let mut options = WriteOptions::default();
        options.set_sync(durability == Durability::Synced);
        options
    }

    /// Writes one row.
    pub fn put(
        &self,
        table: RelayTable,
        key: &[u8],
        value: &[u8],
        durability: Durability,
    ) -> Result<(), StoreError> {
        self.db
            .put_cf_opt(self.cf(table), key, value, &Self::write_options(durability))
            .map_err(|e| self.error(e))?;
        self.count_synced(durability);
        Ok(())
    }

    /// Writes `rows` of `table` in one atomic batch: all of them or none.
    pub fn put_all(
        &self,
        table: RelayTable,
        rows: &[(Vec<u8>, Vec<u8>)],
        durability: Durability,
    ) -> Result<(), StoreError> {
        let mut batch = rocksdb::WriteBatch::default();
        for (key, value) in rows {
            batch.put_cf(self.cf(table), key, value);
        }
        self.db
            .write_opt(batch, &Self::write_options(durability))
            .map_err(|e| self.error(e))?;
        self.count_synced(durability);
        Ok(())
    }

    fn count_synced(&self, durability: Durability) {
        if durability == Durability::Synced {
            self.synced_writes.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Reads one row.
    pub fn get(&self, table: RelayTable, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db
            .get_cf(self.cf(table), key)
            .map_err(|e| self.error(e))
    }

    /// Deletes one row.
    pub fn delete(
        &self,
        table: RelayTable,
        key: &[u8],
        durability: Durability,
    ) -> Result<(), StoreError> {
        self.db
            .delete_cf_opt(self.cf(table), key, &Self::write_options(durability))
            .map_err(|e| self.error(e))?;
        self.count_synced(durability);
        Ok(())
    }

    /// Reads a row and, under a lock no other update of this store passes, writes what
    /// `change` returns for it (`Some(value)`: put, synced; `None`: leave it). Returns what
    /// the row held before. Two concurrent updates of one row see each other's writes.
    pub fn update(
        &self,
        table: RelayTable,
        key: &[u8],
        change: impl FnOnce(Option<&[u8]>) -> Option<Vec<u8>>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let _guard = self
            .update_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = self.get(table, key)?;
        if let Some(after) = change(before.as_deref()) {
            self.put(table, key, &after, Durability::Synced)?;
        }
        Ok(before)
    }

    /// Deletes every row of `table` whose [`expiring_value`] expired at or before `now_ms`
    /// (and any row too short to hold an expiry). Returns how many rows it deleted.
    pub fn prune_expired(&self, table: RelayTable, now_ms: u64) -> Result<usize, StoreError> {
        let mut batch = rocksdb::WriteBatch::default();
        let mut pruned = 0;
        for item in self.db.iterator_cf(self.cf(table), IteratorMode::Start) {
            let (key, value) = item.map_err(|e| self.error(e))?;
            let expired = split_expiring(&value).is_none_or(|(expiry, _)| expiry <= now_ms);
            if expired {
                batch.delete_cf(self.cf(table), key);
                pruned += 1;
            }
        }
        if pruned > 0 {
            self.db
                .write_opt(batch, &Self::write_options(Durability::Logged))
                .map_err(|e| self.error(e))?;
        }
        Ok(pruned)
    }

    /// How many rows `table` holds (walks it: for tests and diagnostics).
    pub fn count(&self, table: RelayTable) -> Result<usize, StoreError> {
        let mut n = 0;
        for item in self.db.iterator_cf(self.cf(table), IteratorMode::Start) {
            item.map_err(|e| self.error(e))?;
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_distinct_names_and_live_under_data_dir_relay() {
        let names: std::collections::BTreeSet<_> =
            RelayTable::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(names.len(), RelayTable::ALL.len());
        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open(dir.path()).unwrap();
        assert_eq!(store.path(), dir.path().join("relay"));
        for table in RelayTable::ALL {
            assert_eq!(store.count(*table).unwrap(), 0);
        }
    }

    #[test]
    fn rows_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = RelayStore::open(dir.path()).unwrap();
            store
                .put(RelayTable::RevokedSessions, b"s", b"v", Durability::Synced)
                .unwrap();
            store
                .put(RelayTable::Nonces, b"n", b"w", Durability::Logged)
                .unwrap();
        }
        let store = RelayStore::open(dir.path()).unwrap();
        assert_eq!(
            store.get(RelayTable::RevokedSessions, b"s").unwrap(),
            Some(b"v".to_vec())
        );
        assert_eq!(
            store.get(RelayTable::Nonces, b"n").unwrap(),
            Some(b"w".to_vec())
        );
        assert_eq!(store.get(RelayTable::AccessLog, b"s").unwrap(), None);
    }

    #[test]
    fn fail_a_second_process_cannot_open_a_store_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let _store = RelayStore::open(dir.path()).unwrap();
        let err = RelayStore::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("relay"), "{err}");
    }

    #[test]
    fn synced_writes_reach_the_disk_before_they_return_logged_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open_with_statistics(&dir.path().join("relay")).unwrap();
        let synced = || store.ticker("rocksdb.wal.synced").unwrap();
        let start = synced();
        store
            .put(RelayTable::Nonces, b"a", b"1", Durability::Logged)
            .unwrap();
        store
            .delete(RelayTable::Nonces, b"a", Durability::Logged)
            .unwrap();
        assert_eq!(synced(), start);
        assert_eq!(store.synced_writes(), 0);
        store
            .put(RelayTable::RevokedSessions, b"s", b"1", Durability::Synced)
            .unwrap();
        assert_eq!(synced(), start + 1);
        store
            .update(RelayTable::Nonces, b"n", |_| Some(b"2".to_vec()))
            .unwrap();
        assert_eq!(synced(), start + 2);
        store
            .delete(RelayTable::Nonces, b"n", Durability::Synced)
            .unwrap();
        assert_eq!(synced(), start + 3);
        assert_eq!(store.synced_writes(), 3);
    }

    #[test]
    fn prune_removes_expired_rows_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open(dir.path()).unwrap();
        for (key, expiry) in [(&b"a"[..], 100u64), (b"b", 200), (b"c", 300)] {
            store
                .put(
                    RelayTable::Nonces,
                    key,
                    &expiring_value(expiry, &[0]),
                    Durability::Logged,
                )
                .unwrap();
        }
        store
            .put(RelayTable::Nonces, b"short", b"x", Durability::Logged)
            .unwrap();
        assert_eq!(store.prune_expired(RelayTable::Nonces, 200).unwrap(), 3);
        assert_eq!(store.count(RelayTable::Nonces).unwrap(), 1);
        assert!(store.get(RelayTable::Nonces, b"c").unwrap().is_some());
        assert_eq!(store.prune_expired(RelayTable::Nonces, 200).unwrap(), 0);
    }

    #[test]
    fn update_sees_the_previous_value_and_writes_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open(dir.path()).unwrap();
        let before = store
            .update(RelayTable::Nonces, b"k", |old| {
                assert_eq!(old, None);
                Some(b"1".to_vec())
            })
            .unwrap();
        assert_eq!(before, None);
        let before = store.update(RelayTable::Nonces, b"k", |_| None).unwrap();
        assert_eq!(before, Some(b"1".to_vec()));
        assert_eq!(
            store.get(RelayTable::Nonces, b"k").unwrap(),
            Some(b"1".to_vec())
        );
    }
}
