//! What a light client checks of the embedded chain: each block's CometBFT header, the commit
//! the validator signs over it, and the validator set.
//!
//! The embedded chain has one validator, whose Ed25519 key lives in the data directory. Every
//! stored block gets a header in CometBFT's form and a commit with one `BlockIdFlagCommit`
//! signature over CometBFT's canonical precommit bytes (`CanonicalVote`, length-delimited
//! protobuf, signed with the chain id), so `tendermint-light-client-verifier` accepts it as it
//! accepts a real CometBFT validator's. Signatures are deterministic (Ed25519) and the vote's
//! timestamp is the block's own time, so a commit is rebuilt from the stored block on request
//! and always comes out the same: nothing more is stored.

use std::sync::Arc;

use protocol::identity::Ed25519SigningKey;
use tendermint::block::{self, Commit, CommitSig, Header, signed_header::SignedHeader};
use tendermint::{Hash, Signature, Time, account, chain, validator, vote};

use crate::chain::StoredBlock;
use crate::error::{NodeError, NodeResult};

/// The voting power the one validator has (any positive number would do: it holds all of it).
const VOTING_POWER: u32 = 10;

/// The validator identity of the embedded chain (kept in the data directory).
#[derive(Debug, Clone)]
pub struct Validator {
    pub public_key: tendermint::PublicKey,
    pub address: account::Id,
    /// The validator with its voting power, as `status` reports it.
    pub info: validator::Info,
    /// Hash of the one-validator set, as every header carries it.
    pub validators_hash: Hash,
    /// Signs the commits. Never printed (its `Debug` shows the public key only).
    signing_key: Arc<Ed25519SigningKey>,
}

impl Validator {
    /// Loads the validator key from `dir/validator_key`, creating it on first start.
    pub fn load_or_create(dir: &std::path::Path) -> NodeResult<Validator> {
        let (key, _) = crate::keyfile::load_or_create_ed25519(&dir.join("validator_key"))?;
        Validator::from_key(key)
    }

    /// The validator that signs with `key`.
    pub fn from_key(key: Ed25519SigningKey) -> NodeResult<Validator> {
        let public_key = tendermint::PublicKey::from_raw_ed25519(key.public_key().as_bytes())
            .ok_or_else(|| NodeError::Config("the validator key is not an Ed25519 key".into()))?;
        let info = validator::Info::new(public_key, VOTING_POWER.into());
        let validators_hash = validator::Set::new(vec![info.clone()], Some(info.clone())).hash();
        Ok(Validator {
            address: account::Id::from(public_key),
            public_key,
            info,
            validators_hash,
            signing_key: Arc::new(key),
        })
    }

    /// The validator set of every height: this validator alone, also the proposer.
    pub fn set(&self) -> validator::Set {
        validator::Set::new(vec![self.info.clone()], Some(self.info.clone()))
    }

    /// The commit of `header`: this validator's precommit for it, signed over CometBFT's
    /// canonical vote bytes, with the header's time as the vote's.
    pub fn commit(&self, header: &Header) -> Commit {
        let block_id = block::Id {
            hash: header.hash(),
            part_set_header: Default::default(),
        };
        let vote = vote::Vote {
            vote_type: vote::Type::Precommit,
            height: header.height,
            round: block::Round::default(),
            block_id: Some(block_id),
            timestamp: Some(header.time),
            validator_address: self.address,
            validator_index: vote::ValidatorIndex::try_from(0u32).expect("index 0 is valid"),
            signature: None,
            extension: Vec::new(),
            extension_signature: None,
        };
        let sign_bytes = vote.into_signable_vec(header.chain_id.clone());
        let signature =
            Signature::try_from(self.signing_key.sign(&sign_bytes).as_bytes().as_slice())
                .expect("an Ed25519 signature is 64 bytes");
        Commit {
            height: header.height,
            round: block::Round::default(),
            block_id,
            signatures: vec![CommitSig::BlockIdFlagCommit {
                validator_address: self.address,
                timestamp: header.time,
                signature: Some(signature),
            }],
        }
    }

    /// The header of `block` on chain `chain_id`, with its commit.
    pub fn signed_header(&self, chain_id: &str, block: &StoredBlock) -> NodeResult<SignedHeader> {
        let header = header(chain_id, self, block)?;
        let commit = self.commit(&header);
        SignedHeader::new(header, commit)
            .map_err(|e| NodeError::corrupt("signed header", e.to_string()))
    }
}

/// The CometBFT header of a stored block. As CometBFT's, it carries the app hash the block
/// *before* it led to: block H's state is proven by header H+1.
pub fn header(chain_id: &str, validator: &Validator, b: &StoredBlock) -> NodeResult<Header> {
    let corrupt = |what: &str| {
        NodeError::corrupt(
            "block store",
            format!("block {} has an invalid {what}", b.height),
        )
    };
    let last_results: Vec<Vec<u8>> = b
        .results
        .iter()
        .map(|r| borsh::to_vec(r).unwrap_or_default())
        .collect();
    let chain_id = chain::Id::try_from(chain_id.to_owned()).map_err(|_| corrupt("chain id"))?;
    Ok(Header {
        version: block::header::Version { block: 11, app: 1 },
        chain_id,
        height: block::Height::try_from(b.height).map_err(|_| corrupt("height"))?,
        time: Time::from_unix_timestamp(b.time_seconds, b.time_nanos)
            .map_err(|_| corrupt("time"))?,
        last_block_id: hash_or_none(&b.last_block_hash).map(|hash| block::Id {
            hash,
            part_set_header: Default::default(),
        }),
        last_commit_hash: None,
        data_hash: Some(Hash::Sha256(
            tendermint::merkle::simple_hash_from_byte_vectors::<sha2::Sha256>(&b.txs),
        )),
        validators_hash: validator.validators_hash,
        next_validators_hash: validator.validators_hash,
        consensus_hash: Hash::None,
        app_hash: b
            .app_hash_before
            .clone()
            .try_into()
            .map_err(|_| corrupt("app hash"))?,
        last_results_hash: Some(Hash::Sha256(
            tendermint::merkle::simple_hash_from_byte_vectors::<sha2::Sha256>(&last_results),
        )),
        evidence_hash: None,
        proposer_address: validator.address,
    })
}

fn hash_or_none(bytes: &[u8]) -> Option<Hash> {
    if bytes.is_empty() {
        None
    } else {
        Hash::try_from(bytes.to_vec()).ok()
    }
}
