// Small helpers for pages: building elements (text only, never HTML), loading and error states,
// and any error (relay, wallet, enclave, browser) in words a person can act on.

/**
 * Creates an element. `attrs` become attributes (`class`, `id`, `aria-*`, …; `on*` functions
 * become listeners); children are nodes or text (set as text, never parsed as HTML).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node|string|number|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, "");
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** What a person can do about an error, by its code. */
const ADVICE = {
  relay_unreachable: "The idOS relay cannot be reached. Check your connection (or that `idos serve` is running) and try again.",
  node_unreachable: "The relay cannot reach the idOS network right now. Try again in a minute.",
  node_busy: "The idOS network is busy. Try again in a moment.",
  mempool_full: "The idOS network is busy. Try again in a moment.",
  rate_limited: "Too many requests from this browser. Wait a few seconds and try again.",
  timeout: "The relay took too long to answer. Try again.",
  not_ready: "The idOS node is still starting. Try again in a moment.",
  session_missing: "You are not signed in. Connect your wallet and sign in.",
  session_expired: "Your sign-in has expired. Sign in again.",
  session_revoked: "You signed out. Sign in again.",
  session_invalid: "Your sign-in is no longer valid. Sign in again.",
  no_profile: "This wallet has no idOS profile yet. An issuer creates one when it verifies you.",
  grant_locked: "This grant is time-locked: it cannot be revoked before its lock ends.",
  bad_nonce: "Another transaction from this wallet went first. Try again.",
  not_committed: "The transaction was sent but is not in a block yet. Reload in a moment to see whether it took effect.",
  prepared_mismatch: "The relay prepared a different transaction than asked. Nothing was signed. Try again, or use another relay.",
  nonce_used: "That sign-in attempt was already used. Sign in again.",
  nonce_expired: "The sign-in took too long. Sign in again.",
  nonce_unknown: "The relay does not know this sign-in attempt (it may have restarted). Sign in again.",
  siwe_chain_id: "Your wallet is on a network this relay does not accept for sign-in. Switch your wallet to Ethereum mainnet (chain 1) and sign in again.",
  siwe_domain: "This page's address is not one the relay accepts sign-ins for.",
  siwe_signature: "The wallet's signature did not verify. Try again, or use another wallet.",
  siwe_address_mismatch: "The wallet signed with another account than the one connected. Switch back and try again.",
  // Wallets (EIP-1193)
  user_rejected: "You declined in your wallet. Nothing was signed.",
  wallet_unauthorized: "The wallet has not allowed this site. Connect it again.",
  wallet_unsupported_method: "This wallet cannot sign messages (personal_sign). Use another wallet.",
  wallet_disconnected: "The wallet is disconnected. Open it and connect again.",
  wallet_request_pending: "Your wallet is already asking you something. Answer it there first.",
  no_account: "The wallet gave no account. Unlock it or create an account, then connect again.",
  // Enclave (www/sdk)
  user_denied: "You declined in the enclave's window. Nothing was shared.",
  dialog_closed: "The enclave's window was closed before you answered. Try again.",
  dialog_lost: "The enclave's window stopped answering. Try again.",
  popup_blocked: "Your browser blocked the enclave's window. Allow pop-ups for this site and try again.",
  timed_out: "The enclave waited too long for your click. Try again.",
  busy: "The enclave is waiting for your answer to another request. Finish that first.",
  wrong_password: "That password does not open this key. Try again.",
  enclave_unavailable: "The enclave did not load. Check your connection and reload the page.",
  origin_not_allowed: "The enclave does not accept this site. Its operator must allow it.",
  locked: "Your key is locked. Unlock it first.",
  decryption_failed: "This credential cannot be decrypted with your key (it was encrypted to another key, or altered).",
  bad_signature: "The issuer's signatures on this credential do not verify: do not trust it.",
};

/**
 * An error in words a person can act on: the advice for its code, then the details.
 * @param {any} e
 * @returns {string}
 */
export function describeError(e) {
  const code = e?.code;
  const advice = code && ADVICE[code];
  const message = e?.message ?? String(e);
  if (advice) return message && message !== advice && !advice.includes(message) ? `${advice} (${message})` : advice;
  if (e?.name === "RelayError" && e.status >= 500) {
    return `The relay failed (${message}). Try again in a moment.`;
  }
  return message || "Something went wrong. Try again.";
}

/**
 * Shows an error in `container` (role="alert"), with a "Try again" button when `retry` is given.
 * @param {Element} container
 * @param {any} error
 * @param {{retry?: () => void}} [options]
 */
export function showError(container, error, { retry } = {}) {
  const box = el("div", { class: "error", role: "alert", "data-code": error?.code ?? "error" },
    el("p", {}, describeError(error)));
  if (retry) box.append(el("button", { type: "button", class: "retry", onclick: retry }, "Try again"));
  container.replaceChildren(box);
  container.removeAttribute("aria-busy");
}

/**
 * Runs `load` with `container` in a loading state (aria-busy and a "Loading…" line), then lets
 * `render` fill it; on failure shows the error with a "Try again" button that runs it all again.
 * @template T
 * @param {Element} container
 * @param {() => Promise<T>} load
 * @param {(value: T, container: Element) => void} render
 * @param {{loadingText?: string}} [options]
 * @returns {Promise<T|undefined>}
 */
export async function loadInto(container, load, render, { loadingText = "Loading…" } = {}) {
  container.setAttribute("aria-busy", "true");
  container.replaceChildren(el("p", { class: "loading" }, loadingText));
  try {
    const value = await load();
    container.replaceChildren();
    container.removeAttribute("aria-busy");
    render(value, container);
    return value;
  } catch (e) {
    showError(container, e, { retry: () => loadInto(container, load, render, { loadingText }) });
    return undefined;
  }
}

/**
 * Runs `action` while `button` is disabled and says it is busy; shows errors in `status`.
 * @param {HTMLButtonElement} button
 * @param {Element} status where progress and errors appear (a live region)
 * @param {() => Promise<any>} action
 */
export async function busy(button, status, action) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await action();
  } catch (e) {
    showError(status, e);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** Unix seconds as a local date and time a person reads. */
export function formatTime(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Stage names of `submitAction` in words. */
export const STAGE_TEXT = {
  preparing: "Preparing the transaction…",
  signing: "Sign the transaction in your wallet…",
  submitting: "Submitting and waiting for the block…",
  committed: "Done: the transaction is in a block.",
};
