//! The enclave's read verifier: [`idos_verify`] for the browser, as a wasm module of its own.
//!
//! The enclave's main module stays within its download budget by leaving verification out; it
//! loads this module (`verifier.js`, `verifier_bg.wasm`, pinned by SHA-384 like the rest) the
//! first time a host asks it to verify a read. Requests and answers cross as JSON text, so the
//! main module needs no serializer for them: it hands the host's parameters over as they came
//! and returns the answer as it goes.
//!
//! [`verify_request`] is the whole job; [`verify`] is its wasm export.

#![forbid(unsafe_code)]

use std::time::Duration;

use idos_verify::{Freshness, ProvenRead, TrustRoot, verify_read};
use protocol::identity::Identity;
use protocol::query::Query;
use protocol::records::QueryOutput;
use serde::{Deserialize, Serialize};
use tendermint::Time;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// The largest request taken, in bytes of JSON: a proven read of a page of 1,000 items is
/// some megabytes; anything larger is refused before it is parsed.
pub const MAX_REQUEST_BYTES: usize = 16 << 20;

/// What a host asks: verify `read`, the relay's answer to `query` by `caller`, against the
/// validators it pinned in `trustRoot`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyRequest {
    /// `<chain id>@<hex Ed25519 key>[:<power>],...`: the chain and validators the host pins.
    pub trust_root: String,
    /// Who asked the relay (the signed-in identity); `None` for reads anyone may make.
    #[serde(default)]
    pub caller: Option<Identity>,
    /// The read, in the `protocol` crate's JSON form.
    pub query: Query,
    /// The relay's answer to `POST /api/v1/proven-read`.
    pub read: ProvenRead,
    /// The answer must describe the state after this block or a later one (the block of the
    /// host's last committed transaction; the enclave raises it to the newest state it has
    /// verified on this chain).
    #[serde(default)]
    pub min_height: u64,
    /// Refuse headers older than this many seconds.
    #[serde(default)]
    pub max_header_age_seconds: Option<u64>,
}

/// A verified read.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedAnswer {
    /// The pinned chain the answer is of.
    pub chain_id: String,
    /// The header that proved the answer.
    pub header_height: u64,
    /// The block whose resulting state the answer describes (`header_height - 1`).
    pub state_height: u64,
    /// The header's time, unix seconds.
    pub header_time: i64,
    /// The answer, computed by the verifier from the proven entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<QueryOutput>,
    /// Or the refusal the proven state gives (`not_found`, `no_profile`, …): verified too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Failure>,
}

/// Why a request was not verified: a stable code (`idos-verify`'s, or `bad_request`) and a
/// message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub code: &'static str,
    pub message: String,
}

impl Failure {
    fn bad_request(message: impl Into<String>) -> Failure {
        Failure {
            code: "bad_request",
            message: message.into(),
        }
    }
}

/// Every code [`verify_request`] may fail with, besides `bad_request`.
pub const VERIFY_CODES: &[&str] = &[
    "chain_mismatch",
    "validator_set_mismatch",
    "header_not_signed",
    "header_from_future",
    "header_too_old",
    "stale_answer",
    "proof_malformed",
    "proof_value_mismatch",
    "proof_list_altered",
    "proof_absence_refuted",
    "proof_incomplete",
];

/// Parses and verifies one request (JSON text) at the client's time `now`. The read's entries
/// are in the request, or, when `entries` is not empty, there (the request's then empty): the
/// enclave hands them over as they came, which spares parsing tens of kilobytes of base64 as
/// JSON twice over.
pub fn verify_request(
    request: &str,
    entries: Vec<String>,
    now: Time,
) -> Result<VerifiedAnswer, Failure> {
    let entry_bytes: usize = entries.iter().map(String::len).sum();
    if request.len() + entry_bytes > MAX_REQUEST_BYTES {
        return Err(Failure::bad_request(format!(
            "a request to verify is at most {MAX_REQUEST_BYTES} bytes"
        )));
    }
    let mut request: VerifyRequest = serde_json::from_str(request)
        .map_err(|e| Failure::bad_request(format!("verifyRead's parameters: {e}")))?;
    if !entries.is_empty() {
        if !request.read.entries.is_empty() {
            return Err(Failure::bad_request(
                "the read's entries are given twice (in the request and apart)",
            ));
        }
        request.read.entries = entries;
    }
    let trust = TrustRoot::parse(&request.trust_root)
        .map_err(|e| Failure::bad_request(format!("trustRoot: {e}")))?;
    let freshness = Freshness {
        min_height: request.min_height,
        max_header_age: request.max_header_age_seconds.map(Duration::from_secs),
        ..Freshness::default()
    };
    let verified = verify_read(
        &trust,
        &freshness,
        &request.read,
        request.caller.as_ref(),
        &request.query,
        now,
    )
    .map_err(|e| Failure {
        code: e.code(),
        message: e.to_string(),
    })?;
    let state_height = verified.state_height();
    let (output, refusal) = match verified.output {
        Ok(output) => (Some(output), None),
        Err(e) => (
            None,
            Some(Failure {
                code: e.code(),
                message: e.to_string(),
            }),
        ),
    };
    Ok(VerifiedAnswer {
        chain_id: trust.chain_id,
        header_height: verified.header_height,
        state_height,
        header_time: verified.header_time,
        output,
        refusal,
    })
}

/// The client's clock, `now_ms` milliseconds since the epoch, as a header time.
fn time_of(now_ms: f64) -> Option<Time> {
    if !now_ms.is_finite() || now_ms < 0.0 {
        return None;
    }
    let ms = now_ms as i64;
    Time::from_unix_timestamp(ms / 1000, ((ms % 1000) * 1_000_000) as u32).ok()
}

/// The read's entries as the host gave them: an array of base64 strings.
fn entries_of(entries: &JsValue) -> Result<Vec<String>, Failure> {
    if entries.is_undefined() || entries.is_null() {
        return Ok(Vec::new());
    }
    let not_strings = || Failure::bad_request("read.entries must be an array of base64 strings");
    let array = entries.dyn_ref::<js_sys::Array>().ok_or_else(not_strings)?;
    if array.length() as usize > idos_verify::MAX_ENTRIES {
        return Err(Failure {
            code: "proof_malformed",
            message: format!(
                "{} entries, more than the {} any read looks at",
                array.length(),
                idos_verify::MAX_ENTRIES
            ),
        });
    }
    array
        .iter()
        .map(|entry| entry.as_string().ok_or_else(not_strings))
        .collect()
}

/// The wasm export: verifies `request` (JSON text, a [`VerifyRequest`] whose read's entries are
/// empty) with the read's `entries` (a JS array of base64 strings) at `now_ms` (the browser's
/// `Date.now()`), and answers JSON text: `{"ok": VerifiedAnswer}` or `{"error": {"code",
/// "message"}}`.
#[wasm_bindgen]
pub fn verify(request: &str, entries: &JsValue, now_ms: f64) -> String {
    match entries_of(entries) {
        Ok(entries) => verify_at(request, entries, now_ms),
        Err(failure) => answer_text(Err(failure)),
    }
}

/// [`verify`] once the entries are Rust strings: [`verify_request`] at `now_ms`, answered as
/// JSON text.
pub fn verify_at(request: &str, entries: Vec<String>, now_ms: f64) -> String {
    answer_text(match time_of(now_ms) {
        Some(now) => verify_request(request, entries, now),
        None => Err(Failure::bad_request("the clock reads no valid time")),
    })
}

fn answer_text(result: Result<VerifiedAnswer, Failure>) -> String {
    let reply = match result {
        Ok(answer) => serde_json::json!({ "ok": answer }),
        Err(failure) => serde_json::json!({ "error": failure }),
    };
    reply.to_string()
}

/// The wasm export that checks a trust root's form: `None` when it parses, else why not.
#[wasm_bindgen(js_name = checkTrustRoot)]
pub fn check_trust_root(text: &str) -> Option<String> {
    TrustRoot::parse(text).err()
}
