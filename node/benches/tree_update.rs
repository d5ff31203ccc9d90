//! What the state tree costs a block, per leaf it changes, with nothing else in the way: the
//! tree's update (`state_tree::update`, through the node's cache of upper levels), and the
//! commit of its rows with the block's pruning (`state_tree::prune`, `Store::commit`,
//! `NodeCache::committed`), as `App` does them. Run:
//! `cargo bench --workspace --bench tree_update` (`-- --quick` for a tree of 10^4 leaves).
//!
//! The tree first holds 10^5 rows (the node bench's full size ends near there), then takes
//! blocks of 9,000 changed rows each (what a block of 1,000 shares changes), two in three new
//! rows and one in three an existing row rewritten, with 100 versions retained (the default),
//! so every block also prunes what the block 100 versions earlier left stale: 5 blocks to warm
//! up, 20 measured (`IDOS_BENCH_TREE="leaves,leaves per block,warm-up blocks,measured blocks"`
//! for other sizes). The store does not fsync (fsync is waiting, not CPU). Printed (JSON): the
//! calling thread's CPU time per changed leaf for the update and for the commit, means over the
//! measured blocks, with their medians and 10th and 90th percentiles; RocksDB's background CPU
//! (flushes, compactions) per changed leaf over the whole measured stretch, until idle; the
//! bytes the tree adds to a block's write batch, and the tree entries read from the store, per
//! changed leaf.

/// The allocator the `idos` binary runs the node with.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod support;

use support::settle;

use node::state_tree;
use node::store::{Changes, Store, Table, Write};

const RETENTION: u64 = 100;

fn sha(seed: u64) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(seed.to_be_bytes()).into()
}

fn thread_cpu_seconds() -> f64 {
    support::thread_cpu_seconds().expect("Linux's /proc/thread-self/schedstat")
}

fn process_cpu_seconds() -> f64 {
    support::process_cpu_seconds().expect("Linux's /proc/self/stat")
}

/// The mean (what the figures compare: the kernel counts a thread's CPU time in ticks of a few
/// milliseconds, a large step for one block), with the median and the 10th and 90th
/// percentiles of the blocks.
fn percentiles(values: &mut [f64]) -> serde_json::Value {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    values.sort_by(f64::total_cmp);
    let round = |v: f64| (v * 100.0).round() / 100.0;
    let at = |q: f64| round(values[((values.len() - 1) as f64 * q).round() as usize]);
    serde_json::json!({ "mean": round(mean), "median": at(0.5), "p10": at(0.1), "p90": at(0.9) })
}

/// The node's tree path for one block: update, then prune and commit with the rows.
struct Tree {
    store: std::sync::Arc<Store>,
    cache: state_tree::NodeCache,
    version: u64,
    prune_from: Vec<u8>,
}

impl Tree {
    /// Returns (update CPU seconds, commit CPU seconds, tree bytes in the write batch).
    fn block(&mut self, mut block: Changes) -> (f64, f64, usize) {
        self.version += 1;
        let t = thread_cpu_seconds();
        let update = state_tree::update(&*self.store, &self.cache, self.version, &block).unwrap();
        let tree_bytes: usize = update
            .changes
            .iter()
            .map(|(_, k, v)| k.len() + v.map_or(0, <[u8]>::len))
            .sum();
        block.absorb(update.changes);
        let updated = thread_cpu_seconds();
        let pruning =
            state_tree::prune(&*self.store, self.version, RETENTION, &self.prune_from).unwrap();
        block.absorb(pruning.changes);
        self.store.commit(&block).unwrap();
        self.prune_from = pruning.next_from;
        self.cache.committed(update.cache);
        drop(block);
        let committed = thread_cpu_seconds();
        (updated - t, committed - updated, tree_bytes)
    }
}

/// One measured block: its own function, so that an instruction count can take these blocks
/// alone (`valgrind --tool=callgrind --toggle-collect='*measured_block*' …`, which does not
/// depend on the host's speed of the moment).
#[inline(never)]
fn measured_block(tree: &mut Tree, block: Changes) -> (f64, f64, usize) {
    tree.block(block)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // IDOS_BENCH_TREE="leaves,leaves per block,warm-up blocks,measured blocks" for other sizes
    // (an instruction count under valgrind wants few blocks).
    let sizes: Option<Vec<u64>> = std::env::var("IDOS_BENCH_TREE").ok().map(|v| {
        v.split(',')
            .map(|n| n.trim().parse().expect("a number"))
            .collect()
    });
    let (leaves, block_leaves, warm_blocks, measured_blocks) = match sizes.as_deref() {
        Some(&[leaves, block, warm, measured]) => (leaves, block, warm, measured as usize),
        Some(_) => panic!("IDOS_BENCH_TREE takes four numbers"),
        None if quick => (10_000, 900, 5, 20),
        None => (100_000, 9_000, 5, 20),
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), false).unwrap();
    let genesis = state_tree::genesis(&*store, b"bench genesis").unwrap();
    store.commit(&genesis.changes).unwrap();
    let mut tree = Tree {
        store,
        cache: state_tree::NodeCache::new(state_tree::NODE_CACHE_BYTES),
        version: 0,
        prune_from: Vec::new(),
    };
    let row = |i: u64| {
        (
            sha(i)[..16].to_vec(),
            [sha(i), sha(i + 1), sha(i + 2)].concat(),
        )
    };
    let mut rows = 0u64;
    let next_block = |rows: &mut u64, n: u64| {
        let mut block = Changes::default();
        let existing = *rows;
        for j in 0..n {
            if j % 3 == 2 && existing > 0 {
                // An existing row rewritten (a list's chunk, a counter).
                let (key, _) = row(sha(*rows + j)[0] as u64 * 7919 % existing);
                block.put(Table::Users, key, sha(*rows + j + 1).to_vec());
            } else {
                let (key, value) = row(*rows);
                block.put(Table::Users, key, value);
                *rows += 1;
            }
        }
        block
    };
    while rows < leaves {
        let n = (leaves - rows).min(50_000);
        let block = next_block(&mut rows, n);
        tree.block(block);
    }
    for _ in 0..warm_blocks {
        let block = next_block(&mut rows, block_leaves);
        tree.block(block);
    }
    tree.store.flush().unwrap();
    settle();
    let nodes_read_before = tree.store.tree_nodes_read();
    let process_before = process_cpu_seconds();
    let thread_before = thread_cpu_seconds();
    let (mut update, mut commit, mut bytes) = (vec![], vec![], vec![]);
    let per_leaf = |seconds: f64| seconds * 1e6 / block_leaves as f64;
    for _ in 0..measured_blocks {
        let block = next_block(&mut rows, block_leaves);
        let (u, c, b) = measured_block(&mut tree, block);
        update.push(per_leaf(u));
        commit.push(per_leaf(c));
        bytes.push(b as f64 / block_leaves as f64);
    }
    let thread = thread_cpu_seconds() - thread_before;
    let nodes_read = tree.store.tree_nodes_read() - nodes_read_before;
    tree.store.flush().unwrap();
    settle();
    // Building the blocks' rows is counted in `thread` too: it is not the tree's work, but
    // it is small and the same for every variant measured.
    let background = process_cpu_seconds() - process_before - thread;
    let report = serde_json::json!({
        "leaves_before": leaves,
        "leaves_changed_per_block": block_leaves,
        "measured_blocks": measured_blocks,
        "update_us_per_leaf": percentiles(&mut update),
        "commit_us_per_leaf": percentiles(&mut commit),
        "background_us_per_leaf": (per_leaf(background) / measured_blocks as f64 * 100.0).round() / 100.0,
        "tree_bytes_per_leaf": percentiles(&mut bytes),
        "tree_entries_read_per_leaf": nodes_read as f64 / (measured_blocks as u64 * block_leaves) as f64,
        "rows_at_end": rows,
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
