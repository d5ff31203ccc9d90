//! XRPL wallets: `ripple-keypairs` signatures and classic `r…` addresses.
//!
//! idOS verifies an XRPL signature as `ripple-keypairs.verify(hex(utf8(message)), signature,
//! publicKey)` does, and so does this module:
//!
//! - an Ed25519 key (33 bytes: `ED` and the key) signs the message bytes, and the 64-byte
//!   signature is checked with `verify_strict`;
//! - a secp256k1 key (33 bytes: `02`/`03` and x) signs SHA-512Half of the message (the first
//!   32 bytes of SHA-512), as a DER signature. Only strict DER with a low `s` is accepted (the
//!   form `ripple-keypairs` writes and the only one its verifier takes), so one signature has
//!   one encoding.
//!
//! An XRPL wallet's identifier is its classic address: base58check (Ripple's alphabet, version
//! byte 0) of the account id, RIPEMD-160 of SHA-256 of the 33-byte public key. The address
//! alone cannot check a signature, so what an XRPL wallet signs with is
//! `public key (33 bytes) ‖ signature`, and the key must hash to the address.

use k256::ecdsa::signature::hazmat::PrehashVerifier;
use ripemd::Ripemd160;
use sha2::{Digest, Sha256, Sha512};

use crate::bytes::Ed25519PublicKey;
use crate::error::{Error, Field, Result};
use crate::identity::{Ed25519SigningKey, verify_ed25519_slice};

/// The length of an XRPL public key.
pub const PUBLIC_KEY_LEN: usize = 33;

/// The longest strict-DER secp256k1 signature.
pub const MAX_DER_SIGNATURE_LEN: usize = 72;

/// An XRPL public key.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum XrplPublicKey {
    /// A secp256k1 key (compressed point, `02`/`03` first).
    Secp256k1(k256::ecdsa::VerifyingKey),
    /// An Ed25519 key (`ED` first in its 33-byte form).
    Ed25519(Ed25519PublicKey),
}

impl XrplPublicKey {
    /// Parses the 33-byte form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = || Error::InvalidXrplKey(crate::codec::hex_encode(bytes).to_uppercase());
        if bytes.len() != PUBLIC_KEY_LEN {
            return Err(bad());
        }
        match bytes[0] {
            0xED => {
                let key = Ed25519PublicKey::from_slice(&bytes[1..])?;
                ed25519_dalek::VerifyingKey::from_bytes(key.as_bytes()).map_err(|_| bad())?;
                Ok(XrplPublicKey::Ed25519(key))
            }
            0x02 | 0x03 => k256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
                .map(XrplPublicKey::Secp256k1)
                .map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    /// Parses the hex form (either case; `ripple-keypairs` writes uppercase).
    pub fn parse(text: &str) -> Result<Self> {
        let bytes = crate::codec::hex_decode("XRPL public key", text)
            .map_err(|_| Error::InvalidXrplKey(text.chars().take(80).collect()))?;
        Self::from_bytes(&bytes)
    }

    /// The 33-byte form.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        let mut out = [0u8; PUBLIC_KEY_LEN];
        match self {
            XrplPublicKey::Secp256k1(key) => {
                out.copy_from_slice(key.to_encoded_point(true).as_bytes());
            }
            XrplPublicKey::Ed25519(key) => {
                out[0] = 0xED;
                out[1..].copy_from_slice(key.as_bytes());
            }
        }
        out
    }

    /// The uppercase hex form `ripple-keypairs` writes.
    pub fn to_text(&self) -> String {
        crate::codec::hex_encode(self.to_bytes()).to_uppercase()
    }

    /// The account this key is the master key of.
    pub fn address(&self) -> XrplAddress {
        let digest = Ripemd160::digest(Sha256::digest(self.to_bytes()));
        XrplAddress(digest.into())
    }

    /// Checks `signature` by this key over `message` (see the module documentation).
    pub fn verify(&self, field: Field, message: &[u8], signature: &[u8]) -> Result<()> {
        match self {
            XrplPublicKey::Ed25519(key) => verify_ed25519_slice(field, key, message, signature),
            XrplPublicKey::Secp256k1(key) => {
                let parsed = k256::ecdsa::Signature::from_der(signature).map_err(|_| {
                    Error::InvalidXrplSignature {
                        field,
                        reason: "not a strict DER secp256k1 signature",
                    }
                })?;
                if parsed.to_der().as_bytes() != signature {
                    return Err(Error::InvalidXrplSignature {
                        field,
                        reason: "not the one DER encoding of its values",
                    });
                }
                if parsed.normalize_s().is_some() {
                    return Err(Error::InvalidXrplSignature {
                        field,
                        reason: "s is in the upper half of the group order",
                    });
                }
                key.verify_prehash(&sha512_half(message), &parsed)
                    .map_err(|_| Error::BadSignature { field })
            }
        }
    }
}

/// The first 32 bytes of SHA-512: what an XRPL secp256k1 key signs.
pub fn sha512_half(message: &[u8]) -> [u8; 32] {
    let digest = Sha512::digest(message);
    let mut out = [0u8; 32];
    out.copy_from_slice(&digest[..32]);
    out
}

/// An XRPL account id (20 bytes), shown as its classic `r…` address.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Debug,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct XrplAddress(pub [u8; 20]);

impl XrplAddress {
    /// The classic address.
    pub fn to_text(&self) -> String {
        bs58::encode(self.0)
            .with_alphabet(bs58::Alphabet::RIPPLE)
            .with_check_version(0)
            .into_string()
    }

    /// Parses a classic address strictly: Ripple's alphabet, version 0, a valid checksum,
    /// 20 bytes, and the canonical text (so one account has one identifier).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || Error::InvalidXrplAddress(text.chars().take(80).collect());
        if !text.starts_with('r') || text.len() > 40 {
            return Err(bad());
        }
        let decoded = bs58::decode(text)
            .with_alphabet(bs58::Alphabet::RIPPLE)
            .with_check(Some(0))
            .into_vec()
            .map_err(|_| bad())?;
        // The decoded bytes are the version byte and the account id.
        let [0, id @ ..] = decoded.as_slice() else {
            return Err(bad());
        };
        let address = XrplAddress(id.try_into().map_err(|_| bad())?);
        if address.to_text() != text {
            return Err(bad());
        }
        Ok(address)
    }

    /// Checks a signature in the form an XRPL identity signs with: the 33-byte public key of
    /// this account, then the signature.
    pub fn verify(&self, field: Field, message: &[u8], signature: &[u8]) -> Result<()> {
        if signature.len() < PUBLIC_KEY_LEN {
            return Err(Error::InvalidLength {
                field,
                expected: PUBLIC_KEY_LEN + 64,
                actual: signature.len(),
            });
        }
        let (key, signature) = signature.split_at(PUBLIC_KEY_LEN);
        let key = XrplPublicKey::from_bytes(key)?;
        if key.address() != *self {
            return Err(Error::XrplKeyMismatch {
                field,
                address: self.to_text(),
            });
        }
        key.verify(field, message, signature)
    }
}

impl std::fmt::Display for XrplAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// An XRPL private key of either curve.
#[derive(Clone)]
pub enum XrplSigningKey {
    /// secp256k1.
    Secp256k1(k256::ecdsa::SigningKey),
    /// Ed25519.
    Ed25519(Ed25519SigningKey),
}

impl XrplSigningKey {
    /// A fresh random secp256k1 key (the XRPL default).
    pub fn generate_secp256k1() -> Self {
        XrplSigningKey::Secp256k1(k256::ecdsa::SigningKey::random(&mut rand_core::OsRng))
    }

    /// A fresh random Ed25519 key.
    pub fn generate_ed25519() -> Self {
        XrplSigningKey::Ed25519(Ed25519SigningKey::generate())
    }

    /// The public key.
    pub fn public_key(&self) -> XrplPublicKey {
        match self {
            XrplSigningKey::Secp256k1(key) => XrplPublicKey::Secp256k1(*key.verifying_key()),
            XrplSigningKey::Ed25519(key) => XrplPublicKey::Ed25519(key.public_key()),
        }
    }

    /// Parses `ripple-keypairs`' private key hex: `00` and 32 bytes (secp256k1) or `ED` and 32
    /// bytes (Ed25519).
    pub fn from_hex(text: &str) -> Result<Self> {
        let bad = || Error::invalid("XRPL private key", "expected 66 hex digits, 00 or ED first");
        let bytes = zeroize::Zeroizing::new(
            crate::codec::hex_decode("XRPL private key", text).map_err(|_| bad())?,
        );
        if bytes.len() != 33 {
            return Err(bad());
        }
        let mut secret = zeroize::Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(&bytes[1..]);
        match bytes[0] {
            0x00 => k256::ecdsa::SigningKey::from_bytes(&(*secret).into())
                .map(XrplSigningKey::Secp256k1)
                .map_err(|_| bad()),
            0xED => Ok(XrplSigningKey::Ed25519(Ed25519SigningKey::from_seed(
                &secret,
            ))),
            _ => Err(bad()),
        }
    }

    /// The private key's 33 bytes (`00` or `ED` first), as `ripple-keypairs` prints them.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 33]> {
        let mut out = zeroize::Zeroizing::new([0u8; 33]);
        match self {
            XrplSigningKey::Secp256k1(key) => out[1..].copy_from_slice(&key.to_bytes()),
            XrplSigningKey::Ed25519(key) => {
                out[0] = 0xED;
                out[1..].copy_from_slice(&*key.seed());
            }
        }
        out
    }

    /// Signs as `ripple-keypairs.sign` does (RFC 6979 nonces, low `s`, DER for secp256k1), so
    /// the same key signs the same message to the same bytes.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            XrplSigningKey::Secp256k1(key) => {
                use k256::ecdsa::signature::hazmat::PrehashSigner;
                let signature: k256::ecdsa::Signature = key
                    .sign_prehash(&sha512_half(message))
                    .expect("a 32-byte prehash is always signable");
                let signature = signature.normalize_s().unwrap_or(signature);
                signature.to_der().as_bytes().to_vec()
            }
            XrplSigningKey::Ed25519(key) => key.sign(message).as_bytes().to_vec(),
        }
    }

    /// Signs in the form an XRPL identity signs with: public key, then signature.
    pub fn sign_as_identity(&self, message: &[u8]) -> Vec<u8> {
        let mut out = self.public_key().to_bytes().to_vec();
        out.extend(self.sign(message));
        out
    }
}

impl std::fmt::Debug for XrplSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "XrplSigningKey({})", self.public_key().address())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> [XrplSigningKey; 2] {
        [
            XrplSigningKey::from_hex(&format!("00{}", "11".repeat(32))).unwrap(),
            XrplSigningKey::from_hex(&format!("ED{}", "22".repeat(32))).unwrap(),
        ]
    }

    #[test]
    fn both_curves_sign_and_verify_as_their_address() {
        for key in keys() {
            let public = key.public_key();
            let address = public.address();
            assert_eq!(XrplAddress::parse(&address.to_text()).unwrap(), address);
            assert_eq!(XrplPublicKey::parse(&public.to_text()).unwrap(), public);
            let signed = key.sign_as_identity(b"hello");
            address.verify("s", b"hello", &signed).unwrap();
            assert_eq!(
                address.verify("s", b"hellO", &signed).unwrap_err().code(),
                "bad_signature"
            );
        }
    }

    #[test]
    fn fail_a_key_of_another_account() {
        let [a, b] = keys();
        let signed = b.sign_as_identity(b"m");
        let e = a
            .public_key()
            .address()
            .verify("s", b"m", &signed)
            .unwrap_err();
        assert_eq!(e.code(), "xrpl_key_mismatch");
    }

    #[test]
    fn fail_high_s_and_loose_der() {
        let [secp, _] = keys();
        let XrplSigningKey::Secp256k1(inner) = &secp else {
            unreachable!()
        };
        use k256::ecdsa::signature::hazmat::PrehashSigner;
        let low: k256::ecdsa::Signature = inner.sign_prehash(&sha512_half(b"m")).unwrap();
        let low = low.normalize_s().unwrap_or(low);
        let (r, s) = low.split_scalars();
        let high = k256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
        let public = secp.public_key();
        public.verify("s", b"m", low.to_der().as_bytes()).unwrap();
        let e = public
            .verify("s", b"m", high.to_der().as_bytes())
            .unwrap_err();
        assert_eq!(e.code(), "invalid_xrpl_signature");
        // A 64-byte fixed form is not DER.
        let e = public.verify("s", b"m", &low.to_bytes()).unwrap_err();
        assert_eq!(e.code(), "invalid_xrpl_signature");
        // A trailing byte after the DER sequence.
        let mut trailing = low.to_der().as_bytes().to_vec();
        trailing.push(0);
        assert!(public.verify("s", b"m", &trailing).is_err());
    }

    #[test]
    fn fail_truncated_identity_signatures_and_bad_keys() {
        for key in keys() {
            let address = key.public_key().address();
            let signed = key.sign_as_identity(b"m");
            for cut in 0..signed.len() {
                assert!(address.verify("s", b"m", &signed[..cut]).is_err(), "{cut}");
            }
        }
        for bad in [
            "",
            "ED",
            &format!("04{}", "11".repeat(32)),
            &format!("02{}", "ff".repeat(32)),
        ] {
            assert_eq!(
                XrplPublicKey::parse(bad).unwrap_err().code(),
                "invalid_xrpl_key",
                "{bad}"
            );
        }
    }

    #[test]
    fn addresses_have_one_text() {
        let address = keys()[0].public_key().address();
        let text = address.to_text();
        let mut flipped = text.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'r' { b'p' } else { b'r' };
        for bad in [
            String::from_utf8(flipped).unwrap(),
            format!("r{text}"),
            text[1..].to_string(),
            "0x00".into(),
            String::new(),
        ] {
            assert_eq!(
                XrplAddress::parse(&bad).unwrap_err().code(),
                "invalid_xrpl_address",
                "{bad}"
            );
        }
    }
}
