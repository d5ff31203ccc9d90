//! Executing actions: idOS's checks and effects, and where the node differs from idOS (see
//! ARCHITECTURE.md, "Where we differ from idOS, and why").
//!
//! `execute` runs one action against a transaction layer. On `Err` the caller drops the layer,
//! so an action may write as it goes and still be all-or-nothing.

use protocol::action::*;
use protocol::credential::verifiable_credential_id;
use protocol::grant::{DelegatedWriteGrant, GrantInserterType, access_grant_id};
use protocol::identity::Identity;
use protocol::tx::SignedTransaction;
use protocol::wallet::WalletProof;
use uuid::Uuid;

use super::rows::*;
use super::*;
use crate::error::NodeError;
use crate::store::{Read, Table, Write, key};

/// Event attributes describing what an action did (ids it created or touched).
pub type Effects = Vec<(&'static str, String)>;

/// Executes a transaction that passed [`super::verify::verify_stateless`] for `ctx.chain_id`. The nonce is
/// the caller's business (it is consumed even when the action fails).
pub fn execute_verified<S: Read + Write>(
    s: &mut S,
    ctx: &BlockContext,
    stx: &SignedTransaction,
) -> Result<Effects> {
    let mut exec = Exec {
        s,
        ctx,
        signer: stx.tx.signer,
    };
    match &stx.tx.action {
        Action::AddInserter(a) => exec.add_inserter(a),
        Action::DeleteInserter(a) => exec.delete_inserter(a),
        Action::AddDelegate(a) => exec.add_delegate(a),
        Action::DeleteDelegate(a) => exec.delete_delegate(a),
        Action::AddUserAsInserter(a) => exec.add_user_as_inserter(a),
        Action::UpsertWalletAsInserter(a) => exec.upsert_wallet_as_inserter(a),
        Action::UpsertCredentialAsInserter(a) => exec.upsert_credential_as_inserter(a),
        Action::AddAttributeAsInserter(a) => exec.add_attribute_as_inserter(a),
        Action::AddWallet(a) => exec.add_wallet(a),
        Action::RemoveWallet(a) => exec.remove_wallet(a),
        Action::AddCredential(a) => exec.add_credential(a),
        Action::EditCredential(a) => exec.edit_credential(a),
        Action::RemoveCredential(a) => exec.remove_credential(a),
        Action::ShareCredential(a) => exec.share_credential(a),
        Action::AddAttribute(a) => exec.add_attribute(a),
        Action::EditAttribute(a) => exec.edit_attribute(a),
        Action::RemoveAttribute(a) => exec.remove_attribute(a),
        Action::ShareAttribute(a) => exec.share_attribute(a),
        Action::RevokeAccessGrant(a) => exec.revoke_access_grant(a),
        Action::RotateEncryptionKey(a) => exec.rotate_encryption_key(a),
        Action::RescindSharedCredential(a) => exec.rescind_shared_credential(a),
        Action::CreateCredentialsByDwg(a) => exec.create_credentials_by_dwg(a),
        Action::EditPublicNotesAsIssuer(a) => exec.edit_public_notes_as_issuer(a),
    }
}

struct Exec<'s, S> {
    s: &'s mut S,
    ctx: &'s BlockContext,
    signer: Identity,
}

fn effects(pairs: &[(&'static str, &dyn ToString)]) -> Result<Effects> {
    Ok(pairs.iter().map(|(k, v)| (*k, v.to_string())).collect())
}

impl<S: Read + Write> Exec<'_, S> {
    // ----- who is calling ----------------------------------------------------------------

    fn require_owner(&self) -> Result<()> {
        if self.signer == self.ctx.owner {
            Ok(())
        } else {
            Err(NodeError::Unauthorized(
                "only the network owner may do this".into(),
            ))
        }
    }

    fn caller_user(&self) -> Result<Uuid> {
        caller_user(self.s, &self.signer)
    }

    fn require_user_exists(&self, id: &Uuid) -> Result<UserRow> {
        user(self.s, id)?.ok_or_else(|| NodeError::not_found("user", id))
    }

    fn require_absent(&self, table: Table, what: &'static str, id: &Uuid) -> Result<()> {
        if self.s.contains(table, &key::uuid(id))? {
            Err(NodeError::exists(what, id))
        } else {
            Ok(())
        }
    }

    // ----- owner -------------------------------------------------------------------------

    fn add_inserter(&mut self, a: &AddInserter) -> Result<Effects> {
        self.require_owner()?;
        self.require_absent(Table::Inserters, "inserter", &a.id)?;
        if self.s.contains(Table::InsertersByName, a.name.as_bytes())? {
            return Err(NodeError::exists("inserter named", &a.name));
        }
        self.s.put_row(
            Table::Inserters,
            key::uuid(&a.id).to_vec(),
            &InserterRow {
                name: a.name.clone(),
            },
        );
        self.s.put(
            Table::InsertersByName,
            a.name.as_bytes().to_vec(),
            key::uuid(&a.id).to_vec(),
        );
        effects(&[("inserter_id", &a.id)])
    }

    fn delete_inserter(&mut self, a: &DeleteInserter) -> Result<Effects> {
        self.require_owner()?;
        let row: InserterRow = self
            .s
            .row(Table::Inserters, &key::uuid(&a.id))?
            .ok_or_else(|| NodeError::not_found("inserter", a.id))?;
        // idOS deletes its delegates with it, a walk as long as the inserter's delegate list;
        // here the owner deletes them first (one transaction each, in one block if need be), so
        // this stays one lookup.
        if self
            .s
            .first_key(Table::DelegatesByInserter, &key::uuid(&a.id))?
            .is_some()
        {
            return Err(NodeError::InserterHasDelegates(a.id));
        }
        self.s.delete(Table::Inserters, key::uuid(&a.id).to_vec());
        self.s.delete(Table::InsertersByName, row.name.into_bytes());
        effects(&[("inserter_id", &a.id)])
    }

    fn add_delegate(&mut self, a: &AddDelegate) -> Result<Effects> {
        self.require_owner()?;
        if !self
            .s
            .contains(Table::Inserters, &key::uuid(&a.inserter_id))?
        {
            return Err(NodeError::not_found("inserter", a.inserter_id));
        }
        let k = key::identity(&a.address);
        if self.s.contains(Table::Delegates, &k)? {
            return Err(NodeError::exists("delegate", a.address.display_name()));
        }
        self.s.mark(
            Table::DelegatesByInserter,
            key::cat(&[&key::uuid(&a.inserter_id), &k]),
        );
        self.s
            .put(Table::Delegates, k, key::uuid(&a.inserter_id).to_vec());
        effects(&[("delegate", &a.address)])
    }

    fn delete_delegate(&mut self, a: &DeleteDelegate) -> Result<Effects> {
        self.require_owner()?;
        let k = key::identity(&a.address);
        let Some(inserter_id) = self.s.get(Table::Delegates, &k)? else {
            return Err(NodeError::not_found("delegate", a.address.display_name()));
        };
        self.s
            .delete(Table::DelegatesByInserter, key::cat(&[&inserter_id, &k]));
        self.s.delete(Table::Delegates, k);
        effects(&[("delegate", &a.address)])
    }

    // ----- inserters ---------------------------------------------------------------------

    fn add_user_as_inserter(&mut self, a: &AddUserAsInserter) -> Result<Effects> {
        let (_, inserter) = require_inserter(self.s, &self.signer)?;
        // The user id is the salt of the user's key derivation, which idOS requires to be a
        // UUIDv4.
        if a.id.get_version_num() != 4 {
            return Err(protocol::Error::InvalidUserId(a.id.to_string()).into());
        }
        self.require_absent(Table::Users, "user", &a.id)?;
        let row = UserRow {
            recipient_encryption_public_key: a.recipient_encryption_public_key,
            encryption_password_store: a.encryption_password_store,
            inserter,
        };
        self.s
            .put_row(Table::Users, key::uuid(&a.id).to_vec(), &row);
        effects(&[("user_id", &a.id)])
    }

    /// Only the user controls their profile: the first wallet is linked by the inserter that
    /// created the profile; any later one needs the approval of a wallet the profile has
    /// (or the user links it with `add_wallet`). idOS lets any inserter link any wallet to
    /// any profile, which lets it act as that user.
    fn upsert_wallet_as_inserter(&mut self, a: &UpsertWalletAsInserter) -> Result<Effects> {
        let (_, inserter) = require_inserter(self.s, &self.signer)?;
        let profile = self.require_user_exists(&a.user_id)?;
        if has_wallet(self.s, &a.user_id)? {
            let approval = a
                .approval
                .as_ref()
                .ok_or(NodeError::WalletApprovalRequired(a.user_id))?;
            match wallet_of(self.s, &approval.approver)? {
                Some((_, w)) if w.user_id == a.user_id => {}
                _ => {
                    return Err(NodeError::Unauthorized(format!(
                        "{} is not a wallet of user {}",
                        approval.approver.display_name(),
                        a.user_id
                    )));
                }
            }
            approval.verify(&a.user_id, &a.wallet, &self.ctx.chain_id)?;
        } else if profile.inserter != inserter {
            return Err(NodeError::Unauthorized(format!(
                "the first wallet of user {} is linked by the inserter that created the profile",
                a.user_id
            )));
        }
        self.link_wallet(&a.user_id, &a.wallet, Some(inserter))
    }

    fn upsert_credential_as_inserter(&mut self, a: &UpsertCredentialAsInserter) -> Result<Effects> {
        let (_, inserter) = require_inserter(self.s, &self.signer)?;
        self.require_user_exists(&a.user_id)?;
        let previous = credential(self.s, &a.id)?;
        match &previous {
            // An upsert may refresh a credential of the same user, never take over someone
            // else's row or rewrite a copy or a shared original.
            Some(old) if old.user_id != a.user_id => {
                return Err(NodeError::exists("credential", a.id));
            }
            Some(old) => self.require_editable(&a.id, old)?,
            None => require_new_credential_id(self.s, &a.id)?,
        }
        let row = original_row(a.user_id, &a.credential, Some(inserter));
        put_credential(self.s, &a.id, &row, previous.as_ref())?;
        effects(&[("credential_id", &a.id)])
    }

    fn add_attribute_as_inserter(&mut self, a: &AddAttributeAsInserter) -> Result<Effects> {
        let (_, inserter) = require_inserter(self.s, &self.signer)?;
        self.require_user_exists(&a.user_id)?;
        self.require_absent(Table::Attributes, "attribute", &a.id)?;
        let row = AttributeRow {
            user_id: a.user_id,
            attribute_key: a.attribute_key.clone(),
            value: a.value.clone(),
            inserter: Some(inserter),
            original_id: None,
        };
        put_attribute(self.s, &a.id, &row)?;
        effects(&[("attribute_id", &a.id)])
    }

    // ----- wallets -----------------------------------------------------------------------

    /// Links a wallet after checking its ownership proof, which names `user` and this chain
    /// and may be used once.
    fn link_wallet(
        &mut self,
        user: &Uuid,
        proof: &WalletProof,
        inserter: Option<String>,
    ) -> Result<Effects> {
        proof.verify(user, &self.ctx.chain_id)?;
        let used = key::cat(&[&key::identity(&proof.wallet), proof.nonce.as_bytes()]);
        if self.s.contains(Table::ConsumedWalletProofs, &used)? {
            return Err(NodeError::ProofReused);
        }
        if wallet_of(self.s, &proof.wallet)?.is_some() {
            return Err(NodeError::WalletTaken(proof.wallet.display_name()));
        }
        // A wallet row is never replaced: idOS's upsert would swap the address of a user's
        // wallet, unlinking the wallet the user signs with.
        self.require_absent(Table::Wallets, "wallet", &proof.id)?;
        let row = WalletRow {
            user_id: *user,
            wallet: proof.wallet,
            nonce: proof.nonce,
            signature: proof.signature.clone(),
            inserter,
        };
        put_wallet(self.s, &proof.id, &row)?;
        self.s.mark(Table::ConsumedWalletProofs, used);
        effects(&[("wallet_id", &proof.id), ("user_id", user)])
    }

    fn add_wallet(&mut self, a: &AddWallet) -> Result<Effects> {
        let user = self.caller_user()?;
        self.link_wallet(&user, &a.wallet, None)
    }

    fn remove_wallet(&mut self, a: &RemoveWallet) -> Result<Effects> {
        let user = self.caller_user()?;
        let row: WalletRow = match self.s.row::<WalletRow>(Table::Wallets, &key::uuid(&a.id))? {
            Some(row) if row.user_id == user => row,
            _ => return Err(NodeError::not_found("wallet", a.id)),
        };
        if row.wallet == self.signer {
            return Err(NodeError::ConnectedWallet);
        }
        delete_wallet(self.s, &a.id, &row)?;
        effects(&[("wallet_id", &a.id)])
    }

    // ----- credentials -------------------------------------------------------------------

    /// Edits are refused on copies and on originals that have copies. idOS refuses edits of
    /// credentials that grants point at, which are only ever copies, so its rule never fires
    /// for an original; yet a grantee reads a copy with its original's public notes, which an
    /// edit of a shared original would swap under the grantee's eyes.
    fn require_editable(&self, id: &Uuid, row: &CredentialRow) -> Result<()> {
        if row.is_copy() {
            return Err(NodeError::CredentialIsCopy(*id));
        }
        if has_copies(self.s, id)? {
            return Err(NodeError::CredentialShared(*id));
        }
        Ok(())
    }

    fn add_credential(&mut self, a: &AddCredential) -> Result<Effects> {
        let user = self.caller_user()?;
        require_new_credential_id(self.s, &a.id)?;
        put_credential(
            self.s,
            &a.id,
            &original_row(user, &a.credential, None),
            None,
        )?;
        effects(&[("credential_id", &a.id)])
    }

    fn edit_credential(&mut self, a: &EditCredential) -> Result<Effects> {
        let user = self.caller_user()?;
        let old = owned_credential(self.s, &user, &a.id)?;
        self.require_editable(&a.id, &old)?;
        let row = original_row(user, &a.credential, old.inserter.clone());
        put_credential(self.s, &a.id, &row, Some(&old))?;
        effects(&[("credential_id", &a.id)])
    }

    fn remove_credential(&mut self, a: &RemoveCredential) -> Result<Effects> {
        let user = self.caller_user()?;
        let row = owned_credential(self.s, &user, &a.id)?;
        if let Some((grant, g)) = latest_locked_grant(self.s, &a.id, self.ctx.time)? {
            return Err(NodeError::GrantLocked {
                grant,
                locked_until: g.locked_until,
            });
        }
        if let Some((grant_id, g)) = grant_on(self.s, &a.id)? {
            delete_grant(self.s, &grant_id, &g)?;
        }
        delete_credential(self.s, &a.id, &row)?;
        effects(&[("credential_id", &a.id)])
    }

    fn share_credential(&mut self, a: &ShareCredential) -> Result<Effects> {
        let user = self.caller_user()?;
        let original = owned_credential(self.s, &user, &a.original_credential_id)?;
        if original.is_copy() {
            return Err(NodeError::CredentialIsCopy(a.original_credential_id));
        }
        let grant_id = self.insert_copy_and_grant(
            user,
            &a.id,
            &a.original_credential_id,
            &a.copy,
            a.content_hash,
            a.grantee_wallet_identifier,
            a.locked_until,
            (GrantInserterType::User, self.signer.identifier()),
            None,
        )?;
        effects(&[("credential_id", &a.id), ("grant_id", &grant_id)])
    }

    /// The copy + link + access grant that sharing and delegated writes both create.
    #[allow(clippy::too_many_arguments)]
    fn insert_copy_and_grant(
        &mut self,
        owner: Uuid,
        copy_id: &Uuid,
        original_id: &Uuid,
        copy: &CredentialInput,
        content_hash: protocol::bytes::Sha256Digest,
        grantee: Identity,
        locked_until: i64,
        provenance: (GrantInserterType, String),
        copy_inserter: Option<String>,
    ) -> Result<Uuid> {
        if !copy.public_notes.is_empty() {
            return Err(NodeError::CopyHasPublicNotes);
        }
        require_new_credential_id(self.s, copy_id)?;
        let grant_id = access_grant_id(&grantee.identifier(), copy_id, locked_until);
        if grant(self.s, &grant_id)?.is_some() {
            return Err(NodeError::exists(
                "access grant (same grantee, copy and lock)",
                grant_id,
            ));
        }
        let row = CredentialRow {
            user_id: owner,
            public_notes: String::new(),
            content: copy.content.clone(),
            encryptor_public_key: copy.encryptor_public_key,
            issuer_auth_public_key: copy.issuer_auth_public_key,
            inserter: copy_inserter,
            verifiable_credential_id: None,
            original_id: Some(*original_id),
        };
        put_credential(self.s, copy_id, &row, None)?;
        let (inserter_type, inserter_id) = provenance;
        let g = GrantRow {
            owner,
            grantee,
            data_id: *copy_id,
            locked_until,
            content_hash,
            height: self.ctx.height,
            inserter_type,
            inserter_id,
        };
        put_grant(self.s, &grant_id, &g, Some(original_id))?;
        Ok(grant_id)
    }

    fn rotate_encryption_key(&mut self, a: &RotateEncryptionKey) -> Result<Effects> {
        // Only the user's own wallet can get here: there is no inserter variant (idOS lets any
        // inserter replace any user's key).
        let user = self.caller_user()?;
        let mut row = self.require_user_exists(&user)?;
        let mut given: Vec<Uuid> = a.originals.iter().map(|c| c.id).collect();
        given.sort_unstable();
        if given.windows(2).any(|w| w[0] == w[1]) {
            return Err(NodeError::RotationIncomplete(
                "a credential is listed twice".into(),
            ));
        }
        // Each listed id is read once; the count of the user's originals says whether any is
        // missing. The work is the transaction's own length, whatever the user's copies.
        for reencrypted in &a.originals {
            let old = match credential(self.s, &reencrypted.id)? {
                Some(old) if old.user_id == user && !old.is_copy() => old,
                _ => {
                    return Err(NodeError::RotationIncomplete(format!(
                        "{} is not one of your original credentials",
                        reencrypted.id
                    )));
                }
            };
            let mut new = old.clone();
            new.content = reencrypted.content.clone();
            new.encryptor_public_key = reencrypted.encryptor_public_key;
            put_credential(self.s, &reencrypted.id, &new, Some(&old))?;
        }
        let originals = count(self.s, Counter::Originals(&user))?;
        if a.originals.len() as u64 != originals {
            return Err(NodeError::RotationIncomplete(format!(
                "{} of your {originals} original(s) missing",
                originals.saturating_sub(a.originals.len() as u64)
            )));
        }
        row.recipient_encryption_public_key = a.recipient_encryption_public_key;
        row.encryption_password_store = a.encryption_password_store;
        self.s
            .put_row(Table::Users, key::uuid(&user).to_vec(), &row);
        effects(&[("user_id", &user), ("credentials", &a.originals.len())])
    }

    // ----- attributes --------------------------------------------------------------------

    fn owned_attribute(&self, user: &Uuid, id: &Uuid) -> Result<AttributeRow> {
        match attribute(self.s, id)? {
            Some(row) if row.user_id == *user => Ok(row),
            _ => Err(NodeError::not_found("attribute", id)),
        }
    }

    /// A user's attribute (an original, or with `original` a shared copy).
    fn insert_user_attribute(
        &mut self,
        user: Uuid,
        id: &Uuid,
        key: &str,
        value: &str,
        original: Option<Uuid>,
    ) -> Result<Effects> {
        self.require_absent(Table::Attributes, "attribute", id)?;
        let row = AttributeRow {
            user_id: user,
            attribute_key: key.to_owned(),
            value: value.to_owned(),
            inserter: None,
            original_id: original,
        };
        put_attribute(self.s, id, &row)?;
        effects(&[("attribute_id", id)])
    }

    fn add_attribute(&mut self, a: &AddAttribute) -> Result<Effects> {
        let user = self.caller_user()?;
        self.insert_user_attribute(user, &a.id, &a.attribute_key, &a.value, None)
    }

    fn edit_attribute(&mut self, a: &EditAttribute) -> Result<Effects> {
        let user = self.caller_user()?;
        let mut row = self.owned_attribute(&user, &a.id)?;
        if row.original_id.is_some() {
            return Err(NodeError::AttributeIsCopy(a.id));
        }
        row.attribute_key = a.attribute_key.clone();
        row.value = a.value.clone();
        put_attribute(self.s, &a.id, &row)?;
        effects(&[("attribute_id", &a.id)])
    }

    fn remove_attribute(&mut self, a: &RemoveAttribute) -> Result<Effects> {
        let user = self.caller_user()?;
        let row = self.owned_attribute(&user, &a.id)?;
        delete_attribute(self.s, &a.id, &row)?;
        effects(&[("attribute_id", &a.id)])
    }

    fn share_attribute(&mut self, a: &ShareAttribute) -> Result<Effects> {
        let user = self.caller_user()?;
        self.owned_attribute(&user, &a.original_attribute_id)?;
        self.insert_user_attribute(
            user,
            &a.id,
            &a.attribute_key,
            &a.value,
            Some(a.original_attribute_id),
        )
    }

    // ----- grants ------------------------------------------------------------------------

    fn revoke_access_grant(&mut self, a: &RevokeAccessGrant) -> Result<Effects> {
        let user = self.caller_user()?;
        let g = match grant(self.s, &a.id)? {
            Some(g) if g.owner == user => g,
            _ => return Err(NodeError::not_found("access grant", a.id)),
        };
        if g.is_locked_at(self.ctx.time) {
            return Err(NodeError::GrantLocked {
                grant: a.id,
                locked_until: g.locked_until,
            });
        }
        delete_grant(self.s, &a.id, &g)?;
        effects(&[("grant_id", &a.id)])
    }

    fn rescind_shared_credential(&mut self, a: &RescindSharedCredential) -> Result<Effects> {
        let (id, g) = match grant_on(self.s, &a.credential_id)? {
            Some((id, g)) if g.grantee == self.signer => (id, g),
            _ => {
                return Err(NodeError::not_found(
                    "access grant to you on credential",
                    a.credential_id,
                ));
            }
        };
        delete_grant(self.s, &id, &g)?;
        if let Some(row) = credential(self.s, &a.credential_id)? {
            delete_credential(self.s, &a.credential_id, &row)?;
        }
        effects(&[("credential_id", &a.credential_id)])
    }

    // ----- issuers -----------------------------------------------------------------------

    fn create_credentials_by_dwg(&mut self, a: &CreateCredentialsByDwg) -> Result<Effects> {
        let grant: &DelegatedWriteGrant = &a.grant;
        // 1. The credential's signer and the grant's issuer are delegates of one inserter.
        if a.original.issuer_auth_public_key != a.copy.issuer_auth_public_key {
            return Err(NodeError::DwgIssuerMismatch);
        }
        let signer_inserter = inserter_of(
            self.s,
            &Identity::Ed25519(a.original.issuer_auth_public_key),
        )?;
        let grant_inserter = inserter_of(self.s, &Identity::Ed25519(grant.issuer_public_key))?;
        match (signer_inserter, grant_inserter) {
            (Some((a_id, _)), Some((b_id, _))) if a_id == b_id => {}
            (None, _) | (_, None) => {
                return Err(NodeError::Unauthorized(
                    "the issuer keys are not delegates of an inserter".into(),
                ));
            }
            _ => return Err(NodeError::DwgIssuerMismatch),
        }
        // 2. The owner has a profile.
        let (_, owner_wallet) =
            wallet_of(self.s, &grant.owner_wallet_identifier)?.ok_or_else(|| {
                NodeError::not_found("owner wallet", grant.owner_wallet_identifier.display_name())
            })?;
        // 3-5. Dates, and the window against block time.
        let times = grant.times()?;
        if !DelegatedWriteGrant::usable_at(&times, self.ctx.time) {
            return Err(NodeError::DwgNotUsable {
                id: grant.id,
                now: self.ctx.time,
                not_before: times.not_usable_before,
                not_after: times.not_usable_after,
            });
        }
        // 6. The owner's signature over this grant for this chain: checked by verify_stateless.
        // Single use.
        if self
            .s
            .contains(Table::ConsumedWriteGrants, &key::uuid(&grant.id))?
        {
            return Err(NodeError::DwgUsed(grant.id));
        }
        // 7-8. Both rows, the link and the grant, atomically (signatures: verify_stateless).
        require_new_credential_id(self.s, &a.original_id)?;
        let dwg_id = grant.id.to_string();
        let row = original_row(owner_wallet.user_id, &a.original, Some(dwg_id.clone()));
        put_credential(self.s, &a.original_id, &row, None)?;
        let grant_id = self.insert_copy_and_grant(
            owner_wallet.user_id,
            &a.copy_id,
            &a.original_id,
            &a.copy,
            a.content_hash,
            grant.grantee_wallet_identifier,
            times.access_grant_timelock,
            (GrantInserterType::DelegatedWriteGrant, dwg_id.clone()),
            Some(dwg_id),
        )?;
        let consumed = ConsumedWriteGrantRow {
            grant: grant.clone(),
            original_credential_id: a.original_id,
            copy_credential_id: a.copy_id,
            height: self.ctx.height,
        };
        self.s.put_row(
            Table::ConsumedWriteGrants,
            key::uuid(&grant.id).to_vec(),
            &consumed,
        );
        effects(&[
            ("credential_id", &a.original_id),
            ("copy_id", &a.copy_id),
            ("grant_id", &grant_id),
        ])
    }

    fn edit_public_notes_as_issuer(&mut self, a: &EditPublicNotesAsIssuer) -> Result<Effects> {
        let Identity::Ed25519(issuer) = self.signer else {
            return Err(NodeError::Unauthorized(
                "public notes are edited by the issuer's Ed25519 key".into(),
            ));
        };
        let notes_key = vc_index_prefix(&issuer, &a.public_notes_id);
        if self
            .s
            .first_key(Table::CredentialsByVcId, &notes_key)?
            .is_none()
        {
            return Err(NodeError::not_found(
                "credential issued by you with public notes id",
                &a.public_notes_id,
            ));
        }
        // As idOS: the notes change (e.g. a revocation status), the id they are found by does
        // not. They are kept apart from the credentials, once per (issuer, id): one write
        // whatever the number of credentials, no ciphertext rewritten, and every credential of
        // this issuer with this id shows them from now on, so no owner can restore the
        // earlier notes by writing the original credential again (`edit_credential`,
        // `add_credential`).
        self.s.put(
            Table::IssuerNotes,
            notes_key,
            a.public_notes.clone().into_bytes(),
        );
        effects(&[("public_notes_id", &a.public_notes_id)])
    }
}

fn original_row(user: Uuid, c: &CredentialInput, inserter: Option<String>) -> CredentialRow {
    CredentialRow {
        user_id: user,
        public_notes: c.public_notes.clone(),
        content: c.content.clone(),
        encryptor_public_key: c.encryptor_public_key,
        issuer_auth_public_key: c.issuer_auth_public_key,
        inserter,
        verifiable_credential_id: verifiable_credential_id(&c.public_notes),
        original_id: None,
    }
}
