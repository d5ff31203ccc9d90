//! Stellar wallets: `G…` StrKey addresses and Ed25519 signatures, raw or SEP-53.
//!
//! A Stellar account address is its Ed25519 public key as a StrKey: base32 (RFC 4648, no
//! padding) of the version byte `6 << 3`, the 32-byte key and a CRC16-XModem checksum
//! (little-endian), 56 characters starting with `G`.
//!
//! Stellar wallets sign messages in two ways, both in use among idOS's users: Ed25519 over
//! the raw message bytes, and SEP-53's Ed25519 over `SHA-256("Stellar Signed Message:\n" ‖
//! message)`. A 64-byte signature is accepted when it verifies (`verify_strict`) either way.
//! The two signed byte strings cannot be confused: one is the message, the other a hash of a
//! prefixed message. (A SEP-53 signature of `m` is also a raw signature of the 32 bytes of
//! its hash, which no signed text of this project can be: those are UTF-8 text naming an
//! action, a signer and a chain.) A forged signature would have to verify for one of two
//! fixed messages, no easier than for one.

use sha2::{Digest, Sha256};

use crate::bytes::{Ed25519PublicKey, Ed25519Signature};
use crate::error::{Error, Field, Result};
use crate::identity::{Ed25519SigningKey, verify_ed25519_slice};

/// SEP-53's prefix.
pub const SEP53_PREFIX: &[u8] = b"Stellar Signed Message:\n";

/// StrKey's version byte of an account id (Ed25519 public key): `G` in base32.
const ACCOUNT_VERSION: u8 = 6 << 3;

/// The length of a StrKey of 32 bytes.
const STRKEY_LEN: usize = 56;

/// CRC16-XModem (polynomial 0x1021, initial 0), StrKey's checksum. A checksum for typos, not a
/// cryptographic function.
fn crc16_xmodem(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The `G…` address of a key.
pub fn address(key: &Ed25519PublicKey) -> String {
    let mut raw = Vec::with_capacity(35);
    raw.push(ACCOUNT_VERSION);
    raw.extend_from_slice(key.as_bytes());
    let checksum = crc16_xmodem(&raw);
    raw.extend_from_slice(&checksum.to_le_bytes());
    data_encoding::BASE32_NOPAD.encode(&raw)
}

/// Parses a `G…` address strictly: 56 uppercase base32 characters with no stray trailing
/// bits, the account version byte, a valid checksum, and a valid Ed25519 key.
pub fn parse_address(text: &str) -> Result<Ed25519PublicKey> {
    let bad = || Error::InvalidStellarAddress(text.chars().take(80).collect());
    if text.len() != STRKEY_LEN {
        return Err(bad());
    }
    let raw = data_encoding::BASE32_NOPAD
        .decode(text.as_bytes())
        .map_err(|_| bad())?;
    let [version, key @ .., c0, c1] = raw.as_slice() else {
        return Err(bad());
    };
    if *version != ACCOUNT_VERSION || key.len() != 32 {
        return Err(bad());
    }
    if crc16_xmodem(&raw[..33]) != u16::from_le_bytes([*c0, *c1]) {
        return Err(bad());
    }
    let key = Ed25519PublicKey::from_slice(key).map_err(|_| bad())?;
    ed25519_dalek::VerifyingKey::from_bytes(key.as_bytes()).map_err(|_| bad())?;
    Ok(key)
}

/// What SEP-53 signs for `message`.
pub fn sep53_hash(message: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(SEP53_PREFIX);
    hash.update(message);
    hash.finalize().into()
}

/// Checks a 64-byte signature by `key` over `message`, SEP-53 or raw (see the module
/// documentation).
pub fn verify(
    field: Field,
    key: &Ed25519PublicKey,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    if signature.len() != 64 {
        return verify_ed25519_slice(field, key, message, signature);
    }
    verify_ed25519_slice(field, key, &sep53_hash(message), signature)
        .or_else(|_| verify_ed25519_slice(field, key, message, signature))
}

/// Signs `message` the SEP-53 way (what this crate's own Stellar signers do).
pub fn sign_sep53(key: &Ed25519SigningKey, message: &[u8]) -> Ed25519Signature {
    key.sign(&sep53_hash(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Ed25519SigningKey {
        Ed25519SigningKey::from_seed(&[5; 32])
    }

    #[test]
    fn both_forms_verify() {
        let k = key();
        let public = k.public_key();
        verify("s", &public, b"m", sign_sep53(&k, b"m").as_bytes()).unwrap();
        verify("s", &public, b"m", k.sign(b"m").as_bytes()).unwrap();
        let e = verify("s", &public, b"n", sign_sep53(&k, b"m").as_bytes()).unwrap_err();
        assert_eq!(e.code(), "bad_signature");
    }

    #[test]
    fn fail_wrong_lengths() {
        let k = key();
        let sig = k.sign(b"m");
        let e = verify("s", &k.public_key(), b"m", &sig.as_bytes()[..63]).unwrap_err();
        assert_eq!(e.code(), "invalid_length");
    }

    #[test]
    fn addresses_have_one_text() {
        let public = key().public_key();
        let text = address(&public);
        assert!(text.starts_with('G') && text.len() == 56);
        assert_eq!(parse_address(&text).unwrap(), public);
        let mut typo = text.clone().into_bytes();
        typo[10] = if typo[10] == b'A' { b'B' } else { b'A' };
        for bad in [
            String::from_utf8(typo).unwrap(),
            text.to_lowercase(),
            format!("{text}A"),
            text[..55].to_string(),
            // The same key as a secret seed (S…) or a muxed account is not an account address.
            {
                let mut raw = vec![18 << 3];
                raw.extend_from_slice(public.as_bytes());
                let c = crc16_xmodem(&raw);
                raw.extend_from_slice(&c.to_le_bytes());
                data_encoding::BASE32_NOPAD.encode(&raw)
            },
            String::new(),
        ] {
            assert_eq!(
                parse_address(&bad).unwrap_err().code(),
                "invalid_stellar_address",
                "{bad}"
            );
        }
    }

    #[test]
    fn crc16_xmodem_known_answer() {
        // The standard check value of CRC-16/XMODEM.
        assert_eq!(crc16_xmodem(b"123456789"), 0x31c3);
    }
}
