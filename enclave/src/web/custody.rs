//! Key custody at rest: a remembered key is wrapped (AES-256-GCM) and kept in the enclave
//! origin's IndexedDB with the expiry the user chose and the host origins the user approved.
//!
//! - "7 days" / "30 days": the wrapping key is a non-extractable WebCrypto key stored next to
//!   the wrapped key in IndexedDB (script cannot read it out, but it is on disk in the browser
//!   profile: see ARCHITECTURE.md, "Key custody").
//! - "until I close this tab" (session): the wrapping key's bytes live in this tab's
//!   sessionStorage only; IndexedDB holds the wrapped key and no key that opens it, so once the
//!   browser drops the tab's session storage nothing left in IndexedDB recovers the key.
//!
//! A record serves only the host origins listed in it; another origin learns that a key is
//! remembered for others and must ask the user (the dialog's "allow this site").
//! The raw key is never written anywhere.

use js_sys::{Array, Uint8Array};
use protocol::bytes::EncryptionPublicKey;
use protocol::nacl_box::EncryptionSecretKey;
use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

use super::util::{get, get_string, obj, window};
use crate::error::{EnclaveError, ErrorCode, Result};

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
/// The sessionStorage item holding a session record's wrapping key (base64).
pub const SESSION_ITEM: &str = "idos-enclave-session-key";
const RECORD_VERSION: f64 = 2.0;
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
                "remember must be none, session, 7d or 30d, got {:?}",
                other.chars().take(20).collect::<String>()
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

/// What `restore` found for a user and a host origin.
pub enum Restored {
    /// A live key remembered for this origin, and when it expires (ms since the epoch).
    Key {
        key: EncryptionSecretKey,
        expires_at: f64,
    },
    /// A live key is remembered for this user, but only for other origins.
    OtherOrigins {
        origins: Vec<String>,
        /// The remembered key's public half (text).
        public_key: String,
    },
    /// Nothing usable (an expired, damaged, other user's or orphaned session record is wiped).
    Nothing,
}

impl Restored {
    /// The key, if one was restored.
    pub fn key(self) -> Option<EncryptionSecretKey> {
        match self {
            Restored::Key { key, .. } => Some(key),
            _ => None,
        }
    }
}

fn storage_err(doing: &str) -> impl Fn(JsValue) -> EnclaveError + '_ {
    move |_| {
        EnclaveError::new(
            ErrorCode::StorageFailed,
            format!("the enclave's browser storage failed while {doing}"),
        )
    }
}

fn damaged() -> EnclaveError {
    EnclaveError::new(
        ErrorCode::StorageFailed,
        "the remembered key record is damaged",
    )
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

fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>> {
    let mut bytes = Zeroizing::new([0u8; N]);
    window()?
        .crypto()
        .map_err(storage_err("opening WebCrypto"))?
        .get_random_values_with_u8_array(&mut bytes[..])
        .map_err(storage_err("drawing random bytes"))?;
    Ok(bytes)
}

fn session_storage() -> Result<web_sys::Storage> {
    window()?
        .session_storage()
        .map_err(storage_err("opening sessionStorage"))?
        .ok_or_else(|| {
            EnclaveError::new(ErrorCode::StorageFailed, "sessionStorage is not available")
        })
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

fn usages() -> Array {
    Array::of2(&"encrypt".into(), &"decrypt".into())
}

async fn crypto_key(value: JsValue, doing: &str) -> Result<web_sys::CryptoKey> {
    let key = JsFuture::from(js_sys::Promise::from(value))
        .await
        .map_err(storage_err(doing))?;
    key.dyn_into().map_err(storage_err(doing))
}

/// A fresh non-extractable AES-256-GCM key.
async fn generate_wrapping_key() -> Result<web_sys::CryptoKey> {
    let p = subtle()?
        .generate_key_with_object(
            &web_sys::AesKeyGenParams::new("AES-GCM", 256),
            false,
            &usages(),
        )
        .map_err(storage_err("creating the wrapping key"))?;
    crypto_key(p.into(), "creating the wrapping key").await
}

/// A non-extractable AES-256-GCM key from raw bytes (a session record's wrapping key).
async fn import_wrapping_key(raw: &[u8]) -> Result<web_sys::CryptoKey> {
    let p = subtle()?
        .import_key_with_str("raw", &Uint8Array::from(raw), "AES-GCM", false, &usages())
        .map_err(storage_err("importing the session wrapping key"))?;
    crypto_key(p.into(), "importing the session wrapping key").await
}

/// The session record's wrapping key from this tab's sessionStorage, if any.
fn session_wrapping_bytes() -> Result<Option<Zeroizing<Vec<u8>>>> {
    let item = session_storage()?
        .get_item(SESSION_ITEM)
        .map_err(storage_err("reading sessionStorage"))?;
    Ok(item
        .and_then(|text| protocol::codec::base64_decode("session key", &text).ok())
        .filter(|b| b.len() == 32)
        .map(Zeroizing::new))
}

/// The stored record, if any.
pub async fn raw_record() -> Result<JsValue> {
    await_promise(idb_get(RECORD_KEY), "reading the remembered key").await
}

fn present(record: &JsValue) -> bool {
    !(record.is_null() || record.is_undefined())
}

fn record_origins(record: &JsValue) -> Vec<String> {
    let list = get(record, "origins");
    if !Array::is_array(&list) {
        return Vec::new();
    }
    Array::from(&list)
        .iter()
        .filter_map(|v| v.as_string())
        .collect()
}

fn origins_js(origins: &[String]) -> JsValue {
    origins
        .iter()
        .map(|o| JsValue::from_str(o))
        .collect::<Array>()
        .into()
}

/// Remembers `key` for `user_id` and host `origin` until `now_ms` plus the chosen duration.
/// The origins of a live record of the same key are kept. `Remember::None` removes `origin`
/// from the record (and the record, once no origin is left).
pub async fn remember(
    user_id: &str,
    key: &EncryptionSecretKey,
    duration: Remember,
    now_ms: f64,
    origin: &str,
) -> Result<()> {
    let public_key = key.public_key();
    let existing = raw_record().await?;
    let same_key = present(&existing)
        && get_string(&existing, "userId").as_deref() == Some(user_id)
        && get_string(&existing, "publicKey").as_deref() == Some(public_key.to_text().as_str())
        && get(&existing, "expiresAt")
            .as_f64()
            .is_some_and(|t| now_ms < t);
    let mut origins: Vec<String> = if same_key {
        record_origins(&existing)
    } else {
        Vec::new()
    };
    origins.retain(|o| o != origin);
    if duration == Remember::None {
        if same_key && !origins.is_empty() {
            let _ = js_sys::Reflect::set(&existing, &"origins".into(), &origins_js(&origins));
            await_promise(idb_put(RECORD_KEY, &existing), "saving the remembered key").await?;
            return Ok(());
        }
        return forget().await;
    }
    origins.push(origin.to_owned());

    let iv = random_bytes::<12>()?;
    let (wrapping, stored_wrapping_key) = if duration == Remember::Session {
        let raw = random_bytes::<32>()?;
        session_storage()?
            .set_item(SESSION_ITEM, &protocol::codec::base64_encode(&raw[..]))
            .map_err(storage_err("writing sessionStorage"))?;
        (import_wrapping_key(&raw[..]).await?, JsValue::NULL)
    } else {
        let k = generate_wrapping_key().await?;
        (k.clone(), k.into())
    };
    let secret = key.to_bytes();
    let wrapped = JsFuture::from(
        subtle()?
            .encrypt_with_object_and_u8_array(
                &gcm(&iv[..], &associated_data(user_id, &public_key)),
                &wrapping,
                &secret[..],
            )
            .map_err(storage_err("wrapping the key"))?,
    )
    .await
    .map_err(storage_err("wrapping the key"))?;
    let record = obj(&[
        ("version", JsValue::from_f64(RECORD_VERSION)),
        ("userId", JsValue::from_str(user_id)),
        ("publicKey", JsValue::from_str(&public_key.to_text())),
        ("origins", origins_js(&origins)),
        ("wrappingKey", stored_wrapping_key),
        ("iv", Uint8Array::from(&iv[..]).into()),
        ("wrapped", Uint8Array::new(&wrapped).into()),
        (
            "expiresAt",
            JsValue::from_f64(now_ms + duration.lifetime_ms()),
        ),
        ("session", JsValue::from_bool(duration == Remember::Session)),
    ]);
    await_promise(idb_put(RECORD_KEY, &record), "saving the remembered key").await?;
    if duration != Remember::Session {
        // A record of another duration replaces the session one: drop its key too.
        if let Ok(s) = session_storage() {
            let _ = s.remove_item(SESSION_ITEM);
        }
    }
    Ok(())
}

/// The remembered key of `user_id` for host `origin`. An expired record, a record of another
/// user, a damaged record or a session record whose wrapping key this tab does not hold is
/// wiped; a live record for other origins is reported, not unwrapped.
pub async fn restore(user_id: &str, now_ms: f64, origin: &str) -> Result<Restored> {
    let record = raw_record().await?;
    if !present(&record) {
        return Ok(Restored::Nothing);
    }
    let expires_at = get(&record, "expiresAt").as_f64().unwrap_or(0.0);
    let same_user = get_string(&record, "userId").as_deref() == Some(user_id);
    let live = now_ms < expires_at; // false for NaN too
    let version_ok = get(&record, "version").as_f64() == Some(RECORD_VERSION);
    let session = get(&record, "session").as_bool() == Some(true);
    let session_key = if session {
        session_wrapping_bytes()?
    } else {
        None
    };
    if !same_user || !live || !version_ok || (session && session_key.is_none()) {
        forget().await?;
        return Ok(Restored::Nothing);
    }
    let origins = record_origins(&record);
    if !origins.iter().any(|o| o == origin) {
        return Ok(Restored::OtherOrigins {
            origins,
            public_key: get_string(&record, "publicKey").unwrap_or_default(),
        });
    }
    match unwrap(&record, user_id, session_key).await {
        Ok(key) => Ok(Restored::Key { key, expires_at }),
        Err(e) => {
            forget().await?;
            Err(e)
        }
    }
}

async fn unwrap(
    record: &JsValue,
    user_id: &str,
    session_key: Option<Zeroizing<Vec<u8>>>,
) -> Result<EncryptionSecretKey> {
    let public_key = get_string(record, "publicKey")
        .and_then(|t| EncryptionPublicKey::parse(&t).ok())
        .ok_or_else(damaged)?;
    let wrapping: web_sys::CryptoKey = match session_key {
        Some(raw) => import_wrapping_key(&raw).await?,
        None => get(record, "wrappingKey")
            .dyn_into()
            .map_err(|_| damaged())?,
    };
    let iv = Uint8Array::new(&get(record, "iv")).to_vec();
    let wrapped = Uint8Array::new(&get(record, "wrapped")).to_vec();
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
    if buffer.length() != 32 {
        return Err(damaged());
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    buffer.copy_to(&mut bytes[..]);
    buffer.fill(0, 0, 32);
    let key = EncryptionSecretKey::from_bytes(*bytes);
    if key.public_key() != public_key {
        return Err(EnclaveError::new(
            ErrorCode::KeyMismatch,
            "the remembered key does not match its record",
        ));
    }
    Ok(key)
}

/// Adds `origin` to the live record of `user_id` (the user allowed it in the dialog) and
/// returns its key. `Restored::Nothing` if the record is gone or expired meanwhile.
pub async fn allow_origin(user_id: &str, now_ms: f64, origin: &str) -> Result<Restored> {
    match restore(user_id, now_ms, origin).await? {
        Restored::OtherOrigins { mut origins, .. } => {
            let record = raw_record().await?;
            origins.push(origin.to_owned());
            let _ = js_sys::Reflect::set(&record, &"origins".into(), &origins_js(&origins));
            await_promise(idb_put(RECORD_KEY, &record), "saving the remembered key").await?;
            restore(user_id, now_ms, origin).await
        }
        other => Ok(other),
    }
}

/// Wipes the remembered key record and this tab's session wrapping key: everything of the
/// enclave this browser's storage partition holds.
pub async fn forget() -> Result<()> {
    await_promise(idb_delete(RECORD_KEY), "deleting the remembered key").await?;
    if let Ok(s) = session_storage() {
        let _ = s.remove_item(SESSION_ITEM);
    }
    Ok(())
}
