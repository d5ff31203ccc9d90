//! Which nodes a version stores as delta rows, and what that does to the stale index.
//!
//! A block changes a few of an upper node's 16 children, yet a whole row would write all 16
//! again: the upper levels were most of the bytes a block's tree wrote. So an internal node at
//! depth 1 to [`DEEPEST`] (the depths the node cache keeps, so the update seldom reads their
//! rows) that replaces a node on the same path is stored as a delta row on the whole row of an
//! earlier version of that path (its base), holding the children that may differ from the
//! base's, while they are at most half its children; past that it is stored whole and becomes
//! the base of the next. Which children may differ is known without the base: those that did
//! in the node it replaces, and those that changed since (a child that changed back is written
//! needlessly, never left out). Every delta row names its base, a whole row: reading a node
//! costs at most two rows. Roots are always whole: pruning deletes each version's root by its
//! version, not through the stale index.
//!
//! A base stays while a row on it may be read. A row replaced by a delta row on it is not
//! stale; a delta row replaced by another is stale at once; the base becomes stale with the
//! first version whose node on its path is not on it (a whole row, or no node), which no
//! earlier version reads. So a version the node retains never loses the base of a row it
//! reads, and pruning still deletes every row by the version it became stale at.

use std::sync::Arc;

use super::batch_update::Replaced;
use super::stored_node::{OnBase, StoredKey, TreeNode};

/// The deepest nodes stored as delta rows: depth 1 to 3, 4,368 nodes, all full from 10^4 keys
/// on, where the bytes were. With depth 4 too (`cargo bench --workspace --bench tree_update`,
/// three paired runs) the tree wrote 225 bytes per changed leaf instead of 286, but its update
/// took about 0.4 µs more per leaf and the commit saved about 0.25: no CPU gained.
const DEEPEST: usize = 3;

/// Whether a node under `key` may be stored as a delta row.
fn takes_delta_rows(key: &StoredKey) -> bool {
    (1..=DEEPEST).contains(&key.depth())
}

/// Gives each node of `written` that is better stored as a delta row its base, and corrects
/// `stale` (the rows the version replaced; `replaced`, the internal nodes among them) to
/// match: bases still in use leave it, bases no longer in use join it.
pub(crate) fn choose(
    written: &mut [(StoredKey, TreeNode)],
    stale: &mut Vec<StoredKey>,
    replaced: &[Replaced],
) {
    let mut still_used = Vec::new();
    let mut bases_done_with = Vec::new();
    for replaced in replaced {
        let old_key = stale[replaced.stale];
        if !takes_delta_rows(&old_key) {
            continue;
        }
        let old = &replaced.node;
        let new = replaced.by.and_then(|i| match &mut written[i].1 {
            TreeNode::Internal(internal) => Some(internal),
            _ => None,
        });
        let Some(internal) = new else {
            // No internal node on the path any more: a delta row's base goes with it.
            if let Some(base) = old.base {
                bases_done_with.push(old_key.at_version(base.version));
            }
            continue;
        };
        // The base, and the children that may differ from its: those that did when the old
        // node was stored, and those that changed since.
        let changed = internal.differing_from(old);
        let base = match old.base {
            None => OnBase {
                version: old_key.version(),
                differing: changed,
            },
            Some(on) => OnBase {
                version: on.version,
                differing: on.differing | changed,
            },
        };
        let (exists, _) = internal.bitmaps();
        let differing = base.differing & exists;
        if differing.count_ones() as usize * 2 <= internal.child_count() {
            if base.version == old_key.version() {
                still_used.push(replaced.stale);
            }
            Arc::make_mut(internal).base = Some(OnBase {
                version: base.version,
                differing,
            });
        } else if base.version != old_key.version() {
            bases_done_with.push(old_key.at_version(base.version));
        }
    }
    // `still_used` is in increasing order: the entries of `stale` to take out.
    if !still_used.is_empty() {
        let mut next = still_used.iter().peekable();
        let mut at = 0;
        stale.retain(|_| {
            let keep = next.next_if_eq(&&at).is_none();
            at += 1;
            keep
        });
    }
    stale.extend(bases_done_with);
}
