//! The idOS storage node: the state machine over RocksDB, served as an ABCI 0.38 application for
//! CometBFT validators or as an embedded single-validator chain with a CometBFT-compatible RPC.
//!
//! - [`store`]: column families, the layered write overlay, atomic commits;
//! - [`state`]: what each action checks and changes, and what each read returns;
//! - [`app`]: the ABCI lifecycle (check, finalize, commit, query, info) over the store;
//! - [`abci`]: the ABCI socket server for real CometBFT;
//! - [`chain`]: the embedded block producer and its JSON-RPC.
#![forbid(unsafe_code)]

pub mod abci;
pub mod app;
pub mod chain;
pub mod error;
pub mod keyfile;
pub mod light_block;
pub mod rpc;
pub mod run;
pub mod state;
pub mod state_tree;
pub mod store;
/// Builders for tests and benchmarks: compiled only with the `testing` feature, which the
/// node's own tests and benches (and other crates' tests) turn on; the `idos` binary never has
/// it.
#[cfg(feature = "testing")]
pub mod testkit;
pub mod verified;
