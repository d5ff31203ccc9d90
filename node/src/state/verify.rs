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
