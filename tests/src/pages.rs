//! Steps on the web apps' pages (the dashboard, the demo issuer and dapp, the development
//! wallet's confirmation), shared by `tests/tests/dashboard.rs`, `demo_pages.rs` and
//! `journey.rs`: click when enabled, wait for a text, answer the development wallet, open the
//! enclave's dialog, read everything a page holds, and take the screenshots
//! `scripts/screenshots.sh` collects.

use std::path::PathBuf;
use std::time::Duration;

use fantoccini::{Client, Locator};

use crate::kit::{create_key_in_dialog, dialog_state};
use crate::{js, open_dialog, poll};

/// How long a step waits for the page (a transaction's commit, a dialog, a wallet prompt) before
/// the test fails with what the page reads.
const STEP_SECS: u64 = 30;

/// Everything a page holds that a script can read: the DOM with form values, local and session
/// storage, cookies, every IndexedDB database of its origin, and what `journey.rs`'s recorders
/// kept (messages and fetch responses) when they were installed. A script to run with
/// [`crate::js`]; it returns one string.
pub const PAGE_HOLDINGS: &str = r#"
const parts = [document.documentElement.outerHTML, document.cookie];
for (const el of document.querySelectorAll('input, textarea')) parts.push(el.value);
for (const store of [localStorage, sessionStorage])
  for (let i = 0; i < store.length; i++) parts.push(store.key(i), store.getItem(store.key(i)));
for (const { name } of await indexedDB.databases()) {
  const db = await new Promise((ok, no) => { const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); r.onerror = no; });
  for (const table of db.objectStoreNames) {
    const rows = await new Promise((ok) => { const r = db.transaction(table).objectStore(table).getAll(); r.onsuccess = () => ok(r.result); });
    parts.push(name, table, JSON.stringify(rows));
  }
  db.close();
}
await Promise.all(window.journeyPendingReads ?? []);
parts.push(...(window.journeyReceived ?? []), ...(window.journeyFetched ?? []));
return parts.join('\n');
"#;

/// What the current page holds (see [`PAGE_HOLDINGS`]).
pub async fn holdings(c: &Client) -> String {
    js(c, PAGE_HOLDINGS, vec![])
        .await
        .as_str()
        .expect("PAGE_HOLDINGS returns a string")
        .to_owned()
}

/// Clicks the first element matching `css` once it exists and is enabled.
pub async fn click(c: &Client, css: &str) {
    c.wait()
        .at_most(Duration::from_secs(STEP_SECS))
        .for_element(Locator::Css(&format!("{css}:not([disabled])")))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// Waits up to `secs` for the text of the first element matching `css` to satisfy `done`;
/// returns it, or fails with what the page reads.
pub async fn text_of(c: &Client, css: &str, secs: u64, done: impl Fn(&str) -> bool) -> String {
    let v = poll(
        c,
        &format!("const e = document.querySelector({css:?}); return e ? e.textContent : null"),
        secs,
        |v| v.as_str().is_some_and(&done),
    )
    .await;
    let text = v.as_str().unwrap_or_default().to_owned();
    if !done(&text) {
        let page = js(c, "return document.body.innerText", vec![]).await;
        panic!(
            "{css}: {v}\nthe page reads:\n{}",
            page.as_str().unwrap_or_default()
        );
    }
    text
}

/// Waits for the development wallet's confirmation to open; returns the text it shows.
pub async fn dev_wallet_request(c: &Client) -> String {
    text_of(
        c,
        "#dev-wallet-confirm[open] #dev-wallet-message",
        STEP_SECS,
        |t| !t.is_empty(),
    )
    .await
}

/// Approves the development wallet's confirmation and waits for it to close (so the next
/// confirmation is a new request); returns the text it showed.
pub async fn approve_in_dev_wallet(c: &Client) -> String {
    let shown = dev_wallet_request(c).await;
    click(c, "#dev-wallet-approve").await;
    poll(
        c,
        "return !document.querySelector('#dev-wallet-confirm[open]')",
        STEP_SECS,
        |v| v == true,
    )
    .await;
    shown
}

/// Waits for the page to embed the enclave, then opens its dialog (see [`crate::open_dialog`]);
/// returns the page's window.
pub async fn enclave_dialog(c: &Client) -> fantoccini::wd::WindowHandle {
    poll(
        c,
        "return !!document.querySelector('#idos-enclave-iframe')",
        STEP_SECS,
        |v| v == true,
    )
    .await;
    open_dialog(c).await
}

/// With `IDOS_SCREENSHOTS=<dir>` (scripts/screenshots.sh), a PNG of the current window at a
/// desktop (1280×800) and a phone (390×844) width, scrolled to `at` (a CSS selector) if given:
/// `<dir>/<name>-<size>.png`. Does nothing otherwise.
pub async fn screenshot(c: &Client, name: &str, at: Option<&str>) {
    let Some(dir) = std::env::var_os("IDOS_SCREENSHOTS") else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    for (size, width, height) in [("desktop", 1280, 800), ("phone", 390, 844)] {
        c.set_window_size(width, height).await.expect("resize");
        if let Some(css) = at {
            js(
                c,
                "document.querySelector(arguments[0]).scrollIntoView({block: 'start'}); return 1",
                vec![serde_json::json!(css)],
            )
            .await;
        }
        // Let layout and fonts settle at the new width.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(dir.join(format!("{name}-{size}.png")), png).expect("write screenshot");
    }
    c.set_window_size(1280, 800).await.expect("resize");
}

/// On the demo issuer's page, signed in with the development wallet, for a new user: "Get
/// credential", the key created in the enclave's dialog with `password` (remembered for the
/// session), the wallet-ownership proof and the delegated write grant approved in the wallet;
/// waits for the issued notice and returns the credential's document number.
pub async fn get_credential_on_issuer_page(c: &Client, password: &str) -> String {
    click(c, "#get-credential").await;
    let main = enclave_dialog(c).await;
    assert_eq!(dialog_state(c, "unlock").await, "unlock");
    create_key_in_dialog(c, password, "session", &main).await;
    let proof = approve_in_dev_wallet(c).await;
    assert!(proof.starts_with("idOS wallet ownership proof"), "{proof}");
    let grant = approve_in_dev_wallet(c).await;
    assert!(
        grant.starts_with("operation: delegatedWriteGrant"),
        "{grant}"
    );
    text_of(c, "#issued-notice", 2 * STEP_SECS, |t| {
        t.starts_with("Done")
    })
    .await;
    text_of(c, "#issued-document-number", 5, |t| t.starts_with("DEMO")).await
}
