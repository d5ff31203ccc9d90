//! Copies shared with the caller: one with its content (each read recorded in the access log,
//! on disk, before the content is returned),
//! those of one user, the sibling with a content hash, and preparing a rescind.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use protocol::action::RescindSharedCredential;
use protocol::bytes::{Ed25519PublicKey, Sha256Digest};
use protocol::query::Query as Read;
use protocol::records::QueryOutput;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::grants::PrepareOptions;
use super::json::{Json, Path, Query};
use super::page::{Answer, page_request};
use super::tx::{PreparedTransaction, prepare_for};
use super::{ApiState, read};
use crate::access_log::AccessRecord;

/// Copies of one user's credentials shared with the caller.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ByUserParams {
    /// Only copies whose original this issuer key (hex Ed25519) signed.
    pub issuer: Option<String>,
    /// The previous page's `next_cursor` (base64), unchanged; absent for the first page.
    pub cursor: Option<String>,
    /// The most grants to look at, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// A copy shared with the caller, with its content and its original's public notes
/// (`get_credential_shared`).
#[utoipa::path(get, path = "/api/v1/shared/{id}", tag = "shared",
    security(("session" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "The copy's id")),
    responses(
        (status = 200, description = "The copy, content as the ciphertext for the caller's key", body = Answer),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
        (status = 404, description = "`not_found`: no copy with this id is shared with the caller", body = ErrorBody),
        (status = 500, description = "`access_log_unavailable`: the read could not be recorded, so nothing is returned", body = ErrorBody),
    ))]
async fn get_shared_credential(
    caller: Caller,
    State(s): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Json<Answer>, ApiError> {
    let answer = s
        .node()
        .query(Some(caller.0), Read::GetCredentialShared { id })
        .await?;
    let QueryOutput::Credential(copy) = &answer.output else {
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "bad_node_answer",
            "the node answered get_credential_shared with something else",
        ));
    };
    // Recorded on disk before the content is returned.
    record_access(&s, caller.0, id, copy, &headers).await?;
    Ok(Json(Answer::from_node(answer)?))
}

/// Records that `reader` read the copy `id` in the access log, on disk.
pub(super) async fn record_access(
    s: &ApiState,
    reader: protocol::identity::Identity,
    id: Uuid,
    copy: &protocol::records::CredentialRecord,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let record = AccessRecord {
        reader,
        copy_id: id,
        original_id: copy.original_id,
        owner_user_id: copy.user_id,
        at_ms: now_ms(),
        request_id: request_id(headers),
    };
    s.access_log().clone().record(record).await?;
    Ok(())
}

/// The request's id: the `x-request-id` header (as the request-id middleware sets it; at most
/// 64 visible ASCII characters), or a fresh one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Copies of one user's credentials shared with the caller, by grant height then id
/// (`get_credentials_shared_by_user`).
#[utoipa::path(get, path = "/api/v1/shared/by-user/{user_id}", tag = "shared",
    security(("session" = []), ("session_cookie" = [])),
    params(("user_id" = Uuid, Path, description = "The owner's profile id"), ByUserParams),
    responses(
        (status = 200, description = "A page of copy summaries `{items, next_cursor}`", body = Answer),
        (status = 400, description = "A bad cursor, limit or issuer key", body = ErrorBody),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
    ))]
async fn shared_by_user(
    caller: Caller,
    State(s): State<ApiState>,
    Path(user_id): Path<Uuid>,
    Query(p): Query<ByUserParams>,
) -> Result<Json<Answer>, ApiError> {
    let issuer = match &p.issuer {
        Some(text) => Some(Ed25519PublicKey::parse(text)?),
        None => None,
    };
    let page = page_request(p.cursor.as_deref(), p.limit)?;
    read(
        &s,
        Some(caller.0),
        Read::GetCredentialsSharedByUser {
            user_id,
            original_issuer_auth_public_key: issuer,
            page,
        },
    )
    .await
}

/// The id of a copy shared with the caller whose grant has this content hash
/// (`get_sibling_credential_id`).
#[utoipa::path(get, path = "/api/v1/shared/sibling/{content_hash}", tag = "shared",
    security(("session" = []), ("session_cookie" = [])),
    params(("content_hash" = String, Path, description = "Hex SHA-256 of the plaintext")),
    responses(
        (status = 200, description = "`data` is the copy's id or null", body = Answer),
        (status = 400, description = "Not a hex SHA-256", body = ErrorBody),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
    ))]
async fn sibling_credential(
    caller: Caller,
    State(s): State<ApiState>,
    Path(content_hash): Path<String>,
) -> Result<Json<Answer>, ApiError> {
    let content_hash = Sha256Digest::parse(&content_hash)?;
    read(
        &s,
        Some(caller.0),
        Read::GetSiblingCredentialId { content_hash },
    )
    .await
}

/// Prepares `rescind_shared_credential` (the grantee gives the copy up) for the caller to sign;
/// submit it with `POST /api/v1/tx`.
#[utoipa::path(post, path = "/api/v1/shared/{id}/rescind", tag = "shared",
    security(("session" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "The copy's id")),
    request_body = PrepareOptions,
    responses(
        (status = 200, description = "The transaction to sign", body = PreparedTransaction),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
    ))]
async fn prepare_rescind(
    caller: Caller,
    State(s): State<ApiState>,
    Path(id): Path<Uuid>,
    Json(options): Json<PrepareOptions>,
) -> Result<Json<PreparedTransaction>, ApiError> {
    let action = RescindSharedCredential { credential_id: id }.into();
    Ok(Json(
        prepare_for(&s, caller.0, action, options.nonce).await?,
    ))
}

pub(super) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(get_shared_credential))
        .routes(routes!(shared_by_user))
        .routes(routes!(sibling_credential))
        .routes(routes!(prepare_rescind))
}
