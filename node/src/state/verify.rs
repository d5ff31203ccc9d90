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
/// cost one. Bounded: when full it starts again empty.
#[derive(Debug, Default)]
pub struct EvmKeys(Mutex<HashMap<EvmAddress, EvmPublicKey>>);

impl EvmKeys {
    const LIMIT: usize = 100_000;

    /// Checks that `signer` signed `message`, as `Identity::verify` does.
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
        let bad = || NodeError::Invalid(protocol::Error::BadSignature { field });
        let known = self
            .0
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
        let mut keys = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= Self::LIMIT {
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
        _ => Vec::new(),
    }
}
