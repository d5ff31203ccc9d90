//! [`AuthJson`]: the JSON body extractor of the sign-in routes. Malformed JSON, unknown or
//! missing fields and a missing content type become [`AuthError`]s with their own codes
//! instead of axum's plain-text rejections.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;

use super::error::AuthError;

/// A JSON request body (`T` should `deny_unknown_fields`).
#[derive(Debug)]
pub struct AuthJson<T>(pub T);

impl<S, T> FromRequest<S> for AuthJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AuthError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(AuthJson(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::JsonDataError(e) => AuthError::InvalidBody(e.body_text()),
                JsonRejection::MissingJsonContentType(_) => AuthError::UnsupportedMediaType,
                other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => AuthError::BodyTooLarge,
                other => AuthError::MalformedJson(other.body_text()),
            }),
        }
    }
}
