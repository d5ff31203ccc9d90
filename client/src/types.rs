//! The relay's wire types that are not `protocol` types.
//!
//! Records and pages are `protocol::records` types, actions `protocol::action` types. The
//! answers below mirror the relay's (`relay::api`): the relay depends on this crate for its
//! command line, so it cannot be a dependency of it. `relay/tests/client_types.rs` checks that
//! each copy reads and writes every field of the relay's type, and `relay/tests/journey.rs`
//! uses them against a real relay.

use protocol::codec::base64_encode;
use protocol::identity::Identity;
use protocol::records::Cursor;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A read's answer: the state it was read at, and what was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer<T> {
    /// The committed height the node read at.
    pub height: u64,
    /// The app hash at that height (hex).
    pub app_hash: String,
    /// What was read.
    pub data: T,
}

/// Which page of a list to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageQuery {
    /// The previous page's `next_cursor` as text (base64); `None` for the first page.
    pub cursor: Option<String>,
    /// The most rows to return, 1 to 1000 (the relay's default: 100).
    pub limit: Option<u32>,
}

impl PageQuery {
    /// The first page, with the relay's default size.
    pub fn first() -> Self {
        PageQuery::default()
    }

    /// The page after the one that ended at `cursor` (a page's `next_cursor`).
    pub fn after(cursor: &Cursor) -> Self {
        PageQuery {
            cursor: Some(base64_encode(cursor.as_bytes())),
            limit: None,
        }
    }

    /// The same page with at most `limit` rows.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(c) = &self.cursor {
            pairs.push(("cursor", c.clone()));
        }
        if let Some(l) = self.limit {
            pairs.push(("limit", l.to_string()));
        }
        pairs
    }
}

/// A transaction ready to be signed (`POST /api/v1/tx/prepare`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedTransaction {
    /// The chain the transaction is for.
    pub chain_id: String,
    /// The signer's nonce it carries.
    pub nonce: u64,
    /// The signer, canonical form.
    pub signer: String,
    /// The exact text to sign (`personal_sign` for EVM wallets, raw Ed25519 over its UTF-8).
    pub signing_text: String,
    /// The unsigned transaction's canonical encoding (hex), sent back with the signature.
    pub unsigned: String,
}

/// Where a transaction is (`POST /api/v1/tx`, `GET /api/v1/tx/{hash}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxStatus {
    /// Upper-case hex SHA-256 of the signed encoding.
    pub hash: String,
    /// `accepted`, `committed` or `refused`.
    pub status: String,
    /// The block's height once committed or refused.
    pub height: Option<u64>,
    /// A refusal's code and message.
    pub error: Option<ErrorBody>,
}

impl TxStatus {
    /// Whether the transaction is in a block and took effect.
    pub fn is_committed(&self) -> bool {
        self.status == "committed"
    }
}

/// The body of every error answer of the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
}

/// The chain and node behind a relay (`GET /api/v1/chain`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainInfo {
    /// The idOS chain id (also the `network` of Ed25519 sign-in).
    pub chain_id: String,
    /// The latest block's height.
    pub height: u64,
    /// The latest block's app hash (upper-case hex).
    pub app_hash: String,
    /// The latest block's time (RFC 3339).
    pub time: String,
    /// The node's software version.
    pub node_version: String,
    /// Whether the node is still catching up.
    pub catching_up: bool,
    /// The relay's gateway key (hex Ed25519).
    pub gateway_key: String,
}

/// A signed-in session: the bearer token and who it is for.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The bearer token. Secret: never log it.
    pub token: String,
    /// The signed-in identity (lowercase `0x` address, hex Ed25519 key, `ed25519:<base58>`,
    /// `r…` or `G…`).
    pub identity: String,
    /// When the session ends (RFC 3339).
    pub expires_at: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("token", &"<redacted>")
            .field("identity", &self.identity)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// One read of a shared copy through the relay (`GET /api/v1/access-log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRecord {
    /// Who read (the signed-in grantee).
    pub reader: Identity,
    /// The copy read.
    pub copy_id: Uuid,
    /// Its original, when the node named one.
    pub original_id: Option<Uuid>,
    /// The owner (profile id) of the data.
    pub owner_user_id: Uuid,
    /// When, unix milliseconds.
    pub at_ms: u64,
    /// The request's id, to find it in the relay's logs.
    pub request_id: String,
}

/// A page of the access log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessPage {
    /// The reads.
    pub items: Vec<AccessRecord>,
    /// Pass it as the next page's cursor; `None` when there is none.
    pub next_cursor: Option<String>,
}
