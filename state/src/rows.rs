//! Stored rows (Borsh). Ids are the table keys, not part of the rows.

use borsh::{BorshDeserialize, BorshSerialize};
use protocol::action::PasswordStore;
use protocol::bytes::{Bytes, Ed25519PublicKey, EncryptionPublicKey, Nonce128, Sha256Digest};
use protocol::grant::{DelegatedWriteGrant, GrantInserterType};
use protocol::identity::Identity;
use protocol::records::{
    AccessGrantRecord, AttributeRecord, CredentialRecord, CredentialSummary, UserRecord,
    WalletRecord,
};
use protocol::wallet::{WalletType, wallet_ownership_message};
use uuid::Uuid;

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct UserRow {
    pub recipient_encryption_public_key: EncryptionPublicKey,
    pub encryption_password_store: PasswordStore,
    pub inserter: String,
}

impl UserRow {
    pub fn record(&self, id: Uuid) -> UserRecord {
        UserRecord {
            id,
            recipient_encryption_public_key: self.recipient_encryption_public_key,
            encryption_password_store: self.encryption_password_store,
            inserter: self.inserter.clone(),
        }
    }
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct WalletRow {
    pub user_id: Uuid,
    pub wallet: Identity,
    pub nonce: Nonce128,
    pub signature: Bytes,
    pub inserter: Option<String>,
}

impl WalletRow {
    pub fn record(&self, id: Uuid, chain_id: &str) -> WalletRecord {
        WalletRecord {
            id,
            user_id: self.user_id,
            address: self.wallet,
            wallet_type: WalletType::of(&self.wallet),
            nonce: self.nonce,
            message: wallet_ownership_message(&self.user_id, &self.wallet, chain_id, &self.nonce),
            signature: self.signature.clone(),
            inserter: self.inserter.clone(),
        }
    }
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct CredentialRow {
    pub user_id: Uuid,
    pub public_notes: String,
    pub content: Bytes,
    pub encryptor_public_key: EncryptionPublicKey,
    pub issuer_auth_public_key: Ed25519PublicKey,
    /// Inserter name, or the delegated write grant id; `None` when the user wrote it.
    pub inserter: Option<String>,
    /// The `id` of the public notes' JSON (originals only).
    pub verifiable_credential_id: Option<String>,
    /// Set for copies.
    pub original_id: Option<Uuid>,
}

impl CredentialRow {
    pub fn summary(&self, id: Uuid) -> CredentialSummary {
        CredentialSummary {
            id,
            user_id: self.user_id,
            public_notes: self.public_notes.clone(),
            issuer_auth_public_key: self.issuer_auth_public_key,
            inserter: self.inserter.clone(),
            original_id: self.original_id,
        }
    }

    pub fn record(&self, id: Uuid) -> CredentialRecord {
        CredentialRecord {
            id,
            user_id: self.user_id,
            public_notes: self.public_notes.clone(),
            content: self.content.clone(),
            encryptor_public_key: self.encryptor_public_key,
            issuer_auth_public_key: self.issuer_auth_public_key,
            inserter: self.inserter.clone(),
            original_id: self.original_id,
        }
    }

    pub fn is_copy(&self) -> bool {
        self.original_id.is_some()
    }
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct AttributeRow {
    pub user_id: Uuid,
    pub attribute_key: String,
    pub value: String,
    pub inserter: Option<String>,
    pub original_id: Option<Uuid>,
}

impl AttributeRow {
    pub fn record(&self, id: Uuid) -> AttributeRecord {
        AttributeRecord {
            id,
            user_id: self.user_id,
            attribute_key: self.attribute_key.clone(),
            value: self.value.clone(),
            inserter: self.inserter.clone(),
            original_id: self.original_id,
        }
    }
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct InserterRow {
    pub name: String,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct GrantRow {
    pub owner: Uuid,
    pub grantee: Identity,
    pub data_id: Uuid,
    pub locked_until: i64,
    pub content_hash: Sha256Digest,
    pub height: u64,
    pub inserter_type: GrantInserterType,
    pub inserter_id: String,
}

impl GrantRow {
    pub fn record(&self, id: Uuid) -> AccessGrantRecord {
        AccessGrantRecord {
            id,
            ag_owner_user_id: self.owner,
            ag_grantee_wallet_identifier: self.grantee,
            data_id: self.data_id,
            locked_until: self.locked_until,
            content_hash: self.content_hash,
            height: self.height,
            inserter_type: self.inserter_type,
            inserter_id: self.inserter_id.clone(),
        }
    }

    /// Whether the grant carries a lock at all: idOS's `locked_until` 0 means none.
    pub fn has_lock(&self) -> bool {
        self.locked_until > 0
    }

    /// Locked while the block time is at or before `locked_until` (idOS's rule); a grant
    /// without a lock never is (block times are after 1970, so idOS's comparison alone agrees).
    pub fn is_locked_at(&self, block_time: i64) -> bool {
        self.has_lock() && self.locked_until >= block_time
    }
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct ConsumedWriteGrantRow {
    pub grant: DelegatedWriteGrant,
    pub original_credential_id: Uuid,
    pub copy_credential_id: Uuid,
    pub height: u64,
}
