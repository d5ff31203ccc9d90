//! Secret keys: `Debug` shows only the public half, and the key types wipe their secret when
//! dropped.

use protocol::codec;
use protocol::identity::{Ed25519SigningKey, SignatureScheme, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use zeroize::ZeroizeOnDrop;

const SEED: [u8; 32] = [0x5a; 32];

fn assert_no_secret(debug: &str, secret: &[u8; 32], public: &str) {
    let hex = codec::hex_encode(secret);
    let base64 = codec::base64_encode(secret);
    assert!(!debug.contains(&hex), "{debug} shows the secret in hex");
    assert!(
        !debug.contains(&hex.to_uppercase()),
        "{debug} shows the secret in hex"
    );
    assert!(
        !debug.contains(&base64),
        "{debug} shows the secret in base64"
    );
    // Byte-list forms such as `[90, 90, ...]`.
    assert!(!debug.contains("90, 90"), "{debug} shows the secret bytes");
    assert!(
        debug.contains(public),
        "{debug} should name the public half {public}"
    );
}

#[test]
fn ed25519_signing_key_debug_shows_only_the_public_key() {
    let key = Ed25519SigningKey::from_seed(&SEED);
    let debug = format!("{key:?}");
    assert_no_secret(&debug, &SEED, &key.public_key().to_string());
    let wrapped = SigningKey::Ed25519(key.clone());
    assert_no_secret(
        &format!("{wrapped:?}"),
        &SEED,
        &key.public_key().to_string(),
    );
    assert_no_secret(
        &format!("{:?}", Some(&wrapped)),
        &SEED,
        &key.public_key().to_string(),
    );
}

#[test]
fn evm_signing_key_debug_shows_only_the_address() {
    let key = SigningKey::from_hex(SignatureScheme::Eip191, &codec::hex_encode(SEED)).unwrap();
    let debug = format!("{key:?}");
    assert_no_secret(&debug, &SEED, &key.identity().display_name());
}

#[test]
fn encryption_secret_key_debug_shows_only_the_public_key() {
    let key = EncryptionSecretKey::from_bytes(SEED);
    let debug = format!("{key:?}");
    assert_no_secret(&debug, &SEED, &key.public_key().to_string());
}

#[test]
fn signing_keys_wipe_their_secret_on_drop() {
    fn wipes_on_drop<T: ZeroizeOnDrop>() {}
    wipes_on_drop::<Ed25519SigningKey>();
    wipes_on_drop::<SigningKey>();
    // crypto_box's SecretKey zeroizes its scalar in `Drop` (crypto_box 0.9.1,
    // src/secret_key.rs) without the marker trait; at least it must have drop glue.
    assert!(std::mem::needs_drop::<EncryptionSecretKey>());
}
