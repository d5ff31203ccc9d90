//! Transactions: prepare (action JSON → the exact text the wallet signs and the unsigned
//! encoding, so browser wallets need no Borsh), submit (unsigned encoding + signature, or the
//! signed encoding → hash), status by hash (optionally waiting for the block, bounded), and an
//! account's next nonce. The relay checks size, shape and signature before the node sees a
//! transaction; it never signs one.

use axum::extract::State;
use axum::http::StatusCode;
use protocol::action::Action;
use protocol::bytes::Bytes;
use protocol::identity::Identity;
use protocol::query::Query as Read;
use protocol::records::QueryOutput;
use protocol::tx::{SignedTransaction, Transaction};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::json::{Json, Path, Query};
use super::page::Answer;
use super::{ApiState, read};
use crate::node_client::TxOutcome;

/// What to sign: an action, its signer and (optionally) the nonce.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrepareRequest {
    /// The action and its arguments, as `{"action": "<idOS action name>", "args": {...}}`.
    #[schema(value_type = Object)]
    pub action: Action,
    /// Who will sign: an EVM address, a hex Ed25519 key, a NEAR `ed25519:<base58>` key, an XRPL
    /// `r…` address or a Stellar `G…` address.
    #[schema(value_type = String)]
    pub signer: Identity,
    /// The signer's nonce; default: the node's next nonce for the signer (transactions still
    /// waiting in the mempool counted).
    pub nonce: Option<u64>,
}

/// A transaction ready to be signed.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PreparedTransaction {
    pub chain_id: String,
    pub nonce: u64,
    /// The signer, canonical form.
    pub signer: String,
    /// The exact text to sign: EVM wallets with `personal_sign`, Ed25519 keys over its UTF-8.
    pub signing_text: String,
    /// The unsigned transaction's canonical encoding, hex: send it back with the signature.
    pub unsigned: String,
}

/// A signed transaction: the unsigned encoding from prepare with the signature over its text,
/// or the whole signed encoding.
#[derive(Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// `unsigned` from `POST /api/v1/tx/prepare` (hex).
    pub unsigned: Option<String>,
    /// The signature over `signing_text` (hex, `0x` optional): 65 bytes `r‖s‖v` for EVM, 64 for
    /// Ed25519.
    pub signature: Option<String>,
    /// Instead of the two above: the signed transaction's canonical encoding (hex).
    pub signed: Option<String>,
}

impl std::fmt::Debug for SubmitRequest {
    /// Never shows a signature (nor the signed encoding, which holds one).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("SubmitRequest")
            .field("unsigned", &self.unsigned)
            .field("signature", &shown(&self.signature))
            .field("signed", &shown(&self.signed))
            .finish()
    }
}

/// Whether to wait for the transaction's block.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WaitParams {
    /// `commit`: answer once the transaction is in a block (at most the relay's
    /// `commit_wait_ms`), with its outcome.
    pub wait: Option<String>,
}

impl WaitParams {
    pub(crate) fn for_commit(&self) -> Result<bool, ApiError> {
        match self.wait.as_deref() {
            None => Ok(false),
            Some("commit") => Ok(true),
            Some(other) => Err(ApiError::bad_request(
                "invalid_parameter",
                format!("wait={other:?}: the only value is \"commit\""),
            )),
        }
    }
}

/// Where a transaction is.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TxStatus {
    /// Upper-case hex SHA-256 of the signed encoding.
    pub hash: String,
    /// `accepted` (in the mempool), `committed` (in a block, took effect) or `refused` (in a
    /// block, refused: its nonce is used, nothing else changed).
    pub status: String,
    /// The block's height once committed or refused.
    pub height: Option<u64>,
    /// A refusal's stable code and message.
    pub error: Option<ErrorBody>,
}

impl TxStatus {
    fn from_outcome(o: TxOutcome) -> Self {
        TxStatus {
            hash: o.hash,
            status: if o.refusal.is_some() {
                "refused"
            } else {
                "committed"
            }
            .to_owned(),
            height: Some(o.height),
            error: o.refusal.map(|(code, message)| ErrorBody { code, message }),
        }
    }
}

/// Hex bytes, `0x` optional.
fn hex_field(field: &'static str, text: &str) -> Result<Vec<u8>, ApiError> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    Ok(hex::decode(digits).map_err(|_| protocol::Error::InvalidHex { field })?)
}

/// The unsigned transaction for `signer`, with the node's next nonce unless one is given.
pub(crate) async fn prepare_for(
    state: &ApiState,
    signer: Identity,
    action: Action,
    nonce: Option<u64>,
) -> Result<PreparedTransaction, ApiError> {
    let nonce = match nonce {
        Some(n) => n,
        None => match state
            .node()
            .query(None, Read::NextNonce { account: signer })
            .await?
            .output
        {
            QueryOutput::NextNonce(n) => n,
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "bad_node_answer",
                    "the node answered next_nonce with something else",
                ));
            }
        },
    };
    let tx = Transaction {
        chain_id: state.node().chain_id().to_owned(),
        nonce,
        signer,
        action,
    };
    tx.validate()?;
    Ok(PreparedTransaction {
        chain_id: tx.chain_id.clone(),
        nonce,
        signer: signer.identifier(),
        signing_text: tx.signing_text(),
        unsigned: hex::encode(tx.encode()),
    })
}

/// The signed transaction a submit request carries, checked: shape, chain and signature.
pub(crate) fn signed_of(
    state: &ApiState,
    req: &SubmitRequest,
) -> Result<SignedTransaction, ApiError> {
    let signed = match (&req.unsigned, &req.signature, &req.signed) {
        (Some(unsigned), Some(signature), None) => SignedTransaction {
            tx: Transaction::decode(&hex_field("unsigned", unsigned)?)?,
            signature: Bytes::from(hex_field("signature", signature)?),
        },
        (None, None, Some(signed)) => SignedTransaction::decode(&hex_field("signed", signed)?)?,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_field",
                "send either `unsigned` and `signature`, or `signed`",
            ));
        }
    };
    if signed.tx.chain_id != state.node().chain_id() {
        return Err(ApiError::refused(
            "wrong_chain_id",
            format!(
                "the transaction is for chain {:?}, this relay's node runs {:?}",
                signed.tx.chain_id,
                state.node().chain_id()
            ),
        ));
    }
    signed.verify_signature()?;
    Ok(signed)
}

/// Broadcasts a checked transaction; with `wait`, waits (bounded) for its block.
pub(crate) async fn submit_signed(
    state: &ApiState,
    signed: SignedTransaction,
    wait: bool,
) -> Result<Json<TxStatus>, ApiError> {
    let hash = state.node().broadcast(signed.encode()).await?;
    if wait {
        let raw = *signed.hash().as_bytes();
        if let Some(outcome) = state
            .node()
            .wait_for_commit(raw, state.commit_wait())
            .await?
        {
            return Ok(Json(TxStatus::from_outcome(outcome)));
        }
    }
    Ok(Json(TxStatus {
        hash,
        status: "accepted".to_owned(),
        height: None,
        error: None,
    }))
}

/// The text to sign and the unsigned encoding of an action.
#[utoipa::path(post, path = "/api/v1/tx/prepare", tag = "transactions",
    request_body = PrepareRequest,
    responses(
        (status = 200, description = "What to sign, and what to send back with the signature", body = PreparedTransaction),
        (status = 400, description = "An action, signer or nonce the protocol refuses", body = ErrorBody),
        (status = 422, description = "`unknown_field`, `missing_field` or `invalid_json`", body = ErrorBody),
    ))]
async fn prepare_tx(
    State(s): State<ApiState>,
    Json(req): Json<PrepareRequest>,
) -> Result<Json<PreparedTransaction>, ApiError> {
    Ok(Json(
        prepare_for(&s, req.signer, req.action, req.nonce).await?,
    ))
}

/// Submits a signed transaction (after the node's CheckTx).
#[utoipa::path(post, path = "/api/v1/tx", tag = "transactions",
    request_body = SubmitRequest,
    params(WaitParams),
    responses(
        (status = 200, description = "`accepted`, or with `wait=commit` its block's outcome", body = TxStatus),
        (status = 400, description = "Malformed, badly signed or for another chain", body = ErrorBody),
        (status = 409, description = "Refused by the node's CheckTx (e.g. `bad_nonce`)", body = ErrorBody),
        (status = 503, description = "`node_busy` or `mempool_full`: retry", body = ErrorBody),
    ))]
async fn submit_tx(
    State(s): State<ApiState>,
    Query(wait): Query<WaitParams>,
    Json(req): Json<SubmitRequest>,
) -> Result<Json<TxStatus>, ApiError> {
    let wait = wait.for_commit()?;
    let signed = signed_of(&s, &req)?;
    submit_signed(&s, signed, wait).await
}

/// A transaction's outcome by hash.
#[utoipa::path(get, path = "/api/v1/tx/{hash}", tag = "transactions",
    params(("hash" = String, Path, description = "Hex SHA-256 of the signed encoding"), WaitParams),
    responses(
        (status = 200, description = "`committed` or `refused`, with the block height", body = TxStatus),
        (status = 400, description = "Not a 32-byte hex hash", body = ErrorBody),
        (status = 404, description = "`tx_not_found`: not in a block (yet, or within the wait)", body = ErrorBody),
    ))]
async fn tx_status(
    State(s): State<ApiState>,
    Path(hash): Path<String>,
    Query(wait): Query<WaitParams>,
) -> Result<Json<TxStatus>, ApiError> {
    let wait = wait.for_commit()?;
    let bytes = hex_field("hash", &hash)?;
    let raw: [u8; 32] =
        bytes
            .as_slice()
            .try_into()
            .map_err(|_| protocol::Error::InvalidLength {
                field: "hash",
                expected: 32,
                actual: bytes.len(),
            })?;
    let found = if wait {
        s.node().wait_for_commit(raw, s.commit_wait()).await?
    } else {
        s.node().tx(raw).await?
    };
    match found {
        Some(outcome) => Ok(Json(TxStatus::from_outcome(outcome))),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "tx_not_found",
            if wait {
                format!(
                    "no block holds transaction {} after waiting {} ms: it is still waiting, was dropped, or was never submitted",
                    hex::encode_upper(raw),
                    s.commit_wait().as_millis()
                )
            } else {
                format!(
                    "no block holds transaction {}: it is still waiting (ask with ?wait=commit), was dropped, or was never submitted",
                    hex::encode_upper(raw)
                )
            },
        )),
    }
}

/// The nonce an account's next transaction must carry (`next_nonce`; anyone may ask).
#[utoipa::path(get, path = "/api/v1/nonce/{account}", tag = "transactions",
    params(("account" = String, Path, description = "A wallet or key identifier: an EVM 0x-address, a hex Ed25519 key, a NEAR ed25519:<base58> key, an XRPL r-address or a Stellar G-address")),
    responses(
        (status = 200, description = "`data` is the next nonce", body = Answer),
        (status = 400, description = "Not a wallet identifier", body = ErrorBody),
    ))]
async fn next_nonce(
    State(s): State<ApiState>,
    Path(account): Path<String>,
) -> Result<Json<Answer>, ApiError> {
    let account = Identity::parse(&account)?;
    read(&s, None, Read::NextNonce { account }).await
}

pub(super) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(prepare_tx))
        .routes(routes!(submit_tx))
        .routes(routes!(tx_status))
        .routes(routes!(next_nonce))
}
