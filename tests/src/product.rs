//! The product's server side assembled in the test process as `idos serve` assembles it, for the
//! browser tests that need to reach inside it (`dashboard.rs`, `demo_pages.rs`): the bundled
//! node trusting the relay's gateway key, the relay's API state (sign-in, access log) and the
//! operations layer (`relay::ops`) around the app origin. `journey.rs` runs the real `idos serve`
//! process instead.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use node::chain::Chain;
use node::run::{NodeConfig, start_embedded};
use protocol::identity::Ed25519SigningKey;
use relay::api::ApiState;
use relay::node_client::NodeClient;
use relay::ops::{Ops, OpsConfig, RpcStatusProbe};

/// The bundled node, as `idos serve` runs it, and the relay's client of it.
pub struct BundledNode {
    /// The chain, to stop it (or to read its tables) at the end of a test.
    pub chain: Arc<Chain>,
    /// The relay's client, attested by the gateway key the node trusts.
    pub client: NodeClient,
    /// The node's CometBFT-compatible RPC address.
    pub rpc_addr: std::net::SocketAddr,
}

/// Starts the node in `data` (writes not synced: tests do not survive power loss) with its RPC
/// on a free loopback port, trusting a fresh gateway key, and connects the relay's client.
pub async fn bundled_node(data: &Path) -> BundledNode {
    let gateway = Ed25519SigningKey::generate();
    let rpc = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the node's RPC port");
    let (running, _rpc_server) = start_embedded(
        data,
        &NodeConfig {
            sync_writes: Some(false),
            trusted_gateways: vec![gateway.public_key()],
            ..Default::default()
        },
        rpc,
    )
    .await
    .expect("start the bundled node");
    let client = NodeClient::connect(
        &format!("http://{}", running.rpc_addr),
        gateway,
        Duration::from_secs(10),
    )
    .await
    .expect("connect to the bundled node");
    BundledNode {
        chain: running.chain,
        client,
        rpc_addr: running.rpc_addr,
    }
}

/// The relay API's state as `idos serve` builds it: sign-in for the app origin `app` and the
/// dapp origins `dapps` (over the relay store in `data/relay-data`), and the access log.
pub fn api_state(data: &Path, app: &str, dapps: &[String], node: NodeClient) -> ApiState {
    let store = relay::store::RelayStore::open(&data.join("relay-data")).expect("relay store");
    let mut config = relay::auth::AuthConfig::new(app);
    config.network = node.chain_id().to_owned();
    config.dapp_origins = dapps.to_vec();
    let auth = relay::auth::Auth::new(config, relay::auth::SessionKey::generate(), store.clone())
        .expect("auth");
    ApiState::new(
        node,
        Duration::from_secs(10),
        auth,
        relay::access_log::AccessLog::new(store),
    )
}

/// `site` behind the operations layer (request ids, logs, metrics, limits) with `/livez`,
/// `/readyz` and `/metrics`, readiness probed at the node's RPC `rpc_addr`.
pub fn with_ops(site: axum::Router, rpc_addr: std::net::SocketAddr) -> axum::Router {
    let probe = RpcStatusProbe::new(&format!("http://{rpc_addr}"), Duration::from_secs(2))
        .expect("status probe");
    let ops = Ops::new(OpsConfig::default(), Arc::new(probe)).expect("operations layer");
    ops.wrap(site.merge(ops.router()))
}
