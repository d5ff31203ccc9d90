//! The demo dapp: its own origin (a third address of `idos serve`), with its page
//! (`www/dapp/`), the host SDK installed as a dapp installs it
//! (`/node_modules/@idos-rs/enclave-sdk/`), the shared page modules (`/shared/`) and its back
//! end (`/api/…`).
//!
//! The page asks the user for a KYC credential of the level this dapp requires and for an
//! access grant locked for 30 days (the enclave re-encrypts the credential to this dapp's key
//! after the user approves in its dialog; the user's wallet signs `share_credential`). It then
//! asks the back end to verify the copy: the back end signs in to the relay with its own Ed25519
//! key (`POST /api/v1/auth/ed25519`), reads the access grant and the copy, decrypts the copy with
//! its own X25519 key and hands the credential to its page only once every check holds: the
//! grant names this dapp and this copy and is locked long enough, the content is the one the
//! grant and the issuer's signature name, the issuer is one it trusts, the credential is a KYC
//! credential, approved (not revoked), of at least the required level. The relay carries only
//! ciphertext: the plaintext exists here and, after the checks, on the dapp's page.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::routing::{get, post};
use idos_client::credential::open_shared;
use idos_client::{Client, PageQuery};
use protocol::bytes::Ed25519PublicKey;
use protocol::identity::{Ed25519SigningKey, Identity, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use protocol::records::{AccessGrantRecord, CredentialRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use uuid::Uuid;

use crate::error::{DemoError, Json};
use crate::relay::RelayTarget;
use crate::sample::{APPROVED, KYC, level_rank, meets_level};

/// 30 days: how long the dapp asks the user to lock its access grant.
pub const LOCK_SECS: i64 = 30 * 86_400;

/// How much shorter than [`LOCK_SECS`] from now a grant's lock may end when it is verified (the
/// page computed it a little earlier).
pub const LOCK_SLACK_SECS: i64 = 3600;

/// The largest request body the dapp's back end reads.
pub const MAX_BODY_BYTES: usize = 4 * 1024;

/// What the demo dapp is.
#[derive(Clone)]
pub struct DappConfig {
    /// The relay it reads through (its public origin is where its page talks to idOS).
    pub relay: RelayTarget,
    /// The enclave's origin (the page frames it).
    pub enclave_origin: String,
    /// Its Ed25519 key: its sign-in, and the grantee its access grants name.
    pub key: Ed25519SigningKey,
    /// Its X25519 key: the copies users share with it are encrypted to it.
    pub box_key: Arc<EncryptionSecretKey>,
    /// Its name, shown to the user.
    pub name: String,
    /// The KYC level it requires (`basic`, `plus`).
    pub required_level: String,
    /// The issuers whose credentials it accepts (Ed25519 keys), with their names.
    pub trusted_issuers: Vec<(Ed25519PublicKey, String)>,
    /// The `www/` directory (`dapp/`, `shared/`, `sdk/` under it).
    pub www: PathBuf,
    /// The EIP-155 chain id the page's sign-in names (the relay's first accepted one).
    pub siwe_chain_id: u64,
    /// Whether the server's development wallet is on (the page then loads its provider from
    /// `/dev-wallet/provider.js`, which the server merges into this origin).
    pub dev_wallet: bool,
}

impl std::fmt::Debug for DappConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DappConfig")
            .field("public_key", &self.key.public_key().to_text())
            .field("name", &self.name)
            .field("required_level", &self.required_level)
            .finish()
    }
}

type Shared = Arc<DappConfig>;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A key's fingerprint as the enclave's dialog shows it: the first 10 bytes of SHA-256 over the
/// key's raw bytes, lowercase hex in five groups of four (`www/sdk/README.md`).
pub fn fingerprint(key: &[u8]) -> String {
    let digest = protocol::credential::content_hash(key);
    let hex = hex::encode(&digest.as_bytes()[..10]);
    hex.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `GET /api/config`: what the page needs.
#[derive(Debug, Serialize, Deserialize)]
pub struct DappInfo {
    /// The dapp's name.
    pub name: String,
    /// The relay's origin (the page signs in there and submits the user's transactions).
    pub relay_url: String,
    /// The enclave page's URL.
    pub enclave_url: String,
    /// The grantee the access grant must name: this dapp's Ed25519 key (hex).
    pub grantee: String,
    /// The key the copy must be encrypted to (base64 X25519).
    pub grantee_encryption_public_key: String,
    /// Its fingerprint as the enclave's dialog shows it, for the user to compare.
    pub grantee_fingerprint: String,
    /// The EIP-155 chain id to sign in with.
    pub siwe_chain_id: u64,
    /// The KYC level required.
    pub required_level: String,
    /// How long the grant must be locked, in seconds.
    pub lock_seconds: i64,
    /// The issuers accepted: `{public_key, name}`.
    pub accepted_issuers: Vec<Value>,
    /// Whether the development wallet is on this origin.
    pub dev_wallet: bool,
}

async fn dapp_info(State(dapp): State<Shared>) -> axum::Json<DappInfo> {
    axum::Json(DappInfo {
        name: dapp.name.clone(),
        relay_url: dapp.relay.public_origin.clone(),
        enclave_url: format!("{}/", dapp.enclave_origin),
        grantee: dapp.key.public_key().to_text(),
        grantee_encryption_public_key: dapp.box_key.public_key().to_text(),
        grantee_fingerprint: fingerprint(dapp.box_key.public_key().as_bytes()),
        siwe_chain_id: dapp.siwe_chain_id,
        required_level: dapp.required_level.clone(),
        lock_seconds: LOCK_SECS,
        accepted_issuers: dapp
            .trusted_issuers
            .iter()
            .map(|(key, name)| json!({"public_key": key.to_text(), "name": name}))
            .collect(),
        dev_wallet: dapp.dev_wallet,
    })
}

/// `POST /api/verify`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The copy the user shared with this dapp.
    pub copy_id: Uuid,
}

/// One check that held.
#[derive(Debug, Serialize, Deserialize)]
pub struct Check {
    /// What was checked.
    pub check: String,
    /// What was found.
    pub detail: String,
}

/// A verified credential.
#[derive(Debug, Serialize, Deserialize)]
pub struct Verified {
    /// Always `true` (a failed check is an error).
    pub verified: bool,
    /// The copy read.
    pub copy_id: Uuid,
    /// The owner's profile id.
    pub owner_user_id: Uuid,
    /// The access grant: `{id, locked_until}` (unix seconds).
    pub grant: Value,
    /// The issuer: `{public_key, name}`.
    pub issuer: Value,
    /// The credential's public notes.
    pub public_notes: Value,
    /// Every check that held.
    pub checks: Vec<Check>,
    /// SHA-256 of the content (hex).
    pub content_hash: String,
    /// The credential itself (the decrypted content, JSON).
    pub credential: Value,
}

fn refused(code: &str, message: impl Into<String>) -> DemoError {
    DemoError::unprocessable(code, message)
}

/// The grant to this dapp that names `copy_id`, read through `me` (signed in as the dapp).
async fn grant_for(me: &Client, copy_id: Uuid) -> Result<AccessGrantRecord, DemoError> {
    let grants = me
        .grants_for_credential(copy_id, &PageQuery::first())
        .await?
        .data
        .items;
    grants
        .into_iter()
        .find(|g| g.data_id == copy_id)
        .ok_or_else(|| {
            DemoError::new(
                StatusCode::NOT_FOUND,
                "no_grant",
                "no access grant to this app names that credential: share it again",
            )
        })
}

async fn read_shared(
    me: &Client,
    copy_id: Uuid,
) -> Result<(AccessGrantRecord, CredentialRecord), DemoError> {
    let grant = grant_for(me, copy_id).await?;
    let copy = me.shared_credential(copy_id).await.map_err(|e| {
        if e.code() == "not_found" {
            DemoError::new(
                StatusCode::NOT_FOUND,
                "not_shared",
                "that credential is not shared with this app (or no longer): share it again",
            )
        } else {
            e.into()
        }
    })?;
    Ok((grant, copy.data))
}

/// Every check, then the credential.
fn verify_copy(
    dapp: &DappConfig,
    grant: &AccessGrantRecord,
    copy: &CredentialRecord,
    now: i64,
) -> Result<Verified, DemoError> {
    let mut checks = Vec::new();
    let me = Identity::Ed25519(dapp.key.public_key());
    if grant.ag_grantee_wallet_identifier != me || grant.data_id != copy.id {
        return Err(refused(
            "no_grant",
            "the access grant does not name this app and this credential: share it again",
        ));
    }
    checks.push(Check {
        check: "access grant".into(),
        detail: format!("grant {} gives this app the shared copy", grant.id),
    });
    let wanted_until = now + LOCK_SECS - LOCK_SLACK_SECS;
    if grant.locked_until < wanted_until {
        return Err(refused(
            "grant_lock_too_short",
            format!(
                "the access grant can be revoked before {}; this app needs it locked for {} days: share again with the lock it asks for",
                protocol::time::format_rfc3339(grant.locked_until).unwrap_or_default(),
                LOCK_SECS / 86_400
            ),
        ));
    }
    let until_text = protocol::time::format_rfc3339(grant.locked_until).unwrap_or_default();
    checks.push(Check {
        check: "time lock".into(),
        detail: format!("the user cannot revoke it before {until_text}"),
    });
    let notes: Value = serde_json::from_str(&copy.public_notes).map_err(|_| {
        refused(
            "no_issuer_signature",
            "the credential carries no issuer notes: it cannot be checked",
        )
    })?;
    let named_issuer = notes.get("issuer").and_then(Value::as_str).unwrap_or("");
    let Some((issuer, issuer_name)) = dapp
        .trusted_issuers
        .iter()
        .find(|(key, _)| key.to_text() == named_issuer)
    else {
        return Err(refused(
            "untrusted_issuer",
            "the credential was issued by an issuer this app does not accept: get a credential from the demo issuer",
        ));
    };
    let plaintext = open_shared(copy, &grant.content_hash, issuer, &dapp.box_key)?;
    checks.push(Check {
        check: "decrypted".into(),
        detail: "with this app's own key, on this app's server".into(),
    });
    checks.push(Check {
        check: "issuer signature".into(),
        detail: format!(
            "{issuer_name} ({}…) signed this exact content",
            &issuer.to_text()[..16]
        ),
    });
    checks.push(Check {
        check: "content".into(),
        detail: format!(
            "its SHA-256 is the one the grant and the issuer name ({}…)",
            &grant.content_hash.to_text()[..16]
        ),
    });
    let text = |name: &str| notes.get(name).and_then(Value::as_str).unwrap_or("");
    if text("type") != KYC {
        return Err(refused(
            "not_kyc",
            format!(
                "the credential is of type {:?}, not a KYC credential",
                text("type")
            ),
        ));
    }
    if text("status") != APPROVED {
        return Err(refused(
            "not_approved",
            format!(
                "the issuer's status for this credential is {:?}, not approved",
                text("status")
            ),
        ));
    }
    checks.push(Check {
        check: "status".into(),
        detail: "approved by the issuer, not revoked".into(),
    });
    let level = text("level");
    if level_rank(level).is_none() || !meets_level(level, &dapp.required_level) {
        return Err(refused(
            "level_too_low",
            format!(
                "the credential's level is {level:?}; this app requires {:?} or higher",
                dapp.required_level
            ),
        ));
    }
    checks.push(Check {
        check: "level".into(),
        detail: format!(
            "KYC level {level} (this app requires {})",
            dapp.required_level
        ),
    });
    let credential: Value = serde_json::from_slice(&plaintext).map_err(|_| {
        refused(
            "not_json",
            "the credential's content is not JSON: this app cannot read it",
        )
    })?;
    Ok(Verified {
        verified: true,
        copy_id: copy.id,
        owner_user_id: grant.ag_owner_user_id,
        grant: json!({"id": grant.id, "locked_until": grant.locked_until}),
        issuer: json!({"public_key": issuer.to_text(), "name": issuer_name}),
        public_notes: notes,
        checks,
        content_hash: grant.content_hash.to_text(),
        credential,
    })
}

async fn verify(
    State(dapp): State<Shared>,
    Json(request): Json<VerifyRequest>,
) -> Result<axum::Json<Verified>, DemoError> {
    let signer = SigningKey::Ed25519(dapp.key.clone());
    let me = dapp
        .relay
        .client
        .sign_in_ed25519(&signer, Some(&dapp.relay.public_origin))
        .await?;
    let outcome = match read_shared(&me, request.copy_id).await {
        Ok((grant, copy)) => verify_copy(&dapp, &grant, &copy, now()),
        Err(e) => Err(e),
    };
    if let Err(e) = me.logout().await {
        tracing::debug!(error = %e, "the demo dapp's logout failed");
    }
    let verified = outcome?;
    tracing::info!(copy_id = %verified.copy_id, "the demo dapp verified a shared credential");
    Ok(axum::Json(verified))
}

async fn no_route() -> DemoError {
    DemoError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "the demo dapp has no such endpoint",
    )
}

/// The dapp page's Content-Security-Policy: its own scripts and styles only, network calls to
/// itself and the relay, frames from the enclave only, framed by nobody.
pub fn csp(relay_origin: &str, enclave_origin: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self' {relay_origin}; frame-src {enclave_origin}; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'none'; object-src 'none'"
    )
}

/// The dapp origin's routes: the page, the SDK, the shared modules and the back end.
pub fn router(config: DappConfig) -> Router {
    let www = config.www.clone();
    let policy = csp(&config.relay.public_origin, &config.enclave_origin);
    let fixed = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::overriding(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    let api = Router::new()
        .route("/api/config", get(dapp_info))
        .route("/api/verify", post(verify))
        .route("/api/{*rest}", axum::routing::any(no_route))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(Arc::new(config));
    Router::new()
        .merge(api)
        .nest_service(
            "/node_modules/@idos-rs/enclave-sdk",
            ServeDir::new(www.join("sdk")),
        )
        .nest_service("/shared", ServeDir::new(www.join("shared")))
        .fallback_service(ServeDir::new(www.join("dapp")).append_index_html_on_directories(true))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&policy)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
        ))
        .layer(fixed("x-content-type-options", "nosniff"))
        .layer(fixed("referrer-policy", "no-referrer"))
        .layer(fixed("x-frame-options", "DENY"))
}
