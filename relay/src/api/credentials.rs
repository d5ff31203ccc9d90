//! The caller's own credentials: the list (without content), one with its encrypted content,
//! its public notes, and whether a grant on it is still time-locked.

use axum::extract::State;
use protocol::query::Query as Read;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::json::{Json, Path, Query};
use super::page::{Answer, PageParams};
use super::{ApiState, read};

/// The caller's credentials, originals and copies, without content (`get_credentials`).
#[utoipa::path(get, path = "/api/v1/credentials", tag = "credentials",
    security(("session" = []), ("session_cookie" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of credential summaries `{items, next_cursor}`", body = Answer),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
    ))]
async fn list_credentials(
    caller: Caller,
    State(s): State<ApiState>,
    Query(p): Query<PageParams>,
) -> Result<Json<Answer>, ApiError> {
    read(
        &s,
        Some(caller.0),
        Read::GetCredentials { page: p.request()? },
    )
    .await
}

/// One of the caller's credentials with its encrypted content (`get_credential_owned`).
#[utoipa::path(get, path = "/api/v1/credentials/{id}", tag = "credentials",
    security(("session" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "The credential's id")),
    responses(
        (status = 200, description = "The credential, content as the ciphertext stored", body = Answer),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
        (status = 404, description = "`not_found`: no credential of the caller has this id", body = ErrorBody),
    ))]
async fn get_credential(
    caller: Caller,
    State(s): State<ApiState>,
    Path(id): Path<Uuid>,
) -> Result<Json<Answer>, ApiError> {
    read(&s, Some(caller.0), Read::GetCredentialOwned { id }).await
}

/// The public notes of one of the caller's credentials.
#[utoipa::path(get, path = "/api/v1/credentials/{id}/public-notes", tag = "credentials",
    security(("session" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "The credential's id")),
    responses(
        (status = 200, description = "`data` is the public notes text", body = Answer),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ))]
async fn credential_public_notes(
    caller: Caller,
    State(s): State<ApiState>,
    Path(id): Path<Uuid>,
) -> Result<Json<Answer>, ApiError> {
    let Json(mut answer) = read(&s, Some(caller.0), Read::GetCredentialOwned { id }).await?;
    answer.data = answer
        .data
        .get("public_notes")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    Ok(Json(answer))
}

/// Whether one of the caller's credentials has an access grant still time-locked
/// (`has_locked_access_grants`).
#[utoipa::path(get, path = "/api/v1/credentials/{id}/locked", tag = "credentials",
    security(("session" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "The credential's id")),
    responses(
        (status = 200, description = "`data` is true or false", body = Answer),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ))]
async fn credential_locked(
    caller: Caller,
    State(s): State<ApiState>,
    Path(id): Path<Uuid>,
) -> Result<Json<Answer>, ApiError> {
    read(&s, Some(caller.0), Read::HasLockedAccessGrants { id }).await
}

pub(super) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_credentials))
        .routes(routes!(get_credential))
        .routes(routes!(credential_public_notes))
        .routes(routes!(credential_locked))
}
