// Browser wallets: discovery (EIP-6963), connecting (EIP-1193 eth_requestAccounts) and
// personal_sign (EIP-191). Works with any EIP-1193 provider; nothing here assumes the
// development wallet.
import { keccak_256 } from "./vendor/noble-hashes-2.0.1/sha3.js";

/**
 * @typedef {{uuid: string, name: string, icon: string, rdns: string}} WalletInfo
 * @typedef {{request: (args: {method: string, params?: unknown[]}) => Promise<unknown>,
 *            on?: (event: string, listener: (...args: any[]) => void) => void,
 *            removeListener?: (event: string, listener: (...args: any[]) => void) => void}} Eip1193Provider
 * @typedef {{info: WalletInfo, provider: Eip1193Provider}} DiscoveredWallet
 */

/** A wallet refused or failed a request; `code` is the EIP-1193 code when there is one. */
export class WalletError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = "WalletError";
    this.code = code;
  }
}

const EIP1193_CODES = {
  4001: "user_rejected",
  4100: "wallet_unauthorized",
  4200: "wallet_unsupported_method",
  4900: "wallet_disconnected",
  4901: "wallet_disconnected",
  [-32002]: "wallet_request_pending",
};

/** A provider's error as a WalletError with a stable code. */
export function walletError(e) {
  if (e instanceof WalletError) return e;
  const code = EIP1193_CODES[e?.code] ?? "wallet_failed";
  const message = e?.message ?? String(e);
  return new WalletError(code, message);
}

/**
 * Every wallet that announces itself (EIP-6963) within `timeoutMs`, each once (by uuid).
 * @param {{timeoutMs?: number}} [options]
 * @returns {Promise<DiscoveredWallet[]>}
 */
export function discoverWallets({ timeoutMs = 500 } = {}) {
  return new Promise((resolve) => {
    const found = new Map();
    const onAnnounce = (event) => {
      const { info, provider } = event.detail ?? {};
      if (!info?.uuid || typeof provider?.request !== "function") return;
      if (!found.has(info.uuid)) found.set(info.uuid, { info: { ...info }, provider });
    };
    window.addEventListener("eip6963:announceProvider", onAnnounce);
    window.dispatchEvent(new Event("eip6963:requestProvider"));
    setTimeout(() => {
      window.removeEventListener("eip6963:announceProvider", onAnnounce);
      resolve([...found.values()]);
    }, timeoutMs);
  });
}

/**
 * The EIP-55 checksummed form of an EVM address (any case in, mixed case out).
 * @param {string} address
 * @returns {string}
 */
export function toChecksumAddress(address) {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) {
    throw new WalletError("invalid_address", `${address} is not an Ethereum address (0x and 40 hex digits)`);
  }
  const lower = address.slice(2).toLowerCase();
  const hash = keccak_256(new TextEncoder().encode(lower));
  let out = "0x";
  for (let i = 0; i < 40; i++) {
    const nibble = (hash[i >> 1] >> (i % 2 === 0 ? 4 : 0)) & 0xf;
    out += nibble >= 8 ? lower[i].toUpperCase() : lower[i];
  }
  return out;
}

/**
 * Asks the wallet for an account (the wallet may show its own prompt).
 * @param {Eip1193Provider} provider
 * @returns {Promise<string>} the first account, EIP-55 checksummed
 */
export async function connectWallet(provider) {
  let accounts;
  try {
    accounts = await provider.request({ method: "eth_requestAccounts" });
  } catch (e) {
    throw walletError(e);
  }
  if (!Array.isArray(accounts) || accounts.length === 0) {
    throw new WalletError("no_account", "The wallet gave no account. Unlock it or create an account, then connect again.");
  }
  return toChecksumAddress(accounts[0]);
}

/** UTF-8 text as 0x hex, as personal_sign takes it. */
export function utf8ToHex(text) {
  return "0x" + [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * EIP-191 personal_sign of `text` by `address`.
 * @param {Eip1193Provider} provider
 * @param {string} address
 * @param {string} text
 * @returns {Promise<string>} the signature, 0x + 130 hex digits
 */
export async function personalSign(provider, address, text) {
  let signature;
  try {
    signature = await provider.request({ method: "personal_sign", params: [utf8ToHex(text), address] });
  } catch (e) {
    throw walletError(e);
  }
  if (typeof signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(signature)) {
    throw new WalletError("bad_wallet_answer", "The wallet's signature is not 65 bytes of hex.");
  }
  return signature.toLowerCase();
}

// --- every wallet type: one account interface ----------------------------------------------------
//
// A page signs with an `Account`, whatever its wallet: EVM wallets are found by EIP-6963 and
// sign with personal_sign; NEAR, XRPL and Stellar wallets are found by the Wallet Standard
// (github.com/wallet-standard/wallet-standard: `wallet-standard:register-wallet` and
// `wallet-standard:app-ready`) and sign with their ecosystem's message signing, exposed as the
// features below. Each account's `sign(text)` answers in the form idOS verifies
// (protocol::identity::Identity::verify), as 0x hex:
//   EVM      65-byte EIP-191 signature (r ‖ s ‖ v)
//   NEAR     idOS's NEP-413 blob: u16_be(len(payload)) ‖ borsh(payload) ‖ signature(64),
//            for recipient "idos.network" and a fresh random 32-byte nonce
//   XRPL     the 33-byte public key, then ripple-keypairs' signature over hex(utf8(text))
//   Stellar  the 64-byte Ed25519 signature (SEP-53: over SHA-256 of "Stellar Signed Message:\n" ‖ text)
//
// The features a Wallet Standard wallet offers for each (all version "1.0.0"):
//   "near:signMessage"     signMessage({account, message, recipient, nonce: Uint8Array(32)})
//                          → {accountId, publicKey: "ed25519:…", signature: base64}   (NEP-413)
//   "xrpl:signMessage"     signMessage({account, message}) → {signedMessage: hex}     (GemWallet's)
//   "stellar:signMessage"  signMessage({account, message}) → {signedMessage: base64, signerAddress}
//                                                                                    (SEP-43's)
// and "standard:connect" (connect() → {accounts}); an account's `publicKey` is its 32-byte
// Ed25519 key (NEAR, Stellar) or its 33-byte key (XRPL).

/** The NEP-413 recipient idOS's browser signers name (protocol::near::RECIPIENTS). */
export const NEAR_RECIPIENT = "idos.network";

/** The chain namespaces this module signs for, with the idOS wallet type of each. */
const STANDARD_TYPES = Object.freeze({ near: "NEAR", xrpl: "XRPL", stellar: "Stellar" });

/**
 * @typedef {{address: string, publicKey: Uint8Array, chains: string[], features: string[], label?: string}} StandardAccount
 * @typedef {{version: string, name: string, icon: string, chains: string[], accounts: StandardAccount[],
 *            features: Record<string, any>}} StandardWallet
 * @typedef {{walletType: "EVM"|"NEAR"|"XRPL"|"Stellar", name: string, icon: string, id: string,
 *            provider?: Eip1193Provider, standard?: StandardWallet}} WalletChoice
 *   one way to sign in: an EIP-6963 wallet (EVM), or one chain of a Wallet Standard wallet
 * @typedef {{walletType: string, address: string, identifier: string, walletName: string,
 *            provider?: Eip1193Provider, sign: (text: string) => Promise<string>}} Account
 *   `address`: the form to show; `identifier`: idOS's (lowercase EVM address, ed25519:<base58>,
 *   r…, G…); `sign`: the signature idOS verifies, 0x hex
 */

/**
 * Every Wallet Standard wallet that registers within `timeoutMs`.
 * @param {{timeoutMs?: number}} [options]
 * @returns {Promise<StandardWallet[]>}
 */
export function discoverStandardWallets({ timeoutMs = 500 } = {}) {
  return new Promise((resolve) => {
    const found = new Set();
    const api = Object.freeze({
      register(...wallets) {
        for (const w of wallets) {
          if (w && typeof w.name === "string" && Array.isArray(w.chains) && w.features) found.add(w);
        }
        return () => wallets.forEach((w) => found.delete(w));
      },
    });
    const onRegister = (event) => {
      try { event.detail?.(api); } catch (e) { console.error(e); }
    };
    window.addEventListener("wallet-standard:register-wallet", onRegister);
    window.dispatchEvent(new CustomEvent("wallet-standard:app-ready", { detail: api }));
    setTimeout(() => {
      window.removeEventListener("wallet-standard:register-wallet", onRegister);
      resolve([...found]);
    }, timeoutMs);
  });
}

/**
 * Every way to sign in found on this page: each EIP-6963 wallet (EVM), then each Wallet
 * Standard wallet once per chain it signs messages on (NEAR, XRPL, Stellar).
 * @param {{timeoutMs?: number}} [options]
 * @returns {Promise<WalletChoice[]>}
 */
export async function discoverWalletChoices({ timeoutMs = 500 } = {}) {
  const [evm, standard] = await Promise.all([discoverWallets({ timeoutMs }), discoverStandardWallets({ timeoutMs })]);
  const choices = evm.map((w) => ({ walletType: "EVM", name: w.info.name, icon: w.info.icon, id: w.info.rdns || w.info.uuid, provider: w.provider }));
  for (const w of standard) {
    for (const [namespace, walletType] of Object.entries(STANDARD_TYPES)) {
      const signs = w.features[`${namespace}:signMessage`] && w.features["standard:connect"];
      if (!signs || !w.chains.some((c) => c.startsWith(`${namespace}:`))) continue;
      choices.push({ walletType, name: `${w.name} (${walletType})`, icon: w.icon, id: `${w.name}:${namespace}`, standard: w });
    }
  }
  return choices;
}

/**
 * Connects a choice and returns its account (the wallet may show its own prompt).
 * @param {WalletChoice} choice
 * @returns {Promise<Account>}
 */
export async function connectAccount(choice) {
  if (choice.walletType === "EVM") {
    const address = await connectWallet(choice.provider);
    return {
      walletType: "EVM",
      address,
      identifier: address.toLowerCase(),
      walletName: choice.name,
      provider: choice.provider,
      sign: (text) => personalSign(choice.provider, address, text),
    };
  }
  const namespace = Object.keys(STANDARD_TYPES).find((n) => STANDARD_TYPES[n] === choice.walletType);
  let connected;
  try {
    connected = await choice.standard.features["standard:connect"].connect();
  } catch (e) {
    throw walletError(e);
  }
  const accounts = connected?.accounts ?? choice.standard.accounts;
  const account = accounts.find((a) => a.chains?.some((c) => c.startsWith(`${namespace}:`)));
  if (!account) {
    throw new WalletError("no_account", `${choice.standard.name} gave no ${choice.walletType} account. Create or unlock one, then connect again.`);
  }
  const feature = choice.standard.features[`${namespace}:signMessage`];
  const call = async (input) => {
    try {
      return await feature.signMessage({ account, ...input });
    } catch (e) {
      throw walletError(e);
    }
  };
  const publicKey = new Uint8Array(account.publicKey ?? []);
  const base = { walletType: choice.walletType, walletName: choice.name };
  switch (choice.walletType) {
    case "NEAR": {
      if (publicKey.length !== 32) throw new WalletError("bad_wallet_answer", "The NEAR wallet's public key is not 32 bytes.");
      const identifier = `ed25519:${base58(publicKey)}`;
      return {
        ...base, address: identifier, identifier,
        sign: async (text) => {
          const nonce = crypto.getRandomValues(new Uint8Array(32));
          const out = await call({ message: text, recipient: NEAR_RECIPIENT, nonce });
          if (out?.publicKey !== identifier) {
            throw new WalletError("bad_wallet_answer", `The NEAR wallet signed with ${out?.publicKey}, not ${identifier}.`);
          }
          const signature = fromBase64(out.signature, 64, "NEAR signature");
          return "0x" + toHex(nep413Blob(nep413Payload(text, nonce, NEAR_RECIPIENT), signature));
        },
      };
    }
    case "XRPL": {
      if (publicKey.length !== 33) throw new WalletError("bad_wallet_answer", "The XRPL wallet's public key is not 33 bytes.");
      return {
        ...base, address: account.address, identifier: account.address,
        sign: async (text) => {
          const out = await call({ message: text });
          const signature = out?.signedMessage;
          if (typeof signature !== "string" || !/^([0-9a-fA-F]{2}){64,72}$/.test(signature)) {
            throw new WalletError("bad_wallet_answer", "The XRPL wallet's signature is not hex of 64 to 72 bytes.");
          }
          return "0x" + toHex(publicKey) + signature.toLowerCase();
        },
      };
    }
    case "Stellar":
      return {
        ...base, address: account.address, identifier: account.address,
        sign: async (text) => {
          const out = await call({ message: text });
          if (out?.signerAddress !== undefined && out.signerAddress !== account.address) {
            throw new WalletError("bad_wallet_answer", `The Stellar wallet signed as ${out.signerAddress}, not ${account.address}.`);
          }
          return "0x" + toHex(fromBase64(out?.signedMessage, 64, "Stellar signature"));
        },
      };
    default:
      throw new WalletError("wallet_unsupported", `idOS cannot sign with a ${choice.walletType} wallet.`);
  }
}

/** Whether two identifiers name the same wallet (EVM addresses in any case; others exactly). */
export function sameWallet(a, b) {
  if (typeof a !== "string" || typeof b !== "string") return false;
  return a.startsWith("0x") ? a.toLowerCase() === b.toLowerCase() : a === b;
}

// --- encodings ---------------------------------------------------------------------------------

/** Bytes as lowercase hex. */
export function toHex(bytes) {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function fromBase64(text, length, what) {
  let bytes;
  try {
    bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    throw new WalletError("bad_wallet_answer", `The wallet's ${what} is not base64.`);
  }
  if (bytes.length !== length) throw new WalletError("bad_wallet_answer", `The wallet's ${what} is not ${length} bytes.`);
  return bytes;
}

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** Base58 (Bitcoin alphabet), as NEAR writes keys. */
export function base58(bytes) {
  const digits = []; // least significant first
  for (const byte of bytes) {
    let carry = byte;
    for (let i = 0; i < digits.length; i++) {
      carry += digits[i] * 256;
      digits[i] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  return "1".repeat(zeros) + digits.reverse().map((d) => BASE58[d]).join("");
}

/** NEP-413's payload: borsh({tag: 2^31 + 413, message, nonce, recipient, callbackUrl: None}). */
export function nep413Payload(message, nonce, recipient) {
  const text = new TextEncoder();
  const m = text.encode(message);
  const r = text.encode(recipient);
  const out = new Uint8Array(4 + 4 + m.length + 32 + 4 + r.length + 1);
  const view = new DataView(out.buffer);
  let at = 0;
  view.setUint32(at, 2147484061, true); at += 4;
  view.setUint32(at, m.length, true); at += 4;
  out.set(m, at); at += m.length;
  out.set(nonce, at); at += 32;
  view.setUint32(at, r.length, true); at += 4;
  out.set(r, at); at += r.length;
  out[at] = 0; // callbackUrl: None
  return out;
}

/** idOS's NEP-413 blob: u16_be(len(payload)) ‖ payload ‖ signature. */
export function nep413Blob(payload, signature) {
  if (payload.length > 0xffff) throw new WalletError("message_too_long", "The message is too long for a NEAR signature (64 KiB).");
  const out = new Uint8Array(2 + payload.length + signature.length);
  out[0] = payload.length >> 8;
  out[1] = payload.length & 0xff;
  out.set(payload, 2);
  out.set(signature, 2 + payload.length);
  return out;
}
