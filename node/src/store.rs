//! RocksDB storage: one column family per table, reads through committed snapshots or through
//! layered uncommitted changes, and atomic commits.
//!
//! A block executes against `Working` state: each transaction writes into its own change set
//! layered over the block's, which is layered over the database. A failed transaction's
//! change set is dropped; a successful one is merged into the block's. `Commit` writes the
//! block's changes, the new height and the app hash in a single `WriteBatch`, so a crash at any
//! point leaves either the previous block or the new one, never a part.

mod row_cache;

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::iter::Peekable;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, ReadOptions,
    WriteBatch, WriteOptions,
};
use row_cache::RowCache;

use crate::error::{NodeError, NodeResult, database};

pub use idos_state::table::{Read, Table, Write, key};

/// Column family options, chosen so that CPU goes to verifying signatures:
///
/// - Tables whose values are mostly ciphertext or hashes (credentials; blocks, which hold
///   transactions; the state tree's nodes) are stored uncompressed: neither compresses. The
///   others are uncompressed in the two levels a flush and the first compaction write
///   (random ids compress little, and every byte written passes there), and LZ4-compressed
///   below, where an old node's bulk lies.
/// - Tables read key by key get a whole-key Bloom filter in their files (the tree's nodes
///   not in the last level's) and in their memtable (a transaction checks that its new ids
///   are free, which is a miss, and a miss otherwise searches the whole memtable and every
///   level-0 file), and a hash index in their data blocks. Index tables are only scanned by
///   prefix, which neither helps.
///
/// Every table's blocks share one cache (`cache`), sized for the node, instead of RocksDB's
/// 8 MiB per table, which a table of credentials outgrows at once.
fn table_options(table: Table, cache: &rocksdb::Cache) -> Options {
    use rocksdb::DBCompressionType::{Lz4, None as Uncompressed};
    let mut options = Options::default();
    if matches!(
        table,
        Table::Credentials | Table::Blocks | Table::StateTreeNodes
    ) {
        options.set_compression_type(Uncompressed);
    } else {
        options.set_compression_per_level(&[Uncompressed, Uncompressed, Lz4, Lz4, Lz4, Lz4, Lz4]);
    }
    let mut blocks = rocksdb::BlockBasedOptions::default();
    blocks.set_block_cache(cache);
    if !table.is_index() {
        blocks.set_bloom_filter(10.0, false);
        // A hash index in each data block: a point read finds its key without a binary
        // search through the block.
        blocks.set_data_block_index_type(rocksdb::DataBlockIndexType::BinaryAndHash);
        // 1% of the 64 MiB write buffer: about 9 bits per key when full of small rows.
        options.set_memtable_prefix_bloom_ratio(0.01);
        options.set_memtable_whole_key_filtering(true);
    }
    if table == Table::StateTreeNodes {
        // The tree reads only nodes that exist (a parent names each child's version): a
        // filter on the last level, where most nodes lie, would never spare a read, and at
        // 10 bits a node it would take memory in proportion to the whole tree.
        options.set_optimize_filters_for_hits(true);
    }
    options.set_block_based_table_factory(&blocks);
    options
}

/// The block cache all tables share (uncompressed blocks of their files).
const BLOCK_CACHE_BYTES: usize = 256 << 20;

/// Uncommitted writes: `None` is a deletion. Ordered by table then key, which is also the order
/// the app hash covers them in. One map per table, so that a lookup borrows the key instead of
/// building an owned `(table, key)` pair, and each map holds only its table's keys.
#[derive(Debug, Clone)]
pub struct Changes {
    tables: [BTreeMap<Vec<u8>, Option<Vec<u8>>>; Table::COUNT],
}

impl Default for Changes {
    fn default() -> Self {
        Changes {
            tables: std::array::from_fn(|_| BTreeMap::new()),
        }
    }
}

impl Changes {
    /// `Some(Some(v))` written, `Some(None)` deleted, `None` untouched.
    pub fn lookup(&self, table: Table, key: &[u8]) -> Option<Option<&Vec<u8>>> {
        self.tables[table.index()].get(key).map(Option::as_ref)
    }

    /// The entries of `table` under `prefix` from `start` on, lazily.
    fn range_from<'a>(
        &'a self,
        table: Table,
        prefix: &'a [u8],
        start: &[u8],
    ) -> impl Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)> + 'a {
        self.tables[table.index()]
            .range::<[u8], _>((Bound::Included(start), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
    }

    /// Writes every `(key, value)` of `entries` into `table`, over any entry already there.
    /// Entries in key order go in at the cost of building the map, not of a search each.
    pub fn put_all(&mut self, table: Table, entries: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>) {
        let entries = entries.into_iter().map(|(k, v)| (k, Some(v)));
        let map = &mut self.tables[table.index()];
        if map.is_empty() {
            *map = entries.collect();
        } else {
            map.extend(entries);
        }
    }

    /// Moves every entry of `newer` over this set's.
    pub fn absorb(&mut self, newer: Changes) {
        for (mine, theirs) in self.tables.iter_mut().zip(newer.tables) {
            if mine.is_empty() {
                *mine = theirs;
            } else {
                mine.extend(theirs);
            }
        }
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(BTreeMap::is_empty)
    }

    /// The entries of `table`, in key order.
    pub fn entries(&self, table: Table) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
        self.tables[table.index()]
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
    }

    /// Every entry, in order.
    pub fn iter(&self) -> impl Iterator<Item = (Table, &[u8], Option<&[u8]>)> {
        Table::ALL
            .iter()
            .zip(&self.tables)
            .flat_map(|(table, entries)| {
                entries
                    .iter()
                    .map(move |(k, v)| (*table, k.as_slice(), v.as_deref()))
            })
    }
}

impl Write for Changes {
    fn put(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>) {
        self.tables[table.index()].insert(key, Some(value));
    }
    fn delete(&mut self, table: Table, key: Vec<u8>) {
        self.tables[table.index()].insert(key, None);
    }
}

/// Committed rows read while one block executes, so that a row several of its transactions
/// read (the signer's wallet, the original they share) costs one database read. Exact, not a
/// guess: committed state does not change while a block executes (the block is committed
/// after it, by the same single writer), and the block's own writes are in the layers above,
/// which are looked up first. Bounded by what the block reads, which is bounded by its size;
/// dropped with the block.
#[derive(Debug)]
pub struct ReadCache {
    tables: RefCell<[CachedRows; Table::COUNT]>,
}

/// One table's committed rows read so far (`None`: absent).
type CachedRows = HashMap<Vec<u8>, Option<Vec<u8>>>;

impl Default for ReadCache {
    fn default() -> Self {
        ReadCache {
            tables: RefCell::new(std::array::from_fn(|_| HashMap::new())),
        }
    }
}

impl ReadCache {
    fn get(&self, store: &Store, table: Table, key: &[u8]) -> NodeResult<Option<Vec<u8>>> {
        if let Some(value) = self.tables.borrow()[table.index()].get(key) {
            return Ok(value.clone());
        }
        let value = store.get(table, key)?;
        self.tables.borrow_mut()[table.index()].insert(key.to_vec(), value.clone());
        Ok(value)
    }
}

/// The RocksDB database.
pub struct Store {
    db: DB,
    sync_writes: bool,
    /// The options the database was opened with (they hold its statistics, when enabled).
    options: Options,
    /// Rows read so far (each `get`, each step of an iterator).
    rows_read: AtomicU64,
    tree_nodes_read: AtomicU64,
    /// Committed rows read recently (see [`row_cache`]).
    rows: RowCache,
}

/// How many bytes of committed rows a store keeps in memory ([`row_cache`]).
const ROW_CACHE_BYTES: usize = 32 << 20;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.db.path().display())
    }
}

impl Store {
    /// Opens (creating if needed) the database under `path`. With `sync_writes`, every commit
    /// is fsynced before it is acknowledged (durable across power loss, not only crashes).
    pub fn open(path: &Path, sync_writes: bool) -> NodeResult<Arc<Store>> {
        Store::open_with(path, sync_writes, false)
    }

    /// Like [`Store::open`], with RocksDB's statistics collected (see [`Store::ticker`]). For
    /// tests and diagnostics: statistics cost a little on every operation.
    pub fn open_with_statistics(path: &Path, sync_writes: bool) -> NodeResult<Arc<Store>> {
        Store::open_with(path, sync_writes, true)
    }

    fn open_with(path: &Path, sync_writes: bool, statistics: bool) -> NodeResult<Arc<Store>> {
        std::fs::create_dir_all(path)
            .map_err(NodeError::io(format!("creating {}", path.display())))?;
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.increase_parallelism(2);
        if statistics {
            options.enable_statistics();
        }
        refuse_unknown_tables(&options, path)?;
        let cache = rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES).map_err(database)?;
        let families = Table::ALL
            .iter()
            .map(|t| ColumnFamilyDescriptor::new(t.name(), table_options(*t, &cache)));
        let db = DB::open_cf_descriptors(&options, path, families).map_err(database)?;
        Ok(Arc::new(Store {
            db,
            sync_writes,
            options,
            rows_read: AtomicU64::new(0),
            tree_nodes_read: AtomicU64::new(0),
            rows: RowCache::new(ROW_CACHE_BYTES),
        }))
    }

    /// Writes every memtable to a file on disk and waits until that is done: the work every
    /// committed byte costs sooner or later, which benchmarks count in.
    pub fn flush(&self) -> NodeResult<()> {
        for table in Table::ALL {
            self.db.flush_cf(self.cf(*table)).map_err(database)?;
        }
        Ok(())
    }

    /// Whether commits are fsynced.
    pub fn syncs_writes(&self) -> bool {
        self.sync_writes
    }

    /// A RocksDB statistics ticker by name (e.g. `rocksdb.wal.synced`), when the store was
    /// opened with [`Store::open_with_statistics`].
    pub fn ticker(&self, name: &str) -> Option<u64> {
        let dump = self.options.get_statistics()?;
        dump.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(" COUNT : ")?;
            rest.trim().parse().ok()
        })
    }

    /// How many rows of the application's tables this store has read since it was opened:
    /// one per `get`, one per step of a scan (state-tree nodes are counted apart, in
    /// [`Store::tree_nodes_read`]). Tests and benchmarks use it to show that a read costs what
    /// its answer holds.
    pub fn rows_read(&self) -> u64 {
        self.rows_read.load(AtomicOrdering::Relaxed)
    }

    /// How many state-tree entries (nodes, stale-index entries) this store has read since it
    /// was opened: what a block's tree update and pruning cost.
    pub fn tree_nodes_read(&self) -> u64 {
        self.tree_nodes_read.load(AtomicOrdering::Relaxed)
    }

    fn count_read(&self, table: Table) {
        let counter = if table.is_state_tree() {
            &self.tree_nodes_read
        } else {
            &self.rows_read
        };
        counter.fetch_add(1, AtomicOrdering::Relaxed);
    }

    fn cf(&self, table: Table) -> &ColumnFamily {
        self.db
            .cf_handle(table.name())
            .expect("every column family is created at open")
    }

    /// Reads through a consistent snapshot of committed state.
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            store: self,
            snapshot: self.db.snapshot(),
        }
    }

    /// Writes `changes` (and nothing else) atomically.
    pub fn commit(&self, changes: &Changes) -> NodeResult<()> {
        let mut batch = WriteBatch::default();
        for (table, key, value) in changes.iter() {
            match value {
                Some(v) => batch.put_cf(self.cf(table), key, v),
                None => batch.delete_cf(self.cf(table), key),
            }
        }
        without_perf_counters();
        let mut options = WriteOptions::default();
        options.set_sync(self.sync_writes);
        self.db.write_opt(batch, &options).map_err(database)?;
        self.rows.committed(changes);
        Ok(())
    }

    fn get_with(
        &self,
        table: Table,
        key: &[u8],
        options: &ReadOptions,
    ) -> NodeResult<Option<Vec<u8>>> {
        without_perf_counters();
        self.count_read(table);
        self.db
            .get_cf_opt(self.cf(table), key, options)
            .map_err(database)
    }

    /// The entries under `prefix` from `start` on, read lazily: each step reads one row.
    fn iter_from<'a>(
        &'a self,
        table: Table,
        prefix: &[u8],
        start: &[u8],
        mut options: ReadOptions,
    ) -> impl Iterator<Item = NodeResult<(Vec<u8>, Vec<u8>)>> + 'a {
        if let Some(upper) = prefix_upper_bound(prefix) {
            options.set_iterate_upper_bound(upper);
        }
        without_perf_counters();
        let start = start.max(prefix);
        let prefix = prefix.to_vec();
        self.db
            .iterator_cf_opt(
                self.cf(table),
                options,
                IteratorMode::From(start, Direction::Forward),
            )
            .inspect(move |_| self.count_read(table))
            .map(|item| {
                item.map(|(k, v)| (k.into_vec(), v.into_vec()))
                    .map_err(database)
            })
            .take_while(move |item| item.as_ref().map_or(true, |(k, _)| k.starts_with(&prefix)))
    }
}

/// Turns RocksDB's per-thread performance counters off on the calling thread, once. They are
/// on by default (`PerfLevel::kEnableCount`) and cost every key comparison and lookup a
/// thread-local access through `__tls_get_addr` (RocksDB is a shared library): a tenth of a
/// block's CPU. Nothing reads them; the database's own statistics are separate.
fn without_perf_counters() {
    thread_local! {
        static OFF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    OFF.with(|off| {
        if !off.get() {
            rocksdb::perf::set_perf_stats(rocksdb::perf::PerfStatsLevel::Disable);
            off.set(true);
        }
    });
}

/// The smallest key greater than every key starting with `prefix` (None: no bound).
fn prefix_upper_bound(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut upper = prefix.to_vec();
    while let Some(last) = upper.pop() {
        if last < 0xff {
            upper.push(last + 1);
            return Some(upper);
        }
    }
    None
}

/// Reads of the latest committed state, without a snapshot (for the single writer).
/// Refuses a database with a table this version does not know: it was written by another
/// version of the node, whose state this one would misread (RocksDB would refuse it too, with
/// a message that says less).
fn refuse_unknown_tables(options: &Options, path: &Path) -> NodeResult<()> {
    // A new database has no tables yet: nothing to check.
    let Ok(names) = DB::list_cf(options, path) else {
        return Ok(());
    };
    let unknown: Vec<String> = names
        .into_iter()
        .filter(|name| name != "default" && !Table::ALL.iter().any(|t| t.name() == name))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(NodeError::Config(format!(
        "the database in {} was written by another version of the idOS node (it has tables \
         this version does not know: {}); start the node on a new data directory",
        path.display(),
        unknown.join(", ")
    )))
}

impl Read for Store {
    fn get(&self, table: Table, key: &[u8]) -> NodeResult<Option<Vec<u8>>> {
        let generation = match self.rows.get(table, key) {
            Ok(row) => {
                self.count_read(table);
                return Ok(Some(row));
            }
            Err(generation) => generation,
        };
        let row = self.get_with(table, key, &ReadOptions::default())?;
        if let Some(row) = &row {
            self.rows.offer(generation, table, key, row);
        }
        Ok(row)
    }
    fn scan_from(
        &self,
        table: Table,
        prefix: &[u8],
        start: &[u8],
        limit: usize,
    ) -> NodeResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.iter_from(table, prefix, start, ReadOptions::default())
            .take(limit)
            .collect()
    }
}

/// A consistent view of committed state, for reads that run beside block execution.
pub struct Snapshot<'a> {
    store: &'a Store,
    snapshot: rocksdb::Snapshot<'a>,
}

impl Snapshot<'_> {
    fn options(&self) -> ReadOptions {
        let mut options = ReadOptions::default();
        options.set_snapshot(&self.snapshot);
        options
    }
}

impl Read for Snapshot<'_> {
    fn get(&self, table: Table, key: &[u8]) -> NodeResult<Option<Vec<u8>>> {
        self.store.get_with(table, key, &self.options())
    }
    fn scan_from(
        &self,
        table: Table,
        prefix: &[u8],
        start: &[u8],
        limit: usize,
    ) -> NodeResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.store
            .iter_from(table, prefix, start, self.options())
            .take(limit)
            .collect()
    }
}

/// Committed state with the current block's changes over it, and the current transaction's
/// changes over those. Only the transaction's layer is written.
pub struct Working<'a> {
    store: &'a Store,
    block: &'a Changes,
    tx: Changes,
    /// Committed rows the block has read already, if the block keeps them.
    cache: Option<&'a ReadCache>,
}

impl<'a> Working<'a> {
    /// A fresh transaction layer.
    pub fn new(store: &'a Store, block: &'a Changes) -> Self {
        Working {
            store,
            block,
            tx: Changes::default(),
            cache: None,
        }
    }

    /// A fresh transaction layer whose reads of committed rows go through `cache`, which must
    /// live no longer than the block `block` belongs to (see [`ReadCache`]).
    pub fn cached(store: &'a Store, block: &'a Changes, cache: &'a ReadCache) -> Self {
        Working {
            cache: Some(cache),
            ..Working::new(store, block)
        }
    }

    /// The transaction's writes.
    pub fn into_changes(self) -> Changes {
        self.tx
    }
}

impl Read for Working<'_> {
    fn get(&self, table: Table, key: &[u8]) -> NodeResult<Option<Vec<u8>>> {
        if let Some(v) = self.tx.lookup(table, key) {
            return Ok(v.cloned());
        }
        if let Some(v) = self.block.lookup(table, key) {
            return Ok(v.cloned());
        }
        match self.cache {
            Some(cache) => cache.get(self.store, table, key),
            None => self.store.get(table, key),
        }
    }

    fn scan_from(
        &self,
        table: Table,
        prefix: &[u8],
        start: &[u8],
        limit: usize,
    ) -> NodeResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let start = start.max(prefix);
        let committed = self
            .store
            .iter_from(table, prefix, start, ReadOptions::default());
        let with_block = Overlay::new(committed, self.block.range_from(table, prefix, start));
        Overlay::new(with_block, self.tx.range_from(table, prefix, start))
            .take(limit)
            .collect()
    }
}

impl Write for Working<'_> {
    fn put(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>) {
        self.tx.put(table, key, value);
    }
    fn delete(&mut self, table: Table, key: Vec<u8>) {
        self.tx.delete(table, key);
    }
}

/// Entries of a newer layer merged over an older sequence, lazily and in key order: a newer
/// write replaces the older entry with the same key, a newer deletion hides it.
struct Overlay<'a, B, L>
where
    B: Iterator<Item = NodeResult<(Vec<u8>, Vec<u8>)>>,
    L: Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)>,
{
    base: Peekable<B>,
    layer: Peekable<L>,
}

impl<'a, B, L> Overlay<'a, B, L>
where
    B: Iterator<Item = NodeResult<(Vec<u8>, Vec<u8>)>>,
    L: Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)>,
{
    fn new(base: B, layer: L) -> Self {
        Overlay {
            base: base.peekable(),
            layer: layer.peekable(),
        }
    }
}

impl<'a, B, L> Iterator for Overlay<'a, B, L>
where
    B: Iterator<Item = NodeResult<(Vec<u8>, Vec<u8>)>>,
    L: Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)>,
{
    type Item = NodeResult<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let next_is = match (self.base.peek(), self.layer.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) | (Some(Ok(_)), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(Ok((base_key, _))), Some((layer_key, _))) => base_key.cmp(layer_key),
            };
            match next_is {
                Ordering::Less => return self.base.next(),
                // The layer's entry replaces (or deletes) the older one.
                Ordering::Equal => drop(self.base.next()),
                Ordering::Greater => {}
            }
            let (key, value) = self.layer.next()?;
            if let Some(value) = value {
                return Some(Ok((key.clone(), value.clone())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_from_another_version_is_refused_with_its_unknown_tables_named() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut options = Options::default();
            options.create_if_missing(true);
            options.create_missing_column_families(true);
            DB::open_cf(&options, dir.path(), ["meta", "grants_by_grantee"]).unwrap();
        }
        let error = Store::open(dir.path(), false).unwrap_err();
        assert_eq!(error.code(), "configuration");
        assert!(error.to_string().contains("grants_by_grantee"), "{error}");
        // A database this version wrote opens again.
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), false).unwrap());
        Store::open(dir.path(), false).unwrap();
    }

    #[test]
    fn upper_bound_of_prefixes() {
        assert_eq!(prefix_upper_bound(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_upper_bound(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_upper_bound(&[0xff, 0xff]), None);
        assert_eq!(prefix_upper_bound(&[]), None);
    }

    #[test]
    fn layers_shadow_and_delete_in_scans_and_gets() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), false).unwrap();
        let mut committed = Changes::default();
        committed.put(Table::Users, b"a1".to_vec(), b"db".to_vec());
        committed.put(Table::Users, b"a2".to_vec(), b"db".to_vec());
        committed.put(Table::Users, b"b1".to_vec(), b"db".to_vec());
        store.commit(&committed).unwrap();

        let mut block = Changes::default();
        block.delete(Table::Users, b"a1".to_vec());
        block.put(Table::Users, b"a3".to_vec(), b"block".to_vec());
        let mut tx = Working::new(&store, &block);
        tx.put(Table::Users, b"a2".to_vec(), b"tx".to_vec());
        tx.put(Table::Wallets, b"a9".to_vec(), b"other table".to_vec());

        let scanned = tx.scan(Table::Users, b"a", usize::MAX).unwrap();
        assert_eq!(
            scanned,
            vec![
                (b"a2".to_vec(), b"tx".to_vec()),
                (b"a3".to_vec(), b"block".to_vec())
            ]
        );
        assert_eq!(tx.get(Table::Users, b"a1").unwrap(), None);
        assert_eq!(tx.get(Table::Users, b"b1").unwrap(), Some(b"db".to_vec()));

        // A dropped transaction leaves nothing; the snapshot sees only committed data.
        drop(tx);
        assert_eq!(
            store.snapshot().get(Table::Users, b"a1").unwrap(),
            Some(b"db".to_vec())
        );
        assert_eq!(
            store
                .snapshot()
                .scan(Table::Users, b"a", usize::MAX)
                .unwrap()
                .len(),
            2
        );
    }

    fn keys(entries: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<Vec<u8>> {
        entries.into_iter().map(|(k, _)| k).collect()
    }

    /// Pages through the three layers: every start position and every limit gives exactly
    /// the merged entries from that position on, no more.
    #[test]
    fn layered_scans_merge_lazily_from_any_start_with_any_limit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), false).unwrap();
        let mut committed = Changes::default();
        for k in [b"p1", b"p3", b"p5", b"p7", b"q1"] {
            committed.put(Table::Grants, k.to_vec(), b"db".to_vec());
        }
        store.commit(&committed).unwrap();
        let mut block = Changes::default();
        block.delete(Table::Grants, b"p3".to_vec());
        block.put(Table::Grants, b"p4".to_vec(), b"block".to_vec());
        block.put(Table::Grants, b"p5".to_vec(), b"block".to_vec());
        let mut tx = Working::new(&store, &block);
        tx.put(Table::Grants, b"p0".to_vec(), b"tx".to_vec());
        tx.delete(Table::Grants, b"p5".to_vec());
        tx.put(Table::Grants, b"p7".to_vec(), b"tx".to_vec());
        tx.delete(Table::Grants, b"p9".to_vec());
        let all: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (b"p0".to_vec(), b"tx".to_vec()),
            (b"p1".to_vec(), b"db".to_vec()),
            (b"p4".to_vec(), b"block".to_vec()),
            (b"p7".to_vec(), b"tx".to_vec()),
        ];
        assert_eq!(tx.scan(Table::Grants, b"p", usize::MAX).unwrap(), all);
        for start in [
            &b""[..],
            b"p",
            b"p0",
            b"p1",
            b"p2",
            b"p4",
            b"p40",
            b"p7",
            b"p8",
            b"q",
        ] {
            for limit in 0..6 {
                let expected: Vec<_> = all
                    .iter()
                    .filter(|(k, _)| k.as_slice() >= start)
                    .take(limit)
                    .cloned()
                    .collect();
                assert_eq!(
                    tx.scan_from(Table::Grants, b"p", start, limit).unwrap(),
                    expected,
                    "start {start:?}, limit {limit}"
                );
            }
        }
        assert_eq!(
            keys(store.scan_from(Table::Grants, b"p", b"p4", 2).unwrap()),
            vec![b"p5".to_vec(), b"p7".to_vec()]
        );
    }

    /// A page of k entries reads k rows (and one to look ahead through the layers), however
    /// many entries the prefix holds.
    #[test]
    fn a_scan_reads_only_the_rows_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), false).unwrap();
        let mut committed = Changes::default();
        for i in 0u32..10_000 {
            committed.put(Table::Grants, i.to_be_bytes().to_vec(), Vec::new());
        }
        store.commit(&committed).unwrap();
        let block = Changes::default();
        let working = Working::new(&store, &block);
        let snapshot = store.snapshot();
        let before = store.rows_read();
        assert_eq!(store.scan(Table::Grants, &[], 10).unwrap().len(), 10);
        assert!(
            store.rows_read() - before <= 11,
            "store: {}",
            store.rows_read() - before
        );
        let before = store.rows_read();
        assert_eq!(
            snapshot
                .scan_from(Table::Grants, &[], &5000u32.to_be_bytes(), 10)
                .unwrap()
                .len(),
            10
        );
        assert!(
            store.rows_read() - before <= 11,
            "snapshot: {}",
            store.rows_read() - before
        );
        let before = store.rows_read();
        assert_eq!(
            working
                .scan_from(Table::Grants, &[], &5000u32.to_be_bytes(), 10)
                .unwrap()
                .len(),
            10
        );
        assert!(
            store.rows_read() - before <= 12,
            "working: {}",
            store.rows_read() - before
        );
    }

    /// The app hash covers a block's changes in (table, key) order, whatever order they were
    /// written in.
    #[test]
    fn changes_iterate_in_table_then_key_order() {
        for (i, table) in Table::ALL.iter().enumerate() {
            assert_eq!(table.index(), i, "{table:?}");
        }
        let mut changes = Changes::default();
        let writes = [
            (Table::Nonces, b"b".to_vec()),
            (Table::Users, b"z".to_vec()),
            (Table::Nonces, b"a".to_vec()),
            (Table::Meta, b"m".to_vec()),
            (Table::Users, b"a\xff".to_vec()),
            (Table::Users, b"a".to_vec()),
        ];
        for (table, key) in &writes {
            changes.put(*table, key.clone(), key.clone());
        }
        changes.delete(Table::Grants, b"g".to_vec());
        let mut expected: Vec<(Table, Vec<u8>)> = writes.to_vec();
        expected.push((Table::Grants, b"g".to_vec()));
        expected.sort();
        let seen: Vec<(Table, Vec<u8>)> = changes.iter().map(|(t, k, _)| (t, k.to_vec())).collect();
        assert_eq!(seen, expected);
        assert_eq!(changes.lookup(Table::Grants, b"g"), Some(None));
        assert_eq!(
            changes.lookup(Table::Users, b"z"),
            Some(Some(&b"z".to_vec()))
        );
        assert_eq!(changes.lookup(Table::Wallets, b"z"), None);
    }

    /// A block's read cache reads each committed row once, misses included, and never hides
    /// what the block or the transaction wrote.
    #[test]
    fn a_blocks_read_cache_reads_each_committed_row_once_under_its_layers() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), false).unwrap();
        let mut committed = Changes::default();
        committed.put(Table::Users, b"u1".to_vec(), b"db".to_vec());
        committed.put(Table::Users, b"u2".to_vec(), b"db".to_vec());
        store.commit(&committed).unwrap();

        let cache = ReadCache::default();
        let mut block = Changes::default();
        let before = store.rows_read();
        for _ in 0..3 {
            let tx = Working::cached(&store, &block, &cache);
            assert_eq!(tx.get(Table::Users, b"u1").unwrap(), Some(b"db".to_vec()));
            assert_eq!(tx.get(Table::Users, b"absent").unwrap(), None);
        }
        assert_eq!(store.rows_read() - before, 2, "each row read once");

        // The block deletes u1 and writes the absent key; a transaction rewrites u2.
        block.delete(Table::Users, b"u1".to_vec());
        block.put(Table::Users, b"absent".to_vec(), b"block".to_vec());
        let mut tx = Working::cached(&store, &block, &cache);
        assert_eq!(tx.get(Table::Users, b"u2").unwrap(), Some(b"db".to_vec()));
        tx.put(Table::Users, b"u2".to_vec(), b"tx".to_vec());
        assert_eq!(tx.get(Table::Users, b"u1").unwrap(), None);
        assert_eq!(
            tx.get(Table::Users, b"absent").unwrap(),
            Some(b"block".to_vec())
        );
        assert_eq!(tx.get(Table::Users, b"u2").unwrap(), Some(b"tx".to_vec()));
        assert_eq!(
            tx.scan(Table::Users, b"", usize::MAX).unwrap(),
            vec![
                (b"absent".to_vec(), b"block".to_vec()),
                (b"u2".to_vec(), b"tx".to_vec())
            ]
        );
    }

    /// A transaction checks that its new ids are free: in a table read key by key, such a miss
    /// is answered by the files' Bloom filters, without reading their blocks.
    #[test]
    fn misses_in_tables_read_key_by_key_are_answered_by_bloom_filters() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with_statistics(dir.path(), false).unwrap();
        let mut committed = Changes::default();
        for i in 0u32..1000 {
            committed.put(Table::Credentials, i.to_be_bytes().to_vec(), vec![7; 100]);
        }
        store.commit(&committed).unwrap();
        store.flush().unwrap();
        let useful = || store.ticker("rocksdb.bloom.filter.useful").unwrap();
        let before = useful();
        for i in 1000u32..1100 {
            assert_eq!(
                store.get(Table::Credentials, &i.to_be_bytes()).unwrap(),
                None
            );
        }
        assert!(
            useful() - before >= 90,
            "{} misses answered by a filter",
            useful() - before
        );
        assert_eq!(
            store.get(Table::Credentials, &5u32.to_be_bytes()).unwrap(),
            Some(vec![7; 100])
        );
    }
}
