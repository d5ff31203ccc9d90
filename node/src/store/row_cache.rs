//! Committed rows read recently, kept in memory so that the rows every block and every CheckTx
//! read again (a returning signer's wallet and nonce, a grantee's counters, the original a
//! user shares) do not walk RocksDB's memtables and files each time.
//!
//! Exact, never a guess: a row enters only if no commit happened between the database read
//! that produced it and its insertion (the generation check below), and every commit updates
//! or removes the rows it writes that are cached. So a cached row is always the committed one,
//! and the cache changes speed only, never a verdict (a node that restarts with it empty
//! reaches the same app hash). Bounded in bytes: when full it starts again empty.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{Changes, Table};

/// See the module documentation.
#[derive(Debug)]
pub(super) struct RowCache {
    inner: Mutex<Inner>,
    budget: usize,
}

#[derive(Debug)]
struct Inner {
    /// Moves on with every commit.
    generation: u64,
    /// Bytes of keys and values held.
    bytes: usize,
    tables: [HashMap<Vec<u8>, Vec<u8>>; Table::COUNT],
}

/// What one row costs besides its key and value (the map's entry, two allocations).
const ROW_OVERHEAD: usize = 64;

impl RowCache {
    /// A cache of at most `budget` bytes (0: cache nothing).
    pub(super) fn new(budget: usize) -> Self {
        RowCache {
            inner: Mutex::new(Inner {
                generation: 0,
                bytes: 0,
                tables: std::array::from_fn(|_| HashMap::new()),
            }),
            budget,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether rows of `table` are worth keeping: not blocks (large, read by the RPC) nor the
    /// transaction index (each hash read about once).
    fn caches(table: Table) -> bool {
        // State-tree nodes are read once per update and replaced by new keys each block: a
        // cached one would only push state rows out.
        !matches!(
            table,
            Table::Blocks | Table::TxIndex | Table::StateTreeNodes | Table::StateTreeStale
        )
    }

    /// The cached row, if any. `Err(generation)` on a miss: pass it to [`RowCache::offer`]
    /// with what the database answered.
    pub(super) fn get(&self, table: Table, key: &[u8]) -> Result<Vec<u8>, u64> {
        if !Self::caches(table) || self.budget == 0 {
            // Nothing to find, and `offer` keeps nothing of these: no lock to take.
            return Err(0);
        }
        let inner = self.lock();
        match inner.tables[table.index()].get(key) {
            Some(value) => Ok(value.clone()),
            None => Err(inner.generation),
        }
    }

    /// Keeps a row the database returned, unless a commit has happened since `generation`
    /// (the row may be older than that commit).
    pub(super) fn offer(&self, generation: u64, table: Table, key: &[u8], value: &[u8]) {
        if !Self::caches(table) || self.budget == 0 {
            return;
        }
        let cost = key.len() + value.len() + ROW_OVERHEAD;
        let mut inner = self.lock();
        if inner.generation != generation || cost > self.budget {
            return;
        }
        if inner.bytes + cost > self.budget {
            for rows in &mut inner.tables {
                rows.clear();
            }
            inner.bytes = 0;
        }
        if let Some(old) = inner.tables[table.index()].insert(key.to_vec(), value.to_vec()) {
            inner.bytes -= key.len() + old.len() + ROW_OVERHEAD;
        }
        inner.bytes += cost;
    }

    /// Brings the cached rows up to date with `changes`, which the database has just committed,
    /// and moves the generation on (so reads that began before the commit are not kept).
    pub(super) fn committed(&self, changes: &Changes) {
        let mut inner = self.lock();
        inner.generation += 1;
        let Inner { bytes, tables, .. } = &mut *inner;
        // Only the tables the cache keeps rows of: a block's state-tree rows outnumber its
        // other rows, and none of them is ever cached.
        for table in Table::ALL.iter().filter(|t| Self::caches(**t)) {
            let rows = &mut tables[table.index()];
            if rows.is_empty() {
                continue;
            }
            for (key, value) in changes.entries(*table) {
                let Some(cached) = rows.get_mut(key) else {
                    continue;
                };
                match value {
                    Some(value) => {
                        *bytes = *bytes + value.len() - cached.len();
                        cached.clear();
                        cached.extend_from_slice(value);
                    }
                    None => {
                        *bytes -= key.len() + cached.len() + ROW_OVERHEAD;
                        rows.remove(key);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Write;

    #[test]
    fn a_commit_updates_and_removes_cached_rows() {
        let cache = RowCache::new(1 << 20);
        let generation = cache.get(Table::Users, b"a").unwrap_err();
        cache.offer(generation, Table::Users, b"a", b"one");
        let generation = cache.get(Table::Users, b"b").unwrap_err();
        cache.offer(generation, Table::Users, b"b", b"two");
        assert_eq!(cache.get(Table::Users, b"a"), Ok(b"one".to_vec()));
        let mut changes = Changes::default();
        changes.put(Table::Users, b"a".to_vec(), b"uno".to_vec());
        changes.delete(Table::Users, b"b".to_vec());
        changes.put(Table::Users, b"c".to_vec(), b"new".to_vec());
        cache.committed(&changes);
        assert_eq!(cache.get(Table::Users, b"a"), Ok(b"uno".to_vec()));
        assert!(cache.get(Table::Users, b"b").is_err());
        assert!(
            cache.get(Table::Users, b"c").is_err(),
            "not read: not cached"
        );
        assert_eq!(
            cache.lock().bytes,
            1 + 3 + ROW_OVERHEAD,
            "the byte count follows"
        );
    }

    #[test]
    fn a_row_read_before_a_commit_is_not_kept() {
        let cache = RowCache::new(1 << 20);
        let generation = cache.get(Table::Nonces, b"signer").unwrap_err();
        // The commit lands between the database read and the offer.
        let mut changes = Changes::default();
        changes.put(Table::Nonces, b"signer".to_vec(), b"2".to_vec());
        cache.committed(&changes);
        cache.offer(generation, Table::Nonces, b"signer", b"1");
        assert!(cache.get(Table::Nonces, b"signer").is_err());
    }

    #[test]
    fn full_starts_again_empty_and_skips_blocks() {
        let cache = RowCache::new(3 * (ROW_OVERHEAD + 2));
        for key in [b"k1", b"k2", b"k3"] {
            let generation = cache.get(Table::Counts, key).unwrap_err();
            cache.offer(generation, Table::Counts, key, b"");
        }
        assert!(cache.get(Table::Counts, b"k1").is_ok());
        let generation = cache.get(Table::Counts, b"k4").unwrap_err();
        cache.offer(generation, Table::Counts, b"k4", b"");
        assert!(cache.get(Table::Counts, b"k1").is_err());
        assert!(cache.get(Table::Counts, b"k4").is_ok());
        let generation = cache.get(Table::Blocks, b"1").unwrap_err();
        cache.offer(generation, Table::Blocks, b"1", b"block");
        assert!(cache.get(Table::Blocks, b"1").is_err());
    }
}
