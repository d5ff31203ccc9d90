//! NEAR wallets: NEP-413 signed messages in idOS's blob layout.
//!
//! A NEAR wallet does not sign raw bytes. It signs a NEP-413 payload, the Borsh encoding of
//! `{tag: u32 = 2³¹ + 413, message: string, nonce: [u8; 32], recipient: string,
//! callbackUrl: Option<string>}`, with Ed25519 over the SHA-256 of those bytes. idOS carries
//! it as one blob, `u16_be(len(payload)) ‖ payload ‖ signature(64)`, and so does this crate.
//!
//! Verification parses the blob strictly (one encoding per payload, nothing after the
//! signature), then requires the payload's message to be exactly the text expected here and
//! its recipient to be one of idOS's ([`RECIPIENTS`]), then checks the signature with
//! `verify_strict`. The nonce and callback URL are the wallet's business: replay protection
//! comes from the signed text itself (it names the transaction nonce and the chain).
//!
//! A NEAR wallet's identifier is its public key in NEAR's own text form, `ed25519:<base58>`
//! (what idOS stores in `wallets.public_key`). It is a different identity from the same key
//! as a raw Ed25519 signer (lowercase hex), because the two sign different bytes.

use sha2::{Digest, Sha256};

use crate::bytes::{Ed25519PublicKey, Ed25519Signature};
use crate::error::{Error, Field, Result};
use crate::identity::{Ed25519SigningKey, verify_ed25519};

/// NEP-413's tag, 2³¹ + 413: no NEAR transaction starts with it, so a signed message can never
/// be a transaction.
pub const NEP413_TAG: u32 = (1 << 31) + 413;

/// The recipients idOS's NEAR signers name: `idos.network` (browser wallets) and
/// `idos-issuer` (server key pairs). A payload for any other recipient is refused: its
/// signer meant it for another application.
pub const RECIPIENTS: [&str; 2] = ["idos.network", "idos-issuer"];

/// The recipient this crate's own signers name.
pub const RECIPIENT: &str = RECIPIENTS[0];

/// The most bytes of payload a blob can carry (its length is a `u16`).
pub const MAX_PAYLOAD: usize = u16::MAX as usize;

/// A NEP-413 payload (without its tag, which is fixed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nep413Payload {
    /// The text signed.
    pub message: String,
    /// The wallet's nonce (not checked here; see the module documentation).
    pub nonce: [u8; 32],
    /// Who the message is for.
    pub recipient: String,
    /// Where a redirecting wallet sends the user back, if anywhere.
    pub callback_url: Option<String>,
}

#[derive(borsh::BorshSerialize, borsh::BorshDeserialize)]
struct Wire {
    tag: u32,
    message: String,
    nonce: [u8; 32],
    recipient: String,
    callback_url: Option<String>,
}

impl Nep413Payload {
    /// The Borsh bytes the wallet hashes and signs.
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(&Wire {
            tag: NEP413_TAG,
            message: self.message.clone(),
            nonce: self.nonce,
            recipient: self.recipient.clone(),
            callback_url: self.callback_url.clone(),
        })
        .expect("writing to a Vec cannot fail")
    }

    /// Parses payload bytes strictly: the tag, valid UTF-8, an option tag of 0 or 1, and no
    /// trailing bytes (Borsh has one encoding per value, so the bytes are the payload's).
    pub fn decode(field: Field, bytes: &[u8]) -> Result<Self> {
        let wire: Wire = borsh::from_slice(bytes).map_err(|e| Error::Nep413Malformed {
            field,
            detail: format!("the payload does not decode ({e})"),
        })?;
        if wire.tag != NEP413_TAG {
            return Err(Error::Nep413Malformed {
                field,
                detail: format!(
                    "the payload's tag is {}, not NEP-413's {NEP413_TAG}",
                    wire.tag
                ),
            });
        }
        Ok(Nep413Payload {
            message: wire.message,
            nonce: wire.nonce,
            recipient: wire.recipient,
            callback_url: wire.callback_url,
        })
    }
}

/// A parsed blob: the payload, its exact bytes, and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nep413Blob {
    /// The payload.
    pub payload: Nep413Payload,
    /// The payload's bytes as signed.
    pub payload_bytes: Vec<u8>,
    /// The Ed25519 signature over SHA-256 of the payload bytes.
    pub signature: [u8; 64],
}

impl Nep413Blob {
    /// Parses `u16_be(len) ‖ payload ‖ signature(64)`, refusing anything shorter or longer.
    pub fn parse(field: Field, blob: &[u8]) -> Result<Self> {
        let malformed = |detail: String| Error::Nep413Malformed { field, detail };
        let Some((length, rest)) = blob.split_first_chunk::<2>() else {
            return Err(malformed(format!(
                "{} bytes, shorter than the 2-byte length",
                blob.len()
            )));
        };
        let length = usize::from(u16::from_be_bytes(*length));
        if rest.len() != length + 64 {
            return Err(malformed(format!(
                "the length says {length} bytes of payload and 64 of signature, {} follow",
                rest.len()
            )));
        }
        let (payload_bytes, signature) = rest.split_at(length);
        let payload = Nep413Payload::decode(field, payload_bytes)?;
        Ok(Nep413Blob {
            payload,
            payload_bytes: payload_bytes.to_vec(),
            signature: signature.try_into().expect("64 bytes by the length check"),
        })
    }

    /// The blob's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let length = u16::try_from(self.payload_bytes.len()).expect("payloads fit a u16");
        let mut out = Vec::with_capacity(2 + self.payload_bytes.len() + 64);
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&self.payload_bytes);
        out.extend_from_slice(&self.signature);
        out
    }
}

/// Checks that `blob` is a NEP-413 signature by `key` of exactly `message` for one of idOS's
/// [`RECIPIENTS`].
pub fn verify(field: Field, key: &Ed25519PublicKey, message: &[u8], blob: &[u8]) -> Result<()> {
    let blob = Nep413Blob::parse(field, blob)?;
    if blob.payload.message.as_bytes() != message {
        return Err(Error::Nep413WrongMessage { field });
    }
    if !RECIPIENTS.contains(&blob.payload.recipient.as_str()) {
        return Err(Error::Nep413WrongRecipient {
            field,
            got: blob.payload.recipient.chars().take(80).collect(),
        });
    }
    let digest = Sha256::digest(&blob.payload_bytes);
    verify_ed25519(
        field,
        key,
        &digest,
        &Ed25519Signature::from_bytes(blob.signature),
    )
    .map_err(|e| match e {
        Error::InvalidEd25519Key { .. } => Error::BadSignature { field },
        other => other,
    })
}

/// Signs `message` as a NEAR wallet would, for [`RECIPIENT`], with a nonce derived from the
/// key and the message (any nonce verifies; a derived one keeps signing deterministic).
/// Refuses a message that is not UTF-8 or too long for a blob.
pub fn sign(key: &Ed25519SigningKey, message: &[u8]) -> Result<Vec<u8>> {
    let text = std::str::from_utf8(message)
        .map_err(|_| Error::invalid("NEAR message", "a NEAR wallet signs text, not bytes"))?;
    let mut nonce_hash = Sha256::new();
    nonce_hash.update(b"idos-rs nep413 nonce");
    nonce_hash.update(key.public_key().as_bytes());
    nonce_hash.update(message);
    let payload = Nep413Payload {
        message: text.to_owned(),
        nonce: nonce_hash.finalize().into(),
        recipient: RECIPIENT.to_owned(),
        callback_url: None,
    };
    let payload_bytes = payload.encode();
    if payload_bytes.len() > MAX_PAYLOAD {
        return Err(Error::TooLarge {
            what: "NEP-413 payload",
            actual: payload_bytes.len(),
            limit: MAX_PAYLOAD,
        });
    }
    let signature = key.sign(&Sha256::digest(&payload_bytes));
    Ok(Nep413Blob {
        payload,
        payload_bytes,
        signature: *signature.as_bytes(),
    }
    .to_bytes())
}

/// A NEAR public key's text: `ed25519:` and the base58 (Bitcoin alphabet) of its 32 bytes.
pub fn key_to_text(key: &Ed25519PublicKey) -> String {
    format!("ed25519:{}", bs58::encode(key.as_bytes()).into_string())
}

/// Parses `ed25519:<base58>`, strictly: the prefix in lowercase, exactly 32 bytes, and the
/// canonical base58 text of them (no leading zeros beyond the key's own), so one key has one
/// identifier.
pub fn parse_key(text: &str) -> Result<Ed25519PublicKey> {
    let bad = || Error::InvalidNearKey(text.chars().take(80).collect());
    let encoded = text.strip_prefix("ed25519:").ok_or_else(bad)?;
    let mut bytes = [0u8; 32];
    let written = bs58::decode(encoded).onto(&mut bytes).map_err(|_| bad())?;
    if written != 32 {
        return Err(bad());
    }
    let key = Ed25519PublicKey::from_bytes(bytes);
    if key_to_text(&key) != text {
        return Err(bad());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Ed25519SigningKey {
        Ed25519SigningKey::from_seed(&[7; 32])
    }

    #[test]
    fn signs_and_verifies_its_own_blobs() {
        let k = key();
        let blob = sign(&k, "hello ✓".as_bytes()).unwrap();
        verify("s", &k.public_key(), "hello ✓".as_bytes(), &blob).unwrap();
        let parsed = Nep413Blob::parse("s", &blob).unwrap();
        assert_eq!(parsed.payload.recipient, RECIPIENT);
        assert_eq!(parsed.to_bytes(), blob);
    }

    #[test]
    fn fail_another_message_recipient_or_key() {
        let k = key();
        let blob = sign(&k, b"one").unwrap();
        let e = verify("s", &k.public_key(), b"two", &blob).unwrap_err();
        assert_eq!(e.code(), "nep413_wrong_message");
        let other = Ed25519SigningKey::from_seed(&[8; 32]).public_key();
        assert_eq!(
            verify("s", &other, b"one", &blob).unwrap_err().code(),
            "bad_signature"
        );
        let mut parsed = Nep413Blob::parse("s", &blob).unwrap();
        parsed.payload.recipient = "evil.app".into();
        parsed.payload_bytes = parsed.payload.encode();
        parsed.signature = *k.sign(&Sha256::digest(&parsed.payload_bytes)).as_bytes();
        let e = verify("s", &k.public_key(), b"one", &parsed.to_bytes()).unwrap_err();
        assert_eq!(e.code(), "nep413_wrong_recipient");
    }

    #[test]
    fn fail_truncated_extended_or_retagged_blobs() {
        let k = key();
        let blob = sign(&k, b"one").unwrap();
        for cut in 0..blob.len() {
            let e = verify("s", &k.public_key(), b"one", &blob[..cut]).unwrap_err();
            assert_eq!(e.code(), "nep413_malformed", "cut at {cut}");
        }
        let mut longer = blob.clone();
        longer.push(0);
        assert_eq!(
            verify("s", &k.public_key(), b"one", &longer)
                .unwrap_err()
                .code(),
            "nep413_malformed"
        );
        let mut retagged = blob.clone();
        retagged[2] ^= 1;
        assert_eq!(
            verify("s", &k.public_key(), b"one", &retagged)
                .unwrap_err()
                .code(),
            "nep413_malformed"
        );
        // An option tag of 2 is not Borsh.
        let mut option = blob.clone();
        let at = blob.len() - 65;
        assert_eq!(option[at], 0);
        option[at] = 2;
        assert_eq!(
            verify("s", &k.public_key(), b"one", &option)
                .unwrap_err()
                .code(),
            "nep413_malformed"
        );
    }

    #[test]
    fn every_flipped_bit_is_refused() {
        let k = key();
        let blob = sign(&k, b"message").unwrap();
        for byte in 0..blob.len() {
            let mut bad = blob.clone();
            bad[byte] ^= 0x10;
            assert!(
                verify("s", &k.public_key(), b"message", &bad).is_err(),
                "byte {byte}"
            );
        }
    }

    #[test]
    fn keys_have_one_text() {
        let k = key().public_key();
        let text = key_to_text(&k);
        assert_eq!(parse_key(&text).unwrap(), k);
        for bad in [
            text.replacen("ed25519:", "ED25519:", 1),
            text.replacen("ed25519:", "", 1),
            format!("{text}1"),
            format!("ed25519:1{}", &text[8..]),
            "ed25519:0OIl".into(),
            "ed25519:".into(),
        ] {
            assert_eq!(
                parse_key(&bad).unwrap_err().code(),
                "invalid_near_key",
                "{bad}"
            );
        }
    }
}
