//! The app origin: the REST API (`/api/v1`, see [`crate::api`]), the web apps under `www/`
//! (the dashboard, shared modules, host SDK), the development wallet's routes when it is on
//! (`crate::cli::dev_wallet`, mounted by `idos serve`) and the security headers every page gets (health endpoints and the
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
use tower_http::set_header::SetResponseHeaderLayer;

/// What the app origin serves.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    /// The `www/` directory.
    pub dir: PathBuf,
    /// The enclave's origin, the only one the pages may frame.
    pub enclave_origin: String,
    /// The development wallet's routes (`crate::cli::dev_wallet::DevWallet::router`), when the
    /// `dev_wallet` setting is on.
    pub dev_wallet: Option<Router>,
}

struct SiteState {
    node: NodeClient,
    enclave_origin: String,
    dev_wallet: bool,
}

/// `/site-config.json`: what the pages need to know about this deployment.
async fn site_config(State(state): State<Arc<SiteState>>) -> impl IntoResponse {
    let chain_id = state.node.chain_id();
    Json(serde_json::json!({
        "enclave_url": format!("{}/", state.enclave_origin),
        "chain_id": chain_id,
        "dev_wallet": state.dev_wallet,
    }))
}

/// `/dev-wallet/…` while the development wallet is off: nothing, not even its files.
async fn dev_wallet_off() -> impl IntoResponse {
    (
        axum::http::StatusCode::NOT_FOUND,
        Json(serde_json::json!({
            "code": "dev_wallet_off",
            "message": "the development wallet is off on this server (setting dev_wallet)",
        })),
    )
}

/// The routes of `/dev-wallet/`: the wallet's, or 404 when it is off. Every web origin of the
/// server (the app's, the demo dapp's) merges these so the same account is on all of them.
pub fn dev_wallet_routes(dev_wallet: Option<Router>) -> Router {
    match dev_wallet {
        Some(routes) => routes,
        None => Router::new()
            .route("/dev-wallet", get(dev_wallet_off))
            .route(
                "/dev-wallet/{*rest}",
                get(dev_wallet_off).post(dev_wallet_off),
            ),
    }
}

/// The CSP of the app origin's pages: scripts, styles and connections only from the origin
/// itself (no inline script or style), frames only from the enclave, framed by nobody.
pub fn app_csp(enclave_origin: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         frame-src {enclave_origin}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    )
}

/// The app origin's routes: `api` (the REST API's router, [`crate::api::app`]), the health
/// endpoints and the web apps, over `node`.
pub fn site_router(cfg: SiteConfig, node: NodeClient, api: Router) -> Router {
    let csp = app_csp(&cfg.enclave_origin);
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
            dev_wallet: cfg.dev_wallet.is_some(),
        }))
        .merge(api)
        .merge(dev_wallet_routes(cfg.dev_wallet))
        .fallback_service(super::static_files::static_files(&cfg.dir))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'")),
        ))
        .layer(fixed("x-content-type-options", "nosniff"))
        .layer(fixed("referrer-policy", "no-referrer"))
        .layer(fixed("x-frame-options", "DENY"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    #[tokio::test]
    async fn the_dev_wallet_is_absent_when_off_and_the_csp_allows_no_inline_code() {
        let off = dev_wallet_routes(None);
        for path in ["/dev-wallet/provider.js", "/dev-wallet/api/accounts"] {
            let req = Request::get(path).body(Body::empty()).unwrap();
            let status = off.clone().oneshot(req).await.unwrap().status();
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
        let csp = app_csp("http://127.0.0.1:8081");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert!(csp.contains("script-src 'self';") && csp.contains("style-src 'self';"));
    }
}
