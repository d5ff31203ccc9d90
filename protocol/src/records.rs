//! Rows the node returns from reads (idOS's view results), shared by the node, the relay's
//! JSON API and clients.

use uuid::Uuid;

use crate::action::PasswordStore;
use crate::bytes::{Bytes, Ed25519PublicKey, EncryptionPublicKey, Nonce128, Sha256Digest};
use crate::grant::GrantInserterType;
use crate::identity::Identity;
use crate::wallet::WalletType;

macro_rules! record {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize,
                 borsh::BorshSerialize, borsh::BorshDeserialize)]
        pub struct $name { $($(#[$fdoc])* pub $field: $ty),* }
    };
}

record!(
    /// A profile.
    UserRecord {
        id: Uuid,
        recipient_encryption_public_key: EncryptionPublicKey,
        encryption_password_store: PasswordStore,
        /// Name of the inserter that created it.
        inserter: String,
    }
);

record!(
    /// A wallet linked to a profile.
    WalletRecord {
        id: Uuid,
        user_id: Uuid,
        /// Canonical identifier: lowercase EVM address or hex Ed25519 key.
        address: Identity,
        wallet_type: WalletType,
        /// The ownership proof: the signed message's nonce and the signature.
        nonce: Nonce128,
        message: String,
        signature: Bytes,
        /// Name of the inserter that linked it, if not the user.
        inserter: Option<String>,
    }
);

record!(
    /// A credential without its content (list views).
    CredentialSummary {
        id: Uuid,
        user_id: Uuid,
        public_notes: String,
        issuer_auth_public_key: Ed25519PublicKey,
        /// Inserter name, or the delegated write grant's id.
        inserter: Option<String>,
        /// Set when this is a copy made for a grantee.
        original_id: Option<Uuid>,
    }
);

record!(
    /// A credential with its encrypted content.
    CredentialRecord {
        id: Uuid,
        user_id: Uuid,
        public_notes: String,
        content: Bytes,
        encryptor_public_key: EncryptionPublicKey,
        issuer_auth_public_key: Ed25519PublicKey,
        inserter: Option<String>,
        original_id: Option<Uuid>,
    }
);

record!(
    /// An access grant: `grantee` may read the copy `data_id`.
    AccessGrantRecord {
        id: Uuid,
        ag_owner_user_id: Uuid,
        ag_grantee_wallet_identifier: Identity,
        /// The copy credential's id.
        data_id: Uuid,
        /// Unix seconds; the grant cannot be revoked while the block time is at or before it.
        locked_until: i64,
        content_hash: Sha256Digest,
        /// Block height at which it was written.
        height: u64,
        inserter_type: GrantInserterType,
        /// The user's identifier, or the delegated write grant's id.
        inserter_id: String,
    }
);

record!(
    /// A plaintext key/value attribute of a profile.
    AttributeRecord {
        id: Uuid,
        user_id: Uuid,
        attribute_key: String,
        value: String,
        inserter: Option<String>,
        original_id: Option<Uuid>,
    }
);

/// The answer to a [`crate::query::Query`].
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
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum QueryOutput {
    User(UserRecord),
    Bool(bool),
    Wallets(Vec<WalletRecord>),
    Credentials(Vec<CredentialSummary>),
    Credential(CredentialRecord),
    Attributes(Vec<AttributeRecord>),
    AccessGrants(Vec<AccessGrantRecord>),
    Count(u64),
    CredentialId(Option<Uuid>),
    Message(String),
    /// The nonce the account's next transaction must carry.
    NextNonce(u64),
}

/// A read's answer with the state it was read at (verifiable state: every answer names what it was read from).
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
pub struct QueryAnswer {
    /// The committed height the read saw.
    pub height: u64,
    /// The app hash at that height.
    pub app_hash: Sha256Digest,
    pub output: QueryOutput,
}
