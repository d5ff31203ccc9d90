//! The demo back ends' keys, in `<data dir>/demo/`: created once, readable by their owner only,
//! never silently replaced (the node's key-file rules, `node::keyfile`).
//!
//! | file | what |
//! |---|---|
//! | `issuer_key` | the demo issuer's Ed25519 key (a delegate of its inserter), hex seed |
//! | `issuer_box_key` | the demo issuer's X25519 key: its own copy of what it issues, base64 |
//! | `dapp_key` | the demo dapp back end's Ed25519 key: its sign-in and grantee identity, hex seed |
//! | `dapp_box_key` | the demo dapp's X25519 key: shared copies are encrypted to it, base64 |

use std::path::{Path, PathBuf};

use protocol::identity::Ed25519SigningKey;
use protocol::nacl_box::EncryptionSecretKey;
use zeroize::Zeroizing;

use crate::error::DemoError;

/// The directory of the demo keys inside a data directory.
pub fn demo_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("demo")
}

fn key_error(path: &Path, detail: impl std::fmt::Display) -> DemoError {
    DemoError::unavailable(
        "key_file",
        format!("the demo key file {}: {detail}", path.display()),
    )
}

/// The Ed25519 key `name` in `<data dir>/demo/`, created on first use.
pub fn ed25519_key(data_dir: &Path, name: &str) -> Result<Ed25519SigningKey, DemoError> {
    let path = demo_dir(data_dir).join(name);
    node::keyfile::load_or_create_ed25519(&path)
        .map(|(key, _)| key)
        .map_err(|e| key_error(&path, e))
}

/// The X25519 key `name` in `<data dir>/demo/` (base64), created on first use.
pub fn box_key(data_dir: &Path, name: &str) -> Result<EncryptionSecretKey, DemoError> {
    let path = demo_dir(data_dir).join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            EncryptionSecretKey::from_base64(text.trim()).map_err(|_| {
                key_error(
                    &path,
                    "not a base64 X25519 secret key; restore it from a backup, or move it away to create a new one",
                )
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = EncryptionSecretKey::generate();
            std::fs::create_dir_all(demo_dir(data_dir)).map_err(|e| key_error(&path, e))?;
            node::keyfile::write_secret(&path, key.to_base64().as_bytes())
                .map_err(|e| key_error(&path, e))?;
            Ok(key)
        }
        Err(e) => Err(key_error(&path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let signing = ed25519_key(dir.path(), "issuer_key").unwrap();
        assert_eq!(
            ed25519_key(dir.path(), "issuer_key").unwrap().public_key(),
            signing.public_key()
        );
        let boxed = box_key(dir.path(), "dapp_box_key").unwrap();
        assert_eq!(
            box_key(dir.path(), "dapp_box_key").unwrap().public_key(),
            boxed.public_key()
        );
        #[cfg(unix)]
        for name in ["issuer_key", "dapp_box_key"] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(demo_dir(dir.path()).join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        std::fs::write(demo_dir(dir.path()).join("bad_box"), "not a key").unwrap();
        assert_eq!(
            box_key(dir.path(), "bad_box").unwrap_err().code,
            "key_file",
            "a damaged key is refused, never replaced"
        );
    }
}
