//! RocksDB storage: one column family per table, reads through committed snapshots or through
//! layered uncommitted changes, and atomic commits.
//!
//! A block executes against `Working` state: each transaction writes into its own change set
//! layered over the block's, which is layered over the database. A failed transaction's
//! change set is dropped; a successful one is merged into the block's. `Commit` writes the
//! block's changes, the new height and the app hash in a single `WriteBatch`, so a crash at any
//! point leaves either the previous block or the new one, never a part.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, ReadOptions,
    WriteBatch, WriteOptions,
};

use crate::error::{NodeError, NodeResult};

macro_rules! tables {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, hashed = $hashed:literal;)*) => {
        /// The tables of the node, each a RocksDB column family.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Table { $($(#[$doc])* $variant),* }

        impl Table {
            /// Every table.
            pub const ALL: &'static [Table] = &[$(Table::$variant),*];

            /// The column family name.
            pub const fn name(self) -> &'static str {
                match self { $(Table::$variant => $name),* }
            }

            /// Whether the table is application state covered by the app hash (as opposed to
            /// chain bookkeeping: metadata, blocks, transaction results).
            pub const fn is_state(self) -> bool {
                match self { $(Table::$variant => $hashed),* }
            }
        }
    };
}

tables! {
    /// Height, app hash, block time, genesis.
    Meta = "meta", hashed = false;
    /// user id -> UserRow
    Users = "users", hashed = true;
    /// wallet id -> WalletRow
    Wallets = "wallets", hashed = true;
    /// wallet identity -> wallet id (a wallet links to one profile only)
    WalletsByAddress = "wallets_by_address", hashed = true;
    /// user id ‖ wallet id
    WalletsByUser = "wallets_by_user", hashed = true;
    /// credential id -> CredentialRow (originals and copies)
    Credentials = "credentials", hashed = true;
    /// user id ‖ credential id
    CredentialsByUser = "credentials_by_user", hashed = true;
    /// issuer key ‖ sha256(verifiable credential id) ‖ credential id
    CredentialsByVcId = "credentials_by_vc_id", hashed = true;
    /// original id ‖ copy id
    CopiesByOriginal = "copies_by_original", hashed = true;
    /// attribute id -> AttributeRow
    Attributes = "attributes", hashed = true;
    /// user id ‖ attribute id
    AttributesByUser = "attributes_by_user", hashed = true;
    /// original attribute id ‖ copy attribute id
    AttributeCopiesByOriginal = "attribute_copies_by_original", hashed = true;
    /// inserter id -> InserterRow
    Inserters = "inserters", hashed = true;
    /// inserter name -> inserter id
    InsertersByName = "inserters_by_name", hashed = true;
    /// delegate identity -> inserter id
    Delegates = "delegates", hashed = true;
    /// grant id -> GrantRow
    Grants = "grants", hashed = true;
    /// data (copy) id ‖ grant id
    GrantsByData = "grants_by_data", hashed = true;
    /// grantee ‖ height (u64 BE) ‖ grant id
    GrantsByGrantee = "grants_by_grantee", hashed = true;
    /// grantee ‖ content hash ‖ grant id
    GrantsByGranteeHash = "grants_by_grantee_hash", hashed = true;
    /// owner user id ‖ grant id
    GrantsByOwner = "grants_by_owner", hashed = true;
    /// delegated write grant id -> ConsumedWriteGrantRow
    ConsumedWriteGrants = "consumed_write_grants", hashed = true;
    /// wallet identity ‖ proof nonce
    ConsumedWalletProofs = "consumed_wallet_proofs", hashed = true;
    /// signer identity -> last nonce (u64 BE)
    Nonces = "nonces", hashed = true;
    /// height (u64 BE) -> stored block (embedded chain only)
    Blocks = "blocks", hashed = false;
    /// tx hash -> (height, index) (embedded chain only)
    TxIndex = "tx_index", hashed = false;
}

impl Table {
    /// Column family options. Tables whose values are mostly ciphertext (credentials, and
    /// blocks, which hold transactions) are stored uncompressed: ciphertext does not compress,
    /// so compressing it only spends the CPU that verifying signatures needs.
    fn options(self) -> Options {
        let mut options = Options::default();
        if matches!(self, Table::Credentials | Table::Blocks) {
            options.set_compression_type(rocksdb::DBCompressionType::None);
        }
        options
    }
}

/// Keys of composite indexes: fixed-width parts concatenated, so a prefix selects exactly.
pub mod key {
    use protocol::identity::Identity;
    use uuid::Uuid;

    /// A UUID as its 16 bytes.
    pub fn uuid(id: &Uuid) -> [u8; 16] {
        *id.as_bytes()
    }

    /// An identity as its canonical bytes (scheme tag, then key or address).
    pub fn identity(identity: &Identity) -> Vec<u8> {
        borsh::to_vec(identity).expect("encoding into a Vec cannot fail")
    }

    /// Concatenation of parts.
    pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// The trailing 16 bytes of a composite key, as a UUID.
    pub fn trailing_uuid(key: &[u8]) -> Option<Uuid> {
        let start = key.len().checked_sub(16)?;
        Uuid::from_slice(&key[start..]).ok()
    }
}

/// Read access to state, committed or layered.
pub trait Read {
    /// The value under `key`.
    fn get(&self, table: Table, key: &[u8]) -> NodeResult<Option<Vec<u8>>>;

    /// Every entry whose key starts with `prefix`, in key order.
    fn scan(&self, table: Table, prefix: &[u8]) -> NodeResult<Vec<(Vec<u8>, Vec<u8>)>>;

    /// A decoded row.
    fn row<T: BorshDeserialize>(&self, table: Table, key: &[u8]) -> NodeResult<Option<T>> {
        match self.get(table, key)? {
            Some(bytes) => T::try_from_slice(&bytes)
                .map(Some)
                .map_err(|e| NodeError::Storage(format!("corrupt row in {}: {e}", table.name()))),
            None => Ok(None),
        }
    }

    /// Whether `key` is present.
    fn contains(&self, table: Table, key: &[u8]) -> NodeResult<bool> {
        Ok(self.get(table, key)?.is_some())
    }

    /// The keys under `prefix`, in order.
    fn scan_keys(&self, table: Table, prefix: &[u8]) -> NodeResult<Vec<Vec<u8>>> {
        Ok(self
            .scan(table, prefix)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }
}

/// Write access to layered state.
pub trait Write {
    /// Sets `key` to `value`.
    fn put(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>);
    /// Removes `key`.
    fn delete(&mut self, table: Table, key: Vec<u8>);

    /// Sets `key` to an encoded row.
    fn put_row<T: BorshSerialize>(&mut self, table: Table, key: Vec<u8>, row: &T) {
        let bytes = borsh::to_vec(row).expect("encoding into a Vec cannot fail");
        self.put(table, key, bytes);
    }

    /// Sets an index entry (its presence is the information).
    fn mark(&mut self, table: Table, key: Vec<u8>) {
        self.put(table, key, Vec::new());
    }
}

/// Uncommitted writes: `None` is a deletion. Ordered by table then key, which is also the order
/// the app hash covers them in.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    entries: BTreeMap<(Table, Vec<u8>), Option<Vec<u8>>>,
}

impl Changes {
    /// `Some(Some(v))` written, `Some(None)` deleted, `None` untouched.
    pub fn lookup(&self, table: Table, key: &[u8]) -> Option<Option<&Vec<u8>>> {
        // The BTreeMap is keyed by (Table, Vec<u8>); a borrowed lookup needs an owned key.
        self.entries.get(&(table, key.to_vec())).map(Option::as_ref)
    }

    fn range<'a>(
        &'a self,
        table: Table,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)> + 'a {
        self.entries
            .range((table, prefix.to_vec())..)
            .take_while(move |((t, k), _)| *t == table && k.starts_with(prefix))
            .map(|((_, k), v)| (k, v))
    }

    /// Moves every entry of `newer` over this set's.
    pub fn absorb(&mut self, newer: Changes) {
        self.entries.extend(newer.entries);
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, in order.
    pub fn iter(&self) -> impl Iterator<Item = (Table, &[u8], Option<&[u8]>)> {
        self.entries
            .iter()
            .map(|((t, k), v)| (*t, k.as_slice(), v.as_deref()))
    }

    /// Applies `self` on top of `base` entries of one scan.
    fn overlay_scan(
        &self,
        table: Table,
        prefix: &[u8],
        base: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = base.into_iter().collect();
        for (k, v) in self.range(table, prefix) {
            match v {
                Some(v) => merged.insert(k.clone(), v.clone()),
                None => merged.remove(k),
            };
        }
        merged.into_iter().collect()
    }
}

impl Write for Changes {
    fn put(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>) {
        self.entries.insert((table, key), Some(value));
    }
    fn delete(&mut self, table: Table, key: Vec<u8>) {
        self.entries.insert((table, key), None);
    }
}

/// The RocksDB database.
pub struct Store {
    db: DB,
    sync_writes: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.db.path().display())
    }
}

impl Store {
    /// Opens (creating if needed) the database under `path`. With `sync_writes`, every commit
    /// is fsynced before it is acknowledged (durable across power loss, not only crashes).
    pub fn open(path: &Path, sync_writes: bool) -> NodeResult<Arc<Store>> {
        std::fs::create_dir_all(path)?;
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.increase_parallelism(2);
        let families = Table::ALL
            .iter()
            .map(|t| ColumnFamilyDescriptor::new(t.name(), t.options()));
        let db = DB::open_cf_descriptors(&options, path, families)?;
        Ok(Arc::new(Store { db, sync_writes }))
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
        let mut options = WriteOptions::default();
        options.set_sync(self.sync_writes);
        self.db.write_opt(batch, &options)?;
        Ok(())
    }

    fn scan_with(
        &self,
        table: Table,
        prefix: &[u8],
        mut options: ReadOptions,
    ) -> NodeResult<Vec<(Vec<u8>, Vec<u8>)>> {
        if let Some(upper) = prefix_upper_bound(prefix) {
            options.set_iterate_upper_bound(upper);
        }
        let iter = self.db.iterator_cf_opt(
            self.cf(table),
            options,
            IteratorMode::From(prefix, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter {
            let (k, v) = item?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.into_vec(), v.into_vec()));
        }
        Ok(out)
    }
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
impl Read for Store {
    fn get(&self, table: Table, key: &[u8]) -> NodeResult<Option<Vec<u8>>> {
        Ok(self.db.get_cf(self.cf(table), key)?)
    }
    fn scan(&self, table: Table, prefix: &[u8]) -> NodeResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scan_with(table, prefix, ReadOptions::default())
    }
}

/// A consistent view of committed state, for reads that run beside block execution.
pub struct Snapshot<'a> {
    store: &'a Store,
    snapshot: rocksdb::Snapshot<'a>,
}

impl Read for Snapshot<'_> {
    fn get(&self, table: Table, key: &[u8]) -> NodeResult<Option<Vec<u8>>> {
        Ok(self.snapshot.get_cf(self.store.cf(table), key)?)
    }
    fn scan(&self, table: Table, prefix: &[u8]) -> NodeResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut options = ReadOptions::default();
        options.set_snapshot(&self.snapshot);
        self.store.scan_with(table, prefix, options)
    }
}

/// Committed state with the current block's changes over it, and the current transaction's
/// changes over those. Only the transaction's layer is written.
pub struct Working<'a> {
    store: &'a Store,
    block: &'a Changes,
    tx: Changes,
}

impl<'a> Working<'a> {
    /// A fresh transaction layer.
    pub fn new(store: &'a Store, block: &'a Changes) -> Self {
        Working {
            store,
            block,
            tx: Changes::default(),
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
        self.store.get(table, key)
    }

    fn scan(&self, table: Table, prefix: &[u8]) -> NodeResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let committed = self.store.scan(table, prefix)?;
        let with_block = self.block.overlay_scan(table, prefix, committed);
        Ok(self.tx.overlay_scan(table, prefix, with_block))
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

#[cfg(test)]
mod tests {
    use super::*;

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

        let scanned = tx.scan(Table::Users, b"a").unwrap();
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
        assert_eq!(store.snapshot().scan(Table::Users, b"a").unwrap().len(), 2);
    }
}
