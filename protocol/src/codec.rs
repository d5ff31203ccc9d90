//! Strict text encodings used by idOS: standard padded base64 for box keys, content and
//! signatures; lowercase hexadecimal for Ed25519 identity keys and hashes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, Field, Result};

/// Standard base64 with padding, as tweetnacl-util's `encodeBase64` produces.
pub fn base64_encode(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard padded base64. Whitespace, URL-safe characters and missing padding are
/// rejected: a stored value has exactly one spelling.
pub fn base64_decode(field: Field, text: &str) -> Result<Vec<u8>> {
    STANDARD
        .decode(text)
        .map_err(|_| Error::InvalidBase64 { field })
}

/// Decodes base64 into exactly `N` bytes.
pub fn base64_decode_array<const N: usize>(field: Field, text: &str) -> Result<[u8; N]> {
    let bytes = base64_decode(field, text)?;
    to_array(field, &bytes)
}

/// Lowercase hexadecimal.
pub fn hex_encode(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(bytes)
}

/// Decodes hexadecimal (either case, no `0x` prefix).
pub fn hex_decode(field: Field, text: &str) -> Result<Vec<u8>> {
    hex::decode(text).map_err(|_| Error::InvalidHex { field })
}

/// Decodes hexadecimal into exactly `N` bytes.
pub fn hex_decode_array<const N: usize>(field: Field, text: &str) -> Result<[u8; N]> {
    if text.len() != 2 * N {
        // Report the byte length the caller can relate to, not a hex-parser detail.
        return match hex::decode(text) {
            Ok(bytes) => Err(Error::InvalidLength {
                field,
                expected: N,
                actual: bytes.len(),
            }),
            Err(_) => Err(Error::InvalidHex { field }),
        };
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).map_err(|_| Error::InvalidHex { field })?;
    Ok(out)
}

/// Copies a slice into a fixed-size array, reporting a length mismatch for `field`.
pub fn to_array<const N: usize>(field: Field, bytes: &[u8]) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| Error::InvalidLength {
        field,
        expected: N,
        actual: bytes.len(),
    })
}

/// Serde adapters so JSON carries the same text forms as idOS.
pub mod serde_base64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::base64_encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        super::base64_decode("base64 field", &text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_is_padded() {
        assert_eq!(base64_encode([1, 2]), "AQI=");
        assert_eq!(base64_decode("x", "AQI=").unwrap(), vec![1, 2]);
    }

    #[test]
    fn fail_base64_without_padding_or_url_alphabet() {
        assert_eq!(
            base64_decode("x", "AQI").unwrap_err().code(),
            "invalid_base64"
        );
        assert_eq!(
            base64_decode("x", "-_8=").unwrap_err().code(),
            "invalid_base64"
        );
        assert_eq!(
            base64_decode("x", " AQI=").unwrap_err().code(),
            "invalid_base64"
        );
    }

    #[test]
    fn fail_wrong_array_length_names_the_field() {
        let err = base64_decode_array::<32>("recipient", "AQI=").unwrap_err();
        assert_eq!(
            err,
            Error::InvalidLength {
                field: "recipient",
                expected: 32,
                actual: 2
            }
        );
        assert!(
            err.to_string()
                .starts_with("recipient: expected 32 bytes, got 2")
        );
    }

    #[test]
    fn hex_decodes_either_case_and_refuses_other_text() {
        assert_eq!(hex_decode("k", "").unwrap(), Vec::<u8>::new());
        assert_eq!(hex_decode("k", "00ff7A").unwrap(), vec![0x00, 0xff, 0x7a]);
        for bad in ["0", "0x00", "zz", "00 ", "é0"] {
            assert_eq!(
                hex_decode("k", bad).unwrap_err(),
                Error::InvalidHex { field: "k" },
                "{bad:?}"
            );
        }
    }

    #[test]
    fn hex_array_reports_length_then_alphabet() {
        assert_eq!(hex_decode_array::<2>("k", "abcd").unwrap(), [0xab, 0xcd]);
        assert_eq!(hex_decode_array::<2>("k", "ABCD").unwrap(), [0xab, 0xcd]);
        assert_eq!(
            hex_decode_array::<2>("k", "ab").unwrap_err().code(),
            "invalid_length"
        );
        assert_eq!(
            hex_decode_array::<2>("k", "zzzz").unwrap_err().code(),
            "invalid_hex"
        );
        assert_eq!(
            hex_decode_array::<2>("k", "abc").unwrap_err().code(),
            "invalid_hex"
        );
    }
}
