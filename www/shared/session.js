// Signing in to the relay, and the session: EVM wallets with EIP-4361 ("Sign-In with Ethereum"),
// NEAR, XRPL and Stellar wallets with the relay's wallet sign-in text (POST /api/v1/auth/wallet).
//
// On the relay's own origin the session is the relay's HttpOnly cookie; on another origin (a
// dapp calling the relay cross-origin) it is the bearer token kept here, in memory, per relay.
import { relayFetch, RelayError } from "./api.js";
import { personalSign, toChecksumAddress } from "./wallets.js";

/** @type {Map<string, {token: string, identity: string, expiresAt: string}>} */
const sessions = new Map();
const key = (relay) => (relay ?? "").replace(/\/$/, "");

/**
 * The EIP-4361 message, exactly as the relay's strict parser (protocol/src/siwe.rs) reads it and
 * as the Rust client writes it (client/src/sign_in.rs): `https://` origins are written as the bare
 * host, the address EIP-55 checksummed, `Issued At` in whole seconds UTC, `\n` line ends, no
 * trailing newline.
 * @param {{origin: string, address: string, chainId: number, nonce: string, issuedAt?: Date, statement?: string|null}} p
 * @returns {string}
 */
export function siweMessage({ origin, address, chainId, nonce, issuedAt = new Date(), statement = "Sign in to idOS." }) {
  const domain = origin.startsWith("https://") ? origin.slice("https://".length) : origin;
  const issued = issuedAt.toISOString().replace(/\.\d{3}Z$/, "Z");
  const body = statement ? `${statement}\n\n` : "\n";
  return (
    `${domain} wants you to sign in with your Ethereum account:\n${toChecksumAddress(address)}\n\n${body}` +
    `URI: ${origin}\nVersion: 1\nChain ID: ${chainId}\nNonce: ${nonce}\nIssued At: ${issued}`
  );
}

/**
 * Signs `address` in: a nonce from the relay, the EIP-4361 message signed by the wallet
 * (personal_sign), POST /api/v1/auth/siwe.
 * @param {{provider: import("./wallets.js").Eip1193Provider, address: string, relay?: string,
 *          chainId?: number, origin?: string, statement?: string}} p
 *   `relay`: the relay's base URL (default this origin); `chainId`: EIP-155 id the relay accepts
 *   (default 1); `origin`: the origin signed in to (default this page's, which the relay must allow)
 * @returns {Promise<{token: string, identity: string, expiresAt: string, address: string}>}
 */
export async function signInWithEthereum({ provider, address, relay = "", chainId = 1, origin = location.origin, statement }) {
  const { nonce } = await relayFetch("/api/v1/auth/nonce", { relay });
  const message = siweMessage({ origin, address, chainId, nonce, statement });
  const signature = await personalSign(provider, toChecksumAddress(address), message);
  const answer = await relayFetch("/api/v1/auth/siwe", { method: "POST", relay, body: { message, signature } });
  const session = { token: answer.token, identity: answer.identity, expiresAt: answer.expires_at };
  sessions.set(key(relay), session);
  return { ...session, address: toChecksumAddress(address) };
}

/**
 * The wallet sign-in text, exactly as the relay builds it (protocol::sign_in::wallet_sign_in_text):
 * six `\n`-separated lines, no newline at the end.
 * @param {{origin: string, network: string, wallet: string, nonce: string}} p
 *   `origin`: the relay's public origin; `network`: the idOS chain id; `wallet`: idOS's identifier
 */
export function walletSignInText({ origin, network, wallet, nonce }) {
  return `idOS relay sign-in\norigin: ${origin}\nnetwork: ${network}\npurpose: session\nwallet: ${wallet}\nnonce: ${nonce}`;
}

/**
 * Signs a NEAR, XRPL or Stellar account in: a nonce from the relay, the wallet sign-in text
 * signed by the wallet its own way, POST /api/v1/auth/wallet.
 *
 * The text names the relay's origin as this page reaches it (`relay`, or this page's origin),
 * never an origin the relay reports, so a relay cannot collect a signature that signs in
 * elsewhere.
 * @param {{account: import("./wallets.js").Account, relay?: string, network?: string}} p
 *   `network`: the idOS chain id (default: the one GET /api/v1/chain names)
 * @returns {Promise<{token: string, identity: string, expiresAt: string, address: string}>}
 */
export async function signInWithWallet({ account, relay = "", network }) {
  const origin = relay ? new URL(relay).origin : location.origin;
  const chain = network ?? (await relayFetch("/api/v1/chain", { relay })).chain_id;
  const { nonce } = await relayFetch("/api/v1/auth/nonce", { relay });
  const text = walletSignInText({ origin, network: chain, wallet: account.identifier, nonce });
  const signature = await account.sign(text);
  const answer = await relayFetch("/api/v1/auth/wallet", {
    method: "POST",
    relay,
    body: { wallet_type: account.walletType, wallet: account.identifier, nonce, signature },
  });
  const session = { token: answer.token, identity: answer.identity, expiresAt: answer.expires_at };
  sessions.set(key(relay), session);
  return { ...session, address: account.address };
}

/**
 * Signs `account` in with its wallet type's sign-in: EIP-4361 for EVM, the wallet sign-in text
 * otherwise.
 * @param {{account: import("./wallets.js").Account, relay?: string, chainId?: number, network?: string}} p
 */
export function signInAccount({ account, relay = "", chainId = 1, network }) {
  if (account.walletType === "EVM") {
    return signInWithEthereum({ provider: account.provider, address: account.address, relay, chainId });
  }
  return signInWithWallet({ account, relay, network });
}

/** The bearer token of this page's session with `relay`, if it signed in here. */
export function sessionToken({ relay = "" } = {}) {
  return sessions.get(key(relay))?.token;
}

/**
 * Ends the session (POST /api/v1/auth/logout). Not being signed in is not an error.
 * @param {{relay?: string}} [p]
 */
export async function signOut({ relay = "" } = {}) {
  const token = sessionToken({ relay });
  sessions.delete(key(relay));
  try {
    await relayFetch("/api/v1/auth/logout", { method: "POST", relay, token });
  } catch (e) {
    if (!(e instanceof RelayError && e.status === 401)) throw e;
  }
}

/**
 * The signed-in user's idOS profile (GET /api/v1/me): `{id, recipient_encryption_public_key,
 * encryption_password_store, inserter}`. Rejects with RelayError `session_missing` (and the other
 * 401 codes) when not signed in, `no_profile` when the wallet has no profile.
 * @param {{relay?: string}} [p]
 */
export async function me({ relay = "" } = {}) {
  const answer = await relayFetch("/api/v1/me", { relay, token: sessionToken({ relay }) });
  return answer.data;
}
