//! Who may sign an action at all: the role check every transaction passes before it may use up
//! a nonce or wait in a mempool.
//!
//! A transaction whose signer holds no role for its action is refused without a trace: no
//! `Nonces` row, no mempool entry. Otherwise a stream of fresh keys (each signing one
//! transaction that is sure to fail) would grow every validator's state forever. The check
//! runs in CheckTx against committed state and again in FinalizeBlock against the block's
//! state so far, so a Byzantine proposer who includes such transactions gains nothing either.
//!
//! Each rule is the first check the action's execution makes itself (`exec`), so moving it
//! forward changes no verdict, only that the refusal no longer consumes the nonce. The one
//! addition is for `create_credentials_by_dwg`, whose execution checks the grant and the
//! issuer keys but not who submits: its submitter must be a delegate of an inserter (the
//! issuer's backend, as in idOS practice) or hold a profile. Each rule costs a few point
//! reads and at most one prefix read bounded by its own arguments.

use protocol::action::Action;
use protocol::identity::Identity;

use super::{grant_on, inserter_of, vc_index_prefix, wallet_of};
use crate::error::{NodeError, NodeResult};
use crate::store::{Read, Table};

/// Refuses `signer` unless it holds the role `action` needs in state `r`. `owner` is the
/// network owner from the genesis.
pub fn require_role<R: Read + ?Sized>(
    r: &R,
    owner: &Identity,
    signer: &Identity,
    action: &Action,
) -> NodeResult<()> {
    let owner_only = || {
        if signer == owner {
            Ok(())
        } else {
            Err(NodeError::Unauthorized(
                "only the network owner may do this".into(),
            ))
        }
    };
    let delegate = || -> NodeResult<()> {
        match inserter_of(r, signer)? {
            Some(_) => Ok(()),
            None => Err(NodeError::Unauthorized(format!(
                "{} is not a delegate of any inserter",
                signer.display_name()
            ))),
        }
    };
    let profile = || -> NodeResult<()> {
        match wallet_of(r, signer)? {
            Some(_) => Ok(()),
            None => Err(NodeError::NoProfile(signer.display_name())),
        }
    };
    match action {
        Action::AddInserter(_)
        | Action::DeleteInserter(_)
        | Action::AddDelegate(_)
        | Action::DeleteDelegate(_) => owner_only(),
        Action::AddUserAsInserter(_)
        | Action::UpsertWalletAsInserter(_)
        | Action::UpsertCredentialAsInserter(_)
        | Action::AddAttributeAsInserter(_) => delegate(),
        Action::AddWallet(_)
        | Action::RemoveWallet(_)
        | Action::AddCredential(_)
        | Action::EditCredential(_)
        | Action::RemoveCredential(_)
        | Action::ShareCredential(_)
        | Action::AddAttribute(_)
        | Action::EditAttribute(_)
        | Action::RemoveAttribute(_)
        | Action::ShareAttribute(_)
        | Action::RevokeAccessGrant(_)
        | Action::RotateEncryptionKey(_) => profile(),
        Action::RescindSharedCredential(a) => {
            // Grants point at copies, one per copy: this reads one row.
            if grant_on(r, &a.credential_id)?.is_some_and(|(_, g)| g.grantee == *signer) {
                Ok(())
            } else {
                Err(NodeError::not_found(
                    "access grant to you on credential",
                    a.credential_id,
                ))
            }
        }
        Action::EditPublicNotesAsIssuer(a) => {
            let issued = match signer {
                Identity::Ed25519(issuer) => r
                    .first_key(
                        Table::CredentialsByVcId,
                        &vc_index_prefix(issuer, &a.public_notes_id),
                    )?
                    .is_some(),
                // Credentials are signed by raw Ed25519 issuer keys: no wallet identity is one.
                Identity::Evm(_) | Identity::Near(_) | Identity::Xrpl(_) | Identity::Stellar(_) => {
                    return Err(NodeError::Unauthorized(
                        "public notes are edited by the issuer's Ed25519 key".into(),
                    ));
                }
            };
            if issued {
                Ok(())
            } else {
                Err(NodeError::not_found(
                    "credential issued by you with public notes id",
                    &a.public_notes_id,
                ))
            }
        }
        Action::CreateCredentialsByDwg(_) => match delegate() {
            Ok(()) => Ok(()),
            Err(_) => profile().map_err(|_| {
                NodeError::Unauthorized(format!(
                    "{} may not submit delegated writes: it is neither a delegate of an inserter nor linked to a profile",
                    signer.display_name()
                ))
            }),
        },
    }
}
