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
pub mod credentials;
pub mod dwg;
pub mod error;
pub mod grants;
pub mod json;
pub mod openapi;
pub mod page;
pub mod profile;
pub mod shared;
pub mod tx;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use axum::routing::any;
use utoipa_axum::router::OpenApiRouter;

use crate::access_log::AccessLog;
use crate::node_client::NodeClient;
use error::ApiError;

/// The largest request body the API reads (a 1 MiB transaction as hex, with room for JSON).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    node: NodeClient,
    commit_wait: Duration,
    access_log: Option<AccessLog>,
}

impl ApiState {
    /// The API over `node`; `commit_wait` bounds `wait=commit`. Without an access log, reads
    /// of shared copies are refused (`access_log_unavailable`): none goes unrecorded.
    pub fn new(node: NodeClient, commit_wait: Duration) -> Self {
        ApiState {
            inner: Arc::new(Inner {
                node,
                commit_wait,
                access_log: None,
            }),
        }
    }

    /// The API recording reads of shared copies in `log`.
    pub fn with_access_log(node: NodeClient, commit_wait: Duration, log: AccessLog) -> Self {
        ApiState {
            inner: Arc::new(Inner {
                node,
                commit_wait,
                access_log: Some(log),
            }),
        }
    }

    /// The access log, or the error to answer without one.
    pub fn access_log(&self) -> Result<&AccessLog, ApiError> {
        self.inner.access_log.as_ref().ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "access_log_unavailable",
                "this relay has no access log, so it serves no shared copies",
            )
        })
    }

    /// The node client.
    pub fn node(&self) -> &NodeClient {
        &self.inner.node
    }

    /// The longest a `wait=commit` request waits.
    pub fn commit_wait(&self) -> Duration {
        self.inner.commit_wait
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
        .merge(access_log::routes())
        .merge(openapi::routes())
}

/// The API's routes (all under `/api/v1`), for `state`. Unknown `/api/v1/...` paths get a
/// JSON `no_route` error.
pub fn app(state: ApiState) -> Router {
    let (router, doc) = openapi_router().split_for_parts();
    router
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
