//! The API's one error type: every failure of every route is an [`ApiError`], rendered as JSON
//! `{"code": "...", "message": "..."}` with its HTTP status. `code` is the node's or the
//! protocol's stable code where one exists (`not_found`, `bad_nonce`, `invalid_base64`, …) and
//! the relay's own otherwise (`malformed_json`, `unknown_field`, `tx_not_found`, …); codes
//! are never renamed or reused. Messages say what to do and never contain a token, signature or
//! key.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::node_client::NodeClientError;

/// An error answer: HTTP status, stable code, and a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

/// The JSON body of every error answer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code (snake_case).
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
}

impl ApiError {
    /// An error with its status, code and message.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// 400 with `code`.
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 `not_found` for a path no route serves.
    pub fn no_route(path: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_route",
            format!("no API route {path}; see /api/v1/openapi.json"),
        )
    }

    /// A refusal by the node (or the protocol) with its stable `code`.
    pub fn refused(code: &str, message: impl Into<String>) -> Self {
        ApiError::new(status_of(code), code, message)
    }
}

/// The HTTP status of a node or protocol code: who must act, and whether retrying helps.
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "unauthorized" => StatusCode::FORBIDDEN,
        "not_found" | "no_profile" | "tx_not_found" => StatusCode::NOT_FOUND,
        // The request is well formed but conflicts with the state (retrying as is will not
        // help; a fresh nonce, or waiting for a lock, may).
        "bad_nonce"
        | "already_exists"
        | "grant_locked"
        | "credential_shared"
        | "credential_is_copy"
        | "attribute_is_copy"
        | "connected_wallet"
        | "wallet_taken"
        | "proof_reused"
        | "dwg_not_usable"
        | "dwg_used"
        | "wallet_approval_required"
        | "inserter_has_delegates" => StatusCode::CONFLICT,
        "unavailable" | "mempool_full" | "node_busy" => StatusCode::SERVICE_UNAVAILABLE,
        "node_unreachable" | "bad_node_answer" => StatusCode::BAD_GATEWAY,
        "io_error" | "database_error" | "corrupt_record" | "configuration" | "call_order"
        | "internal" => StatusCode::INTERNAL_SERVER_ERROR,
        // Everything else the node or protocol refuses is about the input.
        _ => StatusCode::BAD_REQUEST,
    }
}

impl From<protocol::Error> for ApiError {
    fn from(e: protocol::Error) -> Self {
        ApiError::refused(e.code(), e.to_string())
    }
}

impl From<NodeClientError> for ApiError {
    fn from(e: NodeClientError) -> Self {
        match e {
            NodeClientError::Refused { code, message } => ApiError::refused(&code, message),
            NodeClientError::Unreachable(_) => {
                tracing::warn!("node unreachable: {e}");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "node_unreachable",
                    "the node does not answer; retry later",
                )
            }
            NodeClientError::Busy(detail) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "node_busy",
                format!("the node cannot take the request now ({detail}); retry shortly"),
            ),
            NodeClientError::BadAnswer(_) => {
                tracing::warn!("bad node answer: {e}");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "bad_node_answer",
                    "the node's answer does not decode; is it an idOS node of this version?",
                )
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        use JsonRejection::*;
        match &rejection {
            JsonSyntaxError(_) => ApiError::bad_request(
                "malformed_json",
                format!("the body is not valid JSON: {}", rejection.body_text()),
            ),
            JsonDataError(e) => {
                let text = e.body_text();
                let code = if text.contains("unknown field") {
                    "unknown_field"
                } else if text.contains("missing field") {
                    "missing_field"
                } else {
                    "invalid_json"
                };
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, text)
            }
            MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ),
            BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                // The code `relay::ops` and sign-in give an oversize body too.
                "body_too_large",
                format!(
                    "the body is larger than the limit of {} bytes",
                    super::MAX_BODY_BYTES
                ),
            ),
            _ => ApiError::bad_request("bad_body", rejection.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        let text = rejection.body_text();
        let code = if text.contains("unknown field") {
            "unknown_parameter"
        } else {
            "invalid_parameter"
        };
        ApiError::bad_request(code, text)
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request("invalid_path_parameter", rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(code = %self.code, status = %self.status, "API error: {}", self.message);
        }
        (
            self.status,
            Json(ErrorBody {
                code: self.code,
                message: self.message,
            }),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_codes_get_the_status_of_who_must_act() {
        for (code, status) in [
            ("not_found", 404),
            ("no_profile", 404),
            ("unauthorized", 403),
            ("bad_nonce", 409),
            ("grant_locked", 409),
            ("mempool_full", 503),
            ("invalid_base64", 400),
            ("bad_signature", 400),
            ("wrong_chain_id", 400),
            ("database_error", 500),
        ] {
            assert_eq!(status_of(code).as_u16(), status, "{code}");
        }
        let e: ApiError = protocol::Error::InvalidHex { field: "hash" }.into();
        assert_eq!((e.status.as_u16(), e.code.as_str()), (400, "invalid_hex"));
        let e: ApiError = NodeClientError::Unreachable("refused".into()).into();
        assert_eq!(
            (e.status.as_u16(), e.code.as_str()),
            (502, "node_unreachable")
        );
    }
}
