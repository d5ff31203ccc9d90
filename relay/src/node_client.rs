//! The relay's only way to the node: CometBFT's RPC through `tendermint-rpc`'s `HttpClient`
//! (CompatMode V0_38), so the same relay fronts the bundled node or any CometBFT validator.
//!
//! Reads are `abci_query` on path `/idos` with a [`SignedQuery`] attested by the relay's
//! gateway key for the caller (see [`crate::gateway`]); writes are `broadcast_tx_sync`, and a
//! transaction's fate is `tx` by hash. A refusal comes back with the node's stable code (the
//! ABCI `info`, or the `code: message` log of the embedded node's broadcast, or the numeric
//! ABCI code in codespace `idos`), which [`NodeClientError::Refused`] carries.

use std::time::{Duration, Instant};

use idos_state::proof::ProvenEntry;
use idos_verify::ProvenRead;
use protocol::identity::{Ed25519SigningKey, Identity};
use protocol::query::{Query, SignedQuery};
use protocol::records::QueryAnswer;
use protocol::tx::tx_hash_hex;
use tendermint::Hash;
use tendermint::abci::Code;
use tendermint::block::signed_header::SignedHeader;
use tendermint_rpc::client::CompatMode;
use tendermint_rpc::{Client, HttpClient};

/// The node's ABCI query path.
pub const QUERY_PATH: &str = "/idos";

/// How often `wait_for_commit` asks the node for a transaction.
const COMMIT_POLL: Duration = Duration::from_millis(50);

/// How long a proven read waits for the header that carries its state's app hash.
pub const PROOF_HEADER_WAIT: Duration = Duration::from_secs(5);

fn next_height(height: u64) -> Result<tendermint::block::Height, NodeClientError> {
    tendermint::block::Height::try_from(height.saturating_add(1))
        .map_err(|e| NodeClientError::BadAnswer(e.to_string()))
}

/// What went wrong talking to the node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NodeClientError {
    /// The node refused the read or transaction; `code` is its stable code.
    #[error("{message}")]
    Refused { code: String, message: String },
    /// The node could not be reached or did not answer in time.
    #[error("the node is unreachable: {0}")]
    Unreachable(String),
    /// The node answered with an RPC error (mempool full, overloaded, shutting down).
    #[error("the node could not take the request: {0}")]
    Busy(String),
    /// The node's answer does not decode.
    #[error("the node's answer does not decode: {0}")]
    BadAnswer(String),
}

/// A committed transaction's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutcome {
    /// Upper-case hex, as CometBFT prints it.
    pub hash: String,
    pub height: u64,
    /// `None` when the transaction took effect; else the refusal (its nonce is still used).
    pub refusal: Option<(String, String)>,
}

/// What the node says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    pub chain_id: String,
    pub height: u64,
    /// Upper-case hex of the latest block's app hash.
    pub app_hash: String,
    /// RFC 3339 time of the latest block.
    pub time: String,
    pub node_version: String,
    pub catching_up: bool,
}

/// A client of one node, bound to its chain id and to the relay's gateway key.
#[derive(Clone)]
pub struct NodeClient {
    rpc: HttpClient,
    url: String,
    chain_id: String,
    gateway: std::sync::Arc<Ed25519SigningKey>,
}

impl std::fmt::Debug for NodeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeClient")
            .field("url", &self.url)
            .field("chain_id", &self.chain_id)
            .field("gateway", &self.gateway.public_key())
            .finish()
    }
}

fn rpc_error(e: tendermint_rpc::Error) -> NodeClientError {
    use tendermint_rpc::error::ErrorDetail;
    match e.detail() {
        ErrorDetail::Response(_) | ErrorDetail::HttpRequestFailed(_) => {
            NodeClientError::Busy(e.to_string())
        }
        ErrorDetail::Serde(_) | ErrorDetail::Parse(_) | ErrorDetail::InvalidParams(_) => {
            NodeClientError::BadAnswer(e.to_string())
        }
        _ => NodeClientError::Unreachable(e.to_string()),
    }
}

/// The stable code of a refusal: the ABCI `info` when the node set it, else the `code: `
/// prefix of the log (the embedded node's broadcast), else the code named by its number.
fn refusal_code(code: Code, info: &str, log: &str, codespace: &str) -> String {
    let is_code = |s: &str| {
        !s.is_empty()
            && s.len() <= 40
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
    };
    if is_code(info) {
        return info.to_owned();
    }
    if let Some((prefix, _)) = log.split_once(": ")
        && is_code(prefix)
    {
        return prefix.to_owned();
    }
    if codespace == node::error::CODESPACE
        && let Some(name) = code_of_abci(code.value())
    {
        return name.to_owned();
    }
    "refused".to_owned()
}

/// The node's stable codes by their ABCI number (see `node::error::NodeError::abci_code`);
/// code 1 (`Invalid`) stands for many protocol codes, so it is `invalid`.
fn code_of_abci(n: u32) -> Option<&'static str> {
    Some(match n {
        1 => "invalid",
        2 => "wrong_chain_id",
        3 => "bad_nonce",
        4 => "unauthorized",
        5 => "no_profile",
        6 => "not_found",
        7 => "already_exists",
        8 => "grant_locked",
        9 => "credential_shared",
        10 => "credential_is_copy",
        11 => "copy_has_public_notes",
        12 => "connected_wallet",
        13 => "wallet_taken",
        14 => "proof_reused",
        15 => "dwg_not_usable",
        16 => "dwg_used",
        17 => "dwg_issuer_mismatch",
        18 => "rotation_incomplete",
        19 => "historical_query",
        20 => "unknown_path",
        21 => "unavailable",
        22 => "attribute_is_copy",
        23 => "mempool_full",
        40 => "wallet_approval_required",
        41 => "inserter_has_delegates",
        _ => return None,
    })
}

/// The message of a refusal without its `code: ` prefix.
fn refusal_message(code: &str, log: &str) -> String {
    log.strip_prefix(code)
        .and_then(|rest| rest.strip_prefix(": "))
        .unwrap_or(log)
        .to_owned()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl NodeClient {
    /// Connects to the node at `url` and learns its chain id (`status`). `timeout` bounds every
    /// RPC call.
    pub async fn connect(
        url: &str,
        gateway: Ed25519SigningKey,
        timeout: Duration,
    ) -> Result<NodeClient, NodeClientError> {
        let parsed = url
            .parse()
            .map_err(|e| NodeClientError::Unreachable(format!("{url}: {e}")))?;
        let rpc = HttpClient::builder(parsed)
            .compat_mode(CompatMode::V0_38)
            .timeout(timeout)
            .build()
            .map_err(rpc_error)?;
        let status = rpc.status().await.map_err(rpc_error)?;
        Ok(NodeClient {
            rpc,
            url: url.to_owned(),
            chain_id: status.node_info.network.to_string(),
            gateway: std::sync::Arc::new(gateway),
        })
    }

    /// The chain this node runs.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The RPC URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The relay's gateway key (public half).
    pub fn gateway_key(&self) -> protocol::bytes::Ed25519PublicKey {
        self.gateway.public_key()
    }

    /// Reads `query` as `caller` (attested by the gateway key), or anonymously with `None`
    /// (public reads only).
    pub async fn query(
        &self,
        caller: Option<Identity>,
        query: Query,
    ) -> Result<QueryAnswer, NodeClientError> {
        let signed = match caller {
            Some(caller) => {
                SignedQuery::attested(&self.chain_id, query, caller, &self.gateway, unix_now())
            }
            None => SignedQuery::anonymous(&self.chain_id, query),
        };
        let answer = self
            .rpc
            .abci_query(Some(QUERY_PATH.into()), signed.encode(), None, false)
            .await
            .map_err(rpc_error)?;
        if answer.code.is_err() {
            let code = refusal_code(answer.code, &answer.info, &answer.log, &answer.codespace);
            let message = refusal_message(&code, &answer.log);
            return Err(NodeClientError::Refused { code, message });
        }
        borsh::from_slice(&answer.value).map_err(|e| NodeClientError::BadAnswer(e.to_string()))
    }

    /// Reads `query` as `caller` with `prove = true`: the entries the node read with their
    /// proofs, and a signed header whose app hash they prove against, with the validator set
    /// (what a client verifies, trusting nothing the relay says), and the node's own answer.
    ///
    /// A header carries the app hash of the block before it: the read at height `L` is proven
    /// by header `L + 1`, or by header `L` when block `L` changed nothing (then both carry the
    /// same app hash; an idle chain makes no block `L + 1`). Which one the proofs match is
    /// checked here, so the relay hands over the right one; a block that changed the state is
    /// followed by another within moments (the embedded chain's proof block, CometBFT's), so
    /// the wait is bounded by [`PROOF_HEADER_WAIT`].
    pub async fn query_proven(
        &self,
        caller: Option<Identity>,
        query: Query,
    ) -> Result<(ProvenRead, Result<QueryAnswer, NodeClientError>), NodeClientError> {
        let signed = match caller {
            Some(caller) => {
                SignedQuery::attested(&self.chain_id, query, caller, &self.gateway, unix_now())
            }
            None => SignedQuery::anonymous(&self.chain_id, query),
        };
        let response = self
            .rpc
            .abci_query(Some(QUERY_PATH.into()), signed.encode(), None, true)
            .await
            .map_err(rpc_error)?;
        let refusal = || {
            let code = refusal_code(
                response.code,
                &response.info,
                &response.log,
                &response.codespace,
            );
            let message = refusal_message(&code, &response.log);
            NodeClientError::Refused { code, message }
        };
        let Some(proof) = &response.proof else {
            // Refused before reading state (a bad signature, another chain): nothing to prove.
            return Err(refusal());
        };
        let answer = if response.code.is_err() {
            Err(refusal())
        } else {
            Ok(borsh::from_slice::<QueryAnswer>(&response.value)
                .map_err(|e| NodeClientError::BadAnswer(e.to_string()))?)
        };
        let entries = proof
            .ops
            .iter()
            .map(|op| ProvenEntry::from_op_parts(&op.field_type, &op.key, &op.data))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| NodeClientError::BadAnswer(e.to_string()))?;
        let height = response.height.value();
        let signed_header = self.proving_header(height, &entries).await?;
        let validators = self
            .rpc
            .validators(signed_header.header.height, tendermint_rpc::Paging::All)
            .await
            .map_err(rpc_error)?
            .validators;
        let read = ProvenRead {
            height,
            entries: ProvenRead::encode_entries(&entries),
            signed_header,
            validators,
        };
        Ok((read, answer))
    }

    /// The signed header whose app hash `entries` (read at `height`) prove against.
    async fn proving_header(
        &self,
        height: u64,
        entries: &[ProvenEntry],
    ) -> Result<SignedHeader, NodeClientError> {
        let deadline = Instant::now() + PROOF_HEADER_WAIT;
        let proves = |header: &SignedHeader| {
            let Ok(root) = <[u8; 32]>::try_from(header.header.app_hash.as_bytes()) else {
                return false;
            };
            idos_state::proof::ProvenState::verify(root, entries).is_ok()
        };
        loop {
            if let Ok(next) = self.rpc.commit(next_height(height)?).await
                && proves(&next.signed_header)
            {
                return Ok(next.signed_header);
            }
            let same = self
                .rpc
                .commit(
                    tendermint::block::Height::try_from(height)
                        .map_err(|e| NodeClientError::BadAnswer(e.to_string()))?,
                )
                .await
                .map_err(rpc_error)?;
            if proves(&same.signed_header) {
                return Ok(same.signed_header);
            }
            if Instant::now() >= deadline {
                return Err(NodeClientError::Unreachable(format!(
                    "no header proves the read at height {height} yet; retry shortly"
                )));
            }
            tokio::time::sleep(COMMIT_POLL / 5).await;
        }
    }

    /// Submits encoded transaction bytes after CheckTx; returns its hash (upper-case hex).
    pub async fn broadcast(&self, tx: Vec<u8>) -> Result<String, NodeClientError> {
        let answer = self.rpc.broadcast_tx_sync(tx).await.map_err(rpc_error)?;
        if answer.code.is_err() {
            let code = refusal_code(answer.code, "", &answer.log, &answer.codespace);
            let message = refusal_message(&code, &answer.log);
            return Err(NodeClientError::Refused { code, message });
        }
        Ok(answer.hash.to_string())
    }

    /// The committed transaction with this hash, or `None` when the node has none (not yet in
    /// a block, or unknown).
    pub async fn tx(&self, hash: [u8; 32]) -> Result<Option<TxOutcome>, NodeClientError> {
        match self.rpc.tx(Hash::Sha256(hash), false).await {
            Ok(found) => {
                let r = &found.tx_result;
                let refusal = r.code.is_err().then(|| {
                    let code = refusal_code(r.code, &r.info, &r.log, &r.codespace);
                    let message = refusal_message(&code, &r.log);
                    (code, message)
                });
                Ok(Some(TxOutcome {
                    hash: found.hash.to_string(),
                    height: found.height.value(),
                    refusal,
                }))
            }
            // CometBFT answers an unknown hash with an RPC error "tx (…) not found".
            Err(e) if e.to_string().contains("not found") => Ok(None),
            Err(e) => Err(rpc_error(e)),
        }
    }

    /// Waits until the transaction is committed or `bound` has passed (then `None`).
    pub async fn wait_for_commit(
        &self,
        hash: [u8; 32],
        bound: Duration,
    ) -> Result<Option<TxOutcome>, NodeClientError> {
        let deadline = Instant::now() + bound;
        loop {
            if let Some(outcome) = self.tx(hash).await? {
                return Ok(Some(outcome));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(COMMIT_POLL.min(deadline - now)).await;
        }
    }

    /// The node's chain, latest block and version.
    pub async fn status(&self) -> Result<NodeStatus, NodeClientError> {
        let s = self.rpc.status().await.map_err(rpc_error)?;
        Ok(NodeStatus {
            chain_id: s.node_info.network.to_string(),
            height: s.sync_info.latest_block_height.value(),
            app_hash: hex::encode_upper(s.sync_info.latest_app_hash.as_bytes()),
            time: s.sync_info.latest_block_time.to_rfc3339(),
            node_version: s.node_info.version.to_string(),
            catching_up: s.sync_info.catching_up,
        })
    }
}

/// Upper-case hex of a hash, as the API and CometBFT print transaction hashes.
pub fn hash_hex(hash: &protocol::bytes::Sha256Digest) -> String {
    tx_hash_hex(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_codes_come_from_info_then_log_then_number() {
        let code = |n: u32, info: &str, log: &str, space: &str| {
            refusal_code(Code::from(n), info, log, space)
        };
        assert_eq!(
            code(6, "not_found", "credential x not found", "idos"),
            "not_found"
        );
        assert_eq!(
            code(3, "", "bad_nonce: nonce 1 is not the next one", "idos"),
            "bad_nonce"
        );
        // Through real CometBFT, broadcast_tx_sync carries no info and a plain log.
        assert_eq!(
            code(8, "", "access grant x is locked until 5", "idos"),
            "grant_locked"
        );
        assert_eq!(code(8, "", "Locked: yes", "other"), "refused");
        assert_eq!(code(99, "", "a log", "idos"), "refused");
        assert_eq!(
            refusal_message("bad_nonce", "bad_nonce: nonce 1 is not the next one"),
            "nonce 1 is not the next one"
        );
    }
}
