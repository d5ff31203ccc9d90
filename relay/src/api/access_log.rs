//! `GET /api/v1/access-log`: the reads of the caller's data through this relay, newest first.

use axum::extract::State;
use axum::http::StatusCode;
use protocol::query::{DEFAULT_PAGE_SIZE, Query as Read};
use protocol::records::QueryOutput;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::json::{Json, Query};
use super::page::PageParams;
use crate::access_log::{AccessLogError, AccessPage, MAX_ACCESS_PAGE};

impl From<AccessLogError> for ApiError {
    fn from(e: AccessLogError) -> Self {
        match e {
            AccessLogError::BadCursor(_) => ApiError::bad_request("invalid_cursor", e.to_string()),
            AccessLogError::Store(_) | AccessLogError::Corrupt(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "access_log_unavailable",
                format!("the access log cannot be used: {e}"),
            ),
        }
    }
}

/// Reads of the caller's data (copies they shared) through this relay: who read which copy,
/// when, and the request's id. Reads made directly at a node are not here.
#[utoipa::path(get, path = "/api/v1/access-log", tag = "shared",
    security(("session" = []), ("session_cookie" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of reads, newest first", body = AccessPage),
        (status = 400, description = "`invalid_cursor`, or a limit out of 1 to 1000", body = ErrorBody),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
        (status = 404, description = "`no_profile`", body = ErrorBody),
    ))]
async fn access_log(
    caller: Caller,
    State(s): State<ApiState>,
    Query(p): Query<PageParams>,
) -> Result<Json<AccessPage>, ApiError> {
    let log = s.access_log().clone();
    let limit = p.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_ACCESS_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("limit: must be between 1 and {MAX_ACCESS_PAGE}"),
        ));
    }
    let owner = match s.node().query(Some(caller.0), Read::GetUser).await?.output {
        QueryOutput::User(user) => user.id,
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "bad_node_answer",
                "the node answered get_user with something else",
            ));
        }
    };
    let page = tokio::task::spawn_blocking(move || log.list(&owner, p.cursor.as_deref(), limit))
        .await
        .map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        })??;
    Ok(Json(page))
}

pub(super) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(access_log))
}
