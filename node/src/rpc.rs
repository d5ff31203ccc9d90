//! The embedded chain's JSON-RPC 2.0 server: the CometBFT RPC methods the relay uses
//! (`status`, `health`, `abci_info`, `abci_query`, `broadcast_tx_sync`, `broadcast_tx_commit`,
//! `tx`, `block`) and what a light client needs (`commit`, `validators`), in CometBFT 0.38's
//! JSON forms, so `tendermint_rpc::HttpClient` (CompatMode
//! V0_38) talks to it as to a CometBFT node.
//!
//! Requests are `POST /` JSON-RPC bodies (as the client sends them) or, as CometBFT serves
//! them too, `GET /<method>?<params>` with CometBFT's URI forms: `height=5`, `hash=0x…`,
//! `tx=0x…`, `data=0x…`, `path="/idos"`, `prove=false` (a quoted string is taken as is, `0x`
//! is hex).
//!
//! Limits: at most [`RpcLimits::max_concurrent`] requests are served at once (more get HTTP
//! 503 with a JSON-RPC error to retry), each may take [`RpcLimits::timeout`] (then a JSON-RPC
//! error), and `broadcast_tx_async` returns before CheckTx, its checks bounded by the same
//! number of permits. A full mempool, an oversized transaction or a node shutting down is a
//! JSON-RPC error, as CometBFT answers them, not a refusal of the transaction.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query as UriQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use tendermint::abci::Code;
use tendermint::{Hash, block};
use tendermint_rpc::endpoint::{
    abci_info, abci_query, block as block_ep, broadcast, commit, status, tx, validators,
};

use crate::abci::{check_tx_response, info_response, query_response};
use crate::chain::Chain;
use crate::error::{CODESPACE, NodeError};

/// The RPC server's limits.
#[derive(Debug, Clone)]
pub struct RpcLimits {
    /// Requests served at once; also the most `broadcast_tx_async` checks running in the
    /// background.
    pub max_concurrent: usize,
    /// How long any request may take, `broadcast_tx_commit` included (keep it above
    /// `commit_timeout`).
    pub timeout: Duration,
    /// How long `broadcast_tx_commit` waits for its block before answering that it timed out.
    pub commit_timeout: Duration,
}

impl Default for RpcLimits {
    fn default() -> Self {
        RpcLimits {
            max_concurrent: 256,
            timeout: Duration::from_secs(40),
            commit_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
struct RpcState {
    chain: Arc<Chain>,
    listen_addr: String,
    limits: RpcLimits,
    /// Permits for requests being served.
    requests: Arc<tokio::sync::Semaphore>,
    /// Permits for `broadcast_tx_async` checks running after their answer.
    background: Arc<tokio::sync::Semaphore>,
}

/// The RPC routes with the default limits. `listen_addr` is what `status` reports.
pub fn router(chain: Arc<Chain>, listen_addr: String) -> Router {
    router_with(chain, listen_addr, RpcLimits::default())
}

/// The RPC routes with `limits`.
pub fn router_with(chain: Arc<Chain>, listen_addr: String, limits: RpcLimits) -> Router {
    let max = limits.max_concurrent.max(1);
    Router::new()
        .route("/", post(json_rpc))
        .route("/{method}", get(uri_method))
        .layer(DefaultBodyLimit::max(4 * 1024 * 1024))
        .with_state(RpcState {
            chain,
            listen_addr,
            limits,
            requests: Arc::new(tokio::sync::Semaphore::new(max)),
            background: Arc::new(tokio::sync::Semaphore::new(max)),
        })
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

/// Whether a broadcast error is one CometBFT gives before CheckTx, as a JSON-RPC error (the
/// client retries or fixes the size), rather than as a CheckTx refusal.
fn is_mempool_error(e: &NodeError) -> bool {
    matches!(
        e,
        NodeError::MempoolFull { .. }
            | NodeError::Unavailable(_)
            | NodeError::Invalid(protocol::Error::TooLarge { .. })
    )
}

async fn json_rpc(State(state): State<RpcState>, body: axum::body::Bytes) -> Response {
    let request: RpcRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return Json(
                json!({"jsonrpc": "2.0", "id": -1, "error": {"code": -32700, "message": "Parse error", "data": e.to_string()}}),
            )
            .into_response();
        }
    };
    serve_limited(&state, request.id, &request.method, request.params).await
}

async fn uri_method(
    State(state): State<RpcState>,
    Path(method): Path<String>,
    UriQuery(query): UriQuery<HashMap<String, String>>,
) -> Response {
    match uri_params(&method, &query) {
        Ok(params) => serve_limited(&state, json!(-1), &method, params).await,
        Err(e) => Json(reply(json!(-1), Err(e))).into_response(),
    }
}

/// Serves one call within the concurrency bound and the time limit.
async fn serve_limited(state: &RpcState, id: Value, method: &str, params: Value) -> Response {
    let Ok(_permit) = state.requests.clone().try_acquire_owned() else {
        let error = RpcError::internal(format!(
            "too many concurrent requests (at most {}); retry shortly",
            state.limits.max_concurrent
        ));
        return (StatusCode::SERVICE_UNAVAILABLE, Json(reply(id, Err(error)))).into_response();
    };
    let limit = state.limits.timeout;
    let result = match tokio::time::timeout(limit, dispatch(state, method, params)).await {
        Ok(result) => result,
        Err(_) => Err(RpcError::internal(format!(
            "the request timed out after {} ms",
            limit.as_millis()
        ))),
    };
    Json(reply(id, result)).into_response()
}

/// What a URI parameter is, for turning CometBFT's URI forms into JSON-RPC params.
#[derive(Clone, Copy)]
enum ParamKind {
    /// Bytes whose JSON form is base64.
    Base64,
    /// Bytes whose JSON form is hex (`abci_query`'s `data`).
    Hex,
    /// An integer (JSON form: a decimal string).
    Int,
    Bool,
    Text,
}

/// The JSON-RPC params of a `GET /<method>?…` call. As CometBFT: `0x…` is hex bytes, a quoted
/// `"…"` is a string (or its bytes), numbers and `true`/`false` are bare. Unknown
/// parameters are ignored; an empty value is absent.
fn uri_params(method: &str, query: &HashMap<String, String>) -> Result<Value, RpcError> {
    use ParamKind::*;
    let known: &[(&str, ParamKind)] = match method {
        "block" | "commit" => &[("height", Int)],
        "validators" => &[("height", Int), ("page", Int), ("per_page", Int)],
        "tx" => &[("hash", Base64), ("prove", Bool)],
        "abci_query" => &[
            ("path", Text),
            ("data", Hex),
            ("height", Int),
            ("prove", Bool),
        ],
        "broadcast_tx_sync" | "broadcast_tx_async" | "broadcast_tx_commit" => &[("tx", Base64)],
        _ => &[],
    };
    let mut params = serde_json::Map::new();
    for (name, kind) in known {
        let Some(raw) = query.get(*name).filter(|v| !v.is_empty()) else {
            continue;
        };
        let unquoted = raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .filter(|_| raw.len() >= 2);
        let bad = |why: &str| RpcError::invalid_params(format!("{name}={raw}: {why}"));
        let value = match kind {
            Base64 | Hex => {
                let bytes = match (raw.strip_prefix("0x"), unquoted) {
                    (Some(digits), _) => {
                        hex::decode(digits).map_err(|_| bad("not hex after 0x"))?
                    }
                    (None, Some(text)) => text.as_bytes().to_vec(),
                    (None, None) => {
                        return Err(bad("bytes are 0x-prefixed hex or a quoted string"));
                    }
                };
                match kind {
                    Hex => Value::String(hex::encode_upper(bytes)),
                    _ => Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
                }
            }
            Int => {
                let digits = unquoted.unwrap_or(raw);
                digits.parse::<i64>().map_err(|_| bad("not an integer"))?;
                Value::String(digits.to_owned())
            }
            Bool => match unquoted.unwrap_or(raw) {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(bad("not true or false")),
            },
            Text => Value::String(unquoted.unwrap_or(raw).to_owned()),
        };
        params.insert((*name).to_owned(), value);
    }
    Ok(Value::Object(params))
}

fn reply(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(e) => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code, "message": e.message, "data": e.data}})
        }
    }
}

/// Parameters of the methods that take any, in CometBFT's JSON forms. Decoded here, strictly,
/// rather than with tendermint-rpc's request types, whose base64 and hex decoders assert (and
/// so panic, in debug builds) on some malformed input that the hostile-input tests send.
#[derive(Deserialize)]
struct TxParams {
    #[serde(deserialize_with = "base64_bytes")]
    tx: Vec<u8>,
}

#[derive(Deserialize)]
struct QueryParams {
    #[serde(default)]
    path: Option<String>,
    #[serde(default, deserialize_with = "hex_bytes")]
    data: Vec<u8>,
    #[serde(default)]
    height: Option<block::Height>,
    #[serde(default)]
    prove: bool,
}

#[derive(Deserialize)]
struct HashParams {
    #[serde(deserialize_with = "base64_bytes")]
    hash: Vec<u8>,
    #[serde(default)]
    #[allow(dead_code)]
    prove: bool,
}

#[derive(Deserialize)]
struct BlockParams {
    #[serde(default)]
    height: Option<block::Height>,
}

#[derive(Deserialize)]
struct ValidatorsParams {
    #[serde(default)]
    height: Option<block::Height>,
    #[serde(default, deserialize_with = "optional_decimal")]
    page: Option<u64>,
    /// Accepted as CometBFT does; one validator always fits.
    #[serde(default, deserialize_with = "optional_decimal")]
    #[allow(dead_code)]
    per_page: Option<u64>,
}

/// A number as CometBFT's JSON forms give it: a decimal string (or a bare number).
fn optional_decimal<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("not a positive integer")),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("not a positive integer")),
        Some(_) => Err(serde::de::Error::custom("not a number")),
    }
}

fn base64_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(serde::de::Error::custom)
}

fn hex_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    hex::decode(text).map_err(serde::de::Error::custom)
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
            let request: QueryParams = params(raw)?;
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
                    proof: answer.proof,
                    height: answer.height,
                    codespace: answer.codespace,
                },
            })
        }
        "broadcast_tx_async" => {
            // As CometBFT: the mempool's size and room are checked now, CheckTx afterwards.
            let request: TxParams = params(raw)?;
            let hash = hash_of(&request.tx);
            chain
                .check_room(request.tx.len())
                .map_err(|e| RpcError::internal(format!("error on broadcastTxAsync: {e}")))?;
            let permit = state.background.clone().try_acquire_owned().map_err(|_| {
                RpcError::internal(
                    "error on broadcastTxAsync: too many transactions waiting for CheckTx; retry shortly",
                )
            })?;
            tokio::task::spawn_blocking(move || {
                if let Err(e) = chain.submit(request.tx) {
                    tracing::debug!(code = e.code(), "broadcast_tx_async refused: {e}");
                }
                drop(permit);
            });
            to_json(broadcast::tx_async::Response {
                codespace: String::new(),
                code: Code::Ok,
                data: Default::default(),
                log: String::new(),
                hash,
            })
        }
        "broadcast_tx_sync" => {
            let request: TxParams = params(raw)?;
            let hash = hash_of(&request.tx);
            let result = tokio::task::spawn_blocking(move || chain.submit(request.tx))
                .await
                .map_err(RpcError::internal)?;
            let (code, log, codespace) = match result {
                Ok(_) => (Code::Ok, String::new(), String::new()),
                Err(e) if is_mempool_error(&e) => {
                    return Err(RpcError::internal(format!("error on broadcastTxSync: {e}")));
                }
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
            let request: TxParams = params(raw)?;
            let hash = hash_of(&request.tx);
            let submitted = tokio::task::spawn_blocking(move || chain.submit_and_watch(request.tx))
                .await
                .map_err(RpcError::internal)?;
            let receiver = match submitted {
                Ok((_, receiver)) => receiver,
                Err(e) if is_mempool_error(&e) => {
                    return Err(RpcError::internal(format!(
                        "error on broadcastTxCommit: {e}"
                    )));
                }
                Err(e) => {
                    return to_json(broadcast::tx_commit::Response {
                        check_tx: check_tx_response(&Err(e)),
                        tx_result: Default::default(),
                        hash,
                        height: Default::default(),
                    });
                }
            };
            let committed = tokio::time::timeout(state.limits.commit_timeout, receiver)
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
            let request: HashParams = params(raw)?;
            let hash = Hash::from_bytes(tendermint::hash::Algorithm::Sha256, &request.hash)
                .map_err(RpcError::invalid_params)?;
            let location = chain
                .locate(hash.as_bytes())?
                .ok_or_else(|| RpcError::internal(format!("tx ({hash}) not found")))?;
            let stored = chain.block(location.height)?.ok_or_else(|| {
                RpcError::internal(format!("block {} not found", location.height))
            })?;
            let index = location.index as usize;
            to_json(tx::Response {
                hash,
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
            let request: BlockParams = params(raw)?;
            let latest = chain.app().committed().height;
            let height = request.height.map(|h| h.value()).unwrap_or(latest);
            let stored = chain.block(height)?.ok_or_else(|| {
                RpcError::internal(format!("height {height} must be less than or equal to the current blockchain height {latest}"))
            })?;
            let header = chain.header(&stored)?;
            let block_id = block::Id {
                hash: header.hash(),
                part_set_header: Default::default(),
            };
            // As CometBFT: a block carries the commit of the block before it.
            let last_commit = match height.checked_sub(1) {
                Some(previous) if previous > 0 => {
                    chain.signed_header(previous)?.map(|signed| signed.commit)
                }
                _ => None,
            };
            to_json(block_ep::v0_38::DialectResponse {
                block_id,
                block: block_ep::v0_38::DialectBlock {
                    header,
                    data: stored.txs,
                    evidence: Default::default(),
                    last_commit,
                },
            })
        }
        "commit" => {
            let request: BlockParams = params(raw)?;
            let height = known_height(&chain, request.height)?;
            let signed_header = chain
                .signed_header(height)?
                .ok_or_else(|| RpcError::internal(format!("block {height} not found")))?;
            // As CometBFT: the latest block's commit is not yet in a block (not canonical).
            to_json(commit::Response {
                signed_header,
                canonical: height < chain.app().committed().height,
            })
        }
        "validators" => {
            let request: ValidatorsParams = params(raw)?;
            let height = known_height(&chain, request.height)?;
            // One validator at every height: page 1 holds it, as CometBFT pages them.
            let page = request.page.unwrap_or(1);
            if page != 1 {
                return Err(RpcError::invalid_params(format!(
                    "page should be within [1, 1] range, given {page}"
                )));
            }
            let set = chain.validator().set();
            to_json(validators::Response::new(
                block::Height::try_from(height).map_err(RpcError::internal)?,
                set.validators().clone(),
                set.validators().len() as i32,
            ))
        }
        other => Err(RpcError {
            code: -32601,
            message: "Method not found",
            data: format!("unknown method {other:?}"),
        }),
    }
}

/// `height` (the latest when absent) if the chain has a block there, as CometBFT answers.
fn known_height(chain: &Chain, height: Option<block::Height>) -> Result<u64, RpcError> {
    let latest = chain.app().committed().height;
    match height.map(|h| h.value()) {
        None => Ok(latest),
        Some(h) if (1..=latest).contains(&h) => Ok(h),
        Some(h) => Err(RpcError::internal(format!(
            "height {h} must be less than or equal to the current blockchain height {latest}"
        ))),
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
    // As CometBFT: a block's app hash is the one in its header, the result of the block
    // before it.
    let describe = |b: &Option<crate::chain::StoredBlock>| -> Result<_, RpcError> {
        Ok(match b {
            Some(b) => {
                let header = chain.header(b)?;
                (
                    header.hash(),
                    header.app_hash.clone(),
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
        })
    };
    let (earliest_block_hash, earliest_app_hash, earliest_block_height, earliest_block_time) =
        describe(&earliest)?;
    let (latest_block_hash, latest_app_hash, latest_block_height, latest_block_time) =
        describe(&latest)?;
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

/// Serves the RPC on `listener` with the default limits until the process ends.
pub async fn serve(chain: Arc<Chain>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve_with(chain, listener, RpcLimits::default()).await
}

/// Serves the RPC on `listener` with `limits` until the process ends.
pub async fn serve_with(
    chain: Arc<Chain>,
    listener: tokio::net::TcpListener,
    limits: RpcLimits,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?.to_string();
    axum::serve(listener, router_with(chain, addr, limits)).await
}
