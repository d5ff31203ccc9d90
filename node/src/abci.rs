//! The ABCI 0.38 socket server (tower-abci) that real CometBFT validators connect to.
//!
//! Consensus requests are executed inside `call`, so they run strictly in the order CometBFT
//! sends them. Reads run on the blocking pool, concurrently with each other. CheckTx is
//! serial where it must be: tower-abci calls `call` in arrival order but may run the futures
//! concurrently, so each CheckTx verifies its signatures on the blocking pool in parallel
//! with the others, then waits for its predecessor before its role and nonce are checked.
//! A sequence n, n+1, n+2 sent in one burst is thus checked in that order, new or recheck.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use idos_state::proof::PROOF_OP_TYPE;
use protocol::records::QueryAnswer;
use tendermint::abci::request::CheckTxKind;
use tendermint::abci::response::{self, ProcessProposal, VerifyVoteExtension};
use tendermint::abci::types::ExecTxResult;
use tendermint::abci::{Code, Event, EventAttributeIndexExt};
use tendermint::merkle::proof::{ProofOp, ProofOps};
use tendermint::v0_38::abci::{
    ConsensusRequest, ConsensusResponse, InfoRequest, InfoResponse, MempoolRequest,
    MempoolResponse, SnapshotRequest, SnapshotResponse,
};
use tokio::sync::oneshot;
use tower::Service;
use tower_abci::BoxError;

use crate::app::{App, AppState, CheckKind, Genesis, TxOutcome};
use crate::error::{CODESPACE, NodeError};
use crate::store::Changes;

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send + 'static>>;

/// The application as the four ABCI services.
#[derive(Clone, Debug)]
pub struct AbciApp {
    app: Arc<App>,
    /// Resolves when the latest CheckTx so far has been admitted or refused (its sender is
    /// dropped then): the next one waits for it.
    last_check: Arc<Mutex<Option<oneshot::Receiver<()>>>>,
}

impl AbciApp {
    pub fn new(app: Arc<App>) -> Self {
        AbciApp {
            app,
            last_check: Arc::new(Mutex::new(None)),
        }
    }

    /// Serves ABCI on `addr` (`host:port`) until the process ends.
    pub async fn serve(self, addr: String) -> Result<(), BoxError> {
        let server = tower_abci::v038::Server::builder()
            .consensus(self.clone())
            .mempool(self.clone())
            .info(self.clone())
            .snapshot(self)
            .finish()
            .ok_or("incomplete ABCI server")?;
        server.listen_tcp(addr).await
    }

    fn consensus(&self, request: ConsensusRequest) -> Result<ConsensusResponse, NodeError> {
        Ok(match request {
            ConsensusRequest::InitChain(init) => {
                let state: AppState =
                    serde_json::from_slice(&init.app_state_bytes).map_err(|e| {
                        NodeError::Invalid(protocol::Error::malformed(
                            "genesis app_state",
                            format!("{e}; expected {{\"owner\": \"<identity>\"}}"),
                        ))
                    })?;
                let app_hash = self.app.init_chain_at(
                    Genesis {
                        chain_id: init.chain_id,
                        owner: state.owner,
                    },
                    init.initial_height.value(),
                )?;
                ConsensusResponse::InitChain(response::InitChain {
                    consensus_params: None,
                    validators: init.validators,
                    app_hash: app_hash
                        .try_into()
                        .map_err(|_| NodeError::corrupt("app hash", "not 32 bytes"))?,
                })
            }
            ConsensusRequest::PrepareProposal(prepare) => {
                ConsensusResponse::PrepareProposal(response::PrepareProposal {
                    txs: self.app.prepare_proposal(prepare.txs, prepare.max_tx_bytes),
                })
            }
            ConsensusRequest::ProcessProposal(proposal) => {
                match self.app.process_proposal(&proposal.txs)? {
                    None => ConsensusResponse::ProcessProposal(ProcessProposal::Accept),
                    Some((index, why)) => {
                        tracing::warn!(
                            height = proposal.height.value(),
                            index,
                            code = why.code(),
                            "rejecting a proposal: {why}"
                        );
                        ConsensusResponse::ProcessProposal(ProcessProposal::Reject)
                    }
                }
            }
            ConsensusRequest::ExtendVote(_) => {
                ConsensusResponse::ExtendVote(response::ExtendVote {
                    vote_extension: Bytes::new(),
                })
            }
            ConsensusRequest::VerifyVoteExtension(_) => {
                ConsensusResponse::VerifyVoteExtension(VerifyVoteExtension::Accept)
            }
            ConsensusRequest::FinalizeBlock(block) => {
                let (outcomes, app_hash) = self.app.finalize_block(
                    block.height.value(),
                    block.time.unix_timestamp(),
                    &block.txs,
                )?;
                ConsensusResponse::FinalizeBlock(response::FinalizeBlock {
                    events: Vec::new(),
                    tx_results: outcomes.iter().map(exec_tx_result).collect(),
                    validator_updates: Vec::new(),
                    consensus_param_updates: None,
                    app_hash: app_hash
                        .try_into()
                        .map_err(|_| NodeError::corrupt("app hash", "not 32 bytes"))?,
                })
            }
            ConsensusRequest::Commit => {
                self.app.commit(Changes::default())?;
                ConsensusResponse::Commit(response::Commit {
                    data: Bytes::new(),
                    retain_height: 0u32.into(),
                })
            }
        })
    }
}

/// The ABCI form of a transaction's outcome: code 0 with events, or the error's numeric code,
/// its stable string code in `info` and its message in `log`.
pub fn exec_tx_result(outcome: &TxOutcome) -> ExecTxResult {
    match &outcome.result {
        Ok(effects) => {
            let mut attributes = vec![("action", outcome.action.unwrap_or("")).index()];
            attributes.extend(effects.iter().map(|(k, v)| (*k, v.as_str()).index()));
            ExecTxResult {
                events: vec![Event::new("idos", attributes)],
                ..Default::default()
            }
        }
        Err(e) => ExecTxResult {
            code: Code::from(e.abci_code()),
            log: e.to_string(),
            info: e.code().to_owned(),
            codespace: CODESPACE.to_owned(),
            ..Default::default()
        },
    }
}

/// The ABCI form of a CheckTx result: the sender, or the refusal's numeric code, its stable
/// string code in `info` and its message in `log`.
pub fn check_tx_response(result: &Result<crate::app::CheckedTx, NodeError>) -> response::CheckTx {
    match result {
        Ok(checked) => response::CheckTx {
            sender: checked.signer.identifier(),
            ..Default::default()
        },
        Err(e) => response::CheckTx {
            code: Code::from(e.abci_code()),
            log: e.to_string(),
            info: e.code().to_owned(),
            codespace: CODESPACE.to_owned(),
            ..Default::default()
        },
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Service<ConsensusRequest> for AbciApp {
    type Response = ConsensusResponse;
    type Error = BoxError;
    type Future = BoxFuture<ConsensusResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: ConsensusRequest) -> Self::Future {
        let result = self.consensus(request).map_err(|e| {
            tracing::error!(code = e.code(), "consensus request failed: {e}");
            BoxError::from(e)
        });
        Box::pin(async move { result })
    }
}

impl Service<MempoolRequest> for AbciApp {
    type Response = MempoolResponse;
    type Error = BoxError;
    type Future = BoxFuture<MempoolResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: MempoolRequest) -> Self::Future {
        let app = self.app.clone();
        let MempoolRequest::CheckTx(check) = request;
        // Taken here, in arrival order: `call` runs in the order requests arrive.
        let (done, this_check) = oneshot::channel::<()>();
        let previous = self
            .last_check
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(this_check);
        Box::pin(async move {
            let kind = match check.kind {
                CheckTxKind::New => CheckKind::New,
                CheckTxKind::Recheck => CheckKind::Recheck,
            };
            let verifier = app.clone();
            let verified = tokio::task::spawn_blocking(move || verifier.preverify(&check.tx)).await;
            if let Some(previous) = previous {
                // Resolves (with an error) when the predecessor's sender is dropped, which
                // happens when it is done or abandoned.
                let _ = previous.await;
            }
            let result = match verified? {
                Ok((stx, hash)) => app.admit(&stx, hash, kind),
                Err(e) => Err(e),
            };
            drop(done);
            Ok(MempoolResponse::CheckTx(check_tx_response(&result)))
        })
    }
}

/// The ABCI form of a read's answer (Borsh-encoded `QueryAnswer` in `value`).
pub fn query_response(app: &App, query: &tendermint::abci::request::Query) -> response::Query {
    if query.prove {
        return proven_query_response(app, query);
    }
    match app.query(&query.path, &query.data, query.height.value() as i64, now()) {
        Ok(answer) => response::Query {
            value: borsh::to_vec(&answer).unwrap_or_default().into(),
            height: answer.height.try_into().unwrap_or_default(),
            ..Default::default()
        },
        Err(e) => error_response(app, &e),
    }
}

/// The answer to a query with `prove = true`: the answer (or the refusal the state gives) and,
/// in `proof_ops`, every state entry it read with its proof (`idos_state::proof`).
fn proven_query_response(app: &App, query: &tendermint::abci::request::Query) -> response::Query {
    let proven =
        match app.query_proven(&query.path, &query.data, query.height.value() as i64, now()) {
            Ok(proven) => proven,
            Err(e) => return error_response(app, &e),
        };
    let ops = proven
        .entries
        .iter()
        .map(|entry| {
            let (key, data) = entry.to_op_parts();
            ProofOp {
                field_type: PROOF_OP_TYPE.to_owned(),
                key,
                data,
            }
        })
        .collect();
    let mut response = match proven.result {
        Ok(output) => response::Query {
            value: borsh::to_vec(&QueryAnswer {
                height: proven.height,
                app_hash: proven.app_hash,
                output,
            })
            .unwrap_or_default()
            .into(),
            ..Default::default()
        },
        Err(e) => error_response(app, &e),
    };
    response.height = proven.height.try_into().unwrap_or_default();
    response.proof = Some(ProofOps { ops });
    response
}

fn error_response(app: &App, e: &NodeError) -> response::Query {
    response::Query {
        code: Code::from(e.abci_code()),
        log: e.to_string(),
        info: e.code().to_owned(),
        codespace: CODESPACE.to_owned(),
        height: app.committed().height.try_into().unwrap_or_default(),
        ..Default::default()
    }
}

/// The ABCI Info answer: what CometBFT replays from after a restart.
pub fn info_response(app: &App) -> response::Info {
    let committed = app.committed();
    response::Info {
        data: "idos-node".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        app_version: 1,
        last_block_height: committed.height.try_into().unwrap_or_default(),
        last_block_app_hash: committed.app_hash.try_into().unwrap_or_default(),
    }
}

impl Service<InfoRequest> for AbciApp {
    type Response = InfoResponse;
    type Error = BoxError;
    type Future = BoxFuture<InfoResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: InfoRequest) -> Self::Future {
        let app = self.app.clone();
        Box::pin(async move {
            Ok(match request {
                InfoRequest::Info(_) => InfoResponse::Info(info_response(&app)),
                InfoRequest::Echo(echo) => InfoResponse::Echo(response::Echo {
                    message: echo.message,
                }),
                InfoRequest::Query(query) => InfoResponse::Query(
                    tokio::task::spawn_blocking(move || query_response(&app, &query)).await?,
                ),
            })
        })
    }
}

impl Service<SnapshotRequest> for AbciApp {
    type Response = SnapshotResponse;
    type Error = BoxError;
    type Future = BoxFuture<SnapshotResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: SnapshotRequest) -> Self::Future {
        // State sync is not offered: new validators replay blocks.
        let response = match request {
            SnapshotRequest::ListSnapshots => SnapshotResponse::ListSnapshots(Default::default()),
            SnapshotRequest::OfferSnapshot(_) => {
                SnapshotResponse::OfferSnapshot(Default::default())
            }
            SnapshotRequest::LoadSnapshotChunk(_) => {
                SnapshotResponse::LoadSnapshotChunk(Default::default())
            }
            SnapshotRequest::ApplySnapshotChunk(_) => {
                SnapshotResponse::ApplySnapshotChunk(Default::default())
            }
        };
        Box::pin(async move { Ok(response) })
    }
}
