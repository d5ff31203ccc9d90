//! `idos serve`: the whole product on one machine: the embedded node and its RPC, the web apps
//! on the app origin, and the enclave on its own origin on another *site*: by default the app
//! is `http://localhost:<port>` and the enclave `http://127.0.0.1:<port>`, so the browser's Site
//! Isolation runs them in separate processes (two ports of one host would be one site).
//!
//! A third origin, on another loopback host by default (`http://127.0.0.2:8082`), serves the demo
//! dapp (`idos_demo::dapp`); the app origin also serves the demo issuer's back end
//! (`idos_demo::issuer`, page `www/issuer/`). Both are clients of this relay over HTTP, with keys
//! of their own in `<data dir>/demo/`. The dapp origin may frame the enclave, sign users in, and
//! call the API cross-origin (CORS for exactly the dapp origins: `crate::api::cors`).
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
use crate::api::cors::cors;
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

/// Every origin is secure, and the app, the enclave and the demo dapp (if any) are on three
/// different hosts (hence different sites).
fn check_origins(app: &str, enclave: &str, dapp: Option<&str>) -> Result<(), CliError> {
    for (what, origin) in [("--app-origin", app), ("--enclave-origin", enclave)]
        .into_iter()
        .chain(dapp.map(|d| ("--dapp-origin", d)))
    {
        validate_secure_origin(origin).map_err(|e| CliError::Usage(format!("{what}: {e}")))?;
    }
    if origin_host(app) == origin_host(enclave) {
        return Err(CliError::Usage(format!(
            "the enclave ({enclave}) must be on another host than the app ({app}): one host is one site, \
             and the browser would not keep them in separate processes"
        )));
    }
    if let Some(dapp) = dapp
        && (origin_host(dapp) == origin_host(app) || origin_host(dapp) == origin_host(enclave))
    {
        return Err(CliError::Usage(format!(
            "the demo dapp ({dapp}) must be on another host than the app ({app}) and the enclave \
             ({enclave}): a dapp is another site (choose another loopback address, e.g. --dapp-addr 127.0.0.2:8082)"
        )));
    }
    Ok(())
}

/// An address a local client can connect to for `addr` (a wildcard listen address means this
/// machine's loopback).
fn reachable(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, addr.port()))
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
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
        let dapp_listener = match &cfg.dapp_addr {
            Some(addr) => Some(bind(addr, "demo dapp").await?),
            None => None,
        };
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
        let dapp_origin = match (&dapp_listener, &cfg.dapp_origin) {
            (None, _) => None,
            (Some(_), Some(o)) => Some(o.clone()),
            (Some(l), None) => Some(format!("http://{}", local(l)?)),
        };
        check_origins(&app_origin, &enclave_origin, dapp_origin.as_deref())?;
        // The dapps: the demo dapp, and every --allow-origin. They may frame the enclave, sign
        // users in, and call the API cross-origin.
        let mut dapp_origins: Vec<String> = dapp_origin.iter().cloned().collect();
        dapp_origins.extend(cfg.allow_origins.iter().cloned());
        let mut parents = vec![app_origin.clone()];
        parents.extend(dapp_origins.iter().cloned());
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
        auth_config.dapp_origins = dapp_origins.clone();
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
        )
        .layer(cors(&dapp_origins));
        // The demo issuer and dapp reach the relay as any client would: over HTTP.
        let relay_base = format!("http://{}", reachable(local(&app_listener)?));
        let demo_relay = idos_demo::RelayTarget::new(&relay_base, app_origin.clone())
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let owner_key_file = match &cfg.node {
            NodeTarget::Bundled { .. } => Some(cfg.data_dir.join("node").join("owner_key")),
            NodeTarget::External { .. } => None,
        };
        let issuer = demo_issuer(&cfg.data_dir, demo_relay.clone(), owner_key_file)?;
        // The development wallet: on by default for a loopback app origin (local development).
        let dev_wallet_on = cfg
            .dev_wallet
            .unwrap_or_else(|| crate::web::is_loopback_host(origin_host(&app_origin)));
        let dev_wallet = if dev_wallet_on {
            let chain_id = cfg.siwe_chain_ids.first().copied().unwrap_or(1);
            let wallet = DevWallet::open(&cfg.data_dir, chain_id)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let mut origins = vec![app_origin.clone()];
            origins.extend(dapp_origins.iter().cloned());
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
        let site = ops.wrap(
            site.merge(idos_demo::issuer::router(issuer.clone()))
                .merge(ops.router()),
        );
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
        let (stop_dapp, dapp_stopping) = tokio::sync::oneshot::channel::<()>();
        let mut dapp_server = match (dapp_listener, &dapp_origin) {
            (Some(listener), Some(_)) => {
                let dapp = idos_demo::dapp::router(demo_dapp(
                    &cfg.data_dir,
                    &cfg.www,
                    demo_relay,
                    &enclave_origin,
                    &issuer,
                    cfg.siwe_chain_ids.first().copied().unwrap_or(1),
                    dev_wallet.is_some(),
                )?)
                // The development wallet, with the same account as on the app origin.
                .merge(crate::web::site::dev_wallet_routes(
                    dev_wallet.as_ref().map(|(_, routes)| routes.clone()),
                ));
                let dapp = ops.wrap(dapp);
                let stopping = async move {
                    let _ = dapp_stopping.await;
                };
                Some(tokio::spawn(ops::serve(
                    listener,
                    dapp,
                    stopping,
                    ops.config().shutdown_grace,
                )))
            }
            _ => None,
        };
        // The demo issuer registers itself (the app origin now answers).
        let registering = issuer.clone();
        tokio::spawn(async move {
            registering.ensure_registered().await;
        });

        eprintln!("idos serve: ready");
        eprintln!("  web apps     {app_origin}/");
        eprintln!(
            "  API          {app_origin}/api/v1/  (document: {app_origin}/api/v1/openapi.json)"
        );
        eprintln!(
            "  enclave      {enclave_origin}/  (may be framed by {})",
            framers
        );
        match &dapp_origin {
            Some(dapp) => eprintln!("  demo dapp    {dapp}/  (demo issuer: {app_origin}/issuer/)"),
            None => eprintln!("  demo dapp    off  (demo issuer: {app_origin}/issuer/)"),
        }
        eprintln!(
            "  node RPC     {node_url}/status  (chain {}{})",
            node.chain_id(),
            if bundled.is_some() {
                ", bundled"
            } else {
                ", external"
            }
        );
        if let Some((running, _)) = &bundled {
            let validator = running.chain.validator();
            eprintln!(
                "  trust root   {}@{}  (pin it in clients that verify reads: --trust)",
                node.chain_id(),
                hex::encode(validator.public_key.to_bytes())
            );
        }
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
            r = async {
                match &mut dapp_server {
                    Some(server) => server.await,
                    None => std::future::pending().await,
                }
            } => format!("demo dapp server stopped: {r:?}"),
            reason = chain_failed => format!("the node stopped: {reason}"),
            _ = super::node::shutdown_signal() => String::new(),
        };
        if stopped.is_empty() {
            // Requests in flight finish (within the grace period) before the node stops.
            let _ = stop_app.send(());
            let _ = stop_dapp.send(());
            let _ = app_server.await;
            if let Some(server) = dapp_server {
                let _ = server.await;
            }
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

/// The demo issuer, its keys in `<data dir>/demo/`.
fn demo_issuer(
    data_dir: &std::path::Path,
    relay: idos_demo::RelayTarget,
    owner_key_file: Option<PathBuf>,
) -> Result<idos_demo::issuer::Issuer, CliError> {
    use idos_demo::keys::{box_key, ed25519_key};
    let usage = |e: idos_demo::DemoError| CliError::Usage(e.message);
    Ok(idos_demo::issuer::Issuer::new(
        idos_demo::issuer::IssuerConfig {
            relay,
            key: ed25519_key(data_dir, "issuer_key").map_err(usage)?,
            box_key: std::sync::Arc::new(box_key(data_dir, "issuer_box_key").map_err(usage)?),
            name: DEMO_ISSUER_NAME.to_owned(),
            level: "basic".to_owned(),
            owner_key_file,
        },
    ))
}

/// The demo issuer's name (its inserter's name).
const DEMO_ISSUER_NAME: &str = "idOS-rs demo issuer";

/// The demo dapp, its keys in `<data dir>/demo/`, accepting the demo issuer's credentials.
fn demo_dapp(
    data_dir: &std::path::Path,
    www: &std::path::Path,
    relay: idos_demo::RelayTarget,
    enclave_origin: &str,
    issuer: &idos_demo::issuer::Issuer,
    siwe_chain_id: u64,
    dev_wallet: bool,
) -> Result<idos_demo::dapp::DappConfig, CliError> {
    use idos_demo::keys::{box_key, ed25519_key};
    let usage = |e: idos_demo::DemoError| CliError::Usage(e.message);
    Ok(idos_demo::dapp::DappConfig {
        relay,
        enclave_origin: enclave_origin.to_owned(),
        key: ed25519_key(data_dir, "dapp_key").map_err(usage)?,
        box_key: std::sync::Arc::new(box_key(data_dir, "dapp_box_key").map_err(usage)?),
        name: "Demo Exchange".to_owned(),
        required_level: "basic".to_owned(),
        trusted_issuers: vec![(issuer.public_key(), DEMO_ISSUER_NAME.to_owned())],
        www: www.to_path_buf(),
        siwe_chain_id,
        dev_wallet,
    })
}
