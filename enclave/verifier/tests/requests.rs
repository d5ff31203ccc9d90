//! The read verifier module's requests and answers, natively: what the enclave hands it (JSON
//! text from the host) and what it answers (JSON text), over a sample signed header (height 3
//! of chain `idos-sample`, signed by the validator with seed 9…9, at `HEADER_TIME`).

use protocol::identity::{Ed25519SigningKey, Identity};
use protocol::query::Query;
use serde_json::{Value, json};
use tendermint::Time;
use verifier::{MAX_REQUEST_BYTES, VERIFY_CODES, verify_at, verify_request};

const SAMPLE: &str = include_str!("../../../verify/src/testdata/proven_read.json");
const HEADER_TIME: i64 = 1_796_000_000;

fn trust_root(seed: u8) -> String {
    let key = Ed25519SigningKey::from_seed(&[seed; 32]).public_key();
    format!("idos-sample@{}", key.to_text())
}

/// A read that looks at no state.
fn query() -> Value {
    serde_json::to_value(Query::WalletProofMessage {
        user_id: uuid::Uuid::nil(),
        wallet: Identity::Ed25519(Ed25519SigningKey::from_seed(&[1; 32]).public_key()),
        nonce: protocol::bytes::Nonce128::from_bytes([0; 16]),
    })
    .unwrap()
}

fn request(seed: u8) -> Value {
    json!({
        "trustRoot": trust_root(seed),
        "query": query(),
        "read": serde_json::from_str::<Value>(SAMPLE).unwrap(),
    })
}

fn at(seconds: i64) -> Time {
    Time::from_unix_timestamp(seconds, 0).unwrap()
}

fn code(request: &Value) -> &'static str {
    match verify_request(&request.to_string(), Vec::new(), at(HEADER_TIME + 5)) {
        Ok(_) => "ok",
        Err(failure) => failure.code,
    }
}

#[test]
fn a_read_the_pinned_validator_signed_verifies_with_its_heights() {
    let answer = verify_request(&request(9).to_string(), Vec::new(), at(HEADER_TIME + 5)).unwrap();
    assert_eq!(answer.chain_id, "idos-sample");
    assert_eq!((answer.header_height, answer.state_height), (3, 2));
    assert_eq!(answer.header_time, HEADER_TIME);
    let json = serde_json::to_value(&answer).unwrap();
    assert_eq!(json["output"]["kind"], "message", "{json}");
    assert!(json.get("refusal").is_none());
}

#[test]
fn the_wasm_export_answers_ok_or_error_as_json_text() {
    let now_ms = (HEADER_TIME + 5) as f64 * 1000.0;
    let ok: Value =
        serde_json::from_str(&verify_at(&request(9).to_string(), Vec::new(), now_ms)).unwrap();
    assert_eq!(ok["ok"]["headerHeight"], 3);
    assert_eq!(ok["ok"]["stateHeight"], 2);
    let refused: Value =
        serde_json::from_str(&verify_at(&request(8).to_string(), Vec::new(), now_ms)).unwrap();
    assert_eq!(refused["error"]["code"], "validator_set_mismatch");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("validator set")
    );
    for clock in [f64::NAN, -1.0, f64::INFINITY] {
        let bad: Value =
            serde_json::from_str(&verify_at(&request(9).to_string(), Vec::new(), clock)).unwrap();
        assert_eq!(bad["error"]["code"], "bad_request");
    }
}

#[test]
fn fail_requests_that_do_not_parse_are_bad_requests() {
    let mut unknown_field = request(9);
    unknown_field["extra"] = json!(1);
    let mut no_trust = request(9);
    no_trust.as_object_mut().unwrap().remove("trustRoot");
    let mut bad_trust = request(9);
    bad_trust["trustRoot"] = json!("idos-sample@zz");
    let mut bad_query = request(9);
    bad_query["query"] = json!({"NoSuchRead": {}});
    let mut bad_height = request(9);
    bad_height["minHeight"] = json!("3");
    let mut bad_caller = request(9);
    bad_caller["caller"] = json!("not an identity");
    for hostile in [
        unknown_field,
        no_trust,
        bad_trust,
        bad_query,
        bad_height,
        bad_caller,
        json!(null),
        json!([]),
    ] {
        assert_eq!(code(&hostile), "bad_request", "{hostile}");
    }
    let failure = verify_request("{", Vec::new(), at(HEADER_TIME)).unwrap_err();
    assert_eq!(failure.code, "bad_request");
    assert!(failure.message.starts_with("verifyRead's parameters"));
    let huge = " ".repeat(MAX_REQUEST_BYTES + 1);
    let failure = verify_request(&huge, Vec::new(), at(HEADER_TIME)).unwrap_err();
    assert!(failure.message.contains("at most"), "{}", failure.message);
}

#[test]
fn freshness_comes_from_the_request() {
    let mut after_my_write = request(9);
    after_my_write["minHeight"] = json!(3);
    assert_eq!(code(&after_my_write), "stale_answer");
    after_my_write["minHeight"] = json!(2);
    assert_eq!(code(&after_my_write), "ok");
    let mut young = request(9);
    young["maxHeaderAgeSeconds"] = json!(4);
    assert_eq!(code(&young), "header_too_old");
    young["maxHeaderAgeSeconds"] = json!(6);
    assert_eq!(code(&young), "ok");
}

#[test]
fn every_failure_code_is_one_the_enclave_knows() {
    assert_eq!(VERIFY_CODES, enclave::error::VERIFY_CODES);
    let mut foreign = request(9);
    foreign["trustRoot"] = json!(format!(
        "idos-other@{}",
        trust_root(9).split('@').nth(1).unwrap()
    ));
    let mut flipped = request(9);
    flipped["read"]["entries"] = json!(["AAAA"]);
    for (request, expected) in [
        (request(8), "validator_set_mismatch"),
        (foreign, "chain_mismatch"),
        (flipped, "proof_malformed"),
    ] {
        let got = code(&request);
        assert_eq!(got, expected);
        assert!(VERIFY_CODES.contains(&got));
    }
}

#[test]
fn entries_given_apart_are_the_reads_and_may_not_be_given_twice() {
    let mut with_entries = request(9);
    with_entries["read"]["entries"] = json!(["AAAA"]);
    let mut without = request(9);
    without["read"]["entries"] = json!([]);
    let apart = |request: &Value, entries: &[&str]| {
        let entries = entries.iter().map(|e| e.to_string()).collect();
        match verify_request(&request.to_string(), entries, at(HEADER_TIME + 5)) {
            Ok(_) => "ok",
            Err(failure) => failure.code,
        }
    };
    assert_eq!(apart(&without, &[]), "ok");
    // The entries given apart are the ones checked.
    assert_eq!(apart(&without, &["AAAA"]), "proof_malformed");
    assert_eq!(apart(&with_entries, &["AAAA"]), "bad_request");
    assert_eq!(apart(&with_entries, &[]), "proof_malformed");
}
