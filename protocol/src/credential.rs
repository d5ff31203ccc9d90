//! Credential authenticity signatures and content hashes, as idOS writes and checks them.
//!
//! For every credential row (original or copy) the writer supplies, with an Ed25519 key whose
//! lowercase hex public key is the row's `issuer_auth_public_key`:
//! - `public_notes_signature = sign(UTF-8(public_notes))`
//! - `broader_signature = sign(public_notes_signature (64 bytes) ‖ content bytes)`
//!
//! where the content bytes are the stored `nonce ‖ tag ‖ ciphertext`. Copies made by a user
//! when sharing have empty public notes and are signed with a fresh ephemeral key.

use sha2::{Digest, Sha256};

use crate::bytes::{Ed25519PublicKey, Ed25519Signature, Sha256Digest};
use crate::error::{Error, Result};
use crate::identity::Ed25519SigningKey;

/// The two signatures every credential row is written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialSignatures {
    /// Over the UTF-8 public notes.
    pub public_notes_signature: Ed25519Signature,
    /// Over `public_notes_signature ‖ content`.
    pub broader_signature: Ed25519Signature,
}

/// What `broader_signature` signs: `public_notes_signature ‖ content`.
pub fn broader_message(public_notes_signature: &Ed25519Signature, content: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(Ed25519Signature::LEN + content.len());
    message.extend_from_slice(public_notes_signature.as_bytes());
    message.extend_from_slice(content);
    message
}

/// Signs a credential row.
pub fn sign_credential(
    key: &Ed25519SigningKey,
    public_notes: &str,
    content: &[u8],
) -> CredentialSignatures {
    let public_notes_signature = key.sign(public_notes.as_bytes());
    let broader_signature = key.sign(&broader_message(&public_notes_signature, content));
    CredentialSignatures {
        public_notes_signature,
        broader_signature,
    }
}

/// Checks both signatures of a credential row against `issuer_auth_public_key`
/// (idOS's `assert_credential_signatures`).
pub fn verify_credential_signatures(
    issuer_auth_public_key: &Ed25519PublicKey,
    public_notes: &str,
    content: &[u8],
    signatures: &CredentialSignatures,
) -> Result<()> {
    // One key, two signatures: the key is decompressed once and both are checked in one
    // multiscalar multiplication (`ed25519_pair`: exactly verify_strict's verdicts for every
    // signature an honest signer makes, deterministic on every node).
    let key = ed25519_dalek::VerifyingKey::from_bytes(issuer_auth_public_key.as_bytes()).map_err(
        |_| Error::InvalidEd25519Key {
            field: "issuer_auth_public_key",
        },
    )?;
    let broader = broader_message(&signatures.public_notes_signature, content);
    crate::ed25519_pair::verify_pair(
        &key,
        public_notes.as_bytes(),
        signatures.public_notes_signature.as_bytes(),
        &broader,
        signatures.broader_signature.as_bytes(),
    )
    .map_err(|failed| Error::BadSignature {
        field: match failed {
            crate::ed25519_pair::Failed::First => "public_notes_signature",
            crate::ed25519_pair::Failed::Second => "broader_signature",
        },
    })
}

/// `content_hash`: SHA-256 of the plaintext (hex in text form).
pub fn content_hash(plaintext: &[u8]) -> Sha256Digest {
    Sha256Digest::from_bytes(Sha256::digest(plaintext).into())
}

/// The `verifiable_credential_id` idOS extracts from public notes: the string `id` field of
/// the JSON object, if the notes are a JSON object with one.
pub fn verifiable_credential_id(public_notes: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(public_notes).ok()?;
    match value.get("id")? {
        serde_json::Value::String(id) if !id.is_empty() => Some(id.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Ed25519SigningKey {
        Ed25519SigningKey::from_seed(&[3; 32])
    }

    #[test]
    fn sign_then_verify() {
        let k = key();
        let sigs = sign_credential(&k, "{\"id\":\"x\"}", b"content");
        verify_credential_signatures(&k.public_key(), "{\"id\":\"x\"}", b"content", &sigs).unwrap();
    }

    #[test]
    fn fail_changed_notes_content_key_or_swapped_signatures() {
        let k = key();
        let sigs = sign_credential(&k, "notes", b"content");
        let pk = k.public_key();
        let err = verify_credential_signatures(&pk, "notes!", b"content", &sigs).unwrap_err();
        assert_eq!(
            err.to_string(),
            "public_notes_signature: signature does not verify"
        );
        let err = verify_credential_signatures(&pk, "notes", b"content!", &sigs).unwrap_err();
        assert_eq!(
            err.to_string(),
            "broader_signature: signature does not verify"
        );
        let other = Ed25519SigningKey::from_seed(&[4; 32]).public_key();
        assert!(verify_credential_signatures(&other, "notes", b"content", &sigs).is_err());
        let swapped = CredentialSignatures {
            public_notes_signature: sigs.broader_signature,
            broader_signature: sigs.public_notes_signature,
        };
        assert!(verify_credential_signatures(&pk, "notes", b"content", &swapped).is_err());
    }

    #[test]
    fn vc_id_comes_from_the_notes_json() {
        assert_eq!(
            verifiable_credential_id(r#"{"id":"abc","level":"basic"}"#).as_deref(),
            Some("abc")
        );
        assert_eq!(verifiable_credential_id(""), None);
        assert_eq!(verifiable_credential_id("not json"), None);
        assert_eq!(verifiable_credential_id(r#"{"id":7}"#), None);
        assert_eq!(verifiable_credential_id(r#"["id"]"#), None);
        assert_eq!(verifiable_credential_id(r#"{"id":""}"#), None);
    }

    #[test]
    fn content_hash_known_answer() {
        assert_eq!(
            content_hash(b"abc").to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
