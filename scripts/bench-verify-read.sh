#!/usr/bin/env bash
# Times the enclave's read verifier module in headless Chromium on real proven reads: the proofs
# bench builds a state tree of LEAVES leaves (default 10^6) and writes the requests a host hands
# `verifyRead` (a shared credential; a page of 20 grants), then `bench-verify-read` times the
# production `enclave-verifier` wasm on them over several page loads. Prints both benches' figures
# (the native ones come from the proofs bench, same reads).
#
#   scripts/bench-verify-read.sh          (LEAVES=1000000 LOADS=3 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
target="${CARGO_TARGET_DIR:-$PWD/target}"
leaves="${LEAVES:-1000000}"
requests="$target/bench-verify-read/requests"
rm -rf "$requests"
echo "bench: building the production enclave (trunk build)" >&2
trunk build >/dev/null 2>&1 || trunk build
echo "bench: the proofs bench at $leaves leaves (native figures, and the requests)" >&2
IDOS_BENCH_LEAVES="$leaves" IDOS_BENCH_VERIFY_REQUESTS="$requests" \
  cargo bench --quiet --workspace --bench proofs
# Built with the workspace's feature set (like the tests), so no dependency is rebuilt for it.
cargo build --quiet --workspace --bin bench-verify-read
"$target/debug/bench-verify-read" --dist "$PWD/www/enclave/dist" --requests "$requests" \
  --loads "${LOADS:-3}"
