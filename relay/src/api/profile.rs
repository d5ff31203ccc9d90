//! The caller's profile, wallets and attributes, and whether a wallet has a profile.

use axum::extract::State;
use protocol::identity::Identity;
use protocol::query::Query as Read;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::json::{Json, Path, Query};
use super::page::{Answer, PageParams};
use super::{ApiState, read};

/// The caller's profile (`get_user`).
#[utoipa::path(get, path = "/api/v1/me", tag = "profile",
    security(("session" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The profile: id, encryption public key, password store, inserter", body = Answer),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
        (status = 404, description = "`no_profile`: no profile has the caller's wallet", body = ErrorBody),
    ))]
async fn me(caller: Caller, State(s): State<ApiState>) -> Result<Json<Answer>, ApiError> {
    read(&s, Some(caller.0), Read::GetUser).await
}

/// The caller's wallets, in id order (`get_wallets`).
#[utoipa::path(get, path = "/api/v1/wallets", tag = "profile",
    security(("session" = []), ("session_cookie" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of wallets `{items, next_cursor}`", body = Answer),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
    ))]
async fn wallets(
    caller: Caller,
    State(s): State<ApiState>,
    Query(p): Query<PageParams>,
) -> Result<Json<Answer>, ApiError> {
    read(&s, Some(caller.0), Read::GetWallets { page: p.request()? }).await
}

/// The caller's attributes, in id order (`get_attributes`).
#[utoipa::path(get, path = "/api/v1/attributes", tag = "profile",
    security(("session" = []), ("session_cookie" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of attributes `{items, next_cursor}`", body = Answer),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 401, description = "No valid session: `session_missing`, `session_invalid`, `session_expired`, `session_revoked`", body = ErrorBody),
    ))]
async fn attributes(
    caller: Caller,
    State(s): State<ApiState>,
    Query(p): Query<PageParams>,
) -> Result<Json<Answer>, ApiError> {
    read(
        &s,
        Some(caller.0),
        Read::GetAttributes { page: p.request()? },
    )
    .await
}

/// Whether any profile has this wallet (`has_profile`; anyone may ask).
#[utoipa::path(get, path = "/api/v1/profiles/{address}/exists", tag = "profile",
    params(("address" = String, Path, description = "A wallet or key identifier: an EVM 0x-address, a hex Ed25519 key, a NEAR ed25519:<base58> key, an XRPL r-address or a Stellar G-address")),
    responses(
        (status = 200, description = "`data` is true or false", body = Answer),
        (status = 400, description = "Not a wallet identifier", body = ErrorBody),
    ))]
async fn has_profile(
    State(s): State<ApiState>,
    Path(address): Path<String>,
) -> Result<Json<Answer>, ApiError> {
    let address = Identity::parse(&address)?;
    read(&s, None, Read::HasProfile { address }).await
}

pub(super) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(wallets))
        .routes(routes!(attributes))
        .routes(routes!(has_profile))
}
