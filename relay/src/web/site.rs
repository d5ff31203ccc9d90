//! The app origin: the REST API (`/api/v1`, see [`crate::api`]), the web apps under `www/`
//! (landing page, host SDK) and the security headers every page gets (health endpoints and the
//! layers around all of it: [`crate::ops`]). It reaches the node only through its [`NodeClient`].

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::node_client::NodeClient;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// What the app origin serves.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    /// The `www/` directory.
    pub dir: PathBuf,
    /// The enclave's origin, the only one the pages may frame.
    pub enclave_origin: String,
}

struct SiteState {
    node: NodeClient,
    enclave_origin: String,
}

/// `/site-config.json`: what the pages need to know about this deployment.
async fn site_config(State(state): State<Arc<SiteState>>) -> impl IntoResponse {
    let chain_id = state.node.chain_id();
    Json(
        serde_json::json!({ "enclave_url": format!("{}/", state.enclave_origin), "chain_id": chain_id }),
    )
}

/// The app origin's routes: `api` (the REST API's router, [`crate::api::app`]), the health
/// endpoints and the web apps, over `node`.
pub fn site_router(cfg: SiteConfig, node: NodeClient, api: Router) -> Router {
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         frame-src {}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        cfg.enclave_origin
    );
    let fixed = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::overriding(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    Router::new()
        .route("/site-config.json", get(site_config))
        .with_state(Arc::new(SiteState {
            node,
            enclave_origin: cfg.enclave_origin.clone(),
        }))
        .merge(api)
        .fallback_service(ServeDir::new(&cfg.dir).append_index_html_on_directories(true))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'")),
        ))
        .layer(fixed("x-content-type-options", "nosniff"))
        .layer(fixed("referrer-policy", "no-referrer"))
        .layer(fixed("x-frame-options", "DENY"))
}
