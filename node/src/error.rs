//! The node's errors: [`NodeError`] lives in the I/O-free `idos-state` crate, whose reads
//! return it too; what only the node needs (RocksDB's errors) is here.

pub use idos_state::error::*;

/// A RocksDB failure as a [`NodeError`] (for `map_err`).
pub fn database(e: rocksdb::Error) -> NodeError {
    NodeError::Database(e.into_string())
}
