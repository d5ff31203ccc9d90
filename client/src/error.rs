//! [`ClientError`]: what can go wrong talking to a relay, with the relay's stable code.

/// Why a call to the relay failed.
///
/// [`ClientError::code`] is a stable machine-readable code: the relay's own `code` for an
/// answer it refused, the node's code for a transaction refused in its block, and the client's
/// codes (`transport`, `bad_answer`, `tx_not_committed`, `prepared_mismatch`, …) otherwise.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The relay answered with an error: its HTTP status and its `{code, message}` body.
    #[error("{code} (HTTP {status}): {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The relay's stable code (`session_invalid`, `grant_locked`, `not_found`, …).
        code: String,
        /// The relay's message, for a person.
        message: String,
    },

    /// The relay could not be reached, or the connection failed mid-request.
    #[error("transport: {0}")]
    Transport(String),

    /// The relay answered 2xx but the body is not what the route documents.
    #[error("bad_answer: {0}")]
    BadAnswer(String),

    /// A transaction reached a block but the node refused it (its nonce is used, nothing else
    /// changed).
    #[error("{code}: the transaction was refused in its block: {message}")]
    Refused {
        /// The node's stable code (`grant_locked`, `unauthorized`, …).
        code: String,
        /// The node's message.
        message: String,
        /// The transaction's hash.
        hash: String,
    },

    /// A submitted transaction was not in a block within the time the client waited.
    #[error("tx_not_committed: transaction {hash} is not in a block yet")]
    NotCommitted {
        /// The transaction's hash, to ask about later.
        hash: String,
    },

    /// The relay prepared a transaction other than the one asked for: nothing was signed.
    #[error("prepared_mismatch: {0}; nothing was signed")]
    PreparedMismatch(String),

    /// A local check or encoding failed (bad key, bad signature, bad hex, …).
    #[error("{}: {}", .0.code(), .0)]
    Protocol(#[from] protocol::Error),

    /// The state, as proven, refuses the read (a proven `not_found`, `no_profile`, …).
    #[error("{code}: {message}")]
    ReadRefused {
        /// The node's stable code (`not_found`, `no_profile`, …).
        code: String,
        /// What the refusal says.
        message: String,
    },

    /// A credential failed a check before its plaintext was released (`content_hash_mismatch`,
    /// `credential_revoked`, `issuer_mismatch`, `no_issuer_signature`, `bad_issuer_signature`),
    /// or a proven read did not verify (`idos-verify`'s codes: `header_not_signed`,
    /// `validator_set_mismatch`, `stale_answer`, `proof_value_mismatch`, …).
    #[error("{code}: {message}")]
    Unverified {
        /// The check's stable code.
        code: &'static str,
        /// What did not hold.
        message: String,
    },

    /// An argument the client cannot use (for example a base URL that is not a URL).
    #[error("invalid_argument: {0}")]
    InvalidArgument(String),
}

impl ClientError {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &str {
        match self {
            ClientError::Api { code, .. }
            | ClientError::Refused { code, .. }
            | ClientError::ReadRefused { code, .. } => code,
            ClientError::Transport(_) => "transport",
            ClientError::BadAnswer(_) => "bad_answer",
            ClientError::NotCommitted { .. } => "tx_not_committed",
            ClientError::PreparedMismatch(_) => "prepared_mismatch",
            ClientError::Protocol(e) => e.code(),
            ClientError::Unverified { code, .. } => code,
            ClientError::InvalidArgument(_) => "invalid_argument",
        }
    }

    /// The HTTP status of an [`ClientError::Api`] error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for ClientError {
    fn from(e: reqwest::Error) -> Self {
        if e.is_decode() {
            ClientError::BadAnswer(e.to_string())
        } else {
            // reqwest's messages name the URL, never a header: no token leaks into them.
            ClientError::Transport(e.to_string())
        }
    }
}

/// The result of a client call.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
