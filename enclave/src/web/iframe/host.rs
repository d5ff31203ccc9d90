//! The handshake with the host page: load the allow-list, accept exactly one `connect` from
//! `window.parent` on an allowed, secure origin, and keep its `MessagePort` for requests.

use js_sys::Object;
use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{click_guard, dispatch, with};
use crate::error::{EnclaveError, ErrorCode, Result};
pub use crate::origin::{check_parent_origin, is_secure_parent};
use crate::web::util::*;

/// Message types of the host handshake.
pub const READY: &str = "idos-enclave:ready";
pub const CONNECT: &str = "idos-enclave:connect";

#[derive(Deserialize)]
struct Config {
    #[serde(rename = "allowedParentOrigins")]
    allowed_parent_origins: Vec<String>,
}

async fn load_config() -> Result<Vec<String>> {
    let unavailable = |why: &str| EnclaveError::new(ErrorCode::ConfigUnavailable, why);
    let w = window()?;
    let init = web_sys::RequestInit::new();
    init.set_cache(web_sys::RequestCache::NoStore);
    let resp = JsFuture::from(w.fetch_with_str_and_init("config.json", &init))
        .await
        .map_err(|_| unavailable("config.json could not be fetched"))?;
    let resp: web_sys::Response = resp
        .dyn_into()
        .map_err(|_| EnclaveError::internal("fetching config.json"))?;
    if !resp.ok() {
        return Err(unavailable(&format!("config.json: HTTP {}", resp.status())));
    }
    let json = JsFuture::from(
        resp.json()
            .map_err(|_| EnclaveError::internal("reading config.json"))?,
    )
    .await
    .map_err(|_| unavailable("config.json is not JSON"))?;
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
    click_guard::install()?;
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
                ErrorCode::OriginNotAllowed,
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
            let handler = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(dispatch::on_request);
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

/// Posts a message to the connected host.
pub fn post(message: &JsValue) {
    if let Some(port) = with(|s| s.port.clone()) {
        let _ = port.post_message(message);
    }
}

/// The connected host's origin.
pub fn parent_origin() -> Result<String> {
    with(|s| s.parent_origin.clone())
        .ok_or_else(|| EnclaveError::new(ErrorCode::OriginNotAllowed, "no host is connected"))
}
