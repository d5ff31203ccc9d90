// The landing page: node status, and a walk through the enclave with the host SDK.
import { connectEnclave } from "/sdk/idos-enclave.js";

const $ = (id) => document.getElementById(id);
const log = (line) => { $("log").textContent += line + "\n"; };

async function showStatus() {
  try {
    const ready = await (await fetch("/readyz")).json();
    $("status").textContent = ready.status === "ready"
      ? `Chain ${ready.chain_id} at height ${ready.height}.`
      : `The node is not ready: ${ready.message ?? ready.status}.`;
  } catch (e) {
    $("status").textContent = `The node cannot be reached: ${e}`;
  }
}

// A demo user id, kept in this browser (the key derivation salts with it).
function demoUserId() {
  let id = localStorage.getItem("idos-demo-user");
  if (!id) { id = crypto.randomUUID(); localStorage.setItem("idos-demo-user", id); }
  return id;
}

let enclave = null;
let sealed = null;

async function step(fn) {
  try { await fn(); } catch (e) { log(`error ${e.code ?? ""}: ${e.message}`); }
}

$("connect").addEventListener("click", () => step(async () => {
  const config = await (await fetch("/site-config.json")).json();
  enclave = await connectEnclave({ url: config.enclave_url, container: "#enclave-frame" });
  const status = await enclave.configure({ userId: demoUserId() });
  log(`connected; user ${status.userId}, ${status.unlocked ? "unlocked" : "locked"}`);
  $("unlock").disabled = false;
  if (status.unlocked) $("encrypt").disabled = false;
}));

$("unlock").addEventListener("click", () => step(async () => {
  const status = await enclave.ensureKey();
  log(`key ready; public key ${status.publicKey}`);
  $("encrypt").disabled = false;
}));

$("encrypt").addEventListener("click", () => step(async () => {
  const out = await enclave.encrypt({ plaintext: $("note").value });
  sealed = { id: crypto.randomUUID(), content: out.content, encryptorPublicKey: out.encryptorPublicKey, publicNotes: "demo note" };
  log(`ciphertext from the enclave: ${out.content.slice(0, 48)}…`);
  $("view").disabled = false;
  $("release").disabled = false;
}));

$("view").addEventListener("click", () => step(async () => {
  await enclave.view({ credential: sealed });
  log("shown inside the enclave's dialog");
}));

$("release").addEventListener("click", () => step(async () => {
  const out = await enclave.release({ credential: sealed });
  log(`released with your approval: ${out.plaintext}`);
}));

showStatus();
