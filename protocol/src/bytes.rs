//! Fixed-size byte values that travel as text in JSON (base64 or hex, as idOS writes them)
//! and as raw bytes in the binary encoding.

use crate::codec;
use crate::error::Result;

/// Declares a `Copy` newtype over `[u8; N]` with a strict text form.
macro_rules! text_bytes {
    ($(#[$meta:meta])* $name:ident, $len:expr, $field:literal, base64) => {
        text_bytes!(@impl $(#[$meta])* $name, $len, $field,
            codec::base64_encode, codec::base64_decode_array);
    };
    ($(#[$meta:meta])* $name:ident, $len:expr, $field:literal, hex) => {
        text_bytes!(@impl $(#[$meta])* $name, $len, $field,
            codec::hex_encode, codec::hex_decode_array);
    };
    (@impl $(#[$meta:meta])* $name:ident, $len:expr, $field:literal, $encode:path, $decode:path) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 borsh::BorshSerialize, borsh::BorshDeserialize)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// Wraps raw bytes.
            pub const fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Copies from a slice of exactly the right length.
            pub fn from_slice(bytes: &[u8]) -> Result<Self> {
                codec::to_array($field, bytes).map(Self)
            }

            /// Parses the text form.
            pub fn parse(text: &str) -> Result<Self> {
                $decode($field, text).map(Self)
            }

            /// The text form.
            pub fn to_text(&self) -> String {
                $encode(self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::error::Error;
            fn from_str(text: &str) -> Result<Self> {
                Self::parse(text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.to_text())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_text())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_text())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_bytes!(
    /// An X25519 public key (a user's `recipient_encryption_public_key`, a grantee's box key,
    /// or an `encryptor_public_key`). Text form: base64.
    EncryptionPublicKey, 32, "encryption public key", base64
);

text_bytes!(
    /// An Ed25519 public key used as an identity (issuers, consumers, `issuer_auth_public_key`).
    /// Text form: lowercase hex, as idOS's `@caller` for ed25519 signers.
    Ed25519PublicKey, 32, "ed25519 public key", hex
);

text_bytes!(
    /// An Ed25519 signature. Text form: base64, as idOS stores credential signatures.
    Ed25519Signature, 64, "ed25519 signature", base64
);

text_bytes!(
    /// A SHA-256 digest, e.g. a credential's `content_hash`. Text form: lowercase hex.
    Sha256Digest, 32, "sha-256 digest", hex
);

text_bytes!(
    /// A 128-bit random nonce that makes a signed message single-use. Text form: lowercase hex.
    Nonce128, 16, "nonce", hex
);

/// Variable-length bytes that travel as base64 text in JSON (credential content, signatures
/// of any scheme).
#[derive(Clone, PartialEq, Eq, Hash, Default, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// Parses base64 text.
    pub fn from_base64(field: crate::error::Field, text: &str) -> Result<Self> {
        codec::base64_decode(field, text).map(Bytes)
    }
    /// Base64 text form.
    pub fn to_base64(&self) -> String {
        codec::base64_encode(&self.0)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes(v)
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Content can be large: show the size and a short prefix only.
        let head = codec::hex_encode(&self.0[..self.0.len().min(8)]);
        write!(f, "Bytes({} bytes, {head}..)", self.0.len())
    }
}

impl serde::Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        codec::serde_base64::serialize(&self.0, s)
    }
}

impl<'de> serde::Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        codec::serde_base64::deserialize(d).map(Bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_keys_print_lowercase_and_parse_either_case() {
        let k = Ed25519PublicKey::parse(&"AB".repeat(32)).unwrap();
        assert_eq!(k.to_string(), "ab".repeat(32));
    }

    #[test]
    fn json_uses_text_forms() {
        let k = EncryptionPublicKey::from_bytes([0; 32]);
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(json, "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"");
        assert_eq!(
            serde_json::from_str::<EncryptionPublicKey>(&json).unwrap(),
            k
        );
    }

    #[test]
    fn fail_json_with_wrong_length_or_alphabet() {
        assert!(serde_json::from_str::<EncryptionPublicKey>("\"AQI=\"").is_err());
        assert!(serde_json::from_str::<Ed25519PublicKey>("\"zz\"").is_err());
        assert!(serde_json::from_str::<Bytes>("\"!!\"").is_err());
    }
}
