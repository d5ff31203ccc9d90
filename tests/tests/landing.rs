//! The product as `idos serve` runs it, in real Chromium: the landing page on the app origin
//! reads the node's status and walks through the enclave on its own origin: create a key in
//! the enclave's dialog, encrypt, and release the plaintext only after approving in the dialog.

use std::sync::Arc;
use std::time::Duration;

use e2e::{Browser, back_to, enclave_dist, js, open_dialog, poll, root, serve};
use fantoccini::{Client, Locator};
use node::run::{NodeConfig, start_chain};
use relay::web::site::{SiteConfig, site_router};
use relay::web::{EnclaveWebConfig, enclave_router};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_landing_page_walks_through_the_enclave_with_consent() {
    let data = tempfile::TempDir::new().unwrap();
    let (chain, _) = start_chain(
        data.path(),
        &NodeConfig {
            sync_writes: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    // The enclave must know the app origin before the app knows the enclave's: bind both first.
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://{}", app_listener.local_addr().unwrap());
    let enclave = serve(enclave_router(
        EnclaveWebConfig::new(enclave_dist(), vec![app.clone()]).unwrap(),
    ))
    .await;
    let site = site_router(
        SiteConfig {
            dir: root().join("www"),
            enclave_origin: enclave.clone(),
        },
        Arc::clone(&chain),
    );
    tokio::spawn(async move { axum::serve(app_listener, site).await.unwrap() });

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
        .send_keys("correct horse battery staple")
        .await
        .unwrap();
    c.find(Locator::Id("password-confirm"))
        .await
        .unwrap()
        .send_keys("correct horse battery staple")
        .await
        .unwrap();
    c.find(Locator::Id("unlock-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    back_to(c, &main).await;
    log_contains(c, "key ready; public key", 30).await;

    // The page only ever holds ciphertext...
    click(c, "encrypt").await;
    let log = log_contains(c, "ciphertext (all this page holds)", 10).await;
    assert!(
        !log.contains("X1234567"),
        "plaintext reached the page before approval:\n{log}"
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
    c.find(Locator::Id("approve"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    back_to(c, &main).await;
    log_contains(c, "released with your approval: passport: X1234567", 15).await;

    b.close().await;
    chain.stop();
}
