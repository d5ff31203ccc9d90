//! The authenticated state: a Jellyfish Merkle Tree (`jmt` 0.12, the tree Penumbra runs in
//! production) over every state row, whose root is the app hash.
//!
//! Each row `(table, key) -> value` of a state table ([`Table::is_state`]) is one leaf, at
//! [`key_hash`]`(table, key)`, holding the SHA-256 of the value; a deleted row is an absent
//! leaf. The tree's version is the block height: a block's changes make the next version,
//! computed in `FinalizeBlock` from the committed tree and written in the same atomic commit as
//! the rows (`StateTreeNodes`), so a crash leaves rows and tree at the same height. A version
//! with no change copies the previous root, so every height has a root.
//!
//! Why a JMT: it proves presence and absence of a key against one 32-byte root with a proof of
//! about `log16(n)` sibling hashes (sparse, so absence is as cheap as presence), its update is
//! deterministic (nothing node-local enters it: only the block's changes, in key order), it is
//! versioned with an index of the nodes each version made stale (pruning is a scan of that
//! index), and the crate is small, `#![forbid(unsafe_code)]`-clean in its public surface, and
//! compiles for wasm32 (the client and the enclave verify its proofs). A plain sorted Merkle
//! tree or an IAVL tree would rebalance on insert (more writes per update); a Merkle Patricia
//! trie needs RLP and more hashing per level.
//!
//! The update is the node's own (`batch_update`), not `jmt`'s: it makes the same tree (for a
//! set of writes, the very nodes and stale index `jmt` makes; with deletions, the same roots),
//! in one pass that reads, rebuilds and hashes each changed node once, where `jmt`'s spent
//! about half its time cloning nodes through its caches. Nodes are stored in a compact
//! encoding of their own (`stored_node`); `jmt` reads them, converted to its Borsh, for
//! roots and proofs, so the proofs a client checks are `jmt`'s.
//!
//! Pruning: a node made stale at version `s` serves only versions before `s`; the stale index
//! holds one row per version `s` listing those nodes. With a retention
//! of `r` versions (`r >= 1`) the node keeps versions `H - r + 1 ..= H` provable and deletes
//! what only older versions used, a bounded number of entries per block
//! ([`PRUNE_PER_BLOCK`]), so a block's cost stays proportional to its own changes. What a node
//! has pruned is node-local and never touches a root.

#[cfg(test)]
use jmt::storage::NodeKey;
use jmt::{KeyHash, Sha256Jmt, Version};
use sha2::{Digest, Sha256};

use crate::error::{NodeError, NodeResult};
use crate::store::{Changes, Read, Table, Write};

/// The most stale-node entries one commit deletes (with their nodes): a backlog drains over
/// later blocks instead of making one block slow.
pub const PRUNE_PER_BLOCK: usize = 4096;

pub use idos_state::proof::key_hash;

mod batch_update;
mod delta_rows;
mod jmt_reader;
mod node_cache;
mod stored_node;
use jmt_reader::JmtReader;
pub use node_cache::{CacheDelta, NODE_CACHE_BYTES, NodeCache};
use stored_node::{Base, StoredKey, TreeNode};

/// A tree that cannot be read or updated: a node is missing or does not decode (the data
/// directory is damaged).
fn tree_error(what: &str, e: impl std::fmt::Display) -> NodeError {
    NodeError::corrupt(format!("state tree ({what})"), e)
}

/// The tree's part of a block: the root and the rows (`StateTreeNodes`, `StateTreeStale`) that
/// store it, to commit with the block.
#[derive(Debug)]
pub struct TreeUpdate {
    /// The new version's root: the block's app hash.
    pub root: [u8; 32],
    /// The tree rows to write.
    pub changes: Changes,
    /// What the node cache takes from this version once its rows are stored
    /// ([`NodeCache::committed`]).
    pub cache: CacheDelta,
}

/// The next version of the tree: the committed tree at `version - 1` (read through `cache`,
/// then `store`) with every state change of `block` applied. Reads only nodes on the changed
/// paths.
pub fn update<R: Read + ?Sized>(
    store: &R,
    cache: &NodeCache,
    version: Version,
    block: &Changes,
) -> NodeResult<TreeUpdate> {
    let set = block
        .iter()
        .filter(|(table, _, _)| table.is_state())
        .map(|(table, key, value)| (key_hash(table, key).0, value.map(value_hash)));
    let source = CachedNodes {
        store,
        cache: Some(cache),
    };
    update_leaves(&source, version, set)
}

/// Committed nodes through the node cache (if any), then the store (what it reads there is
/// offered to the cache).
struct CachedNodes<'a, R: Read + ?Sized> {
    store: &'a R,
    cache: Option<&'a NodeCache>,
}

impl<'a, R: Read + ?Sized> CachedNodes<'a, R> {
    /// The store's nodes, no cache.
    fn of(store: &'a R) -> Self {
        CachedNodes { store, cache: None }
    }
}

impl<R: Read + ?Sized> batch_update::NodeSource for CachedNodes<'_, R> {
    fn node(&self, key: &StoredKey) -> NodeResult<Option<TreeNode>> {
        if let Some(internal) = self.cache.and_then(|c| c.get(key)) {
            return Ok(Some(TreeNode::Internal(internal)));
        }
        let Some(bytes) = self.store.get(Table::StateTreeNodes, key.as_bytes())? else {
            return Ok(None);
        };
        let node = decode_row(self.store, key, &bytes)?;
        if let Some(cache) = self.cache {
            cache.offer(key, &node);
        }
        Ok(Some(node))
    }
}

/// The node stored as `bytes` under `key`, a delta row completed with its base from `store`.
fn decode_row<R: Read + ?Sized>(store: &R, key: &StoredKey, bytes: &[u8]) -> NodeResult<TreeNode> {
    let undecodable = |e| tree_error("a stored node does not decode", e);
    let Some(version) = TreeNode::base_version(bytes, key.version()).map_err(undecodable)? else {
        return TreeNode::decode(bytes, key.version()).map_err(undecodable);
    };
    let base = store
        .get(Table::StateTreeNodes, key.at_version(version).as_bytes())?
        .ok_or_else(|| tree_error("a delta row's base", "the row is missing"))?;
    let TreeNode::Internal(base) = TreeNode::decode(&base, version).map_err(undecodable)? else {
        return Err(tree_error(
            "a delta row's base",
            "the row is not an internal node",
        ));
    };
    let base = Base {
        version,
        node: base,
    };
    TreeNode::decode_on(bytes, key.version(), base).map_err(undecodable)
}

/// The leaf under which the genesis digest sits in every version of the tree, so the app hash
/// commits to the chain id, the owner and the first height.
pub fn genesis_leaf() -> KeyHash {
    key_hash(Table::Meta, b"genesis")
}

/// Version 0 of the tree: the genesis digest alone, before any row. Its rows also mark the
/// data directory with the tree's storage layout ([`layout_is_current`]).
pub fn genesis<R: Read + ?Sized>(store: &R, digest: &[u8]) -> NodeResult<TreeUpdate> {
    let mut update = update_leaves(
        &CachedNodes::of(store),
        0,
        [(genesis_leaf().0, Some(value_hash(digest)))],
    )?;
    update
        .changes
        .put(Table::Meta, LAYOUT_KEY.to_vec(), LAYOUT.to_vec());
    Ok(update)
}

/// Where the data directory names the layout its state tree is stored in (a row of the
/// node's own table, outside the tree: it is how this node stores the tree, not state).
const LAYOUT_KEY: &[u8] = b"state_tree_layout";

/// This node's layout: node keys are the version (big-endian), the path's length in nibbles
/// and the path, two nibbles a byte; nodes are in the compact encoding of `stored_node`, a
/// leaf below the root in its parent's row, upper nodes often as delta rows on an earlier
/// whole row (`delta_rows`); the stale index holds one row per version. Layout 4 stored every
/// node whole, layout 3 every leaf in a row of its own, layout 2 nodes in `jmt`'s Borsh; earlier
/// nodes stored node keys in Borsh (version little-endian first) and, before that, a stale
/// row per node, and wrote no layout row.
const LAYOUT: &[u8] = b"5";

/// Whether the state tree in `store` is stored in this node's layout.
pub fn layout_is_current<R: Read + ?Sized>(store: &R) -> NodeResult<bool> {
    Ok(store.get(Table::Meta, LAYOUT_KEY)?.as_deref() == Some(LAYOUT))
}

/// A value's hash in its leaf.
fn value_hash(value: &[u8]) -> [u8; 32] {
    Sha256::digest(value).into()
}

fn update_leaves(
    source: &impl batch_update::NodeSource,
    version: Version,
    set: impl IntoIterator<Item = batch_update::Change>,
) -> NodeResult<TreeUpdate> {
    let mut changes: Vec<batch_update::Change> = set.into_iter().collect();
    // Each key once, the last change winning (a block's changes hold each row once).
    changes.reverse();
    changes.sort_by_key(|c| c.0);
    changes.dedup_by(|later, earlier| later.0 == earlier.0);
    let mut output = batch_update::update(source, version, &changes)?;
    let mut cache = CacheDelta {
        // What the cache lets go of: every node replaced, a delta row's base or not.
        stale: output
            .stale
            .iter()
            .filter(|key| NodeCache::at_kept_depth(key))
            .copied()
            .collect(),
        ..CacheDelta::default()
    };
    delta_rows::choose(&mut output.written, &mut output.stale, &output.replaced);
    let mut rows: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(output.written.len());
    for (key, node) in output.written {
        rows.push((key.as_bytes().to_vec(), node.encode(version)));
        if let TreeNode::Internal(internal) = node
            && NodeCache::at_kept_depth(&key)
        {
            cache.nodes.push((key, internal));
        }
    }
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut tree_changes = Changes::default();
    tree_changes.put_all(Table::StateTreeNodes, rows);
    // One stale-index row per version (every node the update replaced is stale since its
    // version), not one per node: a block writes, and its pruning later deletes, one row
    // instead of thousands.
    if !output.stale.is_empty() {
        let mut stale: Vec<&[u8]> = output.stale.iter().map(StoredKey::as_bytes).collect();
        stale.sort_unstable();
        let mut row = Vec::with_capacity(stale.len() * 16);
        for key in stale {
            push_stale_entry(&mut row, key);
        }
        tree_changes.put(Table::StateTreeStale, version.to_be_bytes().to_vec(), row);
    }
    Ok(TreeUpdate {
        root: output.root,
        changes: tree_changes,
        cache,
    })
}

/// Appends one node key to a stale-index row: its length (u16, big-endian), then its bytes.
fn push_stale_entry(row: &mut Vec<u8>, node_key: &[u8]) {
    let len = u16::try_from(node_key.len()).expect("a node key is at most 8 + 1 + 32 bytes");
    row.extend(len.to_be_bytes());
    row.extend(node_key);
}

/// The node keys of a stale-index row.
fn stale_entries(row: &[u8]) -> NodeResult<Vec<&[u8]>> {
    let mut entries = Vec::new();
    let mut rest = row;
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<2>()
            .ok_or_else(|| tree_error("stale index", "a row ends inside an entry's length"))?;
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(tree_error("stale index", "a row ends inside an entry"));
        }
        let (entry, tail) = tail.split_at(len);
        entries.push(entry);
        rest = tail;
    }
    Ok(entries)
}

/// The root at `version`, if the node still has it.
pub fn root<R: Read + ?Sized>(store: &R, version: Version) -> NodeResult<Option<[u8; 32]>> {
    let source = CachedNodes::of(store);
    let reader = JmtReader::new(&source, None);
    Sha256Jmt::new(&reader)
        .get_root_hash_option(version)
        .map(|root| root.map(|r| r.0))
        .map_err(|e| tree_error("reading a root", e))
}

/// The row `(table, key)` of the latest committed state (`version`, which must be the latest:
/// the value comes from the row itself) and the proof of its presence or absence against the
/// root of `version`.
pub fn prove<R: Read + ?Sized>(
    store: &R,
    version: Version,
    table: Table,
    key: &[u8],
) -> NodeResult<(Option<Vec<u8>>, jmt::proof::SparseMerkleProof<Sha256>)> {
    let hash = key_hash(table, key);
    let value = store.get(table, key)?;
    let source = CachedNodes::of(store);
    let reader = JmtReader::new(&source, value.clone().map(|v| (hash, v)));
    let (found, proof) = Sha256Jmt::new(&reader)
        .get_with_proof(hash, version)
        .map_err(|e| tree_error("proof", e))?;
    if found != value {
        return Err(tree_error(
            "proof",
            format!("the tree and table {} disagree about a row", table.name()),
        ));
    }
    Ok((value, proof))
}

/// What one block's pruning deletes, and where the next block's pruning starts.
#[derive(Debug)]
pub struct Pruning {
    /// The stale nodes and index rows to delete (and a partly pruned row rewritten), with the
    /// block.
    pub changes: Changes,
    /// The stale-index key to start the next [`prune`] at once `changes` are committed.
    pub next_from: Vec<u8>,
}

/// Deletions that prune what only versions before `latest - retention + 1` use: at most
/// [`PRUNE_PER_BLOCK`] stale nodes, oldest version first, with the index rows that named
/// them (a row pruned in part is rewritten with the rest), and the root of the version that
/// just left the retention (a version that changed nothing copies its root, and no stale index
/// names such a copy). `retention` is at least 1: the latest version is always kept.
///
/// The scan of the stale index starts at `from`, the [`Pruning::next_from`] of the last
/// committed pruning (empty: the start of the index). Every row before it is deleted, and a
/// scan from the start would step over each of their deletion markers until RocksDB compacts
/// them away: over a long run, more every block. New rows always sort after it (their version
/// is newer than any pruned one), so nothing is missed.
pub fn prune<R: Read + ?Sized>(
    store: &R,
    latest: Version,
    retention: u64,
    from: &[u8],
) -> NodeResult<Pruning> {
    let mut changes = Changes::default();
    let keep_from = latest.saturating_sub(retention.max(1)) + 1;
    if let Some(dropped) = keep_from.checked_sub(1) {
        changes.delete(
            Table::StateTreeNodes,
            StoredKey::root(dropped).as_bytes().to_vec(),
        );
    }
    let mut budget = PRUNE_PER_BLOCK;
    let mut next_from = from.to_vec();
    // Row by row: a block whose stale rows are all still retained reads one.
    while budget > 0 {
        let Some((key, row)) = store
            .scan_from(Table::StateTreeStale, &[], &next_from, 1)?
            .into_iter()
            .next()
        else {
            break;
        };
        let since = <[u8; 8]>::try_from(key.as_slice())
            .map(u64::from_be_bytes)
            .map_err(|_| tree_error("stale index", "a key is not 8 bytes"))?;
        if since > keep_from {
            break;
        }
        let entries = stale_entries(&row)?;
        let now = entries.len().min(budget);
        for node_key in &entries[..now] {
            changes.delete(Table::StateTreeNodes, node_key.to_vec());
        }
        budget -= now;
        if now < entries.len() {
            let mut rest = Vec::new();
            for node_key in &entries[now..] {
                push_stale_entry(&mut rest, node_key);
            }
            changes.put(Table::StateTreeStale, key.clone(), rest);
            next_from = key;
            break;
        }
        changes.delete(Table::StateTreeStale, key.clone());
        next_from = key;
        next_from.push(0);
    }
    Ok(Pruning { changes, next_from })
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::store::Store;

    fn put(changes: &mut Changes, table: Table, key: &[u8], value: &[u8]) {
        changes.put(table, key.to_vec(), value.to_vec());
    }

    /// A block writing each user row of `rows` (by number) with the version as its value.
    fn user_rows(rows: impl IntoIterator<Item = u64>, version: Version) -> Changes {
        let mut block = Changes::default();
        for row in rows {
            put(
                &mut block,
                Table::Users,
                &row.to_be_bytes(),
                &version.to_be_bytes(),
            );
        }
        block
    }

    /// Applies `block` at `version` and commits rows and tree together, as the app does.
    fn commit(store: &Store, version: Version, mut block: Changes) -> [u8; 32] {
        let update = update(store, &NodeCache::new(0), version, &block).unwrap();
        block.absorb(update.changes);
        store.commit(&block).unwrap();
        update.root
    }

    fn open() -> (tempfile::TempDir, std::sync::Arc<Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), false).unwrap();
        let genesis = genesis(&*store, b"test genesis").unwrap();
        store.commit(&genesis.changes).unwrap();
        (dir, store)
    }

    #[test]
    fn the_root_depends_on_the_rows_not_on_the_order_or_the_history_that_made_them() {
        let (_a, one) = open();
        let (_b, other) = open();
        let mut block = Changes::default();
        put(&mut block, Table::Users, b"u1", b"alice");
        put(&mut block, Table::Wallets, b"w1", b"0xabc");
        let first = commit(&one, 1, block);
        // The same rows written one per block, in the other order: the same root.
        let mut b1 = Changes::default();
        put(&mut b1, Table::Wallets, b"w1", b"0xabc");
        commit(&other, 1, b1);
        let mut b2 = Changes::default();
        put(&mut b2, Table::Users, b"u1", b"alice");
        assert_eq!(commit(&other, 2, b2), first);
        // One byte of one value changes the root; so does the same key in another table.
        let mut b3 = Changes::default();
        put(&mut b3, Table::Users, b"u1", b"alicf");
        let changed = commit(&other, 3, b3);
        assert_ne!(changed, first);
        let (_c, third) = open();
        let mut moved = Changes::default();
        put(&mut moved, Table::Credentials, b"u1", b"alice");
        put(&mut moved, Table::Wallets, b"w1", b"0xabc");
        assert_ne!(commit(&third, 1, moved), first);
    }

    #[test]
    fn an_empty_version_keeps_the_root_and_a_deleted_row_leaves_no_trace() {
        let (_d, store) = open();
        let genesis_root = root(&*store, 0).unwrap().unwrap();
        let mut block = Changes::default();
        put(&mut block, Table::Users, b"u1", b"alice");
        let with_row = commit(&store, 1, block);
        assert_eq!(commit(&store, 2, Changes::default()), with_row);
        assert_eq!(root(&*store, 2).unwrap(), Some(with_row));
        let mut delete = Changes::default();
        delete.delete(Table::Users, b"u1".to_vec());
        assert_eq!(commit(&store, 3, delete), genesis_root);
    }

    #[test]
    fn rows_of_tables_outside_the_state_do_not_enter_the_tree() {
        let (_d, store) = open();
        let mut block = Changes::default();
        put(&mut block, Table::Meta, b"height", b"1");
        put(&mut block, Table::Blocks, b"1", b"block");
        assert_eq!(commit(&store, 1, block), root(&*store, 0).unwrap().unwrap());
    }

    #[test]
    fn proofs_of_presence_and_absence_verify_against_the_root() {
        let (_d, store) = open();
        let mut block = Changes::default();
        for i in 0..200u32 {
            put(&mut block, Table::Users, &i.to_be_bytes(), &[i as u8; 40]);
        }
        let root_hash = jmt::RootHash(commit(&store, 1, block));
        let present = key_hash(Table::Users, &7u32.to_be_bytes());
        let (value, proof) = prove(&*store, 1, Table::Users, &7u32.to_be_bytes()).unwrap();
        assert_eq!(value, Some(vec![7u8; 40]));
        proof
            .verify_existence(root_hash, present, vec![7u8; 40])
            .unwrap();
        assert!(
            proof
                .verify_existence(root_hash, present, vec![8u8; 40])
                .is_err()
        );
        let absent = key_hash(Table::Users, &999u32.to_be_bytes());
        let (value, proof) = prove(&*store, 1, Table::Users, &999u32.to_be_bytes()).unwrap();
        assert!(value.is_none());
        proof.verify_nonexistence(root_hash, absent).unwrap();
        assert!(proof.verify_nonexistence(root_hash, present).is_err());
    }

    #[test]
    fn pruning_keeps_the_retained_versions_provable_and_deletes_what_only_older_ones_used() {
        let (_d, store) = open();
        let mut roots = vec![];
        for version in 1..=6u64 {
            let mut block = Changes::default();
            put(&mut block, Table::Users, b"u1", &version.to_be_bytes());
            put(&mut block, Table::Users, &version.to_be_bytes(), b"x");
            roots.push(commit(&store, version, block));
        }
        let nodes_before = store
            .scan(Table::StateTreeNodes, &[], 10_000)
            .unwrap()
            .len();
        let pruning = prune(&*store, 6, 2, &[]).unwrap();
        store.commit(&pruning.changes).unwrap();
        let nodes_after = store
            .scan(Table::StateTreeNodes, &[], 10_000)
            .unwrap()
            .len();
        assert!(nodes_after < nodes_before, "{nodes_after} < {nodes_before}");
        // Versions 5 and 6 still prove every row they hold.
        for version in [5u64, 6] {
            let key = key_hash(Table::Users, b"u1");
            let source = CachedNodes::of(&*store);
            let reader = JmtReader::new(&source, Some((key, version.to_be_bytes().to_vec())));
            let (_, proof) = Sha256Jmt::new(&reader)
                .get_with_proof(key, version)
                .unwrap();
            proof
                .verify_existence(
                    jmt::RootHash(roots[version as usize - 1]),
                    key,
                    version.to_be_bytes(),
                )
                .unwrap();
        }
        // And the next block still builds on the latest version.
        let mut block = Changes::default();
        put(&mut block, Table::Users, b"u2", b"y");
        commit(&store, 7, block);
        assert!(root(&*store, 1).unwrap().is_none(), "version 1 was pruned");
    }

    #[test]
    fn pruning_keeps_every_row_a_retained_version_reads_through_its_delta_rows() {
        let (_d, store) = open();
        let cache = NodeCache::new(NODE_CACHE_BYTES);
        let retention = 4;
        let mut roots = vec![];
        let mut from = Vec::new();
        for version in 1..=40u64 {
            // 2,000 rows, then a few a version, old and new: most upper nodes change a child
            // or two and are stored as delta rows; now and then one is whole again.
            let mut block = if version == 1 {
                user_rows(0..2_000, version)
            } else {
                user_rows((0..12).map(|i| (i * 163 + version * 37) % 2_050), version)
            };
            let update = update(&*store, &cache, version, &block).unwrap();
            roots.push(update.root);
            block.absorb(update.changes);
            let pruning = prune(&*store, version, retention, &from).unwrap();
            from = pruning.next_from.clone();
            block.absorb(pruning.changes);
            store.commit(&block).unwrap();
            cache.committed(update.cache);
            let oldest = version.saturating_sub(retention - 1).max(1);
            for retained in oldest..=version {
                // Every row it reads is still there (`rows_read` fails on a missing one).
                rows_read(&store, retained);
                assert_eq!(
                    root(&*store, retained).unwrap(),
                    Some(roots[retained as usize - 1])
                );
            }
        }
        let rows = store.scan(Table::StateTreeNodes, &[], 1_000_000).unwrap();
        let deltas = rows
            .iter()
            .filter(|(key, row)| {
                TreeNode::base_version(row, stored_key(key).version())
                    .unwrap()
                    .is_some()
            })
            .count();
        assert!(deltas > 0, "no delta rows were written");
    }

    #[test]
    fn fail_a_delta_row_whose_base_is_gone_is_a_corrupt_store_not_a_panic() {
        let (_d, store) = open();
        let mut block = Changes::default();
        for i in 0..2_000u64 {
            put(&mut block, Table::Users, &i.to_be_bytes(), b"first");
        }
        commit(&store, 1, block);
        let mut block = Changes::default();
        put(&mut block, Table::Users, &7u64.to_be_bytes(), b"second");
        commit(&store, 2, block);
        let (key, row) = store
            .scan(Table::StateTreeNodes, &2u64.to_be_bytes(), 100)
            .unwrap()
            .into_iter()
            .find(|(key, row)| TreeNode::base_version(row, 2).unwrap().is_some() && key.len() > 9)
            .expect("version 2 stores a delta row");
        let key = stored_key(&key);
        let base = key.at_version(TreeNode::base_version(&row, 2).unwrap().unwrap());
        let mut damage = Changes::default();
        damage.delete(Table::StateTreeNodes, base.as_bytes().to_vec());
        store.commit(&damage).unwrap();
        let error = batch_update::NodeSource::node(&CachedNodes::of(&*store), &key).unwrap_err();
        assert!(
            matches!(&error, NodeError::CorruptRecord { detail, .. } if detail.contains("missing")),
            "{error:?}"
        );
    }

    #[test]
    fn pruning_resumes_after_the_last_entry_it_deleted() {
        let (_d, store) = open();
        for version in 1..=6u64 {
            let mut block = Changes::default();
            put(&mut block, Table::Users, b"u1", &version.to_be_bytes());
            put(&mut block, Table::Users, &version.to_be_bytes(), b"x");
            commit(&store, version, block);
        }
        let stale = store.scan(Table::StateTreeStale, &[], 10_000).unwrap();
        let first = &stale[0].0;
        let deletes = |p: &Pruning, key: &[u8]| {
            matches!(p.changes.lookup(Table::StateTreeStale, key), Some(None))
        };
        // Started after the first entry, pruning leaves it; from the start, it deletes it.
        let mut after_first = first.clone();
        after_first.push(0);
        assert!(!deletes(
            &prune(&*store, 6, 2, &after_first).unwrap(),
            first
        ));
        let whole = prune(&*store, 6, 2, &[]).unwrap();
        assert!(deletes(&whole, first));
        store.commit(&whole.changes).unwrap();
        // Resumed where it stopped, it finds nothing more to delete but the dropped root.
        let again = prune(&*store, 6, 2, &whole.next_from).unwrap();
        assert_eq!(again.changes.iter().count(), 1);
        assert_eq!(again.next_from, whole.next_from);
        // And the next block's stale entries sort after where it stopped.
        let mut block = Changes::default();
        put(&mut block, Table::Users, b"u1", b"seven");
        commit(&store, 7, block);
        let next = prune(&*store, 7, 2, &whole.next_from).unwrap();
        assert!(next.changes.iter().count() > 1);
        assert!(next.next_from > whole.next_from);
    }

    #[test]
    fn a_version_with_more_stale_nodes_than_one_block_prunes_drains_over_blocks() {
        let (_d, store) = open();
        let rows = |value: &[u8]| {
            let mut block = Changes::default();
            // About one internal node for every three rows (a leaf has no row of its own).
            for i in 0..(PRUNE_PER_BLOCK as u32 * 4) {
                put(&mut block, Table::Users, &i.to_be_bytes(), value);
            }
            block
        };
        commit(&store, 1, rows(b"first"));
        // Version 2 makes every internal node of version 1 stale, more than a block prunes.
        commit(&store, 2, rows(b"second"));
        commit(&store, 3, Changes::default());
        let stale_of_2 = 2u64.to_be_bytes();
        let row = store
            .get(Table::StateTreeStale, &stale_of_2)
            .unwrap()
            .unwrap();
        let total = stale_entries(&row).unwrap().len();
        assert!(total > PRUNE_PER_BLOCK, "{total}");
        // Version 1 made the genesis version's nodes stale: pruned first, oldest first.
        let of_1 = store
            .get(Table::StateTreeStale, &1u64.to_be_bytes())
            .unwrap()
            .unwrap();
        let earlier = stale_entries(&of_1).unwrap().len();
        assert!(earlier > 0);

        let first = prune(&*store, 3, 1, &[]).unwrap();
        let deleted = |p: &Pruning| {
            p.changes
                .iter()
                .filter(|(t, _, v)| *t == Table::StateTreeNodes && v.is_none())
                .count()
        };
        // The dropped root of version 2, and PRUNE_PER_BLOCK stale nodes.
        assert_eq!(deleted(&first), PRUNE_PER_BLOCK + 1);
        assert_eq!(
            first.next_from, stale_of_2,
            "it resumes at the row it pruned in part"
        );
        store.commit(&first.changes).unwrap();
        let rest = store
            .get(Table::StateTreeStale, &stale_of_2)
            .unwrap()
            .unwrap();
        assert_eq!(
            stale_entries(&rest).unwrap().len(),
            total - (PRUNE_PER_BLOCK - earlier)
        );

        let second = prune(&*store, 3, 1, &first.next_from).unwrap();
        assert_eq!(deleted(&second), total - (PRUNE_PER_BLOCK - earlier) + 1);
        store.commit(&second.changes).unwrap();
        assert!(
            store
                .get(Table::StateTreeStale, &stale_of_2)
                .unwrap()
                .is_none()
        );
        // Version 3 still proves every row.
        let (value, _) = prove(&*store, 3, Table::Users, &7u32.to_be_bytes()).unwrap();
        assert_eq!(value.as_deref(), Some(&b"second"[..]));
    }

    #[test]
    fn fail_a_damaged_stale_index_row_is_a_corrupt_store_not_a_panic() {
        for row in [&[0u8][..], &[0, 5, 1, 2][..], &[0, 2, 1, 2, 0][..]] {
            assert!(matches!(
                stale_entries(row),
                Err(NodeError::CorruptRecord { .. })
            ));
        }
        let (_d, store) = open();
        let mut block = Changes::default();
        put(
            &mut block,
            Table::StateTreeStale,
            &1u64.to_be_bytes(),
            &[0, 9, 1],
        );
        store.commit(&block).unwrap();
        assert!(prune(&*store, 5, 1, &[]).is_err());
        let mut bad_key = Changes::default();
        put(&mut bad_key, Table::StateTreeStale, b"short", &[]);
        let (_e, other) = open();
        other.commit(&bad_key).unwrap();
        assert!(prune(&*other, 5, 1, &[]).is_err());
        let mut row = Vec::new();
        push_stale_entry(&mut row, b"abc");
        push_stale_entry(&mut row, b"");
        assert_eq!(stale_entries(&row).unwrap(), vec![&b"abc"[..], &b""[..]]);
    }

    #[test]
    fn stored_node_keys_never_collide_and_sort_as_the_tree_orders_its_nodes() {
        // Every node of 260 versions (past 255, where a little-endian version would sort
        // wrong): paths of every depth, odd and even.
        let (_d, store) = open();
        let mut keys: Vec<NodeKey> = Vec::new();
        for version in 1..=260u64 {
            let mut block = Changes::default();
            let rows = if version == 1 { 2_000 } else { 4 };
            for row in 0..rows {
                put(
                    &mut block,
                    Table::Users,
                    &(version * 10_000 + row).to_be_bytes(),
                    b"v",
                );
            }
            keys.extend(update_nodes(&store, version, &block));
            let update = update(&*store, &NodeCache::new(0), version, &block).unwrap();
            block.absorb(update.changes);
            store.commit(&block).unwrap();
        }
        assert!(keys.iter().any(|k| k.nibble_path().num_nibbles() % 2 == 1));
        assert!(keys.iter().any(|k| k.nibble_path().num_nibbles() >= 3));
        keys.sort();
        keys.dedup();
        let stored: Vec<Vec<u8>> = keys
            .iter()
            .map(|k| StoredKey::of_jmt(k).as_bytes().to_vec())
            .collect();
        assert!(
            stored.windows(2).all(|w| w[0] < w[1]),
            "the bytes keep the nodes' order, so no two are equal"
        );
        assert_eq!(StoredKey::of_jmt(&keys[0]).version(), 1);
        assert!(keys.iter().any(|k| k.version() == 256));
    }

    /// The keys of the nodes `update` writes for `block` at `version`.
    fn update_nodes(store: &Store, version: Version, block: &Changes) -> Vec<NodeKey> {
        let set: Vec<(KeyHash, jmt::OwnedValue)> = block
            .iter()
            .map(|(table, key, value)| (key_hash(table, key), value.unwrap().to_vec()))
            .collect();
        let source = CachedNodes::of(store);
        let reader = JmtReader::new(&source, None);
        let (_, batch) = Sha256Jmt::new(&reader)
            .batch_put_value_sets(vec![set], None, version)
            .unwrap();
        batch.node_batch.nodes().keys().cloned().collect()
    }

    #[test]
    fn a_tree_stored_in_an_earlier_layout_is_told_apart() {
        let (_d, store) = open();
        assert!(layout_is_current(&*store).unwrap());
        // An earlier node wrote no layout row (and its node keys were Borsh-encoded).
        let (_e, earlier_store) = open();
        let mut earlier = Changes::default();
        earlier.delete(Table::Meta, LAYOUT_KEY.to_vec());
        earlier_store.commit(&earlier).unwrap();
        assert!(!layout_is_current(&*earlier_store).unwrap());
        // Another layout's mark is not this one.
        let mut other = Changes::default();
        other.put(Table::Meta, LAYOUT_KEY.to_vec(), b"2".to_vec());
        earlier_store.commit(&other).unwrap();
        assert!(!layout_is_current(&*earlier_store).unwrap());
    }

    #[test]
    fn roots_are_stored_under_the_key_pruning_deletes() {
        let (_d, store) = open();
        let mut block = Changes::default();
        put(&mut block, Table::Users, b"u1", b"alice");
        commit(&store, 1, block);
        for version in [0, 1] {
            let stored = store
                .get(Table::StateTreeNodes, StoredKey::root(version).as_bytes())
                .unwrap()
                .expect("a root under the key");
            let node = TreeNode::decode(&stored, version).unwrap();
            // Version 0 holds the genesis leaf alone; version 1 also the row.
            assert_eq!(matches!(node, TreeNode::Leaf(_)), version == 0, "{node:?}");
        }
        assert!(
            store
                .get(Table::StateTreeNodes, StoredKey::root(2).as_bytes())
                .unwrap()
                .is_none()
        );
    }

    /// Blocks of 64 fresh rows each, over a tree of 2,000 rows, then a block that changes some.
    fn cached_and_uncached(budget: usize) -> (u64, u64) {
        let (_a, cached_store) = open();
        let (_b, plain_store) = open();
        let cache = NodeCache::new(budget);
        let no_cache = NodeCache::new(0);
        let mut reads = (0, 0);
        for version in 1..=40u64 {
            let mut block = Changes::default();
            let rows = if version == 1 { 2_000 } else { 64 };
            for i in 0..rows {
                let key = (version * 10_000 + i).to_be_bytes();
                put(&mut block, Table::Users, &key, &[version as u8; 30]);
            }
            if version == 40 {
                // Existing rows changed and deleted too.
                put(
                    &mut block,
                    Table::Users,
                    &20_005u64.to_be_bytes(),
                    b"changed",
                );
                block.delete(Table::Users, 30_007u64.to_be_bytes().to_vec());
            }
            let with_tree = |store: &Store, cache: &NodeCache| {
                let before = store.tree_nodes_read();
                let mut rows = block.clone();
                let update = update(store, cache, version, &rows).unwrap();
                rows.absorb(update.changes);
                store.commit(&rows).unwrap();
                cache.committed(update.cache);
                (update.root, store.tree_nodes_read() - before)
            };
            let (root_cached, read_cached) = with_tree(&cached_store, &cache);
            let (root_plain, read_plain) = with_tree(&plain_store, &no_cache);
            assert_eq!(root_cached, root_plain, "version {version}");
            if version > 1 {
                reads.0 += read_cached;
                reads.1 += read_plain;
            }
            assert!(cache.bytes() <= budget, "{} <= {budget}", cache.bytes());
        }
        reads
    }

    #[test]
    fn the_node_cache_spares_the_store_reads_and_changes_no_root() {
        let (cached, plain) = cached_and_uncached(NODE_CACHE_BYTES);
        assert!(plain > 1_000, "{plain}");
        // What is left are leaves the new rows land beside, read once.
        assert!(
            cached * 4 < plain,
            "{cached} reads with the cache, {plain} without"
        );
    }

    #[test]
    fn a_full_node_cache_takes_no_more_and_still_changes_no_root() {
        // About 40 internal nodes' worth: full after the first block, then as much room as
        // each block's replaced nodes make.
        let (cached, plain) = cached_and_uncached(40 * 1_024);
        assert!(cached <= plain, "{cached} <= {plain}");
    }

    #[test]
    fn the_node_cache_lets_go_of_the_nodes_each_block_replaces() {
        let (_d, store) = open();
        let cache = NodeCache::new(NODE_CACHE_BYTES);
        let mut held = Vec::new();
        for version in 1..=60u64 {
            // 3,000 rows, then 50 of them rewritten per block: the tree keeps its shape.
            let mut block = if version == 1 {
                user_rows(0..3_000, version)
            } else {
                user_rows((0..50).map(|i| (version * 50 + i) % 3_000), version)
            };
            let update = update(&*store, &cache, version, &block).unwrap();
            block.absorb(update.changes);
            store.commit(&block).unwrap();
            cache.committed(update.cache);
            held.push(cache.bytes());
        }
        // Each block rewrites the root and some of the levels under it: kept, the replaced
        // nodes would add up block after block; let go, the cache holds the tree's upper levels
        // once.
        let (at_10, at_60) = (held[9], held[59]);
        assert!(
            at_60 < at_10 * 3 / 2,
            "{at_10} bytes after 10 blocks, {at_60} after 60"
        );
        assert!(at_10 > 0);
    }

    #[test]
    fn writes_alone_and_writes_with_deletions_reach_the_same_root_for_the_same_rows() {
        // A deletion of a key that was never written changes nothing: the same rows give the
        // same root.
        let (_a, batch) = open();
        let (_b, keyed) = open();
        let rows: Vec<(Vec<u8>, Vec<u8>)> = (0..300u32)
            .map(|i| (i.to_be_bytes().to_vec(), vec![i as u8; 20]))
            .collect();
        let mut writes = Changes::default();
        for (k, v) in &rows {
            put(&mut writes, Table::Grants, k, v);
        }
        let mut with_deletion = Changes::default();
        for (k, v) in &rows {
            put(&mut with_deletion, Table::Grants, k, v);
        }
        with_deletion.delete(Table::Grants, b"never written".to_vec());
        let (first, second) = (commit(&batch, 1, writes), commit(&keyed, 1, with_deletion));
        assert_eq!(first, second);
        // And the next block builds on either.
        let mut more = Changes::default();
        put(&mut more, Table::Users, b"u", b"v");
        let mut same = Changes::default();
        put(&mut same, Table::Users, b"u", b"v");
        assert_eq!(commit(&batch, 2, more), commit(&keyed, 2, same));
    }

    /// Stored rows: (key, value).
    type Rows = Vec<(Vec<u8>, Vec<u8>)>;

    /// The stored key whose bytes are `bytes`.
    fn stored_key(bytes: &[u8]) -> StoredKey {
        let version = u64::from_be_bytes(bytes[..8].try_into().unwrap());
        let mut path = [0u8; 32];
        path[..bytes.len() - 9].copy_from_slice(&bytes[9..]);
        StoredKey::new(version, &path, usize::from(bytes[8]))
    }

    /// `jmt`'s own batch update of `writes` over the committed tree: its root, its node rows
    /// (in `jmt`'s encoding) and its stale keys, in this node's stored form.
    fn jmt_batch(
        store: &Store,
        version: Version,
        writes: &[(KeyHash, Vec<u8>)],
    ) -> ([u8; 32], Rows, Vec<Vec<u8>>) {
        let source = CachedNodes::of(store);
        let reader = JmtReader::new(&source, None);
        let (mut roots, batch) = Sha256Jmt::new(&reader)
            .batch_put_value_sets(vec![writes.to_vec()], None, version)
            .unwrap();
        let mut rows: Rows = batch
            .node_batch
            .nodes()
            .iter()
            .map(|(k, n)| {
                (
                    StoredKey::of_jmt(k).as_bytes().to_vec(),
                    borsh::to_vec(n).unwrap(),
                )
            })
            .collect();
        rows.sort();
        let mut stale: Vec<Vec<u8>> = batch
            .stale_node_index_batch
            .iter()
            .map(|s| StoredKey::of_jmt(&s.node_key).as_bytes().to_vec())
            .collect();
        stale.sort();
        (roots.pop().unwrap().0, rows, stale)
    }

    /// The rows reading the whole tree of `version` reads: its nodes' and their bases'.
    fn rows_read(store: &Store, version: Version) -> HashSet<Vec<u8>> {
        let mut read = HashSet::new();
        let mut pending = vec![StoredKey::root(version)];
        while let Some(key) = pending.pop() {
            let bytes = store
                .get(Table::StateTreeNodes, key.as_bytes())
                .unwrap()
                .unwrap();
            if let Some(base) = TreeNode::base_version(&bytes, key.version()).unwrap() {
                read.insert(key.at_version(base).as_bytes().to_vec());
            }
            read.insert(key.as_bytes().to_vec());
            if let TreeNode::Internal(node) = decode_row(store, &key, &bytes).unwrap() {
                for (n, child) in node.children.iter().enumerate() {
                    if let Some(child) = child.filter(|c| !c.is_leaf()) {
                        pending.push(key.child(n, child.version));
                    }
                }
            }
        }
        read
    }

    #[test]
    fn writes_make_exactly_the_nodes_and_the_stale_index_jmt_makes() {
        let (_d, store) = open();
        let cache = NodeCache::new(NODE_CACHE_BYTES);
        let mut stale_since = HashMap::new();
        let mut next = 0u64;
        for version in 1..=30u64 {
            // A first block of 3,000 rows, then new rows and rewrites of old ones (the same
            // value again among them), some sharing long prefixes with earlier keys.
            let mut block = Changes::default();
            let fresh = if version == 1 {
                3_000
            } else {
                40 + version * 7
            };
            for _ in 0..fresh {
                put(
                    &mut block,
                    Table::Users,
                    &next.to_be_bytes(),
                    &next.to_le_bytes(),
                );
                next += 1;
            }
            for i in 0..version * 5 {
                let old = (i * 7919 + version * 31) % next;
                let value = if i % 3 == 0 {
                    old.to_le_bytes()
                } else {
                    version.to_le_bytes()
                };
                put(&mut block, Table::Users, &old.to_be_bytes(), &value);
            }
            let writes: Vec<(KeyHash, Vec<u8>)> = block
                .iter()
                .map(|(t, k, v)| (key_hash(t, k), v.unwrap().to_vec()))
                .collect();
            let (jmt_root, jmt_rows, jmt_stale) = jmt_batch(&store, version, &writes);
            let update = update(&*store, &cache, version, &block).unwrap();
            assert_eq!(update.root, jmt_root, "version {version}");
            // Compared in `jmt`'s encoding, each new leaf as the row `jmt` gives it, each delta
            // row completed with its base.
            let mut rows: Rows = Vec::new();
            let mut delta_bases = HashSet::new();
            for (key, value) in update.changes.entries(Table::StateTreeNodes) {
                let parent = stored_key(key);
                let value = value.unwrap();
                if let Some(base) = TreeNode::base_version(value, version).unwrap() {
                    delta_bases.insert(parent.at_version(base).as_bytes().to_vec());
                }
                let node = decode_row(&*store, &parent, value).unwrap();
                rows.push((key.to_vec(), node.jmt_bytes()));
                let TreeNode::Internal(internal) = node else {
                    continue;
                };
                for (n, leaf) in &internal.leaves {
                    let child = internal.children[usize::from(*n)].unwrap();
                    if child.version == version {
                        let key = parent.child(usize::from(*n), version);
                        rows.push((key.as_bytes().to_vec(), TreeNode::Leaf(*leaf).jmt_bytes()));
                    }
                }
            }
            rows.sort();
            assert_eq!(rows.len(), jmt_rows.len(), "version {version}");
            assert!(rows == jmt_rows, "version {version}: the node rows differ");
            let stale_row = update
                .changes
                .lookup(Table::StateTreeStale, &version.to_be_bytes())
                .flatten()
                .cloned()
                .unwrap_or_default();
            let stale: HashSet<Vec<u8>> = stale_entries(&stale_row)
                .unwrap()
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect();
            // `jmt`'s stale nodes that have rows here (a leaf goes with its parent's row) are
            // stale here too, but for the bases of this version's delta rows; what is stale
            // here besides is a base the version is done with (checked below: no version
            // from this one on reads it).
            for key in jmt_stale {
                if store.get(Table::StateTreeNodes, &key).unwrap().is_some() {
                    assert!(
                        stale.contains(&key) || delta_bases.contains(&key),
                        "version {version}: a replaced row is neither stale nor a base"
                    );
                }
            }
            for key in &stale {
                assert!(
                    stale_since.insert(key.clone(), version).is_none(),
                    "stale twice"
                );
            }
            block.absorb(update.changes);
            store.commit(&block).unwrap();
            cache.committed(update.cache);
            assert!(
                !delta_bases.is_empty() || version == 1,
                "version {version}: upper nodes are stored as delta rows"
            );
            // What this version reads is stale at no version up to it; every other row but
            // earlier roots (pruned by their version) is.
            let read = rows_read(&store, version);
            for key in &read {
                assert!(
                    !stale_since.contains_key(key),
                    "version {version} reads a stale row"
                );
            }
            for (key, _) in store.scan(Table::StateTreeNodes, &[], 1_000_000).unwrap() {
                let is_old_root = key[8] == 0;
                assert!(
                    read.contains(&key) || is_old_root || stale_since.contains_key(&key),
                    "version {version}: a row no version reads is never pruned"
                );
            }
        }
    }
}
