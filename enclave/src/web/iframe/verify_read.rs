//! `verifyRead`: a read the host got from a relay, verified against the validators the host
//! pinned, by the read verifier module (`enclave-verifier`), loaded on first use. Nothing here
//! needs the user's key or the dialog: the answer is the enclave's own computation from proven
//! entries, so a relay that lies is caught whatever the host makes of it.
//!
//! The enclave remembers, per trust root, the newest state it has verified in this page's life
//! and refuses answers older than that (`stale_answer`): a relay cannot take a host back in time,
//! even if the host forgets to say which block its own last write was in.

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::with;
use crate::error::{EnclaveError, ErrorCode, Result};
use crate::web::util::{get, get_string, now_ms};

#[wasm_bindgen]
extern "C" {
    /// Set by the page's pinned loader (`scripts/pin-enclave-assets.sh`): on first use imports
    /// `enclave-verifier.js` and instantiates its wasm, both checked against their SHA-384;
    /// then hands the module `params` (the read's entries apart, the rest as JSON text) with
    /// the time `now` and resolves to its parsed answer, `{ok}` or `{error: {code, message}}`.
    #[wasm_bindgen(js_name = idosVerify, catch)]
    fn run_verifier(params: &JsValue, now: f64) -> std::result::Result<Promise, JsValue>;
}

/// The newest state height verified for each trust root (by its text) in this page's life.
#[derive(Default)]
pub struct VerifiedHeights(Vec<(String, u64)>);

impl VerifiedHeights {
    fn floor(&self, trust_root: &str) -> u64 {
        self.0
            .iter()
            .find(|(t, _)| t == trust_root)
            .map_or(0, |(_, h)| *h)
    }

    fn raise(&mut self, trust_root: &str, height: u64) {
        match self.0.iter_mut().find(|(t, _)| t == trust_root) {
            Some((_, h)) => *h = (*h).max(height),
            None => self.0.push((trust_root.to_owned(), height)),
        }
    }
}

/// `verifyRead({trustRoot, query, read, caller?, minHeight?, maxHeaderAgeSeconds?})` →
/// `{chainId, headerHeight, stateHeight, headerTime, output | refusal}`.
pub async fn verify_read(params: JsValue) -> Result<JsValue> {
    let trust_root = get_string(&params, "trustRoot").ok_or_else(|| {
        EnclaveError::bad_request(
            "verifyRead: trustRoot (<chain id>@<validator key hex>[:<power>],...) is required",
        )
    })?;
    // Never older than what this page has already seen verified.
    let floor = with(|s| s.verified_heights.floor(&trust_root));
    let asked = get(&params, "minHeight");
    if floor > 0 && (asked.is_undefined() || asked.as_f64().is_some_and(|h| h < floor as f64)) {
        let _ = Reflect::set(
            &params,
            &"minHeight".into(),
            &JsValue::from_f64(floor as f64),
        );
    }
    let unavailable = |_| {
        EnclaveError::internal(
            "loading or running the read verifier (enclave-verifier.js and its wasm)",
        )
    };
    let reply = JsFuture::from(run_verifier(&params, now_ms()).map_err(unavailable)?)
        .await
        .map_err(unavailable)?;
    let answer = get(&reply, "ok");
    if answer.is_object() {
        if let Some(height) = get(&answer, "stateHeight").as_f64() {
            with(|s| s.verified_heights.raise(&trust_root, height as u64));
        }
        return Ok(answer);
    }
    let error = get(&reply, "error");
    let code = get_string(&error, "code").unwrap_or_default();
    let message = get_string(&error, "message").unwrap_or_default();
    let code = match code.as_str() {
        "bad_request" => ErrorCode::BadRequest,
        other => ErrorCode::unverified(other).ok_or_else(|| {
            EnclaveError::internal("reading the read verifier's answer (an unknown code)")
        })?,
    };
    Err(EnclaveError::new(code, message))
}
