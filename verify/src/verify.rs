//! The checks of a proven read, in order.

use std::time::Duration;

use idos_state::error::NodeError;
use idos_state::proof::ProofError;
use idos_state::read::ReadContext;
use protocol::identity::Identity;
use protocol::query::Query;
use protocol::records::QueryOutput;
use tendermint::Time;
use tendermint::validator::Set;
use tendermint_light_client_verifier::operations::{
    ProdCommitValidator, ProvidedVotingPowerCalculator,
};
use tendermint_light_client_verifier::predicates::ProdPredicates;
use tendermint_light_client_verifier::types::UntrustedBlockState;
use tendermint_light_client_verifier::{PredicateVerifier, Verdict};

use crate::signature::StrictEd25519;

/// The light-client verifier's production predicates, with signatures checked by
/// [`StrictEd25519`].
type ClientVerifier = PredicateVerifier<
    ProdPredicates,
    ProvidedVotingPowerCalculator<StrictEd25519>,
    ProdCommitValidator,
>;

use crate::{ProvenRead, TrustRoot, VerifyError};

/// How fresh a client needs answers to be.
#[derive(Debug, Clone)]
pub struct Freshness {
    /// The answer must describe the state after this block or a later one: the block of the
    /// client's own last committed transaction (0: no such need).
    pub min_height: u64,
    /// Headers older than this are refused; `None` accepts any age (an idle embedded chain
    /// makes no blocks, so its latest header may be old and still current).
    pub max_header_age: Option<Duration>,
    /// How far ahead of the client's clock a header's time may be.
    pub clock_drift: Duration,
}

impl Default for Freshness {
    fn default() -> Self {
        Freshness {
            min_height: 0,
            max_header_age: None,
            clock_drift: Duration::from_secs(10),
        }
    }
}

/// A verified answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The answer, or the refusal, the proven state gives.
    pub output: Result<QueryOutput, NodeError>,
    /// The header that proved it: the state is the one after block `header_height - 1`.
    pub header_height: u64,
    /// Its time, unix seconds (the time the read was answered at).
    pub header_time: i64,
}

impl Verified {
    /// The block whose resulting state the answer describes.
    pub fn state_height(&self) -> u64 {
        self.header_height.saturating_sub(1)
    }
}

/// Verifies `read`, the relay's answer to `query` by `caller`, against `trust` alone, at the
/// client's time `now` (see the crate's documentation for the checks).
pub fn verify_read(
    trust: &TrustRoot,
    freshness: &Freshness,
    read: &ProvenRead,
    caller: Option<&Identity>,
    query: &Query,
    now: Time,
) -> Result<Verified, VerifyError> {
    let header = &read.signed_header.header;
    if header.chain_id.as_str() != trust.chain_id {
        return Err(VerifyError::ChainMismatch {
            pinned: trust.chain_id.clone(),
            got: header.chain_id.to_string(),
        });
    }
    let pinned = trust.validators.hash();
    if Set::without_proposer(read.validators.clone()).hash() != pinned {
        return Err(VerifyError::ValidatorSetMismatch(
            "the relay sent another validator set".into(),
        ));
    }
    if header.validators_hash != pinned {
        return Err(VerifyError::ValidatorSetMismatch(
            "the header names another validator set".into(),
        ));
    }
    // The pinned set itself stands for the header's validators: its hash is the header's, and
    // more than two thirds of its power must have signed this very header.
    let untrusted = UntrustedBlockState {
        signed_header: &read.signed_header,
        validators: &trust.validators,
        next_validators: None,
    };
    let verifier = ClientVerifier::default();
    for verdict in [
        verifier.verify_validator_sets(&untrusted),
        verifier.verify_commit(&untrusted),
    ] {
        match verdict {
            Verdict::Success => {}
            Verdict::NotEnoughTrust(tally) => {
                return Err(VerifyError::HeaderNotSigned(format!(
                    "too little voting power signed: {tally}"
                )));
            }
            Verdict::Invalid(detail) => {
                return Err(VerifyError::HeaderNotSigned(detail.to_string()));
            }
        }
    }
    let header_time = header.time;
    let latest_allowed = (now + freshness.clock_drift).unwrap_or(now);
    if header_time > latest_allowed {
        return Err(VerifyError::HeaderFromFuture {
            header_time: header_time.to_rfc3339(),
        });
    }
    if let Some(max) = freshness.max_header_age {
        let age = now.duration_since(header_time).unwrap_or_default();
        if age > max {
            return Err(VerifyError::HeaderTooOld {
                age_seconds: age.as_secs(),
                max_seconds: max.as_secs(),
            });
        }
    }
    let header_height = header.height.value();
    let state_height = header_height.saturating_sub(1);
    if state_height < freshness.min_height {
        return Err(VerifyError::StaleAnswer {
            state_height,
            required: freshness.min_height,
        });
    }
    let root: [u8; 32] = header
        .app_hash
        .as_bytes()
        .try_into()
        .map_err(|_| ProofError::Malformed("the header's app hash is not 32 bytes".into()))?;
    let entries = read.decode_entries()?;
    let ctx = ReadContext {
        chain_id: &trust.chain_id,
        block_time: header_time.unix_timestamp(),
    };
    let output = idos_state::proof::verify_read(root, &entries, &ctx, caller, query)?;
    Ok(Verified {
        output,
        header_height,
        header_time: header_time.unix_timestamp(),
    })
}

#[cfg(test)]
mod tests {
    use protocol::bytes::Nonce128;
    use protocol::identity::Ed25519SigningKey;

    use super::*;

    /// A header at height 3 of chain `idos-sample`, signed by the validator with seed 9…9.
    fn sample() -> ProvenRead {
        serde_json::from_str(include_str!("testdata/proven_read.json")).unwrap()
    }

    fn trust(seed: u8) -> TrustRoot {
        let key = Ed25519SigningKey::from_seed(&[seed; 32]).public_key();
        TrustRoot::new("idos-sample", &[(*key.as_bytes(), 10)]).unwrap()
    }

    /// A read that looks at no state (its answer needs no entries).
    fn query() -> Query {
        Query::WalletProofMessage {
            user_id: uuid::Uuid::nil(),
            wallet: Identity::Ed25519(Ed25519SigningKey::from_seed(&[1; 32]).public_key()),
            nonce: Nonce128::from_bytes([0; 16]),
        }
    }

    fn at(seconds: i64) -> Time {
        Time::from_unix_timestamp(seconds, 0).unwrap()
    }

    const HEADER_TIME: i64 = 1_796_000_000;

    fn check(trust: &TrustRoot, freshness: &Freshness, read: &ProvenRead, now: i64) -> String {
        match verify_read(trust, freshness, read, None, &query(), at(now)) {
            Ok(v) => format!("ok at {}", v.header_height),
            Err(e) => e.code().to_owned(),
        }
    }

    #[test]
    fn a_header_the_pinned_validator_signed_verifies() {
        let verified = verify_read(
            &trust(9),
            &Freshness::default(),
            &sample(),
            None,
            &query(),
            at(HEADER_TIME + 5),
        )
        .unwrap();
        assert_eq!(verified.header_height, 3);
        assert_eq!(verified.state_height(), 2);
        assert!(matches!(verified.output, Ok(QueryOutput::Message(_))));
    }

    #[test]
    fn fail_every_way_a_header_can_be_untrustworthy() {
        let fresh = Freshness::default();
        let now = HEADER_TIME + 5;
        assert_eq!(
            check(&trust(8), &fresh, &sample(), now),
            "validator_set_mismatch"
        );
        let mut other_chain = trust(9);
        other_chain.chain_id = "idos-other".into();
        assert_eq!(
            check(&other_chain, &fresh, &sample(), now),
            "chain_mismatch"
        );
        // The commit no longer matches an altered header.
        let mut altered = sample();
        altered.signed_header.header.time = at(HEADER_TIME - 1);
        assert_eq!(check(&trust(9), &fresh, &altered, now), "header_not_signed");
        // A signature taken out.
        let mut unsigned = sample();
        unsigned.signed_header.commit.signatures =
            vec![tendermint::block::CommitSig::BlockIdFlagAbsent];
        assert_eq!(
            check(&trust(9), &fresh, &unsigned, now),
            "header_not_signed"
        );
        assert_eq!(
            check(&trust(9), &fresh, &sample(), HEADER_TIME - 60),
            "header_from_future"
        );
        let young = Freshness {
            max_header_age: Some(Duration::from_secs(30)),
            ..Freshness::default()
        };
        assert_eq!(
            check(&trust(9), &young, &sample(), HEADER_TIME + 31),
            "header_too_old"
        );
        assert_eq!(
            check(&trust(9), &young, &sample(), HEADER_TIME + 29),
            "ok at 3"
        );
        let after_my_write = Freshness {
            min_height: 3,
            ..Freshness::default()
        };
        assert_eq!(
            check(&trust(9), &after_my_write, &sample(), now),
            "stale_answer"
        );
    }
}
