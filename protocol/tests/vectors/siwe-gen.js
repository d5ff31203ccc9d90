// Generates siwe.json: EIP-4361 messages written by the JavaScript `siwe` library and signed
// with `ethers` (EIP-191 personal_sign), for protocol/tests/siwe_vectors.rs.
//
// Regenerate (from the repository root):
//   npm install --prefix ~/.cache/idos-tools siwe@3.0.0 ethers@6.17.0
//   NODE_PATH=~/.cache/idos-tools/node_modules node protocol/tests/vectors/siwe-gen.js \
//     > protocol/tests/vectors/siwe.json
'use strict';
const { SiweMessage } = require('siwe');
const { Wallet } = require('ethers');

// Fixed test keys (never use them for anything else).
const alice = new Wallet('0x' + '11'.repeat(32));
const bob = new Wallet('0x' + '22'.repeat(32));

const cases = [
  {
    name: 'domain_form_minimal_millis',
    signer: alice,
    fields: {
      domain: 'relay.example.com',
      address: alice.address,
      uri: 'https://relay.example.com',
      version: '1',
      chainId: 1,
      nonce: 'n0nce0000000000000000001',
      issuedAt: '2026-12-01T12:00:00.123Z',
    },
  },
  {
    name: 'scheme_form_every_field',
    signer: alice,
    fields: {
      scheme: 'https',
      domain: 'dapp.example.org',
      address: alice.address,
      statement: 'Sign in to idOS. Terms: https://dapp.example.org/tos?v=2#top',
      uri: 'https://dapp.example.org/login?next=/vault',
      version: '1',
      chainId: 1,
      nonce: 'ABCDEFGHJKLMNPQRSTUVWXYZ',
      issuedAt: '2026-12-01T12:00:00.000Z',
      expirationTime: '2026-12-01T12:10:00.5Z',
      notBefore: '2026-12-01T11:59:59Z',
      requestId: 'req-42:a@b',
      resources: ['ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/', 'https://example.com/my-web2-claim.json'],
    },
  },
  {
    name: 'scheme_form_loopback_port_offsets',
    signer: bob,
    fields: {
      scheme: 'http',
      domain: 'localhost:8080',
      address: bob.address,
      statement: 'Sign in with your wallet',
      uri: 'http://localhost:8080',
      version: '1',
      chainId: 137,
      nonce: 'k3yXq9P0aa11bb22',
      issuedAt: '2026-12-01T14:00:00.123+02:00',
      expirationTime: '2026-12-01T07:30:00.999-05:00',
    },
  },
  {
    name: 'domain_form_port_statement',
    signer: bob,
    fields: {
      domain: 'localhost:8080',
      address: bob.address,
      statement: 'I accept the terms.',
      uri: 'http://localhost:8080/',
      version: '1',
      chainId: 11155111,
      nonce: '12345678',
      issuedAt: '2026-12-01T12:00:00Z',
      resources: [],
    },
  },
];

(async () => {
  const out = [];
  for (const c of cases) {
    const message = new SiweMessage(c.fields).prepareMessage();
    const signature = await c.signer.signMessage(message);
    // The library itself must accept what it wrote (its own parser and verifier).
    const parsed = new SiweMessage(message);
    const check = await parsed.verify({ signature, time: '2026-12-01T12:05:00.000Z' }, { suppressExceptions: true });
    if (!check.success) throw new Error(`${c.name}: siwe refused its own message: ${JSON.stringify(check.error)}`);
    const wrong = await (c.signer === alice ? bob : alice).signMessage(message);
    out.push({
      name: c.name,
      message,
      signature,
      signature_by_other_key: wrong,
      address: c.signer.address,
      fields: parsed,
      // Unix milliseconds of each timestamp, as JavaScript's Date reads them.
      unix_ms: Object.fromEntries(['issuedAt', 'expirationTime', 'notBefore']
        .filter((k) => parsed[k] !== undefined).map((k) => [k, Date.parse(parsed[k])])),
    });
  }
  process.stdout.write(JSON.stringify({
    generator: 'protocol/tests/vectors/siwe-gen.js (siwe 3.0.0, ethers 6.17.0)',
    cases: out,
  }, null, 2) + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
