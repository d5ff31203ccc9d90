//! Prometheus metrics (`prometheus-client`, OpenMetrics text at `GET /metrics`): requests by
//! route template and status, latency by route, rate-limit refusals, sessions and the node's
//! height. Labels come from bounded sets only: the route is the router's template
//! (`/api/v1/credentials/{id}`, never the raw path), `unmatched` when no route matched; the
//! method is one of the standard ones or `other`.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::refusal::LimitScope;

/// The content type of `GET /metrics`.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: Cow<'static, str>,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: Cow<'static, str>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    scope: Cow<'static, str>,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms … 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// The relay's metrics. Other modules hold an `Arc<Metrics>` (from
/// [`crate::ops::Ops::metrics`]) and call its hooks: [`session_started`](Self::session_started),
/// [`session_ended`](Self::session_ended), [`set_sessions_active`](Self::set_sessions_active),
/// [`set_node_height`](Self::set_node_height).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    rate_limited: Family<ScopeLabels, Counter>,
    sessions_started: Counter,
    sessions_ended: Counter,
    sessions_active: Gauge,
    node_height: Gauge,
    node_up: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric, registered under the `idos_relay_` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("idos_relay");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let rate_limited = Family::<ScopeLabels, Counter>::default();
        let sessions_started = Counter::default();
        let sessions_ended = Counter::default();
        let sessions_active = Gauge::default();
        let node_height = Gauge::default();
        let node_up = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response head, by route template and method",
            latency.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by a rate limit, by what was counted (address or identity)",
            rate_limited.clone(),
        );
        registry.register(
            "sessions_started",
            "Sessions signed in",
            sessions_started.clone(),
        );
        registry.register(
            "sessions_ended",
            "Sessions logged out or expired",
            sessions_ended.clone(),
        );
        registry.register(
            "sessions_active",
            "Sessions currently active",
            sessions_active.clone(),
        );
        registry.register(
            "node_height",
            "The node's latest block height, as last seen",
            node_height.clone(),
        );
        registry.register(
            "node_up",
            "1 if the node answered its last status probe, else 0",
            node_up.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            rate_limited,
            sessions_started,
            sessions_ended,
            sessions_active,
            node_height,
            node_up,
        }
    }

    /// A session was signed in.
    pub fn session_started(&self) {
        self.sessions_started.inc();
        self.sessions_active.inc();
    }

    /// A session ended (logout, or expiry if the session store sees it).
    pub fn session_ended(&self) {
        self.sessions_ended.inc();
        self.sessions_active.dec();
    }

    /// Sets the active-session gauge to a count the session store knows exactly.
    pub fn set_sessions_active(&self, count: i64) {
        self.sessions_active.set(count);
    }

    /// Records the node's latest height (from a status probe).
    pub fn set_node_height(&self, height: u64) {
        self.node_height
            .set(i64::try_from(height).unwrap_or(i64::MAX));
        self.node_up.set(1);
    }

    /// Records that the node did not answer its status probe.
    pub fn set_node_down(&self) {
        self.node_up.set(0);
    }

    pub(crate) fn rate_limited(&self, scope: LimitScope) {
        let scope = match scope {
            LimitScope::Address => "address",
            LimitScope::Identity => "identity",
        };
        self.rate_limited
            .get_or_create(&ScopeLabels {
                scope: Cow::Borrowed(scope),
            })
            .inc();
    }

    fn observe(&self, route: String, method: Cow<'static, str>, status: u16, seconds: f64) {
        self.latency
            .get_or_create(&RouteLabels {
                route: route.clone(),
                method: method.clone(),
            })
            .observe(seconds);
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The method as a label: the standard ones by name, anything else `other` (methods are
/// client-chosen tokens; unbounded label values would grow the registry without end).
fn method_label(method: &Method) -> Cow<'static, str> {
    Cow::Borrowed(match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    })
}

/// The route label: the matched template, or `unmatched` (404s, static files).
fn route_label(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned()
}

/// Middleware: counts and times every request.
pub(crate) async fn record(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = route_label(&request);
    let method = method_label(request.method());
    let response = next.run(request).await;
    metrics.observe(
        route,
        method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`.
pub(crate) async fn metrics_handler(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(OPENMETRICS_CONTENT_TYPE),
        )],
        metrics.encode(),
    )
}
