//! Every state-changing action of the node, with its arguments. The names are idOS's action
//! names; the checks each one gets are the node's business (see `node/src/state`).
//!
//! Wire stability: the binary encoding tags variants by declaration order. Append new
//! variants and fields at the end only; `tests::encoding_is_pinned` guards this.

use uuid::Uuid;

use crate::bytes::{Bytes, Ed25519PublicKey, Ed25519Signature, EncryptionPublicKey, Sha256Digest};
use crate::credential::{CredentialSignatures, verify_credential_signatures};
use crate::error::{Error, Result};
use crate::grant::DelegatedWriteGrant;
use crate::identity::Identity;
use crate::wallet::{WalletApproval, WalletProof};

/// Where a user's encryption password is kept, as idOS's `encryption_password_store`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PasswordStore {
    /// The user remembers a password.
    User,
    /// The secret is split among MPC nodes.
    Mpc,
}

/// A credential row as written by its signer: encrypted content and the two signatures.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct CredentialInput {
    /// Hex Ed25519 key that signed the notes and content.
    pub issuer_auth_public_key: Ed25519PublicKey,
    /// The ephemeral X25519 key the content was encrypted from.
    pub encryptor_public_key: EncryptionPublicKey,
    /// `nonce ‖ tag ‖ ciphertext`.
    pub content: Bytes,
    /// Plaintext metadata (JSON for originals, empty for copies).
    pub public_notes: String,
    pub public_notes_signature: Ed25519Signature,
    pub broader_signature: Ed25519Signature,
}

impl CredentialInput {
    /// The two signatures.
    pub fn signatures(&self) -> CredentialSignatures {
        CredentialSignatures {
            public_notes_signature: self.public_notes_signature,
            broader_signature: self.broader_signature,
        }
    }

    /// idOS's `assert_credential_signatures`.
    pub fn verify_signatures(&self) -> Result<()> {
        verify_credential_signatures(
            &self.issuer_auth_public_key,
            &self.public_notes,
            &self.content,
            &self.signatures(),
        )
    }
}

/// An original credential re-encrypted to a new user key.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct ReencryptedCredential {
    pub id: Uuid,
    pub content: Bytes,
    pub encryptor_public_key: EncryptionPublicKey,
}

macro_rules! actions {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:literal, $description:literal { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? }
    )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize,
                     borsh::BorshSerialize, borsh::BorshDeserialize)]
            pub struct $variant { $($(#[$fdoc])* pub $field: $ty),* }

            impl From<$variant> for Action {
                fn from(args: $variant) -> Action { Action::$variant(args) }
            }
        )*

        /// A state-changing action and its arguments.
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize,
                 borsh::BorshSerialize, borsh::BorshDeserialize)]
        #[serde(tag = "action", content = "args")]
        // Exhaustive on purpose: a new action must make every `match` in the node (its
        // signatures, its role, its checks) say what it does, which a wildcard arm would hide.
        // Actions are decoded once per transaction and then borrowed: boxing would only add
        // allocations.
        #[allow(clippy::large_enum_variant)]
        pub enum Action { $(#[serde(rename = $name)] $variant($variant)),* }

        impl Action {
            /// idOS's name of the action.
            pub fn name(&self) -> &'static str {
                match self { $(Action::$variant(_) => $name),* }
            }

            /// One sentence for the person asked to sign it.
            pub fn description(&self) -> &'static str {
                match self { $(Action::$variant(_) => $description),* }
            }

            /// Every action name, in wire order.
            pub const NAMES: &'static [&'static str] = &[$($name),*];
        }
    };
}

actions! {
    // Owner (the network operator's key).
    AddInserter = "add_inserter_as_owner", "Register an issuer (inserter)." { id: Uuid, name: String }
    DeleteInserter = "delete_inserter_as_owner", "Remove an issuer (inserter)." { id: Uuid }
    AddDelegate = "add_delegate_as_owner", "Allow a key to act for an issuer." { address: Identity, inserter_id: Uuid }
    DeleteDelegate = "delete_delegate_as_owner", "Stop a key from acting for an issuer." { address: Identity }

    // Inserters (issuers, through a delegate key).
    AddUserAsInserter = "add_user_as_inserter", "Create an idOS profile." {
        id: Uuid,
        recipient_encryption_public_key: EncryptionPublicKey,
        encryption_password_store: PasswordStore,
    }
    UpsertWalletAsInserter = "upsert_wallet_as_inserter", "Link a wallet to a profile, with its owner's proof." {
        user_id: Uuid,
        wallet: WalletProof,
        /// Needed when the profile has a wallet already: one of them agrees.
        approval: Option<WalletApproval>,
    }
    UpsertCredentialAsInserter = "upsert_credential_as_inserter", "Write a credential to a profile." {
        id: Uuid,
        user_id: Uuid,
        credential: CredentialInput,
    }
    AddAttributeAsInserter = "add_attribute_as_inserter", "Add an attribute to a profile." {
        id: Uuid,
        user_id: Uuid,
        attribute_key: String,
        value: String,
    }

    // Users (through any wallet of their profile).
    AddWallet = "add_wallet", "Link another wallet to your idOS profile." { wallet: WalletProof }
    RemoveWallet = "remove_wallet", "Unlink a wallet from your idOS profile." { id: Uuid }
    AddCredential = "add_credential", "Add a credential to your idOS profile." { id: Uuid, credential: CredentialInput }
    EditCredential = "edit_credential", "Replace one of your credentials." { id: Uuid, credential: CredentialInput }
    RemoveCredential = "remove_credential", "Delete one of your credentials." { id: Uuid }
    ShareCredential = "share_credential", "Share a credential: store a copy encrypted for the grantee and grant them access." {
        /// The copy's id.
        id: Uuid,
        original_credential_id: Uuid,
        /// The copy (empty public notes).
        copy: CredentialInput,
        /// SHA-256 of the plaintext.
        content_hash: Sha256Digest,
        grantee_wallet_identifier: Identity,
        /// Unix seconds until which the grant cannot be revoked (0: not locked).
        locked_until: i64,
    }
    AddAttribute = "add_attribute", "Add an attribute to your idOS profile." { id: Uuid, attribute_key: String, value: String }
    EditAttribute = "edit_attribute", "Change one of your attributes." { id: Uuid, attribute_key: String, value: String }
    RemoveAttribute = "remove_attribute", "Delete one of your attributes." { id: Uuid }
    ShareAttribute = "share_attribute", "Share an attribute as a copy." {
        id: Uuid,
        original_attribute_id: Uuid,
        attribute_key: String,
        value: String,
    }
    RevokeAccessGrant = "revoke_access_grant", "Revoke an access grant you gave." { id: Uuid }
    RotateEncryptionKey = "rotate_encryption_key", "Change your encryption key and re-encrypt every credential you own." {
        recipient_encryption_public_key: EncryptionPublicKey,
        encryption_password_store: PasswordStore,
        /// Every original credential of the user, re-encrypted to the new key.
        originals: Vec<ReencryptedCredential>,
    }

    // Grantees.
    RescindSharedCredential = "rescind_shared_credential", "Give up a credential shared with you." { credential_id: Uuid }

    // Issuers.
    CreateCredentialsByDwg = "create_credentials_by_dwg", "Write a credential with the owner's delegated write grant." {
        /// The original, for the owner.
        original_id: Uuid,
        original: CredentialInput,
        /// The copy, for the grantee (empty public notes).
        copy_id: Uuid,
        copy: CredentialInput,
        content_hash: Sha256Digest,
        grant: DelegatedWriteGrant,
        /// The owner wallet's signature over the grant's message.
        grant_signature: Bytes,
    }
    EditPublicNotesAsIssuer = "edit_public_notes_as_issuer", "Change the public notes (status) of credentials you issued." {
        public_notes_id: String,
        public_notes: String,
    }
}

/// Limits on field sizes, checked before any state is touched.
pub mod limits {
    /// Inserter names.
    pub const NAME: usize = 256;
    /// Public notes of a credential.
    pub const PUBLIC_NOTES: usize = 64 * 1024;
    /// Attribute keys.
    pub const ATTRIBUTE_KEY: usize = 256;
    /// Attribute values.
    pub const ATTRIBUTE_VALUE: usize = 64 * 1024;
    /// `public_notes_id` of an issuer edit.
    pub const PUBLIC_NOTES_ID: usize = 256;
    /// RFC 3339 fields of a delegated write grant.
    pub const TIMESTAMP_TEXT: usize = 20;
}

fn check_len(field: &'static str, value: &str, limit: usize) -> Result<()> {
    if value.len() > limit {
        return Err(Error::TooLarge {
            what: field,
            actual: value.len(),
            limit,
        });
    }
    Ok(())
}

fn check_non_empty(field: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    Ok(())
}

fn check_credential(c: &CredentialInput) -> Result<()> {
    check_len("public_notes", &c.public_notes, limits::PUBLIC_NOTES)
}

fn check_locked_until(locked_until: i64) -> Result<()> {
    if locked_until < 0 {
        return Err(Error::invalid(
            "locked_until",
            "must be unix seconds, 0 or more",
        ));
    }
    Ok(())
}

impl Action {
    /// Stateless checks of field sizes and forms.
    pub fn validate(&self) -> Result<()> {
        match self {
            Action::AddInserter(a) => {
                check_non_empty("name", &a.name)?;
                check_len("name", &a.name, limits::NAME)
            }
            Action::UpsertCredentialAsInserter(a) => check_credential(&a.credential),
            Action::AddCredential(a) => check_credential(&a.credential),
            Action::EditCredential(a) => check_credential(&a.credential),
            Action::ShareCredential(a) => {
                check_credential(&a.copy)?;
                check_locked_until(a.locked_until)
            }
            Action::AddAttributeAsInserter(AddAttributeAsInserter {
                attribute_key,
                value,
                ..
            })
            | Action::AddAttribute(AddAttribute {
                attribute_key,
                value,
                ..
            })
            | Action::EditAttribute(EditAttribute {
                attribute_key,
                value,
                ..
            })
            | Action::ShareAttribute(ShareAttribute {
                attribute_key,
                value,
                ..
            }) => {
                check_non_empty("attribute_key", attribute_key)?;
                check_len("attribute_key", attribute_key, limits::ATTRIBUTE_KEY)?;
                check_len("value", value, limits::ATTRIBUTE_VALUE)
            }
            Action::CreateCredentialsByDwg(a) => {
                check_credential(&a.original)?;
                check_credential(&a.copy)?;
                for (field, value) in [
                    ("access_grant_timelock", &a.grant.access_grant_timelock),
                    ("not_usable_before", &a.grant.not_usable_before),
                    ("not_usable_after", &a.grant.not_usable_after),
                ] {
                    check_len(field, value, limits::TIMESTAMP_TEXT)?;
                }
                Ok(())
            }
            Action::EditPublicNotesAsIssuer(a) => {
                check_non_empty("public_notes_id", &a.public_notes_id)?;
                check_len(
                    "public_notes_id",
                    &a.public_notes_id,
                    limits::PUBLIC_NOTES_ID,
                )?;
                check_len("public_notes", &a.public_notes, limits::PUBLIC_NOTES)
            }
            Action::DeleteInserter(_)
            | Action::AddDelegate(_)
            | Action::DeleteDelegate(_)
            | Action::AddUserAsInserter(_)
            | Action::UpsertWalletAsInserter(_)
            | Action::AddWallet(_)
            | Action::RemoveWallet(_)
            | Action::RemoveCredential(_)
            | Action::RemoveAttribute(_)
            | Action::RevokeAccessGrant(_)
            | Action::RotateEncryptionKey(_)
            | Action::RescindSharedCredential(_) => Ok(()),
        }
    }
}
