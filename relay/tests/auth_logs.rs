//! What sign-in and logout log: who and which session, never a token, a signature or the key.
//! A test binary of its own: tracing caches per call site whether anyone listens, so a
//! thread-local subscriber must not share a process with tests that run without one.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use protocol::identity::{Identity, SigningKey};
use relay::auth::{Auth, AuthConfig, SessionKey};
use relay::store::RelayStore;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tower::ServiceExt;

const RELAY: &str = "https://relay.example.com";
const KEY: [u8; 32] = [0x5a; 32];

/// Collects what the relay logs.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn call(app: &axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn sign_in_and_logout_log_who_and_which_session_but_never_a_token_or_signature() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();

    let dir = tempfile::tempdir().unwrap();
    let auth = Auth::new(
        AuthConfig::new(RELAY),
        SessionKey::from_bytes(KEY),
        RelayStore::open(dir.path()).unwrap(),
    )
    .unwrap();
    let app = auth.router::<()>();
    let (_, nonce) = call(
        &app,
        Request::get("/api/v1/auth/nonce")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let wallet = SigningKey::evm_from_bytes(&[0x11; 32]).unwrap();
    let Identity::Evm(address) = wallet.identity() else {
        unreachable!()
    };
    let now = OffsetDateTime::now_utc();
    let message = format!(
        "{RELAY} wants you to sign in with your Ethereum account:\n{}\n\n\nURI: {RELAY}\nVersion: 1\nChain ID: 1\nNonce: {}\nIssued At: {}",
        address.to_checksum(),
        nonce["nonce"].as_str().unwrap(),
        (now - time::Duration::seconds(1)).format(&Rfc3339).unwrap()
    );
    let signature = format!("0x{}", hex::encode(wallet.sign(message.as_bytes())));
    let (status, body) = call(
        &app,
        Request::post("/api/v1/auth/siwe")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"message": message, "signature": signature}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &app,
        Request::post("/api/v1/auth/logout")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("signed in") && text.contains("logged out"),
        "{text}"
    );
    assert!(text.contains(&wallet.identity().identifier()), "{text}");
    let (payload, tag) = token[3..].split_once('.').unwrap();
    for secret in [&token[..], payload, tag, &signature[2..], &hex::encode(KEY)] {
        assert!(!text.contains(secret), "{secret} logged: {text}");
    }
}
