//! The state model of idOS-rs, without I/O: the node's tables and keys (`table`), its stored
//! rows (`rows`), the lists kept as directories (`directory`), the lookups and index
//! maintenance transactions and reads share (`access`), every read (`read`), and what a
//! client needs to check a read against an app hash (`proof`).
//!
//! The node runs these over RocksDB; a client (the Rust client library, the enclave in wasm32)
//! runs the same reads over the entries a node proved, so it computes the answer itself
//! instead of trusting whoever relayed it. Nothing here touches a file, a socket or a clock.

#![forbid(unsafe_code)]

pub mod access;
pub mod directory;
pub mod error;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod proof;
pub mod read;
pub mod rows;
pub mod table;
