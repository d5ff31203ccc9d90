//! Who asks: the signed-in identity of a request, the only identity the relay attests to the
//! node. Handlers of authenticated routes take a [`Caller`] and pass its identity on; they never
//! take an identity from the request body, path or query.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use protocol::identity::Identity;

use super::ApiState;
use super::error::ApiError;
use crate::auth::AuthError;

/// The signed-in caller of a request: its session (bearer token or cookie; a cookie write
/// needs an allowed `Origin`), as [`crate::auth::Session`] checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller(pub Identity);

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError::new(e.status(), e.code(), e.to_string())
    }
}

impl FromRequestParts<ApiState> for Caller {
    /// An [`ApiError`], or 429 `rate_limited` with `Retry-After` when the identity is over
    /// its rate limit.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Response> {
        let session = state
            .auth()
            .authenticate(&parts.method, &parts.headers)
            .map_err(|e| ApiError::from(e).into_response())?;
        if let Some(limiter) = state.identity_limiter() {
            limiter
                .check(&session.identity.identifier())
                .map_err(IntoResponse::into_response)?;
        }
        Ok(Caller(session.identity))
    }
}
