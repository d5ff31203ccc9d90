//! What a relay returns for a proven read.

use base64::Engine as _;
use idos_state::proof::{ProofError, ProvenEntry};
use serde::{Deserialize, Serialize};
use tendermint::block::signed_header::SignedHeader;
use tendermint::validator;

/// The most entries a proven read carries: a page reads at most 1,000 items, each a few rows,
/// and the chunks that list them.
pub const MAX_ENTRIES: usize = 8_192;

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
    /// The entries, decoded (strictly: an entry that does not decode is refused, and so are
    /// more entries than any read looks at, so a relay cannot make a client work without end).
    pub fn decode_entries(&self) -> Result<Vec<ProvenEntry>, ProofError> {
        if self.entries.len() > MAX_ENTRIES {
            return Err(ProofError::Malformed(format!(
                "{} entries, more than the {MAX_ENTRIES} any read looks at",
                self.entries.len()
            )));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with_entries(entries: Vec<String>) -> ProvenRead {
        let mut read: ProvenRead = serde_json::from_str(include_str!("testdata/proven_read.json"))
            .expect("the sample decodes");
        read.entries = entries;
        read
    }

    #[test]
    fn the_sample_proven_read_decodes() {
        let read = with_entries(Vec::new());
        assert_eq!(read.signed_header.header.height.value(), 3);
        assert!(read.decode_entries().unwrap().is_empty());
    }

    #[test]
    fn fail_entries_that_do_not_decode_or_are_too_many() {
        let code = |read: ProvenRead| {
            read.decode_entries()
                .map(|_| "ok")
                .unwrap_or_else(|e| e.code())
        };
        assert_eq!(
            code(with_entries(vec!["not base64!".into()])),
            "proof_malformed"
        );
        assert_eq!(code(with_entries(vec!["AAAA".into()])), "proof_malformed");
        assert_eq!(
            code(with_entries(vec![String::new(); MAX_ENTRIES + 1])),
            "proof_malformed"
        );
    }
}
