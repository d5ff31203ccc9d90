//! Client-side credential work: an issuer encrypting and signing a credential, a user making
//! the copy it shares, and a grantee opening a shared copy only after checking it. All of it
//! happens here, on the caller's machine: the relay only ever carries ciphertext.
//!
//! # Issuer notes
//!
//! The node checks the issuer's two signatures (over the public notes, and over the notes'
//! signature and the ciphertext) when a credential is written, but its reads do not return
//! them, and a grantee's copy is re-encrypted (and re-signed) by the user anyway. So that a
//! grantee can check what the issuer issued, [`issuer_public_notes`] puts into the public
//! notes (which the grantee reads with the copy) the plaintext's SHA-256 and the issuer's
//! Ed25519 signature over [`content_attestation_text`]. [`open_shared`] checks that signature
//! against the issuer key the grantee trusts, and the hash against the plaintext and the
//! access grant's `content_hash`.

use protocol::action::CredentialInput;
use protocol::bytes::{
    Bytes, Ed25519PublicKey, Ed25519Signature, EncryptionPublicKey, Sha256Digest,
};
use protocol::codec::{base64_decode_array, base64_encode};
use protocol::credential::{content_hash, sign_credential};
use protocol::identity::{Ed25519SigningKey, verify_ed25519};
use protocol::nacl_box::{EncryptionSecretKey, decrypt, encrypt};
use protocol::records::CredentialRecord;
use serde_json::{Value, json};

use crate::error::{ClientError, Result};

/// `status` of a credential's public notes after the issuer revoked it.
pub const REVOKED: &str = "revoked";

/// The text an issuer signs to vouch for a plaintext: two lines, no newline at the end.
pub fn content_attestation_text(content_hash: &Sha256Digest) -> String {
    format!("idOS credential content\ncontent hash: {content_hash}")
}

/// Public notes for a credential `id` (its verifiable-credential id, which the issuer's later
/// notes edits name) with `status`, vouching for `plaintext` with the issuer's key.
pub fn issuer_public_notes(
    id: &str,
    status: &str,
    issuer: &Ed25519SigningKey,
    plaintext: &[u8],
) -> String {
    let hash = content_hash(plaintext);
    let signature = issuer.sign(content_attestation_text(&hash).as_bytes());
    json!({
        "id": id,
        "status": status,
        "issuer": issuer.public_key().to_text(),
        "content_hash": hash.to_text(),
        "content_signature": base64_encode(signature.as_bytes()),
    })
    .to_string()
}

/// A credential row: `plaintext` encrypted to `recipient` from a fresh ephemeral key, notes and
/// content signed with `signer`.
pub fn seal_credential(
    signer: &Ed25519SigningKey,
    recipient: &EncryptionPublicKey,
    plaintext: &[u8],
    public_notes: &str,
) -> Result<CredentialInput> {
    let sealed = encrypt(plaintext, recipient)?;
    let signatures = sign_credential(signer, public_notes, &sealed.content);
    Ok(CredentialInput {
        issuer_auth_public_key: signer.public_key(),
        encryptor_public_key: sealed.encryptor_public_key,
        content: Bytes::from(sealed.content),
        public_notes: public_notes.to_owned(),
        public_notes_signature: signatures.public_notes_signature,
        broader_signature: signatures.broader_signature,
    })
}

/// The copy a user shares: `plaintext` encrypted to the grantee's key, empty public notes,
/// signed with a fresh ephemeral key (as idOS does); with the plaintext's hash for the grant.
pub fn share_copy(
    plaintext: &[u8],
    grantee: &EncryptionPublicKey,
) -> Result<(CredentialInput, Sha256Digest)> {
    let copy = seal_credential(&Ed25519SigningKey::generate(), grantee, plaintext, "")?;
    Ok((copy, content_hash(plaintext)))
}

fn unverified(code: &'static str, message: impl Into<String>) -> ClientError {
    ClientError::Unverified {
        code,
        message: message.into(),
    }
}

/// Opens a shared copy: decrypts it with the grantee's `secret`, then releases the plaintext
/// only if its SHA-256 equals the access grant's `grant_content_hash`, the public notes are
/// not revoked, name `trusted_issuer`, and carry that issuer's valid signature over the same
/// hash. Every refusal is a [`ClientError::Unverified`] with its code.
pub fn open_shared(
    copy: &CredentialRecord,
    grant_content_hash: &Sha256Digest,
    trusted_issuer: &Ed25519PublicKey,
    secret: &EncryptionSecretKey,
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let plaintext = decrypt(&copy.content, &copy.encryptor_public_key, secret)?;
    let hash = content_hash(&plaintext);
    if &hash != grant_content_hash {
        return Err(unverified(
            "content_hash_mismatch",
            "the decrypted content does not have the access grant's content hash",
        ));
    }
    let notes: Value = serde_json::from_str(&copy.public_notes).map_err(|_| {
        unverified(
            "no_issuer_signature",
            "the credential's public notes are not issuer notes (JSON)",
        )
    })?;
    if notes.get("status").and_then(Value::as_str) == Some(REVOKED) {
        return Err(unverified(
            "credential_revoked",
            "the issuer revoked this credential",
        ));
    }
    let field = |name: &str| notes.get(name).and_then(Value::as_str);
    match field("issuer") {
        Some(issuer) if issuer == trusted_issuer.to_text() => {}
        Some(other) => {
            return Err(unverified(
                "issuer_mismatch",
                format!("the credential names issuer {other}, not the trusted one"),
            ));
        }
        None => {
            return Err(unverified(
                "no_issuer_signature",
                "the public notes name no issuer",
            ));
        }
    }
    let (Some(noted_hash), Some(signature)) = (field("content_hash"), field("content_signature"))
    else {
        return Err(unverified(
            "no_issuer_signature",
            "the public notes carry no content signature",
        ));
    };
    if noted_hash != hash.to_text() {
        return Err(unverified(
            "content_hash_mismatch",
            "the decrypted content is not the content the issuer signed",
        ));
    }
    let signature = base64_decode_array::<64>("content_signature", signature)
        .map_err(|_| unverified("bad_issuer_signature", "content_signature is not 64 bytes"))?;
    verify_ed25519(
        "content_signature",
        trusted_issuer,
        content_attestation_text(&hash).as_bytes(),
        &Ed25519Signature::from_bytes(signature),
    )
    .map_err(|_| {
        unverified(
            "bad_issuer_signature",
            "the issuer's content signature does not verify",
        )
    })?;
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn record(copy: &CredentialInput, notes: &str) -> CredentialRecord {
        CredentialRecord {
            id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
            public_notes: notes.to_owned(),
            content: copy.content.clone(),
            encryptor_public_key: copy.encryptor_public_key,
            issuer_auth_public_key: copy.issuer_auth_public_key,
            inserter: None,
            original_id: Some(Uuid::new_v4()),
        }
    }

    #[test]
    fn a_copy_opens_only_with_the_right_hash_issuer_and_status() {
        let issuer = Ed25519SigningKey::generate();
        let grantee = EncryptionSecretKey::generate();
        let plaintext = b"{\"name\":\"Ada\"}";
        let notes = issuer_public_notes("vc-1", "valid", &issuer, plaintext);
        let (copy, hash) = share_copy(plaintext, &grantee.public_key()).unwrap();
        let opened = open_shared(
            &record(&copy, &notes),
            &hash,
            &issuer.public_key(),
            &grantee,
        )
        .unwrap();
        assert_eq!(&opened[..], plaintext);

        let code = |notes: &str, hash: &Sha256Digest, issuer: &Ed25519PublicKey| {
            open_shared(&record(&copy, notes), hash, issuer, &grantee)
                .unwrap_err()
                .code()
                .to_owned()
        };
        let other = Ed25519SigningKey::generate();
        assert_eq!(
            code(&notes, &content_hash(b"x"), &issuer.public_key()),
            "content_hash_mismatch"
        );
        assert_eq!(code(&notes, &hash, &other.public_key()), "issuer_mismatch");
        let forged = issuer_public_notes("vc-1", "valid", &other, plaintext).replace(
            &other.public_key().to_text(),
            &issuer.public_key().to_text(),
        );
        assert_eq!(
            code(&forged, &hash, &issuer.public_key()),
            "bad_issuer_signature"
        );
        let revoked = issuer_public_notes("vc-1", REVOKED, &issuer, plaintext);
        assert_eq!(
            code(&revoked, &hash, &issuer.public_key()),
            "credential_revoked"
        );
        assert_eq!(code("", &hash, &issuer.public_key()), "no_issuer_signature");
        let wrong_key = EncryptionSecretKey::generate();
        assert!(
            open_shared(
                &record(&copy, &notes),
                &hash,
                &issuer.public_key(),
                &wrong_key
            )
            .is_err()
        );
    }
}
