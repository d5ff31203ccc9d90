//! Credential content encryption exactly as idOS does it: NaCl `crypto_box`
//! (X25519 + XSalsa20-Poly1305) from a fresh ephemeral sender key per message.
//!
//! Stored layout of `content`: `nonce (24) ‖ Poly1305 tag (16) ‖ ciphertext`, which is
//! tweetnacl's `box` output (tag first) prefixed by the nonce. The ephemeral sender's public
//! key travels separately as the row's `encryptor_public_key`.

use crypto_box::aead::{Aead, AeadCore, OsRng};
use crypto_box::{SalsaBox, SecretKey};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::bytes::EncryptionPublicKey;
use crate::codec;
use crate::error::{Error, Result};

/// Bytes of the random nonce that starts every stored ciphertext.
pub const NONCE_LEN: usize = 24;
/// Bytes of the Poly1305 tag that follows the nonce.
pub const TAG_LEN: usize = 16;
/// Overhead of the stored layout over the plaintext.
pub const OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// An X25519 secret key: a user's password-derived key, a grantee's box key, or an
/// ephemeral sender key. Zeroized on drop; never printed.
#[derive(Clone)]
pub struct EncryptionSecretKey(SecretKey);

impl EncryptionSecretKey {
    /// A fresh random key from the operating system's (or browser's) CSPRNG.
    pub fn generate() -> Self {
        Self::generate_with(&mut OsRng)
    }

    /// A fresh random key from the given CSPRNG.
    pub fn generate_with(rng: &mut impl CryptoRngCore) -> Self {
        EncryptionSecretKey(SecretKey::generate(rng))
    }

    /// Wraps raw secret bytes (unclamped, as idOS stores them; clamping happens in scalar
    /// multiplication).
    /// The caller keeps responsibility for wiping its own copy of `bytes`.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        EncryptionSecretKey(SecretKey::from_bytes(bytes))
    }

    /// Parses the base64 text form.
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = Zeroizing::new(codec::base64_decode("secret key", text)?);
        let array: Zeroizing<[u8; 32]> = Zeroizing::new(codec::to_array("secret key", &bytes)?);
        Ok(Self::from_bytes(*array))
    }

    /// The raw secret bytes, in a buffer that is wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// Base64 text form, in a buffer that is wiped when dropped.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(codec::base64_encode(*self.to_bytes()))
    }

    /// The matching public key.
    pub fn public_key(&self) -> EncryptionPublicKey {
        EncryptionPublicKey::from_bytes(self.0.public_key().to_bytes())
    }
}

impl std::fmt::Debug for EncryptionSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptionSecretKey(public: {})", self.public_key())
    }
}

/// The result of [`encrypt`]: what goes into a credential row's `content` and
/// `encryptor_public_key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedContent {
    /// `nonce ‖ tag ‖ ciphertext`.
    pub content: Vec<u8>,
    /// The ephemeral sender's public key.
    pub encryptor_public_key: EncryptionPublicKey,
}

/// Encrypts `plaintext` to `recipient` from a fresh ephemeral sender key, as idOS's `encrypt()`.
pub fn encrypt(plaintext: &[u8], recipient: &EncryptionPublicKey) -> Result<EncryptedContent> {
    encrypt_with(&mut OsRng, plaintext, recipient)
}

/// [`encrypt`] with an explicit CSPRNG (for the enclave and for reproducible tests).
pub fn encrypt_with(
    rng: &mut impl CryptoRngCore,
    plaintext: &[u8],
    recipient: &EncryptionPublicKey,
) -> Result<EncryptedContent> {
    let ephemeral = EncryptionSecretKey::generate_with(rng);
    let content = encrypt_from(&ephemeral, rng, plaintext, recipient)?;
    Ok(EncryptedContent {
        content,
        encryptor_public_key: ephemeral.public_key(),
    })
}

/// Encrypts from an explicit sender key (idOS `encryptContent`). Returns `nonce ‖ tag ‖ ct`.
pub fn encrypt_from(
    sender: &EncryptionSecretKey,
    rng: &mut impl CryptoRngCore,
    plaintext: &[u8],
    recipient: &EncryptionPublicKey,
) -> Result<Vec<u8>> {
    let salsa = SalsaBox::new(
        &crypto_box::PublicKey::from_bytes(*recipient.as_bytes()),
        &sender.0,
    );
    let nonce = SalsaBox::generate_nonce(rng);
    let sealed = salsa
        .encrypt(&nonce, plaintext)
        .map_err(|_| Error::EncryptionFailed)?;
    let mut content = Vec::with_capacity(NONCE_LEN + sealed.len());
    content.extend_from_slice(&nonce);
    content.extend_from_slice(&sealed);
    Ok(content)
}

/// Decrypts a stored `content` (`nonce ‖ tag ‖ ciphertext`) addressed to `recipient`.
/// The plaintext is returned in a buffer that is wiped when dropped.
pub fn decrypt(
    content: &[u8],
    encryptor_public_key: &EncryptionPublicKey,
    recipient: &EncryptionSecretKey,
) -> Result<Zeroizing<Vec<u8>>> {
    if content.len() < OVERHEAD {
        return Err(Error::CiphertextTooShort {
            actual: content.len(),
        });
    }
    let (nonce, sealed) = content.split_at(NONCE_LEN);
    let salsa = SalsaBox::new(
        &crypto_box::PublicKey::from_bytes(*encryptor_public_key.as_bytes()),
        &recipient.0,
    );
    salsa
        .decrypt(nonce.into(), sealed)
        .map(Zeroizing::new)
        .map_err(|_| Error::DecryptionFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_uses_fresh_sender_and_nonce() {
        let recipient = EncryptionSecretKey::generate();
        let a = encrypt(b"hello", &recipient.public_key()).unwrap();
        let b = encrypt(b"hello", &recipient.public_key()).unwrap();
        assert_ne!(a.encryptor_public_key, b.encryptor_public_key);
        assert_ne!(a.content[..NONCE_LEN], b.content[..NONCE_LEN]);
        assert_eq!(a.content.len(), 5 + OVERHEAD);
        assert_eq!(
            &*decrypt(&a.content, &a.encryptor_public_key, &recipient).unwrap(),
            b"hello"
        );
    }

    #[test]
    fn empty_plaintext_round_trips() {
        let recipient = EncryptionSecretKey::generate();
        let e = encrypt(b"", &recipient.public_key()).unwrap();
        assert_eq!(e.content.len(), OVERHEAD);
        assert!(
            decrypt(&e.content, &e.encryptor_public_key, &recipient)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn secret_key_base64_round_trip_and_debug_hides_secret() {
        let k = EncryptionSecretKey::generate();
        let again = EncryptionSecretKey::from_base64(&k.to_base64()).unwrap();
        assert_eq!(again.public_key(), k.public_key());
        let debug = format!("{k:?}");
        assert!(!debug.contains(k.to_base64().as_str()));
    }

    fn sample() -> (EncryptionSecretKey, EncryptedContent) {
        let recipient = EncryptionSecretKey::generate();
        let e = encrypt(b"some credential", &recipient.public_key()).unwrap();
        (recipient, e)
    }

    #[test]
    fn fail_tampered_tag() {
        let (k, mut e) = sample();
        e.content[NONCE_LEN] ^= 1;
        assert_eq!(
            decrypt(&e.content, &e.encryptor_public_key, &k).unwrap_err(),
            Error::DecryptionFailed
        );
    }

    #[test]
    fn fail_tampered_ciphertext() {
        let (k, mut e) = sample();
        let last = e.content.len() - 1;
        e.content[last] ^= 0x80;
        assert_eq!(
            decrypt(&e.content, &e.encryptor_public_key, &k).unwrap_err(),
            Error::DecryptionFailed
        );
    }

    #[test]
    fn fail_tampered_nonce() {
        let (k, mut e) = sample();
        e.content[0] ^= 1;
        assert_eq!(
            decrypt(&e.content, &e.encryptor_public_key, &k).unwrap_err(),
            Error::DecryptionFailed
        );
    }

    #[test]
    fn fail_truncated_nonce() {
        let (k, e) = sample();
        for len in [0, 1, NONCE_LEN - 1, NONCE_LEN, OVERHEAD - 1] {
            let err = decrypt(&e.content[..len], &e.encryptor_public_key, &k).unwrap_err();
            assert_eq!(err, Error::CiphertextTooShort { actual: len });
        }
    }

    #[test]
    fn fail_truncated_ciphertext() {
        let (k, e) = sample();
        let err = decrypt(
            &e.content[..e.content.len() - 1],
            &e.encryptor_public_key,
            &k,
        )
        .unwrap_err();
        assert_eq!(err, Error::DecryptionFailed);
    }

    #[test]
    fn fail_wrong_recipient_key() {
        let (_, e) = sample();
        let other = EncryptionSecretKey::generate();
        assert_eq!(
            decrypt(&e.content, &e.encryptor_public_key, &other).unwrap_err(),
            Error::DecryptionFailed
        );
    }

    #[test]
    fn fail_wrong_encryptor_public_key() {
        let (k, e) = sample();
        let other = EncryptionSecretKey::generate().public_key();
        assert_eq!(
            decrypt(&e.content, &other, &k).unwrap_err(),
            Error::DecryptionFailed
        );
    }

    #[test]
    fn fail_secret_key_text_of_wrong_length() {
        assert_eq!(
            EncryptionSecretKey::from_base64("AQI=").unwrap_err().code(),
            "invalid_length"
        );
        assert_eq!(
            EncryptionSecretKey::from_base64("???").unwrap_err().code(),
            "invalid_base64"
        );
    }
}
