#!/usr/bin/env bash
# Screenshots of the app origin's pages (the dashboard: wallet list, the development wallet's
# confirmation, a new user, a user's data, the relay down; the demo issuer and the demo dapp up to
# "Verified") at a desktop (1280×800) and a phone
# (390×844) width, taken by the dashboard's browser test along its journey; then the enclave
# dialogs (scripts/dialog-screenshots.sh).
#
#   scripts/screenshots.sh [output dir]      (default: target/screenshots; not committed)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
out="${1:-${CARGO_TARGET_DIR:-$PWD/target}/screenshots}"
out="$(mkdir -p "$out" && cd "$out" && pwd)"
[ -f www/enclave/dist/index.html ] || trunk build
IDOS_SCREENSHOTS="$out" cargo test --quiet --workspace --test dashboard
IDOS_SCREENSHOTS="$out" cargo test --quiet --workspace --test demo_pages   # the demo issuer and dapp
scripts/dialog-screenshots.sh "$out/dialogs"
echo "screenshots in $out" >&2
