//! Reads through a relay nobody has to trust: the client checks a read's answer against the
//! validators' signatures alone.
//!
//! A proven read ([`ProvenRead`], what the relay returns for `prove = true`) carries the
//! entries the node read, each with a Merkle proof, and a CometBFT signed header with the
//! validator set. [`verify_read`] checks, in order:
//!
//! 1. the validator set is the one the client pinned ([`TrustRoot`]: chain id and validators,
//!    from the dapp or the user's settings, never from the relay), the header names it, and
//!    more than two thirds of its voting power signed the header (`tendermint-light-client-
//!    verifier`'s own predicates and voting-power tally, signatures checked by
//!    [`StrictEd25519`]);
//! 2. the header is of the pinned chain, not from the future, not older than the client
//!    accepts, and recent enough for the client's own writes ([`Freshness`]);
//! 3. every entry's proof against the header's app hash, and then the read itself, re-run over
//!    the proven entries ([`idos_state::proof::verify_read`]): the answer is the client's own.
//!
//! A header at height `P` carries the app hash of the state after block `P - 1`, the state
//! block `P` executed against: that is the state the answer describes, at block `P`'s time.
//! Nothing here does I/O; the enclave runs it in wasm32.

#![forbid(unsafe_code)]

mod error;
mod signature;
mod trust;
mod verify;
mod wire;

pub use error::VerifyError;
pub use signature::StrictEd25519;
pub use trust::TrustRoot;
pub use verify::{Freshness, Verified, verify_read};
pub use wire::{MAX_ENTRIES, ProvenRead};
