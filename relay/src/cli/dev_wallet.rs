//! The development wallet's back end: secp256k1 test keys kept by `idos serve` in its data
//! directory, which sign for the browser provider `www/dev-wallet/provider.js` on every web
//! origin of the server (the app and the demo dapp), so the same account is on all of them.
//!
//! It lives with the CLI, not the relay server (`relay/tests/architecture.rs`: the server never
//! holds a user key): these are test keys `idos serve` mounts into its web origins as a
//! development tool ([`crate::web::site::SiteConfig::dev_wallet`]).
//!
//! FOR DEVELOPMENT ONLY: whatever page of an allowed origin is open may ask for a signature (the
//! provider shows each request and waits for Approve, but a page script can click it). It is
//! served only while the `dev_wallet` setting is on, and `idos serve` warns at start.
//!
//! Keys: `<data dir>/dev_wallet/key-<n>` (32-byte secp256k1 scalar as hex, owner-only, created
//! once, never replaced: `node::keyfile::write_secret`); the selected account's number in
//! `<data dir>/dev_wallet/current`. Signatures are `protocol::identity`'s EIP-191 signing, the
//! same code that verifies them in the relay and the node.
//!
//! Routes (JSON; the `POST`s only from a page of an allowed origin, with a JSON body, so no other
//! site can make a browser use the key):
//! - `GET  /dev-wallet/api/accounts` → `{accounts: [address…], current, chain_id}`
//! - `POST /dev-wallet/api/accounts` `{}` → a fresh account, now the current one
//! - `POST /dev-wallet/api/select` `{address}` → that account current
//! - `POST /dev-wallet/api/sign` `{address, message}` (message: `0x` hex of the bytes) →
//!   `{signature}` (`0x` + 130 hex, EIP-191 `personal_sign`)
//!
//! and the provider's files from `www/dev-wallet/`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use protocol::identity::{Identity, SignatureScheme, SigningKey};
use serde::Deserialize;
use tower_http::services::ServeDir;
use zeroize::Zeroizing;

/// Why the development wallet could not start or answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevWalletError {
    /// A key file or the directory could not be read or written.
    #[error("development wallet: {0}")]
    Io(String),
    /// A key file holds something else than a secp256k1 key.
    #[error(
        "development wallet: {0} is not a 32-byte hex secp256k1 key; move it away to create new accounts"
    )]
    BadKey(PathBuf),
}

struct Accounts {
    keys: Vec<SigningKey>,
    current: usize,
}

/// The development wallet of one data directory.
#[derive(Clone)]
pub struct DevWallet {
    dir: PathBuf,
    chain_id: u64,
    accounts: Arc<Mutex<Accounts>>,
}

impl std::fmt::Debug for DevWallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevWallet")
            .field("dir", &self.dir)
            .field("accounts", &self.addresses())
            .finish()
    }
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> DevWalletError {
    move |e| DevWalletError::Io(format!("{what}: {e}"))
}

impl DevWallet {
    /// Opens (or creates, with one account) the wallet in `<data_dir>/dev_wallet`. `chain_id` is
    /// the EIP-155 chain the provider reports (`eth_chainId`).
    pub fn open(data_dir: &Path, chain_id: u64) -> Result<DevWallet, DevWalletError> {
        let dir = data_dir.join("dev_wallet");
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io(format!("restricting {}", dir.display())))?;
        }
        let mut keys = Vec::new();
        loop {
            let path = dir.join(format!("key-{}", keys.len()));
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let text = Zeroizing::new(text);
                    let key = SigningKey::from_hex(SignatureScheme::Eip191, text.trim())
                        .map_err(|_| DevWalletError::BadKey(path.clone()))?;
                    keys.push(key);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => return Err(io(format!("reading {}", path.display()))(e)),
            }
        }
        let current = std::fs::read_to_string(dir.join("current"))
            .ok()
            .and_then(|t| t.trim().parse::<usize>().ok())
            .filter(|n| *n < keys.len())
            .unwrap_or(0);
        let wallet = DevWallet {
            dir,
            chain_id,
            accounts: Arc::new(Mutex::new(Accounts { keys, current })),
        };
        if wallet.addresses().is_empty() {
            wallet.new_account()?;
        }
        Ok(wallet)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Accounts> {
        self.accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every account's EIP-55 address, in creation order.
    pub fn addresses(&self) -> Vec<String> {
        self.lock().keys.iter().map(checksum).collect()
    }

    /// The selected account's EIP-55 address.
    pub fn current(&self) -> String {
        let a = self.lock();
        checksum(&a.keys[a.current])
    }

    /// Creates a fresh account (a new key file) and selects it; returns its address.
    pub fn new_account(&self) -> Result<String, DevWalletError> {
        let mut a = self.lock();
        let key = SigningKey::generate_evm();
        let n = a.keys.len();
        let path = self.dir.join(format!("key-{n}"));
        node::keyfile::write_secret(&path, key.to_hex().as_bytes())
            .map_err(|e| DevWalletError::Io(e.to_string()))?;
        a.keys.push(key);
        a.current = n;
        self.save_current(n)?;
        Ok(checksum(&a.keys[n]))
    }

    fn save_current(&self, n: usize) -> Result<(), DevWalletError> {
        let path = self.dir.join("current");
        std::fs::write(&path, n.to_string()).map_err(io(format!("writing {}", path.display())))
    }

    fn index_of(a: &Accounts, address: &str) -> Option<usize> {
        let wanted = Identity::parse(address).ok()?;
        a.keys.iter().position(|k| k.identity() == wanted)
    }

    /// Selects an existing account.
    pub fn select(&self, address: &str) -> Result<String, DevWalletError> {
        let mut a = self.lock();
        let n = Self::index_of(&a, address)
            .ok_or_else(|| DevWalletError::Io(format!("no account {address} in this wallet")))?;
        a.current = n;
        self.save_current(n)?;
        Ok(checksum(&a.keys[n]))
    }

    /// EIP-191 `personal_sign` of `message` by the account `address` (`None` if it is not one of
    /// this wallet's).
    pub fn sign(&self, address: &str, message: &[u8]) -> Option<Vec<u8>> {
        let a = self.lock();
        Self::index_of(&a, address).map(|n| a.keys[n].sign(message))
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

fn checksum(key: &SigningKey) -> String {
    match key.identity() {
        Identity::Evm(a) => a.to_checksum(),
        other => other.identifier(),
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
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({
            "accounts": w.addresses(),
            "current": w.current(),
            "chain_id": format!("0x{:x}", w.chain_id),
        })),
    )
        .into_response()
}

async fn accounts(State(s): State<Arc<Served>>) -> Response {
    state_json(&s.wallet)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

async fn create(
    State(s): State<Arc<Served>>,
    headers: HeaderMap,
    _body: axum::Json<Empty>,
) -> Response {
    if let Some(r) = refusal_unless_allowed_page(&s, &headers) {
        return r;
    }
    match s.wallet.new_account() {
        Ok(address) => {
            tracing::warn!(%address, "development wallet: new account");
            state_json(&s.wallet)
        }
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
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
    match s.wallet.select(&req.address) {
        Ok(_) => state_json(&s.wallet),
        Err(e) => refuse(StatusCode::NOT_FOUND, "unknown_account", e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignRequest {
    address: String,
    /// `0x` hex of the message's bytes.
    message: String,
}

/// The longest message the wallet signs (a transaction's signing text is a few hundred bytes).
const MAX_MESSAGE: usize = 16 * 1024;

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
    match s.wallet.sign(&req.address, &message) {
        Some(sig) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(serde_json::json!({"signature": format!("0x{}", hex::encode(sig))})),
        )
            .into_response(),
        None => refuse(
            StatusCode::NOT_FOUND,
            "unknown_account",
            format!(
                "{} is not an account of this development wallet",
                req.address
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::identity::recover_eip191;

    #[test]
    fn accounts_persist_owner_only_and_sign_verifiably() {
        let data = tempfile::tempdir().unwrap();
        let w = DevWallet::open(data.path(), 1).unwrap();
        let first = w.current();
        assert_eq!(w.addresses(), vec![first.clone()]);
        let second = w.new_account().unwrap();
        assert_ne!(first, second);
        assert_eq!(w.current(), second);
        // Reopened: the same accounts, the same selection.
        let again = DevWallet::open(data.path(), 1).unwrap();
        assert_eq!(again.addresses(), vec![first.clone(), second.clone()]);
        assert_eq!(again.current(), second);
        again.select(&first.to_lowercase()).unwrap();
        assert_eq!(DevWallet::open(data.path(), 1).unwrap().current(), first);
        let sig = again.sign(&first, b"hello").unwrap();
        assert_eq!(recover_eip191(b"hello", &sig).unwrap().to_checksum(), first);
        assert!(
            again
                .sign("0x0000000000000000000000000000000000000001", b"x")
                .is_none()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&data.path().join("dev_wallet/key-0")), 0o600);
            assert_eq!(mode(&data.path().join("dev_wallet")), 0o700);
        }
        assert!(!format!("{again:?}").contains(&*again.lock().keys[0].to_hex()));
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

    #[test]
    fn fail_a_key_file_that_is_not_a_key() {
        let data = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(data.path().join("dev_wallet")).unwrap();
        std::fs::write(data.path().join("dev_wallet/key-0"), "nope").unwrap();
        assert!(matches!(
            DevWallet::open(data.path(), 1),
            Err(DevWalletError::BadKey(_))
        ));
    }
}
