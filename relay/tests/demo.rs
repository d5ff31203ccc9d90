//! The demo issuer's and demo dapp's back ends (crate `idos-demo`) against a real relay and node
//! in process: an embedded node with its RPC on loopback, the relay's API served over HTTP, and
//! the two back ends reaching it over HTTP with the client library, as `idos serve` runs them.
//! A test wallet (a real secp256k1 key) plays the user's part: it signs what the issuer's page
//! would have it sign, and shares the credential as the dapp's page does through the enclave.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use idos_client::credential::{issuer_public_notes, seal_credential, share_copy};
use idos_client::sign_in::sign_hex;
use idos_client::{Client, PageQuery, SiweOptions};
use idos_demo::RelayTarget;
use idos_demo::dapp::{DappConfig, LOCK_SECS};
use idos_demo::issuer::{Issuer, IssuerConfig};
use node::run::{NodeConfig, start_embedded};
use protocol::action::{AddCredential, ShareCredential};
use protocol::identity::{Ed25519SigningKey, Identity, SignatureScheme, SigningKey};
use protocol::nacl_box::{EncryptionSecretKey, decrypt};
use relay::access_log::AccessLog;
use relay::api::{ApiState, app};
use relay::auth::{Auth, AuthConfig, SessionKey};
use relay::node_client::NodeClient;
use relay::store::RelayStore;
use serde_json::{Value, json};
use uuid::Uuid;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

fn www() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../www")
}

/// A node, the relay over it, the demo issuer (registered with the owner's key file) and two
/// demo dapps (requiring `basic` and `plus`), each on its own loopback port.
struct Demo {
    _dir: tempfile::TempDir,
    chain: Arc<node::chain::Chain>,
    relay: Client,
    issuer: Issuer,
    issuer_url: String,
    dapp: DappConfig,
    dapp_url: String,
    strict_dapp_url: String,
    unregistered_issuer_url: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.chain.stop();
    }
}

async fn demo() -> Demo {
    let dir = tempfile::TempDir::new().unwrap();
    let owner = SigningKey::generate_ed25519();
    let owner_file = dir.path().join("owner_key");
    std::fs::write(&owner_file, owner.to_hex()).unwrap();
    let gateway = Ed25519SigningKey::generate();
    let config = NodeConfig {
        owner: Some(owner.identity()),
        trusted_gateways: vec![gateway.public_key()],
        sync_writes: Some(false),
        block_linger_ms: Some(5),
        ..Default::default()
    };
    let rpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (running, _server) = start_embedded(&dir.path().join("node"), &config, rpc)
        .await
        .unwrap();
    let node = NodeClient::connect(
        &format!("http://{}", running.rpc_addr),
        gateway,
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    // The relay's API on a real listener; its public origin is the address clients use.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_url = format!("http://{}", listener.local_addr().unwrap());
    let store = RelayStore::open(&dir.path().join("relay")).unwrap();
    let mut auth_config = AuthConfig::new(relay_url.clone());
    auth_config.network = node.chain_id().to_owned();
    let auth = Auth::new(auth_config, SessionKey::generate(), store.clone()).unwrap();
    let api = app(ApiState::new(
        node,
        Duration::from_secs(10),
        auth,
        AccessLog::new(store),
    ));
    tokio::spawn(async move { axum::serve(listener, api).await.unwrap() });
    let target = RelayTarget::new(&relay_url, relay_url.clone()).unwrap();

    let issuer_config = IssuerConfig {
        relay: target.clone(),
        key: Ed25519SigningKey::generate(),
        box_key: Arc::new(EncryptionSecretKey::generate()),
        name: "Test issuer".into(),
        level: "basic".into(),
        owner_key_file: Some(owner_file),
    };
    let issuer = Issuer::new(issuer_config.clone());
    let issuer_url = serve(idos_demo::issuer::router(issuer.clone())).await;
    let unregistered = Issuer::new(IssuerConfig {
        key: Ed25519SigningKey::generate(),
        owner_key_file: None,
        ..issuer_config
    });
    let unregistered_issuer_url = serve(idos_demo::issuer::router(unregistered)).await;
    let dapp = DappConfig {
        relay: target,
        enclave_origin: "http://127.0.0.1:1".into(),
        key: Ed25519SigningKey::generate(),
        box_key: Arc::new(EncryptionSecretKey::generate()),
        name: "Test exchange".into(),
        required_level: "basic".into(),
        trusted_issuers: vec![(issuer.public_key(), "Test issuer".into())],
        www: www(),
        siwe_chain_id: 1,
        dev_wallet: false,
    };
    let dapp_url = serve(idos_demo::dapp::router(dapp.clone())).await;
    let strict_dapp_url = serve(idos_demo::dapp::router(DappConfig {
        required_level: "plus".into(),
        ..dapp.clone()
    }))
    .await;
    Demo {
        _dir: dir,
        chain: running.chain,
        relay: Client::new(&relay_url).unwrap(),
        issuer,
        issuer_url,
        dapp,
        dapp_url,
        strict_dapp_url,
        unregistered_issuer_url,
    }
}

/// A JSON request to a demo back end: status and body.
async fn call(url: &str, body: Option<Value>) -> (u16, Value) {
    let http = reqwest::Client::new();
    let request = match body {
        Some(b) => http.post(url).json(&b),
        None => http.get(url),
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A raw request (any content type and body).
async fn raw(url: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn assert_refused(got: &(u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{got:?}");
    assert_eq!(got.1["code"], code, "{got:?}");
    assert!(
        got.1["message"].as_str().is_some_and(|m| m.len() > 10),
        "a message a person can act on: {got:?}"
    );
}

/// A user onboarded by the demo issuer's routes, as the issuer page drives them.
struct User {
    wallet: SigningKey,
    key: EncryptionSecretKey,
    user_id: Uuid,
    original_id: Uuid,
    document_number: String,
}

async fn onboard(d: &Demo) -> User {
    onboard_with(d, SigningKey::generate_evm()).await
}

/// A new user with `wallet` onboarded by the demo issuer, as its page does: start, ownership
/// proof and profile, then the delegated write grant and the credential.
async fn onboard_with(d: &Demo, wallet: SigningKey) -> User {
    let key = EncryptionSecretKey::generate();
    let address = wallet.identity().identifier();
    let (status, start) = call(
        &format!("{}/issuer/api/start", d.issuer_url),
        Some(json!({"wallet": address})),
    )
    .await;
    assert_eq!(status, 200, "{start}");
    assert_eq!(start["has_profile"], false);
    let user_id: Uuid = start["user_id"].as_str().unwrap().parse().unwrap();
    let proof_signature = sign_hex(&wallet, start["proof"]["message"].as_str().unwrap());
    let (status, profile) = call(
        &format!("{}/issuer/api/profile", d.issuer_url),
        Some(json!({
            "user_id": user_id,
            "wallet": address,
            "encryption_public_key": key.public_key().to_text(),
            "proof": {"id": start["proof"]["id"], "nonce": start["proof"]["nonce"], "signature": proof_signature},
        })),
    )
    .await;
    assert_eq!(status, 200, "{profile}");
    let grant_signature = sign_hex(&wallet, start["grant_message"].as_str().unwrap());
    let (status, issued) = call(
        &format!("{}/issuer/api/credential", d.issuer_url),
        Some(json!({
            "encryption_public_key": key.public_key().to_text(),
            "grant": start["grant"],
            "grant_signature": grant_signature,
        })),
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    User {
        wallet,
        key,
        user_id,
        original_id: issued["original_id"].as_str().unwrap().parse().unwrap(),
        document_number: issued["document_number"].as_str().unwrap().to_owned(),
    }
}

/// The user shares `original` with the dapp as the dapp page has the enclave do: a copy
/// re-encrypted to the dapp's key, granted to the dapp's Ed25519 key until `locked_until`.
async fn share_with_dapp(d: &Demo, user: &User, original: Uuid, locked_until: i64) -> Uuid {
    let me = d
        .relay
        .sign_in_siwe(&user.wallet, &SiweOptions::default())
        .await
        .unwrap();
    let stored = me.credential(original).await.unwrap().data;
    let plaintext = decrypt(&stored.content, &stored.encryptor_public_key, &user.key).unwrap();
    let (copy, content_hash) = share_copy(&plaintext, &d.dapp.box_key.public_key()).unwrap();
    let copy_id = Uuid::new_v4();
    me.submit_action(
        &user.wallet,
        ShareCredential {
            id: copy_id,
            original_credential_id: original,
            copy,
            content_hash,
            grantee_wallet_identifier: Identity::Ed25519(d.dapp.key.public_key()),
            locked_until,
        },
    )
    .await
    .unwrap();
    copy_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_issuer_creates_a_profile_and_issues_a_kyc_credential_by_delegated_write_grant() {
    let d = demo().await;
    let (status, info) = call(&format!("{}/issuer/api/info", d.issuer_url), None).await;
    assert_eq!(status, 200);
    assert_eq!(info["public_key"], d.issuer.public_key().to_text());
    let user = onboard(&d).await;
    assert_eq!(
        d.issuer.registration().await,
        idos_demo::issuer::Registration::Registered,
        "registered itself with the owner's key file"
    );

    // The wallet reads its new profile and the credential, which only its key opens.
    let me = d
        .relay
        .sign_in_siwe(&user.wallet, &SiweOptions::default())
        .await
        .unwrap();
    let profile = me.me().await.unwrap().data;
    assert_eq!(profile.id, user.user_id);
    assert_eq!(
        profile.recipient_encryption_public_key,
        user.key.public_key()
    );
    let original = me.credential(user.original_id).await.unwrap().data;
    assert_eq!(original.issuer_auth_public_key, d.issuer.public_key());
    let plaintext = decrypt(&original.content, &original.encryptor_public_key, &user.key).unwrap();
    let vc: Value = serde_json::from_slice(&plaintext).unwrap();
    assert_eq!(
        vc["credentialSubject"]["idDocumentNumber"],
        user.document_number
    );
    assert_eq!(vc["type"][0], "VerifiableCredential");
    let notes: Value = serde_json::from_str(&original.public_notes).unwrap();
    assert_eq!(
        (&notes["type"], &notes["level"], &notes["status"]),
        (&json!("KYC"), &json!("basic"), &json!("approved"))
    );
    assert_eq!(notes["issuer"], d.issuer.public_key().to_text());
    // By delegated write grant: the issuer keeps a copy, granted to itself.
    let granted = me
        .grants_owned(&PageQuery::first())
        .await
        .unwrap()
        .data
        .items;
    assert_eq!(granted.len(), 1, "{granted:?}");
    assert_eq!(
        granted[0].ag_grantee_wallet_identifier,
        Identity::Ed25519(d.issuer.public_key())
    );
    assert_eq!(
        granted[0].inserter_type,
        protocol::grant::GrantInserterType::DelegatedWriteGrant
    );

    // A second visit: the wallet has a profile; only a new grant is needed.
    let (_, again) = call(
        &format!("{}/issuer/api/start", d.issuer_url),
        Some(json!({"wallet": user.wallet.identity().identifier()})),
    )
    .await;
    assert_eq!(again["has_profile"], true);
    let (status, second) = call(
        &format!("{}/issuer/api/credential", d.issuer_url),
        Some(json!({
            "encryption_public_key": user.key.public_key().to_text(),
            "grant": again["grant"],
            "grant_signature": sign_hex(&user.wallet, again["grant_message"].as_str().unwrap()),
        })),
    )
    .await;
    assert_eq!(status, 200, "{second}");
    // The grant is single use: the same signed grant again is refused by the network.
    let replay = call(
        &format!("{}/issuer/api/credential", d.issuer_url),
        Some(json!({
            "encryption_public_key": user.key.public_key().to_text(),
            "grant": again["grant"],
            "grant_signature": sign_hex(&user.wallet, again["grant_message"].as_str().unwrap()),
        })),
    )
    .await;
    assert_refused(&replay, 409, "dwg_used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_issuer_onboards_near_xrpl_stellar_and_facesign_wallets() {
    let d = demo().await;
    for wallet in [
        SigningKey::from_hex(SignatureScheme::Nep413, &"41".repeat(32)).unwrap(),
        SigningKey::from_hex(SignatureScheme::Xrpl, &format!("00{}", "42".repeat(32))).unwrap(),
        SigningKey::from_hex(SignatureScheme::Stellar, &"43".repeat(32)).unwrap(),
        SigningKey::generate_ed25519(),
    ] {
        let what = wallet.identity().identifier();
        let user = onboard_with(&d, wallet).await;
        // The wallet signs in its own way and reads the credential the issuer wrote for it.
        let me = d.relay.sign_in_wallet(&user.wallet, None).await.unwrap();
        assert_eq!(me.me().await.unwrap().data.id, user.user_id, "{what}");
        let stored = me.credential(user.original_id).await.unwrap().data;
        let plaintext = decrypt(&stored.content, &stored.encryptor_public_key, &user.key).unwrap();
        assert!(
            String::from_utf8_lossy(&plaintext).contains(&user.document_number),
            "{what}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_dapp_verifies_a_copy_shared_with_it_for_30_days_and_refuses_what_does_not_hold() {
    let d = demo().await;
    let user = onboard(&d).await;
    let verify = |url: &str, copy: Uuid| {
        let url = format!("{url}/api/verify");
        async move { call(&url, Some(json!({"copy_id": copy}))).await }
    };

    let copy = share_with_dapp(&d, &user, user.original_id, now() + LOCK_SECS).await;
    let (status, verified) = verify(&d.dapp_url, copy).await;
    assert_eq!(status, 200, "{verified}");
    assert_eq!(verified["verified"], true);
    assert_eq!(
        verified["credential"]["credentialSubject"]["idDocumentNumber"], user.document_number,
        "the exact issued content, decrypted by the dapp's back end"
    );
    assert_eq!(verified["owner_user_id"], user.user_id.to_string());
    assert_eq!(
        verified["issuer"]["public_key"],
        d.issuer.public_key().to_text()
    );
    let checks: Vec<&str> = verified["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    for want in [
        "access grant",
        "time lock",
        "issuer signature",
        "content",
        "status",
        "level",
    ] {
        assert!(checks.contains(&want), "{checks:?} lacks {want}");
    }
    // The read is in the owner's access log, by the dapp's key.
    let me = d
        .relay
        .sign_in_siwe(&user.wallet, &SiweOptions::default())
        .await
        .unwrap();
    let log = me.access_log(&PageQuery::first()).await.unwrap();
    assert!(
        log.items
            .iter()
            .any(|r| r.copy_id == copy && r.reader == Identity::Ed25519(d.dapp.key.public_key())),
        "{log:?}"
    );

    // A dapp that requires `plus` refuses the `basic` credential.
    assert_refused(
        &verify(&d.strict_dapp_url, copy).await,
        422,
        "level_too_low",
    );
    // A grant the user could revoke tomorrow is not what the dapp asked for.
    let short = share_with_dapp(&d, &user, user.original_id, now() + 86_400).await;
    assert_refused(
        &verify(&d.dapp_url, short).await,
        422,
        "grant_lock_too_short",
    );
    // A copy nobody shared with the dapp.
    assert_refused(&verify(&d.dapp_url, Uuid::new_v4()).await, 404, "no_grant");

    // A credential signed by an issuer the dapp does not accept (the user adds it themselves).
    let stranger = Ed25519SigningKey::generate();
    let plaintext = br#"{"credentialSubject":{"level":"plus"}}"#;
    let notes = issuer_public_notes("urn:uuid:forged", "approved", &stranger, plaintext);
    let forged = seal_credential(&stranger, &user.key.public_key(), plaintext, &notes).unwrap();
    let forged_id = Uuid::new_v4();
    me.submit_action(
        &user.wallet,
        AddCredential {
            id: forged_id,
            credential: forged,
        },
    )
    .await
    .unwrap();
    let copy = share_with_dapp(&d, &user, forged_id, now() + LOCK_SECS).await;
    assert_refused(&verify(&d.dapp_url, copy).await, 422, "untrusted_issuer");
    // Notes that name the trusted issuer but whose content signature is not its own.
    let lying = issuer_public_notes("urn:uuid:lying", "approved", &stranger, plaintext).replace(
        &stranger.public_key().to_text(),
        &d.issuer.public_key().to_text(),
    );
    let lying = seal_credential(&stranger, &user.key.public_key(), plaintext, &lying).unwrap();
    let lying_id = Uuid::new_v4();
    me.submit_action(
        &user.wallet,
        AddCredential {
            id: lying_id,
            credential: lying,
        },
    )
    .await
    .unwrap();
    let copy = share_with_dapp(&d, &user, lying_id, now() + LOCK_SECS).await;
    assert_refused(
        &verify(&d.dapp_url, copy).await,
        422,
        "bad_issuer_signature",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_hostile_inputs_at_the_demo_endpoints_get_typed_errors() {
    let d = demo().await;
    let wallet = SigningKey::generate_evm();
    let address = wallet.identity().identifier();
    let start_url = format!("{}/issuer/api/start", d.issuer_url);
    let profile_url = format!("{}/issuer/api/profile", d.issuer_url);
    let credential_url = format!("{}/issuer/api/credential", d.issuer_url);
    let verify_url = format!("{}/api/verify", d.dapp_url);

    // The body itself, at every JSON endpoint.
    for url in [&start_url, &profile_url, &credential_url, &verify_url] {
        assert_refused(
            &raw(url, "application/json", b"{not json".to_vec()).await,
            400,
            "malformed_json",
        );
        assert_refused(
            &raw(url, "text/plain", b"{}".to_vec()).await,
            415,
            "unsupported_media_type",
        );
        assert_refused(
            &raw(url, "application/json", b"{}".to_vec()).await,
            422,
            "invalid_body",
        );
        assert_refused(
            &raw(url, "application/json", b"{\"extra\": 1}".to_vec()).await,
            422,
            "invalid_body",
        );
        assert_refused(
            &raw(url, "application/json", vec![b' '; 64 * 1024]).await,
            413,
            "body_too_large",
        );
        assert_refused(
            &raw(url, "application/json", vec![0xff, 0xfe, 0x00]).await,
            400,
            "malformed_json",
        );
    }
    // Fields that do not parse or do not hold.
    assert_refused(
        &call(&start_url, Some(json!({"wallet": "0x1234"}))).await,
        400,
        "invalid_evm_address",
    );
    assert_refused(
        &call(&start_url, Some(json!({"wallet": "rNotAnXrplAddress"}))).await,
        400,
        "invalid_xrpl_address",
    );
    assert_refused(
        &call(
            &start_url,
            Some(json!({"wallet": address, "user_id": "6ba7b810-9dad-11d1-80b4-00c04fd430c8"})),
        )
        .await,
        400,
        "invalid_user_id",
    );
    let (_, start) = call(&start_url, Some(json!({"wallet": address}))).await;
    let user_key = EncryptionSecretKey::generate().public_key().to_text();
    let profile = |signature: &str, key: &str, nonce: &str| {
        json!({
            "user_id": start["user_id"], "wallet": address, "encryption_public_key": key,
            "proof": {"id": start["proof"]["id"], "nonce": nonce, "signature": signature},
        })
    };
    let good_proof = sign_hex(&wallet, start["proof"]["message"].as_str().unwrap());
    let nonce = start["proof"]["nonce"].as_str().unwrap();
    assert_refused(
        &call(&profile_url, Some(profile("0xzz", &user_key, nonce))).await,
        400,
        "invalid_hex",
    );
    assert_refused(
        &call(&profile_url, Some(profile(&good_proof, "short", nonce))).await,
        400,
        "invalid_base64",
    );
    assert_refused(
        &call(&profile_url, Some(profile(&good_proof, &user_key, "00"))).await,
        400,
        "invalid_length",
    );
    let other = SigningKey::generate_evm();
    let foreign_proof = sign_hex(&other, start["proof"]["message"].as_str().unwrap());
    assert_refused(
        &call(
            &profile_url,
            Some(profile(&foreign_proof, &user_key, nonce)),
        )
        .await,
        422,
        "bad_wallet_proof",
    );
    assert_refused(
        &call(&profile_url, Some(profile("0x00", &user_key, nonce))).await,
        422,
        "bad_wallet_proof",
    );
    // The delegated write grant: another wallet's signature, another issuer, outside its window,
    // no profile yet.
    let grant = start["grant"].clone();
    let credential = |grant: &Value, signature: &str| json!({"encryption_public_key": user_key, "grant": grant, "grant_signature": signature});
    let foreign_grant = sign_hex(&other, start["grant_message"].as_str().unwrap());
    assert_refused(
        &call(&credential_url, Some(credential(&grant, &foreign_grant))).await,
        422,
        "bad_grant_signature",
    );
    let mut elsewhere = grant.clone();
    elsewhere["issuer_public_key"] = json!("cd".repeat(32));
    assert_refused(
        &call(
            &credential_url,
            Some(credential(&elsewhere, &foreign_grant)),
        )
        .await,
        422,
        "grant_not_for_this_issuer",
    );
    let mut expired = grant.clone();
    expired["not_usable_before"] = json!("2020-01-01T00:00:00Z");
    expired["not_usable_after"] = json!("2020-01-02T00:00:00Z");
    assert_refused(
        &call(&credential_url, Some(credential(&expired, &foreign_grant))).await,
        422,
        "grant_expired",
    );
    let mut garbled = grant.clone();
    garbled["not_usable_after"] = json!("tomorrow");
    assert_refused(
        &call(&credential_url, Some(credential(&garbled, &foreign_grant))).await,
        400,
        "invalid_timestamp",
    );
    let signed = sign_hex(&wallet, start["grant_message"].as_str().unwrap());
    assert_refused(
        &call(&credential_url, Some(credential(&grant, &signed))).await,
        409,
        "no_profile",
    );
    // An issuer that is not a delegate says so, and what to do, before spending a transaction.
    let (_, start2) = call(
        &format!("{}/issuer/api/start", d.unregistered_issuer_url),
        Some(json!({"wallet": address})),
    )
    .await;
    let refused = call(
        &format!("{}/issuer/api/profile", d.unregistered_issuer_url),
        Some(json!({
            "user_id": start2["user_id"], "wallet": address, "encryption_public_key": user_key,
            "proof": {"id": start2["proof"]["id"], "nonce": start2["proof"]["nonce"],
                      "signature": sign_hex(&wallet, start2["proof"]["message"].as_str().unwrap())},
        })),
    )
    .await;
    assert_refused(&refused, 503, "issuer_not_registered");
    assert!(
        refused.1["message"]
            .as_str()
            .unwrap()
            .contains("idos admin add-delegate"),
        "{refused:?}"
    );
    // Unknown routes and a copy id that is not a UUID.
    assert_refused(
        &call(&format!("{}/issuer/api/nope", d.issuer_url), None).await,
        404,
        "no_route",
    );
    assert_refused(
        &call(&format!("{}/api/nope", d.dapp_url), None).await,
        404,
        "no_route",
    );
    assert_refused(
        &call(&verify_url, Some(json!({"copy_id": "../../etc/passwd"}))).await,
        422,
        "invalid_body",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_dapp_serves_its_page_the_sdk_package_and_its_config_with_a_strict_csp() {
    let d = demo().await;
    let http = reqwest::Client::new();
    for (path, kind) in [
        ("/", "text/html"),
        ("/dapp.js", "text/javascript"),
        (
            "/node_modules/@idos-rs/enclave-sdk/idos-enclave.js",
            "text/javascript",
        ),
        (
            "/node_modules/@idos-rs/enclave-sdk/package.json",
            "application/json",
        ),
        ("/shared/api.js", "text/javascript"),
    ] {
        let r = http
            .get(format!("{}{path}", d.dapp_url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains('*'),
            "{csp}"
        );
        assert!(
            csp.contains("script-src 'self';") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert!(
            csp.contains(&format!("frame-src {};", d.dapp.enclave_origin)),
            "{csp}"
        );
        let ct = r.headers()["content-type"].to_str().unwrap();
        assert!(ct.starts_with(kind), "{path}: {ct}");
    }
    // The package the dapp imports is the SDK's package.json's own entry point.
    let package: Value =
        serde_json::from_str(&std::fs::read_to_string(www().join("sdk/package.json")).unwrap())
            .unwrap();
    assert_eq!(package["name"], "@idos-rs/enclave-sdk");
    assert_eq!(package["exports"]["."]["import"], "./idos-enclave.js");
    let page = std::fs::read_to_string(www().join("dapp/dapp.js")).unwrap();
    assert!(page.contains("from \"/node_modules/@idos-rs/enclave-sdk/idos-enclave.js\""));
    let (status, config) = call(&format!("{}/api/config", d.dapp_url), None).await;
    assert_eq!(status, 200);
    assert_eq!(config["grantee"], d.dapp.key.public_key().to_text());
    assert_eq!(
        config["grantee_encryption_public_key"],
        d.dapp.box_key.public_key().to_text()
    );
    assert_eq!(config["lock_seconds"], 30 * 86_400);
    assert_eq!(config["grantee_fingerprint"].as_str().unwrap().len(), 24);
}
