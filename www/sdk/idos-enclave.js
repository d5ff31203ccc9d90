// idOS enclave host SDK: an ES module, no build step. See README.md and idos-enclave.d.ts.
//
//   import { connectEnclave } from "./idos-enclave.js";
//   const enclave = await connectEnclave({ url: "https://enclave.example", container: "#idos" });
//   await enclave.configure({ userId, expectedPublicKey });
//   const copy = await enclave.share({ credential, granteePublicKey });

// The iframe needs scripts and its own origin's storage, and opens the dialog as an
// unsandboxed popup; it has no forms and no alert/confirm, so nothing else is allowed.
export const SANDBOX = "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox";
export const METHODS = ["configure", "ensureKey", "encrypt", "share", "view", "release", "filter", "backup",
  "changePassword", "confirmPasswordChange", "abandonPasswordChange", "forget", "verifyRead"];

/** A typed enclave failure: `code` is stable, `message` is for people. */
export class EnclaveError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "EnclaveError";
    this.code = code;
  }
}

const VISIBLE_CLASS = "idos-enclave-visible";

/**
 * Creates the sandboxed enclave iframe inside `container`, waits until it is listening,
 * and opens a private MessageChannel to it.
 */
export async function connectEnclave(options) {
  const { url, container, timeoutMs = 10000, onAttention } = options ?? {};
  if (typeof url !== "string") throw new EnclaveError("bad_request", "connectEnclave: url is required");
  const enclaveUrl = new URL(url, location.href);
  const origin = enclaveUrl.origin;
  const parent = typeof container === "string" ? document.querySelector(container) : container;
  if (!parent) throw new EnclaveError("bad_request", `connectEnclave: container ${container} not found`);

  document.getElementById("idos-enclave-iframe")?.remove();
  const iframe = document.createElement("iframe");
  iframe.id = "idos-enclave-iframe";
  iframe.title = "idOS enclave";
  iframe.setAttribute("sandbox", SANDBOX);
  iframe.referrerPolicy = "origin";
  iframe.src = enclaveUrl.href;
  iframe.style.cssText = "border:none;width:100%;height:4.5rem;background:transparent;display:none";

  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      removeEventListener("message", onMessage);
      reject(new EnclaveError("enclave_unavailable",
        `the enclave at ${origin} did not answer within ${timeoutMs} ms (is this site on its allow-list?)`));
    }, timeoutMs);
    function onMessage(ev) {
      if (ev.source !== iframe.contentWindow || ev.origin !== origin) return;
      if (ev.data?.type !== "idos-enclave:ready") return;
      clearTimeout(timer);
      removeEventListener("message", onMessage);
      resolve();
    }
    addEventListener("message", onMessage);
  });
  parent.appendChild(iframe);
  await ready;

  const channel = new MessageChannel();
  const connected = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new EnclaveError("enclave_unavailable", "the enclave did not accept the connection")), timeoutMs);
    channel.port1.onmessage = (ev) => {
      clearTimeout(timer);
      if (ev.data?.type === "connected") resolve();
      else {
        const e = ev.data?.error ?? {};
        reject(new EnclaveError(e.code ?? "origin_not_allowed", e.message ?? "the enclave refused this page"));
      }
    };
  });
  iframe.contentWindow.postMessage({ type: "idos-enclave:connect", version: 1 }, origin, [channel.port2]);
  await connected;
  return new Enclave(iframe, parent, channel.port1, onAttention);
}

/** A connected enclave. Every method resolves with its result or rejects with an EnclaveError. */
export class Enclave {
  #iframe; #container; #port; #next = 1; #pending = new Map(); #onAttention;

  constructor(iframe, container, port, onAttention) {
    this.#iframe = iframe;
    this.#container = container;
    this.#port = port;
    this.#onAttention = onAttention;
    port.onmessage = (ev) => this.#receive(ev.data);
  }

  #receive(msg) {
    if (msg?.event === "attention") {
      // The user must click inside the enclave (a browser only lets a click open the dialog).
      this.#iframe.style.display = msg.visible ? "block" : "none";
      this.#container.classList.toggle(VISIBLE_CLASS, !!msg.visible);
      // The enclave accepts a click only on a button fully in view: bring it there.
      if (msg.visible) this.#iframe.scrollIntoView({ block: "nearest" });
      this.#onAttention?.(!!msg.visible, msg.label ?? "");
      return;
    }
    const pending = this.#pending.get(msg?.id);
    if (!pending) return;
    this.#pending.delete(msg.id);
    if (msg.error) pending.reject(new EnclaveError(msg.error.code, msg.error.message));
    else pending.resolve(msg.result);
  }

  /** Sends any method by name (the typed methods below are shortcuts). */
  call(method, params = {}) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#port.postMessage({ id, method, params });
    });
  }

  configure(params) { return this.call("configure", params); }
  ensureKey() { return this.call("ensureKey"); }
  encrypt(params) { return this.call("encrypt", params); }
  share(params) { return this.call("share", params); }
  view(params) { return this.call("view", params); }
  release(params) { return this.call("release", params); }
  filter(params) { return this.call("filter", params); }
  backup() { return this.call("backup"); }
  changePassword(params) { return this.call("changePassword", params); }
  confirmPasswordChange(params) { return this.call("confirmPasswordChange", params); }
  abandonPasswordChange() { return this.call("abandonPasswordChange"); }
  forget() { return this.call("forget"); }
  verifyRead(params) { return this.call("verifyRead", params); }

  /** Closes the channel and removes the iframe. */
  destroy() {
    for (const p of this.#pending.values()) p.reject(new EnclaveError("destroyed", "the enclave connection was closed"));
    this.#pending.clear();
    this.#port.close();
    this.#iframe.remove();
  }
}
