//! Known answers for NEAR, XRPL and Stellar wallets, made with each ecosystem's own JavaScript
//! library (`protocol/tests/vectors/wallets-gen.js`: @near-js/crypto and borsh, ripple-keypairs,
//! @stellar/stellar-base). Each test runs the generator under Node.js first and requires it to
//! print exactly the committed `wallets.json` (so the vectors are what those libraries write
//! today, not a copy edited by hand), then checks every case with this crate: keys and
//! identifiers read alike, every signature verifies, this crate signs the same bytes, and
//! tampered, truncated, wrong-recipient and other-chain inputs are refused with stable codes.
//!
//! Needs `node` and the packages `scripts/setup.sh` installs into `~/.cache/idos-tools` (or
//! `$IDOS_TOOLS_DIR`); missing tools fail the test with that instruction rather than skip it.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use protocol::bytes::Ed25519PublicKey;
use protocol::codec::{hex_decode, hex_encode};
use protocol::identity::Ed25519SigningKey;
use protocol::near::{self, Nep413Blob};
use protocol::stellar;
use protocol::xrpl::{XrplAddress, XrplPublicKey, XrplSigningKey};
use serde_json::Value;

const COMMITTED: &str = include_str!("vectors/wallets.json");

fn node_modules() -> PathBuf {
    let tools = std::env::var_os("IDOS_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/idos-tools")
        });
    let modules = tools.join("node_modules");
    for package in [
        "@near-js/crypto",
        "borsh",
        "ripple-keypairs",
        "@stellar/stellar-base",
    ] {
        assert!(
            modules.join(package).is_dir(),
            "{package} is missing from {}: run scripts/setup.sh (it installs the wallet \
             libraries for this test)",
            modules.display()
        );
    }
    modules
}

/// The vectors, after checking that the JavaScript libraries print exactly them.
fn vectors() -> &'static Value {
    static VECTORS: OnceLock<Value> = OnceLock::new();
    VECTORS.get_or_init(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/wallets-gen.js");
        let out = Command::new("node")
            .arg(&script)
            .env("NODE_PATH", node_modules())
            .output()
            .expect("node is not on PATH: run scripts/setup.sh");
        assert!(
            out.status.success(),
            "wallets-gen.js failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8(out.stdout).unwrap();
        assert!(
            printed == COMMITTED,
            "wallets-gen.js no longer prints the committed vectors/wallets.json: a library \
             changed what it writes. Look at the difference, then regenerate the file."
        );
        serde_json::from_str(COMMITTED).unwrap()
    })
}

fn cases(scheme: &str) -> &'static [Value] {
    let cases = vectors()[scheme].as_array().unwrap();
    assert!(cases.len() >= 4, "{scheme}: too few cases");
    cases
}

fn text<'a>(case: &'a Value, key: &str) -> &'a str {
    case[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {case}"))
}

fn bytes(case: &Value, key: &str) -> Vec<u8> {
    hex_decode("vector", text(case, key)).unwrap()
}

/// The same signing text for another chain: what a signature "for another network" covers.
fn other_chain(message: &str) -> String {
    if message.contains("idos-local") {
        message.replace("idos-local", "idos-mainnet")
    } else {
        format!("{message}\nChain: idos-mainnet")
    }
}

#[test]
fn near_blobs_from_near_js_verify_and_tampering_is_refused() {
    for case in cases("near") {
        let key = near::parse_key(text(case, "public_key")).unwrap();
        assert_eq!(hex_encode(key.as_bytes()), text(case, "public_key_hex"));
        assert_eq!(near::key_to_text(&key), text(case, "public_key"));
        let message = text(case, "message").as_bytes();
        let blob = bytes(case, "blob");
        near::verify("vector", &key, message, &blob).unwrap();

        let parsed = Nep413Blob::parse("vector", &blob).unwrap();
        assert_eq!(parsed.payload.recipient, text(case, "recipient"));
        assert_eq!(hex_encode(parsed.payload.nonce), text(case, "nonce"));
        assert_eq!(
            parsed.payload.callback_url.as_deref(),
            case["callback_url"].as_str()
        );
        assert_eq!(parsed.to_bytes(), blob, "one encoding per blob");
        // This crate's Ed25519 over the same payload is the same signature.
        let seed: [u8; 32] = bytes(case, "seed").try_into().unwrap();
        let signer = Ed25519SigningKey::from_seed(&seed);
        assert_eq!(signer.public_key(), key);
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&parsed.payload_bytes);
        assert_eq!(signer.sign(&digest).as_bytes(), &parsed.signature);

        let code = |blob: &[u8], message: &[u8]| {
            near::verify("vector", &key, message, blob)
                .unwrap_err()
                .code()
        };
        let mut flipped = blob.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(code(&flipped, message), "bad_signature");
        assert_eq!(code(&blob[..blob.len() - 1], message), "nep413_malformed");
        assert_eq!(code(&blob[..40], message), "nep413_malformed");
        assert_eq!(
            code(&blob, other_chain(text(case, "message")).as_bytes()),
            "nep413_wrong_message"
        );
        // The wallet's signature over a payload for another recipient (re-signed, so only the
        // recipient is wrong).
        let mut foreign = parsed.clone();
        foreign.payload.recipient = "evil.example".into();
        foreign.payload_bytes = foreign.payload.encode();
        foreign.signature = *signer
            .sign(&sha2::Sha256::digest(&foreign.payload_bytes))
            .as_bytes();
        assert_eq!(code(&foreign.to_bytes(), message), "nep413_wrong_recipient");
        // Another key's identity refuses it.
        let other =
            Ed25519PublicKey::from_bytes(Ed25519SigningKey::from_seed(&[9; 32]).public_key().0);
        assert_eq!(
            near::verify("vector", &other, message, &blob)
                .unwrap_err()
                .code(),
            "bad_signature"
        );
    }
}

#[test]
fn xrpl_signatures_from_ripple_keypairs_verify_on_both_curves() {
    let mut curves = (0, 0);
    for case in cases("xrpl") {
        let public = XrplPublicKey::parse(text(case, "public_key")).unwrap();
        assert_eq!(public.to_text(), text(case, "public_key"));
        match (&public, text(case, "algorithm")) {
            (XrplPublicKey::Secp256k1(_), "ecdsa-secp256k1") => curves.0 += 1,
            (XrplPublicKey::Ed25519(_), "ed25519") => curves.1 += 1,
            (key, algorithm) => panic!("{algorithm} read as {key:?}"),
        }
        let address = XrplAddress::parse(text(case, "address")).unwrap();
        assert_eq!(public.address(), address, "deriveAddress");
        assert_eq!(address.to_text(), text(case, "address"));

        let message = text(case, "message").as_bytes();
        let signature = bytes(case, "signature");
        public.verify("vector", message, &signature).unwrap();
        // This crate signs the same bytes (RFC 6979 and low s, or Ed25519).
        let signer = XrplSigningKey::from_hex(text(case, "private_key")).unwrap();
        assert_eq!(signer.public_key(), public);
        assert_eq!(signer.sign(message), signature);
        // As an identity signs: key, then signature.
        let mut as_identity = public.to_bytes().to_vec();
        as_identity.extend(&signature);
        address.verify("vector", message, &as_identity).unwrap();

        let code = |signed: &[u8], message: &[u8]| {
            address
                .verify("vector", message, signed)
                .unwrap_err()
                .code()
        };
        let mut flipped = as_identity.clone();
        let at = flipped.len() - 5;
        flipped[at] ^= 1;
        assert!(
            matches!(
                code(&flipped, message),
                "bad_signature" | "invalid_xrpl_signature"
            ),
            "flipped"
        );
        assert!(
            address
                .verify("vector", message, &as_identity[..as_identity.len() - 1])
                .is_err()
        );
        assert!(
            address
                .verify("vector", message, &as_identity[..20])
                .is_err()
        );
        assert_eq!(
            code(&as_identity, other_chain(text(case, "message")).as_bytes()),
            "bad_signature"
        );
        // The same signature under another account's address.
        let other = XrplSigningKey::from_hex(&format!("00{}", "33".repeat(32)))
            .unwrap()
            .public_key()
            .address();
        assert_eq!(
            other
                .verify("vector", message, &as_identity)
                .unwrap_err()
                .code(),
            "xrpl_key_mismatch"
        );
    }
    assert!(curves.0 >= 4 && curves.1 >= 4, "both curves: {curves:?}");
}

#[test]
fn stellar_signatures_from_stellar_base_verify_raw_and_sep53() {
    for case in cases("stellar") {
        let key = stellar::parse_address(text(case, "address")).unwrap();
        assert_eq!(hex_encode(key.as_bytes()), text(case, "public_key_hex"));
        assert_eq!(stellar::address(&key), text(case, "address"));
        let message = text(case, "message").as_bytes();
        let raw = bytes(case, "raw_signature");
        let sep53 = bytes(case, "sep53_signature");
        stellar::verify("vector", &key, message, &raw).unwrap();
        stellar::verify("vector", &key, message, &sep53).unwrap();
        let seed: [u8; 32] = bytes(case, "seed").try_into().unwrap();
        let signer = Ed25519SigningKey::from_seed(&seed);
        assert_eq!(signer.public_key(), key);
        assert_eq!(signer.sign(message).as_bytes().as_slice(), raw);
        assert_eq!(
            stellar::sign_sep53(&signer, message).as_bytes().as_slice(),
            sep53
        );

        for signature in [&raw, &sep53] {
            let code = |signature: &[u8], message: &[u8]| {
                stellar::verify("vector", &key, message, signature)
                    .unwrap_err()
                    .code()
            };
            let mut flipped = signature.clone();
            flipped[40] ^= 1;
            assert_eq!(code(&flipped, message), "bad_signature");
            assert_eq!(code(&signature[..63], message), "invalid_length");
            assert_eq!(
                code(signature, other_chain(text(case, "message")).as_bytes()),
                "bad_signature"
            );
        }
    }
}
