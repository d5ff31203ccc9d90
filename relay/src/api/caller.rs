//! Who asks: the signed-in identity of a request, the only identity the relay attests to the
//! node. Handlers of authenticated routes take a [`Caller`] and pass its identity on; they never
//! take an identity from the request body, path or query.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
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
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let session = state.auth().authenticate(&parts.method, &parts.headers)?;
        Ok(Caller(session.identity))
    }
}
