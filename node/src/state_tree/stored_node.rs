//! A tree node as the node stores it, read and written without `jmt`'s own types (whose
//! constructors `jmt` keeps private): the key it is stored under, its stored encoding, its
//! hash by `jmt`'s rules, and `jmt`'s Borsh encoding of it (how `jmt` reads a node for a root
//! or a proof). Equality with `jmt`'s encoding and hashes is pinned by tests against `jmt`.
//!
//! The stored encoding is compact, since every row and every byte of a node passes through
//! the write-ahead log, the memtable, a flush and compactions, and a block rewrites most of
//! the tree's upper levels. An internal node holds a bitmap of its children and one of its
//! leaf children, then each child in order: a leaf child's key hash and value hash (the leaf
//! itself: a leaf below the root has no row of its own, so a changed leaf costs its parent's
//! row only, which changes anyway, instead of a row more), an internal child's hash and leaf
//! count (LEB128); and for both, the child's version as the distance back from the node's own
//! (LEB128: recent children take a byte or two instead of eight). Only a root may be a leaf
//! row (a tree of one key). An upper node may instead be a delta row on a base, an earlier
//! whole row on its path (`delta_rows` chooses): its bitmaps, and the entries of only the
//! children that may differ from the base's.

use std::sync::Arc;

use jmt::Version;
use jmt::storage::NodeKey;
use prost::encoding::{decode_varint, encode_varint};
use sha2::{Digest, Sha256};

/// A 32-byte hash or key hash.
pub(crate) type Hash = [u8; 32];

/// The hash of an empty subtree (`jmt`'s `SPARSE_MERKLE_PLACEHOLDER_HASH`).
pub(crate) const PLACEHOLDER: Hash = *b"SPARSE_MERKLE_PLACEHOLDER_HASH__";

const LEAF_DOMAIN: &[u8] = b"JMT::LeafNode";
const INTERNAL_DOMAIN: &[u8] = b"JMT::IntrnalNode";

/// The key a node is stored under: its version (big-endian), its depth in nibbles, and its
/// path, two nibbles a byte (an odd last nibble in the high half). Byte order is the tree's
/// node order: version, then path.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct StoredKey {
    bytes: [u8; 8 + 1 + 32],
    len: u8,
}

impl StoredKey {
    /// The node of `version` at depth `depth` on the way to `key_hash` (only its first
    /// `depth` nibbles count).
    pub(crate) fn new(version: Version, key_hash: &Hash, depth: usize) -> Self {
        debug_assert!(depth <= 64);
        let mut bytes = [0u8; 41];
        bytes[..8].copy_from_slice(&version.to_be_bytes());
        bytes[8] = depth as u8;
        let whole = depth / 2;
        bytes[9..9 + whole].copy_from_slice(&key_hash[..whole]);
        let mut len = 9 + whole;
        if depth % 2 == 1 {
            bytes[len] = key_hash[whole] & 0xF0;
            len += 1;
        }
        StoredKey {
            bytes,
            len: len as u8,
        }
    }

    /// The key of `jmt`'s node `key`.
    pub(crate) fn of_jmt(key: &NodeKey) -> Self {
        let path = key.nibble_path();
        let at = path
            .nibbles()
            .enumerate()
            .fold([0u8; 32], |at, (depth, n)| {
                with_nibble(at, depth, usize::from(u8::from(n)))
            });
        Self::new(key.version(), &at, path.num_nibbles())
    }

    /// The root of `version` (depth 0).
    pub(crate) fn root(version: Version) -> Self {
        Self::new(version, &[0; 32], 0)
    }

    /// The stored bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The node's depth in nibbles.
    pub(crate) fn depth(&self) -> usize {
        usize::from(self.bytes[8])
    }

    /// The node's path: a key hash whose first [`StoredKey::depth`] nibbles are the path.
    pub(crate) fn path(&self) -> Hash {
        let packed = &self.bytes[9..usize::from(self.len)];
        let mut path = [0u8; 32];
        path[..packed.len()].copy_from_slice(packed);
        path
    }

    /// The key of this node's child `n`, stored at `version`.
    pub(crate) fn child(&self, n: usize, version: Version) -> StoredKey {
        let depth = self.depth();
        StoredKey::new(version, &with_nibble(self.path(), depth, n), depth + 1)
    }

    /// The key of the node on the same path stored at `version`.
    pub(crate) fn at_version(&self, version: Version) -> StoredKey {
        let mut key = *self;
        key.bytes[..8].copy_from_slice(&version.to_be_bytes());
        key
    }

    /// The node's version.
    pub(crate) fn version(&self) -> Version {
        Version::from_be_bytes(self.bytes[..8].try_into().expect("8 bytes"))
    }
}

/// The `depth`-th nibble of `key_hash`.
pub(crate) fn nibble(key_hash: &Hash, depth: usize) -> usize {
    let byte = key_hash[depth / 2];
    usize::from(if depth.is_multiple_of(2) {
        byte >> 4
    } else {
        byte & 0x0F
    })
}

/// `path` with its `depth`-th nibble set to `n`: a path to the child `n` of the node at
/// `depth` on `path`.
pub(crate) fn with_nibble(mut path: Hash, depth: usize, n: usize) -> Hash {
    let byte = &mut path[depth / 2];
    let n = n as u8;
    *byte = if depth.is_multiple_of(2) {
        (*byte & 0x0F) | (n << 4)
    } else {
        (*byte & 0xF0) | n
    };
    path
}

/// A leaf: the key's hash and the value's hash.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Leaf {
    pub(crate) key_hash: Hash,
    pub(crate) value_hash: Hash,
}

impl Leaf {
    /// `jmt`'s leaf hash: SHA-256 of the leaf domain, the key hash and the value hash.
    pub(crate) fn hash(&self) -> Hash {
        let mut hasher = Sha256::new();
        hasher.update(LEAF_DOMAIN);
        hasher.update(self.key_hash);
        hasher.update(self.value_hash);
        hasher.finalize().into()
    }
}

/// An internal node's entry for one child: the child's hash, the version its node is stored
/// under, and what it is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Child {
    pub(crate) hash: Hash,
    pub(crate) version: Version,
    /// `None` for a leaf; the leaves under it for an internal node.
    pub(crate) leaf_count: Option<u64>,
}

impl Child {
    fn leaves(&self) -> u64 {
        self.leaf_count.unwrap_or(1)
    }

    /// Whether the child is a leaf.
    pub(crate) fn is_leaf(&self) -> bool {
        self.leaf_count.is_none()
    }
}

/// An internal node: up to 16 children, by nibble, and the content of its leaf children.
/// Equality is the node's content; how its row is stored ([`Internal::base`]) is not part of
/// it.
#[derive(Clone, Debug)]
pub(crate) struct Internal {
    pub(crate) children: [Option<Child>; 16],
    /// The leaf children, by nibble, in nibble order.
    pub(crate) leaves: Vec<(u8, Leaf)>,
    /// The whole row this node's row is stored on, if it is a delta row.
    pub(crate) base: Option<OnBase>,
}

impl PartialEq for Internal {
    fn eq(&self, other: &Self) -> bool {
        self.children == other.children && self.leaves == other.leaves
    }
}

impl Eq for Internal {}

/// How a node's row is stored when it is a delta row: on the whole row of an earlier version
/// of the same path (its base), holding the children that may differ from the base's. A child
/// outside `differing` is exactly the base's; one inside may be too (it changed and changed
/// back), which costs its bytes only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OnBase {
    /// The version the base row is stored under.
    pub(crate) version: Version,
    /// The children (bit `i`: child `i`) the row holds.
    pub(crate) differing: u16,
}

/// The whole row of an earlier version of a node, on the same path, that a delta row of the
/// node completes when it is read: a block changes a few of an upper node's 16 children, and a
/// whole row would write all 16 again.
#[derive(Clone, Debug)]
pub(crate) struct Base {
    /// The version the base row is stored under.
    pub(crate) version: Version,
    /// The node that row holds (itself stored whole).
    pub(crate) node: Arc<Internal>,
}

impl Internal {
    /// An internal node stored whole.
    pub(crate) fn new(children: [Option<Child>; 16], leaves: Vec<(u8, Leaf)>) -> Self {
        Internal {
            children,
            leaves,
            base: None,
        }
    }

    /// The children (bit `i`: child `i`) this node has and `other` has not exactly alike (a
    /// delta row holds at least these of its base's).
    pub(crate) fn differing_from(&self, other: &Internal) -> u16 {
        let mut differing = 0u16;
        for (i, (mine, theirs)) in self.children.iter().zip(&other.children).enumerate() {
            // A leaf child's hash is its leaf's: equal entries mean equal leaves.
            if mine.is_some() && mine != theirs {
                differing |= 1 << i;
            }
        }
        differing
    }

    /// The leaf child at nibble `n`, if that child is a leaf.
    pub(crate) fn leaf(&self, n: usize) -> Option<Leaf> {
        self.leaves
            .iter()
            .find(|(at, _)| usize::from(*at) == n)
            .map(|(_, leaf)| *leaf)
    }

    /// The leaves under this node.
    pub(crate) fn leaf_count(&self) -> u64 {
        self.children.iter().flatten().map(Child::leaves).sum()
    }

    /// How many children it has.
    pub(crate) fn child_count(&self) -> usize {
        self.children.iter().flatten().count()
    }

    /// `jmt`'s internal hash: the 16 children as the leaves of a 4-level binary tree, where an
    /// empty range is the placeholder and a range holding a single leaf is that leaf's hash.
    pub(crate) fn hash(&self) -> Hash {
        let (exists, leaves) = self.bitmaps();
        self.merkle_hash(0, 16, exists, leaves)
    }

    /// Which children exist, and which of them are leaves (bit `i`: child `i`).
    pub(crate) fn bitmaps(&self) -> (u16, u16) {
        let (mut exists, mut leaves) = (0u16, 0u16);
        for (i, child) in self.children.iter().enumerate() {
            if let Some(child) = child {
                exists |= 1 << i;
                if child.is_leaf() {
                    leaves |= 1 << i;
                }
            }
        }
        (exists, leaves)
    }

    fn merkle_hash(&self, start: u32, width: u32, exists: u16, leaves: u16) -> Hash {
        let mask = (((1u32 << width) - 1) << start) as u16;
        let (exists, leaves) = (exists & mask, leaves & mask);
        if exists == 0 {
            PLACEHOLDER
        } else if width == 1 || (exists.count_ones() == 1 && leaves != 0) {
            let only = exists.trailing_zeros() as usize;
            self.children[only].map_or(PLACEHOLDER, |c| c.hash)
        } else {
            let half = width / 2;
            let left = self.merkle_hash(start, half, exists, leaves);
            let right = self.merkle_hash(start + half, half, exists, leaves);
            let mut hasher = Sha256::new();
            hasher.update(INTERNAL_DOMAIN);
            hasher.update(left);
            hasher.update(right);
            hasher.finalize().into()
        }
    }
}

/// A stored node.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum TreeNode {
    /// The root of an empty tree.
    Null,
    /// An internal node (shared with the node cache).
    Internal(Arc<Internal>),
    /// A leaf.
    Leaf(Leaf),
}

/// Tags of the node's kind, in the stored encoding and in `jmt`'s Borsh (by variant order).
const NULL_TAG: u8 = 0;
const INTERNAL_TAG: u8 = 1;
const LEAF_TAG: u8 = 2;
/// An internal node stored as the children that differ from its base's (stored only).
const DELTA_TAG: u8 = 3;
/// Borsh tags of `jmt`'s `NodeType`.
const CHILD_LEAF_TAG: u8 = 0;
const CHILD_INTERNAL_TAG: u8 = 1;

impl TreeNode {
    /// The stored encoding of the node, stored under a key of `version`.
    pub(crate) fn encode(&self, version: Version) -> Vec<u8> {
        match self {
            TreeNode::Null => vec![NULL_TAG],
            TreeNode::Leaf(leaf) => leaf_bytes(leaf),
            TreeNode::Internal(internal) => match &internal.base {
                None => {
                    let mut bytes = Vec::with_capacity(5 + internal.child_count() * 40);
                    bytes.push(INTERNAL_TAG);
                    let (exists, leaves) = internal.bitmaps();
                    bytes.extend(exists.to_be_bytes());
                    bytes.extend(leaves.to_be_bytes());
                    push_entries(&mut bytes, internal, exists, version);
                    bytes
                }
                Some(base) => {
                    let own = base.differing & internal.bitmaps().0;
                    let mut bytes = Vec::with_capacity(18 + own.count_ones() as usize * 40);
                    bytes.push(DELTA_TAG);
                    encode_varint(version - base.version, &mut bytes);
                    let (exists, leaves) = internal.bitmaps();
                    bytes.extend(exists.to_be_bytes());
                    bytes.extend(leaves.to_be_bytes());
                    bytes.extend(own.to_be_bytes());
                    push_entries(&mut bytes, internal, own, version);
                    bytes
                }
            },
        }
    }

    /// The version of the base a stored row of `version` names, if it is a delta row
    /// ([`TreeNode::decode_on`] decodes it); `None` for a whole row ([`TreeNode::decode`]).
    pub(crate) fn base_version(
        bytes: &[u8],
        version: Version,
    ) -> Result<Option<Version>, &'static str> {
        let mut input = Input(bytes);
        if input.byte()? != DELTA_TAG {
            return Ok(None);
        }
        let back = input.varint()?;
        if back == 0 || back > version {
            return Err("a delta row's base is not an earlier version");
        }
        Ok(Some(version - back))
    }

    /// Decodes a delta row of `version` on its `base` (read from the row
    /// [`TreeNode::base_version`] names, which must be a whole internal node); `Err` names what
    /// is wrong.
    pub(crate) fn decode_on(
        bytes: &[u8],
        version: Version,
        base: Base,
    ) -> Result<TreeNode, &'static str> {
        if base.node.base.is_some() {
            return Err("a delta row's base is itself a delta row");
        }
        if TreeNode::base_version(bytes, version)? != Some(base.version) {
            return Err("a delta row decoded on a base it does not name");
        }
        let mut input = Input(&bytes[1..]);
        input.varint()?;
        let (exists, leaves) = input.bitmaps()?;
        let own = u16::from_be_bytes(input.take()?);
        if own & !exists != 0 {
            return Err("a delta row holds a child its node does not have");
        }
        let mut children = [None; 16];
        let mut leaf_children = Vec::with_capacity(leaves.count_ones() as usize);
        for (i, child) in children.iter_mut().enumerate() {
            if exists & (1 << i) == 0 {
                continue;
            }
            let is_leaf = leaves & (1 << i) != 0;
            let (entry, leaf) = if own & (1 << i) != 0 {
                input.entry(is_leaf, version)?
            } else {
                let kept = base.node.children[i]
                    .filter(|c| c.is_leaf() == is_leaf)
                    .ok_or("a delta row keeps a child its base does not have")?;
                (kept, base.node.leaf(i))
            };
            if let Some(leaf) = leaf {
                leaf_children.push((i as u8, leaf));
            }
            *child = Some(entry);
        }
        if !input.0.is_empty() {
            return Err("bytes after the node");
        }
        Ok(TreeNode::Internal(Arc::new(Internal {
            children,
            leaves: leaf_children,
            base: Some(OnBase {
                version: base.version,
                differing: own,
            }),
        })))
    }

    /// Decodes what [`TreeNode::encode`] wrote for a key of `version`; `Err` names what is
    /// wrong.
    pub(crate) fn decode(bytes: &[u8], version: Version) -> Result<TreeNode, &'static str> {
        let mut input = Input(bytes);
        let node = match input.byte()? {
            NULL_TAG => TreeNode::Null,
            LEAF_TAG => TreeNode::Leaf(Leaf {
                key_hash: input.hash()?,
                value_hash: input.hash()?,
            }),
            INTERNAL_TAG => {
                let (exists, leaves) = input.bitmaps()?;
                let mut children = [None; 16];
                let mut leaf_children = Vec::with_capacity(leaves.count_ones() as usize);
                for (i, child) in children.iter_mut().enumerate() {
                    if exists & (1 << i) == 0 {
                        continue;
                    }
                    let (entry, leaf) = input.entry(leaves & (1 << i) != 0, version)?;
                    if let Some(leaf) = leaf {
                        leaf_children.push((i as u8, leaf));
                    }
                    *child = Some(entry);
                }
                TreeNode::Internal(Arc::new(Internal::new(children, leaf_children)))
            }
            DELTA_TAG => return Err("a delta row decoded without its base"),
            _ => return Err("an unknown node tag"),
        };
        if !input.0.is_empty() {
            return Err("bytes after the node");
        }
        Ok(node)
    }

    /// `jmt`'s Borsh encoding of the node (its `Node`).
    pub(crate) fn jmt_bytes(&self) -> Vec<u8> {
        match self {
            TreeNode::Null => vec![NULL_TAG],
            TreeNode::Leaf(leaf) => leaf_bytes(leaf),
            TreeNode::Internal(internal) => {
                let mut bytes = Vec::with_capacity(1 + 16 * 50 + 16);
                bytes.push(INTERNAL_TAG);
                for child in &internal.children {
                    match child {
                        None => bytes.push(0),
                        Some(child) => {
                            bytes.push(1);
                            bytes.extend(child.hash);
                            bytes.extend(child.version.to_le_bytes());
                            match child.leaf_count {
                                None => bytes.push(CHILD_LEAF_TAG),
                                Some(count) => {
                                    bytes.push(CHILD_INTERNAL_TAG);
                                    bytes.extend(count.to_le_bytes());
                                }
                            }
                        }
                    }
                }
                bytes.extend((internal.child_count() as u64).to_le_bytes());
                bytes.extend(internal.leaf_count().to_le_bytes());
                bytes
            }
        }
    }

    /// The node's hash.
    pub(crate) fn hash(&self) -> Hash {
        match self {
            TreeNode::Null => PLACEHOLDER,
            TreeNode::Internal(internal) => internal.hash(),
            TreeNode::Leaf(leaf) => leaf.hash(),
        }
    }
}

/// The entries of `internal`'s children in `which` (bit `i`: child `i`), in order: a leaf
/// child's key hash and value hash, an internal child's hash; the child's version as the
/// distance back from `version`; an internal child's leaf count.
fn push_entries(bytes: &mut Vec<u8>, internal: &Internal, which: u16, version: Version) {
    // The leaves are in nibble order: one pass over them.
    let mut leaves = internal.leaves.iter().peekable();
    for (n, child) in internal.children.iter().enumerate() {
        let leaf = leaves
            .next_if(|(at, _)| usize::from(*at) == n)
            .map(|(_, leaf)| *leaf);
        let Some(child) = child.filter(|_| which & (1 << n) != 0) else {
            continue;
        };
        match (child.leaf_count, leaf) {
            (None, Some(leaf)) => {
                bytes.extend(leaf.key_hash);
                bytes.extend(leaf.value_hash);
                encode_varint(version - child.version, bytes);
            }
            (Some(count), None) => {
                bytes.extend(child.hash);
                encode_varint(version - child.version, bytes);
                encode_varint(count, bytes);
            }
            _ => unreachable!("a leaf child's content is kept with it"),
        }
    }
}

/// A leaf in both encodings: its tag, the key hash and the value hash.
fn leaf_bytes(leaf: &Leaf) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(65);
    bytes.push(LEAF_TAG);
    bytes.extend(leaf.key_hash);
    bytes.extend(leaf.value_hash);
    bytes
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or("the node ends early")?;
        self.0 = rest;
        Ok(*head)
    }

    fn byte(&mut self) -> Result<u8, &'static str> {
        Ok(self.take::<1>()?[0])
    }

    fn hash(&mut self) -> Result<Hash, &'static str> {
        self.take::<32>()
    }

    /// An internal node's bitmaps: which children exist, and which of them are leaves.
    fn bitmaps(&mut self) -> Result<(u16, u16), &'static str> {
        let exists = u16::from_be_bytes(self.take()?);
        let leaves = u16::from_be_bytes(self.take()?);
        if exists == 0 || leaves & !exists != 0 {
            return Err("the child bitmaps disagree");
        }
        Ok((exists, leaves))
    }

    /// One child's entry ([`push_entries`]) in a row of `version`, and the leaf if it is one.
    fn entry(
        &mut self,
        is_leaf: bool,
        version: Version,
    ) -> Result<(Child, Option<Leaf>), &'static str> {
        let (hash, leaf) = if is_leaf {
            let leaf = Leaf {
                key_hash: self.hash()?,
                value_hash: self.hash()?,
            };
            (leaf.hash(), Some(leaf))
        } else {
            (self.hash()?, None)
        };
        let back = self.varint()?;
        let version = version
            .checked_sub(back)
            .ok_or("a child is older than version 0")?;
        let leaf_count = match leaf {
            Some(_) => None,
            None => Some(self.varint()?),
        };
        let child = Child {
            hash,
            version,
            leaf_count,
        };
        Ok((child, leaf))
    }

    /// A LEB128 number (protobuf's varint).
    fn varint(&mut self) -> Result<u64, &'static str> {
        decode_varint(&mut self.0).map_err(|_| "a number is not a valid LEB128 varint")
    }
}

#[cfg(test)]
mod tests {
    use jmt::storage::Node;
    use proptest::prelude::*;

    use super::*;

    fn child(seed: u8, version: Version, leaf_count: Option<u64>) -> Child {
        Child {
            hash: [seed; 32],
            version,
            leaf_count,
        }
    }

    /// An internal node with leaf and internal children, old and new, counts small and huge.
    fn sample(version: Version) -> Internal {
        let first = Leaf {
            key_hash: [5; 32],
            value_hash: [6; 32],
        };
        let last = Leaf {
            key_hash: [7; 32],
            value_hash: [8; 32],
        };
        let mut children = [None; 16];
        children[0] = Some(Child {
            hash: first.hash(),
            version,
            leaf_count: None,
        });
        children[3] = Some(child(2, 0, Some(2)));
        children[9] = Some(child(3, version.saturating_sub(300), Some(u64::MAX / 3)));
        children[15] = Some(Child {
            hash: last.hash(),
            version: version.saturating_sub(1),
            leaf_count: None,
        });
        Internal::new(children, vec![(0, first), (15, last)])
    }

    #[test]
    fn a_stored_node_decodes_to_itself_and_converts_to_the_node_jmt_encodes() {
        let version = 1_000_000;
        for node in [
            TreeNode::Null,
            TreeNode::Leaf(Leaf {
                key_hash: [7; 32],
                value_hash: [8; 32],
            }),
            TreeNode::Internal(Arc::new(sample(version))),
        ] {
            let stored = node.encode(version);
            assert_eq!(TreeNode::decode(&stored, version).unwrap(), node);
            let jmt_node: Node = borsh::from_slice(&node.jmt_bytes()).unwrap();
            assert_eq!(borsh::to_vec(&jmt_node).unwrap(), node.jmt_bytes());
        }
        // The compact form is what makes it worth having.
        let full = Internal::new(
            std::array::from_fn(|i| Some(child(i as u8, version - 5, Some(40)))),
            Vec::new(),
        );
        let node = TreeNode::Internal(Arc::new(full));
        assert!(node.encode(version).len() * 4 < node.jmt_bytes().len() * 3);
    }

    #[test]
    fn fail_every_truncation_of_a_stored_node() {
        let version = 500;
        let stored = TreeNode::Internal(Arc::new(sample(version))).encode(version);
        for len in 0..stored.len() {
            assert!(
                TreeNode::decode(&stored[..len], version).is_err(),
                "{len} bytes"
            );
        }
    }

    #[test]
    fn fail_malformed_stored_nodes_are_named() {
        let version = 500;
        let stored = TreeNode::Internal(Arc::new(sample(version))).encode(version);
        let mut trailing = stored.clone();
        trailing.push(0);
        let mut unknown = stored.clone();
        unknown[0] = 9;
        let mut no_children = stored.clone();
        no_children[1..3].copy_from_slice(&[0, 0]);
        let mut leaf_not_child = stored.clone();
        leaf_not_child[3..5].copy_from_slice(&0x0002u16.to_be_bytes());
        let cases: [(&[u8], &str); 5] = [
            (&trailing, "bytes after the node"),
            (&unknown, "an unknown node tag"),
            (&no_children, "the child bitmaps disagree"),
            (&leaf_not_child, "the child bitmaps disagree"),
            (&[1, 0, 1, 0, 1], "the node ends early"),
        ];
        for (bytes, error) in cases {
            assert_eq!(TreeNode::decode(bytes, version), Err(error));
        }
        // A child further back than version 0.
        assert_eq!(
            TreeNode::decode(&stored, 10),
            Err("a child is older than version 0")
        );
        // A number past 64 bits (as protobuf's varint decoder judges it).
        let mut long = vec![INTERNAL_TAG, 0, 1, 0, 0];
        long.extend([0u8; 32]);
        long.extend([0xFF; 9]);
        long.push(0x02);
        assert_eq!(
            TreeNode::decode(&long, version),
            Err("a number is not a valid LEB128 varint")
        );
    }

    /// `sample(version)` with child 3 rewritten and child 9 gone: the next version of a node
    /// whose base is `sample(base_version)`.
    fn changed_sample(version: Version, base_version: Version) -> Internal {
        let mut node = sample(base_version);
        node.children[3] = Some(child(4, version, Some(3)));
        node.children[9] = None;
        node.base = Some(OnBase {
            version: base_version,
            differing: 1 << 3,
        });
        node
    }

    /// The base of `changed_sample(_, base_version)`.
    fn base_of_sample(base_version: Version) -> Base {
        Base {
            version: base_version,
            node: Arc::new(sample(base_version)),
        }
    }

    #[test]
    fn a_delta_row_holds_only_what_differs_and_decodes_on_its_base_to_the_node() {
        let (version, base_version) = (1_000, 990);
        let node = changed_sample(version, base_version);
        assert_eq!(node.differing_from(&sample(base_version)), 1 << 3);
        let base = base_of_sample(base_version);
        let stored = TreeNode::Internal(Arc::new(node.clone())).encode(version);
        let whole = TreeNode::Internal(Arc::new(Internal::new(node.children, node.leaves.clone())))
            .encode(version);
        // Tag, distance, three bitmaps and one child entry.
        assert_eq!(stored.len(), 1 + 1 + 6 + 32 + 1 + 1);
        assert!(stored.len() * 3 < whole.len());
        assert_eq!(
            TreeNode::base_version(&stored, version),
            Ok(Some(base_version))
        );
        assert_eq!(TreeNode::base_version(&whole, version), Ok(None));
        let TreeNode::Internal(decoded) = TreeNode::decode_on(&stored, version, base).unwrap()
        else {
            panic!("an internal node");
        };
        assert_eq!(*decoded, node);
        assert_eq!(decoded.hash(), node.hash());
        assert_eq!(decoded.leaves, node.leaves);
        assert_eq!(
            decoded.base,
            Some(OnBase {
                version: base_version,
                differing: 1 << 3
            })
        );
    }

    #[test]
    fn fail_malformed_delta_rows_are_named() {
        let (version, base_version) = (1_000, 990);
        let node = changed_sample(version, base_version);
        let base = base_of_sample(base_version);
        let stored = TreeNode::Internal(Arc::new(node)).encode(version);
        for len in 0..stored.len() {
            assert!(
                TreeNode::decode_on(&stored[..len], version, base.clone()).is_err(),
                "{len} bytes"
            );
        }
        assert_eq!(
            TreeNode::decode(&stored, version),
            Err("a delta row decoded without its base")
        );
        let other = Base {
            version: base_version - 1,
            node: base.node.clone(),
        };
        assert_eq!(
            TreeNode::decode_on(&stored, version, other),
            Err("a delta row decoded on a base it does not name")
        );
        let stacked = Base {
            version: base_version,
            node: Arc::new(changed_sample(base_version, base_version - 5)),
        };
        assert_eq!(
            TreeNode::decode_on(&stored, version, stacked),
            Err("a delta row's base is itself a delta row")
        );
        let mut thin = sample(base_version);
        thin.children[15] = None;
        thin.leaves.pop();
        let thin = Base {
            version: base_version,
            node: Arc::new(thin),
        };
        assert_eq!(
            TreeNode::decode_on(&stored, version, thin),
            Err("a delta row keeps a child its base does not have")
        );
        // The distance is the second byte (10 fits one), then which children exist, which are
        // leaves, and which the row holds.
        let mut foreign = stored.clone();
        foreign[6..8].copy_from_slice(&(1u16 << 1).to_be_bytes());
        assert_eq!(
            TreeNode::decode_on(&foreign, version, base.clone()),
            Err("a delta row holds a child its node does not have")
        );
        let mut trailing = stored.clone();
        trailing.push(0);
        assert_eq!(
            TreeNode::decode_on(&trailing, version, base.clone()),
            Err("bytes after the node")
        );
        for back in [0u8, 11] {
            let mut wrong = stored.clone();
            wrong[1] = back;
            assert_eq!(
                TreeNode::base_version(&wrong, 10),
                Err("a delta row's base is not an earlier version")
            );
        }
    }

    #[test]
    fn stored_keys_name_the_version_depth_and_path() {
        let path = [0xAB; 32];
        assert_eq!(StoredKey::root(7).as_bytes(), &[0, 0, 0, 0, 0, 0, 0, 7, 0]);
        let odd = StoredKey::new(7, &path, 3);
        assert_eq!(&odd.as_bytes()[8..], &[3, 0xAB, 0xA0]);
        assert_eq!((odd.version(), odd.depth()), (7, 3));
        assert_eq!(with_nibble(path, 3, 5)[1], 0xA5);
        assert_eq!(with_nibble(path, 2, 5)[1], 0x5B);
        assert_eq!(nibble(&path, 4), 0xA);
        assert_eq!(nibble(&path, 5), 0xB);
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_fail_without_panicking(
            bytes in prop::collection::vec(any::<u8>(), 0..700),
            version in any::<u64>(),
        ) {
            if let Ok(node) = TreeNode::decode(&bytes, version) {
                prop_assert_eq!(TreeNode::decode(&node.encode(version), version), Ok(node));
            }
        }

        #[test]
        fn any_bytes_decode_on_a_base_or_fail_without_panicking(
            tail in prop::collection::vec(any::<u8>(), 0..300),
            back in 1u64..20,
        ) {
            let version = 1_000;
            let base = Base { version: version - back, node: Arc::new(sample(version - back)) };
            let mut bytes = vec![DELTA_TAG];
            encode_varint(back, &mut bytes);
            bytes.extend(tail);
            if let Ok(TreeNode::Internal(node)) = TreeNode::decode_on(&bytes, version, base.clone()) {
                let again = TreeNode::Internal(node.clone()).encode(version);
                prop_assert_eq!(TreeNode::decode_on(&again, version, base), Ok(TreeNode::Internal(node)));
            }
        }
    }
}
