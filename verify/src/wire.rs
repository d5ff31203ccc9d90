//! What a relay returns for a proven read.

use base64::Engine as _;
use idos_state::proof::{ProofError, ProvenEntry};
use serde::{Deserialize, Serialize};
use tendermint::block::signed_header::SignedHeader;
use tendermint::validator;

/// A read's proven entries and the signed header to check them against, as the relay returns
/// them (JSON: CometBFT's forms for the header and validators).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvenRead {
    /// The height the node read at (informational: what the client verifies is the header).
    pub height: u64,
    /// Every entry the read looked at: base64 of the Borsh `ProvenEntry`.
    pub entries: Vec<String>,
    /// A header whose app hash is the root of the state the node read, with its commit.
    pub signed_header: SignedHeader,
    /// The validator set as the relay reports it (checked against the pinned one).
    pub validators: Vec<validator::Info>,
}

impl ProvenRead {
    /// The entries, decoded (strictly: an entry that does not decode is refused).
    pub fn decode_entries(&self) -> Result<Vec<ProvenEntry>, ProofError> {
        self.entries
            .iter()
            .map(|text| {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|_| ProofError::Malformed("an entry that is not base64".into()))?;
                borsh::from_slice(&bytes)
                    .map_err(|_| ProofError::Malformed("an entry that does not decode".into()))
            })
            .collect()
    }

    /// The wire form of `entries`.
    pub fn encode_entries(entries: &[ProvenEntry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| {
                base64::engine::general_purpose::STANDARD
                    .encode(borsh::to_vec(e).expect("encoding into a Vec"))
            })
            .collect()
    }
}
