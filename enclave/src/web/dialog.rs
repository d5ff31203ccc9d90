//! The dialog page (`dialog.html`): a same-origin popup opened by the iframe from a user click.
//! It accepts one request, only from the window that opened it and only from the enclave's own
//! origin; every other message is ignored (and counted in `data-ignored` for tests). It answers
//! on the private port that came with the request. All text is set with `textContent`.

use std::cell::RefCell;

use js_sys::{Object, Uint8Array};
use protocol::bytes::EncryptionPublicKey;
use protocol::kdf::{KdfVersion, ScryptParams};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;

use super::util::*;
use crate::error::{EnclaveError, Result, codes};
use crate::vault::unlock;

const INTENTS: &[&str] = &[
    "unlock",
    "changePassword",
    "release",
    "share",
    "view",
    "backup",
];

#[derive(Default)]
struct Dialog {
    accepted: bool,
    ignored: u32,
    port: Option<web_sys::MessagePort>,
    payload: JsValue,
    intent: String,
    working: bool,
}

thread_local! {
    static STATE: RefCell<Dialog> = RefCell::new(Dialog::default());
}

fn with<R>(f: impl FnOnce(&mut Dialog) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

fn set_state(state: &str) {
    if let Ok(body) = document().and_then(|d| {
        d.body()
            .ok_or_else(|| EnclaveError::internal("finding the body"))
    }) {
        let _ = body.set_attribute("data-state", state);
    }
}

fn ignore() {
    let n = with(|s| {
        s.ignored += 1;
        s.ignored
    });
    if let Ok(Some(body)) = document().map(|d| d.body()) {
        let _ = body.set_attribute("data-ignored", &n.to_string());
    }
}

/// Whether `opener` is a window of our own origin (reading `origin` of a cross-origin window throws).
fn opener_origin(opener: &JsValue) -> Option<String> {
    js_sys::Reflect::get(opener, &"origin".into())
        .ok()?
        .as_string()
}

/// Entry point of `dialog.html`.
pub fn start_dialog() -> std::result::Result<(), JsValue> {
    let w = window()?;
    let own = w.location().origin()?;
    let opener = w.opener().unwrap_or(JsValue::NULL);
    if opener.is_null()
        || opener.is_undefined()
        || opener_origin(&opener).as_deref() != Some(own.as_str())
    {
        set_hidden("refused", false)?;
        set_state("refused");
        return Ok(());
    }
    let expected_opener = opener.clone();
    let own_origin = own.clone();
    let listener =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let from_opener = ev
                .source()
                .is_some_and(|s| Object::is(&s, &expected_opener));
            let data = ev.data();
            let intent = get_string(&data, "intent").unwrap_or_default();
            let ports = ev.ports();
            let acceptable = from_opener
                && ev.origin() == own_origin
                && INTENTS.contains(&intent.as_str())
                && ports.length() == 1
                && !with(|s| s.accepted);
            if !acceptable {
                ignore();
                return;
            }
            let Ok(port) = ports.get(0).dyn_into::<web_sys::MessagePort>() else {
                return ignore();
            };
            with(|s| {
                s.accepted = true;
                s.port = Some(port);
                s.payload = get(&data, "payload");
                s.intent = intent.clone();
            });
            if let Err(e) = render(&intent) {
                reply_error(&e);
            }
        });
    w.add_event_listener_with_callback("message", listener.as_ref().unchecked_ref())?;
    listener.forget();
    wire_buttons()?;
    set_state("waiting");
    let opener: web_sys::Window = opener.unchecked_into();
    opener.post_message(&obj(&[("type", "idos-dialog:ready".into())]), &own)?;
    Ok(())
}

fn payload_str(key: &str) -> String {
    with(|s| get_string(&s.payload, key)).unwrap_or_default()
}

fn render(intent: &str) -> Result<()> {
    let origin = payload_str("origin");
    set_text(
        "origin",
        if origin.is_empty() {
            "(unknown site)"
        } else {
            &origin
        },
    )?;
    set_hidden("origin-line", false)?;
    match intent {
        "unlock" | "changePassword" => {
            let mode = payload_str("mode");
            let (title, intro, submit) = match mode.as_str() {
                "create" => (
                    "Create your idOS key",
                    "Choose a password. It protects your idOS data; losing it means losing access to your data.",
                    "Create key",
                ),
                "change" => (
                    "Change your idOS password",
                    "Enter your current password and a new one. Your credentials will be re-encrypted to the new key.",
                    "Change password",
                ),
                _ => (
                    "Unlock idOS",
                    "Enter your idOS password to unlock your data on this device.",
                    "Unlock",
                ),
            };
            set_text("title", title)?;
            set_text("unlock-intro", intro)?;
            set_text("unlock-submit", submit)?;
            set_hidden("current-row", mode != "change")?;
            set_hidden("confirm-row", mode == "unlock")?;
            set_text(
                "password-label",
                if mode == "change" {
                    "New password"
                } else {
                    "Password"
                },
            )?;
            set_hidden("unlock", false)?;
            let first = if mode == "change" {
                "current-password"
            } else {
                "password"
            };
            let _ = by_id::<web_sys::HtmlElement>(first)?.focus();
        }
        "release" | "share" => {
            let share = intent == "share";
            set_text(
                "title",
                if share {
                    "Share a credential?"
                } else {
                    "Give this site a credential?"
                },
            )?;
            set_text("consent-origin", &origin)?;
            set_text(
                "consent-question",
                if share {
                    "asks to share this credential with the recipient below: it is encrypted for them only. Approve only if you want them to read it."
                } else {
                    "asks to read the content of this credential. Approve only if you trust this site with it."
                },
            )?;
            set_text("consent-id", &payload_str("credentialId"))?;
            set_text("consent-notes", &payload_str("publicNotes"))?;
            set_hidden("consent-grantee-row", !share)?;
            let label = payload_str("granteeLabel");
            set_text(
                "consent-grantee-label",
                if label.is_empty() {
                    "(not named)"
                } else {
                    &label
                },
            )?;
            set_text("consent-grantee", &payload_str("granteePublicKey"))?;
            set_text("consent-content", &payload_str("plaintext"))?;
            set_hidden("consent", false)?;
            let _ = by_id::<web_sys::HtmlElement>("deny")?.focus();
        }
        "view" => {
            set_text("title", "Your credential")?;
            set_text("view-id", &payload_str("credentialId"))?;
            set_text("view-content", &payload_str("plaintext"))?;
            set_hidden("view", false)?;
            let _ = by_id::<web_sys::HtmlElement>("view-close")?.focus();
        }
        "backup" => {
            set_text("title", "Back up your idOS key")?;
            set_text("backup-key", &payload_str("secretKey"))?;
            set_hidden("backup", false)?;
            let _ = by_id::<web_sys::HtmlElement>("backup-done")?.focus();
        }
        _ => return Err(EnclaveError::bad_request("unknown dialog intent")),
    }
    set_state(intent);
    Ok(())
}

fn finish(message: &JsValue) {
    if let Some(port) = with(|s| s.port.take()) {
        let _ = port.post_message(message);
        port.close();
    }
    set_state("done");
    // The enclave closes this window when it has the answer; close it ourselves if it does not.
    let close = Closure::once_into_js(|| {
        if let Ok(w) = window() {
            let _ = w.close();
        }
    });
    if let Ok(w) = window() {
        let _ =
            w.set_timeout_with_callback_and_timeout_and_arguments_0(close.unchecked_ref(), 2000);
    }
}

fn reply(result: JsValue) {
    finish(&obj(&[("result", result)]));
}

fn reply_error(e: &EnclaveError) {
    finish(&obj(&[("error", error_js(e))]));
}

fn on_click(id: &str, f: impl FnMut() + 'static) -> Result<()> {
    let c = Closure::<dyn FnMut()>::new(f);
    by_id::<web_sys::HtmlElement>(id)?.set_onclick(Some(c.as_ref().unchecked_ref()));
    c.forget();
    Ok(())
}

fn cancelled() -> EnclaveError {
    EnclaveError::new(codes::USER_DENIED, "the user cancelled in the idOS dialog")
}

fn wire_buttons() -> Result<()> {
    on_click("approve", || reply(obj(&[("approved", true.into())])))?;
    on_click("deny", || reply(obj(&[("approved", false.into())])))?;
    on_click("view-close", || reply(Object::new().into()))?;
    on_click("backup-done", || reply(Object::new().into()))?;
    on_click("unlock-cancel", || reply_error(&cancelled()))?;
    let form: web_sys::HtmlFormElement = by_id("unlock-form")?;
    let submit = Closure::<dyn FnMut(web_sys::Event)>::new(|ev: web_sys::Event| {
        ev.prevent_default();
        if !with(|s| std::mem::replace(&mut s.working, true)) {
            spawn_local(async {
                if let Err(e) = submit_password().await {
                    let _ = set_text("unlock-error", &e.message);
                }
                with(|s| s.working = false);
            });
        }
    });
    form.set_onsubmit(Some(submit.as_ref().unchecked_ref()));
    submit.forget();
    // Escape cancels whatever is shown.
    let keys = Closure::<dyn FnMut(web_sys::KeyboardEvent)>::new(|ev: web_sys::KeyboardEvent| {
        if ev.key() == "Escape" && with(|s| s.accepted && s.port.is_some()) {
            let intent = with(|s| s.intent.clone());
            match intent.as_str() {
                "release" | "share" => reply(obj(&[("approved", false.into())])),
                "view" | "backup" => reply(Object::new().into()),
                _ => reply_error(&cancelled()),
            }
        }
    });
    document()?
        .add_event_listener_with_callback("keydown", keys.as_ref().unchecked_ref())
        .map_err(|_| EnclaveError::internal("listening to the keyboard"))?;
    keys.forget();
    Ok(())
}

fn input(id: &str) -> Result<web_sys::HtmlInputElement> {
    by_id(id)
}

fn remember_choice() -> Result<String> {
    let checked = document()?
        .query_selector("input[name=remember]:checked")
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|i| i.value());
    Ok(checked.unwrap_or_else(|| "none".to_owned()))
}

async fn submit_password() -> Result<()> {
    let mode = payload_str("mode");
    let user_id = payload_str("userId");
    let expected = match payload_str("expectedPublicKey") {
        t if t.is_empty() => None,
        t => Some(EncryptionPublicKey::parse(&t)?),
    };
    let log_n = with(|s| get(&s.payload, "kdfLogN").as_f64()).unwrap_or(14.0) as u8;
    let params = ScryptParams {
        log_n,
        ..KdfVersion::default().scrypt_params()
    };
    let password = input("password")?;
    let confirm = input("password-confirm")?;
    let current = input("current-password")?;
    let new_password = zeroize::Zeroizing::new(password.value());
    if mode != "unlock" {
        if new_password.chars().count() < 8 {
            return Err(EnclaveError::bad_request("Use at least 8 characters."));
        }
        if *new_password != *zeroize::Zeroizing::new(confirm.value()) {
            return Err(EnclaveError::bad_request("The two passwords differ."));
        }
    }
    set_text("unlock-error", "")?;
    set_text("unlock-progress", "Checking…")?;
    sleep(30).await; // let the page paint before the KDF blocks it
    let outcome = (|| -> Result<_> {
        if mode == "change" {
            unlock(
                &zeroize::Zeroizing::new(current.value()),
                &user_id,
                expected.as_ref(),
                params,
            )?;
            unlock(&new_password, &user_id, None, params)
        } else {
            unlock(&new_password, &user_id, expected.as_ref(), params)
        }
    })();
    set_text("unlock-progress", "")?;
    let key = match outcome {
        Ok(k) => k,
        Err(e) => {
            password.set_value("");
            current.set_value("");
            let _ = if mode == "change" {
                current.focus()
            } else {
                password.focus()
            };
            return Err(if e.code == codes::WRONG_PASSWORD {
                EnclaveError::new(codes::WRONG_PASSWORD, "Wrong password. Try again.")
            } else {
                e
            });
        }
    };
    for i in [&password, &confirm, &current] {
        i.set_value("");
    }
    let transfer = Uint8Array::from(&key.to_bytes()[..]);
    let remember = remember_choice()?;
    reply(obj(&[
        ("secretKey", transfer.clone().into()),
        ("remember", JsValue::from_str(&remember)),
    ]));
    transfer.fill(0, 0, 32);
    Ok(())
}
