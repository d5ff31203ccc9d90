//! The sign-in routes:
//!
//! - `GET /api/v1/auth/nonce` → `{"nonce"}`: good for one attempt, for a few minutes;
//! - `POST /api/v1/auth/siwe` `{"message", "signature"}` → [`SignInResponse`] and the cookie;
//! - `POST /api/v1/auth/ed25519` `{"public_key", "nonce", "signature"}` → the same;
//! - `POST /api/v1/auth/wallet` `{"wallet_type", "wallet", "nonce", "signature"}` → the same,
//!   for a wallet of any type (NEAR, XRPL, Stellar, FaceSign, EVM), signed its own way;
//! - `POST /api/v1/auth/logout` → 204, the session revoked and the cookie cleared.
//!
//! Every sign-in uses up its nonce before anything else is checked, so a failed attempt cannot
//! be retried with the same nonce. (An EIP-4361 text that does not parse names no nonce the
//! relay could trust, so it uses up nothing.)

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, SameSite};
use protocol::bytes::{Ed25519PublicKey, Ed25519Signature};
use protocol::identity::{Identity, verify_ed25519};
use protocol::siwe::{SiweMessage, SiwePolicy, verify_signature};

use super::Auth;
use super::error::{AuthError, ErrorBody};
use super::json::AuthJson;
use super::session::Session;
use super::signing_text::{ed25519_sign_in_text, wallet_sign_in_text};
use super::token::{SessionClaims, SessionToken};

/// A fresh sign-in nonce.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NonceResponse {
    /// 22 alphanumeric characters; put it in the EIP-4361 message's `Nonce:` line or the
    /// Ed25519 sign-in text.
    pub nonce: String,
}

/// An EIP-4361 sign-in.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiweRequest {
    /// The EIP-4361 message exactly as the wallet signed it (`\n` line ends, no trailing
    /// newline), with a nonce from `GET /api/v1/auth/nonce`.
    pub message: String,
    /// The wallet's `personal_sign` signature: `0x` + 130 hex digits.
    pub signature: String,
}

impl std::fmt::Debug for SiweRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiweRequest")
            .field("message", &self.message)
            .field("signature", &"<redacted>")
            .finish()
    }
}

/// An Ed25519 sign-in (servers: issuers, dapp back ends).
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ed25519Request {
    /// The signer's public key: 64 hex digits.
    pub public_key: String,
    /// A nonce from `GET /api/v1/auth/nonce`.
    pub nonce: String,
    /// Raw Ed25519 signature (128 hex digits) over these six lines joined by `\n`, with no
    /// newline at the end: `idOS relay sign-in`, `origin: <relay public origin>`,
    /// `network: <idOS chain id>`, `purpose: session`, `public key: <64 lowercase hex>`,
    /// `nonce: <nonce>`.
    pub signature: String,
}

impl std::fmt::Debug for Ed25519Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Request")
            .field("public_key", &self.public_key)
            .field("nonce", &self.nonce)
            .field("signature", &"<redacted>")
            .finish()
    }
}

/// A wallet sign-in (any wallet type; browser EVM wallets may prefer EIP-4361).
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletRequest {
    /// `NEAR`, `XRPL`, `Stellar`, `FaceSign` (or `ed25519`), or `EVM`: must be the type of
    /// `wallet`.
    #[schema(value_type = String, example = "XRPL")]
    pub wallet_type: protocol::wallet::WalletType,
    /// The wallet's identifier: `ed25519:<base58>` (NEAR), `r…` (XRPL), `G…` (Stellar),
    /// 64 hex digits (FaceSign), `0x…` (EVM).
    pub wallet: String,
    /// A nonce from `GET /api/v1/auth/nonce`.
    pub nonce: String,
    /// Hex of the wallet's signature over these six lines joined by `\n`, with no newline at
    /// the end: `idOS relay sign-in`, `origin: <relay public origin>`, `network: <idOS chain
    /// id>`, `purpose: session`, `wallet: <the wallet's identifier as above>`,
    /// `nonce: <nonce>`. NEAR: idOS's NEP-413 blob (`u16_be(len) ‖ payload ‖ signature`, for
    /// recipient `idos.network` or `idos-issuer`); XRPL: the 33-byte public key, then
    /// `ripple-keypairs`' signature; Stellar: 64 bytes, raw or SEP-53; FaceSign: 64 bytes raw
    /// Ed25519; EVM: 65 bytes `personal_sign`.
    pub signature: String,
}

impl std::fmt::Debug for WalletRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletRequest")
            .field("wallet_type", &self.wallet_type)
            .field("wallet", &self.wallet)
            .field("nonce", &self.nonce)
            .field("signature", &"<redacted>")
            .finish()
    }
}

/// The most bytes a wallet sign-in signature can have: a NEP-413 blob of the sign-in text with
/// a callback URL is well under this.
const MAX_WALLET_SIGNATURE: usize = 4096;

/// A new session.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInResponse {
    /// The session token, for `Authorization: Bearer <token>` (the cookie carries the same).
    pub token: String,
    /// The signed-in identity's canonical identifier (lowercase `0x` address, hex key,
    /// `ed25519:<base58>`, `r…` or `G…`).
    pub identity: String,
    /// When the session ends (RFC 3339, UTC).
    pub expires_at: String,
}

impl std::fmt::Debug for SignInResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInResponse")
            .field("token", &"<redacted>")
            .field("identity", &self.identity)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The OpenAPI description of these routes, for the relay's document to merge.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(nonce, siwe, ed25519, wallet, logout),
    components(schemas(
        NonceResponse,
        SiweRequest,
        Ed25519Request,
        WalletRequest,
        SignInResponse,
        ErrorBody
    )),
    modifiers(&BearerScheme)
)]
pub struct AuthApi;

/// Declares the `bearer` security scheme the session routes name (`Authorization: Bearer`).
pub struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}

impl Auth {
    /// The five routes, under `/api/v1/auth/`, for any application state.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/api/v1/auth/nonce", get(nonce))
            .route("/api/v1/auth/siwe", post(siwe))
            .route("/api/v1/auth/ed25519", post(ed25519))
            .route("/api/v1/auth/wallet", post(wallet))
            .route("/api/v1/auth/logout", post(logout))
            .with_state(self.clone())
    }

    fn session_cookie(&self, value: String, max_age_seconds: i64) -> HeaderValue {
        let cookie = Cookie::build((self.cookie_name(), value))
            .http_only(true)
            .secure(self.config().secure_cookies())
            // Strict: the cookie serves the relay's own pages only; dapps on other sites
            // use the bearer token, so nothing needs the cookie on cross-site requests.
            .same_site(SameSite::Strict)
            .path("/")
            .max_age(time::Duration::seconds(max_age_seconds))
            .build();
        HeaderValue::from_str(&cookie.to_string()).expect("a cookie of token characters")
    }

    fn signed_in(&self, token: SessionToken, claims: &SessionClaims) -> Response {
        let expires_at =
            protocol::time::format_rfc3339(i64::try_from(claims.expires_at).unwrap_or(i64::MAX))
                .unwrap_or_default();
        let max_age =
            i64::try_from(claims.expires_at.saturating_sub(claims.issued_at)).unwrap_or(i64::MAX);
        let cookie = self.session_cookie(token.as_str().to_owned(), max_age);
        tracing::info!(identity = %claims.identity, session = ?claims.session_id, "signed in");
        let body = SignInResponse {
            token: token.as_str().to_owned(),
            identity: claims.identity.identifier(),
            expires_at,
        };
        (
            [
                (header::SET_COOKIE, cookie),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            axum::Json(body),
        )
            .into_response()
    }
}

/// The request's `Origin`, if any (a header that is not text never equals an origin).
fn request_origin(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .map(|o| String::from_utf8_lossy(o.as_bytes()).into_owned())
}

/// Get a sign-in nonce.
#[utoipa::path(
    get,
    path = "/api/v1/auth/nonce",
    tag = "auth",
    responses(
        (status = 200, description = "A nonce good for one sign-in attempt within the nonce lifetime", body = NonceResponse),
        (status = 500, description = "The relay store failed", body = ErrorBody),
    )
)]
pub async fn nonce(State(auth): State<Auth>) -> Result<Response, AuthError> {
    let nonce = auth.issue_nonce()?;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        axum::Json(NonceResponse { nonce }),
    )
        .into_response())
}

/// Sign in with Ethereum (EIP-4361).
///
/// The message must name this relay's public origin or an allowed dapp origin (as
/// `scheme://host[:port]`, or a bare `host[:port]` meaning https, or http on loopback), the
/// same as the request's `Origin` header when there is one; its URI must be on that origin;
/// its chain id accepted; its nonce issued here and unused; `Issued At` not in the future and
/// recent; `Expiration Time` and `Not Before` are honoured.
#[utoipa::path(
    post,
    path = "/api/v1/auth/siwe",
    tag = "auth",
    request_body = SiweRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set too", body = SignInResponse),
        (status = 400, description = "Malformed message or body (siwe_malformed, siwe_too_large, malformed_json)", body = ErrorBody),
        (status = 401, description = "Bad signature, nonce or times (siwe_signature, siwe_address_mismatch, nonce_unknown, nonce_used, nonce_expired, siwe_expired, siwe_not_yet_valid, siwe_issued_in_future, siwe_too_old)", body = ErrorBody),
        (status = 403, description = "Wrong origin, URI or chain (siwe_domain, siwe_origin_mismatch, siwe_uri, siwe_chain_id)", body = ErrorBody),
        (status = 422, description = "Missing or unknown fields (invalid_body)", body = ErrorBody),
    )
)]
pub async fn siwe(
    State(auth): State<Auth>,
    headers: HeaderMap,
    AuthJson(request): AuthJson<SiweRequest>,
) -> Result<Response, AuthError> {
    let message = SiweMessage::parse(&request.message)?;
    auth.consume_nonce(&message.nonce).await?;
    verify_signature(&message, &request.message, &request.signature)?;
    let config = auth.config();
    let request_origin = request_origin(&headers);
    message.check(&SiwePolicy {
        origins: auth.origins(),
        request_origin: request_origin.as_deref(),
        chain_ids: &config.chain_ids,
        now: time::OffsetDateTime::now_utc(),
        max_age: time::Duration::try_from(config.siwe_max_age).unwrap_or(time::Duration::MAX),
        clock_skew: time::Duration::try_from(config.clock_skew).unwrap_or(time::Duration::ZERO),
    })?;
    let (token, claims) = auth.start_session(Identity::Evm(message.address));
    Ok(auth.signed_in(token, &claims))
}

/// Sign in with an Ed25519 key.
///
/// The signature is raw Ed25519 over the UTF-8 bytes of exactly this text (six lines joined by
/// `\n`, no newline at the end):
///
/// ```text
/// idOS relay sign-in
/// origin: <the relay's public origin, e.g. https://relay.example.com>
/// network: <the idOS chain id the relay fronts>
/// purpose: session
/// public key: <the public key, 64 lowercase hex digits>
/// nonce: <the nonce>
/// ```
#[utoipa::path(
    post,
    path = "/api/v1/auth/ed25519",
    tag = "auth",
    request_body = Ed25519Request,
    responses(
        (status = 200, description = "Signed in; the session cookie is set too", body = SignInResponse),
        (status = 400, description = "Malformed key or signature (invalid_field), malformed JSON", body = ErrorBody),
        (status = 401, description = "The signature does not verify (bad_signature), or the nonce is unknown, used or expired", body = ErrorBody),
        (status = 403, description = "Sent by a browser page whose Origin is not allowed (origin_not_allowed)", body = ErrorBody),
        (status = 422, description = "Missing or unknown fields (invalid_body)", body = ErrorBody),
    )
)]
pub async fn ed25519(
    State(auth): State<Auth>,
    headers: HeaderMap,
    AuthJson(request): AuthJson<Ed25519Request>,
) -> Result<Response, AuthError> {
    auth.consume_nonce(&request.nonce).await?;
    require_allowed_page(&auth, &headers)?;
    let key =
        Ed25519PublicKey::parse(&request.public_key).map_err(|_| AuthError::InvalidField {
            field: "public_key",
            reason: "expected 64 hexadecimal digits".into(),
        })?;
    let mut signature = [0u8; 64];
    hex::decode_to_slice(&request.signature, &mut signature).map_err(|_| {
        AuthError::InvalidField {
            field: "signature",
            reason: "expected 128 hexadecimal digits".into(),
        }
    })?;
    let signature = Ed25519Signature::from_bytes(signature);
    let config = auth.config();
    let text = ed25519_sign_in_text(&config.public_origin, &config.network, &key, &request.nonce);
    verify_ed25519("signature", &key, text.as_bytes(), &signature).map_err(|e| match e {
        protocol::Error::InvalidEd25519Key { .. } => AuthError::InvalidField {
            field: "public_key",
            reason: "not a valid Ed25519 public key".into(),
        },
        _ => AuthError::BadSignature,
    })?;
    let (token, claims) = auth.start_session(Identity::Ed25519(key));
    Ok(auth.signed_in(token, &claims))
}

/// A key or wallet sign-in sent with an `Origin` must come from an allowed page. Servers send
/// no `Origin`; a foreign page that does could otherwise sign the browser in as the page's own
/// key (login CSRF).
fn require_allowed_page(auth: &Auth, headers: &HeaderMap) -> Result<(), AuthError> {
    match request_origin(headers) {
        Some(origin) if !auth.config().is_allowed_origin(&origin) => {
            Err(AuthError::OriginNotAllowed(format!(
                "{:?}",
                origin.chars().take(100).collect::<String>()
            )))
        }
        _ => Ok(()),
    }
}

/// Sign in with a wallet of any type: NEAR, XRPL, Stellar, FaceSign or EVM.
///
/// Get a nonce, have the wallet sign the sign-in text (see `signature`) its own way, and post
/// it. Like every sign-in, the attempt uses the nonce up first. A browser page that sends an
/// `Origin` must be an allowed one.
#[utoipa::path(
    post,
    path = "/api/v1/auth/wallet",
    tag = "auth",
    request_body = WalletRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set too", body = SignInResponse),
        (status = 400, description = "A wallet identifier of another type than wallet_type, or a malformed one, or a signature that is not hex (invalid_field)", body = ErrorBody),
        (status = 401, description = "The signature is refused (bad_signature, invalid_length, nep413_malformed, nep413_wrong_message, nep413_wrong_recipient, xrpl_key_mismatch, invalid_xrpl_key, invalid_xrpl_signature), or the nonce is unknown, used or expired", body = ErrorBody),
        (status = 403, description = "Sent by a browser page whose Origin is not allowed (origin_not_allowed)", body = ErrorBody),
        (status = 422, description = "Missing or unknown fields, or an unknown wallet_type (invalid_body)", body = ErrorBody),
    )
)]
pub async fn wallet(
    State(auth): State<Auth>,
    headers: HeaderMap,
    AuthJson(request): AuthJson<WalletRequest>,
) -> Result<Response, AuthError> {
    auth.consume_nonce(&request.nonce).await?;
    require_allowed_page(&auth, &headers)?;
    let identity = Identity::parse(&request.wallet).map_err(|e| AuthError::InvalidField {
        field: "wallet",
        reason: e.to_string(),
    })?;
    let actual = protocol::wallet::WalletType::of(&identity);
    if actual != request.wallet_type {
        return Err(AuthError::InvalidField {
            field: "wallet",
            reason: format!(
                "{} is a {} wallet, not {}",
                identity.display_name(),
                actual.as_str(),
                request.wallet_type.as_str()
            ),
        });
    }
    if request.signature.len() > 2 * MAX_WALLET_SIGNATURE {
        return Err(AuthError::InvalidField {
            field: "signature",
            reason: format!("longer than {MAX_WALLET_SIGNATURE} bytes"),
        });
    }
    let signature = hex::decode(
        request
            .signature
            .strip_prefix("0x")
            .unwrap_or(&request.signature),
    )
    .map_err(|_| AuthError::InvalidField {
        field: "signature",
        reason: "expected hexadecimal digits".into(),
    })?;
    let config = auth.config();
    let text = wallet_sign_in_text(
        &config.public_origin,
        &config.network,
        &identity,
        &request.nonce,
    );
    identity
        .verify("signature", text.as_bytes(), &signature)
        .map_err(AuthError::Wallet)?;
    let (token, claims) = auth.start_session(identity);
    Ok(auth.signed_in(token, &claims))
}

/// End the session (bearer or cookie; a cookie logout needs an allowed `Origin`).
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    responses(
        (status = 204, description = "The session is revoked on this relay and the cookie cleared"),
        (status = 401, description = "No valid session (session_missing, session_invalid, session_expired, session_revoked)", body = ErrorBody),
        (status = 403, description = "Cookie logout from a foreign Origin (origin_not_allowed)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn logout(State(auth): State<Auth>, session: Session) -> Result<Response, AuthError> {
    auth.revoke(&session.claims).await?;
    tracing::info!(identity = %session.identity, session = ?session.session_id, "logged out");
    let cookie = auth.session_cookie(String::new(), 0);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}
