//! Interop vectors made with the JavaScript libraries idOS uses (scrypt-js, tweetnacl,
//! uuid). Every vector in `vectors/idos-compat.json` must pass.

use protocol::bytes::{Ed25519PublicKey, Ed25519Signature, EncryptionPublicKey};
use protocol::codec::{base64_decode, base64_encode, hex_decode_array};
use protocol::credential::{
    CredentialSignatures, content_hash, sign_credential, verify_credential_signatures,
};
use protocol::grant::{ACCESS_GRANT_NAMESPACE, access_grant_id};
use protocol::identity::Ed25519SigningKey;
use protocol::kdf::{KdfVersion, derive_user_key, unlock_user_key};
use protocol::nacl_box::{EncryptionSecretKey, decrypt, encrypt};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Deserialize)]
struct Vectors {
    kdf: Vec<KdfVector>,
    #[serde(rename = "box")]
    boxes: Vec<BoxVector>,
    credential_signatures: Vec<SignatureVector>,
    access_grant_id: Vec<GrantIdVector>,
}

#[derive(Deserialize)]
struct KdfVector {
    password: String,
    user_id: String,
    secret_key: String,
    public_key: String,
}

#[derive(Deserialize)]
struct BoxVector {
    recipient_secret_key: String,
    recipient_public_key: String,
    encryptor_public_key: String,
    content: String,
    plaintext: String,
    content_hash: String,
}

#[derive(Deserialize)]
struct SignatureVector {
    issuer_auth_public_key: String,
    issuer_seed_hex: String,
    public_notes: String,
    content: String,
    public_notes_signature: String,
    broader_signature: String,
}

#[derive(Deserialize)]
struct GrantIdVector {
    namespace: String,
    grantee: String,
    data_id: String,
    locked_until: i64,
    name: String,
    id: String,
}

fn vectors() -> Vectors {
    let text = include_str!("vectors/idos-compat.json");
    serde_json::from_str(text).expect("vectors parse")
}

#[test]
fn every_vector_group_is_present() {
    let v = vectors();
    assert!(!v.kdf.is_empty() && !v.boxes.is_empty());
    assert!(!v.credential_signatures.is_empty() && !v.access_grant_id.is_empty());
}

#[test]
fn kdf_vectors_derive_the_same_keys() {
    for v in vectors().kdf {
        let key = derive_user_key(&v.password, &v.user_id, KdfVersion::IdosScryptV0_1).unwrap();
        assert_eq!(
            *key.to_base64(),
            v.secret_key,
            "secret for {:?}",
            v.password
        );
        assert_eq!(
            key.public_key().to_string(),
            v.public_key,
            "public for {:?}",
            v.password
        );
        let expected = EncryptionPublicKey::parse(&v.public_key).unwrap();
        assert!(
            unlock_user_key(
                &v.password,
                &v.user_id,
                &expected,
                KdfVersion::IdosScryptV0_1
            )
            .unwrap()
            .is_some()
        );
    }
}

#[test]
fn box_vectors_decrypt_and_hash() {
    for v in vectors().boxes {
        let recipient = EncryptionSecretKey::from_base64(&v.recipient_secret_key).unwrap();
        assert_eq!(recipient.public_key().to_string(), v.recipient_public_key);
        let encryptor = EncryptionPublicKey::parse(&v.encryptor_public_key).unwrap();
        let content = base64_decode("content", &v.content).unwrap();
        let plaintext = decrypt(&content, &encryptor, &recipient).unwrap();
        assert_eq!(&*plaintext, v.plaintext.as_bytes());
        assert_eq!(content_hash(&plaintext).to_string(), v.content_hash);
    }
}

#[test]
fn box_vectors_re_encrypt_to_the_same_recipient() {
    for v in vectors().boxes {
        let recipient = EncryptionSecretKey::from_base64(&v.recipient_secret_key).unwrap();
        let sealed = encrypt(v.plaintext.as_bytes(), &recipient.public_key()).unwrap();
        let again = decrypt(&sealed.content, &sealed.encryptor_public_key, &recipient).unwrap();
        assert_eq!(&*again, v.plaintext.as_bytes());
        assert_eq!(
            base64_encode(&sealed.content).len(),
            v.content.len(),
            "same stored layout and size"
        );
    }
}

#[test]
fn box_vectors_fail_when_tampered() {
    for v in vectors().boxes {
        let recipient = EncryptionSecretKey::from_base64(&v.recipient_secret_key).unwrap();
        let encryptor = EncryptionPublicKey::parse(&v.encryptor_public_key).unwrap();
        let mut content = base64_decode("content", &v.content).unwrap();
        let middle = content.len() / 2;
        content[middle] ^= 1;
        assert_eq!(
            decrypt(&content, &encryptor, &recipient)
                .unwrap_err()
                .code(),
            "decryption_failed"
        );
    }
}

#[test]
fn credential_signature_vectors_verify_and_reproduce() {
    for v in vectors().credential_signatures {
        let issuer = Ed25519PublicKey::parse(&v.issuer_auth_public_key).unwrap();
        let content = base64_decode("content", &v.content).unwrap();
        let signatures = CredentialSignatures {
            public_notes_signature: Ed25519Signature::parse(&v.public_notes_signature).unwrap(),
            broader_signature: Ed25519Signature::parse(&v.broader_signature).unwrap(),
        };
        verify_credential_signatures(&issuer, &v.public_notes, &content, &signatures).unwrap();

        // Ed25519 is deterministic: the issuer's seed reproduces the very same signatures.
        let key =
            Ed25519SigningKey::from_seed(&hex_decode_array("seed", &v.issuer_seed_hex).unwrap());
        assert_eq!(key.public_key(), issuer);
        assert_eq!(sign_credential(&key, &v.public_notes, &content), signatures);
        assert_eq!(
            issuer.to_string(),
            v.issuer_auth_public_key,
            "issuer key is lowercase hex"
        );
    }
}

#[test]
fn credential_signature_vectors_fail_with_other_notes() {
    for v in vectors().credential_signatures {
        let issuer = Ed25519PublicKey::parse(&v.issuer_auth_public_key).unwrap();
        let content = base64_decode("content", &v.content).unwrap();
        let signatures = CredentialSignatures {
            public_notes_signature: Ed25519Signature::parse(&v.public_notes_signature).unwrap(),
            broader_signature: Ed25519Signature::parse(&v.broader_signature).unwrap(),
        };
        let err = verify_credential_signatures(
            &issuer,
            &format!("{} ", v.public_notes),
            &content,
            &signatures,
        );
        assert_eq!(err.unwrap_err().code(), "bad_signature");
    }
}

#[test]
fn access_grant_id_vectors() {
    for v in vectors().access_grant_id {
        assert_eq!(
            Uuid::parse_str(&v.namespace).unwrap(),
            ACCESS_GRANT_NAMESPACE
        );
        let data_id = Uuid::parse_str(&v.data_id).unwrap();
        assert_eq!(
            format!("{}-{}-{}", v.grantee, v.data_id, v.locked_until),
            v.name
        );
        assert_eq!(
            access_grant_id(&v.grantee, &data_id, v.locked_until).to_string(),
            v.id
        );
    }
}
