//! The chain the relay fronts: its id, latest block, and the relay's gateway key (which a node
//! must trust for reads through this relay).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use super::error::{ApiError, ErrorBody};
use super::json::Json;

/// What the node says about the chain.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChainInfo {
    pub chain_id: String,
    /// The latest block's height.
    pub height: u64,
    /// The latest block's app hash (upper-case hex).
    pub app_hash: String,
    /// The latest block's time (RFC 3339).
    pub time: String,
    pub node_version: String,
    pub catching_up: bool,
    /// The relay's gateway key (hex Ed25519): list it in a node's `trusted_gateways`.
    pub gateway_key: String,
}

/// The chain and the node behind this relay.
#[utoipa::path(get, path = "/api/v1/chain", tag = "chain",
    responses(
        (status = 200, description = "Chain id, latest block, node version, gateway key", body = ChainInfo),
        (status = 502, description = "`node_unreachable`", body = ErrorBody),
    ))]
async fn chain_info(State(s): State<ApiState>) -> Result<Json<ChainInfo>, ApiError> {
    let status = s.node().status().await?;
    Ok(Json(ChainInfo {
        chain_id: status.chain_id,
        height: status.height,
        app_hash: status.app_hash,
        time: status.time,
        node_version: status.node_version,
        catching_up: status.catching_up,
        gateway_key: s.node().gateway_key().to_string(),
    }))
}

pub(super) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(chain_info))
}
