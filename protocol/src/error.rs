//! The one error type of the protocol crate.
//!
//! Every variant has a stable, machine-readable [`Error::code`] (snake_case, never reused or
//! renamed) and a `Display` text a person can act on. No variant ever carries secret material:
//! a wrong password, a wrong key and a tampered ciphertext all look alike from the outside.

use std::fmt;

/// Which input a decoding error is about, so a message can name it ("recipient public key: ...").
pub type Field = &'static str;

/// Everything that can go wrong in the protocol crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Text that should be standard, padded base64 is not.
    #[error("{field}: not valid base64 (standard alphabet, with padding)")]
    InvalidBase64 { field: Field },

    /// Text that should be hexadecimal is not.
    #[error("{field}: not valid hexadecimal")]
    InvalidHex { field: Field },

    /// A key, nonce or signature has the wrong number of bytes.
    #[error("{field}: expected {expected} bytes, got {actual}")]
    InvalidLength {
        field: Field,
        expected: usize,
        actual: usize,
    },

    /// The user id used as the KDF salt is not a UUIDv4 in its textual form.
    #[error("user id must be a UUIDv4 like 9f51b3b2-4cbe-4c2b-8ea3-0b0c1b2f1a11, got {0:?}")]
    InvalidUserId(String),

    /// A UUID field could not be parsed.
    #[error("{field}: not a UUID")]
    InvalidUuid { field: Field },

    /// Box ciphertext is shorter than nonce and tag together.
    #[error(
        "ciphertext is {actual} bytes, shorter than the 40-byte nonce and tag it must start with"
    )]
    CiphertextTooShort { actual: usize },

    /// Authenticated decryption failed: wrong key, wrong encryptor public key or tampered data.
    #[error(
        "decryption failed: wrong key, wrong encryptor public key, or the ciphertext was altered"
    )]
    DecryptionFailed,

    /// Encryption failed (only possible for absurdly large plaintexts).
    #[error("encryption failed")]
    EncryptionFailed,

    /// The KDF rejected its parameters.
    #[error("key derivation parameters rejected: {0}")]
    InvalidKdfParams(&'static str),

    /// A KDF version tag we do not know.
    #[error("unknown key derivation version {0:?}")]
    UnknownKdfVersion(String),

    /// An Ed25519 public key is not a valid curve point.
    #[error("{field}: not a valid Ed25519 public key")]
    InvalidEd25519Key { field: Field },

    /// A signature does not verify.
    #[error("{field}: signature does not verify")]
    BadSignature { field: Field },

    /// An EVM address is malformed.
    #[error("not an EVM address (0x followed by 40 hex digits): {0:?}")]
    InvalidEvmAddress(String),

    /// A mixed-case EVM address whose EIP-55 checksum is wrong (likely a typo).
    #[error("EVM address {0:?} has a wrong EIP-55 checksum")]
    EvmChecksumMismatch(String),

    /// A secp256k1 key or recoverable signature is malformed.
    #[error("{field}: malformed secp256k1 key or signature")]
    InvalidSecp256k1 { field: Field },

    /// A wallet or caller identifier is none of the forms idOS knows.
    #[error(
        "not a wallet identifier (an EVM 0x-address, a 64-digit hex Ed25519 key, a NEAR \
         ed25519:<base58> key, an XRPL r-address or a Stellar G-address): {0:?}"
    )]
    InvalidIdentifier(String),

    /// A NEAR public key is not `ed25519:` followed by the base58 of 32 bytes.
    #[error("not a NEAR public key (ed25519: followed by the base58 of a 32-byte key): {0:?}")]
    InvalidNearKey(String),

    /// A NEAR signature is not idOS's NEP-413 blob (`u16_be(len) ‖ payload ‖ signature`) with
    /// a well-formed payload.
    #[error("{field}: malformed NEP-413 signature: {detail}")]
    Nep413Malformed { field: Field, detail: String },

    /// A NEP-413 payload signs another message than the one expected.
    #[error("{field}: the NEP-413 payload signs another message than the one expected here")]
    Nep413WrongMessage { field: Field },

    /// A NEP-413 payload names a recipient other than idOS's.
    #[error(
        "{field}: the NEP-413 payload is for recipient {got:?}; idOS accepts \"idos.network\" \
         and \"idos-issuer\""
    )]
    Nep413WrongRecipient { field: Field, got: String },

    /// An XRPL public key is not 33 bytes of hex: `02`/`03` and a secp256k1 point, or `ED` and
    /// an Ed25519 key.
    #[error(
        "not an XRPL public key (66 hex digits: 02 or 03 and a secp256k1 point, or ED and an \
         Ed25519 key): {0:?}"
    )]
    InvalidXrplKey(String),

    /// An XRPL classic address is not an `r…` base58check account id.
    #[error("not an XRPL classic address (r…, base58check of a 20-byte account id): {0:?}")]
    InvalidXrplAddress(String),

    /// The public key in an XRPL signature is not the key of the signing account.
    #[error("{field}: the public key given is not the key of XRPL account {address}")]
    XrplKeyMismatch { field: Field, address: String },

    /// An XRPL secp256k1 signature is not strict DER with a low `s`.
    #[error("{field}: not a canonical XRPL signature ({reason})")]
    InvalidXrplSignature { field: Field, reason: &'static str },

    /// A Stellar address is not a `G…` StrKey with a valid checksum.
    #[error(
        "not a Stellar account address (G…, a 56-character StrKey with a valid checksum): {0:?}"
    )]
    InvalidStellarAddress(String),

    /// Binary encoding: the input does not decode as the expected structure.
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },

    /// Binary encoding: an envelope version we do not speak.
    #[error("unsupported {what} version {version} (this build speaks version {supported})")]
    UnsupportedVersion {
        what: &'static str,
        version: u8,
        supported: u8,
    },

    /// Input larger than allowed.
    #[error("{what} is {actual} bytes, more than the limit of {limit}")]
    TooLarge {
        what: &'static str,
        actual: usize,
        limit: usize,
    },

    /// A field value is not acceptable (empty name, bad chain id, ...).
    #[error("{field}: {reason}")]
    InvalidField { field: Field, reason: String },

    /// A date is not in the strict RFC 3339 form `YYYY-MM-DDTHH:MM:SSZ`.
    #[error("{field}: {value:?} is not an RFC 3339 UTC time of the form YYYY-MM-DDTHH:MM:SSZ")]
    InvalidTimestamp { field: Field, value: String },
}

impl Error {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidBase64 { .. } => "invalid_base64",
            Error::InvalidHex { .. } => "invalid_hex",
            Error::InvalidLength { .. } => "invalid_length",
            Error::InvalidUserId(_) => "invalid_user_id",
            Error::InvalidUuid { .. } => "invalid_uuid",
            Error::CiphertextTooShort { .. } => "ciphertext_too_short",
            Error::DecryptionFailed => "decryption_failed",
            Error::EncryptionFailed => "encryption_failed",
            Error::InvalidKdfParams(_) => "invalid_kdf_params",
            Error::UnknownKdfVersion(_) => "unknown_kdf_version",
            Error::InvalidEd25519Key { .. } => "invalid_ed25519_key",
            Error::BadSignature { .. } => "bad_signature",
            Error::InvalidEvmAddress(_) => "invalid_evm_address",
            Error::EvmChecksumMismatch(_) => "evm_checksum_mismatch",
            Error::InvalidSecp256k1 { .. } => "invalid_secp256k1",
            Error::InvalidIdentifier(_) => "invalid_identifier",
            Error::InvalidNearKey(_) => "invalid_near_key",
            Error::Nep413Malformed { .. } => "nep413_malformed",
            Error::Nep413WrongMessage { .. } => "nep413_wrong_message",
            Error::Nep413WrongRecipient { .. } => "nep413_wrong_recipient",
            Error::InvalidXrplKey(_) => "invalid_xrpl_key",
            Error::InvalidXrplAddress(_) => "invalid_xrpl_address",
            Error::XrplKeyMismatch { .. } => "xrpl_key_mismatch",
            Error::InvalidXrplSignature { .. } => "invalid_xrpl_signature",
            Error::InvalidStellarAddress(_) => "invalid_stellar_address",
            Error::Malformed { .. } => "malformed",
            Error::UnsupportedVersion { .. } => "unsupported_version",
            Error::TooLarge { .. } => "too_large",
            Error::InvalidField { .. } => "invalid_field",
            Error::InvalidTimestamp { .. } => "invalid_timestamp",
        }
    }

    /// Input that does not decode.
    pub fn malformed(what: &'static str, detail: impl fmt::Display) -> Self {
        Error::Malformed {
            what,
            detail: detail.to_string(),
        }
    }

    /// A field whose value is not allowed.
    pub fn invalid(field: Field, reason: impl Into<String>) -> Self {
        Error::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
