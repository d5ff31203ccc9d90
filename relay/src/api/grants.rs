//! Access grants: those the caller gave, those given to the caller (all, from one user, on one
//! copy, and how many), and preparing a revoke (a transaction the caller signs).

use axum::extract::State;
use protocol::action::RevokeAccessGrant;
use protocol::query::Query as Read;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::json::{Json, Path, Query};
use super::page::{Answer, PageParams, page_request};
use super::tx::{PreparedTransaction, prepare_for};
use super::{ApiState, read};

/// Grants given to the caller, optionally only by one user.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GrantedParams {
    /// Only grants from this user (profile id).
    pub user_id: Option<Uuid>,
    /// The previous page's `next_cursor` (base64), unchanged; absent for the first page.
    pub cursor: Option<String>,
    /// The most rows to return, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// Count of grants given to the caller, optionally only by one user.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CountParams {
    /// Only grants from this user (profile id).
    pub user_id: Option<Uuid>,
}

/// The nonce of a prepared transaction (default: the node's next one).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrepareOptions {
    pub nonce: Option<u64>,
}

/// Access grants the caller gave, in id order (`get_access_grants_owned`).
#[utoipa::path(get, path = "/api/v1/grants/owned", tag = "grants",
    security(("session" = []), ("session_cookie" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of grants `{items, next_cursor}`", body = Answer),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
    ))]
async fn grants_owned(
    caller: Caller,
    State(s): State<ApiState>,
    Query(p): Query<PageParams>,
) -> Result<Json<Answer>, ApiError> {
    read(
        &s,
        Some(caller.0),
        Read::GetAccessGrantsOwned { page: p.request()? },
    )
    .await
}

/// Access grants given to the caller, by height then id (`get_access_grants_granted`).
#[utoipa::path(get, path = "/api/v1/grants/granted", tag = "grants",
    security(("session" = []), ("session_cookie" = [])),
    params(GrantedParams),
    responses(
        (status = 200, description = "A page of grants `{items, next_cursor}`", body = Answer),
        (status = 400, description = "A bad cursor, limit or user id", body = ErrorBody),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
    ))]
async fn grants_granted(
    caller: Caller,
    State(s): State<ApiState>,
    Query(p): Query<GrantedParams>,
) -> Result<Json<Answer>, ApiError> {
    let page = page_request(p.cursor.as_deref(), p.limit)?;
    read(
        &s,
        Some(caller.0),
        Read::GetAccessGrantsGranted {
            user_id: p.user_id,
            page,
        },
    )
    .await
}

/// How many access grants the caller has received (`get_access_grants_granted_count`).
#[utoipa::path(get, path = "/api/v1/grants/granted/count", tag = "grants",
    security(("session" = []), ("session_cookie" = [])),
    params(CountParams),
    responses(
        (status = 200, description = "`data` is the count", body = Answer),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
    ))]
async fn granted_count(
    caller: Caller,
    State(s): State<ApiState>,
    Query(p): Query<CountParams>,
) -> Result<Json<Answer>, ApiError> {
    read(
        &s,
        Some(caller.0),
        Read::GetAccessGrantsGrantedCount { user_id: p.user_id },
    )
    .await
}

/// Access grants to the caller on one copy (`get_access_grants_for_credential`).
#[utoipa::path(get, path = "/api/v1/grants/by-credential/{credential_id}", tag = "grants",
    security(("session" = []), ("session_cookie" = [])),
    params(("credential_id" = Uuid, Path, description = "The copy's id"), PageParams),
    responses(
        (status = 200, description = "A page of grants `{items, next_cursor}`", body = Answer),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
    ))]
async fn grants_by_credential(
    caller: Caller,
    State(s): State<ApiState>,
    Path(credential_id): Path<Uuid>,
    Query(p): Query<PageParams>,
) -> Result<Json<Answer>, ApiError> {
    read(
        &s,
        Some(caller.0),
        Read::GetAccessGrantsForCredential {
            credential_id,
            page: p.request()?,
        },
    )
    .await
}

/// Prepares `revoke_access_grant` for the caller to sign; submit it with `POST /api/v1/tx`.
/// The node refuses it while the grant is time-locked (`grant_locked`).
#[utoipa::path(post, path = "/api/v1/grants/{id}/revoke", tag = "grants",
    security(("session" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "The grant's id")),
    request_body = PrepareOptions,
    responses(
        (status = 200, description = "The transaction to sign", body = PreparedTransaction),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
    ))]
async fn prepare_revoke(
    caller: Caller,
    State(s): State<ApiState>,
    Path(id): Path<Uuid>,
    Json(options): Json<PrepareOptions>,
) -> Result<Json<PreparedTransaction>, ApiError> {
    let action = RevokeAccessGrant { id }.into();
    Ok(Json(
        prepare_for(&s, caller.0, action, options.nonce).await?,
    ))
}

pub(super) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(grants_owned))
        .routes(routes!(grants_granted))
        .routes(routes!(granted_count))
        .routes(routes!(grants_by_credential))
        .routes(routes!(prepare_revoke))
}
