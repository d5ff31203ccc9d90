#!/usr/bin/env bash
# Installs what building and testing idOS-rs needs, skipping whatever is already present.
# Safe to run again. Debian/Ubuntu; uses sudo when not root.
#
#   scripts/setup.sh            everything (build, web assets, browser tests)
#   scripts/setup.sh --no-browser   skip Chromium (enough to run the product)
set -euo pipefail

browser=1
for arg in "$@"; do
  case "$arg" in
    --no-browser) browser=0 ;;
    *) echo "usage: scripts/setup.sh [--no-browser]" >&2; exit 2 ;;
  esac
done

say() { echo "setup: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Versions verified on rustc 1.95 (see ARCHITECTURE.md, "Toolchain").
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen crate version in Cargo.lock
TRUNK_VERSION=0.21.14          # trunk 0.22 needs rustc >= 1.96.1
BINARYEN_VERSION=132           # Debian's wasm-opt 108 silently corrupts wasm-bindgen output
TWEETNACL_VERSION=1.0.3        # the version idOS's clients use
AXE_CORE_VERSION=4.11.1         # the accessibility checker tests/src/kit.rs::assert_accessible injects
# The wallet libraries whose signatures protocol/tests/wallet_vectors.rs checks (known answers).
NEAR_CRYPTO_VERSION=2.5.1       # @near-js/crypto
BORSH_JS_VERSION=2.0.0          # borsh (JavaScript), NEP-413 payloads
RIPPLE_KEYPAIRS_VERSION=3.1.0   # ripple-keypairs
STELLAR_BASE_VERSION=15.0.0     # @stellar/stellar-base
OPENAPI_VALIDATOR_VERSION=0.9.0  # validates the relay's OpenAPI 3.1 document

# 1. System packages: RocksDB (linked, not compiled: 14 s instead of 15 min), libclang for
#    its bindings, openssl (the enclave build pins its assets by SHA-384), Chromium +
#    ChromeDriver for browser tests.
packages=(librocksdb-dev libclang-dev pkg-config openssl)
# python3-venv: openapi-spec-validator (step 4) goes into a virtual environment.
command -v openapi-spec-validator >/dev/null 2>&1 || packages+=(python3-venv)
[ "$browser" = 1 ] && packages+=(chromium chromium-driver)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. Rust: the wasm target and the two cargo-installed tools.
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo is missing; install Rust with rustup (https://rustup.rs) and run again" >&2
  exit 1
fi
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown >/dev/null
fi
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2.5 minutes)"
  # Not --locked: its lockfile pins a webpki-roots release some registry mirrors lack.
  cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
if ! trunk --version 2>/dev/null | grep -qx "trunk $TRUNK_VERSION"; then
  say "installing trunk $TRUNK_VERSION (about 7 minutes)"
  cargo install --quiet trunk --version "$TRUNK_VERSION" --locked
fi

# 3. From npm, kept out of the system paths: wasm-opt (binaryen), and tweetnacl, the library
#    idOS's clients encrypt and sign with, which protocol/tests/js_interop.rs runs under Node.js
#    to open and verify what this project writes; axe-core, the accessibility check the browser
#    tests run on every page (tests/src/kit.rs::assert_accessible); the NEAR, XRPL and Stellar
#    libraries that protocol/tests/wallet_vectors.rs makes known answers with.
tools="${IDOS_TOOLS_DIR:-$HOME/.cache/idos-tools}"
npm_packages=()
[ -x "$tools/node_modules/.bin/wasm-opt" ] || npm_packages+=("binaryen@$BINARYEN_VERSION")
[ -f "$tools/node_modules/tweetnacl/nacl-fast.js" ] || npm_packages+=("tweetnacl@$TWEETNACL_VERSION")
grep -qs "\"version\": \"$AXE_CORE_VERSION\"" "$tools/node_modules/axe-core/package.json" \
  || npm_packages+=("axe-core@$AXE_CORE_VERSION")
for package in "@near-js/crypto@$NEAR_CRYPTO_VERSION" "borsh@$BORSH_JS_VERSION" \
    "ripple-keypairs@$RIPPLE_KEYPAIRS_VERSION" "@stellar/stellar-base@$STELLAR_BASE_VERSION"; do
  grep -qs "\"version\": \"${package##*@}\"" "$tools/node_modules/${package%@*}/package.json" \
    || npm_packages+=("$package")
done
if [ ${#npm_packages[@]} -gt 0 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    say "installing nodejs and npm"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y -qq nodejs npm >/dev/null
  fi
  say "installing ${npm_packages[*]} into $tools"
  npm install --prefix "$tools" --no-audit --no-fund --silent "${npm_packages[@]}" >/dev/null
fi

# 4. From PyPI, kept out of the system paths: openapi-spec-validator, which relay/tests/api.rs
#    runs over the relay's OpenAPI document.
if ! command -v openapi-spec-validator >/dev/null 2>&1 \
    && [ ! -x "$tools/venv/bin/openapi-spec-validator" ]; then
  say "installing openapi-spec-validator $OPENAPI_VALIDATOR_VERSION into $tools/venv"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION"
fi
