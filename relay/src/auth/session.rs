//! The [`Session`] extractor: who is calling, from `Authorization: Bearer <token>` or the
//! session cookie.
//!
//! Cross-site request forgery: a browser attaches the cookie to requests that other sites
//! make. So a cookie-authenticated request with an unsafe method (anything but GET, HEAD,
//! OPTIONS, TRACE) must carry an `Origin` header naming the relay's public origin or an allowed
//! dapp origin, compared exactly; otherwise it is refused with `origin_not_allowed`. (The
//! cookie is also `SameSite=Strict`, which a same-site sibling could get around; the Origin
//! check does not depend on what a site is.) A bearer token is never attached by the browser
//! on its own, so bearer requests need no Origin.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum_extra::extract::cookie::CookieJar;
use protocol::identity::Identity;

use super::Auth;
use super::error::AuthError;
use super::token::{SessionClaims, SessionId};

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Who signed in.
    pub identity: Identity,
    /// The session's id (what logout revokes).
    pub session_id: SessionId,
    /// When the session ends (unix seconds).
    pub expires_at: u64,
    /// Whether the token came from the cookie (rather than `Authorization: Bearer`).
    pub via_cookie: bool,
    pub(crate) claims: SessionClaims,
}

impl Auth {
    /// Authenticates a request from its method and headers (what the [`Session`] extractor
    /// does, for middleware such as per-identity rate limits).
    pub fn authenticate(&self, method: &Method, headers: &HeaderMap) -> Result<Session, AuthError> {
        let (token, via_cookie) = match headers.get(header::AUTHORIZATION) {
            Some(value) => {
                let value = value.to_str().map_err(|_| AuthError::InvalidSession)?;
                let token = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
                    .ok_or(AuthError::InvalidSession)?;
                (token.trim().to_owned(), false)
            }
            None => {
                let jar = CookieJar::from_headers(headers);
                let cookie = jar
                    .get(self.cookie_name())
                    .ok_or(AuthError::MissingSession)?;
                (cookie.value().to_owned(), true)
            }
        };
        let claims = self.verify_token(&token)?;
        if via_cookie && !method.is_safe() {
            let origin = headers.get(header::ORIGIN);
            let allowed = origin
                .and_then(|o| o.to_str().ok())
                .is_some_and(|o| self.config().is_allowed_origin(o));
            if !allowed {
                let shown = match origin {
                    None => "none".to_owned(),
                    Some(o) => format!(
                        "{:?}",
                        String::from_utf8_lossy(o.as_bytes())
                            .chars()
                            .take(100)
                            .collect::<String>()
                    ),
                };
                return Err(AuthError::OriginNotAllowed(shown));
            }
        }
        Ok(Session {
            identity: claims.identity,
            session_id: claims.session_id,
            expires_at: claims.expires_at,
            via_cookie,
            claims,
        })
    }
}

impl<S> FromRequestParts<S> for Session
where
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthError> {
        Auth::from_ref(state).authenticate(&parts.method, &parts.headers)
    }
}
