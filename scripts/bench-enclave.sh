#!/usr/bin/env bash
# Benchmarks the enclave's wasm against the JavaScript libraries idOS's enclave uses, in the same
# headless Chromium page, and against native Rust, all in one run; prints JSON:
#   - scrypt N=2^14: enclave wasm vs scrypt-js vs native (goal: wasm within 1.2x of native);
#   - 1 KiB box open: enclave wasm vs tweetnacl vs native (goal: wasm >= 5x tweetnacl);
#   - the production wasm's size, raw and gzip -9 (goal: < 160 KB gzipped).
# Browser figures: the median over RUNS page loads (default 3) with min and max; native figures:
# criterion's median; RUNS of each, alternating.
#
#   scripts/bench-enclave.sh [--write-readme]    (--write-readme: put the figures in README.md)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
tools="${IDOS_TOOLS_DIR:-$HOME/.cache/idos-tools}"
bench="${IDOS_BENCH_DIR:-$HOME/.cache/idos-bench}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
runs="${RUNS:-3}"
readme=()
[ "${1:-}" = "--write-readme" ] && readme=(--write-readme "$PWD/README.md")

# The JavaScript baselines, installed here only (versions idOS's enclave pins).
if [ ! -f "$bench/node_modules/scrypt-js/scrypt.js" ] || [ ! -f "$bench/node_modules/tweetnacl/nacl-fast.js" ]; then
  echo "bench: installing scrypt-js@3.0.1 and tweetnacl@1.0.3 into $bench" >&2
  npm install --prefix "$bench" --no-audit --no-fund --silent scrypt-js@3.0.1 tweetnacl@1.0.3 >/dev/null
fi
echo "bench: building the production enclave and a build with the bench exports (trunk build)" >&2
trunk build >/dev/null 2>&1 || trunk build
bench_dist="$target/bench-enclave/dist"
trunk build --features bench --dist "$bench_dist" >/dev/null 2>&1 || trunk build --features bench --dist "$bench_dist"

# Browser and native runs alternate, so that load from other processes hits both alike.
report=(--prod-dist "$PWD/www/enclave/dist")
# Built with the workspace's feature set (like the tests), so no dependency is rebuilt for it.
cargo build --quiet --workspace --bin bench-enclave
bin="$target/debug/bench-enclave"
for run in $(seq "$runs"); do
  echo "bench: run $run of $runs: native scrypt and box open (cargo bench -p protocol)" >&2
  cargo bench --quiet --workspace --bench crypto -- 'kdf/|box/open/1024' >/dev/null 2>&1
  dir="$target/bench-enclave/native-$run"
  mkdir -p "$dir"
  cp "$target"/criterion/kdf/scrypt*/new/estimates.json "$dir/kdf.json"
  cp "$target/criterion/box/open/1024/new/estimates.json" "$dir/box_open_1024.json"
  echo "bench: run $run of $runs: the enclave's wasm, scrypt-js and tweetnacl in Chromium" >&2
  "$bin" measure --bench-dist "$bench_dist" \
    --npm "$bench/node_modules" --out "$target/bench-enclave/browser-$run.json"
  report+=(--native "$dir" --run "$target/bench-enclave/browser-$run.json")
done
"$bin" report "${report[@]}" "${readme[@]}"
