//! Architecture invariants checked on the source (as rust-analyzer's tidy tests do).

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The node stores and serves ciphertext only: no node code decrypts, derives user keys or
/// holds an encryption secret key (the test kit, which plays clients, is the exception).
#[test]
fn the_node_never_decrypts() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 5);
    for file in files {
        if file.components().any(|c| c.as_os_str() == "testkit") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for forbidden in [
            "decrypt",
            "EncryptionSecretKey",
            "derive_user_key",
            "unlock_user_key",
        ] {
            assert!(
                !text.contains(forbidden),
                "{} mentions {forbidden}",
                file.display()
            );
        }
    }
}

/// `protocol` and `idos-state` stay I/O-free: none of the runtime, storage or browser crates
/// (clients, the enclave among them, run their code).
#[test]
fn protocol_and_the_state_model_have_no_io_dependencies() {
    for krate in ["protocol", "state"] {
        let manifest = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../{krate}/Cargo.toml")),
        )
        .unwrap();
        let dependencies = manifest
            .split("[dependencies]")
            .nth(1)
            .unwrap()
            .split("[dev-dependencies]")
            .next()
            .unwrap();
        for forbidden in [
            "tokio",
            "rocksdb",
            "web-sys",
            "axum",
            "reqwest",
            "tendermint",
            "node",
        ] {
            assert!(
                !dependencies.contains(forbidden),
                "{krate} depends on {forbidden}"
            );
        }
    }
}
