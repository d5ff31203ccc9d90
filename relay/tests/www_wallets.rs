//! The pages' wallet encodings (`www/shared/wallets.js`: NEAR key text, the NEP-413 payload and
//! idOS's blob) against the vectors made with `@near-js/crypto` and `borsh`
//! (`protocol/tests/vectors/wallets.json`), under Node.js: a page that wrapped a NEAR wallet's
//! signature differently from the Rust verifier would lock every NEAR user out.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_pages_nep413_blobs_and_near_keys_match_the_near_libraries() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("node")
        .arg(root.join("www/shared/wallets.test.mjs"))
        .arg(root.join("protocol/tests/vectors/wallets.json"))
        .output()
        .expect("node is not on PATH: run scripts/setup.sh");
    assert!(
        out.status.success(),
        "wallets.test.mjs failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
