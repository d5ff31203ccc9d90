//! Durability beyond a process crash: a committed block is fsynced before the commit returns.
//!
//! Killing the process (`relay/tests/node_crash.rs`) cannot show this: the operating system's
//! page cache survives a process crash, so unsynced writes survive it too. Here RocksDB's own
//! statistics count the fsyncs of its write-ahead log (the `rocksdb.wal.synced` ticker), so a
//! commit path that stops syncing fails.

use node::app::{App, AppConfig, Genesis};
use node::run::{NodeConfig, open_app};
use node::store::{Changes, Store};
use protocol::identity::SigningKey;
use tempfile::TempDir;

const WAL_SYNCED: &str = "rocksdb.wal.synced";

fn app_over(store: std::sync::Arc<Store>) -> App {
    let app = App::open(store, AppConfig::default()).unwrap();
    app.init_chain(Genesis {
        chain_id: "idos-test".into(),
        owner: SigningKey::generate_ed25519().identity(),
    })
    .unwrap();
    app
}

/// Commits `blocks` empty blocks through `App::commit` (the one commit path of both the ABCI
/// server and the embedded chain), and returns how many times the write-ahead log was fsynced
/// meanwhile.
fn wal_syncs_over_blocks(store: &std::sync::Arc<Store>, blocks: u64) -> u64 {
    let app = app_over(store.clone());
    let before = store.ticker(WAL_SYNCED).expect("statistics are on");
    for height in 1..=blocks {
        app.finalize_block(height, 1_750_000_000 + height as i64, &[] as &[Vec<u8>])
            .unwrap();
        app.commit(Changes::default()).unwrap();
    }
    store.ticker(WAL_SYNCED).unwrap() - before
}

#[test]
fn every_committed_block_is_fsynced_before_commit_returns() {
    let dir = TempDir::new().unwrap();
    let store = Store::open_with_statistics(dir.path(), true).unwrap();
    assert_eq!(wal_syncs_over_blocks(&store, 4), 4);
}

/// The counter the test above relies on does count fsyncs: without them it stays still.
#[test]
fn without_sync_writes_no_block_is_fsynced() {
    let dir = TempDir::new().unwrap();
    let store = Store::open_with_statistics(dir.path(), false).unwrap();
    assert_eq!(wal_syncs_over_blocks(&store, 4), 0);
}

/// `idos node` opens its store with fsync on unless the configuration turns it off.
#[test]
fn a_node_fsyncs_unless_configured_otherwise() {
    let dir = TempDir::new().unwrap();
    let default = open_app(dir.path(), &NodeConfig::default()).unwrap();
    assert!(default.store().syncs_writes());
    drop(default);
    let off: NodeConfig = toml::from_str("sync_writes = false").unwrap();
    let other = TempDir::new().unwrap();
    assert!(!open_app(other.path(), &off).unwrap().store().syncs_writes());
}
