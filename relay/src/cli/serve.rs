//! `idos serve`: the whole product on one machine: the embedded node and its RPC, the web apps
//! on the app origin, and the enclave on its own origin on another *site*: by default the app
//! is `http://localhost:<port>` and the enclave `http://127.0.0.1:<port>`, so the browser's Site
//! Isolation runs them in separate processes (two ports of one host would be one site).
//!
//! The app origin also serves the REST API (`/api/v1`), which reaches the node only through its
//! CometBFT RPC: the bundled node's, or with `--node-rpc <url>` an external node's (then no
//! node is started here, and that node must list this relay's gateway key, printed at start, in
//! its `trusted_gateways`). The bundled node trusts the gateway key without configuration.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use node::run::{NodeConfig, start_embedded};

use super::CliError;
use super::dev_wallet::DevWallet;
use crate::access_log::AccessLog;
use crate::api::{ApiState, app};
use crate::auth::{Auth, AuthConfig, SessionKey};
use crate::config::{CONFIG_ENV, NodeTarget, RelayConfig, Settings};
use crate::node_client::NodeClient;
use crate::ops::{self, Ops, RpcStatusProbe};
use crate::store::RelayStore;
use crate::web::site::{SiteConfig, site_router};
use crate::web::{EnclaveWebConfig, enclave_router, origin_host, validate_secure_origin};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML file of the settings below (keys as the flags, with `_` for `-`; unknown keys are
    /// refused). Flags beat `IDOS_*` environment variables, which beat the file.
    #[arg(long, value_name = "FILE", env = CONFIG_ENV)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
}

/// How long one RPC call to the node may take.
const NODE_RPC_TIMEOUT: Duration = Duration::from_secs(15);

async fn bind(addr: &str, what: &str) -> Result<tokio::net::TcpListener, CliError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::Usage(format!("cannot listen on {addr} for the {what}: {e}")))
}

/// Both origins are secure and on different hosts (hence different sites).
fn check_origins(app: &str, enclave: &str) -> Result<(), CliError> {
    for (what, origin) in [("--app-origin", app), ("--enclave-origin", enclave)] {
        validate_secure_origin(origin).map_err(|e| CliError::Usage(format!("{what}: {e}")))?;
    }
    if origin_host(app) == origin_host(enclave) {
        return Err(CliError::Usage(format!(
            "the enclave ({enclave}) must be on another host than the app ({app}): one host is one site, \
             and the browser would not keep them in separate processes"
        )));
    }
    Ok(())
}

pub fn run(args: ServeArgs) -> Result<(), CliError> {
    super::init_logging();
    let cfg = RelayConfig::resolve(
        args.settings,
        |var| std::env::var(var).ok(),
        args.config.as_deref(),
    )
    .map_err(|e| CliError::Usage(e.to_string()))?;
    let enclave_dist = cfg.www.join("enclave/dist");
    if !enclave_dist.join("index.html").exists() {
        return Err(CliError::Usage(format!(
            "the enclave is not built ({} is missing); run `trunk build` from the repository root, or start with ./idos serve",
            enclave_dist.display()
        )));
    }
    std::fs::create_dir_all(&cfg.data_dir)
        .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", cfg.data_dir.display())))?;
    let (gateway, _) = crate::gateway::load_or_create(&cfg.data_dir)?;
    let gateway_public = gateway.public_key();
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::Usage(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let app_listener = bind(&cfg.app_addr, "web apps").await?;
        let enclave_listener = bind(&cfg.enclave_addr, "enclave").await?;
        let local = |l: &tokio::net::TcpListener| {
            l.local_addr().map_err(|e| CliError::Usage(e.to_string()))
        };
        let app_origin = match &cfg.app_origin {
            Some(o) => o.clone(),
            None => format!("http://localhost:{}", local(&app_listener)?.port()),
        };
        let enclave_origin = match &cfg.enclave_origin {
            Some(o) => o.clone(),
            None => format!("http://{}", local(&enclave_listener)?),
        };
        check_origins(&app_origin, &enclave_origin)?;
        let mut parents = vec![app_origin.clone()];
        parents.extend(cfg.allow_origins.iter().cloned());
        let framers = parents.join(", ");
        let enclave = EnclaveWebConfig::new(enclave_dist, parents)
            .map_err(|e| CliError::Usage(e.to_string()))?;

        // The node: the bundled one (trusting this relay's gateway key), or an external one.
        let (bundled, node_url) = match &cfg.node {
            NodeTarget::Bundled { rpc_addr, config } => {
                let mut node_config = match config {
                    Some(path) => NodeConfig::load(path)?,
                    None => NodeConfig::default(),
                };
                if !node_config.trusted_gateways.contains(&gateway_public) {
                    node_config.trusted_gateways.push(gateway_public);
                }
                let rpc = bind(rpc_addr, "node RPC").await?;
                let (running, rpc_server) =
                    start_embedded(&cfg.data_dir.join("node"), &node_config, rpc).await?;
                let url = format!("http://{}", running.rpc_addr);
                (Some((running, rpc_server)), url)
            }
            NodeTarget::External { url } => (None, url.clone()),
        };
        let node = NodeClient::connect(&node_url, gateway, NODE_RPC_TIMEOUT)
            .await
            .map_err(|e| CliError::Usage(format!("node at {node_url}: {e}")))?;
        // Sign-in and the access log share the relay's own store (`<data dir>/relay`).
        let store = RelayStore::open(&cfg.data_dir).map_err(|e| CliError::Usage(e.to_string()))?;
        let session_key =
            SessionKey::load(&cfg.data_dir).map_err(|e| CliError::Usage(e.to_string()))?;
        let mut auth_config = AuthConfig::new(app_origin.clone());
        auth_config.dapp_origins = cfg.allow_origins.clone();
        auth_config.network = node.chain_id().to_owned();
        auth_config.session_ttl = cfg.session_ttl;
        auth_config.chain_ids = cfg.siwe_chain_ids.clone();
        let auth = Auth::new(auth_config, session_key, store.clone())
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let _pruner = auth.spawn_pruner(Duration::from_secs(60));
        let access_log = AccessLog::new(store);
        // Operations: /livez, /readyz (the node's RPC answers), /metrics, and the layers.
        let ops_config = cfg.ops.clone();
        let probe = RpcStatusProbe::new(&node_url, ops_config.readiness_timeout)
            .map_err(CliError::Usage)?;
        let ops = Ops::new(ops_config, std::sync::Arc::new(probe))
            .map_err(|e| CliError::Usage(e.to_string()))?;
        auth.observe(ops.metrics());
        let api = app(
            ApiState::new(node.clone(), cfg.commit_wait, auth, access_log)
                .with_identity_limiter(ops.identity_limiter()),
        );
        // The development wallet: on by default for a loopback app origin (local development).
        let dev_wallet_on = cfg
            .dev_wallet
            .unwrap_or_else(|| crate::web::is_loopback_host(origin_host(&app_origin)));
        let dev_wallet = if dev_wallet_on {
            let chain_id = cfg.siwe_chain_ids.first().copied().unwrap_or(1);
            let wallet = DevWallet::open(&cfg.data_dir, chain_id)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let mut origins = vec![app_origin.clone()];
            origins.extend(cfg.allow_origins.iter().cloned());
            tracing::warn!(
                account = %wallet.current(),
                "the development wallet is ON: test keys in {} sign for any page of {}; \
                 never use it with real funds (turn it off with --dev-wallet false)",
                cfg.data_dir.join("dev_wallet").display(),
                origins.join(", ")
            );
            Some((wallet.current(), wallet.router(&cfg.www, origins)))
        } else {
            None
        };
        let site = site_router(
            SiteConfig {
                dir: cfg.www.clone(),
                enclave_origin: enclave_origin.clone(),
                dev_wallet: dev_wallet.as_ref().map(|(_, routes)| routes.clone()),
            },
            node.clone(),
            api,
        );
        let site = ops.wrap(site.merge(ops.router()));
        let _node_watch = ops.spawn_node_watch(std::time::Duration::from_secs(5));
        let (stop_app, app_stopping) = tokio::sync::oneshot::channel::<()>();
        let stopping = async move {
            let _ = app_stopping.await;
        };
        let mut app_server = tokio::spawn(ops::serve(
            app_listener,
            site,
            stopping,
            ops.config().shutdown_grace,
        ));
        let enclave_server =
            tokio::spawn(
                async move { axum::serve(enclave_listener, enclave_router(enclave)).await },
            );

        eprintln!("idos serve: ready");
        eprintln!("  web apps     {app_origin}/");
        eprintln!(
            "  API          {app_origin}/api/v1/  (document: {app_origin}/api/v1/openapi.json)"
        );
        eprintln!(
            "  enclave      {enclave_origin}/  (may be framed by {})",
            framers
        );
        eprintln!(
            "  node RPC     {node_url}/status  (chain {}{})",
            node.chain_id(),
            if bundled.is_some() {
                ", bundled"
            } else {
                ", external"
            }
        );
        eprintln!("  gateway key  {gateway_public}  (a node must list it in trusted_gateways)");
        eprintln!("  data         {}", cfg.data_dir.display());
        if let Some((account, _)) = &dev_wallet {
            eprintln!(
                "  DEVELOPMENT WALLET ON: account {account} (test keys in {}; never use with real funds)",
                cfg.data_dir.join("dev_wallet").display()
            );
        }
        let (chain, rpc_server) = match bundled {
            Some((running, rpc_server)) => {
                if let Some(path) = &running.created_owner_key {
                    eprintln!(
                        "  created a development network-owner key in {} (keep it secret)",
                        path.display()
                    );
                }
                (Some(running.chain), Some(rpc_server))
            }
            None => (None, None),
        };
        eprintln!("Press Ctrl-C to stop.");
        let chain_failed = async {
            match &chain {
                Some(chain) => chain.failed().await,
                None => std::future::pending().await,
            }
        };
        let rpc_stopped = async {
            match rpc_server {
                Some(server) => server.await,
                None => std::future::pending().await,
            }
        };
        let stopped = tokio::select! {
            r = rpc_stopped => format!("node RPC stopped: {r:?}"),
            r = &mut app_server => format!("web server stopped: {r:?}"),
            r = enclave_server => format!("enclave server stopped: {r:?}"),
            reason = chain_failed => format!("the node stopped: {reason}"),
            _ = super::node::shutdown_signal() => String::new(),
        };
        if stopped.is_empty() {
            // Requests in flight finish (within the grace period) before the node stops.
            let _ = stop_app.send(());
            let _ = app_server.await;
        }
        if let Some(chain) = &chain {
            chain.stop();
        }
        if stopped.is_empty() {
            Ok(())
        } else {
            Err(CliError::Usage(stopped))
        }
    })
}
