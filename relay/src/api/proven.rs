//! Proven reads: any read, answered with what a client needs to check it without trusting
//! this relay (the node's entries with their proofs, a signed header, the validator set).
//! The relay passes the proofs through and attaches the header; the client verifies them
//! against the validators it pinned and computes the answer itself (`idos-verify`).

use axum::extract::State;
use axum::http::HeaderMap;
use idos_verify::ProvenRead;
use protocol::query::Query as Read;
use protocol::records::QueryOutput;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::json::Json;
use super::shared::record_access;

/// A read to answer with proofs.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvenReadRequest {
    /// The read, in the `protocol` crate's JSON form (e.g. `{"query": "get_credential_shared",
    /// "id": "…"}`), as the signed-in caller.
    #[schema(value_type = Object)]
    pub query: Read,
}

/// The proven read: `height`, `entries` (base64 Borsh), `signed_header` and `validators`
/// (CometBFT's JSON forms).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(value_type = Object)]
pub struct ProvenAnswer(ProvenRead);

/// Any read, answered with the proofs a client checks against the validators it trusts
/// (`prove = true`). A refusal the state gives (`not_found`, `no_profile`) is proven too and
/// comes back as an answer: the client learns it by re-running the read.
#[utoipa::path(post, path = "/api/v1/proven-read", tag = "chain",
    security(("session" = []), ("session_cookie" = [])),
    request_body = ProvenReadRequest,
    responses(
        (status = 200, description = "The proven read", body = ProvenAnswer),
        (status = 400, description = "A malformed read", body = ErrorBody),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 502, description = "`node_unreachable`: no header proves the read yet, or the node is down", body = ErrorBody),
    ))]
async fn proven_read(
    caller: Caller,
    State(s): State<ApiState>,
    headers: HeaderMap,
    Json(request): Json<ProvenReadRequest>,
) -> Result<Json<ProvenAnswer>, ApiError> {
    request.query.validate()?;
    let (read, answer) = s
        .node()
        .query_proven(Some(caller.0), request.query.clone())
        .await?;
    // A shared copy's content is recorded in the access log before it leaves, however it
    // is read.
    if let (Read::GetCredentialShared { id }, Ok(answer)) = (&request.query, &answer)
        && let QueryOutput::Credential(copy) = &answer.output
    {
        record_access(&s, caller.0, *id, copy, &headers).await?;
    }
    Ok(Json(ProvenAnswer(read)))
}

pub(super) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(proven_read))
}
