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

step "fetch crates";  cargo fetch --locked
step "build";         cargo build --workspace --all-targets --locked
step "native tests";  cargo test --workspace --locked -- "$@"
step "protocol for wasm32"
cargo build -p protocol --target wasm32-unknown-unknown --locked
step "done"
