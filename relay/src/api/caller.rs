//! Who asks: the signed-in identity of a request, the only identity the relay attests to the
//! node. Handlers of authenticated routes take a [`Caller`] and pass its identity on; they never
//! take an identity from the request body, path or query.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use protocol::identity::Identity;

use super::error::ApiError;

/// The signed-in caller of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller(pub Identity);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // Sessions come with sign-in (relay::auth); until a request carries one, no route that
        // needs a caller answers.
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in first (POST /api/v1/auth/siwe or /api/v1/auth/ed25519) and send the session",
        ))
    }
}
