//! Lookups that transactions and reads share, and the index maintenance every write goes
//! through, so that no action can leave an index out of step with its table.

use protocol::bytes::Sha256Digest;
use protocol::identity::Identity;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::directory::{self, List, ListKey};
use crate::error::NodeError;
use crate::rows::*;
use crate::table::{Read, Table, Write, key};

/// What the state machine's functions return: the crate's `NodeResult`, under the name
/// mutation testing (cargo-mutants) recognises, so that it also tries `Ok(..)` bodies.
pub type Result<T> = std::result::Result<T, NodeError>;

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
) -> Result<Option<(Uuid, WalletRow)>> {
    let Some(id_bytes) = r.get(Table::WalletsByAddress, &key::identity(identity))? else {
        return Ok(None);
    };
    let id = key::trailing_uuid(&id_bytes)
        .ok_or_else(|| NodeError::corrupt("wallet index entry", "not a wallet id"))?;
    Ok(r.row::<WalletRow>(Table::Wallets, &key::uuid(&id))?
        .map(|row| (id, row)))
}

/// The user whose profile `caller` signs for (idOS's `CALLER_USER`).
pub fn caller_user<R: Read + ?Sized>(r: &R, caller: &Identity) -> Result<Uuid> {
    wallet_of(r, caller)?
        .map(|(_, w)| w.user_id)
        .ok_or_else(|| NodeError::NoProfile(caller.display_name()))
}

/// The inserter `identity` is a delegate of: `(inserter id, name)`.
pub fn inserter_of<R: Read + ?Sized>(r: &R, identity: &Identity) -> Result<Option<(Uuid, String)>> {
    let Some(bytes) = r.get(Table::Delegates, &key::identity(identity))? else {
        return Ok(None);
    };
    let id = Uuid::from_slice(&bytes)
        .map_err(|_| NodeError::corrupt("delegate row", "not an inserter id"))?;
    let row = r.row::<InserterRow>(Table::Inserters, &key::uuid(&id))?;
    Ok(row.map(|row| (id, row.name)))
}

/// Like [`inserter_of`], refusing callers that are not delegates (idOS's `get_inserter`).
pub fn require_inserter<R: Read + ?Sized>(r: &R, identity: &Identity) -> Result<(Uuid, String)> {
    inserter_of(r, identity)?.ok_or_else(|| {
        NodeError::Unauthorized(format!(
            "{} is not a delegate of any inserter",
            identity.display_name()
        ))
    })
}

pub fn user<R: Read + ?Sized>(r: &R, id: &Uuid) -> Result<Option<UserRow>> {
    r.row(Table::Users, &key::uuid(id))
}

pub fn credential<R: Read + ?Sized>(r: &R, id: &Uuid) -> Result<Option<CredentialRow>> {
    r.row(Table::Credentials, &key::uuid(id))
}

/// A credential of `user`; someone else's looks exactly like a missing one.
pub fn owned_credential<R: Read + ?Sized>(r: &R, user: &Uuid, id: &Uuid) -> Result<CredentialRow> {
    match credential(r, id)? {
        Some(row) if row.user_id == *user => Ok(row),
        _ => Err(NodeError::not_found("credential", id)),
    }
}

pub fn attribute<R: Read + ?Sized>(r: &R, id: &Uuid) -> Result<Option<AttributeRow>> {
    r.row(Table::Attributes, &key::uuid(id))
}

pub fn grant<R: Read + ?Sized>(r: &R, id: &Uuid) -> Result<Option<GrantRow>> {
    r.row(Table::Grants, &key::uuid(id))
}

fn corrupt_key(index: Table) -> NodeError {
    NodeError::corrupt(format!("key of index {}", index.name()), "no trailing id")
}

/// The id at the end of an index key.
pub fn id_of_key(index: Table, k: &[u8]) -> Result<Uuid> {
    key::trailing_uuid(k).ok_or_else(|| corrupt_key(index))
}

// ----- lists ---------------------------------------------------------------------------------

pub fn wallets_of(user: &Uuid) -> ListKey {
    ListKey::new(List::WalletsOfUser, key::uuid(user).to_vec())
}

pub fn credentials_of(user: &Uuid) -> ListKey {
    ListKey::new(List::CredentialsOfUser, key::uuid(user).to_vec())
}

pub fn attributes_of(user: &Uuid) -> ListKey {
    ListKey::new(List::AttributesOfUser, key::uuid(user).to_vec())
}

pub fn grants_of_owner(owner: &Uuid) -> ListKey {
    ListKey::new(List::GrantsOfOwner, key::uuid(owner).to_vec())
}

/// Grants to `grantee` (from `owner` only, when given), ordered by height then id.
pub fn grants_to(grantee: &Identity, owner: Option<&Uuid>) -> ListKey {
    match owner {
        None => ListKey::new(List::GrantsToGrantee, key::identity(grantee)),
        Some(owner) => ListKey::new(
            List::GrantsToGranteeFromOwner,
            key::cat(&[&key::identity(grantee), &key::uuid(owner)]),
        ),
    }
}

pub fn grants_to_of_content(grantee: &Identity, content_hash: &Sha256Digest) -> ListKey {
    ListKey::new(
        List::GrantsToGranteeOfContent,
        key::cat(&[&key::identity(grantee), content_hash.as_bytes()]),
    )
}

pub fn locks_on(credential: &Uuid) -> ListKey {
    ListKey::new(List::LocksOnCredential, key::uuid(credential).to_vec())
}

/// The key of the grant `grantee` holds on the credential `data_id`, if any.
pub fn grantee_data_key(grantee: &Identity, data_id: &Uuid) -> Vec<u8> {
    key::cat(&[&key::identity(grantee), &key::uuid(data_id)])
}

/// The grant `grantee` holds on the credential `data_id`: one point read, which proves
/// nothing about anyone else's grants.
pub fn grant_to_on<R: Read + ?Sized>(
    r: &R,
    grantee: &Identity,
    data_id: &Uuid,
) -> Result<Option<(Uuid, GrantRow)>> {
    let Some(bytes) = r.get(
        Table::GrantsByGranteeData,
        &grantee_data_key(grantee, data_id),
    )?
    else {
        return Ok(None);
    };
    let id = Uuid::from_slice(&bytes)
        .map_err(|_| NodeError::corrupt("grant of a grantee", "not a grant id"))?;
    Ok(grant(r, &id)?.map(|g| (id, g)))
}

// ----- bounded lookups -----------------------------------------------------------------------

/// The grant on a credential, if any. A credential has at most one grant: grants are created
/// only by `insert_copy_and_grant`, each with the fresh copy it points at, so this one read
/// is all a transaction ever needs.
pub fn grant_on<R: Read + ?Sized>(r: &R, data_id: &Uuid) -> Result<Option<(Uuid, GrantRow)>> {
    let Some(k) = r.first_key(Table::GrantsByData, &key::uuid(data_id))? else {
        return Ok(None);
    };
    let id = id_of_key(Table::GrantsByData, &k)?;
    Ok(grant(r, &id)?.map(|g| (id, g)))
}

/// Whether copies of `original` exist (shared with a grantee, possibly no longer granted).
pub fn has_copies<R: Read + ?Sized>(r: &R, original: &Uuid) -> Result<bool> {
    Ok(r.first_key(Table::CopiesByOriginal, &key::uuid(original))?
        .is_some())
}

/// Whether `user` has a wallet.
pub fn has_wallet<R: Read + ?Sized>(r: &R, user: &Uuid) -> Result<bool> {
    Ok(directory::first(r, &wallets_of(user))?.is_some())
}

/// `locked_until` as 8 bytes that sort in the opposite order of the number, so that the first
/// lock entry of a credential is the one that ends last. It is never negative (shares and
/// delegated write grants refuse that); `max` only makes the conversion exact.
fn lock_time_key(t: i64) -> [u8; 8] {
    (!(t.max(0) as u64)).to_be_bytes()
}

/// The grant that stays locked longest among the grants on `credential_id` and, when it is an
/// original, on any of its copies, if it is still locked at `now`: one index read, whatever
/// the number of copies. idOS checks only the credential's own grants, which never exist for
/// an original (grants point at copies), so it lets an original with locked copies be deleted.
pub fn latest_locked_grant<R: Read + ?Sized>(
    r: &R,
    credential_id: &Uuid,
    now: i64,
) -> Result<Option<(Uuid, GrantRow)>> {
    let Some(entry) = directory::first(r, &locks_on(credential_id))? else {
        return Ok(None);
    };
    let id = key::trailing_uuid(&entry)
        .ok_or_else(|| NodeError::corrupt("lock entry", "no trailing id"))?;
    Ok(grant(r, &id)?
        .filter(|g| g.is_locked_at(now))
        .map(|g| (id, g)))
}

/// The nonce the next transaction of `signer` must carry.
pub fn next_nonce<R: Read + ?Sized>(r: &R, signer: &Identity) -> Result<u64> {
    let last = match r.get(Table::Nonces, &key::identity(signer))? {
        Some(bytes) => u64::from_be_bytes(
            bytes
                .try_into()
                .map_err(|_| NodeError::corrupt("nonce", "not 8 bytes"))?,
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

// ----- counters --------------------------------------------------------------------------

/// Counts kept up to date by every write that changes them, so that checks that need a count
/// read one row. (The grants a grantee holds are counted in their lists' last chunks:
/// [`directory::total`].)
#[derive(Debug, Clone, Copy)]
pub enum Counter<'a> {
    /// Original credentials of a user (what a key rotation must re-encrypt).
    Originals(&'a Uuid),
}

impl Counter<'_> {
    fn key(self) -> Vec<u8> {
        match self {
            Counter::Originals(user) => key::cat(&[b"o", &key::uuid(user)]),
        }
    }
}

/// The current value of a counter.
pub fn count<R: Read + ?Sized>(r: &R, counter: Counter<'_>) -> Result<u64> {
    match r.get(Table::Counts, &counter.key())? {
        Some(bytes) => {
            Ok(u64::from_be_bytes(bytes.try_into().map_err(|_| {
                NodeError::corrupt("counter", "not 8 bytes")
            })?))
        }
        None => Ok(0),
    }
}

/// Adds one to a counter, or takes one off (a counter at zero has no row).
fn bump<S: Read + Write + ?Sized>(s: &mut S, counter: Counter<'_>, up: bool) -> Result<()> {
    let current = count(s, counter)?;
    let next = if up {
        current + 1
    } else {
        current
            .checked_sub(1)
            .ok_or_else(|| NodeError::corrupt("counter", "would go below zero"))?
    };
    if next == 0 {
        s.delete(Table::Counts, counter.key());
    } else {
        s.put(Table::Counts, counter.key(), next.to_be_bytes().to_vec());
    }
    Ok(())
}

// ----- credentials -----------------------------------------------------------------------

fn vc_index_key(issuer: &protocol::bytes::Ed25519PublicKey, vc_id: &str, id: &Uuid) -> Vec<u8> {
    key::cat(&[&vc_index_prefix(issuer, vc_id), &key::uuid(id)])
}

/// Index prefix of credentials by issuer and verifiable credential id; also the key of the
/// issuer's own public notes for that id.
pub fn vc_index_prefix(issuer: &protocol::bytes::Ed25519PublicKey, vc_id: &str) -> Vec<u8> {
    key::cat(&[issuer.as_bytes(), &Sha256::digest(vc_id.as_bytes())])
}

/// The public notes a credential shows: the last notes its issuer set for its verifiable
/// credential id with `edit_public_notes_as_issuer` (a revocation, say), else its own.
pub fn shown_public_notes<R: Read + ?Sized>(r: &R, row: &CredentialRow) -> Result<String> {
    let Some(vc_id) = &row.verifiable_credential_id else {
        return Ok(row.public_notes.clone());
    };
    match r.get(
        Table::IssuerNotes,
        &vc_index_prefix(&row.issuer_auth_public_key, vc_id),
    )? {
        Some(bytes) => String::from_utf8(bytes).map_err(|e| NodeError::corrupt("issuer notes", e)),
        None => Ok(row.public_notes.clone()),
    }
}

/// Refuses a credential id that is taken, now or by a deleted original whose copies remain.
pub fn require_new_credential_id<R: Read + ?Sized>(r: &R, id: &Uuid) -> Result<()> {
    let k = key::uuid(id);
    if r.contains(Table::Credentials, &k)? || r.contains(Table::RetiredCredentialIds, &k)? {
        return Err(NodeError::exists("credential", id));
    }
    Ok(())
}

/// Writes a credential row and its indexes (replacing `previous` if the id existed).
pub fn put_credential<S: Read + Write + ?Sized>(
    s: &mut S,
    id: &Uuid,
    row: &CredentialRow,
    previous: Option<&CredentialRow>,
) -> Result<()> {
    if let Some(old) = previous {
        remove_credential_indexes(s, id, old)?;
    }
    let idk = key::uuid(id);
    s.put_row(Table::Credentials, idk.to_vec(), row);
    directory::insert(s, &credentials_of(&row.user_id), &idk)?;
    if let Some(vc_id) = &row.verifiable_credential_id {
        s.mark(
            Table::CredentialsByVcId,
            vc_index_key(&row.issuer_auth_public_key, vc_id, id),
        );
    }
    match &row.original_id {
        Some(original) => s.mark(
            Table::CopiesByOriginal,
            key::cat(&[&key::uuid(original), &idk]),
        ),
        None => bump(s, Counter::Originals(&row.user_id), true)?,
    }
    Ok(())
}

fn remove_credential_indexes<S: Read + Write + ?Sized>(
    s: &mut S,
    id: &Uuid,
    row: &CredentialRow,
) -> Result<()> {
    let idk = key::uuid(id);
    directory::remove(s, &credentials_of(&row.user_id), &idk)?;
    if let Some(vc_id) = &row.verifiable_credential_id {
        s.delete(
            Table::CredentialsByVcId,
            vc_index_key(&row.issuer_auth_public_key, vc_id, id),
        );
    }
    match &row.original_id {
        Some(original) => s.delete(
            Table::CopiesByOriginal,
            key::cat(&[&key::uuid(original), &idk]),
        ),
        None => bump(s, Counter::Originals(&row.user_id), false)?,
    }
    Ok(())
}

/// Deletes a credential with its indexes, in a bounded number of writes. The copies of an
/// original stay (as in idOS; they keep their grants), and so do their links to it, so the
/// original's id is retired: no new credential takes it and inherits them.
pub fn delete_credential<S: Read + Write + ?Sized>(
    s: &mut S,
    id: &Uuid,
    row: &CredentialRow,
) -> Result<()> {
    remove_credential_indexes(s, id, row)?;
    let idk = key::uuid(id).to_vec();
    if !row.is_copy() && has_copies(s, id)? {
        s.mark(Table::RetiredCredentialIds, idk.clone());
    }
    s.delete(Table::Credentials, idk);
    Ok(())
}

// ----- grants ----------------------------------------------------------------------------

/// Where a grant is indexed: the table entries (table, key, value) and the list entries.
struct GrantIndexes {
    entries: Vec<(Table, Vec<u8>, Vec<u8>)>,
    lists: Vec<(ListKey, Vec<u8>)>,
}

fn grant_indexes(id: &Uuid, g: &GrantRow, original: Option<&Uuid>) -> GrantIndexes {
    let idk = key::uuid(id);
    let height = g.height.to_be_bytes();
    let height_id = key::cat(&[&height, &idk]);
    let entries = vec![
        (
            Table::GrantsByData,
            key::cat(&[&key::uuid(&g.data_id), &idk]),
            Vec::new(),
        ),
        (
            Table::GrantsByGranteeData,
            grantee_data_key(&g.grantee, &g.data_id),
            idk.to_vec(),
        ),
    ];
    let mut lists = vec![
        (grants_to(&g.grantee, None), height_id.clone()),
        (grants_to(&g.grantee, Some(&g.owner)), height_id),
        (
            grants_to_of_content(&g.grantee, &g.content_hash),
            idk.to_vec(),
        ),
        (grants_of_owner(&g.owner), idk.to_vec()),
    ];
    // Only a grant with a lock can keep a credential from being deleted: the others need no
    // lock entry (most shares carry no lock, and each entry is a write every share pays for).
    if g.has_lock() {
        let lock = key::cat(&[&lock_time_key(g.locked_until), &idk]);
        lists.push((locks_on(&g.data_id), lock.clone()));
        if let Some(original) = original {
            lists.push((locks_on(original), lock));
        }
    }
    GrantIndexes { entries, lists }
}

/// Writes a grant on a copy of `original` with its indexes (its grantee's lists count it).
pub fn put_grant<S: Read + Write + ?Sized>(
    s: &mut S,
    id: &Uuid,
    g: &GrantRow,
    original: Option<&Uuid>,
) -> Result<()> {
    s.put_row(Table::Grants, key::uuid(id).to_vec(), g);
    let indexes = grant_indexes(id, g, original);
    for (table, k, v) in indexes.entries {
        s.put(table, k, v);
    }
    for (list, entry) in &indexes.lists {
        directory::insert(s, list, entry)?;
    }
    Ok(())
}

/// Deletes a grant with its indexes. Call it before deleting the grant's copy:
/// the copy names the original whose lock entry goes too.
pub fn delete_grant<S: Read + Write + ?Sized>(s: &mut S, id: &Uuid, g: &GrantRow) -> Result<()> {
    let original = credential(s, &g.data_id)?.and_then(|c| c.original_id);
    s.delete(Table::Grants, key::uuid(id).to_vec());
    let indexes = grant_indexes(id, g, original.as_ref());
    for (table, k, _) in indexes.entries {
        s.delete(table, k);
    }
    for (list, entry) in &indexes.lists {
        directory::remove(s, list, entry)?;
    }
    Ok(())
}

// ----- attributes and wallets ------------------------------------------------------------

pub fn put_attribute<S: Read + Write + ?Sized>(
    s: &mut S,
    id: &Uuid,
    row: &AttributeRow,
) -> Result<()> {
    let idk = key::uuid(id);
    s.put_row(Table::Attributes, idk.to_vec(), row);
    directory::insert(s, &attributes_of(&row.user_id), &idk)
}

/// Deletes an attribute. Its shared copies stay, naming it as their original (as the copies of
/// a credential do).
pub fn delete_attribute<S: Read + Write + ?Sized>(
    s: &mut S,
    id: &Uuid,
    row: &AttributeRow,
) -> Result<()> {
    let idk = key::uuid(id);
    s.delete(Table::Attributes, idk.to_vec());
    directory::remove(s, &attributes_of(&row.user_id), &idk)
}

pub fn put_wallet<S: Read + Write + ?Sized>(s: &mut S, id: &Uuid, row: &WalletRow) -> Result<()> {
    let idk = key::uuid(id);
    s.put_row(Table::Wallets, idk.to_vec(), row);
    s.put(
        Table::WalletsByAddress,
        key::identity(&row.wallet),
        idk.to_vec(),
    );
    directory::insert(s, &wallets_of(&row.user_id), &idk)
}

pub fn delete_wallet<S: Read + Write + ?Sized>(
    s: &mut S,
    id: &Uuid,
    row: &WalletRow,
) -> Result<()> {
    let idk = key::uuid(id);
    s.delete(Table::Wallets, idk.to_vec());
    s.delete(Table::WalletsByAddress, key::identity(&row.wallet));
    directory::remove(s, &wallets_of(&row.user_id), &idk)
}
