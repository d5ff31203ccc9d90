//! Exports for `scripts/bench-enclave.sh`: the enclave's own KDF and box open, timed by the
//! bench page next to scrypt-js and tweetnacl in the same page.

use protocol::bytes::EncryptionPublicKey;
use protocol::kdf::{ScryptParams, derive_user_key_normalized};
use protocol::nacl_box::{EncryptionSecretKey, decrypt};
use wasm_bindgen::prelude::*;

/// scrypt(password, user id, N = 2^log_n, r = 8, p = 1); returns the public key (base64).
#[wasm_bindgen]
pub fn bench_kdf(password: &str, user_id: &str, log_n: u8) -> Result<String, JsValue> {
    let key = derive_user_key_normalized(
        &crate::vault::nfkc(password),
        user_id,
        ScryptParams { log_n, r: 8, p: 1 },
    )
    .map_err(|e| JsValue::from_str(&e.to_string()))?;
    Ok(key.public_key().to_text())
}

/// Opens a box (`nonce ‖ tag ‖ ct`); returns the plaintext length.
#[wasm_bindgen]
pub fn bench_box_open(
    content: &[u8],
    encryptor_public_key: &[u8],
    secret_key: &[u8],
) -> Result<usize, JsValue> {
    let err = |e: protocol::Error| JsValue::from_str(&e.to_string());
    let epk = EncryptionPublicKey::from_slice(encryptor_public_key).map_err(err)?;
    let sk: [u8; 32] = protocol::codec::to_array("secret key", secret_key).map_err(err)?;
    let sk = EncryptionSecretKey::from_bytes(sk);
    Ok(decrypt(content, &epk, &sk).map_err(err)?.len())
}
