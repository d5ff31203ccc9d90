//! Password-based derivation of a user's X25519 encryption key, exactly as idOS's enclave:
//!
//! `secret = scrypt(P = UTF-8(NFKC(password)), S = UTF-8(user id text), N, r = 8, p = 1, 32 bytes)`
//!
//! The user id must be a UUIDv4 in its 36-character textual form; that text (not the 16 raw
//! bytes) is the salt. The 32 output bytes are the X25519 secret as stored (unclamped).
//!
//! Every derivation is tagged with a [`KdfVersion`] so that a stronger function can be added
//! without breaking the unlock of keys made by idOS clients.
//!
//! Work factor: idOS fixed N = 2^14 (16 MiB, about 40 ms natively on this project's machines).
//! That is below today's OWASP advice for scrypt (N = 2^17), but it is what makes keys derived
//! here equal to keys derived by every idOS client, so it stays the default.

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::bytes::EncryptionPublicKey;
use crate::error::{Error, Result};
use crate::nacl_box::EncryptionSecretKey;

/// Which key-derivation function and parameters produced a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum KdfVersion {
    /// idOS KDF "0.1", the current idOS default: scrypt N = 2^14, r = 8, p = 1.
    #[default]
    IdosScryptV0_1,
    /// idOS legacy KDF "0": scrypt N = 2^7, r = 8, p = 1. Only for unlocking old profiles.
    IdosScryptV0,
}

impl KdfVersion {
    /// The stable text tag of this version.
    pub const fn tag(self) -> &'static str {
        match self {
            KdfVersion::IdosScryptV0_1 => "idos-scrypt-0.1",
            KdfVersion::IdosScryptV0 => "idos-scrypt-0",
        }
    }

    /// Parses a tag produced by [`KdfVersion::tag`].
    pub fn from_tag(tag: &str) -> Result<Self> {
        match tag {
            "idos-scrypt-0.1" => Ok(KdfVersion::IdosScryptV0_1),
            "idos-scrypt-0" => Ok(KdfVersion::IdosScryptV0),
            other => Err(Error::UnknownKdfVersion(other.to_owned())),
        }
    }

    /// The scrypt parameters of this version.
    pub const fn scrypt_params(self) -> ScryptParams {
        match self {
            KdfVersion::IdosScryptV0_1 => ScryptParams {
                log_n: 14,
                r: 8,
                p: 1,
            },
            KdfVersion::IdosScryptV0 => ScryptParams {
                log_n: 7,
                r: 8,
                p: 1,
            },
        }
    }
}

/// scrypt cost parameters. Production code names a [`KdfVersion`]; explicit parameters exist
/// so tests (and the wasm test suite, which runs unoptimised) can use a tiny work factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScryptParams {
    /// log2 of the CPU/memory cost N.
    pub log_n: u8,
    /// Block size.
    pub r: u32,
    /// Parallelism.
    pub p: u32,
}

/// Checks that `user_id` is the textual form of a UUIDv4, as idOS requires of its salt
/// (`^[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[a-f0-9]{4}-[a-f0-9]{12}$`, any case).
pub fn validate_user_id_salt(user_id: &str) -> Result<()> {
    let bytes = user_id.as_bytes();
    let well_formed = bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            14 => *b == b'4',
            _ => b.is_ascii_hexdigit(),
        });
    if well_formed {
        Ok(())
    } else {
        Err(Error::InvalidUserId(truncate_for_message(user_id)))
    }
}

fn truncate_for_message(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Derives a user's encryption key from a password with the given KDF version.
pub fn derive_user_key(
    password: &str,
    user_id: &str,
    version: KdfVersion,
) -> Result<EncryptionSecretKey> {
    derive_user_key_with(password, user_id, version.scrypt_params())
}

/// [`derive_user_key`] with explicit scrypt parameters (tests and benchmarks).
pub fn derive_user_key_with(
    password: &str,
    user_id: &str,
    params: ScryptParams,
) -> Result<EncryptionSecretKey> {
    let normalized: Zeroizing<String> = Zeroizing::new(password.nfkc().collect());
    derive_user_key_normalized(&normalized, user_id, params)
}

/// [`derive_user_key_with`] for a password that is already NFKC-normalised, e.g. by a browser's
/// `String.prototype.normalize("NFKC")`, which is what idOS's JavaScript enclave uses. The
/// enclave's wasm calls this so that it does not ship Unicode tables the browser already has.
/// Passing a password that is not NFKC-normalised derives a different (incompatible) key.
pub fn derive_user_key_normalized(
    normalized: &str,
    user_id: &str,
    params: ScryptParams,
) -> Result<EncryptionSecretKey> {
    validate_user_id_salt(user_id)?;
    let scrypt_params = scrypt::Params::new(params.log_n, params.r, params.p)
        .map_err(|_| Error::InvalidKdfParams("scrypt rejected log_n, r or p"))?;
    let mut secret = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(
        normalized.as_bytes(),
        user_id.as_bytes(),
        &scrypt_params,
        &mut *secret,
    )
    .map_err(|_| Error::InvalidKdfParams("scrypt rejected the output length"))?;
    Ok(EncryptionSecretKey::from_bytes(*secret))
}

/// Derives the key and checks it against the public key published in the user's profile,
/// offline, as the enclave's unlock dialog does. A mismatch means a wrong password.
pub fn unlock_user_key(
    password: &str,
    user_id: &str,
    expected: &EncryptionPublicKey,
    version: KdfVersion,
) -> Result<Option<EncryptionSecretKey>> {
    let key = derive_user_key(password, user_id, version)?;
    let matches: bool =
        subtle::ConstantTimeEq::ct_eq(&key.public_key().0[..], &expected.0[..]).into();
    Ok(matches.then_some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "9f51b3b2-4cbe-4c2b-8ea3-0b0c1b2f1a11";
    const FAST: ScryptParams = ScryptParams {
        log_n: 4,
        r: 8,
        p: 1,
    };

    #[test]
    fn salt_is_the_uuid_text_and_case_matters() {
        let lower = derive_user_key_with("pw", UID, FAST).unwrap();
        let upper = derive_user_key_with("pw", &UID.to_uppercase(), FAST).unwrap();
        assert_ne!(lower.public_key(), upper.public_key());
    }

    #[test]
    fn password_is_nfkc_normalised() {
        // U+FB03 (the "ffi" ligature) normalises to "ffi"; U+2460 to "1".
        let a = derive_user_key_with("\u{fb03}\u{2460}", UID, FAST).unwrap();
        let b = derive_user_key_with("ffi1", UID, FAST).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        // NFC and NFD spellings of "é" agree too.
        let nfc = derive_user_key_with("\u{e9}", UID, FAST).unwrap();
        let nfd = derive_user_key_with("e\u{301}", UID, FAST).unwrap();
        assert_eq!(nfc.public_key(), nfd.public_key());
    }

    #[test]
    fn normalized_entry_point_agrees_for_normalized_input() {
        let a = derive_user_key_with("\u{fb03}\u{2460}", UID, FAST).unwrap();
        let b = derive_user_key_normalized("ffi1", UID, FAST).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        assert_eq!(
            derive_user_key_normalized("pw", "bad", FAST)
                .unwrap_err()
                .code(),
            "invalid_user_id"
        );
    }

    #[test]
    fn versions_have_stable_tags() {
        for v in [KdfVersion::IdosScryptV0_1, KdfVersion::IdosScryptV0] {
            assert_eq!(KdfVersion::from_tag(v.tag()).unwrap(), v);
        }
        assert_eq!(
            KdfVersion::default().scrypt_params(),
            ScryptParams {
                log_n: 14,
                r: 8,
                p: 1
            }
        );
        assert_eq!(
            KdfVersion::from_tag("argon2id").unwrap_err().code(),
            "unknown_kdf_version"
        );
    }

    #[test]
    fn legacy_version_differs_from_current() {
        let v0 = derive_user_key("pw", UID, KdfVersion::IdosScryptV0).unwrap();
        let v01 = derive_user_key("pw", UID, KdfVersion::IdosScryptV0_1).unwrap();
        assert_ne!(v0.public_key(), v01.public_key());
    }

    #[test]
    fn unlock_checks_the_published_key() {
        let key = derive_user_key("right", UID, KdfVersion::IdosScryptV0).unwrap();
        let pk = key.public_key();
        assert!(
            unlock_user_key("right", UID, &pk, KdfVersion::IdosScryptV0)
                .unwrap()
                .is_some()
        );
        assert!(
            unlock_user_key("wrong", UID, &pk, KdfVersion::IdosScryptV0)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn fail_bad_user_ids() {
        for bad in [
            "",
            "not-a-uuid",
            "9f51b3b2-4cbe-3c2b-8ea3-0b0c1b2f1a11", // version 3
            "9f51b3b24cbe4c2b8ea30b0c1b2f1a11",     // no hyphens
            "{9f51b3b2-4cbe-4c2b-8ea3-0b0c1b2f1a11}", // braces
            "9f51b3b2-4cbe-4c2b-8ea3-0b0c1b2f1a1g", // non-hex
            " 9f51b3b2-4cbe-4c2b-8ea3-0b0c1b2f1a11", // whitespace
            "9f51b3b2-4cbe-4c2b-8ea3-0b0c1b2f1a11\n",
        ] {
            let err = derive_user_key_with("pw", bad, FAST).unwrap_err();
            assert_eq!(err.code(), "invalid_user_id", "{bad:?}");
            // The message names the offending id so that a person can spot the mistake.
            assert_eq!(err, Error::InvalidUserId(bad.to_owned()), "{bad:?}");
        }
    }

    #[test]
    fn fail_overlong_user_id_is_named_but_cut_to_64_characters() {
        let long = "x".repeat(1000);
        let err = derive_user_key_with("pw", &long, FAST).unwrap_err();
        assert_eq!(err, Error::InvalidUserId("x".repeat(64)));
    }

    #[test]
    fn fail_bad_params_is_an_error_not_a_panic() {
        let err = derive_user_key_with(
            "pw",
            UID,
            ScryptParams {
                log_n: 64,
                r: 8,
                p: 1,
            },
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_kdf_params");
    }
}
