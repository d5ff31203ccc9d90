//! Why a proven read was refused.

use idos_state::proof::ProofError;

/// A read that does not verify. Each variant has a stable [`VerifyError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The header is of another chain than the pinned one.
    #[error("the header is of chain {got:?}, not the pinned chain {pinned:?}")]
    ChainMismatch { pinned: String, got: String },
    /// The validator set the relay sent, or the one the header names, is not the pinned one.
    #[error("the validator set is not the pinned one: {0}")]
    ValidatorSetMismatch(String),
    /// The pinned validators did not sign the header (another key signed it, a signature is
    /// invalid, too little voting power signed, or the header was altered after signing).
    #[error("the header is not signed by the pinned validators: {0}")]
    HeaderNotSigned(String),
    /// The header's time is ahead of the client's clock by more than the allowed drift.
    #[error("the header's time {header_time} is in the future")]
    HeaderFromFuture { header_time: String },
    /// The header is older than the client accepts.
    #[error("the header is {age_seconds} s old, more than the {max_seconds} s this client accepts")]
    HeaderTooOld { age_seconds: u64, max_seconds: u64 },
    /// The answer describes state older than a write the client knows is committed.
    #[error(
        "the answer describes the state after block {state_height}, before block {required}, which this client knows is committed"
    )]
    StaleAnswer { state_height: u64, required: u64 },
    /// The entries do not prove the answer.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

impl VerifyError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::ChainMismatch { .. } => "chain_mismatch",
            VerifyError::ValidatorSetMismatch(_) => "validator_set_mismatch",
            VerifyError::HeaderNotSigned(_) => "header_not_signed",
            VerifyError::HeaderFromFuture { .. } => "header_from_future",
            VerifyError::HeaderTooOld { .. } => "header_too_old",
            VerifyError::StaleAnswer { .. } => "stale_answer",
            VerifyError::Proof(e) => e.code(),
        }
    }
}
