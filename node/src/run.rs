//! Running a node: its configuration file, the data directory layout, and starting either the
//! embedded chain with its RPC or the ABCI server for CometBFT.
//!
//! Data directory: `db/` (RocksDB), `validator_key` (embedded chain's validator identity),
//! and, when no owner is configured, `owner_key` (a development owner key, created once).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use protocol::bytes::Ed25519PublicKey;
use protocol::identity::Identity;
use serde::Deserialize;

use crate::abci::AbciApp;
use crate::app::{App, AppConfig, Genesis};
use crate::chain::{Chain, ChainConfig, Validator};
use crate::error::{NodeError, NodeResult};
use crate::store::Store;

/// The chain id used when none is configured.
pub const DEFAULT_CHAIN_ID: &str = "idos-local";

/// The node's TOML configuration. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Chain id of a new embedded chain (default `idos-local`).
    pub chain_id: Option<String>,
    /// The network owner's identity (EVM address or Ed25519 hex key). Default for a new
    /// embedded chain: a development key created in the data directory.
    pub owner: Option<Identity>,
    /// Gateway (relay) keys, hex Ed25519, whose read attestations this node accepts.
    #[serde(default)]
    pub trusted_gateways: Vec<Ed25519PublicKey>,
    /// Fsync every commit (default true). Without it a crash of the process loses nothing,
    /// a power loss may lose the last blocks.
    pub sync_writes: Option<bool>,
    /// Most transactions per block (embedded chain; default 5000).
    pub max_block_txs: Option<usize>,
    /// Most bytes of transactions per block (embedded chain; default 22020096, CometBFT's
    /// `block.max_bytes`).
    pub max_block_bytes: Option<usize>,
    /// Most transactions waiting in the mempool (embedded chain; default 100000).
    pub max_mempool_txs: Option<usize>,
    /// Most bytes of transactions waiting in the mempool (embedded chain; default 1073741824,
    /// CometBFT's `mempool.max_txs_bytes`).
    pub max_mempool_bytes: Option<usize>,
    /// Largest transaction the mempool takes (embedded chain; default and maximum 1048576,
    /// CometBFT's `mempool.max_tx_bytes`).
    pub max_tx_bytes: Option<usize>,
    /// Shortest milliseconds from one embedded block's start to the next's (default 20):
    /// transactions gather meanwhile; on an idle chain a transaction's block starts at once.
    pub block_linger_ms: Option<u64>,
    /// Milliseconds after which an idle embedded chain makes an empty block (default 30000; 0:
    /// none while idle). Clients that demand recent signed headers need it.
    pub heartbeat_ms: Option<u64>,
    /// EVM public keys remembered to verify returning signers faster (default 100000; 0
    /// turns the cache off). Speed only, never a verdict.
    pub evm_key_cache: Option<usize>,
    /// How many of the latest state-tree versions stay provable (default 100, at least 1);
    /// older tree nodes are pruned. Node-local: never changes an app hash.
    pub state_retention: Option<u64>,
    /// RPC requests served at once (embedded chain; default 256). Beyond it, requests get a
    /// JSON-RPC error to retry.
    pub rpc_max_concurrent: Option<usize>,
    /// Milliseconds any RPC request may take (default 40000; keep it above
    /// `rpc_commit_timeout_ms`).
    pub rpc_timeout_ms: Option<u64>,
    /// Milliseconds `broadcast_tx_commit` waits for its block (default 30000).
    pub rpc_commit_timeout_ms: Option<u64>,
}

impl NodeConfig {
    /// Reads a TOML configuration file.
    pub fn load(path: &Path) -> NodeResult<NodeConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(NodeError::io(format!("reading {}", path.display())))?;
        toml::from_str(&text).map_err(|e| {
            NodeError::Invalid(protocol::Error::malformed(
                "node configuration",
                format!("{}: {e}", path.display()),
            ))
        })
    }

    fn app_config(&self) -> AppConfig {
        let defaults = AppConfig::default();
        AppConfig {
            trusted_gateways: self.trusted_gateways.clone(),
            evm_key_cache: self.evm_key_cache.unwrap_or(defaults.evm_key_cache),
            state_retention: self
                .state_retention
                .unwrap_or(defaults.state_retention)
                .max(1),
            ..defaults
        }
    }

    /// The embedded chain's limits.
    pub fn chain_config(&self) -> ChainConfig {
        let defaults = ChainConfig::default();
        ChainConfig {
            max_block_txs: self.max_block_txs.unwrap_or(defaults.max_block_txs),
            max_block_bytes: self.max_block_bytes.unwrap_or(defaults.max_block_bytes),
            max_mempool_txs: self.max_mempool_txs.unwrap_or(defaults.max_mempool_txs),
            max_mempool_bytes: self.max_mempool_bytes.unwrap_or(defaults.max_mempool_bytes),
            max_tx_bytes: self.max_tx_bytes.unwrap_or(defaults.max_tx_bytes),
            block_linger: self
                .block_linger_ms
                .map(std::time::Duration::from_millis)
                .unwrap_or(defaults.block_linger),
            heartbeat: match self.heartbeat_ms {
                None => defaults.heartbeat,
                Some(0) => None,
                Some(ms) => Some(std::time::Duration::from_millis(ms)),
            },
        }
        .normalized()
    }

    /// The RPC server's limits.
    pub fn rpc_limits(&self) -> crate::rpc::RpcLimits {
        let defaults = crate::rpc::RpcLimits::default();
        crate::rpc::RpcLimits {
            max_concurrent: self
                .rpc_max_concurrent
                .unwrap_or(defaults.max_concurrent)
                .max(1),
            timeout: self
                .rpc_timeout_ms
                .map(std::time::Duration::from_millis)
                .unwrap_or(defaults.timeout),
            commit_timeout: self
                .rpc_commit_timeout_ms
                .map(std::time::Duration::from_millis)
                .unwrap_or(defaults.commit_timeout),
        }
    }
}

/// Opens the application over `data_dir/db`.
pub fn open_app(data_dir: &Path, config: &NodeConfig) -> NodeResult<Arc<App>> {
    let store = Store::open(&data_dir.join("db"), config.sync_writes.unwrap_or(true))?;
    Ok(Arc::new(App::open(store, config.app_config())?))
}

/// A running embedded node.
#[derive(Debug)]
pub struct EmbeddedNode {
    pub chain: Arc<Chain>,
    pub rpc_addr: std::net::SocketAddr,
    /// Set when this start created a development owner key.
    pub created_owner_key: Option<PathBuf>,
}

/// Initializes the chain on first start (genesis from `config`, a development owner key when
/// none is configured) and starts the block producer.
pub fn start_chain(
    data_dir: &Path,
    config: &NodeConfig,
) -> NodeResult<(Arc<Chain>, Option<PathBuf>)> {
    std::fs::create_dir_all(data_dir)
        .map_err(NodeError::io(format!("creating {}", data_dir.display())))?;
    let app = open_app(data_dir, config)?;
    let mut created_owner_key = None;
    match app.genesis() {
        Some(genesis) => {
            if let Some(chain_id) = &config.chain_id
                && *chain_id != genesis.chain_id
            {
                return Err(NodeError::Unauthorized(format!(
                    "{} holds chain {:?}, the configuration asks for {chain_id:?}; use another data directory",
                    data_dir.display(),
                    genesis.chain_id
                )));
            }
        }
        None => {
            let owner = match config.owner {
                Some(owner) => owner,
                None => {
                    let (owner, path) = development_owner(data_dir)?;
                    created_owner_key = Some(path);
                    owner
                }
            };
            let chain_id = config
                .chain_id
                .clone()
                .unwrap_or_else(|| DEFAULT_CHAIN_ID.to_owned());
            app.init_chain(Genesis { chain_id, owner })?;
        }
    }
    let validator = Validator::load_or_create(data_dir)?;
    Ok((
        Chain::start(app, validator, config.chain_config())?,
        created_owner_key,
    ))
}

/// The development owner key of `data_dir`, created on first use.
fn development_owner(data_dir: &Path) -> NodeResult<(Identity, PathBuf)> {
    let path = data_dir.join("owner_key");
    let (key, _) = crate::keyfile::load_or_create_ed25519(&path)?;
    Ok((Identity::Ed25519(key.public_key()), path))
}

/// Starts the embedded chain and serves its RPC on `listener`.
pub async fn start_embedded(
    data_dir: &Path,
    config: &NodeConfig,
    listener: tokio::net::TcpListener,
) -> NodeResult<(EmbeddedNode, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let (chain, created_owner_key) = start_chain(data_dir, config)?;
    let rpc_addr = listener
        .local_addr()
        .map_err(NodeError::io("reading the RPC listener's address"))?;
    let server = tokio::spawn(crate::rpc::serve_with(
        chain.clone(),
        listener,
        config.rpc_limits(),
    ));
    Ok((
        EmbeddedNode {
            chain,
            rpc_addr,
            created_owner_key,
        },
        server,
    ))
}

/// Serves ABCI on `addr` for CometBFT, over `data_dir/db`.
pub async fn serve_abci(
    data_dir: &Path,
    config: &NodeConfig,
    addr: &str,
) -> Result<(), tower_abci::BoxError> {
    let app = open_app(data_dir, config)?;
    tracing::info!(
        height = app.committed().height,
        "ABCI application ready on {addr}"
    );
    AbciApp::new(app).serve(addr.to_owned()).await
}
