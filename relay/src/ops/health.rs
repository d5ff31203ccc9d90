//! `GET /livez` (the process answers) and `GET /readyz` (the node is reachable and answering),
//! with the node probe as a trait object so any node client plugs in.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::metrics::Metrics;
use super::refusal::OpsRefusal;

/// What a node status probe learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    /// The chain the node runs.
    pub chain_id: String,
    /// Its latest block height.
    pub height: u64,
}

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Asks the node for its status; `Err` (a reason for the log) when it is unreachable, not
/// answering or not ready (catching up). Any `Fn() -> impl Future<Output = Result<NodeStatus,
/// String>>` is one, so a node client plugs in as a closure.
pub trait NodeProbe: Send + Sync + 'static {
    /// One status request.
    fn status(&self) -> BoxFuture<'_, Result<NodeStatus, String>>;
}

impl<F, Fut> NodeProbe for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<NodeStatus, String>> + Send + 'static,
{
    fn status(&self) -> BoxFuture<'_, Result<NodeStatus, String>> {
        Box::pin(self())
    }
}

/// What the health routes need.
#[derive(Clone)]
pub(crate) struct Health {
    pub probe: Arc<dyn NodeProbe>,
    pub metrics: Arc<Metrics>,
    pub timeout: Duration,
}

impl Health {
    /// Probes the node within the timeout and records the answer in the metrics.
    pub async fn check(&self) -> Result<NodeStatus, String> {
        let answer = match tokio::time::timeout(self.timeout, self.probe.status()).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        };
        match &answer {
            Ok(status) => self.metrics.set_node_height(status.height),
            Err(_) => self.metrics.set_node_down(),
        }
        answer
    }
}

/// `GET /livez`: the process serves requests.
pub(crate) async fn livez() -> Response {
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// `GET /readyz`: 200 with the node's chain and height, or 503 `not_ready`.
pub(crate) async fn readyz(State(health): State<Health>) -> Response {
    match health.check().await {
        Ok(status) => Json(serde_json::json!({
            "status": "ready",
            "chain_id": status.chain_id,
            "height": status.height,
        }))
        .into_response(),
        Err(reason) => {
            tracing::warn!(%reason, "not ready: the node did not answer its status probe");
            OpsRefusal::NotReady.into_response()
        }
    }
}

/// Probes the node every `every` so `idos_relay_node_height` stays current without a scrape
/// of `/readyz`. Stops when the runtime does (or when the handle is aborted).
pub(crate) fn spawn_watch(health: Health, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(reason) = health.check().await {
                tracing::debug!(%reason, "node status probe failed");
            }
        }
    })
}
