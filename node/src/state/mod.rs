//! The idOS state machine: what each action checks and changes, and what each read returns.
//!
//! - `exec`: transactions (idOS's mutating actions), against layered `Working` state;
//! - `read`: queries (idOS's views), against any `Read`;
//! - `role`: who may sign each action at all, checked before a nonce is used up;
//! - `verify`: the stateless checks (signatures, chain id);
//! - this module: lookups both share, and the index maintenance every write goes through, so
//!   that no action can leave an index out of step with its table.

pub mod exec;
pub mod read;
pub mod role;
pub mod rows;
pub mod verify;

use protocol::identity::Identity;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{NodeError, NodeResult};
use crate::store::{Read, Table, Write, key};
use rows::*;

/// What a block gives the transactions it executes.
#[derive(Debug, Clone)]
pub struct BlockContext {
    pub chain_id: String,
    pub height: u64,
    /// Block time, unix seconds: what time locks and grant windows compare to.
    pub time: i64,
    /// The network operator's key (owner actions).
    pub owner: Identity,
}

/// The wallet row linked to `identity`, if any.
pub fn wallet_of<R: Read + ?Sized>(
    r: &R,
    identity: &Identity,
) -> NodeResult<Option<(Uuid, WalletRow)>> {
    let Some(id_bytes) = r.get(Table::WalletsByAddress, &key::identity(identity))? else {
        return Ok(None);
    };
    let id = key::trailing_uuid(&id_bytes)
        .ok_or_else(|| NodeError::Storage("corrupt wallet index".into()))?;
    Ok(r.row::<WalletRow>(Table::Wallets, &key::uuid(&id))?
        .map(|row| (id, row)))
}

/// The user whose profile `caller` signs for (idOS's `CALLER_USER`).
pub fn caller_user<R: Read + ?Sized>(r: &R, caller: &Identity) -> NodeResult<Uuid> {
    wallet_of(r, caller)?
        .map(|(_, w)| w.user_id)
        .ok_or_else(|| NodeError::NoProfile(caller.display_name()))
}

/// The inserter `identity` is a delegate of: `(inserter id, name)`.
pub fn inserter_of<R: Read + ?Sized>(
    r: &R,
    identity: &Identity,
) -> NodeResult<Option<(Uuid, String)>> {
    let Some(bytes) = r.get(Table::Delegates, &key::identity(identity))? else {
        return Ok(None);
    };
    let id =
        Uuid::from_slice(&bytes).map_err(|_| NodeError::Storage("corrupt delegate row".into()))?;
    let row = r.row::<InserterRow>(Table::Inserters, &key::uuid(&id))?;
    Ok(row.map(|row| (id, row.name)))
}

/// Like [`inserter_of`], refusing callers that are not delegates (idOS's `get_inserter`).
pub fn require_inserter<R: Read + ?Sized>(
    r: &R,
    identity: &Identity,
) -> NodeResult<(Uuid, String)> {
    inserter_of(r, identity)?.ok_or_else(|| {
        NodeError::Unauthorized(format!(
            "{} is not a delegate of any inserter",
            identity.display_name()
        ))
    })
}

pub fn user<R: Read + ?Sized>(r: &R, id: &Uuid) -> NodeResult<Option<UserRow>> {
    r.row(Table::Users, &key::uuid(id))
}

pub fn credential<R: Read + ?Sized>(r: &R, id: &Uuid) -> NodeResult<Option<CredentialRow>> {
    r.row(Table::Credentials, &key::uuid(id))
}

/// A credential of `user`; someone else's looks exactly like a missing one.
pub fn owned_credential<R: Read + ?Sized>(
    r: &R,
    user: &Uuid,
    id: &Uuid,
) -> NodeResult<CredentialRow> {
    match credential(r, id)? {
        Some(row) if row.user_id == *user => Ok(row),
        _ => Err(NodeError::not_found("credential", id)),
    }
}

pub fn attribute<R: Read + ?Sized>(r: &R, id: &Uuid) -> NodeResult<Option<AttributeRow>> {
    r.row(Table::Attributes, &key::uuid(id))
}

pub fn grant<R: Read + ?Sized>(r: &R, id: &Uuid) -> NodeResult<Option<GrantRow>> {
    r.row(Table::Grants, &key::uuid(id))
}

/// Rows of the ids found at the end of the keys under `prefix` in an index.
fn rows_by_index<R: Read + ?Sized, T: borsh::BorshDeserialize>(
    r: &R,
    index: Table,
    prefix: &[u8],
    table: Table,
) -> NodeResult<Vec<(Uuid, T)>> {
    let mut out = Vec::new();
    for k in r.scan_keys(index, prefix)? {
        let id = key::trailing_uuid(&k)
            .ok_or_else(|| NodeError::Storage(format!("corrupt {} key", index.name())))?;
        if let Some(row) = r.row::<T>(table, &key::uuid(&id))? {
            out.push((id, row));
        }
    }
    Ok(out)
}

/// Access grants on one credential (grants point at copies).
pub fn grants_on<R: Read + ?Sized>(r: &R, data_id: &Uuid) -> NodeResult<Vec<(Uuid, GrantRow)>> {
    rows_by_index(r, Table::GrantsByData, &key::uuid(data_id), Table::Grants)
}

/// Ids of the copies made from an original.
pub fn copies_of<R: Read + ?Sized>(r: &R, original: &Uuid) -> NodeResult<Vec<Uuid>> {
    Ok(r.scan_keys(Table::CopiesByOriginal, &key::uuid(original))?
        .iter()
        .filter_map(|k| key::trailing_uuid(k))
        .collect())
}

/// The first grant still locked at `now` on `credential_id` or, when it is an original, on any
/// of its copies. idOS checks only the credential's own grants, which never exist for an
/// original (grants point at copies), so it lets an original with locked copies be deleted.
pub fn first_locked_grant<R: Read + ?Sized>(
    r: &R,
    credential_id: &Uuid,
    now: i64,
) -> NodeResult<Option<(Uuid, GrantRow)>> {
    let mut ids = vec![*credential_id];
    ids.extend(copies_of(r, credential_id)?);
    for id in ids {
        if let Some(found) = grants_on(r, &id)?
            .into_iter()
            .find(|(_, g)| g.is_locked_at(now))
        {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The nonce the next transaction of `signer` must carry.
pub fn next_nonce<R: Read + ?Sized>(r: &R, signer: &Identity) -> NodeResult<u64> {
    let last = match r.get(Table::Nonces, &key::identity(signer))? {
        Some(bytes) => u64::from_be_bytes(
            bytes
                .try_into()
                .map_err(|_| NodeError::Storage("corrupt nonce".into()))?,
        ),
        None => 0,
    };
    Ok(last + 1)
}

pub fn set_nonce<W: Write + ?Sized>(w: &mut W, signer: &Identity, nonce: u64) {
    w.put(
        Table::Nonces,
        key::identity(signer),
        nonce.to_be_bytes().to_vec(),
    );
}

fn vc_index_key(issuer: &protocol::bytes::Ed25519PublicKey, vc_id: &str, id: &Uuid) -> Vec<u8> {
    key::cat(&[
        issuer.as_bytes(),
        &Sha256::digest(vc_id.as_bytes()),
        &key::uuid(id),
    ])
}

/// Index prefix of credentials by issuer and verifiable credential id.
pub fn vc_index_prefix(issuer: &protocol::bytes::Ed25519PublicKey, vc_id: &str) -> Vec<u8> {
    key::cat(&[issuer.as_bytes(), &Sha256::digest(vc_id.as_bytes())])
}

/// Writes a credential row and its indexes (replacing `previous` if the id existed).
pub fn put_credential<W: Write + ?Sized>(
    w: &mut W,
    id: &Uuid,
    row: &CredentialRow,
    previous: Option<&CredentialRow>,
) {
    if let Some(old) = previous {
        remove_credential_indexes(w, id, old);
    }
    let idk = key::uuid(id);
    w.put_row(Table::Credentials, idk.to_vec(), row);
    w.mark(
        Table::CredentialsByUser,
        key::cat(&[&key::uuid(&row.user_id), &idk]),
    );
    if let Some(vc_id) = &row.verifiable_credential_id {
        w.mark(
            Table::CredentialsByVcId,
            vc_index_key(&row.issuer_auth_public_key, vc_id, id),
        );
    }
    if let Some(original) = &row.original_id {
        w.mark(
            Table::CopiesByOriginal,
            key::cat(&[&key::uuid(original), &idk]),
        );
    }
}

fn remove_credential_indexes<W: Write + ?Sized>(w: &mut W, id: &Uuid, row: &CredentialRow) {
    let idk = key::uuid(id);
    w.delete(
        Table::CredentialsByUser,
        key::cat(&[&key::uuid(&row.user_id), &idk]),
    );
    if let Some(vc_id) = &row.verifiable_credential_id {
        w.delete(
            Table::CredentialsByVcId,
            vc_index_key(&row.issuer_auth_public_key, vc_id, id),
        );
    }
    if let Some(original) = &row.original_id {
        w.delete(
            Table::CopiesByOriginal,
            key::cat(&[&key::uuid(original), &idk]),
        );
    }
}

/// Deletes a credential with its indexes and the links from its copies (the copies stay, as in
/// idOS; they keep their own grants).
pub fn delete_credential<S: Read + Write + ?Sized>(
    s: &mut S,
    id: &Uuid,
    row: &CredentialRow,
) -> NodeResult<()> {
    remove_credential_indexes(s, id, row);
    for copy in copies_of(s, id)? {
        s.delete(
            Table::CopiesByOriginal,
            key::cat(&[&key::uuid(id), &key::uuid(&copy)]),
        );
    }
    s.delete(Table::Credentials, key::uuid(id).to_vec());
    Ok(())
}

fn grant_index_keys(id: &Uuid, g: &GrantRow) -> [(Table, Vec<u8>); 4] {
    let idk = key::uuid(id);
    let grantee = key::identity(&g.grantee);
    [
        (
            Table::GrantsByData,
            key::cat(&[&key::uuid(&g.data_id), &idk]),
        ),
        (
            Table::GrantsByGrantee,
            key::cat(&[&grantee, &g.height.to_be_bytes(), &idk]),
        ),
        (
            Table::GrantsByGranteeHash,
            key::cat(&[&grantee, g.content_hash.as_bytes(), &idk]),
        ),
        (
            Table::GrantsByOwner,
            key::cat(&[&key::uuid(&g.owner), &idk]),
        ),
    ]
}

pub fn put_grant<W: Write + ?Sized>(w: &mut W, id: &Uuid, g: &GrantRow) {
    w.put_row(Table::Grants, key::uuid(id).to_vec(), g);
    for (table, k) in grant_index_keys(id, g) {
        w.mark(table, k);
    }
}

pub fn delete_grant<W: Write + ?Sized>(w: &mut W, id: &Uuid, g: &GrantRow) {
    w.delete(Table::Grants, key::uuid(id).to_vec());
    for (table, k) in grant_index_keys(id, g) {
        w.delete(table, k);
    }
}

pub fn put_attribute<W: Write + ?Sized>(w: &mut W, id: &Uuid, row: &AttributeRow) {
    let idk = key::uuid(id);
    w.put_row(Table::Attributes, idk.to_vec(), row);
    w.mark(
        Table::AttributesByUser,
        key::cat(&[&key::uuid(&row.user_id), &idk]),
    );
    if let Some(original) = &row.original_id {
        w.mark(
            Table::AttributeCopiesByOriginal,
            key::cat(&[&key::uuid(original), &idk]),
        );
    }
}

pub fn delete_attribute<S: Read + Write + ?Sized>(
    s: &mut S,
    id: &Uuid,
    row: &AttributeRow,
) -> NodeResult<()> {
    let idk = key::uuid(id);
    s.delete(Table::Attributes, idk.to_vec());
    s.delete(
        Table::AttributesByUser,
        key::cat(&[&key::uuid(&row.user_id), &idk]),
    );
    if let Some(original) = &row.original_id {
        s.delete(
            Table::AttributeCopiesByOriginal,
            key::cat(&[&key::uuid(original), &idk]),
        );
    }
    for k in s.scan_keys(Table::AttributeCopiesByOriginal, &idk)? {
        s.delete(Table::AttributeCopiesByOriginal, k);
    }
    Ok(())
}

pub fn put_wallet<W: Write + ?Sized>(w: &mut W, id: &Uuid, row: &WalletRow) {
    let idk = key::uuid(id);
    w.put_row(Table::Wallets, idk.to_vec(), row);
    w.put(
        Table::WalletsByAddress,
        key::identity(&row.wallet),
        idk.to_vec(),
    );
    w.mark(
        Table::WalletsByUser,
        key::cat(&[&key::uuid(&row.user_id), &idk]),
    );
}

pub fn delete_wallet<W: Write + ?Sized>(w: &mut W, id: &Uuid, row: &WalletRow) {
    let idk = key::uuid(id);
    w.delete(Table::Wallets, idk.to_vec());
    w.delete(Table::WalletsByAddress, key::identity(&row.wallet));
    w.delete(
        Table::WalletsByUser,
        key::cat(&[&key::uuid(&row.user_id), &idk]),
    );
}

/// Credentials of a user (originals and copies), in id order.
pub fn credentials_of<R: Read + ?Sized>(
    r: &R,
    user: &Uuid,
) -> NodeResult<Vec<(Uuid, CredentialRow)>> {
    rows_by_index(
        r,
        Table::CredentialsByUser,
        &key::uuid(user),
        Table::Credentials,
    )
}

pub fn wallets_of<R: Read + ?Sized>(r: &R, user: &Uuid) -> NodeResult<Vec<(Uuid, WalletRow)>> {
    rows_by_index(r, Table::WalletsByUser, &key::uuid(user), Table::Wallets)
}

pub fn attributes_of<R: Read + ?Sized>(
    r: &R,
    user: &Uuid,
) -> NodeResult<Vec<(Uuid, AttributeRow)>> {
    rows_by_index(
        r,
        Table::AttributesByUser,
        &key::uuid(user),
        Table::Attributes,
    )
}

pub fn grants_owned_by<R: Read + ?Sized>(r: &R, user: &Uuid) -> NodeResult<Vec<(Uuid, GrantRow)>> {
    rows_by_index(r, Table::GrantsByOwner, &key::uuid(user), Table::Grants)
}

/// Grants to `grantee`, ordered by height then id.
pub fn grants_to<R: Read + ?Sized>(r: &R, grantee: &Identity) -> NodeResult<Vec<(Uuid, GrantRow)>> {
    rows_by_index(
        r,
        Table::GrantsByGrantee,
        &key::identity(grantee),
        Table::Grants,
    )
}
