//! The product as `idos serve` runs it, in real Chromium: the landing page on the app origin
//! (`http://localhost:…`) reads the node's status and walks through the enclave on its own site
//! (`http://127.0.0.1:…`): create a key in the enclave's dialog, encrypt, and release the
//! plaintext only after approving in the dialog. The page never holds the password or the key,
//! and receives no plaintext before the approval: the test records every message the page
//! receives and scans the whole DOM, its storage and those messages.

use std::sync::Arc;
use std::time::Duration;

use e2e::kit::click_armed;
use e2e::{Browser, back_to, enclave_dist, js, open_dialog, poll, root, serve};
use fantoccini::{Client, Locator};
use node::run::{NodeConfig, start_embedded};
use protocol::kdf::{KdfVersion, derive_user_key};
use relay::api::ApiState;
use relay::node_client::NodeClient;
use relay::ops::{Ops, OpsConfig, RpcStatusProbe};
use relay::web::site::{SiteConfig, site_router};
use relay::web::{EnclaveWebConfig, enclave_router};

const PASSWORD: &str = "correct horse battery staple";

/// Installed before the page connects: records (as JSON text) the data of every message the
/// page receives, on `window` and on every `MessagePort` it listens to.
const RECORD_MESSAGES: &str = r#"
window.received = [];
const record = (data) => { try { window.received.push(JSON.stringify(data)); } catch (e) { window.received.push(String(data)); } };
addEventListener('message', (e) => record(e.data), true);
const slot = Object.getOwnPropertyDescriptor(MessagePort.prototype, 'onmessage');
Object.defineProperty(MessagePort.prototype, 'onmessage', {
  configurable: true,
  get() { return slot.get.call(this); },
  set(f) { slot.set.call(this, f && function (e) { record(e.data); return f.call(this, e); }); },
});
const listen = MessagePort.prototype.addEventListener;
MessagePort.prototype.addEventListener = function (type, f, o) {
  return listen.call(this, type, type === 'message' ? (e) => { record(e.data); return f(e); } : f, o);
};
return 1;
"#;

/// Everything the page holds that a script can read: the DOM with form values, local and
/// session storage, cookies, and every IndexedDB database of its origin.
const PAGE_HOLDINGS: &str = r#"
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
return parts.join('\n');
"#;

/// Waits for the page's log to contain `text`; returns the log.
async fn log_contains(c: &Client, text: &str, secs: u64) -> String {
    let found = poll(
        c,
        "return document.getElementById('log').textContent",
        secs,
        |v| {
            v.as_str()
                .is_some_and(|log| log.contains(text) || log.contains("error"))
        },
    )
    .await;
    let log = found.as_str().unwrap_or_default().to_owned();
    assert!(
        log.contains(text),
        "expected {text:?} in the page log:\n{log}"
    );
    log
}

async fn click(c: &Client, id: &str) {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&format!("#{id}:not([disabled])")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The API as `idos serve` builds it: sign-in and the access log over the relay store.
fn api_state(data: &std::path::Path, app_origin: &str, node: NodeClient) -> ApiState {
    let store = relay::store::RelayStore::open(&data.join("relay-data")).unwrap();
    let mut config = relay::auth::AuthConfig::new(app_origin);
    config.network = node.chain_id().to_owned();
    let auth =
        relay::auth::Auth::new(config, relay::auth::SessionKey::generate(), store.clone()).unwrap();
    ApiState::new(
        node,
        Duration::from_secs(5),
        auth,
        relay::access_log::AccessLog::new(store),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_landing_page_walks_through_the_enclave_with_consent() {
    let data = tempfile::TempDir::new().unwrap();
    // As `idos serve` does: the node and its RPC, which the app origin reaches through.
    let rpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (running, _rpc_server) = start_embedded(
        data.path(),
        &NodeConfig {
            sync_writes: Some(false),
            ..Default::default()
        },
        rpc,
    )
    .await
    .unwrap();
    let chain = running.chain.clone();
    let node = NodeClient::connect(
        &format!("http://{}", running.rpc_addr),
        protocol::identity::Ed25519SigningKey::generate(),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    // As `idos serve` does: the app on `localhost`, the enclave on `127.0.0.1` (two sites). The
    // enclave must know the app origin before the app knows the enclave's: bind both first.
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!(
        "http://localhost:{}",
        app_listener.local_addr().unwrap().port()
    );
    let enclave = serve(enclave_router(
        EnclaveWebConfig::new(enclave_dist(), vec![app.clone()]).unwrap(),
    ))
    .await;
    let site = site_router(
        SiteConfig {
            dir: root().join("www"),
            enclave_origin: enclave.clone(),
            dev_wallet: None,
        },
        node.clone(),
        relay::api::app(api_state(data.path(), &app, node)),
    );
    let probe = RpcStatusProbe::new(
        &format!("http://{}", running.rpc_addr),
        Duration::from_secs(2),
    );
    let ops = Ops::new(OpsConfig::default(), Arc::new(probe.unwrap())).unwrap();
    let site = ops.wrap(site.merge(ops.router()));
    tokio::spawn(relay::ops::serve(
        app_listener,
        site,
        std::future::pending(),
        Duration::from_secs(1),
    ));

    let b = Browser::start().await;
    let c = &b.client;
    c.goto(&format!("{app}/")).await.unwrap();
    let status = poll(
        c,
        "return document.getElementById('status').textContent",
        10,
        |v| v.as_str().is_some_and(|s| s.starts_with("Chain")),
    )
    .await;
    // A new chain commits its first (empty) block at start, as CometBFT does.
    assert_eq!(status, "Chain idos-local at height 1.");

    // Record every message the page receives, on the window and on any MessagePort.
    js(c, RECORD_MESSAGES, vec![]).await;
    click(c, "connect").await;
    log_contains(c, "connected; user", 15).await;

    // A new user: the dialog creates the key from a password typed twice.
    click(c, "unlock").await;
    let main = open_dialog(c).await;
    poll(
        c,
        "return document.body && document.body.dataset.state",
        10,
        |v| v == "unlock",
    )
    .await;
    assert_eq!(
        js(
            c,
            "return document.getElementById('title').textContent",
            vec![]
        )
        .await,
        "Create your idOS key"
    );
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Id("password-confirm"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    click_armed(c, "unlock-submit").await;
    back_to(c, &main).await;
    log_contains(c, "key ready; public key", 30).await;

    // The page gets ciphertext back...
    click(c, "encrypt").await;
    log_contains(c, "ciphertext from the enclave", 10).await;
    let received = js(c, "return window.received", vec![]).await;
    assert!(
        received.to_string().contains("encryptorPublicKey"),
        "the recorder saw the enclave's answers: {received}"
    );

    // ...and nothing the page never had: not the password, not the key (in any encoding), not
    // the note's plaintext in any message from the enclave. Everything the page holds is
    // scanned: the DOM with form values, its storage, cookies and every message it received.
    let user_id = js(c, "return localStorage.getItem('idos-demo-user')", vec![]).await;
    let key = derive_user_key(PASSWORD, user_id.as_str().unwrap(), KdfVersion::default()).unwrap();
    let secrets = [
        PASSWORD.to_owned(),
        key.to_base64().to_string(),
        protocol::codec::hex_encode(&key.to_bytes()[..]),
    ];
    let holdings = js(c, PAGE_HOLDINGS, vec![]).await;
    let holdings = holdings.as_str().unwrap();
    assert!(
        holdings.contains(&user_id.as_str().unwrap().to_owned()),
        "the scan reads storage"
    );
    for secret in &secrets {
        assert!(
            !holdings.contains(secret.as_str()),
            "the page holds a secret it was never given"
        );
    }
    let received = js(c, "return window.received.join('\\n')", vec![]).await;
    assert!(
        !received.as_str().unwrap().contains("X1234567"),
        "plaintext reached the page before approval"
    );

    // ...until the user approves a release in the enclave's dialog.
    click(c, "release").await;
    let main = open_dialog(c).await;
    let state = poll(
        c,
        "return document.body && document.body.dataset.state",
        10,
        |v| v == "release",
    )
    .await;
    let url = c.current_url().await.unwrap();
    assert_eq!(state, "release", "dialog at {url}");
    let origin = js(
        c,
        "return document.getElementById('consent-origin').textContent",
        vec![],
    )
    .await;
    assert_eq!(origin, app.as_str(), "the dialog names the requesting site");
    click_armed(c, "approve").await;
    back_to(c, &main).await;
    log_contains(c, "released with your approval: passport: X1234567", 15).await;
    // The recorder would have seen it: the approved release is the first message carrying it.
    let received = js(c, "return window.received.join('\\n')", vec![]).await;
    assert!(received.as_str().unwrap().contains("X1234567"));
    let holdings = js(c, PAGE_HOLDINGS, vec![]).await;
    for secret in &secrets {
        assert!(!holdings.as_str().unwrap().contains(secret.as_str()));
    }

    b.close().await;
    chain.stop();
}
