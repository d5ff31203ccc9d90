#!/usr/bin/env bash
# Benchmarks the enclave's wasm against the JavaScript libraries idOS's enclave uses, in the same
# headless Chromium page, and prints JSON: scrypt N=2^14 vs scrypt-js, 1 KiB box open vs
# tweetnacl, and the wasm's size (raw and gzip -9). Goals: >= 4x faster each, <= 200 KB gzipped.
#
#   scripts/bench-enclave.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tools="${IDOS_TOOLS_DIR:-$HOME/.cache/idos-tools}"
bench="${IDOS_BENCH_DIR:-$HOME/.cache/idos-bench}"
export PATH="$tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# The JavaScript baselines, installed here only (versions idOS's enclave pins).
if [ ! -f "$bench/node_modules/scrypt-js/scrypt.js" ] || [ ! -f "$bench/node_modules/tweetnacl/nacl-fast.js" ]; then
  echo "bench: installing scrypt-js@3.0.1 and tweetnacl@1.0.3 into $bench" >&2
  npm install --prefix "$bench" --no-audit --no-fund --silent scrypt-js@3.0.1 tweetnacl@1.0.3 >/dev/null
fi
echo "bench: building the enclave (trunk build)" >&2
trunk build >/dev/null 2>&1 || trunk build
cargo run --quiet -p e2e --bin bench-enclave -- "$PWD/www/enclave/dist" "$bench/node_modules"
