//! The iframe endpoint: the host page hands it a `MessagePort`; it checks the host's origin
//! against the allow-list served with the enclave (fail closed), then answers the documented
//! methods with `{id, result}` or `{id, error: {code, message}}`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Promise, Uint8Array};
use protocol::bytes::EncryptionPublicKey;
use protocol::kdf::{KdfVersion, ScryptParams};
use protocol::nacl_box::EncryptionSecretKey;
use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use zeroize::Zeroizing;

use super::custody::{self, Remember};
use super::util::*;
use crate::error::{EnclaveError, Result, codes};
use crate::filter::Filter;
use crate::vault::{EncryptedCredential, Vault};

/// The methods a host may call. Anything else is `unknown_method`.
pub const METHODS: &[&str] = &[
    "configure",
    "ensureKey",
    "encrypt",
    "share",
    "view",
    "release",
    "filter",
    "backup",
    "changePassword",
    "forget",
];

/// Message types of the host handshake.
pub const READY: &str = "idos-enclave:ready";
pub const CONNECT: &str = "idos-enclave:connect";

struct Iframe {
    vault: Vault,
    parent_origin: Option<String>,
    port: Option<web_sys::MessagePort>,
    /// None until config.json is loaded: every connection is then refused (fail closed).
    allowed: Option<Vec<String>>,
    busy: bool,
    kdf: ScryptParams,
    /// When the remembered key expires: the in-memory key goes too (None: not remembered, it
    /// lives as long as this page).
    key_expires_at: Option<f64>,
}

thread_local! {
    static STATE: RefCell<Iframe> = RefCell::new(Iframe {
        vault: Vault::default(),
        parent_origin: None,
        port: None,
        allowed: None,
        busy: false,
        kdf: KdfVersion::default().scrypt_params(),
        key_expires_at: None,
    });
}

fn with<R>(f: impl FnOnce(&mut Iframe) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

#[derive(Deserialize)]
struct Config {
    #[serde(rename = "allowedParentOrigins")]
    allowed_parent_origins: Vec<String>,
}

async fn load_config() -> Result<Vec<String>> {
    let w = window()?;
    let init = web_sys::RequestInit::new();
    init.set_cache(web_sys::RequestCache::NoStore);
    let resp = JsFuture::from(w.fetch_with_str_and_init("config.json", &init))
        .await
        .map_err(|_| {
            EnclaveError::new(
                codes::CONFIG_UNAVAILABLE,
                "config.json could not be fetched",
            )
        })?;
    let resp: web_sys::Response = resp
        .dyn_into()
        .map_err(|_| EnclaveError::internal("fetching config.json"))?;
    if !resp.ok() {
        return Err(EnclaveError::new(
            codes::CONFIG_UNAVAILABLE,
            format!("config.json: HTTP {}", resp.status()),
        ));
    }
    let json = JsFuture::from(
        resp.json()
            .map_err(|_| EnclaveError::internal("reading config.json"))?,
    )
    .await
    .map_err(|_| EnclaveError::new(codes::CONFIG_UNAVAILABLE, "config.json is not JSON"))?;
    let config: Config = from_js(json, "config.json")?;
    Ok(config.allowed_parent_origins)
}

/// The first entry of `location.ancestorOrigins`, where the browser has it.
fn ancestor_origin() -> Option<String> {
    let location = window().ok()?.location();
    let list = js_sys::Reflect::get(&location, &"ancestorOrigins".into()).ok()?;
    let list: web_sys::DomStringList = list.dyn_into().ok()?;
    if list.length() == 0 {
        None
    } else {
        list.item(0)
    }
}

/// Decides whether a handshake from `origin` is accepted. Exact string comparison of the
/// serialized origin; `ancestorOrigins`, when present, must agree.
pub fn check_parent_origin(
    origin: &str,
    allowed: Option<&[String]>,
    ancestor: Option<&str>,
) -> Result<()> {
    let refuse = |why: &str| {
        EnclaveError::new(
            codes::ORIGIN_NOT_ALLOWED,
            format!("the enclave refuses this page: {why}"),
        )
    };
    let allowed = allowed.ok_or_else(|| {
        EnclaveError::new(
            codes::CONFIG_UNAVAILABLE,
            "the enclave's allow-list is not loaded; refusing every page",
        )
    })?;
    if origin.is_empty() || origin == "null" {
        return Err(refuse("its origin cannot be determined"));
    }
    if let Some(a) = ancestor
        && a != origin
    {
        return Err(refuse(
            "the message origin and the frame's ancestor origin disagree",
        ));
    }
    if !allowed.iter().any(|a| a == origin) {
        return Err(refuse(&format!("{origin} is not on the allow-list")));
    }
    Ok(())
}

/// Entry point of the iframe page (`index.html`).
pub async fn start_enclave() -> std::result::Result<(), JsValue> {
    let w = window()?;
    let top_level = match w.parent() {
        Ok(Some(p)) => Object::is(&p, &w),
        _ => true,
    };
    if top_level {
        set_text(
            "status",
            "This page only works inside a site that uses idOS.",
        )?;
        return Ok(());
    }
    match load_config().await {
        Ok(list) => with(|s| s.allowed = Some(list)),
        Err(e) => web_sys::console::error_1(&JsValue::from_str(&e.to_string())),
    }
    let listener = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(on_window_message);
    w.add_event_listener_with_callback("message", listener.as_ref().unchecked_ref())?;
    listener.forget();
    if let Ok(Some(parent)) = w.parent() {
        // Carries nothing: the host only learns that the enclave is listening.
        parent.post_message(&obj(&[("type", READY.into())]), "*")?;
    }
    Ok(())
}

fn on_window_message(ev: web_sys::MessageEvent) {
    let data = ev.data();
    if get_string(&data, "type").as_deref() != Some(CONNECT) {
        return;
    }
    let Ok(w) = window() else { return };
    let from_parent = match (ev.source(), w.parent()) {
        (Some(src), Ok(Some(parent))) => Object::is(&src, &parent),
        _ => false,
    };
    let ports = ev.ports();
    if !from_parent || ports.length() != 1 {
        return;
    }
    let Ok(port) = ports.get(0).dyn_into::<web_sys::MessagePort>() else {
        return;
    };
    let origin = ev.origin();
    let verdict = with(|s| {
        if s.port.is_some() {
            return Err(EnclaveError::new(
                codes::ORIGIN_NOT_ALLOWED,
                "the enclave is already connected to its host",
            ));
        }
        check_parent_origin(&origin, s.allowed.as_deref(), ancestor_origin().as_deref())
    });
    match verdict {
        Err(e) => {
            let _ = port.post_message(&obj(&[
                ("type", "rejected".into()),
                ("error", error_js(&e)),
            ]));
            port.close();
        }
        Ok(()) => {
            let handler = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(on_request);
            port.set_onmessage(Some(handler.as_ref().unchecked_ref()));
            handler.forget();
            let _ = port.post_message(&obj(&[("type", "connected".into())]));
            with(|s| {
                s.parent_origin = Some(origin);
                s.port = Some(port);
            });
        }
    }
}

fn post(message: &JsValue) {
    if let Some(port) = with(|s| s.port.clone()) {
        let _ = port.post_message(message);
    }
}

fn on_request(ev: web_sys::MessageEvent) {
    let data = ev.data();
    let id = get(&data, "id");
    let method = get_string(&data, "method").unwrap_or_default();
    let params = get(&data, "params");
    spawn_local(async move {
        let reply = match dispatch(&method, params).await {
            Ok(result) => obj(&[("id", id), ("result", result)]),
            Err(e) => obj(&[("id", id), ("error", error_js(&e))]),
        };
        post(&reply);
    });
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigureParams {
    user_id: String,
    #[serde(default)]
    expected_public_key: Option<EncryptionPublicKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EncryptParams {
    plaintext: String,
    #[serde(default)]
    recipient_public_key: Option<EncryptionPublicKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShareParams {
    credential: EncryptedCredential,
    grantee_public_key: EncryptionPublicKey,
    /// How the host names the grantee (shown to the user as the site's claim).
    #[serde(default)]
    grantee_label: String,
}

#[derive(Deserialize)]
struct CredentialParams {
    credential: EncryptedCredential,
}

#[derive(Deserialize)]
struct FilterParams {
    credentials: Vec<EncryptedCredential>,
    #[serde(flatten)]
    filter: Filter,
}

#[derive(Deserialize)]
struct ChangePasswordParams {
    originals: Vec<EncryptedCredential>,
}

fn params_or_empty(params: JsValue) -> JsValue {
    if params.is_undefined() || params.is_null() {
        Object::new().into()
    } else {
        params
    }
}

/// Drops the key from memory and storage once the period the user chose has passed.
async fn expire_if_due() -> Result<()> {
    let due = with(|s| s.key_expires_at.is_some_and(|t| now_ms() >= t));
    if due {
        with(|s| {
            s.vault.forget();
            s.key_expires_at = None;
        });
        custody::forget().await?;
    }
    Ok(())
}

/// Installs an unlocked key and remembers it as the user chose.
async fn install_key(
    user_id: &str,
    key: EncryptionSecretKey,
    remember: Remember,
    replace: bool,
) -> Result<()> {
    let now = now_ms();
    custody::remember(user_id, &key, remember, now).await?;
    with(|s| {
        s.key_expires_at = remember.expires_at(now);
        if replace {
            s.vault.replace_key(key);
            Ok(())
        } else {
            s.vault.set_key(key)
        }
    })
}

async fn dispatch(method: &str, params: JsValue) -> Result<JsValue> {
    let params = params_or_empty(params);
    expire_if_due().await?;
    match method {
        "configure" => {
            let p: ConfigureParams = from_js(params, "configure")?;
            with(|s| s.vault.configure(&p.user_id, p.expected_public_key))?;
            if !with(|s| s.vault.is_unlocked()) {
                with(|s| s.key_expires_at = None);
                restore_remembered(&p.user_id).await?;
            }
            status()
        }
        "ensureKey" => {
            ensure_key().await?;
            status()
        }
        "encrypt" => {
            let p: EncryptParams = from_js(params, "encrypt")?;
            with(|s| {
                to_js(
                    &s.vault
                        .encrypt(p.plaintext.as_bytes(), p.recipient_public_key.as_ref())?,
                )
            })
        }
        "share" => {
            let p: ShareParams = from_js(params, "share")?;
            ensure_key().await?;
            // The user chooses the grantee: a copy is made only after they approve.
            let plaintext = decrypt_text(&p.credential)?;
            let payload = credential_payload(&p.credential, &plaintext)?;
            let _ = js_sys::Reflect::set(
                &payload,
                &"granteePublicKey".into(),
                &p.grantee_public_key.to_text().into(),
            );
            let label: String = p.grantee_label.chars().take(200).collect();
            let _ = js_sys::Reflect::set(&payload, &"granteeLabel".into(), &label.into());
            let answer = user_dialog("Review sharing request", "share", payload).await?;
            if get(&answer, "approved").as_bool() != Some(true) {
                return Err(EnclaveError::new(
                    codes::USER_DENIED,
                    "the user declined to share this credential",
                ));
            }
            with(|s| to_js(&s.vault.share(&p.credential, &p.grantee_public_key)?))
        }
        "view" => {
            let p: CredentialParams = from_js(params, "view")?;
            ensure_key().await?;
            let plaintext = decrypt_text(&p.credential)?;
            let payload = credential_payload(&p.credential, &plaintext)?;
            user_dialog("View credential", "view", payload).await?;
            Ok(Object::new().into())
        }
        "release" => {
            let p: CredentialParams = from_js(params, "release")?;
            ensure_key().await?;
            let plaintext = decrypt_text(&p.credential)?;
            let payload = credential_payload(&p.credential, &plaintext)?;
            let answer = user_dialog("Review request", "release", payload).await?;
            if get(&answer, "approved").as_bool() != Some(true) {
                return Err(EnclaveError::new(
                    codes::USER_DENIED,
                    "the user declined to release this credential",
                ));
            }
            Ok(obj(&[("plaintext", JsValue::from_str(&plaintext))]))
        }
        "filter" => {
            let p: FilterParams = from_js(params, "filter")?;
            ensure_key().await?;
            let ids = with(|s| s.vault.filter(&p.credentials, &p.filter))?;
            to_js(&serde_json::json!({ "ids": ids }))
        }
        "backup" => {
            ensure_key().await?;
            let (user_id, secret) = with(|s| -> Result<_> {
                Ok((s.vault.user_id()?.to_owned(), s.vault.key()?.to_base64()))
            })?;
            let payload = obj(&[
                ("userId", JsValue::from_str(&user_id)),
                ("secretKey", JsValue::from_str(&secret)),
            ]);
            user_dialog("Back up your idOS key", "backup", payload).await?;
            Ok(Object::new().into())
        }
        "changePassword" => {
            let p: ChangePasswordParams = from_js(params, "changePassword")?;
            ensure_key().await?;
            let (user_id, current) = with(|s| -> Result<_> {
                Ok((
                    s.vault.user_id()?.to_owned(),
                    s.vault.public_key().map(|k| k.to_text()),
                ))
            })?;
            let payload = dialog_context(&user_id, current.as_deref(), "change");
            let answer = user_dialog("Change password", "changePassword", payload).await?;
            let (new_key, remember) = key_from_dialog(&answer)?;
            let rotation = with(|s| s.vault.rotate(&new_key, &p.originals))?;
            install_key(&user_id, new_key, remember, true).await?;
            to_js(&rotation)
        }
        "forget" => {
            with(|s| {
                s.vault.forget();
                s.key_expires_at = None;
            });
            custody::forget().await?;
            status()
        }
        other => Err(EnclaveError::new(
            codes::UNKNOWN_METHOD,
            format!(
                "{:?} is not an enclave method; methods: {}",
                truncate(other),
                METHODS.join(", ")
            ),
        )),
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

fn status() -> Result<JsValue> {
    with(|s| {
        let user_id = s.vault.user_id()?.to_owned();
        Ok(obj(&[
            ("userId", JsValue::from_str(&user_id)),
            ("unlocked", JsValue::from_bool(s.vault.is_unlocked())),
            (
                "publicKey",
                s.vault
                    .public_key()
                    .or(s.vault.expected().copied())
                    .map(|k| JsValue::from_str(&k.to_text()))
                    .unwrap_or(JsValue::NULL),
            ),
        ]))
    })
}

async fn restore_remembered(user_id: &str) -> Result<()> {
    match custody::restore_with_expiry(user_id, now_ms()).await {
        Ok(Some((key, expires_at))) => {
            with(|s| s.key_expires_at = Some(expires_at));
            if with(|s| s.vault.set_key(key)).is_err() {
                // Remembered for an older key (e.g. before a password change elsewhere).
                custody::forget().await?;
            }
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) if e.code == codes::KEY_MISMATCH => Ok(()),
        Err(e) => Err(e),
    }
}

fn decrypt_text(credential: &EncryptedCredential) -> Result<Zeroizing<String>> {
    let bytes = with(|s| s.vault.decrypt(credential))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        EnclaveError::new(
            codes::NOT_JSON,
            "the decrypted credential is not UTF-8 text",
        )
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

fn credential_payload(credential: &EncryptedCredential, plaintext: &str) -> Result<JsValue> {
    let origin = with(|s| s.parent_origin.clone()).unwrap_or_default();
    Ok(obj(&[
        ("origin", JsValue::from_str(&origin)),
        (
            "credentialId",
            JsValue::from_str(&credential.id.to_string()),
        ),
        ("publicNotes", JsValue::from_str(&credential.public_notes)),
        ("plaintext", JsValue::from_str(plaintext)),
    ]))
}

fn dialog_context(user_id: &str, expected: Option<&str>, mode: &str) -> JsValue {
    let origin = with(|s| s.parent_origin.clone()).unwrap_or_default();
    let kdf = with(|s| s.kdf);
    obj(&[
        ("origin", JsValue::from_str(&origin)),
        ("userId", JsValue::from_str(user_id)),
        (
            "expectedPublicKey",
            expected.map(JsValue::from_str).unwrap_or(JsValue::NULL),
        ),
        ("mode", JsValue::from_str(mode)),
        ("kdfLogN", JsValue::from_f64(f64::from(kdf.log_n))),
    ])
}

/// Reads `{secretKey: Uint8Array(32), remember}` from the dialog and wipes the transfer buffer.
fn key_from_dialog(answer: &JsValue) -> Result<(EncryptionSecretKey, Remember)> {
    let remember = Remember::parse(&get_string(answer, "remember").unwrap_or_default())?;
    let buffer: Uint8Array = get(answer, "secretKey")
        .dyn_into()
        .map_err(|_| EnclaveError::internal("receiving the key from the dialog"))?;
    if buffer.length() != 32 {
        return Err(EnclaveError::internal("receiving the key from the dialog"));
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    buffer.copy_to(&mut bytes[..]);
    buffer.fill(0, 0, 32);
    Ok((EncryptionSecretKey::from_bytes(*bytes), remember))
}

async fn ensure_key() -> Result<()> {
    let (user_id, expected) = with(|s| -> Result<_> {
        Ok((
            s.vault.user_id()?.to_owned(),
            s.vault.expected().map(|k| k.to_text()),
        ))
    })?;
    if with(|s| s.vault.is_unlocked()) {
        return Ok(());
    }
    restore_remembered(&user_id).await?;
    if with(|s| s.vault.is_unlocked()) {
        return Ok(());
    }
    let (label, mode) = if expected.is_some() {
        ("Unlock idOS", "unlock")
    } else {
        ("Create your idOS key", "create")
    };
    let answer = user_dialog(
        label,
        "unlock",
        dialog_context(&user_id, expected.as_deref(), mode),
    )
    .await?;
    let (key, remember) = key_from_dialog(&answer)?;
    // Checked against the profile's key before anything is stored.
    with(|s| s.vault.set_key(key.clone()))?;
    install_key(&user_id, key, remember, false).await
}

/// Clears `busy` however the dialog flow ends.
struct BusyGuard;
impl Drop for BusyGuard {
    fn drop(&mut self) {
        with(|s| s.busy = false);
        let _ = set_hidden("attention", true);
        post(&obj(&[
            ("event", "attention".into()),
            ("visible", false.into()),
        ]));
    }
}

/// Shows a button in the iframe (the host shows the iframe), opens the dialog on the user's
/// click, sends it `intent` and `payload`, and returns its answer.
async fn user_dialog(label: &str, intent: &str, payload: JsValue) -> Result<JsValue> {
    if with(|s| std::mem::replace(&mut s.busy, true)) {
        return Err(EnclaveError::new(
            codes::BUSY,
            "another request is waiting for the user",
        ));
    }
    let _guard = BusyGuard;
    let popup = wait_for_click(label).await?;
    run_dialog(&popup, intent, payload).await
}

/// How long a request waits for the user's click on the enclave's button.
const CLICK_TIMEOUT_MS: i32 = 5 * 60_000;

async fn wait_for_click(label: &str) -> Result<web_sys::Window> {
    let button: web_sys::HtmlButtonElement = by_id("attention")?;
    button.set_text_content(Some(label));
    button.set_hidden(false);
    post(&obj(&[
        ("event", "attention".into()),
        ("visible", true.into()),
        ("label", label.into()),
    ]));
    let d = deferred();
    let resolve = d.resolve.clone();
    let onclick = Closure::<dyn FnMut()>::new(move || {
        // Runs inside the click: the browser lets a user gesture open a window.
        let popup = window().ok().and_then(|w| {
            w.open_with_url_and_target_and_features(
                "dialog.html",
                "idos-dialog",
                "popup=1,width=420,height=640",
            )
            .ok()
            .flatten()
        });
        let _ = resolve.call1(
            &JsValue::UNDEFINED,
            &popup.map(JsValue::from).unwrap_or(JsValue::NULL),
        );
    });
    button.set_onclick(Some(onclick.as_ref().unchecked_ref()));
    // Nobody clicks for CLICK_TIMEOUT_MS: give up, so later requests are not `busy` forever.
    let timer = window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(&d.reject, CLICK_TIMEOUT_MS)
        .map_err(|_| EnclaveError::internal("starting a timer"))?;
    let result = JsFuture::from(d.promise).await;
    if let Ok(w) = window() {
        w.clear_timeout_with_handle(timer);
    }
    button.set_onclick(None);
    drop(onclick);
    button.set_hidden(true);
    post(&obj(&[
        ("event", "attention".into()),
        ("visible", false.into()),
    ]));
    if result.is_err() {
        return Err(EnclaveError::new(
            codes::TIMED_OUT,
            format!(
                "the user did not click the idOS button within {} minutes",
                CLICK_TIMEOUT_MS / 60_000
            ),
        ));
    }
    let popup = result.map_err(|_| EnclaveError::internal("waiting for the click"))?;
    if popup.is_null() || popup.is_undefined() {
        return Err(EnclaveError::new(
            codes::POPUP_BLOCKED,
            "the browser blocked the idOS dialog window; allow pop-ups for this site",
        ));
    }
    // A window of another realm is not `instanceof Window` here, so no checked cast.
    Ok(popup.unchecked_into::<web_sys::Window>())
}

/// A promise that rejects with `dialog_closed` once `popup` is closed.
fn closed_watch(popup: &web_sys::Window) -> Result<(Promise, i32)> {
    let d = deferred();
    let popup = popup.clone();
    let reject = d.reject.clone();
    // An answer posted just before the dialog closed may still be queued: reject only on the
    // second tick that sees the window closed.
    let mut closed_ticks = 0u8;
    let tick = Closure::<dyn FnMut()>::new(move || {
        if popup.closed().unwrap_or(true) {
            closed_ticks = closed_ticks.saturating_add(1);
        }
        if closed_ticks >= 2 {
            let _ = reject.call1(
                &JsValue::UNDEFINED,
                &error_js(&EnclaveError::new(
                    codes::DIALOG_CLOSED,
                    "the idOS dialog was closed before the request was answered",
                )),
            );
        }
    });
    let handle = window()?
        .set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), 250)
        .map_err(|_| EnclaveError::internal("watching the dialog"))?;
    tick.forget();
    Ok((d.promise, handle))
}

fn js_error(value: JsValue) -> EnclaveError {
    match (get_string(&value, "code"), get_string(&value, "message")) {
        (Some(code), Some(message)) => EnclaveError { code, message },
        _ => EnclaveError::internal("talking to the dialog"),
    }
}

async fn race(p: Promise, closed: &Promise) -> Result<JsValue> {
    JsFuture::from(Promise::race(&Array::of2(&p, closed)))
        .await
        .map_err(js_error)
}

async fn run_dialog(popup: &web_sys::Window, intent: &str, payload: JsValue) -> Result<JsValue> {
    let w = window()?;
    let own_origin = w
        .location()
        .origin()
        .map_err(|_| EnclaveError::internal("reading the origin"))?;
    let (closed, interval) = closed_watch(popup)?;
    let clear = Rc::new(move || {
        if let Ok(w) = window() {
            w.clear_interval_with_handle(interval);
        }
    });
    // 1. The dialog says it is ready (only that window, only our origin).
    let ready = deferred();
    let resolve_ready = ready.resolve.clone();
    let (expected_source, expected_origin) = (popup.clone(), own_origin.clone());
    let on_ready =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let from_popup = ev
                .source()
                .is_some_and(|s| Object::is(&s, &expected_source));
            if from_popup
                && ev.origin() == expected_origin
                && get_string(&ev.data(), "type").as_deref() == Some("idos-dialog:ready")
            {
                let _ = resolve_ready.call0(&JsValue::UNDEFINED);
            }
        });
    w.add_event_listener_with_callback("message", on_ready.as_ref().unchecked_ref())
        .map_err(|_| EnclaveError::internal("listening to the dialog"))?;
    let ready_result = race(ready.promise, &closed).await;
    let _ = w.remove_event_listener_with_callback("message", on_ready.as_ref().unchecked_ref());
    drop(on_ready);
    if let Err(e) = ready_result {
        clear();
        return Err(e);
    }
    // 2. The request goes with a private port; the answer comes back on it.
    let channel =
        web_sys::MessageChannel::new().map_err(|_| EnclaveError::internal("opening a channel"))?;
    let answer = deferred();
    let resolve_answer = answer.resolve.clone();
    let on_answer =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let _ = resolve_answer.call1(&JsValue::UNDEFINED, &ev.data());
        });
    channel
        .port1()
        .set_onmessage(Some(on_answer.as_ref().unchecked_ref()));
    let message = obj(&[("intent", JsValue::from_str(intent)), ("payload", payload)]);
    popup
        .post_message_with_transfer(&message, &own_origin, &Array::of1(&channel.port2()))
        .map_err(|_| EnclaveError::internal("sending the request to the dialog"))?;
    let reply = race(answer.promise, &closed).await;
    // The opener closes the dialog once it has the answer (no race with the closed watch).
    let _ = popup.close();
    channel.port1().set_onmessage(None);
    channel.port1().close();
    drop(on_answer);
    clear();
    let reply = reply?;
    let error = get(&reply, "error");
    if !error.is_undefined() && !error.is_null() {
        return Err(js_error(error));
    }
    Ok(get(&reply, "result"))
}
