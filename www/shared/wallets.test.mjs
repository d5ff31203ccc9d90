// Checks the page-side encodings of www/shared/wallets.js against the vectors made with each
// ecosystem's own library (protocol/tests/vectors/wallets.json). Run by relay/tests/www_wallets.rs:
//   node www/shared/wallets.test.mjs <path of wallets.json>
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";
import { base58, nep413Payload, nep413Blob, sameWallet, toHex } from "./wallets.js";

const vectors = JSON.parse(readFileSync(process.argv[2], "utf8"));
const fromHex = (h) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
let checked = 0;

for (const v of vectors.near) {
  assert.equal(`ed25519:${base58(fromHex(v.public_key_hex))}`, v.public_key, "NEAR key text");
  if (v.callback_url !== null || !v.blob) continue;
  const blob = fromHex(v.blob);
  const signature = blob.slice(blob.length - 64);
  const payload = nep413Payload(v.message, fromHex(v.nonce), v.recipient);
  assert.equal(toHex(nep413Blob(payload, signature)), v.blob, `NEP-413 blob of ${JSON.stringify(v.message)}`);
  checked++;
}
assert.ok(checked >= 1, "at least one NEP-413 blob was compared");

// Leading zero bytes are base58 "1"s, one each.
assert.equal(base58(new Uint8Array([0, 0, 1])), "112");
assert.equal(base58(new Uint8Array(32)), "1".repeat(32));
assert.ok(sameWallet("0xAbC0000000000000000000000000000000000001", "0xabc0000000000000000000000000000000000001"));
assert.ok(!sameWallet("GABC", "gabc"));
console.log(`wallets.js: ${checked} NEP-413 blobs and every key text match the vectors`);
