//! The password form of the dialog (create, unlock, change): derives the key here (scrypt,
//! idOS parameters), checks it offline against the profile's public key, and hands the 32 key
//! bytes to the iframe over the private port, wiping its own copy.

use js_sys::Uint8Array;
use protocol::bytes::EncryptionPublicKey;
use protocol::kdf::{KdfVersion, ScryptParams};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use zeroize::Zeroizing;

use super::{accept_input, payload, payload_str, reply, with};
use crate::error::{EnclaveError, ErrorCode, Result};
use crate::vault::unlock;
use crate::web::util::*;

/// Wires the form's submit (Enter or the button), which counts only after the input delay.
pub(super) fn wire_form() -> Result<()> {
    let form: web_sys::HtmlFormElement = by_id("unlock-form")?;
    let submit = Closure::<dyn FnMut(web_sys::Event)>::new(|ev: web_sys::Event| {
        ev.prevent_default();
        if !accept_input() {
            return;
        }
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
    let log_n = payload("kdfLogN").as_f64().unwrap_or(14.0) as u8;
    let params = ScryptParams {
        log_n,
        ..KdfVersion::default().scrypt_params()
    };
    let password = input("password")?;
    let confirm = input("password-confirm")?;
    let current = input("current-password")?;
    let new_password = Zeroizing::new(password.value());
    if mode != "unlock" {
        if new_password.chars().count() < 8 {
            return Err(EnclaveError::bad_request("Use at least 8 characters."));
        }
        if *new_password != *Zeroizing::new(confirm.value()) {
            return Err(EnclaveError::bad_request("The two passwords differ."));
        }
    }
    set_text("unlock-error", "")?;
    set_text("unlock-progress", "Checking…")?;
    sleep(30).await; // let the page paint before the KDF blocks it
    let outcome = (|| -> Result<_> {
        if mode == "change" {
            unlock(
                &Zeroizing::new(current.value()),
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
            return Err(if e.code == ErrorCode::WrongPassword {
                EnclaveError::new(ErrorCode::WrongPassword, "Wrong password. Try again.")
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
