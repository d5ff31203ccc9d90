//! The dashboard, the app origin's main page, as `idos serve` runs it (app on
//! `http://localhost:…`, enclave on `http://127.0.0.1:…`, the bundled node, the development wallet
//! on), in real Chromium: the development wallet connects and signs the EIP-4361 sign-in (the
//! relay accepts its signature), a new user creates a key in the enclave, an issuer (this test,
//! through the relay) makes the profile with it and writes a credential and the user shares it
//! under a lock; the dashboard lists profile, credentials (issuer key fingerprint), grants (revoke
//! refused while locked, with the date), wallets and the access log, passes axe-core, never holds
//! the password or the key, and says in words what to do when the relay is down.

use std::time::Duration;

use e2e::kit::{assert_accessible, create_key_in_dialog};
use e2e::pages::{approve_in_dev_wallet, click, dev_wallet_request, holdings, screenshot, text_of};
use e2e::product::{api_state, bundled_node, with_ops};
use e2e::{Browser, enclave_dist, js, open_dialog, poll, root, serve};
use fantoccini::Client;
use idos_client::Client as Relay;
use node::testkit::{credential_input, plaintext, public_notes, share_action, wallet_proof};
use protocol::action::{
    AddDelegate, AddInserter, AddUserAsInserter, PasswordStore, UpsertCredentialAsInserter,
    UpsertWalletAsInserter,
};
use protocol::bytes::EncryptionPublicKey;
use protocol::identity::{Ed25519SigningKey, Identity, SignatureScheme, SigningKey};
use protocol::kdf::{KdfVersion, derive_user_key};
use protocol::nacl_box::EncryptionSecretKey;
use protocol::wallet::WalletType;
use relay::cli::dev_wallet::DevWallet;
use relay::web::site::{SiteConfig, site_router};
use relay::web::{EnclaveWebConfig, enclave_router};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";
const VC: &str = "urn:uuid:5b0e0f4c-9a8e-4d7e-9a57-6f3f4b1d2c11";

/// The dashboard's page weight, as the browser counts it (Resource Timing `transferSize`:
/// headers and bodies as sent, every request of the page so far: documents, styles, scripts,
/// the configuration and the first API calls) on a first visit with a cold cache (a fresh
/// browser profile). Printed for the README (`cargo test --workspace --test dashboard --
/// --nocapture`) and held under a budget, so a page that grows heavy fails here.
async fn page_weight(c: &Client) {
    const BUDGET_BYTES: u64 = 80_000;
    let weight = js(
        c,
        r#"const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
           return [all.reduce((n, e) => n + e.transferSize, 0), all.reduce((n, e) => n + e.encodedBodySize, 0), all.length];"#,
        vec![],
    )
    .await;
    let [bytes, bodies, requests] = [0, 1, 2].map(|i| weight[i].as_u64().unwrap());
    eprintln!(
        "dashboard first load: {bytes} bytes transferred in {requests} requests ({bodies} bytes of bodies), cold cache"
    );
    assert!(bodies > 0 && bytes >= bodies, "{weight}");
    assert!(
        bytes < BUDGET_BYTES,
        "the dashboard's first load transfers {bytes} bytes, over its budget of {BUDGET_BYTES}"
    );
}

/// The app origin as `idos serve` assembles it (bundled node, relay API, site with the
/// development wallet on, enclave origin), in this process.
struct Dashboard {
    app: String,
    /// The bundled node's trust root (`<chain id>@<validator key hex>`), as `idos serve` prints it.
    trust_root: String,
    wallet: DevWallet,
    chain: std::sync::Arc<node::chain::Chain>,
    stop_relay: tokio::sync::oneshot::Sender<()>,
    relay_server: tokio::task::JoinHandle<std::io::Result<relay::ops::shutdown::Stopped>>,
}

async fn start_dashboard(data: &std::path::Path) -> Dashboard {
    // As `idos serve` does: the bundled node trusts the relay's gateway key.
    let bundled = bundled_node(data).await;
    let node = bundled.client.clone();
    let trust_root = format!(
        "{}@{}",
        node.chain_id(),
        hex::encode(bundled.chain.validator().public_key.to_bytes())
    );
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!(
        "http://localhost:{}",
        app_listener.local_addr().unwrap().port()
    );
    let enclave = serve(enclave_router(
        EnclaveWebConfig::new(enclave_dist(), vec![app.clone()]).unwrap(),
    ))
    .await;
    let wallet = DevWallet::open(data, 1).unwrap();
    let site = site_router(
        SiteConfig {
            dir: root().join("www"),
            enclave_origin: enclave.clone(),
            dev_wallet: Some(wallet.router(&root().join("www"), vec![app.clone()])),
        },
        node.clone(),
        relay::api::app(api_state(data, &app, &[], node)),
    );
    let site = with_ops(site, bundled.rpc_addr);
    let (stop_relay, relay_stopping) = tokio::sync::oneshot::channel::<()>();
    let relay_server = tokio::spawn(relay::ops::serve(
        app_listener,
        site,
        async move {
            let _ = relay_stopping.await;
        },
        Duration::from_millis(200),
    ));
    Dashboard {
        app,
        trust_root,
        wallet,
        chain: bundled.chain,
        stop_relay,
        relay_server,
    }
}

/// Creates the key in the enclave's dialog from the dashboard's "no profile" state; returns
/// the new user id and public key (checked against the password).
async fn create_key_on_dashboard(c: &Client) -> (String, String, EncryptionSecretKey) {
    text_of(c, "#no-profile", 15, |t| t.contains("no idOS profile")).await;
    click(c, "#create-key").await;
    let main = open_dialog(c).await;
    poll(
        c,
        "return document.body && document.body.dataset.state",
        10,
        |v| v == "unlock",
    )
    .await;
    create_key_in_dialog(c, PASSWORD, "session", &main).await;
    let user_id = text_of(c, "#new-user-id", 30, |t| t.len() == 36).await;
    let public_key = text_of(c, "#new-public-key", 5, |t| !t.is_empty()).await;
    let key = derive_user_key(PASSWORD, &user_id, KdfVersion::default()).unwrap();
    assert_eq!(
        key.public_key().to_text(),
        public_key,
        "the enclave made the key of this password and user"
    );
    (user_id, public_key, key)
}

/// The issuer (the test, through the relay): a profile with the user's key, `wallet` linked
/// with its own ownership proof, and a credential. Returns the issuer key and the credential.
async fn issue_profile(
    relay: &Relay,
    data: &std::path::Path,
    user: Uuid,
    user_key: &EncryptionPublicKey,
    wallet: &SigningKey,
) -> (Ed25519SigningKey, Uuid) {
    let owner_hex = std::fs::read_to_string(data.join("owner_key")).unwrap();
    let owner = SigningKey::from_hex(SignatureScheme::Ed25519, owner_hex.trim()).unwrap();
    let issuer = Ed25519SigningKey::generate();
    let issuer_key = SigningKey::Ed25519(issuer.clone());
    let inserter = Uuid::new_v4();
    relay
        .submit_action(
            &owner,
            AddInserter {
                id: inserter,
                name: "Demo KYC issuer".into(),
            },
        )
        .await
        .unwrap();
    relay
        .submit_action(
            &owner,
            AddDelegate {
                address: Identity::Ed25519(issuer.public_key()),
                inserter_id: inserter,
            },
        )
        .await
        .unwrap();
    relay
        .submit_action(
            &issuer_key,
            AddUserAsInserter {
                id: user,
                recipient_encryption_public_key: *user_key,
                encryption_password_store: PasswordStore::User,
            },
        )
        .await
        .unwrap();
    relay
        .submit_action(
            &issuer_key,
            UpsertWalletAsInserter {
                user_id: user,
                wallet: wallet_proof(wallet, &user, "idos-local", Uuid::new_v4()),
                approval: None,
            },
        )
        .await
        .unwrap();
    let original = Uuid::new_v4();
    relay
        .submit_action(
            &issuer_key,
            UpsertCredentialAsInserter {
                id: original,
                user_id: user,
                credential: credential_input(
                    &issuer,
                    &public_notes(VC, "approved"),
                    &plaintext(VC),
                    user_key,
                ),
            },
        )
        .await
        .unwrap();
    (issuer, original)
}

/// `owner` shares `original` with a fresh Ed25519 grantee until `locked_until`; returns the
/// grantee.
async fn share_with_a_new_grantee(
    relay: &Relay,
    owner: &SigningKey,
    original: Uuid,
    locked_until: i64,
) -> SigningKey {
    let grantee = SigningKey::generate_ed25519();
    relay
        .submit_action(
            owner,
            share_action(
                &Ed25519SigningKey::generate(),
                original,
                &plaintext(VC),
                grantee.identity(),
                &EncryptionSecretKey::generate().public_key(),
                locked_until,
            ),
        )
        .await
        .unwrap();
    grantee
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_signs_in_with_the_dev_wallet_creates_a_key_and_lists_the_users_data() {
    let data = tempfile::TempDir::new().unwrap();
    let Dashboard {
        app,
        trust_root,
        wallet,
        chain,
        stop_relay,
        relay_server,
    } = start_dashboard(data.path()).await;

    let b = Browser::start().await;
    let c = &b.client;
    c.goto(&format!("{app}/")).await.unwrap();
    text_of(c, "#status", 10, |s| {
        s.starts_with("Chain idos-local at height")
    })
    .await;

    // The development wallet is found like any EIP-6963 wallet, and marks the page.
    text_of(c, "#dev-wallet-banner", 10, |t| {
        t.contains("Development wallet — never use with real funds.")
    })
    .await;
    page_weight(c).await;
    assert_accessible(c).await;

    // Sign in: the wallet shows the EIP-4361 message; the relay accepts its signature.
    screenshot(c, "dashboard-connect", None).await;
    click(c, "button.wallet[data-rdns='network.idos.dev-wallet']").await;
    dev_wallet_request(c).await;
    screenshot(c, "dev-wallet-confirm", None).await;
    let shown = approve_in_dev_wallet(c).await;
    let address = wallet.current();
    assert!(
        shown.starts_with(&format!(
            "{} wants you to sign in with your Ethereum account:\n{address}\n",
            app
        )),
        "{shown}"
    );
    text_of(c, "#signed-in-address", 15, |t| t == address).await;

    // A new user: no profile yet. The key is created in the enclave's dialog.
    text_of(c, "#no-profile", 15, |t| t.contains("no idOS profile")).await;
    assert_accessible(c).await;
    screenshot(c, "dashboard-no-profile", None).await;
    let (user_id, public_key, key) = create_key_on_dashboard(c).await;

    // The issuer (this test, through the relay): profile with that key, the dev wallet linked
    // with its own proof, a credential; then the user shares it with a 30-day lock.
    let relay = Relay::new(&app).unwrap();
    let user = Uuid::parse_str(&user_id).unwrap();
    let user_key = EncryptionPublicKey::parse(&public_key).unwrap();
    let dev_key_hex = std::fs::read_to_string(data.path().join("dev_wallet/key-0")).unwrap();
    let dev_key = SigningKey::from_hex(SignatureScheme::Eip191, dev_key_hex.trim()).unwrap();
    assert_eq!(dev_key.identity(), Identity::parse(&address).unwrap());
    let (issuer, original) = issue_profile(&relay, data.path(), user, &user_key, &dev_key).await;
    let locked_until = 1_900_000_000; // 2030-03-17
    let grantee = share_with_a_new_grantee(&relay, &dev_key, original, locked_until).await;

    // The dashboard shows it all; the key remembered for this tab unlocks without a dialog.
    click(c, "#reload-profile").await;
    text_of(c, "#key-line", 15, |t| t.contains("unlocked")).await;
    text_of(c, "#key-state", 5, |t| !t.contains("null")).await;
    let card = text_of(c, "#credential-list .credential", 15, |t| t.contains("KYC")).await;
    let fingerprint = {
        let digest = protocol::credential::content_hash(issuer.public_key().as_bytes());
        let hex = protocol::codec::hex_encode(&digest.as_bytes()[..10]);
        hex.as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        card.contains(&fingerprint),
        "the issuer key's fingerprint: {card}"
    );
    assert!(card.contains("Demo KYC issuer"), "{card}");
    assert!(
        card.contains("signature checked by the idOS node"),
        "{card}"
    );
    text_of(c, "#profile", 10, |t| t.contains(&user_id)).await;
    text_of(c, "#wallet-rows", 10, |t| {
        t.contains(&address.to_lowercase())
    })
    .await;
    let grant = text_of(c, "#grant-list .grant", 10, |t| t.contains("locked until")).await;
    assert!(grant.contains(&grantee.identity().identifier()), "{grant}");
    text_of(c, "#received", 10, |t| t.contains("Nothing is shared")).await;
    text_of(c, "#access-log", 10, |t| t.contains("Nobody has read")).await;

    // Lists are verified in the enclave once the user sets the chain's trust root: without
    // one the dashboard says so; a root naming other validators fails with the check's code;
    // the chain's own verifies both lists at the height that proves them.
    text_of(c, "#credentials-verified", 10, |t| {
        t.contains("Not verified: set the chain's trust root")
    })
    .await;
    let set_trust_root = |root: String| async move {
        js(
            c,
            "document.getElementById('trust-root').value = arguments[0]",
            vec![serde_json::json!(root)],
        )
        .await;
        click(c, "#save-trust-root").await;
    };
    let impostor = hex::encode(Ed25519SigningKey::generate().public_key().as_bytes());
    let chain_id = trust_root.split('@').next().unwrap().to_owned();
    set_trust_root(format!("{chain_id}@{impostor}")).await;
    let refused = text_of(c, "#credentials-verified", 20, |t| t.starts_with("⚠")).await;
    assert!(refused.contains("validator_set_mismatch"), "{refused}");
    set_trust_root(trust_root.clone()).await;
    for line in ["#credentials-verified", "#grants-verified"] {
        let verified = text_of(c, line, 20, |t| t.starts_with("✓")).await;
        assert!(
            verified.starts_with("✓ Verified at height ") && verified.contains(&chain_id),
            "{verified}"
        );
    }
    text_of(c, "#credential-list .credential", 15, |t| t.contains("KYC")).await;
    assert_accessible(c).await;
    screenshot(c, "dashboard", None).await;

    // Revoke is refused while the grant is locked, with the date it unlocks (nothing is signed).
    click(c, "#grant-list .grant button.revoke").await;
    let refusal = text_of(c, "#grant-list .grant .card-status", 10, |t| !t.is_empty()).await;
    assert!(
        refusal.contains("time-locked") && refusal.contains("2030"),
        "{refusal}"
    );
    assert_eq!(
        js(
            c,
            "return document.querySelector('#dev-wallet-confirm') === null",
            vec![]
        )
        .await,
        true,
        "the wallet was not asked to sign"
    );

    // The page never held the password or the key.
    let holdings = holdings(c).await;
    assert!(holdings.contains(&user_id), "the scan reads the page");
    for secret in [
        PASSWORD.to_owned(),
        key.to_base64().to_string(),
        protocol::codec::hex_encode(&key.to_bytes()[..]),
    ] {
        assert!(
            !holdings.contains(&secret),
            "the page holds a secret it was never given"
        );
    }

    // The relay goes down: the next call says so in words a person can act on.
    let _ = stop_relay.send(());
    let _ = relay_server.await;
    click(c, "#credential-list .credential button.view").await;
    // The card first says it is opening the credential, then the failure: wait for the failure.
    let error = text_of(c, "#credential-list .credential .card-status", 20, |t| {
        t.contains("cannot be reached")
    })
    .await;
    assert!(
        error.contains("cannot be reached") && error.contains("try again"),
        "{error}"
    );
    assert_accessible(c).await;
    screenshot(c, "dashboard-relay-down", None).await;

    b.close().await;
    chain.stop();
}

/// NEAR, XRPL and Stellar users on the dashboard, with the development wallet's Wallet Standard
/// accounts: a NEAR user signs in (the wallet sign-in text, wrapped in a NEP-413 blob the relay
/// verifies), creates a key, adds its XRPL and its Stellar account (each signs its ownership
/// proof its own way; the NEAR wallet signs the transactions), revokes a grant, then signs in
/// again as the XRPL and as the Stellar account to the same profile. A signature rejected in the
/// wallet signs nobody in and says so.
/// Signs out, and waits for the page it reloads (so what follows acts on the new document).
async fn sign_out(c: &Client) {
    js(c, "window.beforeSignOut = true", vec![]).await;
    click(c, "#sign-out").await;
    poll(
        c,
        "return window.beforeSignOut === undefined && document.readyState === 'complete'",
        15,
        |v| v == true,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_xrpl_and_stellar_users_sign_in_link_each_other_and_revoke_on_the_dashboard() {
    let data = tempfile::TempDir::new().unwrap();
    let dashboard = start_dashboard(data.path()).await;
    let app = &dashboard.app;
    let near = dashboard.wallet.current_of(WalletType::Near);
    let xrpl = dashboard.wallet.current_of(WalletType::Xrpl);
    let stellar = dashboard.wallet.current_of(WalletType::Stellar);

    let b = Browser::start().await;
    let c = &b.client;
    c.goto(&format!("{app}/")).await.unwrap();

    // The Wallet Standard wallet's accounts are offered beside the EIP-6963 wallet.
    click(c, "#wallet-list button.wallet[data-wallet-type='NEAR']").await;
    let shown = approve_in_dev_wallet(c).await;
    let sign_in_text = |wallet: &str| {
        format!(
            "idOS relay sign-in\norigin: {app}\nnetwork: idos-local\npurpose: session\nwallet: {wallet}\nnonce: "
        )
    };
    assert!(shown.starts_with(&sign_in_text(&near)), "{shown}");
    text_of(c, "#signed-in-address", 15, |t| t == near).await;
    let (user_id, public_key, _) = create_key_on_dashboard(c).await;

    let relay = Relay::new(app).unwrap();
    let user = Uuid::parse_str(&user_id).unwrap();
    let user_key = EncryptionPublicKey::parse(&public_key).unwrap();
    let near_hex = std::fs::read_to_string(data.path().join("dev_wallet/near-key-0")).unwrap();
    let near_key = SigningKey::from_hex(SignatureScheme::Nep413, near_hex.trim()).unwrap();
    assert_eq!(near_key.identity().identifier(), near);
    let (_, original) = issue_profile(&relay, data.path(), user, &user_key, &near_key).await;
    share_with_a_new_grantee(&relay, &near_key, original, 0).await;
    click(c, "#reload-profile").await;
    text_of(c, "#wallet-rows", 15, |t| t.contains(&near)).await;

    // Link the XRPL and the Stellar account: each signs its proof, the NEAR wallet the
    // transaction.
    for (kind, address) in [("XRPL", &xrpl), ("Stellar", &stellar)] {
        click(c, "#add-wallet").await;
        click(
            c,
            &format!("#add-wallet-panel button.wallet[data-wallet-type='{kind}']"),
        )
        .await;
        let proof = approve_in_dev_wallet(c).await;
        assert!(
            proof.starts_with("idOS wallet ownership proof")
                && proof.contains(&format!("Wallet: {address}\n")),
            "{proof}"
        );
        let tx = approve_in_dev_wallet(c).await;
        assert!(
            tx.starts_with("idOS transaction\nAction: add_wallet")
                && tx.contains(&format!("Signer: {near}\n")),
            "{tx}"
        );
        text_of(c, "#wallet-rows", 20, |t| t.contains(address.as_str())).await;
    }

    // Revoke, signed by the NEAR wallet; with the chain's trust root set, the emptied list is
    // verified in the enclave at a state no older than the revocation's block.
    js(
        c,
        "document.getElementById('trust-root').value = arguments[0]",
        vec![serde_json::json!(dashboard.trust_root)],
    )
    .await;
    click(c, "#save-trust-root").await;
    text_of(c, "#grants-verified", 20, |t| t.starts_with("✓ Verified")).await;
    click(c, "#grant-list .grant button.revoke").await;
    let tx = approve_in_dev_wallet(c).await;
    assert!(
        tx.starts_with("idOS transaction\nAction: revoke_access_grant"),
        "{tx}"
    );
    text_of(c, "#grants", 20, |t| {
        t.contains("You have not shared anything")
    })
    .await;
    let verified = text_of(c, "#grants-verified", 20, |t| t.starts_with("✓ Verified")).await;
    let at: u64 = js(
        c,
        "return document.getElementById('grants-verified').dataset.height",
        vec![],
    )
    .await
    .as_str()
    .unwrap()
    .parse()
    .unwrap();
    // The block of the page's own last write, which the answer had to be at least as new as.
    let revoked_at: u64 = js(
        c,
        "return document.getElementById('grants-verified').dataset.minHeight",
        vec![],
    )
    .await
    .as_str()
    .unwrap()
    .parse()
    .unwrap();
    assert!(
        at > revoked_at && revoked_at > 0,
        "{verified}: {at} after {revoked_at}"
    );
    assert_accessible(c).await;
    screenshot(c, "dashboard-wallet-types", None).await;

    // The same profile, signed in as the XRPL and as the Stellar account.
    for address in [&xrpl, &stellar] {
        sign_out(c).await;
        let kind = if address.starts_with('r') {
            "XRPL"
        } else {
            "Stellar"
        };
        click(
            c,
            &format!("#wallet-list button.wallet[data-wallet-type='{kind}']"),
        )
        .await;
        let shown = approve_in_dev_wallet(c).await;
        assert!(shown.starts_with(&sign_in_text(address)), "{shown}");
        text_of(c, "#signed-in-address", 15, |t| t == address.as_str()).await;
        text_of(c, "#profile", 15, |t| t.contains(&user_id)).await;
    }

    // Rejected in the wallet: nobody is signed in, and the page says why.
    sign_out(c).await;
    click(c, "#wallet-list button.wallet[data-wallet-type='NEAR']").await;
    dev_wallet_request(c).await;
    click(c, "#dev-wallet-reject").await;
    let said = text_of(c, "#sign-in-status", 15, |t| !t.is_empty()).await;
    assert!(said.contains("declined"), "{said}");
    assert_eq!(
        js(
            c,
            "return document.getElementById('signed-in').hidden",
            vec![]
        )
        .await,
        true
    );

    b.close().await;
    dashboard.chain.stop();
}
