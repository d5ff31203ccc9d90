//! A [`NodeProbe`] over CometBFT RPC (`tendermint-rpc`, `status`): works for the bundled node
//! and any CometBFT 0.38 node.

use std::time::Duration;

use tendermint_rpc::client::CompatMode;
use tendermint_rpc::{Client, HttpClient};

use super::health::{BoxFuture, NodeProbe, NodeStatus};

/// Probes a node's RPC `status`; a node that is catching up is not ready.
#[derive(Debug, Clone)]
pub struct RpcStatusProbe {
    client: HttpClient,
}

impl RpcStatusProbe {
    /// A probe of the RPC at `url` (`http://host:port`), each request bounded by `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<RpcStatusProbe, String> {
        let url = url
            .parse()
            .map_err(|e| format!("node RPC address {url:?}: {e}"))?;
        let client = HttpClient::builder(url)
            .compat_mode(CompatMode::V0_38)
            .timeout(timeout)
            .build()
            .map_err(|e| format!("node RPC client: {e}"))?;
        Ok(RpcStatusProbe { client })
    }
}

impl NodeProbe for RpcStatusProbe {
    fn status(&self) -> BoxFuture<'_, Result<NodeStatus, String>> {
        Box::pin(async move {
            let status = self.client.status().await.map_err(|e| e.to_string())?;
            if status.sync_info.catching_up {
                return Err("the node is catching up".to_owned());
            }
            Ok(NodeStatus {
                chain_id: status.node_info.network.to_string(),
                height: status.sync_info.latest_block_height.value(),
            })
        })
    }
}
