// The demo dapp's page (its own origin): it asks for a KYC credential of a required level, gets it
// shared through the idOS enclave (the user approves in the enclave's window; the wallet signs a
// 30-day-locked access grant), and asks its own back end to verify the copy. This page gets the
// credential's content only from its back end, after the back end decrypted and checked it.
//
// The host SDK is loaded as a dapp installs it: the npm package @idos-rs/enclave-sdk, served from
// node_modules.
import { connectEnclave } from "/node_modules/@idos-rs/enclave-sdk/idos-enclave.js";
import { relayFetch, RelayError } from "/shared/api.js";
import { sessionToken } from "/shared/session.js";
import { showWalletPicker, connectAndSignIn } from "/shared/wallet-picker.js";
import { submitAction } from "/shared/tx.js";
import { el, showError, loadInto, busy, formatTime, STAGE_TEXT } from "/shared/ui.js";

const $ = (id) => document.getElementById(id);
const page = { config: null, account: null, address: null, profile: null, credential: null, enclave: null };
const LEVELS = { basic: 1, plus: 2 };
const rank = (level) => LEVELS[String(level ?? "").split("+")[0]];

/** The dapp's own back end (same origin). */
const backEnd = (path, options) => relayFetch(path, options);
/** The idOS relay, cross-origin, with this page's session token. */
const relay = (path, options = {}) =>
  relayFetch(path, { ...options, relay: page.config.relay_url, token: sessionToken({ relay: page.config.relay_url }) });

// --- configuration and wallet --------------------------------------------------------------------

async function start() {
  await showWalletPicker($("wallet-list"), { config: loadConfig, prompt: "Choose the wallet of your idOS profile:", onChoose: signIn });
  if (page.config) {
    $("dapp-name").textContent = page.config.name;
    $("required-level").textContent = page.config.required_level;
    $("lock-days").textContent = String(Math.round(page.config.lock_seconds / 86400));
    $("grantee-fingerprint").textContent = page.config.grantee_fingerprint;
  }
}

async function loadConfig() {
  if (!page.config) page.config = await backEnd("/api/config");
  return page.config;
}

async function signIn(wallet, button) {
  const status = $("sign-in-status");
  await busy(button, status, async () => {
    const { account, address } = await connectAndSignIn(wallet, status, {
      relay: page.config.relay_url,
      chainId: page.config.siwe_chain_id,
      signPrompt: "Sign the message in your wallet: it signs you in to idOS for this site.",
    });
    page.account = account;
    page.address = address;
    $("wallet-list").hidden = true;
    $("session-line").hidden = false;
    $("session-line").replaceChildren("Signed in to idOS as ", el("code", { id: "signed-in-address" }, address), ".");
    $("credential-section").hidden = false;
    await findCredential();
  });
}

// --- the credential we need ----------------------------------------------------------------------

/** A credential this dapp accepts: an original, KYC, from an accepted issuer, of the level. */
function acceptable(summary) {
  if (summary.original_id) return null;
  let notes;
  try { notes = JSON.parse(summary.public_notes); } catch { return null; }
  const issuer = page.config.accepted_issuers.find((i) => i.public_key === notes.issuer && i.public_key === summary.issuer_auth_public_key);
  if (!issuer || notes.type !== "KYC" || notes.status !== "approved") return null;
  if (!(rank(notes.level) >= rank(page.config.required_level))) return null;
  return { summary, notes, issuer };
}

function issuerLink() {
  const issuer = new URL("/issuer/", page.config.relay_url).href;
  return el("a", { href: issuer, id: "issuer-link" }, "the demo issuer");
}

async function findCredential() {
  const box = $("credential-state");
  await loadInto(box, async () => {
    try {
      page.profile = (await relay("/api/v1/me")).data;
    } catch (e) {
      if (e instanceof RelayError && e.code === "no_profile") return { noProfile: true };
      throw e;
    }
    const list = (await relay("/api/v1/credentials?limit=100")).data.items;
    return { found: list.map(acceptable).filter(Boolean), count: list.length };
  }, (result) => {
    if (result.noProfile) {
      box.append(el("div", { class: "error", role: "alert", id: "no-credential", "data-code": "no_profile" },
        el("p", {}, "This wallet has no idOS profile yet, so it holds no credential. Get one from ", issuerLink(),
          ", then ", el("button", { type: "button", class: "retry", onclick: findCredential }, "look again"), ".")));
      return;
    }
    if (result.found.length === 0) {
      box.append(el("div", { class: "error", role: "alert", id: "no-credential", "data-code": "no_acceptable_credential" },
        el("p", {}, `None of the ${result.count} credentials in your idOS profile is a KYC credential of level ${page.config.required_level} or higher from an issuer we accept. Get one from `,
          issuerLink(), ", then ", el("button", { type: "button", class: "retry", onclick: findCredential }, "look again"), ".")));
      return;
    }
    const chosen = result.found[0];
    page.credential = chosen;
    box.append(el("p", { id: "credential-found" }, "Found: a ", el("strong", {}, `${chosen.notes.type} credential, level ${chosen.notes.level}`),
      ` from ${chosen.issuer.name}. This page sees only these public notes, not its content.`));
    $("share-section").hidden = false;
    $("lock-until").textContent = formatTime(Math.floor(Date.now() / 1000) + page.config.lock_seconds);
  }, { loadingText: "Looking for your credential…" });
}

// --- sharing through the enclave -----------------------------------------------------------------

async function enclave() {
  if (page.enclave) return page.enclave;
  page.enclave = await connectEnclave({ url: page.config.enclave_url, container: "#enclave-frame" });
  await page.enclave.configure({ userId: page.profile.id, expectedPublicKey: page.profile.recipient_encryption_public_key });
  return page.enclave;
}

async function share(button) {
  const status = $("share-status");
  const say = (...text) => status.replaceChildren(el("p", {}, ...text));
  await busy(button, status, async () => {
    say("Reading your encrypted credential…");
    const stored = (await relay(`/api/v1/credentials/${page.credential.summary.id}`)).data;
    say("Connecting to the idOS enclave…");
    const e = await enclave();
    say("Approve the recipient in the enclave: click the button in the frame below, then check the window it opens (you may first unlock your key).");
    const copy = await e.share({
      credential: { id: stored.id, content: stored.content, encryptorPublicKey: stored.encryptor_public_key, publicNotes: stored.public_notes },
      granteePublicKey: page.config.grantee_encryption_public_key,
      granteeLabel: page.config.name,
    });
    const copyId = crypto.randomUUID();
    const lockedUntil = Math.floor(Date.now() / 1000) + page.config.lock_seconds;
    await submitAction({
      account: page.account,
      relay: page.config.relay_url,
      token: sessionToken({ relay: page.config.relay_url }),
      action: {
        action: "share_credential",
        args: {
          id: copyId,
          original_credential_id: stored.id,
          copy: {
            issuer_auth_public_key: copy.issuerAuthPublicKey,
            encryptor_public_key: copy.encryptorPublicKey,
            content: copy.content,
            public_notes: "",
            public_notes_signature: copy.publicNotesSignature,
            broader_signature: copy.broaderSignature,
          },
          content_hash: copy.contentHash,
          grantee_wallet_identifier: page.config.grantee,
          locked_until: lockedUntil,
        },
      },
      onStage: ({ stage, signingText }) => {
        status.replaceChildren(el("p", { "data-stage": stage }, STAGE_TEXT[stage] ?? stage),
          signingText ? el("pre", { class: "signing-text" }, signingText) : null);
      },
    });
    say("Shared. Our server is checking it…");
    await verify(copyId);
    status.replaceChildren();
  });
}

// --- our back end's check ------------------------------------------------------------------------

async function verify(copyId) {
  $("result-section").hidden = false;
  const box = $("result");
  await loadInto(box, () => backEnd("/api/verify", { method: "POST", body: { copy_id: copyId } }), (v) => {
    const subject = v.credential?.credentialSubject ?? {};
    const fact = (label, value, id) => [el("dt", {}, label), el("dd", id ? { id } : {}, value ?? "—")];
    box.append(
      el("p", { class: "verified-banner", id: "verified", "data-verified": "true", role: "status", tabindex: "-1" }, "Verified"),
      el("p", {}, `Our server decrypted the copy you shared and checked it. You may trade.`),
      el("ul", { class: "checks", id: "checks" }, ...v.checks.map((c) => el("li", { "data-check": c.check }, el("strong", {}, c.check), `: ${c.detail}`))),
      el("h3", {}, "What we now know about you"),
      el("dl", { class: "facts", id: "verified-fields" },
        ...fact("Name", [subject.firstName, subject.familyName].filter(Boolean).join(" "), "verified-name"),
        ...fact("Date of birth", subject.dateOfBirth),
        ...fact("Nationality", subject.nationality),
        ...fact("Document", `${subject.idDocumentType ?? ""} ${subject.idDocumentNumber ?? ""}`.trim(), "verified-document"),
        ...fact("KYC level", v.public_notes?.level, "verified-level"),
        ...fact("Issuer", v.issuer?.name),
        ...fact("Locked until", formatTime(v.grant.locked_until)),
        ...fact("Content SHA-256", el("code", { id: "verified-content-hash" }, v.content_hash))),
      el("p", { class: "hint" }, "You can see each time we read it in your idOS dashboard's access log."));
    $("verified").focus();
  }, { loadingText: "Our server is decrypting and checking your credential…" });
}

$("share").addEventListener("click", (e) => share(e.currentTarget));
start().catch((e) => showError($("wallet-list"), e, { retry: start }));
