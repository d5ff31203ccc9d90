//! One version's update of the tree in a single pass over the block's sorted changes: each
//! changed node is read once, rebuilt once and hashed once, and nothing is kept but what is
//! written. It makes the tree `jmt` makes (the shape is a function of the keys alone: a leaf
//! sits at the shallowest depth where no other key shares its path, and no internal node has
//! a lone leaf child); for a set of writes it writes exactly the nodes `jmt`'s batch update
//! writes (a leaf below the root inside its parent's row), which a test pins against `jmt`
//! itself. A subtree a block does not change is not rewritten (a deletion of an absent key
//! changes nothing).
//!
//! Every row the new version no longer uses is reported stale, once: the internal nodes on
//! each changed path, and the old root. A leaf below the root has no row: it goes with its
//! parent's.

use super::stored_node::{Child, Hash, Internal, Leaf, StoredKey, TreeNode, nibble};
use crate::error::{NodeError, NodeResult};
use jmt::Version;
use std::sync::Arc;

/// One change: a key hash and the new value's hash (`None`: the key is deleted).
pub(crate) type Change = (Hash, Option<Hash>);

/// Where the update reads committed nodes.
pub(crate) trait NodeSource {
    /// The node stored under `key`, if any.
    fn node(&self, key: &StoredKey) -> NodeResult<Option<TreeNode>>;
}

/// What one version's update makes.
#[derive(Debug)]
pub(crate) struct Output {
    /// The new root's hash.
    pub(crate) root: Hash,
    /// The nodes to store.
    pub(crate) written: Vec<(StoredKey, TreeNode)>,
    /// The keys of the rows this version no longer uses.
    pub(crate) stale: Vec<StoredKey>,
    /// The internal nodes among them.
    pub(crate) replaced: Vec<Replaced>,
}

/// An internal node the version replaced.
#[derive(Debug)]
pub(crate) struct Replaced {
    /// Its entry in [`Output::stale`].
    pub(crate) stale: usize,
    /// What it held.
    pub(crate) node: Arc<Internal>,
    /// The entry in [`Output::written`] of the internal node that took its place on its path,
    /// if one did.
    pub(crate) by: Option<usize>,
}

/// What became of a subtree.
enum Subtree {
    /// Nothing changed: the parent keeps its entry.
    Unchanged,
    /// No key is left under it.
    Empty,
    /// One leaf is left, not yet stored: the parent stores it in its own slot, or passes it up
    /// if it is the parent's only child.
    Leaf(Leaf),
    /// A new internal node, stored; the parent's entry for it.
    Node(Child),
}

/// An internal node's slot while the node is rebuilt.
#[derive(Clone, Copy)]
enum Slot {
    Empty,
    /// An internal child: its entry.
    Internal(Child),
    /// A leaf child, and its entry when it keeps the one it had (else it is new at this
    /// version, or moved here).
    Leaf(Leaf, Option<Child>),
}

/// Applies `changes` (sorted by key hash, each key once) to the tree of `version - 1` (none
/// when `version` is 0) read through `source`, making `version`.
pub(crate) fn update(
    source: &impl NodeSource,
    version: Version,
    changes: &[Change],
) -> NodeResult<Output> {
    debug_assert!(changes.windows(2).all(|w| w[0].0 < w[1].0));
    let mut batch = Batch {
        source,
        version,
        written: Vec::with_capacity(changes.len() * 2),
        stale: Vec::new(),
        replaced: Vec::new(),
    };
    let old_root = match version.checked_sub(1) {
        None => None,
        Some(previous) => {
            let key = StoredKey::root(previous);
            let root = batch
                .source
                .node(&key)?
                .ok_or_else(|| damaged(format!("the root of version {previous} is missing")))?;
            Some((key, root))
        }
    };
    let made = match &old_root {
        // An empty tree (its root is not stale: pruning deletes each version's root when the
        // version leaves the retention).
        None | Some((_, TreeNode::Null)) => batch.create_from(0, changes),
        Some((key, TreeNode::Leaf(leaf))) => batch.at_leaf(Some(*key), 0, *leaf, changes)?,
        Some((key, TreeNode::Internal(internal))) => {
            batch.at_internal(*key, 0, internal, changes)?
        }
    };
    let key = StoredKey::root(version);
    let root = match made {
        // Nothing changed: the version gets a copy of the root, so every version has one.
        Subtree::Unchanged => {
            let node = old_root.map_or(TreeNode::Null, |(_, node)| node);
            let hash = node.hash();
            batch.written.push((key, node));
            hash
        }
        Subtree::Empty => {
            batch.written.push((key, TreeNode::Null));
            TreeNode::Null.hash()
        }
        Subtree::Leaf(leaf) => {
            batch.written.push((key, TreeNode::Leaf(leaf)));
            leaf.hash()
        }
        // `build` stored it under the root's key.
        Subtree::Node(child) => child.hash,
    };
    Ok(Output {
        root,
        written: batch.written,
        stale: batch.stale,
        replaced: batch.replaced,
    })
}

fn damaged(what: String) -> NodeError {
    NodeError::corrupt("state tree (update)".to_string(), what)
}

/// Whether `a` and `b` share their first `depth` nibbles.
fn same_path(a: &Hash, b: &Hash, depth: usize) -> bool {
    let whole = depth / 2;
    a[..whole] == b[..whole] && (depth.is_multiple_of(2) || a[whole] >> 4 == b[whole] >> 4)
}

/// The runs of `changes` that share their nibble at `depth`, with that nibble.
fn groups(changes: &[Change], depth: usize) -> impl Iterator<Item = (usize, &[Change])> {
    let mut rest = changes;
    std::iter::from_fn(move || {
        let first = rest.first()?;
        let n = nibble(&first.0, depth);
        let end = rest
            .iter()
            .position(|(k, _)| nibble(k, depth) != n)
            .unwrap_or(rest.len());
        let (group, tail) = rest.split_at(end);
        rest = tail;
        Some((n, group))
    })
}

struct Batch<'a, S> {
    source: &'a S,
    version: Version,
    written: Vec<(StoredKey, TreeNode)>,
    stale: Vec<StoredKey>,
    replaced: Vec<Replaced>,
}

impl<S: NodeSource> Batch<'_, S> {
    fn read(&self, key: &StoredKey) -> NodeResult<TreeNode> {
        self.source.node(key)?.ok_or_else(|| {
            damaged(format!(
                "a node is missing (version {}, depth {})",
                key.version(),
                key.depth()
            ))
        })
    }

    /// The committed internal node `internal` (stored under `key`, at `depth`) with `changes`
    /// (all under it) applied.
    fn at_internal(
        &mut self,
        key: StoredKey,
        depth: usize,
        internal: &Arc<Internal>,
        changes: &[Change],
    ) -> NodeResult<Subtree> {
        if depth >= 64 {
            // Distinct key hashes part within 64 nibbles: no internal node lies this deep.
            return Err(damaged("an internal node below the deepest level".into()));
        }
        let mut slots = [Slot::Empty; 16];
        for (slot, child) in slots.iter_mut().zip(&internal.children) {
            if let Some(child) = child {
                *slot = Slot::Internal(*child);
            }
        }
        for (n, leaf) in &internal.leaves {
            let n = usize::from(*n);
            if let Some(child) = internal.children[n] {
                slots[n] = Slot::Leaf(*leaf, Some(child));
            }
        }
        let mut changed = false;
        for (n, group) in groups(changes, depth) {
            let made = match slots[n] {
                Slot::Leaf(leaf, _) => self.at_leaf(None, depth + 1, leaf, group)?,
                Slot::Internal(child) => {
                    let child_key = StoredKey::new(child.version, &group[0].0, depth + 1);
                    match self.read(&child_key)? {
                        TreeNode::Internal(node) => {
                            self.at_internal(child_key, depth + 1, &node, group)?
                        }
                        TreeNode::Leaf(_) | TreeNode::Null => {
                            return Err(damaged(
                                "an internal node's entry names a node that is not internal".into(),
                            ));
                        }
                    }
                }
                Slot::Empty => self.create_from(depth + 1, group),
            };
            slots[n] = match made {
                Subtree::Unchanged => continue,
                Subtree::Empty => Slot::Empty,
                Subtree::Leaf(leaf) => Slot::Leaf(leaf, None),
                Subtree::Node(child) => Slot::Internal(child),
            };
            changed = true;
        }
        if !changed {
            return Ok(Subtree::Unchanged);
        }
        let mut replaced = Replaced {
            stale: self.stale.len(),
            node: Arc::clone(internal),
            by: None,
        };
        self.stale.push(key);
        let mut left = slots.iter().filter(|s| !matches!(s, Slot::Empty));
        let made = match (left.next(), left.next()) {
            (None, _) => Subtree::Empty,
            // A lone leaf goes up to take this node's place (it has no row of its own).
            (Some(Slot::Leaf(leaf, _)), None) => Subtree::Leaf(*leaf),
            _ => {
                // `build` stores the new node next.
                replaced.by = Some(self.written.len());
                self.build(depth, &changes[0].0, slots)
            }
        };
        self.replaced.push(replaced);
        Ok(made)
    }

    /// The committed leaf `leaf` (at `depth`; stored under `row` if it is a root, else in its
    /// parent's row) with `changes` (all under its position) applied.
    fn at_leaf(
        &mut self,
        row: Option<StoredKey>,
        depth: usize,
        leaf: Leaf,
        changes: &[Change],
    ) -> NodeResult<Subtree> {
        if let Some((first, _)) = changes.first()
            && !same_path(&leaf.key_hash, first, depth)
        {
            return Err(damaged("a leaf lies off its key's path".into()));
        }
        // The leaf's key and the changes' keys, in order, with their new values.
        let mut writes = Vec::with_capacity(changes.len() + 1);
        let mut kept = Some(leaf);
        let mut changed = false;
        for &(key_hash, value) in changes {
            if let Some(earlier) = kept.filter(|l| l.key_hash < key_hash) {
                writes.push((earlier.key_hash, Some(earlier.value_hash)));
                kept = None;
            }
            if key_hash == leaf.key_hash {
                kept = None;
                changed = true;
            }
            // A deletion of another key deletes what is absent: nothing.
            if value.is_some() {
                writes.push((key_hash, value));
                changed = true;
            }
        }
        if !changed {
            return Ok(Subtree::Unchanged);
        }
        if let Some(kept_leaf) = kept {
            writes.push((kept_leaf.key_hash, Some(kept_leaf.value_hash)));
        }
        self.stale.extend(row);
        Ok(if writes.is_empty() {
            Subtree::Empty
        } else {
            self.create(depth, &writes)
        })
    }

    /// A new subtree at `depth` holding the writes among `changes` (deletions there delete
    /// what is absent); `Unchanged` if there are none.
    fn create_from(&mut self, depth: usize, changes: &[Change]) -> Subtree {
        if changes.iter().all(|(_, value)| value.is_some()) {
            return match changes {
                [] => Subtree::Unchanged,
                writes => self.create(depth, writes),
            };
        }
        let writes: Vec<Change> = changes
            .iter()
            .filter(|(_, v)| v.is_some())
            .copied()
            .collect();
        match writes.as_slice() {
            [] => Subtree::Unchanged,
            writes => self.create(depth, writes),
        }
    }

    /// A new subtree at `depth` holding `writes` (at least one; values all present).
    fn create(&mut self, depth: usize, writes: &[Change]) -> Subtree {
        if let [(key_hash, value)] = writes {
            return Subtree::Leaf(Leaf {
                key_hash: *key_hash,
                value_hash: value.expect("writes only"),
            });
        }
        let mut slots = [Slot::Empty; 16];
        for (n, group) in groups(writes, depth) {
            slots[n] = match self.create(depth + 1, group) {
                Subtree::Leaf(leaf) => Slot::Leaf(leaf, None),
                Subtree::Node(child) => Slot::Internal(child),
                Subtree::Unchanged | Subtree::Empty => unreachable!("a group is never empty"),
            };
        }
        self.build(depth, &writes[0].0, slots)
    }

    /// Stores the internal node at `depth` on `path` with `slots` (at least two children, or
    /// one internal child), its leaf children in its row.
    fn build(&mut self, depth: usize, path: &Hash, slots: [Slot; 16]) -> Subtree {
        let version = self.version;
        let mut leaves = Vec::new();
        let mut children = [None; 16];
        for (n, slot) in slots.into_iter().enumerate() {
            children[n] = match slot {
                Slot::Empty => None,
                Slot::Internal(child) => Some(child),
                Slot::Leaf(leaf, kept) => {
                    leaves.push((n as u8, leaf));
                    Some(kept.unwrap_or_else(|| Child {
                        hash: leaf.hash(),
                        version,
                        leaf_count: None,
                    }))
                }
            };
        }
        let internal = Internal::new(children, leaves);
        let child = Child {
            hash: internal.hash(),
            version,
            leaf_count: Some(internal.leaf_count()),
        };
        self.written.push((
            StoredKey::new(version, path, depth),
            TreeNode::Internal(Arc::new(internal)),
        ));
        Subtree::Node(child)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap, HashSet};

    use jmt::{KeyHash, Sha256Jmt};
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::state_tree::jmt_reader::JmtReader;
    use crate::state_tree::stored_node::with_nibble;

    /// Committed nodes in memory, in their stored encoding.
    #[derive(Default)]
    struct Memory {
        rows: HashMap<StoredKey, Vec<u8>>,
    }

    impl NodeSource for Memory {
        fn node(&self, key: &StoredKey) -> NodeResult<Option<TreeNode>> {
            Ok(self
                .rows
                .get(key)
                .map(|bytes| TreeNode::decode(bytes, key.version()).unwrap()))
        }
    }

    impl Memory {
        fn commit(&mut self, version: Version, output: &Output) {
            for (key, node) in &output.written {
                assert!(
                    self.rows.insert(*key, node.encode(version)).is_none(),
                    "a key is written twice"
                );
            }
        }

        /// Every row the tree of `version` uses, and its leaves.
        fn reachable(&self, version: Version) -> (HashSet<StoredKey>, BTreeMap<Hash, Hash>) {
            let mut keys = HashSet::new();
            let mut leaves = BTreeMap::new();
            let mut todo = vec![StoredKey::root(version)];
            while let Some(key) = todo.pop() {
                let node = self.node(&key).unwrap().expect("a used node is stored");
                keys.insert(key);
                match node {
                    TreeNode::Null => {}
                    TreeNode::Leaf(leaf) => {
                        leaves.insert(leaf.key_hash, leaf.value_hash);
                    }
                    TreeNode::Internal(internal) => {
                        for (n, child) in internal.children.iter().enumerate() {
                            let Some(child) = child else { continue };
                            match internal.leaf(n) {
                                Some(leaf) => {
                                    assert!(child.is_leaf());
                                    assert_eq!(child.hash, leaf.hash());
                                    leaves.insert(leaf.key_hash, leaf.value_hash);
                                }
                                None => todo.push(key.child(n, child.version)),
                            }
                        }
                    }
                }
            }
            (keys, leaves)
        }
    }

    fn value_hash(value: &[u8]) -> Hash {
        Sha256::digest(value).into()
    }

    /// Key hashes that share long prefixes in places: `i` spread over the space, and every
    /// fifth one a near twin of an earlier key.
    fn key(i: u64) -> Hash {
        let mut k: Hash = Sha256::digest(i.to_be_bytes()).into();
        if i.is_multiple_of(5) && i > 0 {
            let twin: Hash = Sha256::digest((i / 5).to_be_bytes()).into();
            k[..5].copy_from_slice(&twin[..5]);
        }
        k
    }

    /// Applies `block` (key index, value: `None` deletes) at `version` through this update
    /// and through `jmt`'s key-by-key update over the same committed tree, and checks what
    /// the version stores against the model of the rows.
    fn apply(
        memory: &mut Memory,
        model: &mut BTreeMap<Hash, Hash>,
        version: Version,
        block: &[(u64, Option<u64>)],
    ) -> Output {
        let mut changes: BTreeMap<Hash, Option<Hash>> = BTreeMap::new();
        let mut jmt_set = Vec::new();
        for &(k, v) in block {
            let value = v.map(|v| v.to_le_bytes().to_vec());
            changes.insert(key(k), value.as_deref().map(value_hash));
            jmt_set.push((KeyHash(key(k)), value));
        }
        let changes: Vec<Change> = changes.into_iter().collect();
        let output = update(memory, version, &changes).unwrap();
        // `jmt` over the same committed tree reaches the same root.
        let reader = JmtReader::new(&*memory, None);
        let (jmt_root, _) = Sha256Jmt::new(&reader)
            .put_value_set(jmt_set, version)
            .unwrap();
        assert_eq!(output.root, jmt_root.0, "version {version}");
        // Each internal node replaced is the stored one its stale entry names, and the node
        // said to take its place lies on its path.
        for replaced in &output.replaced {
            let key = output.stale[replaced.stale];
            let Some(TreeNode::Internal(stored)) = memory.node(&key).unwrap() else {
                panic!("a replaced node is a stored internal node");
            };
            assert_eq!(stored, replaced.node);
            if let Some(by) = replaced.by {
                let (new, _) = &output.written[by];
                assert_eq!(new.at_version(0), key.at_version(0), "version {version}");
                assert!(matches!(output.written[by].1, TreeNode::Internal(_)));
            }
        }
        let replaced_keys = output.replaced.iter().map(|r| output.stale[r.stale]);
        let internal_stale = output
            .stale
            .iter()
            .filter(|key| matches!(memory.node(key).unwrap(), Some(TreeNode::Internal(_))));
        assert!(
            replaced_keys.eq(internal_stale.copied()),
            "every replaced internal node, in order"
        );
        let before = version
            .checked_sub(1)
            .map(|v| memory.reachable(v).0)
            .unwrap_or_default();
        memory.commit(version, &output);
        for (k, v) in &changes {
            match v {
                Some(v) => model.insert(*k, *v),
                None => model.remove(k),
            };
        }
        let (after, leaves) = memory.reachable(version);
        assert_eq!(&leaves, model, "version {version}: the leaves are the rows");
        // What it writes is what the new version uses and the old did not; what it calls
        // stale, what the old used and the new does not (but the old root, which pruning
        // deletes by its version when nothing made it stale).
        let written: HashSet<StoredKey> = output.written.iter().map(|(k, _)| *k).collect();
        let new: HashSet<StoredKey> = after.difference(&before).copied().collect();
        assert_eq!(written, new, "version {version}");
        let stale: HashSet<StoredKey> = output.stale.iter().copied().collect();
        assert_eq!(stale.len(), output.stale.len(), "a node is stale twice");
        let dropped: HashSet<StoredKey> = before.difference(&after).copied().collect();
        assert!(stale.is_subset(&dropped), "version {version}");
        for key in dropped.difference(&stale) {
            assert_eq!(*key, StoredKey::root(version - 1), "version {version}");
        }
        output
    }

    #[test]
    fn deletions_collapse_the_tree_as_jmt_does_and_stale_names_exactly_what_left() {
        let mut memory = Memory::default();
        let mut model = BTreeMap::new();
        // Genesis with nothing, then a tree built up, thinned, emptied and refilled.
        apply(&mut memory, &mut model, 0, &[]);
        let fill: Vec<(u64, Option<u64>)> = (0..600).map(|i| (i, Some(i))).collect();
        apply(&mut memory, &mut model, 1, &fill);
        // Every other key deleted, some rewritten, absent keys deleted, new twins.
        let thin: Vec<(u64, Option<u64>)> = (0..700)
            .map(|i| match i % 4 {
                0 | 2 => (i, None),
                1 => (i, Some(i + 1)),
                _ => (i + 10_000, Some(i)),
            })
            .collect();
        apply(&mut memory, &mut model, 2, &thin);
        // Nothing changed at all (deletions of absent keys, some beside leaves): the version
        // is a copy of the root, and nothing is stale.
        let absent: Vec<(u64, Option<u64>)> = (50_000..50_300).map(|i| (i, None)).collect();
        let unchanged = apply(&mut memory, &mut model, 3, &absent);
        assert_eq!(unchanged.written.len(), 1);
        assert!(unchanged.stale.is_empty());
        // Down to one key, then none.
        let index: HashMap<Hash, u64> = (0..11_000).map(|i| (key(i), i)).collect();
        let keep_one: Vec<(u64, Option<u64>)> =
            model.keys().skip(1).map(|k| (index[k], None)).collect();
        apply(&mut memory, &mut model, 4, &keep_one);
        assert_eq!(model.len(), 1);
        let last = index[model.keys().next().unwrap()];
        apply(&mut memory, &mut model, 5, &[(last, None)]);
        assert!(model.is_empty());
        apply(&mut memory, &mut model, 6, &[(7, Some(7)), (35, Some(35))]);
        apply(&mut memory, &mut model, 7, &[(7, None)]);
    }

    #[test]
    fn fail_a_damaged_tree_is_an_error_not_a_panic() {
        let mut memory = Memory::default();
        let mut model = BTreeMap::new();
        let fill: Vec<(u64, Option<u64>)> = (0..40).map(|i| (i, Some(i))).collect();
        apply(&mut memory, &mut model, 0, &[]);
        apply(&mut memory, &mut model, 1, &fill);
        let root = StoredKey::root(1);
        let TreeNode::Internal(internal) = memory.node(&root).unwrap().unwrap() else {
            panic!("40 keys make an internal root");
        };
        let change_at = |n: usize| {
            let k = (1_000..).find(|&k| nibble(&key(k), 0) == n).unwrap();
            [(key(k), Some([1; 32]))]
        };
        // A leaf whose key is not on its path.
        let (n, _) = internal.leaves[0];
        let mut stray = (*internal).clone();
        stray.leaves[0].1.key_hash = with_nibble([9; 32], 0, (usize::from(n) + 1) % 16);
        let mut off_path = memory.rows.clone();
        off_path.insert(root, TreeNode::Internal(Arc::new(stray)).encode(1));
        let changes = change_at(usize::from(n));
        let error = update(&Memory { rows: off_path }, 2, &changes).unwrap_err();
        assert!(error.to_string().contains("off its key's path"), "{error}");
        // An internal child that is missing, or is not internal.
        let (n, child) = (0..16)
            .find_map(|n| {
                internal.children[n]
                    .filter(|c| !c.is_leaf())
                    .map(|c| (n, c))
            })
            .expect("an internal node under the root");
        let child_key = root.child(n, child.version);
        let changes = change_at(n);
        let mut missing = memory.rows.clone();
        missing.remove(&child_key);
        let error = update(&Memory { rows: missing }, 2, &changes).unwrap_err();
        assert!(error.to_string().contains("a node is missing"), "{error}");
        let mut not_internal = memory.rows.clone();
        let leaf = TreeNode::Leaf(Leaf {
            key_hash: changes[0].0,
            value_hash: [3; 32],
        });
        not_internal.insert(child_key, leaf.encode(child.version));
        let error = update(&Memory { rows: not_internal }, 2, &changes).unwrap_err();
        assert!(error.to_string().contains("not internal"), "{error}");
        // A root that is missing.
        let error = update(&Memory::default(), 2, &changes).unwrap_err();
        assert!(error.to_string().contains("root of version 1"), "{error}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn any_sequence_of_blocks_reaches_jmts_roots_and_accounts_for_every_node(
            blocks in prop::collection::vec(
                prop::collection::vec((0u64..120, prop::option::weighted(0.7, 0u64..4)), 0..40),
                1..8,
            )
        ) {
            let mut memory = Memory::default();
            let mut model = BTreeMap::new();
            for (version, block) in blocks.iter().enumerate() {
                apply(&mut memory, &mut model, version as Version, block);
            }
        }
    }
}
