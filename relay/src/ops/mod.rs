//! Operations: health (`/livez`, `/readyz`), metrics (`/metrics`), request ids and logs that
//! never carry a token, body and time limits, per-address and per-identity rate limits, and
//! graceful shutdown, as tower layers around any router.
//!
//! ```ignore
//! let ops = Ops::new(config, Arc::new(probe))?;       // probe: any NodeProbe
//! // The per-identity limit reads the CallerIdentity that the authentication layer sets, so
//! // it goes inside that layer:
//! let api = ops.limit_identities(api_router).layer(authentication_layer);
//! let app = ops.wrap(api.merge(ops.router()));        // every other layer, around everything
//! ops::serve(listener, app, ops::signal(), ops.config().shutdown_grace).await?;
//! ```
//!
//! Layers of [`Ops::wrap`], outermost first: sensitive request headers marked → request id
//! (checked or made) → log span → sensitive response headers marked → metrics → panics as
//! JSON 500 → client address and per-address rate limit → timeout → body limit → the route.
//! Every refusal is JSON `{"code", "message"}` ([`OpsRefusal`]).

pub mod client_ip;
pub mod config;
pub mod health;
pub mod identity;
pub mod limits;
pub mod metrics;
pub mod node_probe;
pub mod rate_limit;
pub mod refusal;
pub mod request_id;
pub mod shutdown;
pub mod trace;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderName;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use tower::ServiceBuilder;
use tower::util::MapRequestLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::{
    SetSensitiveRequestHeadersLayer, SetSensitiveResponseHeadersLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use client_ip::{ClientIp, TrustedProxy};
pub use config::{OpsConfig, OpsConfigError, RateLimit};
pub use health::{NodeProbe, NodeStatus};
pub use identity::CallerIdentity;
pub use metrics::Metrics;
pub use node_probe::RpcStatusProbe;
pub use rate_limit::{IdentityLimiter, KeyedLimiter};
pub use refusal::{LimitScope, OpsRefusal};
pub use shutdown::{Stopped, serve, signal};

use health::Health;
use rate_limit::AddressLimit;

/// The operations layers and routes, built once from an [`OpsConfig`] and shared by clones.
#[derive(Clone)]
pub struct Ops {
    config: Arc<OpsConfig>,
    metrics: Arc<Metrics>,
    health: Health,
    address_limit: AddressLimit,
    identity_limiter: Option<IdentityLimiter>,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Ops {
    /// Validates `config`; `probe` answers `/readyz` and feeds the node-height gauge.
    pub fn new(config: OpsConfig, probe: Arc<dyn NodeProbe>) -> Result<Ops, OpsConfigError> {
        config.validate()?;
        let metrics = Arc::new(Metrics::new());
        let per_ip = config
            .rate_limit_per_ip
            .map(|l| Arc::new(KeyedLimiter::new(l, config.rate_limit_max_keys)));
        let identity_limiter = config.rate_limit_per_identity.map(|l| {
            IdentityLimiter::new(
                Arc::new(KeyedLimiter::new(l, config.rate_limit_max_keys)),
                metrics.clone(),
            )
        });
        Ok(Ops {
            health: Health {
                probe,
                metrics: metrics.clone(),
                timeout: config.readiness_timeout,
            },
            address_limit: AddressLimit {
                limiter: per_ip,
                trusted_proxies: config.trusted_proxies.clone().into(),
                metrics: metrics.clone(),
            },
            identity_limiter,
            metrics,
            config: Arc::new(config),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &OpsConfig {
        &self.config
    }

    /// The metrics, for other modules' hooks (sessions).
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// The per-identity limiter (`None` when off), for an extractor that checks it itself.
    pub fn identity_limiter(&self) -> Option<IdentityLimiter> {
        self.identity_limiter.clone()
    }

    /// `GET /livez`, `GET /readyz`, `GET /metrics`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/livez", get(health::livez))
            .route(
                "/readyz",
                get(health::readyz).with_state(self.health.clone()),
            )
            .route(
                "/metrics",
                get(metrics::metrics_handler).with_state(self.metrics.clone()),
            )
    }

    /// Probes the node every `every` so the node-height gauge stays current.
    pub fn spawn_node_watch(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        health::spawn_watch(self.health.clone(), every)
    }

    /// Wraps every route of `router` (and its fallback) in the operations layers, except the
    /// per-identity limit (see [`limit_identities`](Self::limit_identities)).
    pub fn wrap<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        let timeout = self.config.request_timeout;
        let body_limit = self.config.body_limit;
        let request_id = HeaderName::from_static(request_id::REQUEST_ID_HEADER);
        let layers = ServiceBuilder::new()
            .layer(SetSensitiveRequestHeadersLayer::new(
                trace::SENSITIVE_HEADERS,
            ))
            .layer(MapRequestLayer::new(request_id::drop_unacceptable))
            .layer(SetRequestIdLayer::new(
                request_id.clone(),
                request_id::RandomRequestId,
            ))
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(trace::RequestSpan)
                    .on_request(trace::LogRequest)
                    .on_response(trace::LogResponse)
                    .on_failure(trace::NoFailureLog),
            )
            // Inside the log layer: responses are marked before it logs them.
            .layer(SetSensitiveResponseHeadersLayer::new(
                trace::SENSITIVE_RESPONSE_HEADERS,
            ))
            .layer(from_fn_with_state(self.metrics.clone(), metrics::record))
            .layer(CatchPanicLayer::custom(limits::panic_as_json))
            .layer(from_fn_with_state(
                self.address_limit.clone(),
                rate_limit::limit_addresses,
            ))
            .layer(from_fn_with_state(timeout, limits::timeout_as_json))
            .layer(TimeoutLayer::with_status_code(
                limits::TIMEOUT_STATUS,
                timeout,
            ))
            .layer(from_fn_with_state(
                body_limit,
                limits::body_too_large_as_json,
            ))
            .layer(RequestBodyLimitLayer::new(body_limit))
            // axum's extractors have their own limit (2 MB); they follow ours instead.
            .layer(DefaultBodyLimit::max(body_limit));
        router.layer(layers)
    }

    /// Wraps every route of `router` in the per-identity limit, which counts requests carrying
    /// a [`CallerIdentity`] extension. Apply the layer that sets it *after* this one.
    pub fn limit_identities<S: Clone + Send + Sync + 'static>(
        &self,
        router: Router<S>,
    ) -> Router<S> {
        router.layer(from_fn_with_state(
            self.identity_limiter.clone(),
            rate_limit::limit_identities,
        ))
    }
}
