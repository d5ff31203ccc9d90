//! Stateless checks of a transaction: everything that depends only on its bytes and the chain
//! id, so it can run once in CheckTx, in parallel and outside any lock, and be skipped when
//! the block executes a transaction this node has checked already.

use protocol::action::{Action, CredentialInput};
use protocol::tx::SignedTransaction;

use crate::error::{NodeError, NodeResult};

/// Verifies the chain id, the transaction signature, every credential signature the action
/// carries, and a delegated write grant's dates and owner signature.
pub fn verify_stateless(stx: &SignedTransaction, chain_id: &str) -> NodeResult<()> {
    if stx.tx.chain_id != chain_id {
        return Err(NodeError::WrongChainId {
            expected: chain_id.to_owned(),
            got: stx.tx.chain_id.clone(),
        });
    }
    stx.verify_signature()?;
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
