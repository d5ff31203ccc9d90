//! Decoded state-tree nodes of recent versions, kept in memory so that a block's tree update
//! does not read and decode from RocksDB the nodes the previous blocks wrote. Only the upper
//! levels' internal nodes ([`MAX_DEPTH`]): a block rewrites most of them and the next reads
//! them again, while a deeper node is seldom read before it is replaced. With depth 4 kept
//! too, a block of 9,000 changes over 10^5 keys read a third as many nodes from RocksDB and
//! its update took about a quarter less time (`cargo bench --bench tree_update`, measured
//! when leaves still had rows of their own).
//!
//! Exact, never a guess: a node's key names its version and path, and a key is written once
//! with one content (the tree's update is deterministic), so a cached node is the stored one.
//! Nodes enter only once their block is committed ([`NodeCache::committed`]) or when read
//! from the store, and leave when a committed block replaces them, so the cache holds about
//! the latest version's upper levels (69,905 nodes at most). The cache changes speed only,
//! never a root: a node that restarts with it empty reaches the same app hash. Bounded in
//! bytes: full, it keeps what it holds and takes nothing more until blocks replace some of
//! it. Only the tree's update reads through it; roots and proofs read the store, so a pruned
//! version is never served from memory.

use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use super::stored_node::{Internal, StoredKey, TreeNode};

/// The deepest internal nodes kept: depth 0 to 4, 69,905 nodes when all are full.
pub const MAX_DEPTH: usize = 4;

/// The node's default budget. Depth 0 to 3 take about 5 MB; depth 4 about 50 MB at 10^5 keys
/// and up to about 140 MB past 10^6 (its nodes hold their leaf children): the budget keeps
/// every upper level of the smaller tree and most of the larger one's.
pub const NODE_CACHE_BYTES: usize = 96 << 20;

/// What one entry costs besides its leaves: the map's entry (key and pointer, about 64 bytes
/// with the map's spare room) and the shared node (its 16 slots and the counts of its `Arc`).
const ENTRY_BYTES: usize = 64 + 16 + std::mem::size_of::<Internal>();

/// What one entry costs.
fn cost(node: &Internal) -> usize {
    ENTRY_BYTES + node.leaves.capacity() * std::mem::size_of::<(u8, super::stored_node::Leaf)>()
}

/// What one block changes in the cache once it is committed ([`NodeCache::committed`]): the
/// upper-level nodes it wrote, and the keys of those it made stale.
#[derive(Debug, Default)]
pub struct CacheDelta {
    /// New nodes the cache keeps (internal nodes at the depths it keeps).
    pub(crate) nodes: Vec<(StoredKey, Arc<Internal>)>,
    /// Keys of nodes the block replaced, at the depths the cache keeps.
    pub(crate) stale: Vec<StoredKey>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct NodeCache {
    inner: Mutex<Inner>,
    budget: usize,
}

#[derive(Debug, Default)]
struct Inner {
    bytes: usize,
    /// By key, hashed with Fx: keys are tree positions, which no client chooses.
    nodes: FxHashMap<StoredKey, Arc<Internal>>,
}

impl NodeCache {
    /// A cache of at most about `budget` bytes (0: cache nothing).
    pub fn new(budget: usize) -> Self {
        NodeCache {
            inner: Mutex::new(Inner::default()),
            budget,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The node stored under `key`, if it is cached.
    pub(crate) fn get(&self, key: &StoredKey) -> Option<Arc<Internal>> {
        if self.budget == 0 {
            return None;
        }
        self.lock().nodes.get(key).cloned()
    }

    /// Whether a node under `key` lies at a depth the cache keeps (4 or less: the upper levels).
    pub(crate) fn at_kept_depth(key: &StoredKey) -> bool {
        key.depth() <= MAX_DEPTH
    }

    /// Keeps a node the store returned, if the cache keeps such nodes.
    pub(crate) fn offer(&self, key: &StoredKey, node: &TreeNode) {
        if self.budget == 0 || !Self::at_kept_depth(key) {
            return;
        }
        let TreeNode::Internal(internal) = node else {
            return;
        };
        let mut inner = self.lock();
        if !inner.nodes.contains_key(key) {
            self.insert(&mut inner, *key, internal.clone());
        }
    }

    fn insert(&self, inner: &mut Inner, key: StoredKey, node: Arc<Internal>) {
        let added = cost(&node);
        if inner.bytes + added > self.budget {
            // Full: what is cached stays (each block's stale nodes leave and make room).
            return;
        }
        inner.bytes += added;
        if let Some(old) = inner.nodes.insert(key, node) {
            inner.bytes -= cost(&old);
        }
    }

    /// A committed block's part: its upper-level nodes enter (the next block's update reads
    /// them) and the nodes it replaced leave, so that the cache holds the latest version's
    /// upper levels and seldom fills up.
    pub fn committed(&self, delta: CacheDelta) {
        if self.budget == 0 {
            return;
        }
        let mut inner = self.lock();
        for key in &delta.stale {
            if let Some(old) = inner.nodes.remove(key) {
                inner.bytes -= cost(&old);
            }
        }
        for (key, node) in delta.nodes {
            self.insert(&mut inner, key, node);
        }
    }

    /// Bytes held, about.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}
