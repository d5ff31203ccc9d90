//! Rows the node returns from reads (idOS's view results), shared by the node, the relay's
//! JSON API and clients.

use uuid::Uuid;

use crate::action::PasswordStore;
use crate::bytes::{Bytes, Ed25519PublicKey, EncryptionPublicKey, Nonce128, Sha256Digest};
use crate::error::{Error, Result};
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

/// Longest cursor a read may carry.
pub const MAX_CURSOR_BYTES: usize = 64;

/// Where the next page of a list read starts. Opaque to clients: pass back the `next_cursor`
/// of the previous page unchanged. (Today it is the key of the last row the page looked at,
/// after the read's own prefix, so a page continues exactly after the previous one however
/// rows come and go in between.)
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
#[serde(transparent)]
pub struct Cursor(Bytes);

impl Cursor {
    /// A cursor over `position`, at most [`MAX_CURSOR_BYTES`] long.
    pub fn new(position: Vec<u8>) -> Result<Self> {
        let cursor = Cursor(Bytes(position));
        cursor.validate()?;
        Ok(cursor)
    }

    /// The position bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Stateless checks of a cursor that came from outside (its length).
    pub fn validate(&self) -> Result<()> {
        if self.0.len() > MAX_CURSOR_BYTES {
            return Err(Error::TooLarge {
                what: "cursor",
                actual: self.0.len(),
                limit: MAX_CURSOR_BYTES,
            });
        }
        Ok(())
    }
}

/// One page of a list read.
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
pub struct Page<T> {
    /// The rows of this page, in the read's order (at most the page's `limit`; fewer when the
    /// read filters rows, so an empty page may still have a next one).
    pub items: Vec<T>,
    /// Pass it as `after` to read the next page; `None` when there is nothing after this page.
    pub next_cursor: Option<Cursor>,
}

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
    Wallets(Page<WalletRecord>),
    Credentials(Page<CredentialSummary>),
    Credential(CredentialRecord),
    Attributes(Page<AttributeRecord>),
    AccessGrants(Page<AccessGrantRecord>),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_holds_its_position_up_to_the_limit() {
        let position: Vec<u8> = (0..MAX_CURSOR_BYTES as u8).collect();
        let cursor = Cursor::new(position.clone()).unwrap();
        assert_eq!(cursor.as_bytes(), &position[..]);
        assert_eq!(Cursor::new(Vec::new()).unwrap().as_bytes(), &[] as &[u8]);
        let long = vec![0; MAX_CURSOR_BYTES + 1];
        assert_eq!(Cursor::new(long).unwrap_err().code(), "too_large");
    }
}
