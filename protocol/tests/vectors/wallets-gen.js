// Known answers for the wallet signature schemes idOS supports beside EVM, made with each
// ecosystem's own JavaScript library:
//
//   NEAR     @near-js/crypto 2.5.1 (KeyPair.sign) and borsh 2.0.0, in idOS's NEP-413 blob layout
//            (u16_be(len) ‖ borsh(payload) ‖ signature over sha256(borsh(payload)))
//   XRPL     ripple-keypairs 3.1.0 (both curves: secp256k1 and "ED"-prefixed Ed25519), over the
//            hex of the UTF-8 message, as idOS's verifier calls it; addresses by deriveAddress
//   Stellar  @stellar/stellar-base 15.0.0 (Keypair.sign), over the raw message and over
//            SEP-53's sha256("Stellar Signed Message:\n" ‖ message)
//
// Every key comes from a fixed seed and every scheme signs deterministically, so the output is
// the same on every run: protocol/tests/wallet_vectors.rs runs this script under Node.js (the
// packages are in ~/.cache/idos-tools, installed by scripts/setup.sh), checks that it prints
// exactly protocol/tests/vectors/wallets.json, and verifies every case with the Rust code.
// Regenerate by hand: NODE_PATH=~/.cache/idos-tools/node_modules node wallets-gen.js > wallets.json
'use strict';

const crypto = require('node:crypto');
const { KeyPair } = require('@near-js/crypto');
const { baseEncode } = require('@near-js/utils');
const borsh = require('borsh');
const keypairs = require('ripple-keypairs');
const { Keypair: StellarKeypair, hash: stellarHash } = require('@stellar/stellar-base');

const seed = (label) => crypto.createHash('sha256').update(`idos-rs wallet vectors ${label}`).digest();
const hex = (bytes) => Buffer.from(bytes).toString('hex');

// What the node and relay make wallets sign: a transaction's text, a sign-in text, and idOS's
// own fixed texts, with non-ASCII and line breaks.
const MESSAGES = [
  'idOS authentication',
  'Sign this message to prove you own this wallet',
  'add_wallet\n\nArguments: sha256 3f1c…\nSigner: somebody\nNonce: 7\nChain: idos-local\n',
  'Jörg signs ✓ 署名',
];

function near() {
  const schema = {
    struct: {
      tag: 'u32',
      message: 'string',
      nonce: { array: { type: 'u8', len: 32 } },
      recipient: 'string',
      callbackUrl: { option: 'string' },
    },
  };
  const cases = [];
  MESSAGES.forEach((message, i) => {
    const secret = seed(`near ${i}`);
    // NEAR's secret key text is base58 of seed ‖ public key; derive the public key from the seed.
    const pk = crypto
      .createPublicKey(
        crypto.createPrivateKey({
          key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), secret]),
          format: 'der',
          type: 'pkcs8',
        }),
      )
      .export({ format: 'der', type: 'spki' })
      .subarray(-32);
    const keyPair = KeyPair.fromString(`ed25519:${baseEncode(Buffer.concat([secret, pk]))}`);
    const recipient = i % 2 === 0 ? 'idos.network' : 'idos-issuer';
    const nonce = seed(`near nonce ${i}`);
    const callbackUrl = i === 3 ? 'https://wallet.example/callback?x=1' : undefined;
    const payload = borsh.serialize(schema, {
      tag: 2147484061,
      message,
      nonce: Array.from(nonce),
      recipient,
      callbackUrl,
    });
    const { signature } = keyPair.sign(crypto.createHash('sha256').update(payload).digest());
    const length = Buffer.alloc(2);
    length.writeUInt16BE(payload.length);
    const blob = Buffer.concat([length, Buffer.from(payload), Buffer.from(signature)]);
    if (!keyPair.verify(crypto.createHash('sha256').update(payload).digest(), signature)) {
      throw new Error('near: the library refuses its own signature');
    }
    cases.push({
      seed: hex(secret),
      public_key: keyPair.getPublicKey().toString(),
      public_key_hex: hex(keyPair.getPublicKey().data),
      message,
      recipient,
      nonce: hex(nonce),
      callback_url: callbackUrl ?? null,
      blob: hex(blob),
    });
  });
  return cases;
}

function xrpl() {
  const cases = [];
  for (const algorithm of ['ecdsa-secp256k1', 'ed25519']) {
    MESSAGES.forEach((message, i) => {
      const entropy = seed(`xrpl ${algorithm} ${i}`).subarray(0, 16);
      const secret = keypairs.generateSeed({ entropy, algorithm });
      const { publicKey, privateKey } = keypairs.deriveKeypair(secret);
      const messageHex = Buffer.from(message, 'utf8').toString('hex');
      const signature = keypairs.sign(messageHex, privateKey);
      if (!keypairs.verify(messageHex, signature, publicKey)) {
        throw new Error('xrpl: the library refuses its own signature');
      }
      cases.push({
        algorithm,
        private_key: privateKey,
        public_key: publicKey,
        address: keypairs.deriveAddress(publicKey),
        message,
        signature,
      });
    });
  }
  return cases;
}

function stellar() {
  const cases = [];
  MESSAGES.forEach((message, i) => {
    const keypair = StellarKeypair.fromRawEd25519Seed(seed(`stellar ${i}`));
    const bytes = Buffer.from(message, 'utf8');
    const sep53Hash = stellarHash(Buffer.concat([Buffer.from('Stellar Signed Message:\n'), bytes]));
    const raw = keypair.sign(bytes);
    const sep53 = keypair.sign(sep53Hash);
    if (!keypair.verify(bytes, raw) || !keypair.verify(sep53Hash, sep53)) {
      throw new Error('stellar: the library refuses its own signature');
    }
    cases.push({
      seed: hex(keypair.rawSecretKey()),
      address: keypair.publicKey(),
      public_key_hex: hex(keypair.rawPublicKey()),
      message,
      raw_signature: hex(raw),
      sep53_signature: hex(sep53),
    });
  });
  return cases;
}

// Some packages do not export their package.json: read it from the resolved module's folder.
const version = (name) => {
  const path = require('node:path');
  let dir = path.dirname(require.resolve(name));
  while (!require('node:fs').existsSync(path.join(dir, 'package.json')) || !dir.includes(name)) {
    dir = path.dirname(dir);
  }
  for (;;) {
    const meta = JSON.parse(require('node:fs').readFileSync(path.join(dir, 'package.json'), 'utf8'));
    if (meta.name === name) return meta.version;
    dir = path.dirname(dir);
  }
};

const out = {
  generator: 'protocol/tests/vectors/wallets-gen.js',
  libraries: {
    '@near-js/crypto': version('@near-js/crypto'),
    borsh: version('borsh'),
    'ripple-keypairs': version('ripple-keypairs'),
    '@stellar/stellar-base': version('@stellar/stellar-base'),
  },
  near: near(),
  xrpl: xrpl(),
  stellar: stellar(),
};
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
