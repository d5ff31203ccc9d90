//! The OpenAPI 3.1 document: its head (title, security schemes, shared schemas) and the route
//! that serves it. The paths come from each route file's `#[utoipa::path]` through the
//! `OpenApiRouter` in [`super::openapi_router`], never from a hand-kept list.

use std::sync::Arc;

use axum::Extension;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::OpenApi as _;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use super::error::ErrorBody;

/// The name of the security requirement of routes that need a signed-in caller.
pub const SESSION: &str = "session";
/// The same requirement met by the session cookie.
pub const SESSION_COOKIE: &str = "session_cookie";
/// The session cookie's name.
pub const COOKIE_NAME: &str = "idos_session";

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SESSION,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token from sign-in (`Authorization: Bearer <token>`).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION_COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                COOKIE_NAME,
                "The session cookie set by sign-in (browsers).",
            ))),
        );
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "idOS relay API",
        description = "The relay in front of an idOS node. Reads run as the signed-in caller; \
                       writes are transactions the caller signs in their own wallet \
                       (`POST /api/v1/tx/prepare`, then `POST /api/v1/tx`). Every error is JSON \
                       `{\"code\", \"message\"}` with a stable `code`. Lists are paginated: pass \
                       the previous page's `next_cursor` as `cursor`."
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "profile", description = "The caller's profile, wallets and attributes"),
        (name = "credentials", description = "The caller's own credentials"),
        (name = "grants", description = "Access grants given and received"),
        (name = "shared", description = "Copies of credentials shared with the caller"),
        (name = "dwg", description = "Delegated write grants"),
        (name = "transactions", description = "Preparing, submitting and following transactions"),
        (name = "chain", description = "The chain and the API itself"),
    )
)]
struct Head;

/// The document's head, before the routes add their paths.
pub fn base() -> OpenApi {
    Head::openapi()
}

/// The rendered document, shared by every request for it.
#[derive(Debug, Clone)]
pub struct Document(Arc<String>);

impl Document {
    /// Renders `doc` once.
    pub fn new(doc: &OpenApi) -> Self {
        Document(Arc::new(
            doc.to_json()
                .expect("an OpenAPI document always serializes"),
        ))
    }
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "chain",
    responses((status = 200, description = "This API's OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
async fn openapi_json(Extension(doc): Extension<Document>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.0.as_str().to_owned(),
    )
}

pub(super) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}
