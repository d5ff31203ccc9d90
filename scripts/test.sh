#!/usr/bin/env bash
# Runs every test of idOS-rs, after installing what is missing (scripts/setup.sh).
# Extra arguments are passed to the native `cargo test` run as a name filter, e.g.
#   scripts/test.sh kdf
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh

t0=$SECONDS
step() { echo "== [$((SECONDS - t0))s] $*" >&2; }

# A full build from nothing takes about 4 GB under target/; a disk that fills mid-run makes RocksDB
# fail a write inside some test, far from the cause. Say so up front.
target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target_dir"
free_gb=$(( $(df -Pk "$target_dir" | awk 'NR==2 {print $4}') / 1024 / 1024 ))
if [ "$free_gb" -lt 10 ]; then
  echo "warning: only ${free_gb} GB free where $target_dir lives; a build from nothing needs about 4 GB, a benchmark build more." >&2
  echo "         Free some space (e.g. cargo clean in other checkouts) if the run fails with I/O errors." >&2
fi

step "fetch crates";  cargo fetch --locked
step "format";        cargo fmt --all --check
step "build";         cargo build --workspace --all-targets --locked
step "lints";         cargo clippy --workspace --all-targets --locked -- -D warnings
step "lints (enclave and its read verifier, wasm32)"
cargo clippy -p enclave -p enclave-verifier --target wasm32-unknown-unknown --all-targets --locked -- -D warnings
step "docs";          RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
# The product without the test helpers (`node`'s `testing` feature is for tests only).
step "product build without test helpers"
cargo check --workspace --lib --bins --locked
# ---- enclave (issue 5): wasm build, in-browser wasm tests; the e2e browser tests need the build
# ---- and run with the native tests below (tests/tests/enclave.rs).
step "enclave: trunk build (www/enclave/dist)"
trunk build
step "enclave: wasm tests in headless Chromium"
CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-600}" \
  cargo test -p enclave --target wasm32-unknown-unknown --locked
# ---- end of the enclave section

step "native tests";  cargo test --workspace --locked -- "$@"
# Every page at a desktop and a phone width (the browser tests again, in screenshot mode; axe-core
# runs in them too): target/screenshots. Skipped when a name filter narrows the run.
if [ "$#" -eq 0 ]; then
  step "screenshots";  scripts/screenshots.sh
fi
step "protocol, the state model and the verifier for wasm32"
cargo build -p protocol -p idos-state -p idos-verify --target wasm32-unknown-unknown --locked
step "done"
