//! [`SessionKey`]: the 32-byte HMAC key sessions are signed with. Every relay holding the same
//! key accepts the same sessions.
//!
//! Taken from `IDOS_SESSION_KEY` (64 hex digits) when set, otherwise from the file
//! `session_key` in the relay's data directory, created once with a fresh random key,
//! readable by its owner only. Zeroized on drop, never printed.

use std::path::Path;

use rand_core::{OsRng, RngCore};
use zeroize::{Zeroize, Zeroizing};

/// The environment variable that holds the session key (64 hex digits).
pub const SESSION_KEY_ENV: &str = "IDOS_SESSION_KEY";

/// The key file's name in the data directory.
pub const SESSION_KEY_FILE: &str = "session_key";

/// The HMAC-SHA256 key of session tokens.
#[derive(Clone)]
pub struct SessionKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

/// The key could not be read or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("session key: {0}")]
pub struct SessionKeyError(String);

impl SessionKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(key.as_mut());
        SessionKey(key)
    }

    /// A key from its bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut bytes = bytes;
        let key = SessionKey(Zeroizing::new(bytes));
        bytes.zeroize();
        key
    }

    /// A key from 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, SessionKeyError> {
        let mut key = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), key.as_mut())
            .map_err(|_| SessionKeyError("not 64 hexadecimal digits".into()))?;
        Ok(SessionKey(key))
    }

    /// `IDOS_SESSION_KEY` if it is set, otherwise the key file in `data_dir` (created when
    /// missing). A set but malformed variable, or a damaged file, is an error: the relay never
    /// silently replaces a key (that would end every session).
    pub fn load(data_dir: &Path) -> Result<Self, SessionKeyError> {
        match std::env::var(SESSION_KEY_ENV) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                SessionKey::from_hex(&text)
                    .map_err(|e| SessionKeyError(format!("{SESSION_KEY_ENV}: {}", e.0)))
            }
            Err(std::env::VarError::NotUnicode(_)) => Err(SessionKeyError(format!(
                "{SESSION_KEY_ENV} is not 64 hexadecimal digits"
            ))),
            Err(std::env::VarError::NotPresent) => {
                SessionKey::load_or_create_file(&data_dir.join(SESSION_KEY_FILE))
            }
        }
    }

    /// The key in `path`, created (owner-only) with a random key when the file is missing.
    pub fn load_or_create_file(path: &Path) -> Result<Self, SessionKeyError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                SessionKey::from_hex(&text).map_err(|_| {
                    SessionKeyError(format!(
                        "{} is not 64 hexadecimal digits; restore it from a backup, or move it away to create a new key (which ends every session)",
                        path.display()
                    ))
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SessionKey::generate();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| SessionKeyError(format!("creating {}: {e}", dir.display())))?;
                }
                let text = Zeroizing::new(hex::encode(key.0.as_ref()));
                node::keyfile::write_secret(path, text.as_bytes())
                    .map_err(|e| SessionKeyError(e.to_string()))?;
                Ok(key)
            }
            Err(e) => Err(SessionKeyError(format!("reading {}: {e}", path.display()))),
        }
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_created_once_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SESSION_KEY_FILE);
        let created = SessionKey::load_or_create_file(&path).unwrap();
        let read = SessionKey::load_or_create_file(&path).unwrap();
        assert_eq!(created.bytes(), read.bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn fail_a_damaged_key_file_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SESSION_KEY_FILE);
        std::fs::write(&path, "not a key").unwrap();
        let err = SessionKey::load_or_create_file(&path).unwrap_err();
        assert!(err.to_string().contains("session_key"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key");
    }

    #[test]
    fn the_key_is_never_printed() {
        let key = SessionKey::from_bytes([0xab; 32]);
        let debug = format!("{key:?}");
        assert!(!debug.contains("ab"), "{debug}");
        assert!(!debug.contains("171"), "{debug}");
        assert!(SessionKey::from_hex(&"ab".repeat(31)).is_err());
        assert!(SessionKey::from_hex(&"zz".repeat(32)).is_err());
    }
}
