//! The embedded chain's JSON-RPC 2.0 server: the CometBFT RPC methods the relay uses
//! (`status`, `health`, `abci_info`, `abci_query`, `broadcast_tx_sync`, `broadcast_tx_commit`,
//! `tx`, `block`), in CometBFT 0.38's JSON forms, so `tendermint_rpc::HttpClient` (CompatMode
//! V0_38) talks to it as to a CometBFT node.
//!
//! Requests are `POST /` JSON-RPC bodies (as the client sends them); `GET /<method>` works for
//! the methods without parameters.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tendermint::abci::Code;
use tendermint::{Hash, block};
use tendermint_rpc::endpoint::{abci_info, abci_query, block as block_ep, broadcast, status, tx};

use crate::abci::{check_tx_response, info_response, query_response};
use crate::chain::Chain;
use crate::error::{CODESPACE, NodeError};

/// How long `broadcast_tx_commit` waits for the block.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
struct RpcState {
    chain: Arc<Chain>,
    listen_addr: String,
}

/// The RPC routes. `listen_addr` is what `status` reports.
pub fn router(chain: Arc<Chain>, listen_addr: String) -> Router {
    Router::new()
        .route("/", post(json_rpc))
        .route("/{method}", get(uri_method))
        .layer(DefaultBodyLimit::max(4 * 1024 * 1024))
        .with_state(RpcState { chain, listen_addr })
}

#[derive(Deserialize)]
struct RpcRequest {
    #[serde(default)]
    id: Value,
    method: String,
    #[serde(default)]
    params: Value,
}

/// A JSON-RPC error: code, message and CometBFT-style `data`.
struct RpcError {
    code: i64,
    message: &'static str,
    data: String,
}

impl RpcError {
    fn invalid_params(data: impl ToString) -> Self {
        RpcError {
            code: -32602,
            message: "Invalid params",
            data: data.to_string(),
        }
    }
    fn internal(data: impl ToString) -> Self {
        RpcError {
            code: -32603,
            message: "Internal error",
            data: data.to_string(),
        }
    }
}

impl From<NodeError> for RpcError {
    fn from(e: NodeError) -> Self {
        RpcError::internal(format!("{}: {e}", e.code()))
    }
}

async fn json_rpc(State(state): State<RpcState>, body: axum::body::Bytes) -> Json<Value> {
    let request: RpcRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return Json(
                json!({"jsonrpc": "2.0", "id": -1, "error": {"code": -32700, "message": "Parse error", "data": e.to_string()}}),
            );
        }
    };
    Json(reply(
        request.id,
        dispatch(&state, &request.method, request.params).await,
    ))
}

async fn uri_method(State(state): State<RpcState>, Path(method): Path<String>) -> Json<Value> {
    Json(reply(
        json!(-1),
        dispatch(&state, &method, Value::Null).await,
    ))
}

fn reply(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(e) => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code, "message": e.message, "data": e.data}})
        }
    }
}

fn params<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, RpcError> {
    let params = if params.is_null() { json!({}) } else { params };
    serde_json::from_value(params).map_err(RpcError::invalid_params)
}

fn to_json(value: impl serde::Serialize) -> Result<Value, RpcError> {
    serde_json::to_value(value).map_err(RpcError::internal)
}

async fn dispatch(state: &RpcState, method: &str, raw: Value) -> Result<Value, RpcError> {
    let chain = state.chain.clone();
    match method {
        "health" => Ok(json!({})),
        "status" => to_json(status(state)?),
        "abci_info" => to_json(abci_info::Response {
            response: info_response(chain.app()),
        }),
        "abci_query" => {
            let request: abci_query::Request = params(raw)?;
            let query = tendermint::abci::request::Query {
                data: request.data.into(),
                path: request.path.unwrap_or_default(),
                height: request.height.unwrap_or(block::Height::from(0u32)),
                prove: request.prove,
            };
            let answer = tokio::task::spawn_blocking(move || query_response(chain.app(), &query))
                .await
                .map_err(RpcError::internal)?;
            to_json(abci_query::Response {
                response: abci_query::AbciQuery {
                    code: answer.code,
                    log: answer.log,
                    info: answer.info,
                    index: answer.index,
                    key: answer.key.to_vec(),
                    value: answer.value.to_vec(),
                    proof: None,
                    height: answer.height,
                    codespace: answer.codespace,
                },
            })
        }
        "broadcast_tx_sync" | "broadcast_tx_async" => {
            let request: broadcast::tx_sync::Request = params(raw)?;
            let hash = hash_of(&request.tx);
            let result = tokio::task::spawn_blocking(move || chain.submit(request.tx))
                .await
                .map_err(RpcError::internal)?;
            let (code, log, codespace) = match result {
                Ok(_) => (Code::Ok, String::new(), String::new()),
                Err(e) => (
                    Code::from(e.abci_code()),
                    format!("{}: {e}", e.code()),
                    CODESPACE.to_owned(),
                ),
            };
            to_json(broadcast::tx_sync::Response {
                codespace,
                code,
                data: Default::default(),
                log,
                hash,
            })
        }
        "broadcast_tx_commit" => {
            let request: broadcast::tx_commit::Request = params(raw)?;
            let hash = hash_of(&request.tx);
            let submitted = tokio::task::spawn_blocking(move || chain.submit_and_watch(request.tx))
                .await
                .map_err(RpcError::internal)?;
            let receiver = match submitted {
                Ok((_, receiver)) => receiver,
                Err(e) => {
                    return to_json(broadcast::tx_commit::Response {
                        check_tx: check_tx_response(&Err(e)),
                        tx_result: Default::default(),
                        hash,
                        height: Default::default(),
                    });
                }
            };
            let committed = tokio::time::timeout(COMMIT_TIMEOUT, receiver)
                .await
                .map_err(|_| {
                    RpcError::internal("timed out waiting for the transaction to be committed")
                })?
                .map_err(|_| {
                    RpcError::internal(
                        "the transaction was dropped from the mempool before a block",
                    )
                })?;
            to_json(broadcast::tx_commit::Response {
                check_tx: Default::default(),
                tx_result: committed.result,
                hash,
                height: block::Height::try_from(committed.height).map_err(RpcError::internal)?,
            })
        }
        "tx" => {
            let request: tx::Request = params(raw)?;
            let location = chain
                .locate(request.hash.as_bytes())?
                .ok_or_else(|| RpcError::internal(format!("tx ({}) not found", request.hash)))?;
            let stored = chain.block(location.height)?.ok_or_else(|| {
                RpcError::internal(format!("block {} not found", location.height))
            })?;
            let index = location.index as usize;
            to_json(tx::Response {
                hash: request.hash,
                height: block::Height::try_from(location.height).map_err(RpcError::internal)?,
                index: location.index,
                tx_result: stored
                    .results
                    .get(index)
                    .map(|r| r.to_exec())
                    .unwrap_or_default(),
                tx: stored.txs.get(index).cloned().unwrap_or_default(),
                proof: None,
            })
        }
        "block" => {
            #[derive(Deserialize)]
            struct BlockParams {
                height: Option<block::Height>,
            }
            let request: BlockParams = params(raw)?;
            let latest = chain.app().committed().height;
            let height = request.height.map(|h| h.value()).unwrap_or(latest);
            let stored = chain.block(height)?.ok_or_else(|| {
                RpcError::internal(format!("height {height} must be less than or equal to the current blockchain height {latest}"))
            })?;
            let header = chain.header(&stored);
            let block_id = block::Id {
                hash: header.hash(),
                part_set_header: Default::default(),
            };
            to_json(block_ep::v0_38::DialectResponse {
                block_id,
                block: block_ep::v0_38::DialectBlock {
                    header,
                    data: stored.txs,
                    evidence: Default::default(),
                    last_commit: None,
                },
            })
        }
        other => Err(RpcError {
            code: -32601,
            message: "Method not found",
            data: format!("unknown method {other:?}"),
        }),
    }
}

fn hash_of(tx: &[u8]) -> Hash {
    Hash::Sha256(*protocol::tx::tx_hash(tx).as_bytes())
}

fn status(state: &RpcState) -> Result<status::Response, RpcError> {
    let chain = &state.chain;
    let genesis = chain
        .app()
        .genesis()
        .ok_or_else(|| RpcError::internal("no genesis"))?;
    let validator = chain.validator();
    let node_info = serde_json::from_value(json!({
        "protocol_version": {"p2p": "8", "block": "11", "app": "1"},
        "id": hex::encode(validator.address.as_bytes()),
        "listen_addr": format!("tcp://{}", state.listen_addr),
        "network": genesis.chain_id,
        "version": "0.38.17",
        "channels": "",
        "moniker": "idos-embedded",
        "other": {"tx_index": "on", "rpc_address": format!("tcp://{}", state.listen_addr)},
    }))
    .map_err(RpcError::internal)?;
    let committed = chain.app().committed();
    let (earliest, latest) = match committed.height {
        0 => (None, None),
        h => (chain.block(1)?, chain.block(h)?),
    };
    let describe = |b: &Option<crate::chain::StoredBlock>| match b {
        Some(b) => {
            let header = chain.header(b);
            (
                header.hash(),
                b.app_hash_after.clone().try_into().unwrap_or_default(),
                header.height,
                header.time,
            )
        }
        None => (
            Hash::None,
            Default::default(),
            block::Height::from(0u32),
            tendermint::Time::unix_epoch(),
        ),
    };
    let (earliest_block_hash, earliest_app_hash, earliest_block_height, earliest_block_time) =
        describe(&earliest);
    let (latest_block_hash, latest_app_hash, latest_block_height, latest_block_time) =
        describe(&latest);
    Ok(status::Response {
        node_info,
        sync_info: status::SyncInfo {
            earliest_block_hash,
            earliest_app_hash,
            earliest_block_height,
            earliest_block_time,
            latest_block_hash,
            latest_app_hash,
            latest_block_height,
            latest_block_time,
            catching_up: false,
        },
        validator_info: validator.info.clone(),
    })
}

/// Serves the RPC on `listener` until the process ends.
pub async fn serve(chain: Arc<Chain>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let addr = listener.local_addr()?.to_string();
    axum::serve(listener, router(chain, addr)).await
}
