//! Stateless checks of a transaction: everything that depends only on its bytes and the chain
//! id, so it can run once in CheckTx, in parallel and outside any lock, and be skipped when
//! the block executes a transaction this node has checked already.

use std::collections::HashMap;
use std::sync::Mutex;

use protocol::action::{Action, CredentialInput};
use protocol::identity::{EvmAddress, EvmPublicKey, Identity, recover_eip191_key, verify_eip191};
use protocol::tx::SignedTransaction;

use crate::error::{NodeError, NodeResult};

/// Public keys of EVM signers seen before. A recovery (what an EVM signature otherwise needs)
/// costs about two verifications in k256; with the key known, a signer's later transactions
/// cost one. The verdict is the same either way (`protocol::identity::verify_eip191` accepts
/// exactly what recovery would attribute to the key, `v` included), so what this cache holds,
/// and how a flood of fresh keys churns it, changes speed only. Bounded: when full it starts
/// again empty.
#[derive(Debug)]
pub struct EvmKeys {
    keys: Mutex<HashMap<EvmAddress, EvmPublicKey>>,
    limit: usize,
}

impl Default for EvmKeys {
    fn default() -> Self {
        EvmKeys::with_limit(Self::DEFAULT_LIMIT)
    }
}

impl EvmKeys {
    /// How many keys a node remembers by default.
    pub const DEFAULT_LIMIT: usize = 100_000;

    /// A cache of at most `limit` keys (0: remember none, recover every signature).
    pub fn with_limit(limit: usize) -> Self {
        EvmKeys {
            keys: Mutex::new(HashMap::new()),
            limit,
        }
    }

    /// How many keys are remembered now.
    pub fn len(&self) -> usize {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that `signer` signed `message`, with exactly the verdict of `Identity::verify`.
    pub fn verify(
        &self,
        signer: &Identity,
        field: &'static str,
        message: &[u8],
        signature: &[u8],
    ) -> NodeResult<()> {
        let Identity::Evm(address) = signer else {
            return Ok(signer.verify(field, message, signature)?);
        };
        if self.limit == 0 {
            return Ok(signer.verify(field, message, signature)?);
        }
        let bad = || NodeError::Invalid(protocol::Error::BadSignature { field });
        if signature.len() != 65 {
            // As `Identity::verify` answers.
            return Ok(signer.verify(field, message, signature)?);
        }
        let known = self
            .keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(address)
            .copied();
        if let Some(key) = known {
            return verify_eip191(message, signature, &key).map_err(|_| bad());
        }
        let key = recover_eip191_key(message, signature).map_err(|_| bad())?;
        if key.address() != *address {
            return Err(bad());
        }
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= self.limit {
            keys.clear();
        }
        keys.insert(*address, key);
        Ok(())
    }
}

/// Verifies the chain id, the transaction signature, every credential signature the action
/// carries, and a delegated write grant's dates and owner signature.
pub fn verify_stateless(stx: &SignedTransaction, chain_id: &str, keys: &EvmKeys) -> NodeResult<()> {
    if stx.tx.chain_id != chain_id {
        return Err(NodeError::WrongChainId {
            expected: chain_id.to_owned(),
            got: stx.tx.chain_id.clone(),
        });
    }
    keys.verify(
        &stx.tx.signer,
        "transaction signature",
        stx.tx.signing_text().as_bytes(),
        &stx.signature,
    )?;
    for credential in credential_inputs(&stx.tx.action) {
        credential.verify_signatures()?;
    }
    if let Action::CreateCredentialsByDwg(a) = &stx.tx.action {
        a.grant.times()?;
        let message = a.grant.message(chain_id)?;
        a.grant.owner_wallet_identifier.verify(
            "grant_signature",
            message.as_bytes(),
            &a.grant_signature,
        )?;
    }
    Ok(())
}

/// The signed credentials an action writes.
fn credential_inputs(action: &Action) -> Vec<&CredentialInput> {
    match action {
        Action::UpsertCredentialAsInserter(a) => vec![&a.credential],
        Action::AddCredential(a) => vec![&a.credential],
        Action::EditCredential(a) => vec![&a.credential],
        Action::ShareCredential(a) => vec![&a.copy],
        Action::CreateCredentialsByDwg(a) => vec![&a.original, &a.copy],
        Action::AddInserter(_)
        | Action::DeleteInserter(_)
        | Action::AddDelegate(_)
        | Action::DeleteDelegate(_)
        | Action::AddUserAsInserter(_)
        | Action::UpsertWalletAsInserter(_)
        | Action::AddAttributeAsInserter(_)
        | Action::AddWallet(_)
        | Action::RemoveWallet(_)
        | Action::RemoveCredential(_)
        | Action::AddAttribute(_)
        | Action::EditAttribute(_)
        | Action::RemoveAttribute(_)
        | Action::ShareAttribute(_)
        | Action::RevokeAccessGrant(_)
        | Action::RotateEncryptionKey(_)
        | Action::RescindSharedCredential(_)
        | Action::EditPublicNotesAsIssuer(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::identity::SigningKey;

    fn evm_keys(n: u8) -> Vec<SigningKey> {
        (1..=n)
            .map(|i| SigningKey::evm_from_bytes(&[i; 32]).unwrap())
            .collect()
    }

    /// The verdicts are `Identity::verify`'s whatever the cache holds (the determinism tests
    /// show that); what the cache holds is what these pin: a key learned from each good
    /// signature, none from a bad one, none when turned off, never more than its limit.
    #[test]
    fn the_cache_learns_keys_from_good_signatures_only_up_to_its_limit() {
        let signers = evm_keys(3);
        let cache = EvmKeys::with_limit(2);
        let stranger = SigningKey::evm_from_bytes(&[9; 32]).unwrap();
        let forged = stranger.sign(b"m");
        assert!(
            cache
                .verify(&signers[0].identity(), "sig", b"m", &forged)
                .is_err()
        );
        assert!(
            cache.is_empty(),
            "a signature by someone else teaches nothing"
        );
        for (i, signer) in signers.iter().enumerate().take(2) {
            let sig = signer.sign(b"m");
            cache.verify(&signer.identity(), "sig", b"m", &sig).unwrap();
            assert_eq!(cache.len(), i + 1);
            assert!(!cache.is_empty());
        }
        // Full: it starts again empty with the newcomer.
        let sig = signers[2].sign(b"m");
        cache
            .verify(&signers[2].identity(), "sig", b"m", &sig)
            .unwrap();
        assert_eq!(cache.len(), 1);

        let off = EvmKeys::with_limit(0);
        let sig = signers[0].sign(b"m");
        off.verify(&signers[0].identity(), "sig", b"m", &sig)
            .unwrap();
        assert!(off.is_empty(), "a cache of size 0 remembers nothing");
    }

    #[test]
    fn fail_a_signature_of_the_wrong_length_is_refused_for_its_length_on_both_paths() {
        let signer = &evm_keys(1)[0];
        let cache = EvmKeys::default();
        let sig = signer.sign(b"m");
        for short in [&sig[..64], &sig[..0]] {
            let err = cache
                .verify(&signer.identity(), "sig", b"m", short)
                .unwrap_err();
            assert_eq!(err.code(), "invalid_length");
        }
        cache.verify(&signer.identity(), "sig", b"m", &sig).unwrap();
        assert_eq!(cache.len(), 1);
        let err = cache
            .verify(&signer.identity(), "sig", b"m", &sig[..64])
            .unwrap_err();
        assert_eq!(err.code(), "invalid_length", "with the key learned too");
    }
}
