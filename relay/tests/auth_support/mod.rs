//! The sign-in tests' relay: the auth routes over a fresh store, with a `/whoami` and a
//! `/write` route behind the session extractor, driven with `oneshot`; and an EIP-4361 message
//! builder.
#![allow(dead_code)] // Each test file uses what it needs.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use protocol::identity::SigningKey;
use relay::auth::{Auth, AuthConfig, Session, SessionKey};
use relay::store::RelayStore;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tower::ServiceExt;

pub const RELAY: &str = "https://relay.example.com";
pub const DAPP: &str = "https://dapp.example.org";
pub const KEY: [u8; 32] = [0x5a; 32];

pub struct Relay {
    pub dir: tempfile::TempDir,
    pub auth: Auth,
    pub app: Router,
}

pub fn config() -> AuthConfig {
    let mut config = AuthConfig::new(RELAY);
    config.dapp_origins = vec![DAPP.to_owned()];
    config.network = "idos-test".to_owned();
    config
}

pub fn app(auth: &Auth) -> Router {
    async fn whoami(session: Session) -> String {
        session.identity.identifier()
    }
    async fn write(session: Session) -> String {
        format!("{} {}", session.identity.identifier(), session.via_cookie)
    }
    auth.router::<Auth>()
        .route("/whoami", get(whoami))
        .route("/write", post(write))
        .with_state(auth.clone())
}

pub fn relay() -> Relay {
    relay_in(tempfile::tempdir().unwrap())
}

pub fn relay_in(dir: tempfile::TempDir) -> Relay {
    let store = RelayStore::open(dir.path()).unwrap();
    let auth = Auth::new(config(), SessionKey::from_bytes(KEY), store).unwrap();
    Relay {
        app: app(&auth),
        auth,
        dir,
    }
}

impl Relay {
    /// The same data directory and key, opened again (a restart).
    pub fn restart(self) -> Relay {
        let Relay { dir, auth, app } = self;
        drop(app);
        drop(auth);
        relay_in(dir)
    }

    pub async fn call(&self, request: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, body, headers)
    }

    pub async fn nonce(&self) -> String {
        let (status, body, headers) = self
            .call(
                Request::get("/api/v1/auth/nonce")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        body["nonce"].as_str().unwrap().to_owned()
    }

    pub async fn post(
        &self,
        path: &str,
        body: Value,
        origin: Option<&str>,
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        self.call(request.body(Body::from(body.to_string())).unwrap())
            .await
    }

    pub async fn siwe(
        &self,
        message: &str,
        signature: &str,
        origin: Option<&str>,
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        self.post(
            "/api/v1/auth/siwe",
            json!({"message": message, "signature": signature}),
            origin,
        )
        .await
    }

    /// Signs in with a fresh nonce and a good message; returns the token and the cookie.
    pub async fn sign_in(&self, wallet: &SigningKey) -> (String, String) {
        let message = Siwe::new(wallet, &self.nonce().await).text();
        let (status, body, headers) = self
            .siwe(&message, &sign(wallet, &message), Some(RELAY))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let cookie = headers[header::SET_COOKIE].to_str().unwrap().to_owned();
        let pair = cookie.split(';').next().unwrap().to_owned();
        (body["token"].as_str().unwrap().to_owned(), pair)
    }

    pub async fn get_with(
        &self,
        path: &str,
        auth_header: Option<&str>,
        cookie: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::get(path);
        if let Some(a) = auth_header {
            request = request.header(header::AUTHORIZATION, a);
        }
        if let Some(c) = cookie {
            request = request.header(header::COOKIE, c);
        }
        let (status, body, _) = self.call(request.body(Body::empty()).unwrap()).await;
        (status, body)
    }

    pub async fn write_with(
        &self,
        bearer: Option<&str>,
        cookie: Option<&str>,
        origin: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::post("/write");
        if let Some(t) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(c) = cookie {
            request = request.header(header::COOKIE, c);
        }
        if let Some(o) = origin {
            request = request.header(header::ORIGIN, o);
        }
        let (status, body, _) = self.call(request.body(Body::empty()).unwrap()).await;
        (status, body)
    }
}

pub fn wallet() -> SigningKey {
    SigningKey::evm_from_bytes(&[0x11; 32]).unwrap()
}

pub fn sign(wallet: &SigningKey, message: &str) -> String {
    format!("0x{}", hex::encode(wallet.sign(message.as_bytes())))
}

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

/// An EIP-4361 message, good for [`RELAY`] by default.
pub struct Siwe {
    pub origin_line: String,
    pub address: String,
    pub uri: String,
    pub chain_id: u64,
    pub nonce: String,
    pub issued_at: String,
    pub expiration: Option<String>,
    pub not_before: Option<String>,
}

impl Siwe {
    pub fn new(wallet: &SigningKey, nonce: &str) -> Self {
        let address = match wallet.identity() {
            protocol::identity::Identity::Evm(a) => a.to_checksum(),
            _ => unreachable!(),
        };
        let now = OffsetDateTime::now_utc();
        Siwe {
            origin_line: RELAY.to_owned(),
            address,
            uri: format!("{RELAY}/login"),
            chain_id: 1,
            nonce: nonce.to_owned(),
            // Milliseconds, as JavaScript wallets write them.
            issued_at: format!("{}Z", &rfc3339(now - time::Duration::seconds(1))[..19])
                .replace('Z', ".123Z"),
            expiration: Some(rfc3339(now + time::Duration::minutes(5))),
            not_before: None,
        }
    }

    pub fn text(&self) -> String {
        let mut text = format!(
            "{} wants you to sign in with your Ethereum account:\n{}\n\nSign in to the relay.\n\nURI: {}\nVersion: 1\nChain ID: {}\nNonce: {}\nIssued At: {}",
            self.origin_line, self.address, self.uri, self.chain_id, self.nonce, self.issued_at
        );
        if let Some(e) = &self.expiration {
            text.push_str(&format!("\nExpiration Time: {e}"));
        }
        if let Some(n) = &self.not_before {
            text.push_str(&format!("\nNot Before: {n}"));
        }
        text
    }
}

pub fn assert_refused(
    result: &(StatusCode, Value, axum::http::HeaderMap),
    status: StatusCode,
    code: &str,
) {
    assert_eq!(result.0, status, "{}", result.1);
    assert_eq!(result.1["code"], code, "{}", result.1);
    assert!(result.1["message"].as_str().is_some_and(|m| !m.is_empty()));
}
