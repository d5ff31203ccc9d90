//! `idos node`: runs the storage node, embedded (its own single-validator chain and a
//! CometBFT-compatible RPC) or, with `--abci`, as the ABCI application of CometBFT validators.

use std::path::PathBuf;

use clap::Args;
use node::run::{NodeConfig, serve_abci, start_embedded};

use super::CliError;

#[derive(Debug, Args)]
pub struct NodeArgs {
    /// Where the node keeps its database and keys.
    #[arg(long, value_name = "DIR", default_value = "data/node")]
    pub data_dir: PathBuf,
    /// Address of the CometBFT-compatible JSON-RPC (embedded mode).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:26657")]
    pub rpc_addr: String,
    /// TOML configuration: chain_id, owner, trusted_gateways, sync_writes, max_block_txs,
    /// max_mempool_txs (all optional).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Serve ABCI 0.38 on this address for a CometBFT validator instead of running the
    /// embedded chain (e.g. 127.0.0.1:26658).
    #[arg(long, value_name = "HOST:PORT")]
    pub abci: Option<String>,
}

pub fn run(args: NodeArgs) -> Result<(), CliError> {
    super::init_logging();
    let config = match &args.config {
        Some(path) => NodeConfig::load(path)?,
        None => NodeConfig::default(),
    };
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::Usage(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        if let Some(addr) = &args.abci {
            eprintln!(
                "idos node: serving ABCI on {addr} for CometBFT (data in {})",
                args.data_dir.display()
            );
            return serve_abci(&args.data_dir, &config, addr)
                .await
                .map_err(|e| CliError::Usage(e.to_string()));
        }
        let listener = tokio::net::TcpListener::bind(&args.rpc_addr)
            .await
            .map_err(|e| CliError::Usage(format!("cannot listen on {}: {e}", args.rpc_addr)))?;
        let (running, server) = start_embedded(&args.data_dir, &config, listener).await?;
        let app = running.chain.app();
        let genesis = app
            .genesis()
            .expect("the embedded chain starts with a genesis");
        eprintln!(
            "idos node: chain {} at height {}, RPC on http://{} (data in {})",
            genesis.chain_id,
            app.committed().height,
            running.rpc_addr,
            args.data_dir.display()
        );
        eprintln!("idos node: network owner {}", genesis.owner.identifier());
        if let Some(path) = &running.created_owner_key {
            eprintln!(
                "idos node: created a development owner key in {} (keep it secret)",
                path.display()
            );
        }
        tokio::select! {
            result = server => {
                running.chain.stop();
                match result.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string())) {
                    Ok(()) => Ok(()),
                    Err(e) => Err(CliError::Usage(format!("RPC server failed: {e}"))),
                }
            }
            reason = running.chain.failed() => {
                running.chain.stop();
                Err(CliError::Usage(format!("the node stopped: {reason}")))
            }
            _ = shutdown_signal() => {
                eprintln!("idos node: stopping after the current block");
                running.chain.stop();
                Ok(())
            }
        }
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
