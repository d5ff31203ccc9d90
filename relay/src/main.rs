//! The `idos` binary: the relay server and the command-line tools.
#![forbid(unsafe_code)]

use std::process::ExitCode;

/// jemalloc, as RocksDB recommends: a node's blocks allocate and free many small maps, rows
/// and tree nodes, and RocksDB its memtables and write batches (it takes C's `malloc` too).
/// The node's benchmarks use the same allocator.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    relay::cli::main()
}
