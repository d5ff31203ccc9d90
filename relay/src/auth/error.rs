//! [`AuthError`]: every way sign-in or a session can be refused, with a stable code, an HTTP
//! status and a message a person can act on. Renders as JSON `{"code", "message"}`, the shape
//! of every error of the relay's API.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::siwe::SiweError;

use crate::store::StoreError;

/// Why a sign-in, a logout or a session was refused. Never carries a token, a signature or a
/// key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The EIP-4361 message, its signature or its checks failed (the code is the
    /// [`SiweError`]'s: `siwe_malformed`, `siwe_domain`, `siwe_expired`, ...).
    #[error(transparent)]
    Siwe(#[from] SiweError),

    /// The nonce was never issued by this relay, or is long gone.
    #[error(
        "nonce unknown: it was not issued by this relay or has expired; get a new one from GET /api/v1/auth/nonce (behind a load balancer, sign-in must reach the relay that issued the nonce)"
    )]
    NonceUnknown,

    /// The nonce has already been used by a sign-in attempt (successful or not).
    #[error("nonce already used: every nonce serves one sign-in attempt; get a new one")]
    NonceUsed,

    /// The nonce was issued here but expired before it was used.
    #[error("nonce expired: sign in within a few minutes of getting the nonce; get a new one")]
    NonceExpired,

    /// A request field is malformed (`field` names it).
    #[error("{field}: {reason}")]
    InvalidField { field: &'static str, reason: String },

    /// A wallet sign-in's signature is refused (the code is the protocol's: `bad_signature`,
    /// `nep413_wrong_recipient`, `xrpl_key_mismatch`, `invalid_xrpl_signature`, ...).
    #[error("signature: {0}")]
    Wallet(protocol::Error),

    /// An Ed25519 sign-in signature does not verify.
    #[error("signature does not verify for this public key over the sign-in text")]
    BadSignature,

    /// No session: neither `Authorization: Bearer` nor the session cookie.
    #[error("sign in first: send Authorization: Bearer <token> or the session cookie")]
    MissingSession,

    /// A session token that this relay (or its key) did not issue, or that was altered.
    #[error("invalid session token: sign in again")]
    InvalidSession,

    /// A session token that has expired.
    #[error("session expired: sign in again")]
    ExpiredSession,

    /// A session that was ended by logout.
    #[error("session ended by logout: sign in again")]
    RevokedSession,

    /// A cookie-authenticated write without an allowed `Origin` header (cross-site request
    /// forgery protection).
    #[error(
        "a write with the session cookie needs an Origin header naming an allowed origin, got {0}; servers should use Authorization: Bearer"
    )]
    OriginNotAllowed(String),

    /// The request body is not JSON.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),

    /// The body is JSON but not the expected object (missing or unknown fields, wrong types).
    #[error("invalid request body: {0}")]
    InvalidBody(String),

    /// The body is larger than the relay accepts.
    #[error("request body too large")]
    BodyTooLarge,

    /// The body is not declared as JSON.
    #[error("send the body as JSON with Content-Type: application/json")]
    UnsupportedMediaType,

    /// The relay's store failed; the request may be retried.
    #[error("the relay could not read or write its store; try again later")]
    Store(String),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        AuthError::Store(e.to_string())
    }
}

impl AuthError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Siwe(e) => e.code(),
            AuthError::NonceUnknown => "nonce_unknown",
            AuthError::NonceUsed => "nonce_used",
            AuthError::NonceExpired => "nonce_expired",
            AuthError::InvalidField { .. } => "invalid_field",
            AuthError::BadSignature => "bad_signature",
            AuthError::Wallet(e) => e.code(),
            AuthError::MissingSession => "session_missing",
            AuthError::InvalidSession => "session_invalid",
            AuthError::ExpiredSession => "session_expired",
            AuthError::RevokedSession => "session_revoked",
            AuthError::OriginNotAllowed(_) => "origin_not_allowed",
            AuthError::MalformedJson(_) => "malformed_json",
            AuthError::InvalidBody(_) => "invalid_body",
            AuthError::UnsupportedMediaType => "unsupported_media_type",
            AuthError::BodyTooLarge => "body_too_large",
            AuthError::Store(_) => "internal",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::Siwe(e) => match e {
                SiweError::TooLarge { .. } | SiweError::Malformed { .. } => StatusCode::BAD_REQUEST,
                SiweError::Domain { .. }
                | SiweError::OriginMismatch { .. }
                | SiweError::Uri { .. }
                | SiweError::ChainId { .. } => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            },
            AuthError::InvalidField { .. } | AuthError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            AuthError::InvalidBody(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AuthError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AuthError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AuthError::OriginNotAllowed(_) => StatusCode::FORBIDDEN,
            AuthError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AuthError::NonceUnknown
            | AuthError::NonceUsed
            | AuthError::NonceExpired
            | AuthError::BadSignature
            | AuthError::Wallet(_)
            | AuthError::MissingSession
            | AuthError::InvalidSession
            | AuthError::ExpiredSession
            | AuthError::RevokedSession => StatusCode::UNAUTHORIZED,
        }
    }
}

/// The JSON body of an error.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        if let AuthError::Store(detail) = &self {
            tracing::error!(%detail, "relay store failed during authentication");
        }
        let status = self.status();
        let body = ErrorBody {
            code: self.code().to_owned(),
            message: self.to_string(),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
