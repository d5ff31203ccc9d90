//! Answering reads (idOS's views) for a proven caller.

use protocol::identity::Identity;
use protocol::query::{PageRequest, Query};
use protocol::records::{CredentialSummary, Cursor, Page, QueryOutput};
use protocol::wallet::{wallet_approval_message, wallet_ownership_message};
use uuid::Uuid;

use crate::access::*;
use crate::directory::{self, ListKey};
use crate::error::NodeError;
use crate::rows::*;
use crate::table::{Read, Table, key};

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
) -> Result<QueryOutput> {
    // Only the public reads may be anonymous. The match below names every read, so a new
    // one cannot be added without saying what it answers.
    if caller.is_none() && !query.is_public() {
        return Err(unsigned(query));
    }
    let caller_id = || caller.ok_or_else(|| unsigned(query));
    let user = || caller_user(r, caller_id()?);
    let out = match query {
        Query::GetUser => {
            let id = user()?;
            QueryOutput::User(
                crate::access::user(r, &id)?
                    .ok_or_else(|| NodeError::not_found("user", id))?
                    .record(id),
            )
        }
        Query::GetUserAsInserter { id } => {
            require_inserter(r, caller_id()?)?;
            QueryOutput::User(
                crate::access::user(r, id)?
                    .ok_or_else(|| NodeError::not_found("user", id))?
                    .record(*id),
            )
        }
        Query::CredentialExistAsInserter { id } => {
            require_inserter(r, caller_id()?)?;
            QueryOutput::Bool(r.contains(Table::Credentials, &key::uuid(id))?)
        }
        Query::GetWallets { page } => {
            let user = user()?;
            QueryOutput::Wallets(page_of(r, &wallets_of(&user), page, |id| {
                Ok(r.row::<WalletRow>(Table::Wallets, &key::uuid(&id))?
                    .map(|w| w.record(id, ctx.chain_id)))
            })?)
        }
        Query::GetCredentials { page } => {
            let user = user()?;
            QueryOutput::Credentials(page_of(r, &credentials_of(&user), page, |id| {
                summary(r, id)
            })?)
        }
        Query::GetCredentialOwned { id } => {
            let row = owned_credential(r, &user()?, id)?;
            let mut record = row.record(*id);
            record.public_notes = shown_public_notes(r, &row)?;
            QueryOutput::Credential(record)
        }
        Query::GetAttributes { page } => {
            let user = user()?;
            QueryOutput::Attributes(page_of(r, &attributes_of(&user), page, |id| {
                Ok(attribute(r, &id)?.map(|a| a.record(id)))
            })?)
        }
        Query::GetAccessGrantsOwned { page } => {
            let user = user()?;
            QueryOutput::AccessGrants(page_of(r, &grants_of_owner(&user), page, |id| {
                Ok(grant(r, &id)?.map(|g| g.record(id)))
            })?)
        }
        Query::HasLockedAccessGrants { id } => {
            owned_credential(r, &user()?, id)?;
            QueryOutput::Bool(latest_locked_grant(r, id, ctx.block_time)?.is_some())
        }
        Query::GetAccessGrantsGranted { user_id, page } => {
            let list = grants_to(caller_id()?, user_id.as_ref());
            QueryOutput::AccessGrants(page_of(r, &list, page, |id| {
                Ok(grant(r, &id)?.map(|g| g.record(id)))
            })?)
        }
        Query::GetAccessGrantsGrantedCount { user_id } => QueryOutput::Count(match user_id {
            None => directory::total(r, &grants_to(caller_id()?, None))?,
            Some(owner) => directory::total(r, &grants_to(caller_id()?, Some(owner)))?,
        }),
        Query::GetAccessGrantsForCredential {
            credential_id,
            page,
        } => {
            // The caller's own grant on the credential, by one point read: a proof of the
            // answer shows nothing of the grants anyone else holds.
            let after = cursor_id(page)?;
            let grant = grant_to_on(r, caller_id()?, credential_id)?
                .filter(|(id, _)| after.is_none_or(|after| *id > after))
                .filter(|_| page.limit > 0);
            QueryOutput::AccessGrants(Page {
                items: grant.map(|(id, g)| g.record(id)).into_iter().collect(),
                next_cursor: None,
            })
        }
        Query::GetCredentialShared { id } => {
            QueryOutput::Credential(shared_copy(r, caller_id()?, id)?)
        }
        Query::GetCredentialsSharedByUser {
            user_id,
            original_issuer_auth_public_key,
            page,
        } => {
            let list = grants_to(caller_id()?, Some(user_id));
            QueryOutput::Credentials(page_of(r, &list, page, |grant_id| {
                let Some(g) = grant(r, &grant_id)? else {
                    return Ok(None);
                };
                let Some(copy) = credential(r, &g.data_id)? else {
                    return Ok(None);
                };
                if let Some(issuer) = original_issuer_auth_public_key {
                    let original = match copy.original_id {
                        Some(original_id) => credential(r, &original_id)?,
                        None => None,
                    };
                    if original.map(|o| o.issuer_auth_public_key) != Some(*issuer) {
                        return Ok(None);
                    }
                }
                Ok(Some(copy.summary(g.data_id)))
            })?)
        }
        Query::GetSiblingCredentialId { content_hash } => {
            let list = grants_to_of_content(caller_id()?, content_hash);
            let data_id = match directory::first(r, &list)? {
                Some(entry) => grant(r, &id_of_entry(&list, &entry)?)?.map(|g| g.data_id),
                None => None,
            };
            QueryOutput::CredentialId(data_id)
        }
        Query::HasProfile { .. }
        | Query::DwgMessage { .. }
        | Query::WalletProofMessage { .. }
        | Query::NextNonce { .. }
        | Query::WalletApprovalMessage { .. } => answer_public(r, ctx, query)?,
    };
    Ok(out)
}

fn unsigned(query: &Query) -> NodeError {
    NodeError::Unauthorized(format!(
        "{} needs a signed read (by the caller or an attesting gateway)",
        query.name()
    ))
}

fn answer_public<R: Read>(r: &R, ctx: &ReadContext<'_>, query: &Query) -> Result<QueryOutput> {
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
        Query::WalletApprovalMessage {
            user_id,
            approver,
            new_wallet,
            proof_nonce,
        } => QueryOutput::Message(wallet_approval_message(
            user_id,
            approver,
            new_wallet,
            ctx.chain_id,
            proof_nonce,
        )),
        Query::GetUser
        | Query::GetUserAsInserter { .. }
        | Query::CredentialExistAsInserter { .. }
        | Query::GetWallets { .. }
        | Query::GetCredentials { .. }
        | Query::GetCredentialOwned { .. }
        | Query::GetAttributes { .. }
        | Query::GetAccessGrantsOwned { .. }
        | Query::HasLockedAccessGrants { .. }
        | Query::GetAccessGrantsGranted { .. }
        | Query::GetAccessGrantsGrantedCount { .. }
        | Query::GetAccessGrantsForCredential { .. }
        | Query::GetCredentialShared { .. }
        | Query::GetCredentialsSharedByUser { .. }
        | Query::GetSiblingCredentialId { .. } => return Err(unsigned(query)),
    })
}

/// One page of a list read: up to `page.limit` entries of `list` after the cursor, each turned
/// into an item by `item` (which may skip it by answering `None`). Reads the chunks that hold
/// `limit + 1` entries and what `item` reads for each, never the rest of the list.
fn page_of<R: Read, T>(
    r: &R,
    list: &ListKey,
    page: &PageRequest,
    mut item: impl FnMut(Uuid) -> Result<Option<T>>,
) -> Result<Page<T>> {
    let after = match &page.after {
        None => None,
        Some(cursor) if cursor.as_bytes().len() == list.list.entry_len() => Some(cursor.as_bytes()),
        Some(_) => return Err(bad_cursor()),
    };
    let (entries, more) = directory::page(r, list, after, page.limit as usize)?;
    let next_cursor = match entries.last() {
        Some(last) if more => Some(Cursor::new(last.clone())?),
        _ => None,
    };
    let mut items = Vec::with_capacity(entries.len());
    for entry in &entries {
        if let Some(found) = item(id_of_entry(list, entry)?)? {
            items.push(found);
        }
    }
    Ok(Page { items, next_cursor })
}

fn bad_cursor() -> NodeError {
    protocol::Error::invalid(
        "cursor",
        "not a cursor of this read; pass back the next_cursor of its previous page",
    )
    .into()
}

/// The cursor of a read whose items are ids.
fn cursor_id(page: &PageRequest) -> Result<Option<Uuid>> {
    match &page.after {
        None => Ok(None),
        Some(cursor) => Uuid::from_slice(cursor.as_bytes())
            .map(Some)
            .map_err(|_| bad_cursor()),
    }
}

/// The id at the end of a list entry.
fn id_of_entry(list: &ListKey, entry: &[u8]) -> Result<Uuid> {
    key::trailing_uuid(entry).ok_or_else(|| {
        NodeError::corrupt(
            format!("entry of the {}", list.list.name()),
            "no trailing id",
        )
    })
}

/// A credential's list view, with the public notes it shows.
fn summary<R: Read>(r: &R, id: Uuid) -> Result<Option<CredentialSummary>> {
    let Some(row) = credential(r, &id)? else {
        return Ok(None);
    };
    let mut summary = row.summary(id);
    summary.public_notes = shown_public_notes(r, &row)?;
    Ok(Some(summary))
}

/// A copy shared with `grantee`, carrying its original's public notes (copies have none).
fn shared_copy<R: Read>(
    r: &R,
    grantee: &Identity,
    id: &Uuid,
) -> Result<protocol::records::CredentialRecord> {
    let not_found = || NodeError::not_found("credential shared with you", id);
    let copy = credential(r, id)?.ok_or_else(not_found)?;
    if grant_to_on(r, grantee, id)?.is_none() {
        return Err(not_found());
    }
    let mut record = copy.record(*id);
    if let Some(original_id) = copy.original_id
        && let Some(original) = credential(r, &original_id)?
    {
        record.public_notes = shown_public_notes(r, &original)?;
    }
    Ok(record)
}
