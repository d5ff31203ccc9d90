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
use relay::api::{ApiState, MAX_BODY_BYTES, app};
use relay::node_client::{NodeClient, NodeClientError};
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
    Fixture {
        _dir: dir,
        api: app(ApiState::new(node.clone(), Duration::from_secs(10))),
        node,
        owner,
        rpc_url,
        chain: running.chain,
    }
}

/// One request through the router: status and JSON body.
async fn call(
    api: &Router,
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if body.is_some() {
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

/// A user with a profile, an EVM wallet and one credential, made through the API.
struct Owner {
    wallet: SigningKey,
    credential: Uuid,
}

async fn user_with_credential(f: &Fixture) -> Owner {
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
    let wallet = SigningKey::generate_evm();
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
    let input = credential_input(
        &issuer,
        &public_notes(&vc, "approved"),
        &plaintext(&vc),
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
    Owner { wallet, credential }
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
    let huge = format!("{{\"signed\":\"{}\"}}", "00".repeat(MAX_BODY_BYTES / 2 + 1));
    assert_error(
        call(api, "POST", "/api/v1/tx", Some(huge.into_bytes())).await,
        413,
        "too_large",
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
    assert_error(
        get(api, "/api/v1/credentials/not-a-uuid").await,
        401,
        "unauthenticated",
    );
    assert_error(get(api, "/api/v1/me").await, 401, "unauthenticated");
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

    // Replaying the same signed transaction is refused with the node's code.
    let (_, chain) = get(&f.api, "/api/v1/chain").await;
    assert_eq!(chain["chain_id"], f.node.chain_id(), "{chain}");
    assert_eq!(
        chain["gateway_key"],
        f.node.gateway_key().to_string(),
        "{chain}"
    );
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
    // plain route is the `no_route` fallback in api/mod.rs.
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
