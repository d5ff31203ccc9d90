//! Key files in the data directory (the embedded chain's `validator_key`, the development
//! `owner_key`): a 32-byte Ed25519 seed as hex, created once, readable by its owner only.
//!
//! A leaf module: the chain and the node runner both use it, and it uses neither.

use std::path::Path;

use protocol::identity::{Ed25519SigningKey, SignatureScheme, SigningKey};
use zeroize::Zeroizing;

use crate::error::{NodeError, NodeResult};

/// The Ed25519 key in `path`, created with a fresh random seed when the file does not exist.
/// Returns the key and whether this call created it. A file that exists but cannot be read,
/// or holds anything but a 32-byte hex seed, is an error: the node never silently replaces a
/// key.
pub fn load_or_create_ed25519(path: &Path) -> NodeResult<(Ed25519SigningKey, bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            match SigningKey::from_hex(SignatureScheme::Ed25519, text.trim()) {
                Ok(SigningKey::Ed25519(key)) => Ok((key, false)),
                _ => Err(NodeError::Config(format!(
                    "{} is not a 32-byte hex Ed25519 seed; restore it from a backup, or move it \
                     away to create a new key",
                    path.display()
                ))),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Ed25519SigningKey::generate();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(NodeError::io(format!("creating {}", dir.display())))?;
            }
            let seed_hex = Zeroizing::new(hex::encode(*key.seed()));
            write_secret(path, seed_hex.as_bytes())?;
            Ok((key, true))
        }
        Err(e) => Err(NodeError::io(format!("reading {}", path.display()))(e)),
    }
}

/// Writes a new secret file readable by its owner only (it must not exist yet).
pub fn write_secret(path: &Path, contents: &[u8]) -> NodeResult<()> {
    use std::io::Write;
    let io = |e| NodeError::io(format!("writing {}", path.display()))(e);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_created_once_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/validator_key");
        let (created, was_created) = load_or_create_ed25519(&path).unwrap();
        assert!(was_created);
        let (read, was_created) = load_or_create_ed25519(&path).unwrap();
        assert!(!was_created);
        assert_eq!(read.public_key(), created.public_key());
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
        let path = dir.path().join("owner_key");
        std::fs::write(&path, "not a key").unwrap();
        let err = load_or_create_ed25519(&path).unwrap_err();
        assert_eq!(err.code(), "configuration");
        assert!(err.is_fault());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key");
    }

    #[test]
    fn fail_an_unreadable_key_file_is_an_io_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: reading it fails with something other than
        // "not found".
        let path = dir.path().join("validator_key");
        std::fs::create_dir(&path).unwrap();
        let err = load_or_create_ed25519(&path).unwrap_err();
        assert_eq!(err.code(), "io_error");
        assert!(err.to_string().contains("validator_key"), "{err}");
    }
}
