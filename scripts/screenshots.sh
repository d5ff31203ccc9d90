#!/usr/bin/env bash
# Screenshots of the app origin's pages (the dashboard: wallet list, the development wallet's
# confirmation, a new user, a user's data, the relay down; the demo issuer and the demo dapp up to
# "Verified") at a desktop (1280×800) and a phone
# (390×844) width, taken by the dashboard's browser test along its journey; the whole journey
# against a real `idos serve` (journey-*.png: the enclave's consent dialog on the dapp, the dapp's
# "Verified", the dashboard with the shared grant and the access log, after the export and after the
# password change); then the enclave dialogs (scripts/dialog-screenshots.sh).
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
cargo build --quiet --workspace --all-targets   # the journey runs the built `idos` binary
IDOS_SCREENSHOTS="$out" cargo test --quiet --workspace --test journey   # the journey, journey-*.png
scripts/dialog-screenshots.sh "$out/dialogs"
echo "screenshots in $out" >&2
