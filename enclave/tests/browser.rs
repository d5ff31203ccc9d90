//! In-browser tests of the enclave's wasm build (headless Chromium via wasm-bindgen-test-runner):
//! `cargo test -p enclave --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

use enclave::vault::{EncryptedCredential, Vault, unlock};
use enclave::web::custody::{self, Remember};
use enclave::web::iframe::check_parent_origin;
use protocol::Uuid;
use protocol::bytes::{Bytes, EncryptionPublicKey};
use protocol::codec::base64_decode;
use protocol::credential::{CredentialSignatures, content_hash, verify_credential_signatures};
use protocol::kdf::{KdfVersion, ScryptParams};
use protocol::nacl_box::{self, EncryptionSecretKey, decrypt};
use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const UID: &str = "9f51b3b2-4cbe-4c2b-8ea3-0b0c1b2f1a11";
const FAST: ScryptParams = ScryptParams {
    log_n: 4,
    r: 8,
    p: 1,
};
const DAY: f64 = 86_400_000.0;

#[derive(Deserialize)]
struct Vectors {
    kdf: Vec<KdfVector>,
    #[serde(rename = "box")]
    boxes: Vec<BoxVector>,
}
#[derive(Deserialize)]
struct KdfVector {
    password: String,
    user_id: String,
    secret_key: String,
    public_key: String,
}
#[derive(Deserialize)]
struct BoxVector {
    recipient_secret_key: String,
    encryptor_public_key: String,
    content: String,
    plaintext: String,
    content_hash: String,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!(
        "../../protocol/tests/vectors/idos-compat.json"
    ))
    .unwrap()
}

fn credential_for(plaintext: &[u8], to: &EncryptionPublicKey) -> EncryptedCredential {
    let e = nacl_box::encrypt(plaintext, to).unwrap();
    EncryptedCredential {
        id: Uuid::new_v4(),
        content: e.content.into(),
        encryptor_public_key: e.encryptor_public_key,
        public_notes: String::new(),
        issuer_auth_public_key: None,
        public_notes_signature: None,
        broader_signature: None,
    }
}

fn unlocked_vault() -> (Vault, EncryptionSecretKey) {
    let key = unlock("pw", UID, None, FAST).unwrap();
    let mut v = Vault::default();
    v.configure(UID, Some(key.public_key())).unwrap();
    v.set_key(key.clone()).unwrap();
    (v, key)
}

#[wasm_bindgen_test]
fn idos_box_vectors_decrypt_inside_the_wasm_build() {
    for v in vectors().boxes {
        let sk = EncryptionSecretKey::from_base64(&v.recipient_secret_key).unwrap();
        let mut vault = Vault::default();
        vault.configure(UID, Some(sk.public_key())).unwrap();
        vault.set_key(sk).unwrap();
        let credential = EncryptedCredential {
            id: Uuid::new_v4(),
            content: Bytes::from_base64("content", &v.content).unwrap(),
            encryptor_public_key: EncryptionPublicKey::parse(&v.encryptor_public_key).unwrap(),
            public_notes: String::new(),
            issuer_auth_public_key: None,
            public_notes_signature: None,
            broader_signature: None,
        };
        let plaintext = vault.decrypt(&credential).unwrap();
        assert_eq!(&plaintext[..], v.plaintext.as_bytes());
        assert_eq!(content_hash(&plaintext).to_text(), v.content_hash);
    }
}

/// The one test with idOS's real KDF parameters (N = 2^14).
#[wasm_bindgen_test]
fn idos_kdf_vectors_unlock_with_the_real_parameters() {
    let params = KdfVersion::IdosScryptV0_1.scrypt_params();
    for v in vectors().kdf {
        let expected = EncryptionPublicKey::parse(&v.public_key).unwrap();
        let key = unlock(&v.password, &v.user_id, Some(&expected), params).unwrap();
        assert_eq!(*key.to_base64(), v.secret_key);
    }
}

#[wasm_bindgen_test]
fn wrong_password_is_rejected_offline() {
    let right = unlock("correct horse", UID, None, FAST).unwrap();
    let err = unlock("wrong horse", UID, Some(&right.public_key()), FAST).unwrap_err();
    assert_eq!(err.code.as_str(), "wrong_password");
    assert!(
        !err.message.contains("wrong horse"),
        "the password must not appear in errors"
    );
    assert!(unlock("correct horse", UID, Some(&right.public_key()), FAST).is_ok());
}

#[wasm_bindgen_test]
fn share_output_decrypts_with_the_grantee_key_and_its_signatures_verify() {
    let (vault, key) = unlocked_vault();
    let plaintext = br#"{"credentialSubject":{"level":"plus"}}"#;
    let original = credential_for(plaintext, &key.public_key());
    let grantee = EncryptionSecretKey::generate();
    let copy = vault.share(&original, &grantee.public_key()).unwrap();
    assert_eq!(copy.original_credential_id, original.id);
    assert_eq!(
        &decrypt(&copy.content, &copy.encryptor_public_key, &grantee).unwrap()[..],
        plaintext
    );
    let sigs = CredentialSignatures {
        public_notes_signature: copy.public_notes_signature,
        broader_signature: copy.broader_signature,
    };
    verify_credential_signatures(&copy.issuer_auth_public_key, "", &copy.content, &sigs).unwrap();
    assert_eq!(copy.public_notes, "");
    assert_eq!(copy.content_hash, content_hash(plaintext));
    // The answer carries ciphertext and signatures only.
    let json = serde_json::to_string(&copy).unwrap();
    assert!(!json.contains("plus"), "{json}");
    // A second share is signed by another ephemeral key.
    let again = vault.share(&original, &grantee.public_key()).unwrap();
    assert_ne!(again.issuer_auth_public_key, copy.issuer_auth_public_key);
}

#[wasm_bindgen_test]
fn share_with_a_locked_vault_is_a_typed_error() {
    let mut v = Vault::default();
    v.configure(UID, None).unwrap();
    let original = credential_for(b"x", &EncryptionSecretKey::generate().public_key());
    let err = v
        .share(&original, &EncryptionSecretKey::generate().public_key())
        .unwrap_err();
    assert_eq!(err.code.as_str(), "locked");
}

#[wasm_bindgen_test]
fn filter_returns_only_ids_of_matching_credentials() {
    let (vault, key) = unlocked_vault();
    let plus = credential_for(
        br#"{"level":"plus","residency":{"country":"DE"}}"#,
        &key.public_key(),
    );
    let basic = credential_for(
        br#"{"level":"basic","residency":{"country":"DE"}}"#,
        &key.public_key(),
    );
    let us = credential_for(
        br#"{"level":"plus","residency":{"country":"US"}}"#,
        &key.public_key(),
    );
    let filter: enclave::filter::Filter =
        serde_json::from_str(r#"{"pick":{"level":["plus"]},"omit":{"residency.country":["US"]}}"#)
            .unwrap();
    let ids = vault.filter(&[plus.clone(), basic, us], &filter).unwrap();
    assert_eq!(ids, vec![plus.id]);
}

#[wasm_bindgen_test]
fn password_change_re_encrypts_every_original_to_the_new_key() {
    let (vault, key) = unlocked_vault();
    let originals: Vec<_> = (0..3)
        .map(|i| credential_for(format!("c{i}").as_bytes(), &key.public_key()))
        .collect();
    let new_key = unlock("a new password", UID, None, FAST).unwrap();
    let rotation = vault.rotate(&new_key, &originals).unwrap();
    assert_eq!(
        rotation.recipient_encryption_public_key,
        new_key.public_key()
    );
    assert_eq!(rotation.originals.len(), 3);
    for (i, (o, r)) in originals.iter().zip(&rotation.originals).enumerate() {
        assert_eq!(o.id, r.id);
        assert_eq!(
            &decrypt(&r.content, &r.encryptor_public_key, &new_key).unwrap()[..],
            format!("c{i}").as_bytes()
        );
        assert!(decrypt(&r.content, &r.encryptor_public_key, &key).is_err());
    }
}

#[wasm_bindgen_test]
fn parent_origin_is_compared_exactly_and_fails_closed() {
    let allowed = vec!["http://127.0.0.1:8001".to_owned()];
    assert!(check_parent_origin("http://127.0.0.1:8001", Some(&allowed), None).is_ok());
    assert!(
        check_parent_origin(
            "http://127.0.0.1:8001",
            Some(&allowed),
            Some("http://127.0.0.1:8001")
        )
        .is_ok()
    );
    for (origin, ancestor) in [
        ("http://127.0.0.1:8002", None),
        ("http://127.0.0.1:8001/", None),
        ("HTTP://127.0.0.1:8001", None),
        ("http://localhost:8001", None),
        ("null", None),
        ("", None),
        ("http://127.0.0.1:8001", Some("http://evil.example")),
    ] {
        let err = check_parent_origin(origin, Some(&allowed), ancestor).unwrap_err();
        assert_eq!(
            err.code.as_str(),
            "origin_not_allowed",
            "{origin} {ancestor:?}"
        );
    }
    let err = check_parent_origin("http://127.0.0.1:8001", None, None).unwrap_err();
    assert_eq!(err.code.as_str(), "config_unavailable");
    // Issue 9 item 7: even if listed, a plain-http host off loopback is refused.
    let listed = vec!["http://app.example.com".to_owned()];
    let err = check_parent_origin("http://app.example.com", Some(&listed), None).unwrap_err();
    assert_eq!(err.code.as_str(), "origin_not_allowed");
    let listed = vec!["https://app.example.com".to_owned()];
    assert!(check_parent_origin("https://app.example.com", Some(&listed), None).is_ok());
}

const ORIGIN: &str = "http://127.0.0.1:8001";
const OTHER: &str = "http://127.0.0.1:8002";

async fn restore(user_id: &str, now: f64, origin: &str) -> Option<EncryptionSecretKey> {
    custody::restore(user_id, now, origin).await.unwrap().key()
}

#[wasm_bindgen_test]
async fn remembered_key_survives_a_reload_and_is_wrapped_by_a_non_extractable_key() {
    let key = unlock("pw", UID, None, FAST).unwrap();
    let now = js_sys::Date::now();
    custody::remember(UID, &key, Remember::Days7, now, ORIGIN)
        .await
        .unwrap();
    // A reload keeps nothing in memory: a fresh restore reads IndexedDB only.
    let restored = restore(UID, now + DAY, ORIGIN)
        .await
        .expect("remembered key");
    assert_eq!(restored.public_key(), key.public_key());
    let record = custody::raw_record().await.unwrap();
    let wrapping: web_sys::CryptoKey = js_sys::Reflect::get(&record, &"wrappingKey".into())
        .unwrap()
        .dyn_into()
        .unwrap();
    assert!(!wrapping.extractable());
    let wrapped =
        js_sys::Uint8Array::new(&js_sys::Reflect::get(&record, &"wrapped".into()).unwrap())
            .to_vec();
    assert!(
        !wrapped.windows(32).any(|w| w == &key.to_bytes()[..]),
        "the raw key must not be stored"
    );
    // Another user's configure finds nothing, and wipes it.
    assert!(
        restore("17ae32e9-24d1-4882-a0cf-22853406e65d", now, ORIGIN)
            .await
            .is_none()
    );
    assert!(restore(UID, now, ORIGIN).await.is_none());
}

/// Issue 9 item 3: a remembered key serves only the origins the user approved.
#[wasm_bindgen_test]
async fn remembered_key_serves_only_the_origins_the_user_approved() {
    let key = unlock("pw", UID, None, FAST).unwrap();
    let now = js_sys::Date::now();
    custody::remember(UID, &key, Remember::Days30, now, ORIGIN)
        .await
        .unwrap();
    match custody::restore(UID, now, OTHER).await.unwrap() {
        custody::Restored::OtherOrigins {
            origins,
            public_key,
        } => {
            assert_eq!(origins, [ORIGIN]);
            assert_eq!(public_key, key.public_key().to_text());
        }
        _ => panic!("another origin must not get the key"),
    }
    // Allowed by the user: both origins get it; "don't remember" on one keeps the other.
    let allowed = custody::allow_origin(UID, now, OTHER).await.unwrap().key();
    assert_eq!(allowed.unwrap().public_key(), key.public_key());
    assert!(restore(UID, now, ORIGIN).await.is_some());
    custody::remember(UID, &key, Remember::None, now, ORIGIN)
        .await
        .unwrap();
    assert!(restore(UID, now, ORIGIN).await.is_none());
    assert!(restore(UID, now, OTHER).await.is_some());
    custody::forget().await.unwrap();
    assert!(restore(UID, now, OTHER).await.is_none());
}

#[wasm_bindgen_test]
async fn remembered_key_is_gone_after_expiry() {
    let key = unlock("pw", UID, None, FAST).unwrap();
    let now = js_sys::Date::now();
    custody::remember(UID, &key, Remember::Days7, now, ORIGIN)
        .await
        .unwrap();
    assert!(restore(UID, now + 8.0 * DAY, ORIGIN).await.is_none());
    assert!(
        custody::raw_record().await.unwrap().is_null(),
        "expired record must be wiped"
    );
    assert!(restore(UID, now, ORIGIN).await.is_none());
    custody::remember(UID, &key, Remember::Days30, now, ORIGIN)
        .await
        .unwrap();
    assert!(restore(UID, now + 29.0 * DAY, ORIGIN).await.is_some());
    assert!(restore(UID, now + 31.0 * DAY, ORIGIN).await.is_none());
}

#[wasm_bindgen_test]
async fn remembered_key_is_gone_after_forget() {
    let key = unlock("pw", UID, None, FAST).unwrap();
    let now = js_sys::Date::now();
    custody::remember(UID, &key, Remember::Days30, now, ORIGIN)
        .await
        .unwrap();
    custody::forget().await.unwrap();
    assert!(custody::raw_record().await.unwrap().is_null());
    assert!(restore(UID, now, ORIGIN).await.is_none());
}

/// Issue 9 item 8: a "this session only" record leaves nothing in IndexedDB that opens it: its
/// wrapping key lives in this tab's sessionStorage, which the browser drops with the session.
#[wasm_bindgen_test]
async fn a_session_key_leaves_nothing_on_disk_that_opens_it() {
    let key = unlock("pw", UID, None, FAST).unwrap();
    let now = js_sys::Date::now();
    custody::remember(UID, &key, Remember::Session, now, ORIGIN)
        .await
        .unwrap();
    assert!(restore(UID, now, ORIGIN).await.is_some());
    let record = custody::raw_record().await.unwrap();
    let wrapping = js_sys::Reflect::get(&record, &"wrappingKey".into()).unwrap();
    assert!(
        wrapping.is_null(),
        "a session record must not store the key that unwraps it"
    );
    let storage = web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap();
    assert!(storage.get_item(custody::SESSION_ITEM).unwrap().is_some());
    // The session ends (another tab, a browser restart): the record is useless, and wiped.
    storage.clear().unwrap();
    assert!(restore(UID, now, ORIGIN).await.is_none());
    assert!(custody::raw_record().await.unwrap().is_null());
}

#[wasm_bindgen_test]
async fn remember_none_keeps_nothing() {
    let key = unlock("pw", UID, None, FAST).unwrap();
    let now = js_sys::Date::now();
    custody::remember(UID, &key, Remember::Days7, now, ORIGIN)
        .await
        .unwrap();
    custody::remember(UID, &key, Remember::None, now, ORIGIN)
        .await
        .unwrap();
    assert!(restore(UID, now, ORIGIN).await.is_none());
}

#[wasm_bindgen_test]
fn bad_base64_in_a_request_is_a_typed_error() {
    let err = base64_decode("content", "not base64!").unwrap_err();
    let e: enclave::EnclaveError = err.into();
    assert_eq!(e.code.as_str(), "invalid_base64");
}
