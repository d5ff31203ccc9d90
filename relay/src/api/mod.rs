//! The relay's REST API under `/api/v1`, described by the OpenAPI 3.1 document it serves at
//! `/api/v1/openapi.json`.
//!
//! Every route is registered through `utoipa_axum`'s `OpenApiRouter` with its
//! `#[utoipa::path]`, so the router and the document are built from the same list and cannot
//! disagree (`tests::every_route_is_in_the_document`). Reads go to the node as the signed-in
//! caller ([`caller::Caller`], attested with the relay's gateway key); writes are transactions
//! the caller signs in their own wallet ([`tx`]): the relay never holds a user key.
//!
//! One job per file: [`error`] (the one error type), [`json`] (extractors), [`caller`] (who
//! asks), [`page`] (lists and answers), [`openapi`] (the document), and one file per area.

pub mod access_log;
pub mod caller;
pub mod chain;
pub mod cors;
pub mod credentials;
pub mod dwg;
pub mod error;
pub mod grants;
pub mod json;
pub mod openapi;
pub mod page;
pub mod profile;
pub mod proven;
pub mod shared;
pub mod tx;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::Uri;
use axum::routing::any;
use utoipa_axum::router::OpenApiRouter;

use utoipa::OpenApi as _;

use crate::access_log::AccessLog;
use crate::auth::Auth;
use crate::auth::routes::AuthApi;
use crate::node_client::NodeClient;
use crate::ops::rate_limit::IdentityLimiter;
use error::ApiError;

/// The largest request body the API reads (a 1 MiB transaction as hex, with room for JSON).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    node: NodeClient,
    commit_wait: Duration,
    auth: Auth,
    access_log: AccessLog,
    identity_limiter: Option<IdentityLimiter>,
}

impl ApiState {
    /// The API over `node`, with sign-in `auth` (its sessions are the callers), recording reads
    /// of shared copies in `access_log`; `commit_wait` bounds `wait=commit`.
    pub fn new(node: NodeClient, commit_wait: Duration, auth: Auth, access_log: AccessLog) -> Self {
        ApiState {
            inner: Arc::new(Inner {
                node,
                commit_wait,
                auth,
                access_log,
                identity_limiter: None,
            }),
        }
    }

    /// The same API, with every signed-in caller counted against `limiter` (the per-identity
    /// rate limit of [`crate::ops::Ops::identity_limiter`]; `None`: no limit).
    pub fn with_identity_limiter(mut self, limiter: Option<IdentityLimiter>) -> Self {
        Arc::make_mut(&mut self.inner).identity_limiter = limiter;
        self
    }

    /// The per-identity rate limit, if any.
    pub fn identity_limiter(&self) -> Option<&IdentityLimiter> {
        self.inner.identity_limiter.as_ref()
    }

    /// The node client.
    pub fn node(&self) -> &NodeClient {
        &self.inner.node
    }

    /// The longest a `wait=commit` request waits.
    pub fn commit_wait(&self) -> Duration {
        self.inner.commit_wait
    }

    /// Sign-in and sessions.
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// The access log.
    pub fn access_log(&self) -> &AccessLog {
        &self.inner.access_log
    }
}

impl FromRef<ApiState> for Auth {
    fn from_ref(state: &ApiState) -> Auth {
        state.inner.auth.clone()
    }
}

/// Every documented route, with the document describing them.
pub fn openapi_router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(openapi::base())
        .merge(profile::routes())
        .merge(credentials::routes())
        .merge(grants::routes())
        .merge(shared::routes())
        .merge(dwg::routes())
        .merge(tx::routes())
        .merge(chain::routes())
        .merge(proven::routes())
        .merge(access_log::routes())
        .merge(openapi::routes())
}

/// The API's routes (all under `/api/v1`), for `state`. Unknown `/api/v1/...` paths get a
/// JSON `no_route` error.
pub fn app(state: ApiState) -> Router {
    let (router, mut doc) = openapi_router().split_for_parts();
    // Sign-in's routes, documented by their own `AuthApi`.
    doc.merge(AuthApi::openapi());
    router
        .merge(state.auth().router())
        .route("/api/v1/{*rest}", any(no_route))
        .layer(axum::Extension(openapi::Document::new(&doc)))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn no_route(uri: Uri) -> ApiError {
    ApiError::no_route(uri.path())
}

/// Reads `query` from the node as `caller` (`None`: an anonymous, public read).
pub(crate) async fn read(
    state: &ApiState,
    caller: Option<protocol::identity::Identity>,
    query: protocol::query::Query,
) -> Result<json::Json<page::Answer>, ApiError> {
    query.validate()?;
    let answer = state.node().query(caller, query).await?;
    Ok(json::Json(page::Answer::from_node(answer)?))
}
