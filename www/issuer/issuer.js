// The demo issuer's page (app origin, /issuer/): connect a wallet, sign in, and get a sample KYC
// credential. The user's key is created in the enclave (this page gets only the public key); the
// wallet signs the ownership proof and the delegated write grant this issuer's back end prepared
// (/issuer/api/…), which then creates the profile and writes the credential through the relay.
import { connectEnclave } from "/sdk/idos-enclave.js";
import { relayFetch } from "/shared/api.js";
import { me } from "/shared/session.js";
import { showWalletPicker, connectAndSignIn } from "/shared/wallet-picker.js";
import { el, showError, loadInto, busy } from "/shared/ui.js";

const $ = (id) => document.getElementById(id);
const page = { config: null, issuer: null, account: null, address: null, enclave: null, step: null };

/** A key the dashboard (or this page) created for a wallet that has no profile yet. */
// The dashboard names a key it created for a wallet the same way (site.js).
const pendingKeyName = (identifier) => `idos-new-key:${identifier}`;

async function siteConfig() {
  if (!page.config) page.config = await relayFetch("/site-config.json");
  return page.config;
}

function step(name, state) {
  document.querySelector(`#progress li[data-step="${name}"]`).dataset.state = state;
  if (state === "active") page.step = name;
}

function say(text) {
  $("issue-status").replaceChildren(el("p", {}, text));
}

// --- the issuer ----------------------------------------------------------------------------------

function loadIssuer() {
  return loadInto($("issuer-info"), () => relayFetch("/issuer/api/info"), (info, box) => {
    page.issuer = info;
    $("issuer-level").textContent = info.level;
    const reg = info.registration ?? {};
    box.append(el("dl", { class: "facts" },
      el("dt", {}, "Name"), el("dd", { id: "issuer-name" }, info.name),
      el("dt", {}, "Signing key"), el("dd", {}, el("code", { id: "issuer-key" }, info.public_key)),
      el("dt", {}, "Credential"), el("dd", {}, `KYC, level ${info.level}`),
      el("dt", {}, "On the idOS network"),
      el("dd", { id: "issuer-registration", "data-state": reg.state ?? "unknown" },
        reg.state === "registered" ? "registered: it may write credentials"
          : reg.state === "failed" ? `not registered: ${reg.message}`
            : "registering…")));
  }, { loadingText: "Loading the issuer…" });
}

// --- wallet and sign-in --------------------------------------------------------------------------

function listWallets() {
  return showWalletPicker($("wallet-list"), { config: siteConfig, prompt: "Choose the wallet to receive the credential:", onChoose: signIn });
}

async function signIn(wallet, button) {
  const status = $("sign-in-status");
  await busy(button, status, async () => {
    const config = await siteConfig();
    const { account } = await connectAndSignIn(wallet, status, { chainId: config.siwe_chain_id, network: config.chain_id });
    page.account = account;
    page.address = account.identifier;
    $("wallet-list").hidden = true;
    $("session-line").hidden = false;
    $("session-line").replaceChildren("Signed in as ", el("code", { id: "signed-in-address" }, account.address), ` with ${wallet.name}.`);
    $("issue-section").hidden = false;
    $("get-credential").focus();
  });
}

// --- onboarding and issuance ---------------------------------------------------------------------

async function enclave() {
  if (page.enclave) return page.enclave;
  const config = await siteConfig();
  page.enclave = await connectEnclave({ url: config.enclave_url, container: "#enclave-frame" });
  return page.enclave;
}

/** A new profile: the user's key (created in the enclave, or the one the dashboard created). */
async function newProfile(start) {
  step("key", "active");
  let pending = JSON.parse(localStorage.getItem(pendingKeyName(page.address)) ?? "null");
  if (!pending || pending.userId !== start.user_id) {
    say("Create your idOS key: click the button in the enclave frame below, then choose a password in its window.");
    const e = await enclave();
    await e.configure({ userId: start.user_id });
    const status = await e.ensureKey();
    pending = { userId: start.user_id, publicKey: status.publicKey };
    localStorage.setItem(pendingKeyName(page.address), JSON.stringify(pending));
  }
  step("key", "done");
  step("proof", "active");
  say("Sign the wallet ownership proof in your wallet.");
  const signature = await page.account.sign(start.proof.message);
  step("proof", "done");
  step("profile", "active");
  say("The issuer is creating your profile (two transactions)…");
  await relayFetch("/issuer/api/profile", {
    method: "POST",
    body: {
      user_id: start.user_id,
      wallet: page.address,
      encryption_public_key: pending.publicKey,
      proof: { id: start.proof.id, nonce: start.proof.nonce, signature },
    },
  });
  localStorage.removeItem(pendingKeyName(page.address));
  step("profile", "done");
  return pending.publicKey;
}

async function getCredential(button) {
  const status = $("issue-status");
  $("issued").hidden = true;
  for (const li of document.querySelectorAll("#progress li")) li.dataset.state = "todo";
  page.step = null;
  await busy(button, status, async () => {
    try {
      say("Preparing…");
      // A key the dashboard created for this wallet is used as is (the issuer takes its user id).
      const pending = JSON.parse(localStorage.getItem(pendingKeyName(page.address)) ?? "null");
      const start = await relayFetch("/issuer/api/start", {
        method: "POST",
        body: pending ? { wallet: page.address, user_id: pending.userId } : { wallet: page.address },
      });
      let publicKey;
      if (start.has_profile) {
        for (const s of ["key", "proof", "profile"]) step(s, "skipped");
        publicKey = (await me()).recipient_encryption_public_key;
      } else {
        publicKey = await newProfile(start);
      }
      step("grant", "active");
      say("Sign the delegated write grant in your wallet.");
      const grantSignature = await page.account.sign(start.grant_message);
      step("grant", "done");
      step("credential", "active");
      say("The issuer is writing your credential…");
      const issued = await relayFetch("/issuer/api/credential", {
        method: "POST",
        body: { encryption_public_key: publicKey, grant: start.grant, grant_signature: grantSignature },
      });
      step("credential", "done");
      status.replaceChildren();
      showIssued(issued);
    } catch (e) {
      if (page.step) step(page.step, "failed");
      throw e;
    }
  });
}

function showIssued(issued) {
  const box = $("issued");
  box.hidden = false;
  box.replaceChildren(
    el("p", { class: "notice", id: "issued-notice", role: "status" },
      `Done: a ${issued.type} credential of level ${issued.level} is in your idOS profile, encrypted to your key.`),
    el("dl", { class: "facts" },
      el("dt", {}, "Credential"), el("dd", {}, el("code", { id: "issued-credential-id" }, issued.credential_id)),
      el("dt", {}, "Stored as"), el("dd", {}, el("code", { id: "issued-original-id" }, issued.original_id)),
      el("dt", {}, "Document number (sample)"), el("dd", {}, el("code", { id: "issued-document-number" }, issued.document_number)),
      el("dt", {}, "Content SHA-256"), el("dd", {}, el("code", { id: "issued-content-hash" }, issued.content_hash)),
      el("dt", {}, "Transaction"), el("dd", {}, `block ${issued.committed.height ?? "?"}, `, el("code", {}, issued.committed.tx_hash))),
    el("p", {}, "See it in ", el("a", { href: "/", id: "to-dashboard" }, "your dashboard"), ", or share it with an app that asks for KYC."));
  box.querySelector("a").focus();
}

$("get-credential").addEventListener("click", (e) => getCredential(e.currentTarget));
loadIssuer();
listWallets().catch((e) => showError($("wallet-list"), e, { retry: listWallets }));
