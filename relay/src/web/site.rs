//! The app origin: the REST API (`/api/v1`, see [`crate::api`]), the web apps under `www/`
//! (the dashboard, shared modules, host SDK), the development wallet when it is on
//! ([`super::dev_wallet`]) and the security headers every page gets (health endpoints and the
//! layers around all of it: [`crate::ops`]). It reaches the node only through its [`NodeClient`].

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::dev_wallet::DevWallet;
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
    /// The development wallet, when the `dev_wallet` setting is on.
    pub dev_wallet: Option<DevWalletSite>,
}

/// The development wallet as a web origin serves it.
#[derive(Debug, Clone)]
pub struct DevWalletSite {
    pub wallet: DevWallet,
    /// The origins whose pages may ask it to sign (the server's own web origins).
    pub origins: Vec<String>,
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
pub fn dev_wallet_routes(dir: &std::path::Path, dev_wallet: Option<&DevWalletSite>) -> Router {
    match dev_wallet {
        Some(site) => site.wallet.router(dir, site.origins.clone()),
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
        .merge(dev_wallet_routes(&cfg.dir, cfg.dev_wallet.as_ref()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    fn www() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../www")
    }

    async fn call(router: &Router, method: &str, path: &str, origin: Option<&str>) -> StatusCode {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let body = if method == "POST" {
            Body::from(
                r#"{"address":"0x0000000000000000000000000000000000000001","message":"0x00"}"#,
            )
        } else {
            Body::empty()
        };
        router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap()
            .status()
    }

    #[tokio::test]
    async fn the_dev_wallet_is_served_only_when_on_and_signs_only_for_its_origins() {
        let off = dev_wallet_routes(&www(), None);
        assert_eq!(
            call(&off, "GET", "/dev-wallet/provider.js", None).await,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(&off, "GET", "/dev-wallet/api/accounts", None).await,
            StatusCode::NOT_FOUND
        );

        let data = tempfile::tempdir().unwrap();
        let wallet = DevWallet::open(data.path(), 1).unwrap();
        let app = "http://localhost:8080";
        let on = dev_wallet_routes(
            &www(),
            Some(&DevWalletSite {
                wallet: wallet.clone(),
                origins: vec![app.to_owned()],
            }),
        );
        assert_eq!(
            call(&on, "GET", "/dev-wallet/provider.js", None).await,
            StatusCode::OK
        );
        assert_eq!(
            call(&on, "GET", "/dev-wallet/api/accounts", None).await,
            StatusCode::OK
        );
        // Another site's page, or no page at all, cannot make it sign.
        for origin in [
            None,
            Some("http://localhost:9999"),
            Some("https://evil.example"),
        ] {
            assert_eq!(
                call(&on, "POST", "/dev-wallet/api/sign", origin).await,
                StatusCode::FORBIDDEN,
                "{origin:?}"
            );
        }
        // Its own origin can (here for an address that is not one of its accounts: 404).
        assert_eq!(
            call(&on, "POST", "/dev-wallet/api/sign", Some(app)).await,
            StatusCode::NOT_FOUND
        );
    }
}
