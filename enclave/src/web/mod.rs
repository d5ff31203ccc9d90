//! The browser side: the iframe endpoint, the dialog, key custody and small helpers.

pub mod custody;
pub mod dialog;
pub mod iframe;
pub mod util;

use wasm_bindgen::prelude::*;

/// Runs the page's role, read from `<html data-page="enclave|dialog">`. Other pages (the bench
/// page, wasm tests) get nothing started.
#[wasm_bindgen(start)]
pub fn start() {
    let page = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .and_then(|e| e.get_attribute("data-page"));
    match page.as_deref() {
        Some("enclave") => wasm_bindgen_futures::spawn_local(async {
            if let Err(e) = iframe::start_enclave().await {
                web_sys::console::error_1(&e);
            }
        }),
        Some("dialog") => {
            if let Err(e) = dialog::start_dialog() {
                web_sys::console::error_1(&e);
            }
        }
        _ => {}
    }
}
