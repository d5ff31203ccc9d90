//! Known answers from the JavaScript `siwe` library (3.0.0) and `ethers` (6.17.0): messages it
//! wrote (both first-line forms, millisecond timestamps, offsets, every optional field) and
//! their EIP-191 signatures. This crate must parse each to the same fields the library read
//! back, accept each signature, and refuse the same message signed by another key.
//! Regenerate with `protocol/tests/vectors/siwe-gen.js` (see the comment at its top).

use protocol::siwe::{SiweMessage, verify};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let text = include_str!("vectors/siwe.json");
    let json: Value = serde_json::from_str(text).unwrap();
    json["cases"].as_array().unwrap().clone()
}

#[test]
fn messages_written_by_the_js_library_parse_to_its_fields_and_verify() {
    let cases = vectors();
    assert_eq!(cases.len(), 4);
    let mut forms = (0, 0, 0);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let text = case["message"].as_str().unwrap();
        let fields = &case["fields"];
        let m = verify(text, case["signature"].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.scheme.as_deref(), fields["scheme"].as_str(), "{name}");
        assert_eq!(m.domain, fields["domain"].as_str().unwrap(), "{name}");
        assert_eq!(
            m.address.to_checksum(),
            fields["address"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            m.address.to_checksum(),
            case["address"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            m.statement.as_deref(),
            fields["statement"].as_str(),
            "{name}"
        );
        assert_eq!(m.uri, fields["uri"].as_str().unwrap(), "{name}");
        assert_eq!(m.chain_id, fields["chainId"].as_u64().unwrap(), "{name}");
        assert_eq!(m.nonce, fields["nonce"].as_str().unwrap(), "{name}");
        assert_eq!(
            m.request_id.as_deref(),
            fields["requestId"].as_str(),
            "{name}"
        );
        let resources = fields["resources"].as_array().map(|list| {
            list.iter()
                .map(|r| r.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        });
        assert_eq!(m.resources, resources, "{name}");
        let unix_ms = |t: Option<time::OffsetDateTime>| {
            t.map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        };
        let expected = |key: &str| case["unix_ms"][key].as_i64();
        assert_eq!(unix_ms(Some(m.issued_at)), expected("issuedAt"), "{name}");
        assert_eq!(
            unix_ms(m.expiration_time),
            expected("expirationTime"),
            "{name}"
        );
        assert_eq!(unix_ms(m.not_before), expected("notBefore"), "{name}");

        if m.scheme.is_some() {
            forms.0 += 1;
        } else {
            forms.1 += 1;
        }
        if text.contains(".123") {
            forms.2 += 1;
        }
    }
    assert!(forms.0 >= 2 && forms.1 >= 2 && forms.2 >= 2, "{forms:?}");
}

#[test]
fn fail_a_js_library_message_signed_by_another_key() {
    for case in vectors() {
        let text = case["message"].as_str().unwrap();
        let err = verify(text, case["signature_by_other_key"].as_str().unwrap()).unwrap_err();
        assert_eq!(err.code(), "siwe_address_mismatch", "{}", case["name"]);
    }
}

#[test]
fn fail_a_js_library_message_changed_by_one_byte() {
    for case in vectors() {
        let text = case["message"].as_str().unwrap();
        let signature = case["signature"].as_str().unwrap();
        // The nonce's last character, changed: still a well-formed message, not the signed one.
        let m = SiweMessage::parse(text).unwrap();
        let mut nonce = m.nonce.clone();
        let last = nonce.pop().unwrap();
        nonce.push(if last == 'a' { 'b' } else { 'a' });
        let changed = text.replacen(&m.nonce, &nonce, 1);
        SiweMessage::parse(&changed).unwrap();
        let err = verify(&changed, signature).unwrap_err();
        assert_eq!(err.code(), "siwe_address_mismatch", "{}", case["name"]);
        // A trailing newline (some libraries add one) is refused before any recovery.
        let err = verify(&format!("{text}\n"), signature).unwrap_err();
        assert_eq!(err.code(), "siwe_malformed", "{}", case["name"]);
    }
}
