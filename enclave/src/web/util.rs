//! Small helpers over browser APIs: promises Rust can await, DOM lookups, object building.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::error::{EnclaveError, Result};

/// A promise with its resolve and reject functions, so a callback can settle what Rust awaits.
pub struct Deferred {
    pub promise: Promise,
    pub resolve: Function,
    pub reject: Function,
}

pub fn deferred() -> Deferred {
    let mut resolve = None;
    let mut reject = None;
    let promise = Promise::new(&mut |res, rej| {
        resolve = Some(res);
        reject = Some(rej);
    });
    Deferred {
        promise,
        resolve: resolve.unwrap_or_else(|| Function::new_no_args("")),
        reject: reject.unwrap_or_else(|| Function::new_no_args("")),
    }
}

pub fn window() -> Result<web_sys::Window> {
    web_sys::window().ok_or_else(|| EnclaveError::internal("finding the window"))
}

pub fn document() -> Result<web_sys::Document> {
    window()?
        .document()
        .ok_or_else(|| EnclaveError::internal("finding the document"))
}

/// An element of the page by id, cast to its type.
pub fn by_id<T: JsCast>(id: &str) -> Result<T> {
    document()?
        .get_element_by_id(id)
        .and_then(|e| e.dyn_into::<T>().ok())
        .ok_or_else(|| EnclaveError::internal(&format!("finding #{id} in the page")))
}

/// Sets text (never HTML) of an element.
pub fn set_text(id: &str, text: &str) -> Result<()> {
    by_id::<web_sys::HtmlElement>(id)?.set_text_content(Some(text));
    Ok(())
}

pub fn set_hidden(id: &str, hidden: bool) -> Result<()> {
    by_id::<web_sys::HtmlElement>(id)?.set_hidden(hidden);
    Ok(())
}

/// Builds a plain JS object from key/value pairs.
pub fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

pub fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn get_string(target: &JsValue, key: &str) -> Option<String> {
    get(target, key).as_string()
}

/// Converts a serializable value to a plain JS object (maps as objects, not `Map`).
pub fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|_| EnclaveError::internal("encoding a result"))
}

/// Reads request parameters into a typed struct, or `bad_request`.
pub fn from_js<T: serde::de::DeserializeOwned>(value: JsValue, what: &str) -> Result<T> {
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| EnclaveError::bad_request(format!("{what}: {e}")))
}

/// `{code, message}` as a JS object.
pub fn error_js(e: &EnclaveError) -> JsValue {
    obj(&[
        ("code", JsValue::from_str(e.code.as_str())),
        ("message", JsValue::from_str(&e.message)),
    ])
}

/// Milliseconds since the Unix epoch, from the browser clock.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let d = deferred();
    if let Ok(w) = window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&d.resolve, ms);
    }
    let _ = wasm_bindgen_futures::JsFuture::from(d.promise).await;
}
