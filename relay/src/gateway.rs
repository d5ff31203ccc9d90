//! The relay's gateway key: an Ed25519 key in `<data dir>/gateway_key` (created once, readable
//! by its owner only, never silently replaced: the node's key-file rules) with which the relay
//! attests to the node which signed-in identity a read is for. A node accepts those reads only
//! if its configuration lists the key's public half in `trusted_gateways`; the bundled node
//! does by default.
//!
//! The key speaks for sessions, not for users: it can make reads as any identity a node trusts
//! it for, but cannot sign a transaction for anyone.

use std::path::{Path, PathBuf};

use node::error::NodeResult;
use protocol::identity::Ed25519SigningKey;

/// The key file's name in the relay's data directory.
pub const GATEWAY_KEY_FILE: &str = "gateway_key";

/// The path of the gateway key in `data_dir`.
pub fn gateway_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(GATEWAY_KEY_FILE)
}

/// The gateway key of `data_dir`, created on first use. Returns whether this call created it.
pub fn load_or_create(data_dir: &Path) -> NodeResult<(Ed25519SigningKey, bool)> {
    node::keyfile::load_or_create_ed25519(&gateway_key_path(data_dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_key_is_created_once_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let (first, created) = load_or_create(dir.path()).unwrap();
        assert!(created);
        let (again, created) = load_or_create(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(first.public_key(), again.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(gateway_key_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
