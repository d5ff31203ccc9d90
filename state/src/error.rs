//! Why the node refused a transaction or a read, or could not go on.
//!
//! Every variant has a stable string code (`code()`, returned to clients in the ABCI `info`
//! field and by the relay's JSON errors) and a stable numeric ABCI code (`abci_code()`, in
//! codespace [`CODESPACE`]). Messages say what to do, never contain secrets.
//!
//! Two kinds: refusals (the input is wrong or not allowed; the same on every node) and faults
//! of this node ([`NodeError::is_fault`]: I/O, RocksDB, a corrupt record, the configuration, ABCI
//! calls out of order), which stop a block rather than become a transaction's verdict.

use std::sync::Arc;

use uuid::Uuid;

/// The ABCI codespace of every error code below.
pub const CODESPACE: &str = "idos";

/// A transaction or read the node refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The input itself is wrong (encoding, signature, field form); `code()` is the
    /// protocol error's code.
    #[error("{0}")]
    Invalid(#[from] protocol::Error),

    /// Signed for another network.
    #[error("transaction is for chain {got:?}, this node runs chain {expected:?}")]
    WrongChainId { expected: String, got: String },

    /// Replayed, reordered or skipped nonce.
    #[error(
        "nonce {got} is not the next one for this signer: expected {expected} (replayed or out of order)"
    )]
    BadNonce { expected: u64, got: u64 },

    /// The signer may not do this.
    #[error("unauthorized: {0}")]
    Unauthorized(String),

    /// The caller has no idOS profile (none of its wallets is linked).
    #[error("no idOS profile is linked to {0}; ask an issuer to create one")]
    NoProfile(String),

    /// A row the action needs does not exist (or is not visible to the caller).
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },

    /// A row with this id (or a grant with the same grantee, copy and lock) exists already.
    #[error("{what} {id} already exists")]
    AlreadyExists { what: &'static str, id: String },

    /// An access grant is still time-locked.
    #[error(
        "access grant {grant} is locked until {locked_until} (unix seconds); try again after that"
    )]
    GrantLocked { grant: Uuid, locked_until: i64 },

    /// An original that has been shared (copies of it exist) cannot be edited.
    #[error(
        "credential {0} has been shared (copies of it exist); add a new credential instead of editing it"
    )]
    CredentialShared(Uuid),

    /// Copies cannot be edited, re-shared or used as originals.
    #[error("credential {0} is a copy made for a grantee; use the original")]
    CredentialIsCopy(Uuid),

    /// Attribute copies cannot be edited.
    #[error("attribute {0} is a shared copy; edit the original")]
    AttributeIsCopy(Uuid),

    /// Copies carry no public notes.
    #[error("shared copies cannot have public notes; send an empty string")]
    CopyHasPublicNotes,

    /// The wallet the caller signs with cannot be removed.
    #[error(
        "you cannot remove the wallet you are signed in with; sign in with another wallet of your profile first"
    )]
    ConnectedWallet,

    /// The wallet is linked already.
    #[error("wallet {0} is already linked to an idOS profile")]
    WalletTaken(String),

    /// A wallet-ownership proof was used before.
    #[error("this wallet ownership proof was used before; sign a new one with a fresh nonce")]
    ProofReused,

    /// A delegated write grant outside its time window.
    #[error(
        "delegated write grant {id} is not usable at block time {now}: valid from {not_before} to {not_after}"
    )]
    DwgNotUsable {
        id: Uuid,
        now: i64,
        not_before: i64,
        not_after: i64,
    },

    /// A delegated write grant used before.
    #[error("delegated write grant {0} was used already; each grant writes once")]
    DwgUsed(Uuid),

    /// The credential signer and the grant's issuer do not belong to the same inserter.
    #[error(
        "the credential's signing key and the grant's issuer key must be delegates of the same inserter"
    )]
    DwgIssuerMismatch,

    /// Linking another wallet to a profile that has one needs one of its wallets to agree.
    #[error(
        "user {0} has a wallet already: linking another needs the approval of one of its wallets (or the user adds it with add_wallet)"
    )]
    WalletApprovalRequired(Uuid),

    /// An inserter is deleted only once it has no delegates.
    #[error(
        "inserter {0} still has delegates; delete them first (delete_delegate_as_owner), then the inserter"
    )]
    InserterHasDelegates(Uuid),

    /// A key rotation that leaves some original encrypted to the old key.
    #[error("key rotation must re-encrypt every original credential exactly once: {0}")]
    RotationIncomplete(String),

    /// A read at a height this node does not serve.
    #[error("reads are served at the latest height only (asked for height {0})")]
    HistoricalQuery(i64),

    /// An ABCI query path other than the node's.
    #[error("unknown query path {0:?}; use \"/idos\"")]
    UnknownPath(String),

    /// The node is overloaded or shutting down.
    #[error("the node is busy: {0}; retry shortly")]
    Unavailable(String),

    /// The mempool holds as many transactions, or bytes, as it may. Not a refusal of the
    /// transaction: the RPC answers it as CometBFT does, with a JSON-RPC error to retry.
    #[error(
        "mempool is full: number of txs {txs} (max: {max_txs}), total txs bytes {bytes} (max: {max_bytes}); retry later"
    )]
    MempoolFull {
        txs: usize,
        max_txs: usize,
        bytes: usize,
        max_bytes: usize,
    },

    /// A file, socket or thread operation of this node failed.
    #[error("{action}: {source}")]
    Io {
        /// What the node was doing, e.g. "reading /data/validator_key".
        action: String,
        #[source]
        source: IoError,
    },

    /// The database failed (RocksDB's message). Nothing of the write was applied.
    #[error("database error: {0}")]
    Database(String),

    /// A stored record does not decode: the data directory is damaged or was written by an
    /// incompatible version.
    #[error("corrupt {what} in the data directory: {detail}")]
    CorruptRecord {
        /// Which record, e.g. "row in table grants".
        what: String,
        detail: String,
    },

    /// The node's configuration or key files are unusable.
    #[error("configuration: {0}")]
    Config(String),

    /// ABCI calls arrived in an order the application cannot follow (e.g. Commit without
    /// FinalizeBlock, or a height that does not follow the last commit).
    #[error("ABCI call order: {0}")]
    CallOrder(String),
}

/// An I/O error that errors can share and compare (by kind and message).
#[derive(Debug, Clone)]
pub struct IoError(pub Arc<std::io::Error>);

impl PartialEq for IoError {
    fn eq(&self, other: &Self) -> bool {
        self.0.kind() == other.0.kind() && self.0.to_string() == other.0.to_string()
    }
}

impl Eq for IoError {}

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for IoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

impl NodeError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            NodeError::Invalid(e) => e.code(),
            NodeError::WrongChainId { .. } => "wrong_chain_id",
            NodeError::BadNonce { .. } => "bad_nonce",
            NodeError::Unauthorized(_) => "unauthorized",
            NodeError::NoProfile(_) => "no_profile",
            NodeError::NotFound { .. } => "not_found",
            NodeError::AlreadyExists { .. } => "already_exists",
            NodeError::GrantLocked { .. } => "grant_locked",
            NodeError::CredentialShared(_) => "credential_shared",
            NodeError::CredentialIsCopy(_) => "credential_is_copy",
            NodeError::CopyHasPublicNotes => "copy_has_public_notes",
            NodeError::AttributeIsCopy(_) => "attribute_is_copy",
            NodeError::ConnectedWallet => "connected_wallet",
            NodeError::WalletTaken(_) => "wallet_taken",
            NodeError::ProofReused => "proof_reused",
            NodeError::DwgNotUsable { .. } => "dwg_not_usable",
            NodeError::DwgUsed(_) => "dwg_used",
            NodeError::DwgIssuerMismatch => "dwg_issuer_mismatch",
            NodeError::RotationIncomplete(_) => "rotation_incomplete",
            NodeError::WalletApprovalRequired(_) => "wallet_approval_required",
            NodeError::InserterHasDelegates(_) => "inserter_has_delegates",
            NodeError::HistoricalQuery(_) => "historical_query",
            NodeError::UnknownPath(_) => "unknown_path",
            NodeError::Unavailable(_) => "unavailable",
            NodeError::MempoolFull { .. } => "mempool_full",
            NodeError::Io { .. } => "io_error",
            NodeError::Database(_) => "database_error",
            NodeError::CorruptRecord { .. } => "corrupt_record",
            NodeError::Config(_) => "configuration",
            NodeError::CallOrder(_) => "call_order",
        }
    }

    /// Stable numeric ABCI code (0 is success, so none is 0).
    pub fn abci_code(&self) -> u32 {
        match self {
            NodeError::Invalid(_) => 1,
            NodeError::WrongChainId { .. } => 2,
            NodeError::BadNonce { .. } => 3,
            NodeError::Unauthorized(_) => 4,
            NodeError::NoProfile(_) => 5,
            NodeError::NotFound { .. } => 6,
            NodeError::AlreadyExists { .. } => 7,
            NodeError::GrantLocked { .. } => 8,
            NodeError::CredentialShared(_) => 9,
            NodeError::CredentialIsCopy(_) => 10,
            NodeError::CopyHasPublicNotes => 11,
            NodeError::ConnectedWallet => 12,
            NodeError::WalletTaken(_) => 13,
            NodeError::ProofReused => 14,
            NodeError::DwgNotUsable { .. } => 15,
            NodeError::DwgUsed(_) => 16,
            NodeError::DwgIssuerMismatch => 17,
            NodeError::RotationIncomplete(_) => 18,
            NodeError::HistoricalQuery(_) => 19,
            NodeError::UnknownPath(_) => 20,
            NodeError::Unavailable(_) => 21,
            NodeError::AttributeIsCopy(_) => 22,
            NodeError::MempoolFull { .. } => 23,
            NodeError::WalletApprovalRequired(_) => 40,
            NodeError::InserterHasDelegates(_) => 41,
            NodeError::CallOrder(_) => 95,
            NodeError::Config(_) => 96,
            NodeError::CorruptRecord { .. } => 97,
            NodeError::Io { .. } => 98,
            NodeError::Database(_) => 99,
        }
    }

    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        NodeError::NotFound {
            what,
            id: id.to_string(),
        }
    }

    pub fn exists(what: &'static str, id: impl ToString) -> Self {
        NodeError::AlreadyExists {
            what,
            id: id.to_string(),
        }
    }
}

impl NodeError {
    /// Whether this is a fault of this node (I/O, database, corrupt data, configuration, call
    /// order) rather than a refusal of the input. A fault during a block stops the block: it is
    /// never recorded as a transaction's verdict, which must be the same on every node.
    pub fn is_fault(&self) -> bool {
        matches!(
            self,
            NodeError::Io { .. }
                | NodeError::Database(_)
                | NodeError::CorruptRecord { .. }
                | NodeError::Config(_)
                | NodeError::CallOrder(_)
        )
    }

    /// An I/O failure while doing `action` (for `map_err`).
    pub fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> NodeError {
        let action = action.into();
        move |source| NodeError::Io {
            action,
            source: IoError(Arc::new(source)),
        }
    }

    /// A stored record that does not decode.
    pub fn corrupt(what: impl Into<String>, detail: impl std::fmt::Display) -> NodeError {
        NodeError::CorruptRecord {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

/// Result alias of the node.
pub type NodeResult<T> = Result<T, NodeError>;
