// Test host page: drives the SDK for the browser tests. `calls[id]` records each call's outcome.
import { connectEnclave } from "/sdk/idos-enclave.js";

window.calls = {};
window.attention = [];
let next = 1;

window.connect = async (url, timeoutMs) => {
  try {
    window.enclave = await connectEnclave({
      url, container: "#enclave", timeoutMs: timeoutMs ?? 10000,
      onAttention: (visible, label) => window.attention.push({ visible, label }),
    });
    return { ok: true };
  } catch (e) {
    return { error: { code: e.code, message: e.message } };
  }
};

window.start = (method, params) => {
  const id = next++;
  window.calls[id] = { state: "pending" };
  window.enclave.call(method, params).then(
    (result) => { window.calls[id] = { state: "done", result }; },
    (e) => { window.calls[id] = { state: "error", error: { code: e.code, message: e.message } }; },
  );
  return id;
};

window.hostReady = true;

// Fetches `query` as a proven read from the relay serving this page (signed in with `token`)
// and has the enclave verify the answer, as a dapp does; recorded in `calls` like `start`.
window.startVerifiedRead = (token, query, params) => {
  const id = next++;
  window.calls[id] = { state: "pending" };
  (async () => {
    const response = await fetch("/api/v1/proven-read", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    if (!response.ok) throw { code: `http_${response.status}`, message: await response.text() };
    const read = await response.json();
    return window.enclave.verifyRead({ ...params, query, read });
  })().then(
    (result) => { window.calls[id] = { state: "done", result }; },
    (e) => { window.calls[id] = { state: "error", error: { code: e.code, message: e.message } }; },
  );
  return id;
};
