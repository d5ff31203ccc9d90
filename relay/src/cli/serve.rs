//! `idos serve`: the whole product on one machine: the embedded node and its RPC, the web apps
//! on the app origin, and the enclave on its own origin on another *site*: by default the app
//! is `http://localhost:<port>` and the enclave `http://127.0.0.1:<port>`, so the browser's Site
//! Isolation runs them in separate processes (two ports of one host would be one site).

use std::path::PathBuf;

use clap::Args;
use node::run::{NodeConfig, start_embedded};

use super::CliError;
use crate::ops::{self, Ops, OpsConfig, RpcStatusProbe};
use crate::web::site::{SiteConfig, site_router};
use crate::web::{EnclaveWebConfig, enclave_router, origin_host, validate_secure_origin};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where the node keeps its data.
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// The web apps (landing page, host SDK) and the built enclave (`enclave/dist`).
    #[arg(long, value_name = "DIR", default_value = "www")]
    pub www: PathBuf,
    /// Address the app origin listens on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    pub app_addr: String,
    /// Address the enclave origin listens on (must differ from the app's).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8081")]
    pub enclave_addr: String,
    /// The app's origin as browsers reach it (default http://localhost:<app port>).
    #[arg(long, value_name = "ORIGIN")]
    pub app_origin: Option<String>,
    /// The enclave's origin as browsers reach it (default http://<enclave address>); it must be
    /// on another host than the app's.
    #[arg(long, value_name = "ORIGIN")]
    pub enclave_origin: Option<String>,
    /// Address of the node's CometBFT-compatible RPC.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:26657")]
    pub rpc_addr: String,
    /// More origins (dapps) allowed to embed the enclave, e.g. https://dapp.example.com
    /// (https:// only, except on loopback).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// The node's TOML configuration (see `idos node --help`).
    #[arg(long, value_name = "FILE")]
    pub node_config: Option<PathBuf>,
}

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
    let enclave_dist = args.www.join("enclave/dist");
    if !enclave_dist.join("index.html").exists() {
        return Err(CliError::Usage(format!(
            "the enclave is not built ({} is missing); run `trunk build` from the repository root, or start with ./idos serve",
            enclave_dist.display()
        )));
    }
    let node_config = match &args.node_config {
        Some(path) => NodeConfig::load(path)?,
        None => NodeConfig::default(),
    };
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::Usage(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let rpc = bind(&args.rpc_addr, "node RPC").await?;
        let app_listener = bind(&args.app_addr, "web apps").await?;
        let enclave_listener = bind(&args.enclave_addr, "enclave").await?;
        let local = |l: &tokio::net::TcpListener| {
            l.local_addr().map_err(|e| CliError::Usage(e.to_string()))
        };
        let app_origin = match &args.app_origin {
            Some(o) => o.clone(),
            None => format!("http://localhost:{}", local(&app_listener)?.port()),
        };
        let enclave_origin = match &args.enclave_origin {
            Some(o) => o.clone(),
            None => format!("http://{}", local(&enclave_listener)?),
        };
        check_origins(&app_origin, &enclave_origin)?;
        let mut parents = vec![app_origin.clone()];
        parents.extend(args.allow_origins.iter().cloned());
        let framers = parents.join(", ");
        let enclave = EnclaveWebConfig::new(enclave_dist, parents)
            .map_err(|e| CliError::Usage(e.to_string()))?;

        let (running, rpc_server) =
            start_embedded(&args.data_dir.join("node"), &node_config, rpc).await?;
        let site = site_router(
            SiteConfig {
                dir: args.www.clone(),
                enclave_origin: enclave_origin.clone(),
            },
            running.chain.clone(),
        );
        // Operations: /livez, /readyz (the node's RPC answers), /metrics, and the layers.
        let ops_config = OpsConfig::default();
        let probe = RpcStatusProbe::new(
            &format!("http://{}", running.rpc_addr),
            ops_config.readiness_timeout,
        )
        .map_err(CliError::Usage)?;
        let ops = Ops::new(ops_config, std::sync::Arc::new(probe))
            .map_err(|e| CliError::Usage(e.to_string()))?;
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

        let genesis = running
            .chain
            .app()
            .genesis()
            .expect("the embedded chain starts with a genesis");
        eprintln!("idos serve: ready");
        eprintln!("  web apps     {app_origin}/");
        eprintln!(
            "  enclave      {enclave_origin}/  (may be framed by {})",
            framers
        );
        eprintln!(
            "  node RPC     http://{}/status  (chain {}, height {})",
            running.rpc_addr,
            genesis.chain_id,
            running.chain.app().committed().height
        );
        eprintln!("  data         {}", args.data_dir.display());
        if let Some(path) = &running.created_owner_key {
            eprintln!(
                "  created a development network-owner key in {} (keep it secret)",
                path.display()
            );
        }
        eprintln!("Press Ctrl-C to stop.");
        let stopped = tokio::select! {
            r = rpc_server => format!("node RPC stopped: {r:?}"),
            r = &mut app_server => format!("web server stopped: {r:?}"),
            r = enclave_server => format!("enclave server stopped: {r:?}"),
            reason = running.chain.failed() => format!("the node stopped: {reason}"),
            _ = super::node::shutdown_signal() => String::new(),
        };
        if stopped.is_empty() {
            // Requests in flight finish (within the grace period) before the node stops.
            let _ = stop_app.send(());
            let _ = app_server.await;
        }
        running.chain.stop();
        if stopped.is_empty() {
            Ok(())
        } else {
            Err(CliError::Usage(stopped))
        }
    })
}
