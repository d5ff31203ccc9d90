//! What the enclave does with the user's key, without any browser API: unlock (offline password
//! check), encrypt, share, decrypt for view/release, filter on private fields and re-encrypt for
//! a password change. All cryptography is `protocol`'s.

use protocol::Uuid;
use protocol::action::{PasswordStore, ReencryptedCredential, RotateEncryptionKey};
use protocol::bytes::{
    Bytes, Ed25519PublicKey, Ed25519Signature, EncryptionPublicKey, Sha256Digest,
};
use protocol::credential::{content_hash, sign_credential};
use protocol::identity::Ed25519SigningKey;
#[cfg(target_arch = "wasm32")]
use protocol::kdf::derive_user_key_normalized;
use protocol::kdf::{ScryptParams, validate_user_id_salt};
use protocol::nacl_box::{self, EncryptionSecretKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{EnclaveError, ErrorCode, Result};

/// A credential row as the host passes it in: its id, encrypted content and encryptor key.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptedCredential {
    /// The credential's id.
    pub id: Uuid,
    /// Base64 `nonce ‖ tag ‖ ciphertext`.
    pub content: Bytes,
    /// The key the content was encrypted from.
    pub encryptor_public_key: EncryptionPublicKey,
    /// Public notes, shown to the user in the dialog as the site's description (optional).
    #[serde(default)]
    pub public_notes: String,
    /// The issuer's Ed25519 key the row was signed with (optional, with the two signatures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_auth_public_key: Option<Ed25519PublicKey>,
    /// Signature over the public notes (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_notes_signature: Option<Ed25519Signature>,
    /// Signature over `public_notes_signature ‖ content` (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broader_signature: Option<Ed25519Signature>,
}

/// The result of `encrypt`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Encrypted {
    pub content: Bytes,
    pub encryptor_public_key: EncryptionPublicKey,
}

/// The result of `share`: a copy for the grantee, signed with an ephemeral key. Ciphertext and
/// signatures only; the plaintext never appears.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedCopy {
    pub original_credential_id: Uuid,
    pub content: Bytes,
    pub encryptor_public_key: EncryptionPublicKey,
    pub issuer_auth_public_key: Ed25519PublicKey,
    pub public_notes: String,
    pub public_notes_signature: Ed25519Signature,
    pub broader_signature: Ed25519Signature,
    pub content_hash: Sha256Digest,
}

/// The user's vault: who they are, which public key their profile publishes, and (once
/// unlocked) the secret key.
#[derive(Default)]
pub struct Vault {
    user_id: Option<String>,
    expected: Option<EncryptionPublicKey>,
    key: Option<EncryptionSecretKey>,
}

/// NFKC normalisation of a password by the browser (`String.prototype.normalize`), as idOS's
/// JavaScript enclave does, so the wasm ships no Unicode tables.
#[cfg(target_arch = "wasm32")]
pub fn nfkc(password: &str) -> Zeroizing<String> {
    Zeroizing::new(String::from(
        js_sys::JsString::from(password).normalize("NFKC"),
    ))
}

/// Derives a key from a password and checks it, offline, against the profile's public key
/// when one is known. A mismatch is `wrong_password`.
pub fn unlock(
    password: &str,
    user_id: &str,
    expected: Option<&EncryptionPublicKey>,
    params: ScryptParams,
) -> Result<EncryptionSecretKey> {
    #[cfg(target_arch = "wasm32")]
    let key = derive_user_key_normalized(&nfkc(password), user_id, params)?;
    #[cfg(not(target_arch = "wasm32"))]
    let key = protocol::kdf::derive_user_key_with(password, user_id, params)?;
    match expected {
        Some(pk) if key.public_key() != *pk => Err(EnclaveError::new(
            ErrorCode::WrongPassword,
            "this password does not unlock this idOS profile (its key does not match the profile's public key)",
        )),
        _ => Ok(key),
    }
}

impl Vault {
    /// Sets the user and the public key their profile publishes. Drops an unlocked key that
    /// belongs to another user or does not match the expected public key.
    pub fn configure(
        &mut self,
        user_id: &str,
        expected: Option<EncryptionPublicKey>,
    ) -> Result<()> {
        validate_user_id_salt(user_id)?;
        let same_user = self.user_id.as_deref() == Some(user_id);
        let key_fits = match (&self.key, &expected) {
            (Some(k), Some(pk)) => k.public_key() == *pk,
            _ => true,
        };
        if !same_user || !key_fits {
            self.key = None;
        }
        self.user_id = Some(user_id.to_owned());
        self.expected = expected;
        Ok(())
    }

    /// The configured user id.
    pub fn user_id(&self) -> Result<&str> {
        self.user_id.as_deref().ok_or_else(|| {
            EnclaveError::new(
                ErrorCode::NotConfigured,
                "call configure with the user id first",
            )
        })
    }

    /// The public key the profile publishes, if known.
    pub fn expected(&self) -> Option<&EncryptionPublicKey> {
        self.expected.as_ref()
    }

    /// Whether a key is unlocked.
    pub fn is_unlocked(&self) -> bool {
        self.key.is_some()
    }

    /// The unlocked key's public half.
    pub fn public_key(&self) -> Option<EncryptionPublicKey> {
        self.key.as_ref().map(EncryptionSecretKey::public_key)
    }

    /// Installs an unlocked key, after checking it against the expected public key.
    pub fn set_key(&mut self, key: EncryptionSecretKey) -> Result<()> {
        self.user_id()?;
        if let Some(pk) = &self.expected
            && key.public_key() != *pk
        {
            return Err(EnclaveError::new(
                ErrorCode::KeyMismatch,
                "the key does not match the profile's public key",
            ));
        }
        self.key = Some(key);
        Ok(())
    }

    /// Installs a new key after a password change; it becomes the expected public key.
    pub fn replace_key(&mut self, key: EncryptionSecretKey) {
        self.expected = Some(key.public_key());
        self.key = Some(key);
    }

    /// Drops the in-memory key (the key is wiped on drop).
    pub fn forget(&mut self) {
        self.key = None;
    }

    /// The unlocked key, or `locked`.
    pub fn key(&self) -> Result<&EncryptionSecretKey> {
        self.key.as_ref().ok_or_else(|| {
            EnclaveError::new(
                ErrorCode::Locked,
                "the idOS key is locked; call ensureKey first",
            )
        })
    }

    /// Encrypts text for a recipient (the user's own key when `recipient` is None).
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        recipient: Option<&EncryptionPublicKey>,
    ) -> Result<Encrypted> {
        let recipient = match recipient {
            Some(r) => *r,
            None => self.expected.or_else(|| self.public_key()).ok_or_else(|| {
                EnclaveError::bad_request(
                    "no recipientPublicKey given and the user's public key is unknown",
                )
            })?,
        };
        let e = nacl_box::encrypt(plaintext, &recipient)?;
        Ok(Encrypted {
            content: e.content.into(),
            encryptor_public_key: e.encryptor_public_key,
        })
    }

    /// Decrypts one of the user's credentials.
    pub fn decrypt(&self, credential: &EncryptedCredential) -> Result<Zeroizing<Vec<u8>>> {
        Ok(nacl_box::decrypt(
            &credential.content,
            &credential.encryptor_public_key,
            self.key()?,
        )?)
    }

    /// Decrypts an original, re-encrypts it for the grantee, signs the copy with a fresh
    /// ephemeral Ed25519 key and computes the plaintext's content hash.
    pub fn share(
        &self,
        original: &EncryptedCredential,
        grantee: &EncryptionPublicKey,
    ) -> Result<SharedCopy> {
        let plaintext = self.decrypt(original)?;
        let copy = nacl_box::encrypt(&plaintext, grantee)?;
        let signer = Ed25519SigningKey::generate();
        let sigs = sign_credential(&signer, "", &copy.content);
        Ok(SharedCopy {
            original_credential_id: original.id,
            content: copy.content.into(),
            encryptor_public_key: copy.encryptor_public_key,
            issuer_auth_public_key: signer.public_key(),
            public_notes: String::new(),
            public_notes_signature: sigs.public_notes_signature,
            broader_signature: sigs.broader_signature,
            content_hash: content_hash(&plaintext),
        })
    }

    /// Re-encrypts every original to `new_key` and returns the `rotate_encryption_key`
    /// action's arguments. Does not install the new key.
    pub fn rotate(
        &self,
        new_key: &EncryptionSecretKey,
        originals: &[EncryptedCredential],
    ) -> Result<RotateEncryptionKey> {
        let new_public = new_key.public_key();
        let mut out = Vec::with_capacity(originals.len());
        for original in originals {
            let plaintext = self
                .decrypt(original)
                .map_err(|e| with_id(e, original.id))?;
            let e = nacl_box::encrypt(&plaintext, &new_public)?;
            out.push(ReencryptedCredential {
                id: original.id,
                content: e.content.into(),
                encryptor_public_key: e.encryptor_public_key,
            });
        }
        Ok(RotateEncryptionKey {
            recipient_encryption_public_key: new_public,
            encryption_password_store: PasswordStore::User,
            originals: out,
        })
    }

    /// Ids of the credentials whose decrypted JSON satisfies the filter. Content never leaves.
    /// Every credential is decrypted and every clause evaluated, whatever the answer, so the
    /// time taken does not depend on field values. Call only after the user approved the filter.
    pub fn filter(
        &self,
        credentials: &[EncryptedCredential],
        filter: &crate::filter::Filter,
    ) -> Result<Vec<Uuid>> {
        let mut ids = Vec::new();
        for c in credentials {
            let plaintext = self.decrypt(c).map_err(|e| with_id(e, c.id))?;
            let value: serde_json::Value = serde_json::from_slice(&plaintext).map_err(|_| {
                EnclaveError::new(
                    ErrorCode::NotJson,
                    format!("credential {}: decrypted content is not JSON", c.id),
                )
            })?;
            if filter.matches(&value) {
                ids.push(c.id);
            }
        }
        Ok(ids)
    }
}

fn with_id(e: EnclaveError, id: Uuid) -> EnclaveError {
    e.context(format!("credential {id}"))
}
