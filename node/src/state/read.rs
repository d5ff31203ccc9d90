//! Answering reads (idOS's views) for a proven caller.

use std::collections::BTreeSet;

use protocol::identity::Identity;
use protocol::query::Query;
use protocol::records::QueryOutput;
use protocol::wallet::wallet_ownership_message;
use uuid::Uuid;

use super::rows::*;
use super::*;
use crate::error::{NodeError, NodeResult};
use crate::store::{Read, Table, key};

/// Everything a read may depend on besides the state.
#[derive(Debug, Clone)]
pub struct ReadContext<'a> {
    pub chain_id: &'a str,
    /// Time of the last committed block: what "locked" means for reads.
    pub block_time: i64,
}

/// Answers `query` for `caller` (already authenticated; `None` for anonymous reads).
pub fn answer<R: Read>(
    r: &R,
    ctx: &ReadContext<'_>,
    caller: Option<&Identity>,
    query: &Query,
) -> NodeResult<QueryOutput> {
    let caller = match (caller, query.is_public()) {
        (_, true) => return answer_public(r, ctx, query),
        (Some(caller), false) => caller,
        (None, false) => {
            return Err(NodeError::Unauthorized(format!(
                "{} needs a signed read (by the caller or an attesting gateway)",
                query.name()
            )));
        }
    };
    let user = || caller_user(r, caller);
    let out = match query {
        Query::GetUser => {
            let id = user()?;
            QueryOutput::User(
                super::user(r, &id)?
                    .ok_or_else(|| NodeError::not_found("user", id))?
                    .record(id),
            )
        }
        Query::GetUserAsInserter { id } => {
            require_inserter(r, caller)?;
            QueryOutput::User(
                super::user(r, id)?
                    .ok_or_else(|| NodeError::not_found("user", id))?
                    .record(*id),
            )
        }
        Query::CredentialExistAsInserter { id } => {
            require_inserter(r, caller)?;
            QueryOutput::Bool(r.contains(Table::Credentials, &key::uuid(id))?)
        }
        Query::GetWallets => QueryOutput::Wallets(
            wallets_of(r, &user()?)?
                .into_iter()
                .map(|(id, w)| w.record(id, ctx.chain_id))
                .collect(),
        ),
        Query::GetCredentials => QueryOutput::Credentials(
            credentials_of(r, &user()?)?
                .into_iter()
                .map(|(id, c)| c.summary(id))
                .collect(),
        ),
        Query::GetCredentialOwned { id } => {
            QueryOutput::Credential(owned_credential(r, &user()?, id)?.record(*id))
        }
        Query::GetAttributes => QueryOutput::Attributes(
            attributes_of(r, &user()?)?
                .into_iter()
                .map(|(id, a)| a.record(id))
                .collect(),
        ),
        Query::GetAccessGrantsOwned => QueryOutput::AccessGrants(
            grants_owned_by(r, &user()?)?
                .into_iter()
                .map(|(id, g)| g.record(id))
                .collect(),
        ),
        Query::HasLockedAccessGrants { id } => {
            owned_credential(r, &user()?, id)?;
            QueryOutput::Bool(first_locked_grant(r, id, ctx.block_time)?.is_some())
        }
        Query::GetAccessGrantsGranted {
            user_id,
            page,
            size,
        } => {
            let skip = (*page as usize - 1).saturating_mul(*size as usize);
            let records = match user_id {
                // Without an owner filter the page is cut from the index keys alone, so
                // only its own rows are read.
                None => {
                    let mut records = Vec::new();
                    for id in granted_ids(r, caller)?
                        .into_iter()
                        .skip(skip)
                        .take(*size as usize)
                    {
                        if let Some(g) = grant(r, &id)? {
                            records.push(g.record(id));
                        }
                    }
                    records
                }
                Some(owner) => granted(r, caller, owner)?
                    .into_iter()
                    .skip(skip)
                    .take(*size as usize)
                    .map(|(id, g)| g.record(id))
                    .collect(),
            };
            QueryOutput::AccessGrants(records)
        }
        Query::GetAccessGrantsGrantedCount { user_id } => QueryOutput::Count(match user_id {
            None => granted_ids(r, caller)?.len(),
            Some(owner) => granted(r, caller, owner)?.len(),
        } as u64),
        Query::GetAccessGrantsForCredential { credential_id } => QueryOutput::AccessGrants(
            grants_on(r, credential_id)?
                .into_iter()
                .filter(|(_, g)| g.grantee == *caller)
                .map(|(id, g)| g.record(id))
                .collect(),
        ),
        Query::GetCredentialShared { id } => QueryOutput::Credential(shared_copy(r, caller, id)?),
        Query::GetCredentialsSharedByUser {
            user_id,
            original_issuer_auth_public_key,
        } => {
            let copies: BTreeSet<Uuid> = granted(r, caller, user_id)?
                .into_iter()
                .map(|(_, g)| g.data_id)
                .collect();
            let mut out = Vec::new();
            for copy_id in copies {
                let Some(copy) = credential(r, &copy_id)? else {
                    continue;
                };
                if let Some(issuer) = original_issuer_auth_public_key {
                    let original = match copy.original_id {
                        Some(original_id) => credential(r, &original_id)?,
                        None => None,
                    };
                    if original.map(|o| o.issuer_auth_public_key) != Some(*issuer) {
                        continue;
                    }
                }
                out.push(copy.summary(copy_id));
            }
            QueryOutput::Credentials(out)
        }
        Query::GetSiblingCredentialId { content_hash } => {
            let prefix = key::cat(&[&key::identity(caller), content_hash.as_bytes()]);
            let first = r
                .scan_keys(Table::GrantsByGranteeHash, &prefix)?
                .into_iter()
                .next();
            let data_id = match first.and_then(|k| key::trailing_uuid(&k)) {
                Some(grant_id) => grant(r, &grant_id)?.map(|g| g.data_id),
                None => None,
            };
            QueryOutput::CredentialId(data_id)
        }
        other => {
            return Err(NodeError::Unauthorized(format!(
                "read {} is not supported by this node",
                other.name()
            )));
        }
    };
    Ok(out)
}

fn answer_public<R: Read>(r: &R, ctx: &ReadContext<'_>, query: &Query) -> NodeResult<QueryOutput> {
    Ok(match query {
        Query::HasProfile { address } => QueryOutput::Bool(wallet_of(r, address)?.is_some()),
        Query::DwgMessage { grant } => QueryOutput::Message(grant.message(ctx.chain_id)?),
        Query::WalletProofMessage {
            user_id,
            wallet,
            nonce,
        } => QueryOutput::Message(wallet_ownership_message(
            user_id,
            wallet,
            ctx.chain_id,
            nonce,
        )),
        Query::NextNonce { account } => QueryOutput::NextNonce(next_nonce(r, account)?),
        other => {
            return Err(NodeError::Unauthorized(format!(
                "{} is not a public read",
                other.name()
            )));
        }
    })
}

/// Grants to `grantee` (optionally only from one owner), ordered by height then id.
fn granted<R: Read>(r: &R, grantee: &Identity, owner: &Uuid) -> NodeResult<Vec<(Uuid, GrantRow)>> {
    let mut grants = grants_to(r, grantee)?;
    grants.retain(|(_, g)| g.owner == *owner);
    Ok(grants)
}

/// Ids of the grants to `grantee`, ordered by height then id, from the index alone.
fn granted_ids<R: Read>(r: &R, grantee: &Identity) -> NodeResult<Vec<Uuid>> {
    r.scan_keys(Table::GrantsByGrantee, &key::identity(grantee))?
        .iter()
        .map(|k| {
            key::trailing_uuid(k)
                .ok_or_else(|| NodeError::Storage("corrupt grants_by_grantee key".into()))
        })
        .collect()
}

/// A copy shared with `grantee`, carrying its original's public notes (copies have none).
fn shared_copy<R: Read>(
    r: &R,
    grantee: &Identity,
    id: &Uuid,
) -> NodeResult<protocol::records::CredentialRecord> {
    let not_found = || NodeError::not_found("credential shared with you", id);
    let copy = credential(r, id)?.ok_or_else(not_found)?;
    if !grants_on(r, id)?.iter().any(|(_, g)| g.grantee == *grantee) {
        return Err(not_found());
    }
    let mut record = copy.record(*id);
    if let Some(original_id) = copy.original_id {
        if let Some(original) = credential(r, &original_id)? {
            record.public_notes = original.public_notes;
        }
    }
    Ok(record)
}
