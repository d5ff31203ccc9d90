#!/usr/bin/env bash
# Mutation testing with cargo-mutants (installed here when missing): which small changes to the
# code do the tests fail to notice? Each missed mutant needs a test, or a line in
# mutants-accepted.txt saying why no test can tell it from the original (an equivalent mutant).
#
#   scripts/mutants.sh [protocol|node|all] [more cargo-mutants arguments]
#
# Not part of CI: on two cores the node part takes hours. Reports go to target/mutants/<part>/
# mutants.out (missed.txt, caught.txt, timeout.txt, unviable.txt). Each mutant is built in a copy
# of the tree, so the working tree stays free to edit meanwhile. MUTANTS_JOBS sets the number of
# parallel builds (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-mutants >/dev/null 2>&1; then
  cargo install cargo-mutants --locked || cargo install cargo-mutants
fi

part=${1:-all}
shift || true
# Without debug info builds and links are faster; it only affects the copies cargo-mutants
# builds in.
export CARGO_PROFILE_DEV_DEBUG=0
common=(--test-workspace=false --jobs "${MUTANTS_JOBS:-1}")
mkdir -p target/mutants/protocol target/mutants/node

# The protocol modules whose every behaviour its own tests must pin (the wire formats, the
# signature schemes and the cryptography); the rest of protocol/src is types, error texts and
# re-exports.
protocol_files=(tx query codec nacl_box kdf grant credential wallet identity time siwe)

run_protocol() {
  local files=()
  for f in "${protocol_files[@]}"; do files+=(--file "protocol/src/$f.rs"); done
  cargo mutants "${common[@]}" --package protocol "${files[@]}" \
    --output target/mutants/protocol "$@"
}

run_node() {
  cargo mutants "${common[@]}" --package node --file 'node/src/state/*.rs' \
    --output target/mutants/node "$@"
}

status=0
case "$part" in
  protocol) run_protocol "$@" || status=$? ;;
  node) run_node "$@" || status=$? ;;
  all)
    run_protocol "$@" || status=$?
    run_node "$@" || status=$?
    ;;
  *)
    echo "usage: scripts/mutants.sh [protocol|node|all] [cargo-mutants arguments]" >&2
    exit 2
    ;;
esac
# cargo-mutants exits 2 when mutants were missed, 3 on timeouts: say where to look.
if [ "$status" -ne 0 ]; then
  echo "missed or timed-out mutants: see target/mutants/*/mutants.out/{missed,timeout}.txt" >&2
fi
exit "$status"
