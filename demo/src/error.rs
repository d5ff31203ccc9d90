//! [`DemoError`]: every refusal of the demo back ends, as JSON `{"code", "message"}` with its
//! HTTP status; the [`Json`] body extractor whose rejections are `DemoError`s too.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use idos_client::ClientError;
use serde::de::DeserializeOwned;

/// A refusal: a stable `code`, a `message` a person can act on, and the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DemoError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Stable, machine-readable.
    pub code: String,
    /// For a person.
    pub message: String,
}

impl DemoError {
    /// A refusal with its status, code and message.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        DemoError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422: the request is well formed but does not hold up (a signature, a check).
    pub fn unprocessable(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 503: this back end cannot serve yet (for example, not registered with the network).
    pub fn unavailable(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }
}

impl IntoResponse for DemoError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(serde_json::json!({"code": self.code, "message": self.message})),
        )
            .into_response()
    }
}

/// What the relay said, kept with its code; a relay that cannot be reached is 502
/// `relay_unreachable`.
impl From<ClientError> for DemoError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Api {
                status,
                code,
                message,
            } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                // A relay's 5xx is this back end's bad gateway, not its own fault.
                let status = if status.is_server_error() {
                    StatusCode::BAD_GATEWAY
                } else {
                    status
                };
                DemoError::new(status, code, format!("the idOS relay refused: {message}"))
            }
            ClientError::Transport(detail) => DemoError::new(
                StatusCode::BAD_GATEWAY,
                "relay_unreachable",
                format!(
                    "the idOS relay cannot be reached ({detail}); it may be restarting: try again in a moment"
                ),
            ),
            ClientError::Refused { code, message, .. } => DemoError::new(
                StatusCode::CONFLICT,
                code,
                format!("the idOS network refused the transaction: {message}"),
            ),
            ClientError::NotCommitted { hash } => DemoError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "tx_not_committed",
                format!(
                    "transaction {hash} was not in a block in time; the network may be busy: try again"
                ),
            ),
            ClientError::Unverified { code, message } => DemoError::unprocessable(code, message),
            ClientError::Protocol(e) => DemoError::unprocessable(e.code(), e.to_string()),
            other => DemoError::new(StatusCode::BAD_GATEWAY, other.code(), other.to_string()),
        }
    }
}

/// A JSON request body whose every rejection is a [`DemoError`]: `unsupported_media_type`
/// (415), `malformed_json` (400), `invalid_body` (422: a missing, unknown or mistyped field),
/// `body_too_large` (413).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = DemoError;

    async fn from_request(req: Request, state: &S) -> Result<Self, DemoError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::MissingJsonContentType(_) => DemoError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the body as JSON, with Content-Type: application/json",
                ),
                JsonRejection::JsonSyntaxError(e) => {
                    DemoError::bad_request("malformed_json", format!("the body is not JSON: {e}"))
                }
                JsonRejection::JsonDataError(e) => DemoError::unprocessable(
                    "invalid_body",
                    format!("the body does not have the expected fields: {e}"),
                ),
                other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => DemoError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "the body is larger than this endpoint accepts",
                ),
                other => DemoError::bad_request("bad_body", other.body_text()),
            }),
        }
    }
}
