#!/bin/sh
# Trunk post-build hook (see Trunk.toml): replaces the `<!-- enclave-boot -->` marker of the
# enclave's two pages with a loader that pins the wasm-bindgen glue, its JS snippets and the wasm
# by SHA-384:
#   <script type="importmap">{"integrity": {"/enclave.js": "sha384-…", "/snippets/…": …}}</script>
#   <script type="module">import init from "/enclave.js";
#     window.idosVerify = (params, now) => (import("/enclave-verifier.js") and its init with
#       fetch("/enclave-verifier_bg.wasm", {integrity: "sha384-…"}), once; then its verify);
#     await init({module_or_path: fetch("/enclave_bg.wasm", {integrity: "sha384-…"})});</script>
# The read verifier (enclave-verifier.js and its wasm) is pinned the same way but loaded only when
# the enclave first verifies a read: its glue through the import map (which also covers dynamic
# imports), its wasm by the hash written into `window.idosVerify`.
# The enclave server hashes these inline scripts into each page's CSP.
set -eu
dir="${TRUNK_STAGING_DIR:?this script runs as a trunk post_build hook}"
command -v openssl >/dev/null || { echo "pin-enclave-assets: openssl is needed" >&2; exit 1; }
sri() { printf 'sha384-%s' "$(openssl dgst -sha384 -binary "$1" | base64 -w0)"; }
modules="\"/enclave.js\":\"$(sri "$dir/enclave.js")\",\"/enclave-verifier.js\":\"$(sri "$dir/enclave-verifier.js")\""
for snippet in $(cd "$dir" && find snippets -name '*.js' 2>/dev/null | sort); do
  modules="$modules,\"/$snippet\":\"$(sri "$dir/$snippet")\""
done
wasm=$(sri "$dir/enclave_bg.wasm")
verifier=$(sri "$dir/enclave-verifier_bg.wasm")
# One load at a time; a failed load may be retried. `window.idosVerify(params, now)` hands the
# read's entries over apart from the rest of the parameters (JSON text), and parses the answer.
load_verifier="let verifier; const loadVerifier = () => verifier ??= import(\"/enclave-verifier.js\").then(async (m) => { await m.default({module_or_path: fetch(\"/enclave-verifier_bg.wasm\", {integrity: \"$verifier\"})}); return m; }).catch((e) => { verifier = undefined; throw e; }); window.idosVerify = async (params, now) => { const m = await loadVerifier(); const read = params.read; const rest = read !== null \&\& typeof read === \"object\" ? { ...params, read: { ...read, entries: [] } } : params; return JSON.parse(m.verify(JSON.stringify(rest), read?.entries, now)); };"
loader="<script type=\"importmap\">{\"integrity\":{$modules}}</script><script type=\"module\">import init from \"/enclave.js\"; $load_verifier await init({module_or_path: fetch(\"/enclave_bg.wasm\", {integrity: \"$wasm\"})});</script>"
for page in index.html dialog.html; do
  file="$dir/$page"
  if [ "$(grep -c '<!-- enclave-boot -->' "$file")" != 1 ]; then
    echo "pin-enclave-assets: $page must contain exactly one <!-- enclave-boot --> marker" >&2
    exit 1
  fi
  sed -i "s|<!-- enclave-boot -->|$loader|" "$file"
  # Trunk leaves its own link element in place when it injects nothing.
  sed -i '/<link data-trunk/d' "$file"
done
