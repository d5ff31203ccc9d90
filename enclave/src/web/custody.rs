//! Key custody: a remembered key is wrapped (AES-GCM) by a non-extractable WebCrypto key, and
//! both are kept in the enclave origin's IndexedDB together with an expiry the user chose.
//! The raw key is never written anywhere; the wrapping key cannot be read out of the browser.
//! "session" records are also bound to a token in sessionStorage, so they die with the tab.

use js_sys::{Array, Uint8Array};
use protocol::bytes::EncryptionPublicKey;
use protocol::nacl_box::EncryptionSecretKey;
use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

use super::util::{get, get_string, obj, window};
use crate::error::{EnclaveError, Result, codes};

#[wasm_bindgen(inline_js = r#"
const DB = 'idos-enclave', STORE = 'custody';
function open() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
function run(mode, f) {
  return open().then(db => new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = f(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(req.result === undefined ? null : req.result); };
    tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
  }));
}
export function idb_get(key) { return run('readonly', s => s.get(key)); }
export function idb_put(key, value) { return run('readwrite', s => s.put(value, key)); }
export function idb_delete(key) { return run('readwrite', s => s.delete(key)); }
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    fn idb_get(key: &str) -> std::result::Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn idb_put(key: &str, value: &JsValue) -> std::result::Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn idb_delete(key: &str) -> std::result::Result<js_sys::Promise, JsValue>;
}

/// The IndexedDB key of the one remembered-key record.
pub const RECORD_KEY: &str = "user-key";
const SESSION_ITEM: &str = "idos-enclave-session";
const DAY_MS: f64 = 86_400_000.0;
/// A "session" record also expires after this long, even if the tab stays open.
const SESSION_MAX_MS: f64 = 12.0 * 3_600_000.0;

/// How long the user asked the enclave to remember their key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Remember {
    /// Not at all: the key lives in this page's memory only.
    #[serde(rename = "none")]
    None,
    /// Until this browser tab closes (at most 12 hours).
    #[serde(rename = "session")]
    Session,
    /// Seven days.
    #[serde(rename = "7d")]
    Days7,
    /// Thirty days.
    #[serde(rename = "30d")]
    Days30,
}

impl Remember {
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "none" => Ok(Remember::None),
            "session" => Ok(Remember::Session),
            "7d" => Ok(Remember::Days7),
            "30d" => Ok(Remember::Days30),
            other => Err(EnclaveError::bad_request(format!(
                "remember must be none, session, 7d or 30d, got {other:?}"
            ))),
        }
    }

    /// When a key remembered at `now_ms` expires (None: it is not remembered at all).
    pub fn expires_at(self, now_ms: f64) -> Option<f64> {
        (self != Remember::None).then(|| now_ms + self.lifetime_ms())
    }

    fn lifetime_ms(self) -> f64 {
        match self {
            Remember::None => 0.0,
            Remember::Session => SESSION_MAX_MS,
            Remember::Days7 => 7.0 * DAY_MS,
            Remember::Days30 => 30.0 * DAY_MS,
        }
    }
}

fn storage_err(doing: &str) -> impl Fn(JsValue) -> EnclaveError + '_ {
    move |_| {
        EnclaveError::new(
            codes::STORAGE_FAILED,
            format!("the enclave's browser storage failed while {doing}"),
        )
    }
}

async fn await_promise(
    p: std::result::Result<js_sys::Promise, JsValue>,
    doing: &str,
) -> Result<JsValue> {
    let p = p.map_err(storage_err(doing))?;
    JsFuture::from(p).await.map_err(storage_err(doing))
}

fn subtle() -> Result<web_sys::SubtleCrypto> {
    Ok(window()?
        .crypto()
        .map_err(storage_err("opening WebCrypto"))?
        .subtle())
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    window()?
        .crypto()
        .map_err(storage_err("opening WebCrypto"))?
        .get_random_values_with_u8_array(&mut bytes)
        .map_err(storage_err("drawing random bytes"))?;
    Ok(bytes)
}

fn session_storage() -> Result<web_sys::Storage> {
    window()?
        .session_storage()
        .map_err(storage_err("opening sessionStorage"))?
        .ok_or_else(|| EnclaveError::new(codes::STORAGE_FAILED, "sessionStorage is not available"))
}

/// Binds a wrapped key to its owner: AES-GCM additional data.
fn associated_data(user_id: &str, public_key: &EncryptionPublicKey) -> Uint8Array {
    Uint8Array::from(format!("idos-enclave-key-v1|{user_id}|{public_key}").as_bytes())
}

fn gcm(iv: &[u8], aad: &Uint8Array) -> web_sys::AesGcmParams {
    let params = web_sys::AesGcmParams::new("AES-GCM", &Uint8Array::from(iv));
    params.set_additional_data(aad);
    params
}

/// Remembers `key` for `user_id` until `now_ms + duration`. `Remember::None` wipes any record.
pub async fn remember(
    user_id: &str,
    key: &EncryptionSecretKey,
    duration: Remember,
    now_ms: f64,
) -> Result<()> {
    if duration == Remember::None {
        return forget().await;
    }
    let subtle = subtle()?;
    let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
    let wrapping = JsFuture::from(
        subtle
            .generate_key_with_object(
                &web_sys::AesKeyGenParams::new("AES-GCM", 256),
                false,
                &usages,
            )
            .map_err(storage_err("creating the wrapping key"))?,
    )
    .await
    .map_err(storage_err("creating the wrapping key"))?;
    let wrapping: web_sys::CryptoKey = wrapping
        .dyn_into()
        .map_err(storage_err("creating the wrapping key"))?;
    let iv = random_bytes::<12>()?;
    let public_key = key.public_key();
    let secret = key.to_bytes();
    let wrapped = JsFuture::from(
        subtle
            .encrypt_with_object_and_u8_array(
                &gcm(&iv, &associated_data(user_id, &public_key)),
                &wrapping,
                &secret[..],
            )
            .map_err(storage_err("wrapping the key"))?,
    )
    .await
    .map_err(storage_err("wrapping the key"))?;
    let session = if duration == Remember::Session {
        let token = protocol::codec::hex_encode(random_bytes::<16>()?);
        session_storage()?
            .set_item(SESSION_ITEM, &token)
            .map_err(storage_err("writing sessionStorage"))?;
        JsValue::from_str(&token)
    } else {
        JsValue::NULL
    };
    let record = obj(&[
        ("version", JsValue::from_f64(1.0)),
        ("userId", JsValue::from_str(user_id)),
        ("publicKey", JsValue::from_str(&public_key.to_text())),
        ("wrappingKey", wrapping.into()),
        ("iv", Uint8Array::from(&iv[..]).into()),
        ("wrapped", Uint8Array::new(&wrapped).into()),
        (
            "expiresAt",
            JsValue::from_f64(now_ms + duration.lifetime_ms()),
        ),
        ("session", session),
    ]);
    await_promise(idb_put(RECORD_KEY, &record), "saving the remembered key").await?;
    Ok(())
}

/// The remembered key of `user_id`, if there is one that has not expired. An expired record,
/// a record of another user, or a session record from another tab is wiped.
pub async fn restore(user_id: &str, now_ms: f64) -> Result<Option<EncryptionSecretKey>> {
    Ok(restore_with_expiry(user_id, now_ms)
        .await?
        .map(|(key, _)| key))
}

/// [`restore`], with the record's expiry time (ms since the epoch).
pub async fn restore_with_expiry(
    user_id: &str,
    now_ms: f64,
) -> Result<Option<(EncryptionSecretKey, f64)>> {
    let record = await_promise(idb_get(RECORD_KEY), "reading the remembered key").await?;
    if record.is_null() || record.is_undefined() {
        return Ok(None);
    }
    let expires_at = get(&record, "expiresAt").as_f64().unwrap_or(0.0);
    let same_user = get_string(&record, "userId").as_deref() == Some(user_id);
    let session_ok = match get_string(&record, "session") {
        None => true,
        Some(token) => {
            session_storage()?
                .get_item(SESSION_ITEM)
                .ok()
                .flatten()
                .as_deref()
                == Some(token.as_str())
        }
    };
    let live = now_ms < expires_at; // false for NaN too
    if !same_user || !session_ok || !live {
        forget().await?;
        return Ok(None);
    }
    let public_key = get_string(&record, "publicKey")
        .and_then(|t| EncryptionPublicKey::parse(&t).ok())
        .ok_or_else(|| {
            EnclaveError::new(
                codes::STORAGE_FAILED,
                "the remembered key record is damaged",
            )
        })?;
    let wrapping: web_sys::CryptoKey = get(&record, "wrappingKey").dyn_into().map_err(|_| {
        EnclaveError::new(
            codes::STORAGE_FAILED,
            "the remembered key record is damaged",
        )
    })?;
    let iv = Uint8Array::new(&get(&record, "iv")).to_vec();
    let wrapped = Uint8Array::new(&get(&record, "wrapped")).to_vec();
    let plain = JsFuture::from(
        subtle()?
            .decrypt_with_object_and_u8_array(
                &gcm(&iv, &associated_data(user_id, &public_key)),
                &wrapping,
                &wrapped,
            )
            .map_err(storage_err("unwrapping the key"))?,
    )
    .await
    .map_err(storage_err("unwrapping the key"))?;
    let buffer = Uint8Array::new(&plain);
    let mut bytes = Zeroizing::new([0u8; 32]);
    if buffer.length() != 32 {
        return Err(EnclaveError::new(
            codes::STORAGE_FAILED,
            "the remembered key record is damaged",
        ));
    }
    buffer.copy_to(&mut bytes[..]);
    buffer.fill(0, 0, 32);
    let key = EncryptionSecretKey::from_bytes(*bytes);
    if key.public_key() != public_key {
        forget().await?;
        return Err(EnclaveError::new(
            codes::KEY_MISMATCH,
            "the remembered key does not match its record",
        ));
    }
    Ok(Some((key, expires_at)))
}

/// Wipes the remembered key (and the session token).
pub async fn forget() -> Result<()> {
    await_promise(idb_delete(RECORD_KEY), "deleting the remembered key").await?;
    if let Ok(s) = session_storage() {
        let _ = s.remove_item(SESSION_ITEM);
    }
    Ok(())
}

/// The raw stored record (for tests and diagnostics): never contains the key in clear.
pub async fn raw_record() -> Result<JsValue> {
    await_promise(idb_get(RECORD_KEY), "reading the remembered key").await
}
