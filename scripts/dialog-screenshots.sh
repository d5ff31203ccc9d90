#!/usr/bin/env bash
# Screenshots of every enclave dialog mode (create, unlock, allow, change, release, share, view,
# filter, backup) at a phone (390 px) and a desktop (1280 px) width, in headless Chromium.
#
#   scripts/dialog-screenshots.sh [output dir]      (default: target/dialog-screenshots)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
out="${1:-${CARGO_TARGET_DIR:-$PWD/target}/dialog-screenshots}"
[ -f www/enclave/dist/index.html ] || trunk build
cargo build --quiet --workspace --bin dialog-screenshots
"${CARGO_TARGET_DIR:-$PWD/target}/debug/dialog-screenshots" "$out"
echo "screenshots in $out" >&2
