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
