//! Architecture rules of the relay server, checked on its source: it never holds a user key
//! (it verifies signatures, it does not make them, except its own gateway attestation) and
//! never decrypts.

use std::path::{Path, PathBuf};

/// The server's sources: the API, the node client, configuration, gateway key, web origins and
/// (when present) sign-in and operations. The CLI's local key and crypto tools are not the
/// server and are left out.
fn server_sources() -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("cli") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn the_relay_server_never_holds_a_user_key_nor_decrypts() {
    let files = server_sources();
    assert!(files.iter().any(|f| f.ends_with("api/tx.rs")), "{files:?}");
    for file in files {
        let whole = std::fs::read_to_string(&file).unwrap();
        // Unit tests (a file's `#[cfg(test)]` module, at its end) may make keys to test with.
        let source = whole.split("#[cfg(test)]").next().unwrap();
        for forbidden in [
            "EncryptionSecretKey",
            "derive_user_key",
            "unlock_user_key",
            "decrypt",
            "SignatureScheme",
            "generate_evm",
        ] {
            assert!(
                !source.contains(forbidden),
                "{} mentions {forbidden}",
                file.display()
            );
        }
        // `SigningKey` only as the gateway's own Ed25519 key.
        let user_keys =
            source.matches("SigningKey").count() - source.matches("Ed25519SigningKey").count();
        assert_eq!(
            user_keys,
            0,
            "{} handles a user's SigningKey",
            file.display()
        );
    }
}
