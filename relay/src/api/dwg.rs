//! Delegated write grants: the canonical message an owner signs, and submitting the issuer's
//! `create_credentials_by_dwg` transaction.

use axum::extract::State;
use protocol::action::Action;
use protocol::grant::DelegatedWriteGrant;
use protocol::query::Query as Read;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::json::{Json, Query};
use super::page::Answer;
use super::tx::{SubmitRequest, TxStatus, WaitParams, signed_of, submit_signed};
use super::{ApiState, read};

/// A delegated write grant to render.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DwgMessageRequest {
    /// `{owner_wallet_identifier, grantee_wallet_identifier, issuer_public_key, id,
    /// access_grant_timelock, not_usable_before, not_usable_after}` (times RFC 3339).
    #[schema(value_type = Object)]
    pub grant: DelegatedWriteGrant,
}

/// The text the owner's wallet signs for a delegated write grant (`dwg_message`; anyone may
/// ask).
#[utoipa::path(post, path = "/api/v1/dwg/message", tag = "dwg",
    request_body = DwgMessageRequest,
    responses(
        (status = 200, description = "`data` is the text to sign", body = Answer),
        (status = 400, description = "A grant the protocol refuses", body = ErrorBody),
        (status = 422, description = "`unknown_field`, `missing_field` or `invalid_json`", body = ErrorBody),
    ))]
async fn dwg_message(
    State(s): State<ApiState>,
    Json(req): Json<DwgMessageRequest>,
) -> Result<Json<Answer>, ApiError> {
    read(&s, None, Read::DwgMessage { grant: req.grant }).await
}

/// Submits an issuer's signed `create_credentials_by_dwg` transaction (original, copy and
/// grant in one).
#[utoipa::path(post, path = "/api/v1/dwg", tag = "dwg",
    request_body = SubmitRequest,
    params(WaitParams),
    responses(
        (status = 200, description = "`accepted`, or with `wait=commit` its block's outcome", body = TxStatus),
        (status = 400, description = "Not a signed `create_credentials_by_dwg` transaction (`wrong_action`), or malformed", body = ErrorBody),
        (status = 409, description = "Refused by the node's CheckTx", body = ErrorBody),
    ))]
async fn submit_dwg(
    State(s): State<ApiState>,
    Query(wait): Query<WaitParams>,
    Json(req): Json<SubmitRequest>,
) -> Result<Json<TxStatus>, ApiError> {
    let wait = wait.for_commit()?;
    let signed = signed_of(&s, &req)?;
    if !matches!(signed.tx.action, Action::CreateCredentialsByDwg(_)) {
        return Err(ApiError::bad_request(
            "wrong_action",
            format!(
                "this route takes create_credentials_by_dwg, not {}; use POST /api/v1/tx",
                signed.tx.action.name()
            ),
        ));
    }
    submit_signed(&s, signed, wait).await
}

pub(super) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(dwg_message))
        .routes(routes!(submit_dwg))
}
