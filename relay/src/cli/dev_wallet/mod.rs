//! The development wallet's back end: test keys of every wallet type a browser wallet
//! standard serves (EVM, NEAR, XRPL, Stellar), kept by `idos serve` in its data directory
//! ([`keyring`]), which sign for the browser provider `www/dev-wallet/provider.js` on every web
//! origin of the server (the app and the demo dapp), so the same accounts are on all of them.
//!
//! It lives with the CLI, not the relay server (`relay/tests/architecture.rs`: the server never
//! holds a user key): these are test keys `idos serve` mounts into its web origins as a
//! development tool ([`crate::web::site::SiteConfig::dev_wallet`]).
//!
//! FOR DEVELOPMENT ONLY: whatever page of an allowed origin is open may ask for a signature (the
//! provider shows each request and waits for Approve, but a page script can click it). It is
//! served only while the `dev_wallet` setting is on, and `idos serve` warns at start.
//!
//! Routes (JSON; the `POST`s only from a page of an allowed origin, with a JSON body, so no other
//! site can make a browser use the key):
//! - `GET  /dev-wallet/api/accounts` → `{accounts: [EVM address…], current, chain_id, wallets:
//!   {"EVM"|"NEAR"|"XRPL"|"Stellar": {accounts: [{address, public_key?}…], current}}}`
//! - `POST /dev-wallet/api/accounts` `{}` or `{wallet_type}` → a fresh account of that type
//!   (EVM by default), now its type's current one; the state as above
//! - `POST /dev-wallet/api/select` `{address}` → that account current (any type)
//! - `POST /dev-wallet/api/sign` `{address, message, recipient?, nonce?}` (message: `0x` hex of
//!   the bytes; `recipient` and `nonce` (64 hex digits): NEP-413's, for a NEAR account) →
//!   `{signature}` as `0x` hex, in the form a wallet of the account's type signs
//!   ([`Keyring::sign`])
//!
//! and the provider's files from `www/dev-wallet/`.

pub mod keyring;

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use protocol::wallet::WalletType;
use serde::Deserialize;
use tower_http::services::ServeDir;

pub use keyring::{Account, DevWalletError, Keyring, Nep413Request, WALLET_TYPES};

/// The development wallet of one data directory.
#[derive(Clone, Debug)]
pub struct DevWallet {
    keys: Keyring,
    chain_id: u64,
}

impl DevWallet {
    /// Opens (or creates, with one account of each type) the wallet in
    /// `<data_dir>/dev_wallet`. `chain_id` is the EIP-155 chain the EVM provider reports
    /// (`eth_chainId`).
    pub fn open(data_dir: &Path, chain_id: u64) -> Result<DevWallet, DevWalletError> {
        Ok(DevWallet {
            keys: Keyring::open(data_dir.join("dev_wallet"))?,
            chain_id,
        })
    }

    /// The keys, of every type.
    pub fn keys(&self) -> &Keyring {
        &self.keys
    }

    /// Every EVM account's EIP-55 address, in creation order.
    pub fn addresses(&self) -> Vec<String> {
        self.keys
            .accounts(WalletType::Evm)
            .into_iter()
            .map(|a| a.address)
            .collect()
    }

    /// The selected EVM account's EIP-55 address.
    pub fn current(&self) -> String {
        self.current_of(WalletType::Evm)
    }

    /// The selected account's address of a type the wallet holds (empty for another type).
    pub fn current_of(&self, kind: WalletType) -> String {
        self.keys
            .current(kind)
            .map(|a| a.address)
            .unwrap_or_default()
    }

    /// The routes, on a web origin whose pages may use the wallet when their `Origin` is one of
    /// `origins`; the provider's files come from `www_dir/dev-wallet`.
    pub fn router(&self, www_dir: &Path, origins: Vec<String>) -> Router {
        let state = Arc::new(Served {
            wallet: self.clone(),
            origins,
        });
        Router::new()
            .route("/dev-wallet/api/accounts", get(accounts).post(create))
            .route("/dev-wallet/api/select", post(select))
            .route("/dev-wallet/api/sign", post(sign))
            .with_state(state)
            .nest_service("/dev-wallet", ServeDir::new(www_dir.join("dev-wallet")))
    }
}

struct Served {
    wallet: DevWallet,
    origins: Vec<String>,
}

fn refuse(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"code": code, "message": message})),
    )
        .into_response()
}

/// A `POST` must come from a page of an allowed origin (browsers send `Origin` on every POST):
/// the refusal otherwise.
fn refusal_unless_allowed_page(s: &Served, headers: &HeaderMap) -> Option<Response> {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .unwrap_or("");
    if s.origins.iter().any(|o| o == origin) {
        None
    } else {
        Some(refuse(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "the development wallet signs only for pages of this server's own origins".into(),
        ))
    }
}

fn state_json(w: &DevWallet) -> Response {
    let mut wallets = serde_json::Map::new();
    for kind in WALLET_TYPES {
        wallets.insert(
            kind.as_str().to_owned(),
            serde_json::json!({
                "accounts": w.keys.accounts(kind),
                "current": w.keys.current(kind).ok(),
            }),
        );
    }
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({
            "accounts": w.addresses(),
            "current": w.current(),
            "chain_id": format!("0x{:x}", w.chain_id),
            "wallets": wallets,
        })),
    )
        .into_response()
}

fn refuse_error(e: DevWalletError) -> Response {
    match e {
        DevWalletError::UnknownAccount(_) => {
            refuse(StatusCode::NOT_FOUND, "unknown_account", e.to_string())
        }
        DevWalletError::UnsupportedType(_) => refuse(
            StatusCode::BAD_REQUEST,
            "unsupported_wallet_type",
            e.to_string(),
        ),
        DevWalletError::BadRequest(_) => {
            refuse(StatusCode::BAD_REQUEST, "invalid_request", e.to_string())
        }
        _ => refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

async fn accounts(State(s): State<Arc<Served>>) -> Response {
    state_json(&s.wallet)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    /// The new account's type; EVM when absent.
    #[serde(default)]
    wallet_type: Option<WalletType>,
}

async fn create(
    State(s): State<Arc<Served>>,
    headers: HeaderMap,
    axum::Json(req): axum::Json<CreateRequest>,
) -> Response {
    if let Some(r) = refusal_unless_allowed_page(&s, &headers) {
        return r;
    }
    match s
        .wallet
        .keys
        .new_account(req.wallet_type.unwrap_or(WalletType::Evm))
    {
        Ok(account) => {
            tracing::warn!(address = %account.address, "development wallet: new account");
            state_json(&s.wallet)
        }
        Err(e) => refuse_error(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectRequest {
    address: String,
}

async fn select(
    State(s): State<Arc<Served>>,
    headers: HeaderMap,
    axum::Json(req): axum::Json<SelectRequest>,
) -> Response {
    if let Some(r) = refusal_unless_allowed_page(&s, &headers) {
        return r;
    }
    match s.wallet.keys.select(&req.address) {
        Ok(_) => state_json(&s.wallet),
        Err(e) => refuse_error(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignRequest {
    address: String,
    /// `0x` hex of the message's bytes.
    message: String,
    /// NEP-413's recipient (NEAR accounts).
    #[serde(default)]
    recipient: Option<String>,
    /// NEP-413's nonce, 64 hex digits (NEAR accounts).
    #[serde(default)]
    nonce: Option<String>,
}

/// The longest message the wallet signs (a transaction's signing text is a few hundred bytes).
const MAX_MESSAGE: usize = 16 * 1024;

fn nep413_request(req: &SignRequest) -> Result<Option<Nep413Request>, DevWalletError> {
    let (Some(recipient), Some(nonce)) = (&req.recipient, &req.nonce) else {
        return Ok(None);
    };
    let bad = || {
        DevWalletError::BadRequest(
            "nonce: 64 hex digits (NEP-413's 32 bytes); recipient: at most 256 bytes".into(),
        )
    };
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(nonce.strip_prefix("0x").unwrap_or(nonce), &mut bytes)
        .map_err(|_| bad())?;
    if recipient.len() > 256 {
        return Err(bad());
    }
    Ok(Some(Nep413Request {
        recipient: recipient.clone(),
        nonce: bytes,
    }))
}

async fn sign(
    State(s): State<Arc<Served>>,
    headers: HeaderMap,
    axum::Json(req): axum::Json<SignRequest>,
) -> Response {
    if let Some(r) = refusal_unless_allowed_page(&s, &headers) {
        return r;
    }
    let digits = req.message.strip_prefix("0x").unwrap_or(&req.message);
    let message = match hex::decode(digits) {
        Ok(m) if m.len() <= MAX_MESSAGE => m,
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "invalid_message",
                format!("message: 0x and hex of at most {MAX_MESSAGE} bytes"),
            );
        }
    };
    let nep413 = match nep413_request(&req) {
        Ok(n) => n,
        Err(e) => return refuse_error(e),
    };
    match s.wallet.keys.sign(&req.address, &message, nep413) {
        Ok(sig) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(serde_json::json!({"signature": format!("0x{}", hex::encode(sig))})),
        )
            .into_response(),
        Err(e) => refuse_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::identity::recover_eip191;

    #[test]
    fn the_evm_view_keeps_the_layout_of_earlier_versions() {
        let data = tempfile::tempdir().unwrap();
        let w = DevWallet::open(data.path(), 1).unwrap();
        let first = w.current();
        assert_eq!(w.addresses(), vec![first.clone()]);
        let sig = w.keys().sign(&first, b"hello", None).unwrap();
        assert_eq!(recover_eip191(b"hello", &sig).unwrap().to_checksum(), first);
        assert!(data.path().join("dev_wallet/key-0").exists());
        assert!(w.current_of(WalletType::Near).starts_with("ed25519:"));
        assert!(w.current_of(WalletType::Xrpl).starts_with('r'));
        assert!(w.current_of(WalletType::Stellar).starts_with('G'));
        assert_eq!(w.current_of(WalletType::Ed25519), "");
    }

    async fn call(router: &Router, method: &str, path: &str, origin: Option<&str>) -> StatusCode {
        use tower::ServiceExt;
        let mut req = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let body = if method == "POST" {
            r#"{"address":"0x0000000000000000000000000000000000000001","message":"0x00"}"#
        } else {
            ""
        };
        router
            .clone()
            .oneshot(req.body(axum::body::Body::from(body)).unwrap())
            .await
            .unwrap()
            .status()
    }

    #[tokio::test]
    async fn fail_a_signature_asked_by_a_page_of_another_origin_or_by_no_page() {
        let data = tempfile::tempdir().unwrap();
        let wallet = DevWallet::open(data.path(), 1).unwrap();
        let app = "http://localhost:8080";
        let www = Path::new(env!("CARGO_MANIFEST_DIR")).join("../www");
        let on = wallet.router(&www, vec![app.to_owned()]);
        assert_eq!(
            call(&on, "GET", "/dev-wallet/provider.js", None).await,
            StatusCode::OK
        );
        assert_eq!(
            call(&on, "GET", "/dev-wallet/api/accounts", None).await,
            StatusCode::OK
        );
        for origin in [
            None,
            Some("http://localhost:9999"),
            Some("https://evil.example"),
        ] {
            assert_eq!(
                call(&on, "POST", "/dev-wallet/api/sign", origin).await,
                StatusCode::FORBIDDEN,
                "{origin:?}"
            );
        }
        // Its own origin may (here for an address that is not one of its accounts: 404).
        assert_eq!(
            call(&on, "POST", "/dev-wallet/api/sign", Some(app)).await,
            StatusCode::NOT_FOUND
        );
    }

    async fn post(
        router: &Router,
        path: &str,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        use tower::ServiceExt;
        let req = axum::http::Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/json")
            .header("origin", "http://localhost:8080")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        let response = router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    #[tokio::test]
    async fn the_routes_make_and_sign_with_accounts_of_every_type_and_refuse_malformed_requests() {
        let data = tempfile::tempdir().unwrap();
        let wallet = DevWallet::open(data.path(), 1).unwrap();
        let www = Path::new(env!("CARGO_MANIFEST_DIR")).join("../www");
        let router = wallet.router(&www, vec!["http://localhost:8080".to_owned()]);
        let (status, state) = post(
            &router,
            "/dev-wallet/api/accounts",
            serde_json::json!({"wallet_type": "Stellar"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{state}");
        let stellar = &state["wallets"]["Stellar"];
        assert_eq!(stellar["accounts"].as_array().unwrap().len(), 2, "{state}");
        assert_eq!(stellar["current"], stellar["accounts"][1]);
        let near = state["wallets"]["NEAR"]["current"]["address"]
            .as_str()
            .unwrap()
            .to_owned();
        let message = format!("0x{}", hex::encode("hello"));
        let sign = |extra: serde_json::Value| {
            let mut body = serde_json::json!({"address": near, "message": message});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            post(&router, "/dev-wallet/api/sign", body)
        };
        let (status, signed) = sign(serde_json::json!({
            "recipient": "idos.network", "nonce": "07".repeat(32)
        }))
        .await;
        assert_eq!(status, StatusCode::OK, "{signed}");
        assert_eq!(signed["signature"].as_str().unwrap().len(), 2 + 128);
        for (extra, code) in [
            (serde_json::json!({}), "invalid_request"),
            (
                serde_json::json!({"recipient": "idos.network", "nonce": "07"}),
                "invalid_request",
            ),
            (
                serde_json::json!({"recipient": "x".repeat(300), "nonce": "07".repeat(32)}),
                "invalid_request",
            ),
        ] {
            let (status, refused) = sign(extra.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{extra}: {refused}");
            assert_eq!(refused["code"], code, "{extra}");
        }
        let (status, refused) = post(
            &router,
            "/dev-wallet/api/accounts",
            serde_json::json!({"wallet_type": "ed25519"}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
        assert_eq!(refused["code"], "unsupported_wallet_type");
    }
}
