//! The REST API (`relay::api::app`) driven with `oneshot` requests, over a real embedded node
//! reached through its CometBFT RPC on loopback: error mapping (each bad input is its status and
//! stable code), transactions prepared, signed here and submitted, reads attested by the gateway
//! key, and the OpenAPI document (valid 3.1, every route in it).

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use node::run::{NodeConfig, start_embedded};
use node::testkit::{credential_input, plaintext, public_notes, wallet_proof};
use protocol::action::{
    Action, AddCredential, AddDelegate, AddInserter, AddUserAsInserter, PasswordStore,
    UpsertWalletAsInserter,
};
use protocol::identity::{Ed25519SigningKey, Identity, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use protocol::query::Query;
use relay::access_log::AccessLog;
use relay::api::{ApiState, MAX_BODY_BYTES, app};
use relay::auth::signing_text::ed25519_sign_in_text;
use relay::auth::{Auth, AuthConfig, SessionKey};
use relay::node_client::{NodeClient, NodeClientError};
use relay::store::RelayStore;
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

/// A running embedded node (its RPC on loopback), the API over it, and its owner's key.
struct Fixture {
    _dir: tempfile::TempDir,
    api: Router,
    node: NodeClient,
    owner: SigningKey,
    rpc_url: String,
    chain: std::sync::Arc<node::chain::Chain>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.chain.stop();
    }
}

async fn fixture() -> Fixture {
    fixture_with(Duration::from_secs(10), None).await
}

/// A fixture whose `wait=commit` waits at most `commit_wait`.
async fn fixture_waiting(commit_wait: Duration) -> Fixture {
    fixture_with(commit_wait, None).await
}

/// The fixture with the API's callers counted against `limiter`.
async fn fixture_limited(limiter: Option<relay::ops::rate_limit::IdentityLimiter>) -> Fixture {
    fixture_with(Duration::from_secs(10), limiter).await
}

async fn fixture_with(
    commit_wait: Duration,
    limiter: Option<relay::ops::rate_limit::IdentityLimiter>,
) -> Fixture {
    let dir = tempfile::TempDir::new().unwrap();
    let owner = SigningKey::generate_ed25519();
    let gateway = Ed25519SigningKey::generate();
    let config = NodeConfig {
        owner: Some(owner.identity()),
        trusted_gateways: vec![gateway.public_key()],
        sync_writes: Some(false),
        block_linger_ms: Some(5),
        ..Default::default()
    };
    let rpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (running, _server) = start_embedded(dir.path(), &config, rpc).await.unwrap();
    let rpc_url = format!("http://{}", running.rpc_addr);
    let node = NodeClient::connect(&rpc_url, gateway, Duration::from_secs(10))
        .await
        .unwrap();
    let store = RelayStore::open(&dir.path().join("relay-data")).unwrap();
    let mut auth_config = AuthConfig::new(ORIGIN);
    auth_config.network = node.chain_id().to_owned();
    let auth = Auth::new(auth_config, SessionKey::generate(), store.clone()).unwrap();
    let state = ApiState::new(node.clone(), commit_wait, auth, AccessLog::new(store))
        .with_identity_limiter(limiter);
    Fixture {
        _dir: dir,
        api: app(state),
        node,
        owner,
        rpc_url,
        chain: running.chain,
    }
}

/// The relay's public origin in these tests.
const ORIGIN: &str = "http://localhost:8080";

/// One request through the router: status and JSON body.
async fn call(
    api: &Router,
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
) -> (StatusCode, Value) {
    call_as(api, None, method, path, body, &[]).await
}

/// One request with a bearer token and extra headers.
async fn call_as(
    api: &Router,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if body.is_some() && headers.is_empty() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .unwrap();
    let response = api.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

async fn post(api: &Router, path: &str, body: Value) -> (StatusCode, Value) {
    call(api, "POST", path, Some(body.to_string().into_bytes())).await
}

async fn get(api: &Router, path: &str) -> (StatusCode, Value) {
    call(api, "GET", path, None).await
}

/// Signs `key` in with the Ed25519 challenge; returns the session token.
async fn sign_in(f: &Fixture, key: &Ed25519SigningKey) -> String {
    let (status, nonce) = get(&f.api, "/api/v1/auth/nonce").await;
    assert_eq!(status, StatusCode::OK, "{nonce}");
    let nonce = nonce["nonce"].as_str().unwrap();
    let text = ed25519_sign_in_text(ORIGIN, f.node.chain_id(), &key.public_key(), nonce);
    let (status, session) = post(
        &f.api,
        "/api/v1/auth/ed25519",
        json!({
            "public_key": key.public_key().to_string(),
            "nonce": nonce,
            "signature": hex::encode(key.sign(text.as_bytes()).as_bytes()),
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session["token"].as_str().unwrap().to_owned()
}

async fn get_as(f: &Fixture, token: &str, path: &str) -> (StatusCode, Value) {
    call_as(&f.api, Some(token), "GET", path, None, &[]).await
}

fn assert_error(got: (StatusCode, Value), status: u16, code: &str) {
    assert_eq!(
        (got.0.as_u16(), got.1["code"].as_str()),
        (status, Some(code)),
        "{}",
        got.1
    );
    assert!(
        got.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        got.1
    );
}

/// Prepares `action` for `key` through the API, signs the text here, submits it and waits for
/// its block: the whole write path a wallet takes.
async fn act(api: &Router, key: &SigningKey, action: impl Into<Action>) -> Value {
    let action: Action = action.into();
    let (status, prepared) = post(
        api,
        "/api/v1/tx/prepare",
        json!({"action": action, "signer": key.identity()}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{prepared}");
    let text = prepared["signing_text"].as_str().unwrap();
    let signature = format!("0x{}", hex::encode(key.sign(text.as_bytes())));
    let (status, done) = post(
        api,
        "/api/v1/tx?wait=commit",
        json!({"unsigned": prepared["unsigned"], "signature": signature}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    done
}

/// A user with a profile, a wallet and one credential, made through the API.
struct Owner {
    wallet: SigningKey,
    user: Uuid,
    credential: Uuid,
    plaintext: Vec<u8>,
}

impl Owner {
    fn ed25519(&self) -> Ed25519SigningKey {
        match &self.wallet {
            SigningKey::Ed25519(key) => key.clone(),
            other => panic!("not a raw Ed25519 wallet: {other:?}"),
        }
    }
}

async fn user_with_credential(f: &Fixture) -> Owner {
    user_with_wallet(f, SigningKey::generate_evm()).await
}

async fn user_with_wallet(f: &Fixture, wallet: SigningKey) -> Owner {
    let issuer = Ed25519SigningKey::generate();
    let inserter = Uuid::new_v4();
    let issuer_key = SigningKey::Ed25519(issuer.clone());
    for action in [
        Action::from(AddInserter {
            id: inserter,
            name: format!("issuer-{inserter}"),
        }),
        Action::from(AddDelegate {
            address: Identity::Ed25519(issuer.public_key()),
            inserter_id: inserter,
        }),
    ] {
        let done = act(&f.api, &f.owner, action).await;
        assert_eq!(done["status"], "committed", "{done}");
    }
    let secret = EncryptionSecretKey::generate();
    let user = Uuid::new_v4();
    let done = act(
        &f.api,
        &issuer_key,
        AddUserAsInserter {
            id: user,
            recipient_encryption_public_key: secret.public_key(),
            encryption_password_store: PasswordStore::User,
        },
    )
    .await;
    assert_eq!(done["status"], "committed", "{done}");
    let proof = wallet_proof(&wallet, &user, f.node.chain_id(), Uuid::new_v4());
    let done = act(
        &f.api,
        &issuer_key,
        UpsertWalletAsInserter {
            user_id: user,
            wallet: proof,
            approval: None,
        },
    )
    .await;
    assert_eq!(done["status"], "committed", "{done}");
    let credential = Uuid::new_v4();
    let vc = format!("urn:uuid:{credential}");
    let content = plaintext(&vc);
    let input = credential_input(
        &issuer,
        &public_notes(&vc, "approved"),
        &content,
        &secret.public_key(),
    );
    let done = act(
        &f.api,
        &wallet,
        AddCredential {
            id: credential,
            credential: input,
        },
    )
    .await;
    assert_eq!(done["status"], "committed", "{done}");
    Owner {
        wallet,
        user,
        credential,
        plaintext: content,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_each_bad_request_gets_its_status_and_stable_code() {
    let f = fixture().await;
    let api = &f.api;
    let signer = SigningKey::generate_evm().identity();
    let action = json!({"action": "revoke_access_grant", "args": {"id": Uuid::new_v4()}});

    // Bodies: malformed, unknown or missing fields, no content type, too large.
    let raw = |body: &'static str| call(api, "POST", "/api/v1/tx/prepare", Some(body.into()));
    assert_error(raw("{\"action\":").await, 400, "malformed_json");
    assert_error(
        post(
            api,
            "/api/v1/tx/prepare",
            json!({"action": action, "signer": signer, "fee": 1}),
        )
        .await,
        422,
        "unknown_field",
    );
    assert_error(
        post(api, "/api/v1/tx/prepare", json!({"action": action})).await,
        422,
        "missing_field",
    );
    assert_error(
        post(
            api,
            "/api/v1/tx/prepare",
            json!({"action": action, "signer": "0xnot-an-address"}),
        )
        .await,
        422,
        "invalid_json",
    );
    let request = Request::post("/api/v1/tx/prepare")
        .body(Body::from(
            json!({"action": action, "signer": signer}).to_string(),
        ))
        .unwrap();
    let response = api.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A body within the limit (above axum's 2 MiB default) is read; one byte over is not.
    let padded = format!("{{\"signed\":\"zz\"{}}}", " ".repeat(MAX_BODY_BYTES - 16));
    assert!(padded.len() <= MAX_BODY_BYTES && padded.len() > 2 * 1024 * 1024);
    assert_error(
        call(api, "POST", "/api/v1/tx", Some(padded.into_bytes())).await,
        400,
        "invalid_hex",
    );
    let huge = format!("{{\"signed\":\"{}\"}}", "00".repeat(MAX_BODY_BYTES / 2 + 1));
    assert_error(
        call(api, "POST", "/api/v1/tx", Some(huge.into_bytes())).await,
        413,
        "body_too_large",
    );

    // Submitted transactions: neither form, bad hex, undecodable, badly signed, another chain.
    assert_error(
        post(api, "/api/v1/tx", json!({})).await,
        400,
        "invalid_field",
    );
    assert_error(
        post(api, "/api/v1/tx", json!({"signed": "zz"})).await,
        400,
        "invalid_hex",
    );
    assert_error(
        post(api, "/api/v1/tx", json!({"signed": "01ff"})).await,
        400,
        "malformed",
    );
    let (_, prepared) = post(
        api,
        "/api/v1/tx/prepare",
        json!({"action": action, "signer": signer, "nonce": 1}),
    )
    .await;
    let wrong_key = SigningKey::generate_evm();
    let forged = hex::encode(wrong_key.sign(prepared["signing_text"].as_str().unwrap().as_bytes()));
    assert_error(
        post(
            api,
            "/api/v1/tx",
            json!({"unsigned": prepared["unsigned"], "signature": forged}),
        )
        .await,
        400,
        "bad_signature",
    );
    let key = SigningKey::generate_ed25519();
    let elsewhere = node::testkit::signed_tx(
        "another-chain",
        &key,
        1,
        protocol::action::RevokeAccessGrant { id: Uuid::nil() },
    );
    assert_error(
        post(
            api,
            "/api/v1/tx",
            json!({"signed": hex::encode(elsewhere.encode())}),
        )
        .await,
        400,
        "wrong_chain_id",
    );
    // A nonce the node does not expect: refused by CheckTx with the node's code.
    let early = node::testkit::signed_tx(
        f.node.chain_id(),
        &key,
        7,
        protocol::action::RevokeAccessGrant { id: Uuid::nil() },
    );
    let refused = post(
        api,
        "/api/v1/tx",
        json!({"signed": hex::encode(early.encode())}),
    )
    .await;
    assert!(refused.0.is_client_error(), "{}", refused.1);
    assert!(refused.1["code"].is_string(), "{}", refused.1);

    // Transaction hashes: unknown (also after a bounded wait), not hex, wrong length.
    let unknown = "AB".repeat(32);
    assert_error(
        get(api, &format!("/api/v1/tx/{unknown}")).await,
        404,
        "tx_not_found",
    );
    assert_error(get(api, "/api/v1/tx/nothex").await, 400, "invalid_hex");
    assert_error(get(api, "/api/v1/tx/abcd").await, 400, "invalid_length");
    assert_error(
        get(api, &format!("/api/v1/tx/{unknown}?wait=later")).await,
        400,
        "invalid_parameter",
    );
    assert_error(
        get(api, &format!("/api/v1/tx/{unknown}?wiat=commit")).await,
        400,
        "unknown_parameter",
    );

    // Paths and identities.
    assert_error(
        get(api, "/api/v1/nonce/0x1234").await,
        400,
        "invalid_evm_address",
    );
    assert_error(get(api, "/api/v1/no/such/route").await, 404, "no_route");
    // Delegated write grants: the message anyone may ask for, and the submit route that takes
    // only `create_credentials_by_dwg`.
    let grant = json!({
        "owner_wallet_identifier": signer,
        "grantee_wallet_identifier": signer,
        "issuer_public_key": "ab".repeat(32),
        "id": Uuid::new_v4(),
        "access_grant_timelock": "2030-01-01T00:00:00Z",
        "not_usable_before": "2026-01-01T00:00:00Z",
        "not_usable_after": "2031-01-01T00:00:00Z",
    });
    let (status, message) = post(api, "/api/v1/dwg/message", json!({"grant": grant})).await;
    assert_eq!(status, StatusCode::OK, "{message}");
    assert!(
        message["data"]
            .as_str()
            .unwrap()
            .starts_with("operation: delegatedWriteGrant\n"),
        "{message}"
    );
    assert_error(
        post(
            api,
            "/api/v1/dwg/message",
            json!({"grant": grant, "extra": 1}),
        )
        .await,
        422,
        "unknown_field",
    );
    let mut late = grant.clone();
    late["not_usable_after"] = json!("2031-01-01 00:00:00");
    assert_error(
        post(api, "/api/v1/dwg/message", json!({"grant": late})).await,
        400,
        "invalid_timestamp",
    );
    let revoke = node::testkit::signed_tx(
        f.node.chain_id(),
        &key,
        1,
        protocol::action::RevokeAccessGrant { id: Uuid::nil() },
    );
    assert_error(
        post(
            api,
            "/api/v1/dwg",
            json!({"signed": hex::encode(revoke.encode())}),
        )
        .await,
        400,
        "wrong_action",
    );

    // Sessions: none, or a forged token.
    assert_error(get(api, "/api/v1/me").await, 401, "session_missing");
    assert_error(
        call_as(api, Some("forged.token"), "GET", "/api/v1/me", None, &[]).await,
        401,
        "session_invalid",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_prepared_signed_and_submitted_through_the_api_takes_effect() {
    let f = fixture().await;
    let owner = user_with_credential(&f).await;
    let wallet = owner.wallet.identity();
    // The credential was added by the EVM wallet's own signed transaction: its nonce moved on,
    // and the node holds the credential for that wallet's caller.
    let (status, nonce) = get(&f.api, &format!("/api/v1/nonce/{wallet}")).await;
    assert_eq!(status, StatusCode::OK, "{nonce}");
    assert_eq!(nonce["data"], 2, "{nonce}");
    let (_, exists) = get(&f.api, &format!("/api/v1/profiles/{wallet}/exists")).await;
    assert_eq!(exists["data"], true, "{exists}");
    let answer = f
        .node
        .query(
            Some(wallet),
            Query::GetCredentialOwned {
                id: owner.credential,
            },
        )
        .await
        .unwrap();
    assert!(answer.height > 0);

    // Replaying a committed transaction is refused with the node's code.
    let (_, prepared) = post(
        &f.api,
        "/api/v1/tx/prepare",
        json!({"action": {"action": "add_attribute", "args": {"id": Uuid::new_v4(), "attribute_key": "k", "value": "v"}}, "signer": wallet}),
    )
    .await;
    let signature = hex::encode(
        owner
            .wallet
            .sign(prepared["signing_text"].as_str().unwrap().as_bytes()),
    );
    let body = json!({"unsigned": prepared["unsigned"], "signature": signature});
    let (status, first) = post(&f.api, "/api/v1/tx?wait=commit", body.clone()).await;
    assert_eq!(
        (status, &first["status"]),
        (StatusCode::OK, &json!("committed")),
        "{first}"
    );
    assert_error(post(&f.api, "/api/v1/tx", body).await, 409, "bad_nonce");

    let (_, chain) = get(&f.api, "/api/v1/chain").await;
    assert_eq!(chain["chain_id"], f.node.chain_id(), "{chain}");
    assert_eq!(
        chain["gateway_key"],
        f.node.gateway_key().to_string(),
        "{chain}"
    );
}

/// Prepares `action` for `key` with `nonce`, signs it here and submits it without waiting;
/// returns the transaction's hash.
async fn submit_unwaited(api: &Router, key: &SigningKey, nonce: u64, action: Value) -> String {
    let (status, prepared) = post(
        api,
        "/api/v1/tx/prepare",
        json!({"action": action, "signer": key.identity(), "nonce": nonce}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{prepared}");
    let text = prepared["signing_text"].as_str().unwrap();
    let signature = hex::encode(key.sign(text.as_bytes()));
    let (status, accepted) = post(
        api,
        "/api/v1/tx",
        json!({"unsigned": prepared["unsigned"], "signature": signature}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["status"], "accepted", "{accepted}");
    accepted["hash"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_a_transaction_checktx_accepted_but_its_block_refused_is_reported_refused() {
    let f = fixture().await;
    let owner = user_with_credential(&f).await;
    let wallet = owner.wallet.identity();
    let (_, next) = get(&f.api, &format!("/api/v1/nonce/{wallet}")).await;
    let nonce = next["data"].as_u64().unwrap();
    // Two attributes with one id, in a row: CheckTx accepts both (each is well signed, with
    // the next nonce), and only the block, where the first has taken effect, can refuse the
    // second.
    let id = Uuid::new_v4();
    let attribute = |value: &str| json!({"action": "add_attribute", "args": {"id": id, "attribute_key": "level", "value": value}});
    let first = submit_unwaited(&f.api, &owner.wallet, nonce, attribute("first")).await;
    let second = submit_unwaited(&f.api, &owner.wallet, nonce + 1, attribute("second")).await;

    let (status, done) = get(&f.api, &format!("/api/v1/tx/{first}?wait=commit")).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "committed", "{done}");
    let (status, refused) = get(&f.api, &format!("/api/v1/tx/{second}?wait=commit")).await;
    assert_eq!(status, StatusCode::OK, "{refused}");
    assert_eq!(refused["status"], "refused", "{refused}");
    assert!(refused["height"].as_u64().is_some(), "{refused}");
    assert_eq!(refused["error"]["code"], "already_exists", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{refused}"
    );

    // The refused transaction used its nonce and changed nothing else: the attribute is the
    // first one's.
    let (_, next) = get(&f.api, &format!("/api/v1/nonce/{wallet}")).await;
    assert_eq!(next["data"], nonce + 2, "{next}");
    let answer = f
        .node
        .query(
            Some(wallet),
            Query::GetAttributes {
                page: Default::default(),
            },
        )
        .await
        .unwrap();
    let attributes = serde_json::to_value(&answer.output).unwrap();
    let items = attributes["value"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{attributes}");
    assert_eq!(items[0]["value"], "first", "{attributes}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_a_caller_cannot_read_another_users_credential() {
    let f = fixture().await;
    let alice = user_with_credential(&f).await;
    let bob = user_with_credential(&f).await;
    // Alice reads her own credential; Bob, attested as himself, cannot read hers.
    f.node
        .query(
            Some(alice.wallet.identity()),
            Query::GetCredentialOwned {
                id: alice.credential,
            },
        )
        .await
        .unwrap();
    let err = f
        .node
        .query(
            Some(bob.wallet.identity()),
            Query::GetCredentialOwned {
                id: alice.credential,
            },
        )
        .await
        .unwrap_err();
    let api_err = relay::api::error::ApiError::from(err);
    assert_eq!(
        (api_err.status.as_u16(), api_err.code.as_str()),
        (404, "not_found")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_a_node_that_does_not_trust_the_gateway_refuses_its_reads() {
    let f = fixture().await;
    let owner = user_with_credential(&f).await;
    let stranger = NodeClient::connect(
        &f.rpc_url,
        Ed25519SigningKey::generate(),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let err = stranger
        .query(
            Some(owner.wallet.identity()),
            Query::GetCredentialOwned {
                id: owner.credential,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NodeClientError::Refused { code, .. } if code == "unauthorized"),
        "{err:?}"
    );
    let api_err = relay::api::error::ApiError::from(err);
    assert_eq!(api_err.status, StatusCode::FORBIDDEN);
}

/// Where `openapi-spec-validator` is: `scripts/setup.sh` installs it into the tools directory
/// when it is not on the PATH.
fn validator() -> std::path::PathBuf {
    let tools = std::env::var_os("IDOS_TOOLS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/idos-tools")
        });
    let installed = tools.join("venv/bin/openapi-spec-validator");
    if installed.exists() {
        installed
    } else {
        "openapi-spec-validator".into()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_valid_3_1_and_lists_every_route() {
    let f = fixture().await;
    let (status, doc) = get(&f.api, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");

    // Valid OpenAPI 3.1, by an outside validator.
    let file = tempfile::NamedTempFile::with_suffix(".json").unwrap();
    std::fs::write(file.path(), doc.to_string()).unwrap();
    let out = std::process::Command::new(validator())
        .arg(file.path())
        .output()
        .expect("openapi-spec-validator is missing: run scripts/setup.sh");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Sign-in's routes are in it too.
    for path in [
        "/api/v1/auth/nonce",
        "/api/v1/auth/siwe",
        "/api/v1/auth/ed25519",
        "/api/v1/auth/logout",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is not documented");
    }
    // Every documented operation is routed (never the `no_route` fallback, never 405) ...
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "{} paths", paths.len());
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", &Uuid::nil().to_string())
            .replace("{credential_id}", &Uuid::nil().to_string())
            .replace("{user_id}", &Uuid::nil().to_string())
            .replace("{hash}", &"00".repeat(32))
            .replace("{content_hash}", &"00".repeat(32))
            .replace("{address}", "0x0000000000000000000000000000000000000000")
            .replace("{account}", "0x0000000000000000000000000000000000000000");
        for method in item.as_object().unwrap().keys() {
            let (status, body) = call(
                &f.api,
                &method.to_uppercase(),
                &concrete,
                (method == "post").then(|| b"{}".to_vec()),
            )
            .await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_ne!(body["code"], "no_route", "{method} {path}: {body}");
        }
    }
    // ... and the router has no route the document lacks: every API route file registers its
    // routes only through `OpenApiRouter::routes(routes!(…))`, which documents them; the one
    // plain route is the `no_route` fallback in api/mod.rs; sign-in's plain routes are each in
    // the document.
    let auth_routes = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/auth/routes.rs"),
    )
    .unwrap();
    let mut plain_auth = 0;
    for piece in auth_routes.split(".route(\"").skip(1) {
        let path = piece.split('"').next().unwrap();
        assert!(
            paths.contains_key(path),
            "sign-in route {path} is not documented"
        );
        plain_auth += 1;
    }
    assert_eq!(plain_auth, 5);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        let plain = [
            ".route(",
            ".route_service(",
            ".nest(",
            ".nest_service(",
            ".fallback(",
        ]
        .iter()
        .map(|m| source.matches(m).count())
        .sum::<usize>();
        let allowed = usize::from(path.ends_with("mod.rs"));
        assert_eq!(
            plain,
            allowed,
            "{} adds routes the document does not list",
            path.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_a_session_cannot_read_another_users_data() {
    let f = fixture().await;
    let alice = user_with_wallet(&f, SigningKey::generate_ed25519()).await;
    let bob = user_with_wallet(&f, SigningKey::generate_ed25519()).await;
    let (alice_token, bob_token) = (
        sign_in(&f, &alice.ed25519()).await,
        sign_in(&f, &bob.ed25519()).await,
    );

    // Each session reads its own profile and credential ...
    let (status, me) = get_as(&f, &bob_token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["data"]["id"], bob.user.to_string());
    let (status, own) = get_as(
        &f,
        &alice_token,
        &format!("/api/v1/credentials/{}", alice.credential),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{own}");
    // ... and never another user's: not by id, not in its lists.
    for path in [
        format!("/api/v1/credentials/{}", alice.credential),
        format!("/api/v1/credentials/{}/public-notes", alice.credential),
        format!("/api/v1/credentials/{}/locked", alice.credential),
        format!("/api/v1/shared/{}", alice.credential),
    ] {
        assert_error(get_as(&f, &bob_token, &path).await, 404, "not_found");
    }
    let (_, listed) = get_as(&f, &bob_token, "/api/v1/credentials").await;
    let ids: Vec<&str> = listed["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [bob.credential.to_string()], "{listed}");
    // Reading Alice's data left nothing in her access log.
    let (_, log) = get_as(&f, &alice_token, "/api/v1/access-log").await;
    assert_eq!(log["items"], json!([]), "{log}");

    // Bad pages are refused with the protocol's codes, after the session is checked.
    assert_error(
        get_as(&f, &bob_token, "/api/v1/wallets?cursor=%25%25%25").await,
        400,
        "invalid_base64",
    );
    assert_error(
        get_as(&f, &bob_token, "/api/v1/wallets?limit=0").await,
        400,
        "invalid_field",
    );
    assert_error(
        get_as(&f, &bob_token, "/api/v1/wallets?page=2").await,
        400,
        "unknown_parameter",
    );
    assert_error(
        get_as(&f, &bob_token, "/api/v1/access-log?cursor=x").await,
        400,
        "invalid_cursor",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grantees_read_of_a_shared_copy_is_in_the_owners_access_log() {
    let f = fixture().await;
    let alice = user_with_wallet(&f, SigningKey::generate_ed25519()).await;
    let bob = user_with_wallet(&f, SigningKey::generate_ed25519()).await;
    let bob_box = EncryptionSecretKey::generate();
    // Alice shares her credential with Bob through the API (a transaction she signs).
    let share = node::testkit::share_action(
        &Ed25519SigningKey::generate(),
        alice.credential,
        &alice.plaintext,
        bob.wallet.identity(),
        &bob_box.public_key(),
        0,
    );
    let copy = share.id;
    let done = act(&f.api, &alice.wallet, share).await;
    assert_eq!(done["status"], "committed", "{done}");
    let (alice_token, bob_token) = (
        sign_in(&f, &alice.ed25519()).await,
        sign_in(&f, &bob.ed25519()).await,
    );

    // Bob reads the copy twice (the second with a request id), and lists his grants.
    let (status, read) = get_as(&f, &bob_token, &format!("/api/v1/shared/{copy}")).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["data"]["id"], copy.to_string());
    let (status, _) = call_as(
        &f.api,
        Some(&bob_token),
        "GET",
        &format!("/api/v1/shared/{copy}"),
        None,
        &[("x-request-id", "req-42")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, grants) = get_as(&f, &bob_token, "/api/v1/grants/granted").await;
    assert_eq!(
        grants["data"]["items"][0]["data_id"],
        copy.to_string(),
        "{grants}"
    );

    // Bob finds the copy by owner, by content hash and by grant; Alice sees her grant.
    let (_, by_user) = get_as(
        &f,
        &bob_token,
        &format!("/api/v1/shared/by-user/{}", alice.user),
    )
    .await;
    assert_eq!(
        by_user["data"]["items"][0]["id"],
        copy.to_string(),
        "{by_user}"
    );
    let hash = protocol::credential::content_hash(&alice.plaintext);
    let (_, sibling) = get_as(&f, &bob_token, &format!("/api/v1/shared/sibling/{hash}")).await;
    assert_eq!(sibling["data"], copy.to_string(), "{sibling}");
    let (_, on_copy) = get_as(
        &f,
        &bob_token,
        &format!("/api/v1/grants/by-credential/{copy}"),
    )
    .await;
    assert_eq!(
        on_copy["data"]["items"].as_array().unwrap().len(),
        1,
        "{on_copy}"
    );
    let (_, count) = get_as(&f, &bob_token, "/api/v1/grants/granted/count").await;
    assert_eq!(count["data"], 1, "{count}");
    let (_, owned) = get_as(&f, &alice_token, "/api/v1/grants/owned").await;
    assert_eq!(
        owned["data"]["items"][0]["data_id"],
        copy.to_string(),
        "{owned}"
    );
    // None of these reads of copy lists or ids is a read of content: only the two reads of
    // the copy itself are logged.

    // Alice sees both reads, newest first, a page at a time; Bob's own log is empty.
    let (status, page) = get_as(&f, &alice_token, "/api/v1/access-log?limit=1").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let newest = &page["items"][0];
    assert_eq!(
        newest["reader"],
        bob.wallet.identity().identifier(),
        "{page}"
    );
    assert_eq!(newest["copy_id"], copy.to_string());
    assert_eq!(newest["original_id"], alice.credential.to_string());
    assert_eq!(newest["owner_user_id"], alice.user.to_string());
    assert_eq!(newest["request_id"], "req-42");
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, older) = get_as(
        &f,
        &alice_token,
        &format!("/api/v1/access-log?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(older["items"].as_array().unwrap().len(), 1, "{older}");
    assert_eq!(older["items"][0]["copy_id"], copy.to_string());
    assert_eq!(older["next_cursor"], Value::Null, "{older}");
    let (_, bobs) = get_as(&f, &bob_token, "/api/v1/access-log").await;
    assert_eq!(bobs["items"], json!([]), "{bobs}");

    // Alice prepares a revoke of the grant for her own wallet to sign.
    let grant = grants["data"]["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, prepared) = call_as(
        &f.api,
        Some(&alice_token),
        "POST",
        &format!("/api/v1/grants/{grant}/revoke"),
        Some(b"{}".to_vec()),
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{prepared}");
    assert_eq!(prepared["signer"], alice.wallet.identity().identifier());
    // With the session cookie instead of the bearer token, a write needs an allowed Origin.
    let cookie = format!("idos_session={alice_token}");
    let revoke_path = format!("/api/v1/grants/{grant}/revoke");
    for (origin, status) in [
        (Some("https://evil.example"), 403),
        (None, 403),
        (Some(ORIGIN), 200),
    ] {
        let mut headers = vec![
            ("content-type", "application/json"),
            ("cookie", cookie.as_str()),
        ];
        if let Some(origin) = origin {
            headers.push(("origin", origin));
        }
        let got = call_as(
            &f.api,
            None,
            "POST",
            &revoke_path,
            Some(b"{}".to_vec()),
            &headers,
        )
        .await;
        assert_eq!(got.0.as_u16(), status, "{origin:?}: {}", got.1);
        if status == 403 {
            assert_eq!(got.1["code"], "origin_not_allowed", "{}", got.1);
        }
    }
    assert!(
        prepared["signing_text"]
            .as_str()
            .unwrap()
            .contains("revoke_access_grant")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_through_the_nodes_cursors() {
    let f = fixture().await;
    let alice = user_with_wallet(&f, SigningKey::generate_ed25519()).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let id = Uuid::new_v4();
        let done = act(
            &f.api,
            &alice.wallet,
            protocol::action::AddAttribute {
                id,
                attribute_key: format!("key-{n}"),
                value: format!("value-{n}"),
            },
        )
        .await;
        assert_eq!(done["status"], "committed", "{done}");
        ids.push(id.to_string());
    }
    ids.sort();
    let token = sign_in(&f, &alice.ed25519()).await;
    let mut seen = Vec::new();
    let mut path = "/api/v1/attributes?limit=1".to_owned();
    loop {
        let (status, page) = get_as(&f, &token, &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["height"].as_u64().unwrap() > 0, "{page}");
        assert_eq!(page["app_hash"].as_str().unwrap().len(), 64, "{page}");
        let items = page["data"]["items"].as_array().unwrap();
        assert!(items.len() <= 1, "{page}");
        seen.extend(items.iter().map(|a| a["id"].as_str().unwrap().to_owned()));
        match page["data"]["next_cursor"].as_str() {
            Some(cursor) => {
                let cursor: String = cursor
                    .bytes()
                    .map(|b| match b {
                        b'+' => "%2B".to_owned(),
                        b'/' => "%2F".to_owned(),
                        b'=' => "%3D".to_owned(),
                        b => (b as char).to_string(),
                    })
                    .collect();
                path = format!("/api/v1/attributes?limit=1&cursor={cursor}");
            }
            None => break,
        }
        assert!(seen.len() <= 3, "the pages do not end: {seen:?}");
    }
    assert_eq!(seen, ids, "every attribute once, in id order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_a_signed_in_identity_over_its_rate_limit_gets_429_and_others_do_not() {
    let probe: std::sync::Arc<dyn relay::ops::NodeProbe> = std::sync::Arc::new(|| async {
        Ok(relay::ops::NodeStatus {
            chain_id: "idos-test".into(),
            height: 1,
        })
    });
    let ops = relay::ops::Ops::new(
        relay::ops::OpsConfig {
            rate_limit_per_identity: relay::ops::RateLimit::new(1, 2),
            ..relay::ops::OpsConfig::default()
        },
        probe,
    )
    .unwrap();
    let f = fixture_limited(ops.identity_limiter()).await;
    let alice = Ed25519SigningKey::generate();
    let bob = Ed25519SigningKey::generate();
    let (alice_token, bob_token) = (sign_in(&f, &alice).await, sign_in(&f, &bob).await);
    for _ in 0..2 {
        let (status, body) = get_as(&f, &alice_token, "/api/v1/me").await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    }
    assert_error(
        get_as(&f, &alice_token, "/api/v1/me").await,
        429,
        "rate_limited",
    );
    let (status, body) = get_as(&f, &bob_token, "/api/v1/me").await;
    assert_ne!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "another identity has its own: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_waiting_for_an_unknown_transaction_ends_at_the_bound() {
    let f = fixture_waiting(Duration::from_millis(300)).await;
    let got = get(
        &f.api,
        &format!("/api/v1/tx/{}?wait=commit", "CD".repeat(32)),
    )
    .await;
    assert_error(got.clone(), 404, "tx_not_found");
    assert!(
        got.1["message"]
            .as_str()
            .unwrap()
            .contains("after waiting 300 ms"),
        "{}",
        got.1
    );
}
