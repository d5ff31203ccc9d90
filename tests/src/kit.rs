//! The enclave's browser-test kit, shared by the e2e tests and `dialog-screenshots`: sites on
//! loopback ports (host pages and the enclave), credentials encrypted natively to the test
//! user's key, and steps that drive the test host page (`tests/site/host`) and the dialog.

use std::time::Duration;

use fantoccini::{Client, Locator};
use protocol::credential::sign_credential;
use protocol::identity::Ed25519SigningKey;
use protocol::kdf::{KdfVersion, derive_user_key};
use protocol::nacl_box::{EncryptionSecretKey, encrypt};
use relay::web::{EnclaveWebConfig, enclave_router};
use serde_json::{Value, json};

use crate::{enclave_dist, host_router, js, open_dialog, poll, serve};

pub const UID: &str = "9f51b3b2-4cbe-4c2b-8ea3-0b0c1b2f1a11";
pub const PASSWORD: &str = "correct horse battery staple";
pub const SECRET: &str = r#"{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential","KYC"],"issuer":"did:example:issuer","credentialSubject":{"givenName":"Ada","familyName":"Lovelace","birthDate":"1815-12-10","nationality":"GB","address":{"city":"London","country":"GB"},"level":"plus"}}"#;
pub const CREDENTIAL_ID: &str = "2242fc3b-2d17-4161-b751-8abad15e1ef4";

/// Two allowed host origins (two ports of 127.0.0.1: one site, so one storage partition for the
/// enclave frame), one host that is not allowed, and the enclave.
pub struct Sites {
    pub host: String,
    pub host2: String,
    pub evil: String,
    pub enclave: String,
}

pub async fn sites() -> Sites {
    let host = serve(host_router()).await;
    let host2 = serve(host_router()).await;
    let evil = serve(host_router()).await;
    let cfg = EnclaveWebConfig::new(enclave_dist(), vec![host.clone(), host2.clone()])
        .expect("valid origins");
    let enclave = serve(enclave_router(cfg)).await;
    Sites {
        host,
        host2,
        evil,
        enclave,
    }
}

/// The test user's key (idOS's KDF over `PASSWORD`).
pub fn user_key() -> EncryptionSecretKey {
    derive_user_key(PASSWORD, UID, KdfVersion::default()).unwrap()
}

/// `SECRET` encrypted to the user's key, as the host passes it in; and the user's public key.
pub fn credential() -> (Value, String) {
    credential_of(SECRET, &user_key())
}

/// `plaintext` encrypted to `key`, without issuer signatures.
pub fn credential_of(plaintext: &str, key: &EncryptionSecretKey) -> (Value, String) {
    let e = encrypt(plaintext.as_bytes(), &key.public_key()).unwrap();
    let cred = json!({
        "id": CREDENTIAL_ID,
        "content": protocol::codec::base64_encode(&e.content),
        "encryptorPublicKey": e.encryptor_public_key.to_text(),
        "publicNotes": "{\"type\":\"KYC\",\"level\":\"plus\"}",
    });
    (cred, key.public_key().to_text())
}

/// `SECRET` signed by an issuer (its key returned) as idOS stores credentials.
pub fn signed_credential() -> (Value, Ed25519SigningKey) {
    let (mut cred, _) = credential();
    let issuer = Ed25519SigningKey::from_seed(&[42; 32]);
    let content =
        protocol::codec::base64_decode("content", cred["content"].as_str().unwrap()).unwrap();
    let sigs = sign_credential(&issuer, cred["publicNotes"].as_str().unwrap(), &content);
    cred["issuerAuthPublicKey"] = json!(issuer.public_key().to_text());
    cred["publicNotesSignature"] = json!(sigs.public_notes_signature.to_text());
    cred["broaderSignature"] = json!(sigs.broader_signature.to_text());
    (cred, issuer)
}

/// Opens the test host page on `host` and connects it to the enclave.
pub async fn open_host(c: &Client, host: &str, enclave: &str) -> Value {
    c.goto(&format!("{host}/index.html")).await.unwrap();
    poll(c, "return window.hostReady === true", 10, |v| v == true).await;
    js(
        c,
        "return window.connect(arguments[0], 4000)",
        vec![json!(format!("{enclave}/"))],
    )
    .await
}

/// Starts an enclave call from the host page; returns its id.
pub async fn start(c: &Client, method: &str, params: Value) -> i64 {
    js(
        c,
        "return window.start(arguments[0], arguments[1])",
        vec![json!(method), params],
    )
    .await
    .as_i64()
    .unwrap()
}

/// Waits up to `secs` for the call to settle: `{state: done, result}` or `{state: error, error}`.
pub async fn outcome(c: &Client, id: i64, secs: u64) -> Value {
    poll(c, &format!("return window.calls[{id}]"), secs, |v| {
        v["state"] != "pending"
    })
    .await
}

/// `configure` with the test user (and `expected` public key, if any); returns the status.
pub async fn configure(c: &Client, expected: Option<&str>) -> Value {
    let id = start(
        c,
        "configure",
        json!({"userId": UID, "expectedPublicKey": expected}),
    )
    .await;
    outcome(c, id, 10).await
}

/// Waits for the dialog to show `want` (its `<body data-state>`).
pub async fn dialog_state(c: &Client, want: &str) -> Value {
    poll(
        c,
        "return document.body && document.body.dataset.state",
        10,
        |v| v == want,
    )
    .await
}

/// Waits until the dialog accepts approving input (`<body data-armed>`).
pub async fn wait_armed(c: &Client) {
    let armed = poll(
        c,
        "return document.body.hasAttribute('data-armed')",
        10,
        |v| v == true,
    )
    .await;
    assert_eq!(armed, true, "the dialog never accepted input");
}

/// Clicks a dialog button once the dialog accepts approving input.
pub async fn click_armed(c: &Client, id: &str) {
    wait_armed(c).await;
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Types each `(field id, value)` into the dialog's form and chooses how long to `remember` the
/// key (`none`, `session`, `7d`, …); the caller submits (`click_armed(c, "unlock-submit")`).
pub async fn fill_dialog(c: &Client, fields: &[(&str, &str)], remember: &str) {
    for (field, value) in fields {
        c.find(Locator::Id(field))
            .await
            .unwrap_or_else(|e| panic!("dialog field {field}: {e}"))
            .send_keys(value)
            .await
            .unwrap();
    }
    c.find(Locator::Css(&format!(
        "input[name=remember][value='{remember}']"
    )))
    .await
    .unwrap_or_else(|e| panic!("remember option {remember}: {e}"))
    .click()
    .await
    .unwrap();
}

/// Creates the user's key in the open dialog: `password` typed twice, kept for `remember`,
/// submitted; then back in the `main` window once the dialog has closed.
pub async fn create_key_in_dialog(
    c: &Client,
    password: &str,
    remember: &str,
    main: &fantoccini::wd::WindowHandle,
) {
    fill_dialog(
        c,
        &[("password", password), ("password-confirm", password)],
        remember,
    )
    .await;
    click_armed(c, "unlock-submit").await;
    crate::back_to(c, main).await;
}

/// Types `password` in the unlock dialog, chooses `remember` and submits.
pub async fn unlock_in_dialog(c: &Client, password: &str, remember: &str) {
    assert_eq!(dialog_state(c, "unlock").await, "unlock");
    let field = c.find(Locator::Id("password")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(password).await.unwrap();
    c.find(Locator::Css(&format!(
        "input[name=remember][value='{remember}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    click_armed(c, "unlock-submit").await;
}

/// Opens `url` in a new window named `name` from a real click (popup blocking is on);
/// the window is `window.opened` in the page.
pub async fn click_to_open(c: &Client, url: &str, name: &str) {
    js(
        c,
        r#"document.getElementById('open-window')?.remove();
           const b = document.createElement('button');
           b.id = 'open-window';
           b.textContent = 'open';
           b.onclick = () => { window.opened = window.open(arguments[0], arguments[1]); };
           document.body.prepend(b);
           return 1;"#,
        vec![json!(url), json!(name)],
    )
    .await;
    c.find(Locator::Id("open-window"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The text of an element of the current page.
pub async fn text(c: &Client, id: &str) -> Value {
    js(
        c,
        "const e = document.getElementById(arguments[0]); return e ? e.textContent : null",
        vec![json!(id)],
    )
    .await
}

/// What the dialog shows: the ids of visible buttons and the visible form inputs (`id`, or
/// `name=value` for radio buttons), in page order.
pub async fn visible_controls(c: &Client) -> Value {
    js(
        c,
        r#"const shown = (e) => e.checkVisibility({visibilityProperty: true});
           const inputs = [...document.querySelectorAll('input')].filter(shown)
             .map(i => i.type === 'radio' ? `${i.name}=${i.value}` : i.id);
           const buttons = [...document.querySelectorAll('button')].filter(shown).map(b => b.id);
           return {inputs, buttons};"#,
        vec![],
    )
    .await
}

/// Every dialog mode, in the order [`tour_dialog_modes`] visits them.
pub const MODES: &[&str] = &[
    "create", "release", "share", "view", "filter", "backup", "change", "allow", "unlock",
];

/// Drives a fresh browser profile through every dialog mode and calls `at` with the mode's
/// name while its dialog is open and armed (the current window), then answers it.
pub async fn tour_dialog_modes(c: &Client, s: &Sites, mut at: impl AsyncFnMut(&str)) {
    let (cred, pk) = credential();
    let (signed, _) = signed_credential();
    let grantee = EncryptionSecretKey::from_bytes([9; 32]);
    assert_eq!(open_host(c, &s.host, &s.enclave).await, json!({"ok": true}));
    configure(c, None).await;

    let create = start(c, "ensureKey", json!({})).await;
    let main = open_dialog(c).await;
    dialog_state(c, "unlock").await;
    wait_armed(c).await;
    at("create").await;
    create_key_in_dialog(c, PASSWORD, "7d", &main).await;
    assert_eq!(outcome(c, create, 20).await["result"]["publicKey"], pk);

    let steps: [(&str, &str, Value, &str, &str); 5] = [
        (
            "release",
            "release",
            json!({"credential": signed}),
            "release",
            "deny",
        ),
        (
            "share",
            "share",
            json!({"credential": signed, "granteePublicKey": grantee.public_key().to_text(), "granteeLabel": "Acme Exchange"}),
            "share",
            "deny",
        ),
        (
            "view",
            "view",
            json!({"credential": cred}),
            "view",
            "view-close",
        ),
        (
            "filter",
            "filter",
            json!({"credentials": [cred], "pick": {"credentialSubject.nationality": ["DE", "FR", "GB"]}, "omit": {"credentialSubject.level": ["basic"]}}),
            "filter",
            "filter-deny",
        ),
        ("backup", "backup", json!({}), "backup", "backup-done"),
    ];
    for (mode, method, params, state, answer) in steps {
        let id = start(c, method, params).await;
        open_dialog(c).await;
        dialog_state(c, state).await;
        wait_armed(c).await;
        at(mode).await;
        click_armed(c, answer).await;
        crate::back_to(c, &main).await;
        outcome(c, id, 10).await;
    }

    let change = start(c, "changePassword", json!({"originals": [cred]})).await;
    open_dialog(c).await;
    dialog_state(c, "changePassword").await;
    wait_armed(c).await;
    at("change").await;
    click_armed(c, "unlock-cancel").await;
    crate::back_to(c, &main).await;
    outcome(c, change, 10).await;

    // The key is remembered for `host` only: on `host2` the dialog offers "allow this site";
    // after `forget` (which wipes the record) it is the plain unlock dialog.
    assert_eq!(
        open_host(c, &s.host2, &s.enclave).await,
        json!({"ok": true})
    );
    configure(c, Some(&pk)).await;
    let allow = start(c, "ensureKey", json!({})).await;
    let main = open_dialog(c).await;
    dialog_state(c, "unlock").await;
    wait_armed(c).await;
    at("allow").await;
    click_armed(c, "unlock-cancel").await;
    crate::back_to(c, &main).await;
    outcome(c, allow, 10).await;

    let forget = start(c, "forget", json!({})).await;
    outcome(c, forget, 10).await;
    let unlock = start(c, "ensureKey", json!({})).await;
    open_dialog(c).await;
    dialog_state(c, "unlock").await;
    wait_armed(c).await;
    at("unlock").await;
    click_armed(c, "unlock-cancel").await;
    crate::back_to(c, &main).await;
    outcome(c, unlock, 10).await;
}

/// Sleeps a little (for things that must *not* happen).
pub async fn settle(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// axe-core as `scripts/setup.sh` installs it (`$IDOS_TOOLS_DIR`, default `~/.cache/idos-tools`).
fn axe_source() -> String {
    let tools = std::env::var_os("IDOS_TOOLS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/idos-tools")
        });
    let path = tools.join("node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core not found at {} ({e}): run scripts/setup.sh",
            path.display()
        )
    })
}

/// Runs axe-core (WCAG 2.1 A and AA rules, and axe's best practices) on the current page and
/// fails listing every violation: rule, impact, what it means and the elements.
pub async fn assert_accessible(c: &Client) {
    let script = format!(
        "{}\nreturn await axe.run(document, {{runOnly: {{type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}}, resultTypes: ['violations']}}).then(r => r.violations.map(v => ({{id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)}})));",
        axe_source()
    );
    let violations = js(c, &script, vec![]).await;
    let url = c
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    assert_eq!(
        violations,
        json!([]),
        "accessibility violations on {url}:\n{}",
        serde_json::to_string_pretty(&violations).unwrap_or_default()
    );
}
