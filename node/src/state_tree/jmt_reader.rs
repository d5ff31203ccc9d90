//! Stored nodes served to `jmt`, in its own types, for roots and proofs. A leaf below the root
//! is stored in its parent's row (`stored_node`), so the leaves of every internal node this
//! reader decodes are kept until `jmt` asks for them: `jmt` walks down from the root, and
//! reads a node's parent before the node.

use std::cell::RefCell;
use std::collections::HashMap;

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Version};

use super::batch_update::NodeSource;
use super::stored_node::{Leaf, StoredKey, TreeNode};

/// `jmt`'s view of the nodes in `S`. The tree holds values' hashes only: the one value a proof
/// needs is the row's own, handed in as `value`.
pub(crate) struct JmtReader<'a, S: ?Sized> {
    source: &'a S,
    value: Option<(KeyHash, Vec<u8>)>,
    leaves: RefCell<HashMap<StoredKey, Leaf>>,
}

impl<'a, S: NodeSource + ?Sized> JmtReader<'a, S> {
    /// A reader of `source`'s nodes, answering `value` for its key.
    pub(crate) fn new(source: &'a S, value: Option<(KeyHash, Vec<u8>)>) -> Self {
        JmtReader {
            source,
            value,
            leaves: RefCell::default(),
        }
    }
}

/// `jmt`'s `Node` for `node`.
fn to_jmt(node: &TreeNode) -> anyhow::Result<Node> {
    borsh::from_slice(&node.jmt_bytes())
        .map_err(|e| anyhow::anyhow!("a tree node does not convert: {e}"))
}

impl<S: NodeSource + ?Sized> TreeReader for JmtReader<'_, S> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let key = StoredKey::of_jmt(node_key);
        if let Some(leaf) = self.leaves.borrow().get(&key) {
            return to_jmt(&TreeNode::Leaf(*leaf)).map(Some);
        }
        let Some(node) = self.source.node(&key).map_err(|e| anyhow::anyhow!("{e}"))? else {
            return Ok(None);
        };
        if let TreeNode::Internal(internal) = &node {
            let mut leaves = self.leaves.borrow_mut();
            for (n, leaf) in &internal.leaves {
                let n = usize::from(*n);
                if let Some(child) = internal.children[n] {
                    leaves.insert(key.child(n, child.version), *leaf);
                }
            }
        }
        to_jmt(&node).map(Some)
    }

    fn get_value_option(
        &self,
        _max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self
            .value
            .as_ref()
            .filter(|(k, _)| *k == key_hash)
            .map(|(_, v)| v.clone()))
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        Ok(None)
    }
}
