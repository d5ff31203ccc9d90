//! The demo issuer's page (app origin, `/issuer/`) and the demo dapp's page (its own site,
//! `http://127.0.0.2:…`), assembled as `idos serve` assembles them (bundled node, relay API with
//! CORS for the dapp origin, the development wallet on both origins, the enclave framed by both),
//! in real Chromium:
//!
//! a new user connects the development wallet and signs in on the issuer page, creates a key in
//! the enclave's dialog, signs the wallet-ownership proof and the delegated write grant, and
//! gets a credential; then, on the dapp's site, signs in again (cross-origin, bearer session),
//! unlocks the key (another site: another storage partition), approves sharing with the dapp in
//! the enclave's dialog, signs the 30-day-locked `share_credential`, and the dapp's back end
//! decrypts and verifies the credential: the page shows "Verified" with the issued document
//! number, which was nowhere in the dapp page before. Both pages pass axe-core.

use std::sync::Arc;
use std::time::Duration;

use e2e::kit::{assert_accessible, click_armed, dialog_state, unlock_in_dialog};
use e2e::pages::{
    approve_in_dev_wallet, click, enclave_dialog, get_credential_on_issuer_page, holdings,
    screenshot, text_of,
};
use e2e::product::{api_state, bundled_node, with_ops};
use e2e::{Browser, back_to, enclave_dist, js, root};
use idos_demo::RelayTarget;
use idos_demo::dapp::DappConfig;
use idos_demo::issuer::{Issuer, IssuerConfig, Registration};
use protocol::identity::Ed25519SigningKey;
use protocol::nacl_box::EncryptionSecretKey;
use relay::api::cors::cors;
use relay::cli::dev_wallet::DevWallet;
use relay::web::site::{SiteConfig, dev_wallet_routes, site_router};
use relay::web::{EnclaveWebConfig, enclave_router};

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issuer_page_issues_a_credential_and_the_dapp_page_gets_it_verified() {
    let data = tempfile::TempDir::new().unwrap();
    let www = root().join("www");
    let bundled = bundled_node(data.path()).await;
    let chain = bundled.chain.clone();
    let node = bundled.client.clone();
    // Three sites, as `idos serve` makes them: localhost (app), 127.0.0.1 (enclave), 127.0.0.2
    // (the demo dapp).
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_port = app_listener.local_addr().unwrap().port();
    let app = format!("http://localhost:{app_port}");
    let dapp_listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let dapp = format!("http://{}", dapp_listener.local_addr().unwrap());
    let enclave = e2e::serve(enclave_router(
        EnclaveWebConfig::new(enclave_dist(), vec![app.clone(), dapp.clone()]).unwrap(),
    ))
    .await;
    let wallet = DevWallet::open(data.path(), 1).unwrap();
    let dev_wallet = wallet.router(&www, vec![app.clone(), dapp.clone()]);
    let api = relay::api::app(api_state(
        data.path(),
        &app,
        std::slice::from_ref(&dapp),
        node.clone(),
    ))
    .layer(cors(std::slice::from_ref(&dapp)));
    let target = RelayTarget::new(&format!("http://127.0.0.1:{app_port}"), app.clone()).unwrap();
    let issuer = Issuer::new(IssuerConfig {
        relay: target.clone(),
        key: Ed25519SigningKey::generate(),
        box_key: Arc::new(EncryptionSecretKey::generate()),
        name: "idOS-rs demo issuer".into(),
        level: "basic".into(),
        owner_key_file: Some(data.path().join("owner_key")),
    });
    let site = site_router(
        SiteConfig {
            dir: www.clone(),
            enclave_origin: enclave.clone(),
            dev_wallet: Some(dev_wallet.clone()),
        },
        node.clone(),
        api,
    )
    .merge(idos_demo::issuer::router(issuer.clone()));
    let site = with_ops(site, bundled.rpc_addr);
    tokio::spawn(relay::ops::serve(
        app_listener,
        site,
        std::future::pending(),
        Duration::from_millis(200),
    ));
    let dapp_site = idos_demo::dapp::router(DappConfig {
        relay: target,
        enclave_origin: enclave.clone(),
        key: Ed25519SigningKey::generate(),
        box_key: Arc::new(EncryptionSecretKey::generate()),
        name: "Demo Exchange".into(),
        required_level: "basic".into(),
        trusted_issuers: vec![(issuer.public_key(), "idOS-rs demo issuer".into())],
        www: www.clone(),
        siwe_chain_id: 1,
        dev_wallet: true,
    })
    .merge(dev_wallet_routes(Some(dev_wallet)));
    tokio::spawn(async move { axum::serve(dapp_listener, dapp_site).await.unwrap() });
    assert_eq!(issuer.ensure_registered().await, Registration::Registered);

    let b = Browser::start().await;
    let c = &b.client;

    // --- The issuer's page ----------------------------------------------------------------------
    c.goto(&format!("{app}/issuer/")).await.unwrap();
    text_of(c, "#issuer-registration", 10, |t| {
        t.starts_with("registered")
    })
    .await;
    text_of(c, "#wallet-choices", 10, |t| {
        t.contains("development wallet")
    })
    .await;
    assert_accessible(c).await;
    screenshot(c, "issuer-connect", None).await;
    click(c, "button.wallet[data-rdns='network.idos.dev-wallet']").await;
    let shown = approve_in_dev_wallet(c).await;
    assert!(
        shown.starts_with(&format!("{app} wants you to sign in")),
        "{shown}"
    );
    let address = wallet.current();
    text_of(c, "#signed-in-address", 15, |t| t == address).await;

    // A new user: the key is created in the enclave's dialog.
    let document = get_credential_on_issuer_page(c, PASSWORD).await;
    for step in ["key", "proof", "profile", "grant", "credential"] {
        let state = js(
            c,
            &format!(
                "return document.querySelector('#progress li[data-step={step}]').dataset.state"
            ),
            vec![],
        )
        .await;
        assert_eq!(state, "done", "{step}");
    }
    assert_accessible(c).await;
    screenshot(c, "issuer-issued", Some("#progress")).await;

    // --- The dapp's page, on another site ---------------------------------------------------------
    c.goto(&format!("{dapp}/")).await.unwrap();
    text_of(c, "#wallet-choices", 15, |t| {
        t.contains("development wallet")
    })
    .await;
    assert_accessible(c).await;
    screenshot(c, "dapp-connect", None).await;
    click(c, "button.wallet[data-rdns='network.idos.dev-wallet']").await;
    let shown = approve_in_dev_wallet(c).await;
    assert!(
        shown.starts_with(&format!("{dapp} wants you to sign in")),
        "{shown}"
    );
    text_of(c, "#credential-found", 20, |t| {
        t.contains("KYC credential, level basic")
    })
    .await;
    assert!(
        !holdings(c).await.contains(&document),
        "the dapp page holds nothing of the content before the user shares it"
    );
    click(c, "#share").await;
    // The enclave under this site has no remembered key: unlock, then approve the recipient.
    let main = enclave_dialog(c).await;
    unlock_in_dialog(c, PASSWORD, "session").await;
    back_to(c, &main).await;
    let main = enclave_dialog(c).await;
    assert_eq!(dialog_state(c, "share").await, "share");
    click_armed(c, "approve").await;
    back_to(c, &main).await;
    let tx = approve_in_dev_wallet(c).await;
    assert!(tx.contains("share_credential"), "{tx}");
    text_of(c, "#verified", 40, |t| t == "Verified").await;
    text_of(c, "#verified-document", 5, |t| t.contains(&document)).await;
    text_of(c, "#verified-level", 5, |t| t == "basic").await;
    assert_accessible(c).await;
    screenshot(c, "dapp-verified", Some("#result-section")).await;

    b.close().await;
    chain.stop();
}
