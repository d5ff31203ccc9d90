// The idOS dashboard (the app origin's main page): connect a wallet, sign in (EIP-4361), unlock
// the key in the enclave, and see and manage what is stored: credentials, grants, wallets, the
// access log; export, back up, change the password, forget this device.
// The page never holds the key or the password; plaintext comes only from an approved release.
import { connectEnclave } from "/sdk/idos-enclave.js";
import { relayFetch, RelayError } from "/shared/api.js";
import { discoverWalletChoices, connectAccount, sameWallet, toChecksumAddress } from "/shared/wallets.js";
import { signOut, me } from "/shared/session.js";
import { showWalletPicker, connectAndSignIn } from "/shared/wallet-picker.js";
import { submitAction } from "/shared/tx.js";
import { el, describeError, showError, loadInto, busy, formatTime, STAGE_TEXT } from "/shared/ui.js";
import { trustRoot, setTrustRoot, verifyList } from "/shared/verified.js";

const $ = (id) => document.getElementById(id);
const SIGNED_IN = "idos-dashboard-signed-in"; // {identifier, walletType, expiresAt}: who this tab signed in as

/** What the page knows. */
const app = {
  config: null,
  wallet: null, // the WalletChoice signed in with
  account: null, // its Account (wallets.js): signs every transaction
  address: null, // the account's address as shown
  identifier: null, // idOS's identifier of it
  profile: null,
  enclave: null,
  unlocked: false,
  credentials: [],
  lastHeight: 0, // the block of this page's last committed transaction: older answers are stale
};

// --- node status ---------------------------------------------------------------------------------

async function showStatus() {
  try {
    const r = await fetch("/readyz");
    const ready = await r.json();
    $("status").textContent = ready.status === "ready"
      ? `Chain ${ready.chain_id} at height ${ready.height}.`
      : `The node is not ready: ${ready.message ?? ready.status}.`;
  } catch {
    $("status").textContent = "The idOS relay cannot be reached. Check your connection, or that it is running.";
  }
}

// --- wallets and sign-in -------------------------------------------------------------------------

async function loadConfig() {
  if (!app.config) app.config = await relayFetch("/site-config.json");
  return app.config;
}

function listWallets() {
  return showWalletPicker($("wallet-list"), { config: loadConfig, prompt: "Choose the wallet your idOS profile uses:", onChoose: signIn });
}

async function signIn(wallet, button) {
  const status = $("sign-in-status");
  await busy(button, status, async () => {
    const config = await loadConfig();
    const { account, session } = await connectAndSignIn(wallet, status, { chainId: config.siwe_chain_id, network: config.chain_id });
    sessionStorage.setItem(SIGNED_IN, JSON.stringify({ identifier: account.identifier, walletType: account.walletType, expiresAt: session.expiresAt }));
    useAccount(wallet, account);
    await afterSignIn();
  });
}

function useAccount(wallet, account) {
  app.wallet = wallet;
  app.account = account;
  app.address = account.address;
  app.identifier = account.identifier;
  account.provider?.on?.("accountsChanged", onAccountsChanged);
}

function onAccountsChanged(accounts) {
  const now = accounts?.[0];
  if (app.address && now && !sameWallet(now, app.address)) {
    $("tx-status").replaceChildren(el("p", { class: "notice" },
      `Your wallet switched to ${toChecksumAddress(now)}. You are still signed in as ${app.address}: transactions are signed by that account. Sign out to use the other.`));
  }
}

async function afterSignIn() {
  $("session-line").hidden = false;
  $("session-line").replaceChildren("Signed in as ", el("code", { id: "signed-in-address" }, app.address),
    app.wallet ? ` with ${app.wallet.name}.` : ".");
  $("session-actions").hidden = false;
  $("wallet-list").hidden = true;
  $("key-section").hidden = false;
  await loadProfile();
}

$("sign-out").addEventListener("click", async (e) => {
  await busy(e.currentTarget, $("session-line"), async () => {
    await signOut();
    sessionStorage.removeItem(SIGNED_IN);
    location.reload();
  });
});

// --- profile and key -----------------------------------------------------------------------------

async function loadProfile() {
  const keyState = $("key-state");
  keyState.setAttribute("aria-busy", "true");
  keyState.replaceChildren(el("p", { class: "loading" }, "Loading your profile…"));
  try {
    app.profile = await me();
  } catch (e) {
    if (e instanceof RelayError && e.code === "no_profile") {
      app.profile = null;
      return noProfile();
    }
    if (e instanceof RelayError && e.status === 401) {
      sessionStorage.removeItem(SIGNED_IN);
      $("session-line").hidden = true;
      $("session-actions").hidden = true;
      $("wallet-list").hidden = false;
      $("key-section").hidden = true;
      return listWallets();
    }
    return showError(keyState, e, { retry: loadProfile });
  }
  await connectKey();
}

async function ensureEnclave() {
  if (app.enclave) return app.enclave;
  const config = await loadConfig();
  app.enclave = await connectEnclave({
    url: config.enclave_url,
    container: "#enclave-frame",
    onAttention: (visible, label) => {
      $("enclave-frame").dataset.attention = visible ? label : "";
    },
  });
  return app.enclave;
}

/** A wallet with no profile: create a key, which an issuer then puts in a new profile. */
function noProfile() {
  const keyState = $("key-state");
  keyState.removeAttribute("aria-busy");
  const pending = JSON.parse(localStorage.getItem(`idos-new-key:${app.identifier}`) ?? "null");
  keyState.replaceChildren(...[
    el("p", { id: "no-profile" }, "This wallet has no idOS profile yet. An issuer creates it when it verifies you, with a key you create here, in the enclave."),
    pending
      ? el("p", { id: "new-key" }, "Your key is ready: user id ", el("code", { id: "new-user-id" }, pending.userId),
          ", public key ", el("code", { id: "new-public-key" }, pending.publicKey), ". Give them to your issuer; this page shows your data once the profile exists.")
      : null,
    el("div", { class: "actions" },
      el("button", { type: "button", id: "create-key", onclick: (e) => createKey(e.currentTarget) }, pending ? "Create another key" : "Create my idOS key"),
      el("button", { type: "button", id: "reload-profile", onclick: loadProfile }, "I have a profile now")),
    el("div", { id: "create-status", role: "status", "aria-live": "polite" }),
  ].filter(Boolean));
}

async function createKey(button) {
  await busy(button, $("create-status"), async () => {
    $("create-status").replaceChildren(el("p", {}, "Choose a password in the enclave's window (click the button below)…"));
    const enclave = await ensureEnclave();
    const userId = crypto.randomUUID();
    await enclave.configure({ userId });
    const status = await enclave.ensureKey();
    localStorage.setItem(`idos-new-key:${app.identifier}`, JSON.stringify({ userId, publicKey: status.publicKey }));
    noProfile();
  });
}

async function connectKey() {
  const keyState = $("key-state");
  try {
    const enclave = await ensureEnclave();
    const status = await enclave.configure({ userId: app.profile.id, expectedPublicKey: app.profile.recipient_encryption_public_key });
    app.unlocked = status.unlocked;
  } catch (e) {
    return showError(keyState, e, { retry: connectKey });
  }
  renderKeyState();
  $("signed-in").hidden = false;
  loadAll();
}

function renderKeyState() {
  const keyState = $("key-state");
  keyState.removeAttribute("aria-busy");
  keyState.replaceChildren(...[
    el("p", { id: "key-line" }, app.unlocked ? "Your key is unlocked in the enclave." : "Your key is locked. Unlock it to view, export or change anything encrypted."),
    app.unlocked ? null : el("div", { class: "actions" }, el("button", { type: "button", id: "unlock", onclick: (e) => unlock(e.currentTarget) }, "Unlock my key")),
    el("div", { id: "unlock-status", role: "status", "aria-live": "polite" }),
  ].filter(Boolean));
}

async function unlock(button) {
  await busy(button, $("unlock-status"), async () => {
    $("unlock-status").replaceChildren(el("p", {}, "Enter your password in the enclave's window (click the button below)…"));
    await app.enclave.ensureKey();
    app.unlocked = true;
    renderKeyState();
  });
}

async function needKey() {
  if (!app.unlocked) {
    await app.enclave.ensureKey();
    app.unlocked = true;
    renderKeyState();
  }
}

// --- lists ---------------------------------------------------------------------------------------

async function fingerprint(hexKey) {
  const bytes = new Uint8Array(hexKey.match(/../g).map((h) => parseInt(h, 16)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).slice(0, 10);
  const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  return hex.match(/.{4}/g).join(" ");
}

function notesOf(text) {
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) return v;
  } catch { /* not JSON: shown as text */ }
  return null;
}

function loadAll() {
  loadInto($("profile"), async () => ({ profile: app.profile }), ({ profile }) => {
    $("profile").append(el("dl", { class: "facts" },
      el("dt", {}, "User id"), el("dd", {}, el("code", {}, profile.id)),
      el("dt", {}, "Encryption public key"), el("dd", {}, el("code", {}, profile.recipient_encryption_public_key)),
      el("dt", {}, "Created by"), el("dd", {}, profile.inserter)));
  });
  renderTrustRoot();
  loadCredentials();
  loadGrants();
  loadReceived();
  loadWallets();
  loadAccessLog();
}

async function allPages(path) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const answer = await relayFetch(cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
    const page = answer.data ?? answer;
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < 5000);
  return items;
}

function empty(container, text) {
  container.append(el("p", { class: "empty" }, text));
}

function loadCredentials() {
  return loadInto($("credentials"), async () => {
    const all = await allPages("/api/v1/credentials");
    const originals = all.filter((c) => !c.original_id);
    for (const c of originals) c.fingerprint = await fingerprint(c.issuer_auth_public_key);
    app.credentials = originals;
    return Object.assign(originals, { all });
  }, (creds, box) => {
    if (creds.length === 0) return empty(box, "No credentials yet. An issuer adds them when it verifies you.");
    const ul = el("ul", { class: "cards", id: "credential-list" });
    for (const c of creds) {
      const notes = notesOf(c.public_notes);
      const rows = notes
        ? Object.entries(notes).map(([k, v]) => [el("dt", {}, k), el("dd", {}, typeof v === "string" ? v : JSON.stringify(v))]).flat()
        : [el("dt", {}, "Notes"), el("dd", {}, c.public_notes || "(none)")];
      ul.append(el("li", { class: "card credential", "data-id": c.id },
        el("h3", {}, notes?.type ? `${notes.type} credential` : "Credential", notes?.level ? ` — ${notes.level}` : ""),
        el("dl", { class: "facts" }, ...rows,
          el("dt", {}, "Issuer"), el("dd", {}, c.inserter ?? "(unknown inserter)"),
          el("dt", {}, "Issuer key"), el("dd", {}, el("code", { class: "fingerprint" }, c.fingerprint),
            el("span", { class: "verified" }, " ✓ signature checked by the idOS node")),
          el("dt", {}, "Id"), el("dd", {}, el("code", {}, c.id))),
        el("div", { class: "actions" },
          el("button", { type: "button", class: "view", onclick: (e) => viewCredential(c, e.currentTarget) }, "View in the enclave")),
        el("div", { class: "card-status", role: "status", "aria-live": "polite" })));
    }
    box.append(ul);
  }, { loadingText: "Loading your credentials…" }).then((all) => {
    if (all) showVerified($("credentials-verified"), { query: "get_credentials" }, all.all.map((c) => c.id));
  });
}

async function fullCredential(id) {
  const c = (await relayFetch(`/api/v1/credentials/${id}`)).data;
  return { id: c.id, content: c.content, encryptorPublicKey: c.encryptor_public_key, publicNotes: c.public_notes };
}

async function viewCredential(c, button) {
  const status = button.closest(".card").querySelector(".card-status");
  await busy(button, status, async () => {
    status.replaceChildren(el("p", {}, "Opening it in the enclave's window…"));
    await needKey();
    await app.enclave.view({ credential: await fullCredential(c.id) });
    status.replaceChildren();
  });
}

function grantRow(g, { revocable }) {
  const now = Date.now() / 1000;
  const locked = g.locked_until > now;
  const li = el("li", { class: "card grant", "data-id": g.id, "data-locked": locked ? "true" : "false" },
    el("dl", { class: "facts" },
      el("dt", {}, revocable ? "Shared with" : "Shared by user"),
      el("dd", {}, el("code", {}, revocable ? g.ag_grantee_wallet_identifier : g.ag_owner_user_id)),
      el("dt", {}, "Copy"), el("dd", {}, el("code", {}, g.data_id)),
      el("dt", {}, "Time lock"),
      el("dd", { class: "lock" }, g.locked_until === 0 ? "none" : `${locked ? "locked until" : "was locked until"} ${formatTime(g.locked_until)}`),
      el("dt", {}, "Granted at block"), el("dd", {}, String(g.height))));
  if (revocable) {
    li.append(el("div", { class: "actions" },
      el("button", { type: "button", class: "revoke", onclick: (e) => revoke(g, e.currentTarget) }, "Revoke")),
    el("div", { class: "card-status", role: "status", "aria-live": "polite" }));
  }
  return li;
}

function loadGrants() {
  return loadInto($("grants"), () => allPages("/api/v1/grants/owned"), (grants, box) => {
    if (grants.length === 0) return empty(box, "You have not shared anything.");
    box.append(el("ul", { class: "cards", id: "grant-list" }, ...grants.map((g) => grantRow(g, { revocable: true }))));
  }, { loadingText: "Loading what you shared…" }).then((grants) => {
    if (grants) showVerified($("grants-verified"), { query: "get_access_grants_owned" }, grants.map((g) => g.id));
  });
}

// --- verified reads ------------------------------------------------------------------------------

/**
 * Says in `line` whether the list just shown (`ids`) is what the chain's validators signed for
 * `query` (first page of up to 1000): checked in the enclave against the trust root the user set.
 */
async function showVerified(line, query, ids) {
  const root = trustRoot();
  line.dataset.state = root ? "verifying" : "unset";
  if (!root) {
    line.replaceChildren("Not verified: set the chain's trust root under “Your data and key” to check this list against the validators' signatures.");
    return;
  }
  line.replaceChildren("Verifying against the validators' signatures…");
  try {
    const v = await verifyList({
      enclave: await ensureEnclave(),
      trustRoot: root,
      query: { ...query, page: { limit: 1000 } },
      caller: app.identifier,
      minHeight: app.lastHeight,
      ids,
    });
    line.dataset.state = "verified";
    line.dataset.height = String(v.headerHeight);
    line.dataset.minHeight = String(app.lastHeight);
    line.replaceChildren(`✓ Verified at height ${v.headerHeight}: the validators of ${v.chainId} signed this state`,
      v.complete ? "." : " (the first 1000 items).");
  } catch (e) {
    line.dataset.state = "failed";
    line.dataset.code = e.code ?? "";
    line.replaceChildren(`⚠ Not verified (${e.code ?? "error"}): ${e.message}`);
  }
}

function renderTrustRoot() {
  $("trust-root").value = trustRoot() ?? "";
}

$("save-trust-root").addEventListener("click", () => {
  setTrustRoot($("trust-root").value);
  renderTrustRoot();
  $("trust-root-status").replaceChildren(trustRoot()
    ? "Saved in this browser. Lists are now checked against these validators."
    : "Cleared: lists are no longer verified.");
  loadCredentials();
  loadGrants();
});

function loadReceived() {
  return loadInto($("received"), () => allPages("/api/v1/grants/granted"), (grants, box) => {
    if (grants.length === 0) return empty(box, "Nothing is shared with this wallet.");
    box.append(el("ul", { class: "cards" }, ...grants.map((g) => grantRow(g, { revocable: false }))));
  }, { loadingText: "Loading what others shared with you…" });
}

function loadWallets() {
  return loadInto($("wallets"), () => allPages("/api/v1/wallets"), (wallets, box) => {
    const ul = el("ul", { class: "cards", id: "wallet-rows" });
    for (const w of wallets) {
      const mine = sameWallet(w.address, app.identifier);
      ul.append(el("li", { class: "card wallet-row", "data-id": w.id },
        el("p", {}, el("code", {}, w.address), ` (${w.wallet_type})`, mine ? " — signed in" : "", w.inserter ? ` — linked by ${w.inserter}` : ""),
        mine ? null : el("div", { class: "actions" },
          el("button", { type: "button", class: "remove-wallet", onclick: (e) => removeWallet(w, e.currentTarget) }, "Remove")),
        el("div", { class: "card-status", role: "status", "aria-live": "polite" })));
    }
    box.append(ul);
  }, { loadingText: "Loading your wallets…" });
}

function loadAccessLog() {
  return loadInto($("access-log"), async () => (await relayFetch("/api/v1/access-log?limit=100")).items, (items, box) => {
    if (items.length === 0) return empty(box, "Nobody has read anything you shared.");
    const table = el("table", { id: "access-table" },
      el("caption", { class: "visually-hidden" }, "Reads of your shared credentials, newest first"),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "When"), el("th", { scope: "col" }, "Who"), el("th", { scope: "col" }, "Credential"))),
      el("tbody", {}, ...items.map((r) => el("tr", {},
        el("td", {}, formatTime(Math.floor(r.at_ms / 1000))),
        el("td", {}, el("code", {}, r.reader)),
        el("td", {}, el("code", {}, r.original_id ?? r.copy_id))))));
    box.append(el("div", { class: "scroll" }, table));
  }, { loadingText: "Loading the access log…" });
}

// --- transactions --------------------------------------------------------------------------------

async function transact(action, statusBox) {
  const show = (text, extra) => statusBox.replaceChildren(el("p", {}, text), extra ?? "");
  return submitAction({
    account: app.account,
    action,
    onStage: ({ stage, signingText, hash, height }) => {
      if (stage === "signing") show(STAGE_TEXT.signing, el("pre", { class: "signing-text" }, signingText));
      else if (stage === "committed") {
        app.lastHeight = Math.max(app.lastHeight, height);
        show(`${STAGE_TEXT.committed} Block ${height}, transaction ${hash.slice(0, 16)}…`);
      }
      else show(STAGE_TEXT[stage]);
    },
  });
}

async function revoke(g, button) {
  const status = button.closest(".card").querySelector(".card-status");
  await busy(button, status, async () => {
    if (g.locked_until > Date.now() / 1000) {
      throw new RelayError("grant_locked", `You agreed to share this until ${formatTime(g.locked_until)}; it cannot be revoked before then.`, 0);
    }
    await transact({ action: "revoke_access_grant", args: { id: g.id } }, status);
    await loadGrants();
  });
}

async function removeWallet(w, button) {
  const status = button.closest(".card").querySelector(".card-status");
  await busy(button, status, async () => {
    await transact({ action: "remove_wallet", args: { id: w.id } }, status);
    await loadWallets();
  });
}

function hexToBase64(hex) {
  const bytes = hex.replace(/^0x/, "").match(/../g).map((h) => parseInt(h, 16));
  return btoa(String.fromCharCode(...bytes));
}

$("add-wallet").addEventListener("click", async () => {
  const panel = $("add-wallet-panel");
  panel.hidden = false;
  await loadInto(panel, () => discoverWalletChoices({ timeoutMs: 400 }), (wallets) => {
    panel.append(el("p", {}, "Choose the wallet to add, and select in it the account to add. It signs a proof that you own it; then your signed-in account signs the transaction."));
    const ul = el("ul", { class: "wallets" });
    for (const w of wallets) {
      ul.append(el("li", {}, el("button", { type: "button", class: "wallet", "data-rdns": w.id, "data-wallet-type": w.walletType, onclick: (e) => addWallet(w, e.currentTarget) }, w.name)));
    }
    panel.append(ul, el("div", { id: "add-wallet-status", role: "status", "aria-live": "polite" }));
  }, { loadingText: "Looking for wallets…" });
});

async function addWallet(w, button) {
  const status = $("add-wallet-status");
  await busy(button, status, async () => {
    const account = await connectAccount(w);
    if (sameWallet(account.identifier, app.identifier)) {
      throw new RelayError("same_wallet", "That is the account you are signed in with. Select another account in your wallet, then choose it again.", 0);
    }
    const nonce = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const config = await loadConfig();
    const message = `idOS wallet ownership proof\n\nI own this wallet and link it to idOS user ${app.profile.id}.\n\n` +
      `Wallet: ${account.identifier}\nChain ID: ${config.chain_id}\nNonce: ${nonce}`;
    status.replaceChildren(el("p", {}, `Sign the ownership proof with ${account.address}…`));
    const signature = await account.sign(message);
    await transact({
      action: "add_wallet",
      args: { wallet: { id: crypto.randomUUID(), wallet: account.identifier, nonce, signature: hexToBase64(signature) } },
    }, status);
    $("add-wallet-panel").hidden = true;
    await loadWallets();
  });
}

// --- export, backup, password, forget ------------------------------------------------------------

$("export").addEventListener("click", (e) => busy(e.currentTarget, $("settings-status"), async () => {
  const status = $("settings-status");
  await needKey();
  const credentials = [];
  for (const [i, c] of app.credentials.entries()) {
    status.replaceChildren(el("p", {}, `Approve the release of credential ${i + 1} of ${app.credentials.length} in the enclave's window…`));
    const { plaintext } = await app.enclave.release({ credential: await fullCredential(c.id) });
    let content = plaintext;
    try { content = JSON.parse(plaintext); } catch { /* kept as text */ }
    credentials.push({ id: c.id, public_notes: c.public_notes, issuer_auth_public_key: c.issuer_auth_public_key, issuer: c.inserter, content });
  }
  const data = {
    exported_at: new Date().toISOString(),
    profile: app.profile,
    wallets: await allPages("/api/v1/wallets"),
    credentials,
    grants_given: await allPages("/api/v1/grants/owned"),
    grants_received: await allPages("/api/v1/grants/granted"),
    access_log: (await relayFetch("/api/v1/access-log?limit=100")).items,
  };
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
  const a = el("a", { href: URL.createObjectURL(blob), download: `idOS-data-export-${new Date().toISOString().slice(0, 10)}.json`, id: "export-link" }, "Download again");
  document.body.append(a);
  a.click();
  a.remove();
  status.replaceChildren(el("p", { id: "export-done" }, `Exported ${credentials.length} credential(s), decrypted in the enclave with your approval.`));
}));

$("backup").addEventListener("click", (e) => busy(e.currentTarget, $("settings-status"), async () => {
  $("settings-status").replaceChildren(el("p", {}, "Your key is shown in the enclave's window…"));
  await needKey();
  await app.enclave.backup();
  $("settings-status").replaceChildren(el("p", {}, "Keep your key where only you can find it."));
}));

$("change-password").addEventListener("click", (e) => busy(e.currentTarget, $("settings-status"), async () => {
  const status = $("settings-status");
  await needKey();
  const originals = [];
  for (const c of app.credentials) originals.push(await fullCredential(c.id));
  status.replaceChildren(el("p", {}, "Enter your current and new password in the enclave's window…"));
  const rotation = await app.enclave.changePassword({ originals });
  try {
    await transact({ action: "rotate_encryption_key", args: rotation }, status);
  } catch (err) {
    await app.enclave.abandonPasswordChange().catch(() => {});
    throw err;
  }
  await app.enclave.confirmPasswordChange({ publicKey: rotation.recipient_encryption_public_key });
  app.profile = await me();
  status.replaceChildren(el("p", { id: "password-changed" }, "Your password is changed: every credential is re-encrypted to your new key."));
  loadAll();
}));

$("forget").addEventListener("click", (e) => busy(e.currentTarget, $("settings-status"), async () => {
  await app.enclave.forget();
  app.unlocked = false;
  renderKeyState();
  $("settings-status").replaceChildren(el("p", { id: "forgotten" }, "This browser no longer keeps your key. Unlock with your password next time."));
}));

// --- start ---------------------------------------------------------------------------------------

/**
 * The account this tab signed in with, from a wallet that still has it connected (EVM:
 * `eth_accounts`; Wallet Standard: the wallet's own account list), without a prompt.
 */
async function reconnect(signedIn) {
  const identifier = signedIn.identifier ?? signedIn.address?.toLowerCase();
  for (const w of await discoverWalletChoices({ timeoutMs: 400 })) {
    if (w.walletType !== (signedIn.walletType ?? "EVM")) continue;
    if (w.provider) {
      const accounts = await w.provider.request({ method: "eth_accounts" }).catch(() => []);
      if (!accounts.some((a) => sameWallet(a, identifier))) continue;
    } else if (!w.standard.accounts.length) {
      continue;
    }
    const account = await connectAccount(w).catch(() => null);
    if (account && sameWallet(account.identifier, identifier)) {
      useAccount(w, account);
      return account;
    }
  }
  return null;
}

showStatus();
(async () => {
  const signedIn = JSON.parse(sessionStorage.getItem(SIGNED_IN) ?? "null");
  await listWallets();
  if (signedIn) {
    // The session cookie may still be valid: reconnect the same wallet without asking it to sign.
    const account = await reconnect(signedIn);
    if (account) return afterSignIn();
  }
})().catch((e) => showError($("wallet-list"), e));

// Errors nobody caught still reach the person.
window.addEventListener("unhandledrejection", (e) => {
  $("tx-status").replaceChildren(el("p", { class: "error", role: "alert" }, describeError(e.reason)));
});
