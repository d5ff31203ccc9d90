// The idOS development wallet: an EIP-1193 provider announced by EIP-6963 (EVM), and a Wallet
// Standard wallet with NEAR, XRPL and Stellar accounts (the features www/shared/wallets.js
// documents: NEP-413 signMessage, GemWallet-style signMessage, SEP-43 signMessage). Its keys
// live with `idos serve` (<data dir>/dev_wallet) and sign through /dev-wallet/api on this page's
// own origin, so every origin of the server has the same accounts. DEVELOPMENT ONLY: never use
// it with real funds. Each signature request is shown in a confirmation dialog on the page; a
// script of the page could click it, which is why it exists for development only.
//
// Loading this module marks the page with a banner, announces and registers the wallets, and
// exports the EIP-1193 provider and the Wallet Standard wallet.

const API = "/dev-wallet/api";
const INFO = Object.freeze({
  uuid: crypto.randomUUID(),
  name: "idOS development wallet",
  icon:
    "data:image/svg+xml;base64," +
    btoa('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#b3261e"/><text x="16" y="22" font-size="16" text-anchor="middle" fill="#fff" font-family="sans-serif">DEV</text></svg>'),
  rdns: "network.idos.dev-wallet",
});
const CONNECTED = "idos-dev-wallet-connected";
const STANDARD_CONNECTED = "idos-dev-wallet-standard-connected";

class ProviderRpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

async function call(path, body) {
  let r;
  try {
    r = await fetch(API + path, body === undefined
      ? { headers: { accept: "application/json" }, cache: "no-store" }
      : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  } catch {
    throw new ProviderRpcError(4900, "The development wallet cannot reach idos serve.");
  }
  const json = await r.json().catch(() => ({}));
  if (!r.ok) throw new ProviderRpcError(4100, json.message ?? `development wallet: HTTP ${r.status}`);
  return json;
}

const listeners = new Map();
function emit(event, ...args) {
  for (const f of listeners.get(event) ?? []) {
    try { f(...args); } catch (e) { console.error(e); }
  }
}

let state = null; // {accounts, current, chain_id, wallets: {EVM|NEAR|XRPL|Stellar: {accounts, current}}}
async function refresh() {
  const before = state?.current;
  const beforeOthers = JSON.stringify(otherCurrents());
  state = await call("/accounts");
  renderBanner();
  if (before && before !== state.current && isConnected()) emit("accountsChanged", [state.current]);
  if (beforeOthers !== JSON.stringify(otherCurrents())) standardChanged();
  return state;
}

const isConnected = () => localStorage.getItem(CONNECTED) === "1";

function hexToText(hex) {
  const bytes = new Uint8Array((hex.length - 2) / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 + 2 * i, 4 + 2 * i), 16);
  return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
}
function textToHex(text) {
  return "0x" + [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// --- the page's marks: a banner and a confirmation dialog --------------------------------------

function node(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

let banner = null;
function renderBanner() {
  if (!document.body) return;
  if (!banner) {
    banner = node("aside", { id: "dev-wallet-banner", class: "dev-wallet-banner", "aria-label": "Development wallet" });
    document.body.prepend(banner);
  }
  const account = state?.current ?? "…";
  const others = otherCurrents();
  banner.replaceChildren(
    node("strong", {}, "Development wallet — never use with real funds."),
    " ",
    node("span", { class: "dev-wallet-account" }, "Account ", node("code", { id: "dev-wallet-account" }, account)),
    " ",
    node("details", { class: "dev-wallet-others" },
      node("summary", {}, "NEAR, XRPL, Stellar"),
      ...Object.entries(others).map(([type, a]) =>
        node("span", { class: "dev-wallet-account" }, `${type} `, node("code", { id: `dev-wallet-account-${type.toLowerCase()}` }, a?.address ?? "…"), " "))),
    " ",
    node("button", { type: "button", id: "dev-wallet-new-account", onclick: newAccount }, "Switch to a new account"),
  );
}

/** A fresh account of every type: a new person, as far as idOS can tell. */
async function newAccount() {
  for (const wallet_type of ["NEAR", "XRPL", "Stellar"]) await call("/accounts", { wallet_type });
  state = await call("/accounts", {});
  renderBanner();
  if (isConnected()) emit("accountsChanged", [state.current]);
  standardChanged();
}

/** Shows `text` and waits for Approve (true) or Reject (false). One request at a time. */
let confirming = Promise.resolve();
function confirmSignature(account, text) {
  const run = () => new Promise((resolve) => {
    const dialog = node("dialog", { id: "dev-wallet-confirm", class: "dev-wallet-confirm", "aria-labelledby": "dev-wallet-confirm-title" });
    const done = (ok) => { dialog.close(); dialog.remove(); resolve(ok); };
    dialog.append(
      node("h2", { id: "dev-wallet-confirm-title" }, "Development wallet: sign this message?"),
      node("p", {}, `${location.origin} asks account `, node("code", {}, account), " to sign:"),
      node("pre", { id: "dev-wallet-message", tabindex: "0" }, text),
      node("p", { class: "dev-wallet-warning" }, "Development wallet — never use with real funds."),
      node("div", { class: "dev-wallet-buttons" },
        node("button", { type: "button", id: "dev-wallet-reject", onclick: () => done(false) }, "Reject"),
        node("button", { type: "button", id: "dev-wallet-approve", onclick: () => done(true) }, "Approve")),
    );
    dialog.addEventListener("cancel", (e) => { e.preventDefault(); done(false); });
    document.body.append(dialog);
    dialog.showModal();
  });
  const next = confirming.then(run, run);
  confirming = next.catch(() => {});
  return next;
}

// --- EIP-1193 -----------------------------------------------------------------------------------

async function request({ method, params = [] } = {}) {
  switch (method) {
    case "eth_requestAccounts": {
      await refresh();
      localStorage.setItem(CONNECTED, "1");
      emit("connect", { chainId: state.chain_id });
      return [state.current];
    }
    case "eth_accounts":
      if (!isConnected()) return [];
      return [(await refresh()).current];
    case "eth_chainId":
      return (state ?? (await refresh())).chain_id;
    case "net_version":
      return String(parseInt((state ?? (await refresh())).chain_id, 16));
    case "personal_sign": {
      if (!isConnected()) throw new ProviderRpcError(4100, "Connect the development wallet first (eth_requestAccounts).");
      const [data, address] = params;
      if (typeof data !== "string" || typeof address !== "string") {
        throw new ProviderRpcError(-32602, "personal_sign takes [message, address]");
      }
      const message = /^0x([0-9a-fA-F]{2})*$/.test(data) ? data : textToHex(data);
      const ok = await confirmSignature(address, hexToText(message));
      if (!ok) throw new ProviderRpcError(4001, "You rejected the signature in the development wallet.");
      const { signature } = await call("/sign", { address, message });
      return signature;
    }
    case "wallet_revokePermissions":
      localStorage.removeItem(CONNECTED);
      emit("accountsChanged", []);
      return null;
    default:
      throw new ProviderRpcError(4200, `The development wallet does not support ${method}.`);
  }
}

// --- Wallet Standard: NEAR, XRPL, Stellar -------------------------------------------------------

/** The chain each type's accounts are on, and the feature that signs for it. */
const STANDARD = Object.freeze({
  NEAR: { chain: "near:mainnet", feature: "near:signMessage" },
  XRPL: { chain: "xrpl:mainnet", feature: "xrpl:signMessage" },
  Stellar: { chain: "stellar:pubnet", feature: "stellar:signMessage" },
});

function otherCurrents() {
  return Object.fromEntries(Object.keys(STANDARD).map((t) => [t, state?.wallets?.[t]?.current ?? null]));
}

const hexToBytes = (hex) => Uint8Array.from(hex.replace(/^0x/, "").match(/../g) ?? [], (b) => parseInt(b, 16));
const bytesToBase64 = (bytes) => btoa(String.fromCharCode(...bytes));

/** A Wallet Standard account for the server's account `a` of `type`. NEAR names its account by
 * its implicit account id (the public key's hex), as NEAR wallets do; idOS names it by the key. */
function standardAccount(type, a) {
  const { chain, feature } = STANDARD[type];
  return Object.freeze({
    address: type === "NEAR" ? a.public_key : a.address,
    publicKey: hexToBytes(a.public_key),
    chains: Object.freeze([chain]),
    features: Object.freeze([feature]),
    label: `idOS development wallet (${type})`,
  });
}

function standardAccounts() {
  if (localStorage.getItem(STANDARD_CONNECTED) !== "1" || !state) return [];
  return Object.entries(otherCurrents()).filter(([, a]) => a).map(([type, a]) => standardAccount(type, a));
}

const standardListeners = new Set();
function standardChanged() {
  for (const f of standardListeners) {
    try { f({ accounts: standardAccounts() }); } catch (e) { console.error(e); }
  }
}

/** The server account a Wallet Standard account stands for (it must be the current one). */
function serverAddress(type, account) {
  const current = state?.wallets?.[type]?.current;
  if (localStorage.getItem(STANDARD_CONNECTED) !== "1") {
    throw new ProviderRpcError(4100, "Connect the development wallet first (standard:connect).");
  }
  if (!current || account?.address !== standardAccount(type, current).address) {
    throw new ProviderRpcError(4100, `The development wallet's ${type} account is not ${account?.address}.`);
  }
  return current.address;
}

async function signStandard(type, account, message, extra = {}) {
  if (typeof message !== "string") throw new ProviderRpcError(-32602, "signMessage takes the message as text");
  await refresh();
  const address = serverAddress(type, account);
  const ok = await confirmSignature(address, message);
  if (!ok) throw new ProviderRpcError(4001, "You rejected the signature in the development wallet.");
  const { signature } = await call("/sign", { address, message: textToHex(message), ...extra });
  return { address, signature: hexToBytes(signature) };
}

export const standardWallet = Object.freeze({
  version: "1.0.0",
  name: INFO.name,
  icon: INFO.icon,
  chains: Object.freeze(Object.values(STANDARD).map((s) => s.chain)),
  get accounts() {
    return standardAccounts();
  },
  features: Object.freeze({
    "standard:connect": {
      version: "1.0.0",
      async connect() {
        await refresh();
        localStorage.setItem(STANDARD_CONNECTED, "1");
        const accounts = standardAccounts();
        standardChanged();
        return { accounts };
      },
    },
    "standard:disconnect": {
      version: "1.0.0",
      async disconnect() {
        localStorage.removeItem(STANDARD_CONNECTED);
        standardChanged();
      },
    },
    "standard:events": {
      version: "1.0.0",
      on(event, listener) {
        if (event !== "change") return () => {};
        standardListeners.add(listener);
        return () => standardListeners.delete(listener);
      },
    },
    // NEP-413: the dapp's recipient and nonce; the answer as a NEAR wallet gives it.
    "near:signMessage": {
      version: "1.0.0",
      async signMessage({ account, message, recipient, nonce }) {
        if (typeof recipient !== "string" || !(nonce instanceof Uint8Array) || nonce.length !== 32) {
          throw new ProviderRpcError(-32602, "near:signMessage takes a recipient and a 32-byte nonce");
        }
        const nonceHex = [...nonce].map((b) => b.toString(16).padStart(2, "0")).join("");
        const { address, signature } = await signStandard("NEAR", account, message, { recipient, nonce: nonceHex });
        return { accountId: account.address, publicKey: address, signature: bytesToBase64(signature) };
      },
    },
    // ripple-keypairs' signature over hex(utf8(message)), as GemWallet's signMessage answers.
    "xrpl:signMessage": {
      version: "1.0.0",
      async signMessage({ account, message }) {
        const { signature } = await signStandard("XRPL", account, message);
        return { signedMessage: [...signature].map((b) => b.toString(16).padStart(2, "0")).join("").toUpperCase() };
      },
    },
    // SEP-43's signMessage answer; the signature is SEP-53's.
    "stellar:signMessage": {
      version: "1.0.0",
      async signMessage({ account, message }) {
        const { address, signature } = await signStandard("Stellar", account, message);
        return { signedMessage: bytesToBase64(signature), signerAddress: address };
      },
    },
  }),
});

function registerStandard() {
  const callback = ({ register }) => register(standardWallet);
  window.dispatchEvent(new CustomEvent("wallet-standard:register-wallet", { detail: callback }));
  window.addEventListener("wallet-standard:app-ready", (event) => callback(event.detail));
}

export const provider = Object.freeze({
  isIdosDevWallet: true,
  request,
  on(event, f) {
    if (!listeners.has(event)) listeners.set(event, new Set());
    listeners.get(event).add(f);
    return provider;
  },
  removeListener(event, f) {
    listeners.get(event)?.delete(f);
    return provider;
  },
});
export const info = INFO;

// The stylesheet (the page's CSP allows styles from its own origin only).
document.head.append(node("link", { rel: "stylesheet", href: "/dev-wallet/dev-wallet.css" }));

function announce() {
  window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info: INFO, provider }) }));
}
window.addEventListener("eip6963:requestProvider", announce);
announce();
registerStandard();

// Another origin of the server may have switched accounts: look again when the page returns.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") refresh().catch(() => {});
});
if (document.body) refresh().catch(() => renderBanner());
else document.addEventListener("DOMContentLoaded", () => refresh().catch(() => renderBanner()));
