//! The client library's copies of the relay's answer types (`idos_client::types`: the relay
//! depends on the client for its CLI, so the client cannot use the relay's types) read every
//! field the relay writes: each answer, with every optional field set, goes through JSON from
//! the relay's type into the client's and back, unchanged. A field renamed, added or removed on
//! either side fails here.

use protocol::identity::Identity;
use relay::access_log::{AccessPage, AccessRecord};
use relay::api::chain::ChainInfo;
use relay::api::error::ErrorBody;
use relay::api::page::Answer;
use relay::api::tx::{PreparedTransaction, TxStatus};
use relay::auth::routes::SignInResponse;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

/// `relay_value` as JSON, read as the client's `C` and written again, is the same JSON.
fn same_through<C: Serialize + DeserializeOwned>(relay_value: &impl Serialize) {
    let written = serde_json::to_value(relay_value).unwrap();
    let read: C = serde_json::from_value(written.clone()).unwrap_or_else(|e| {
        panic!(
            "{} does not read {written}: {e}",
            std::any::type_name::<C>()
        )
    });
    assert_eq!(
        serde_json::to_value(&read).unwrap(),
        written,
        "{} loses or adds fields",
        std::any::type_name::<C>()
    );
}

#[test]
fn the_clients_types_read_every_field_of_the_relays_answers() {
    same_through::<idos_client::PreparedTransaction>(&PreparedTransaction {
        chain_id: "idos-local".into(),
        nonce: 7,
        signer: "0x00000000000000000000000000000000000000aa".into(),
        signing_text: "idOS transaction\n...".into(),
        unsigned: "00ff".into(),
    });
    same_through::<idos_client::TxStatus>(&TxStatus {
        hash: "AB".repeat(32),
        status: "refused".into(),
        height: Some(12),
        error: Some(ErrorBody {
            code: "grant_locked".into(),
            message: "locked".into(),
        }),
    });
    same_through::<idos_client::ChainInfo>(&ChainInfo {
        chain_id: "idos-local".into(),
        height: 3,
        app_hash: "00".repeat(32),
        time: "2026-12-01T12:00:00Z".into(),
        node_version: "0.1.0".into(),
        catching_up: false,
        gateway_key: "11".repeat(32),
    });
    same_through::<idos_client::Session>(&SignInResponse {
        token: "v1.a.b".into(),
        identity: "0x00000000000000000000000000000000000000aa".into(),
        expires_at: "2026-12-01T13:00:00Z".into(),
    });
    same_through::<idos_client::AccessPage>(&AccessPage {
        items: vec![AccessRecord {
            reader: Identity::parse(&"22".repeat(32)).unwrap(),
            copy_id: Uuid::new_v4(),
            original_id: Some(Uuid::new_v4()),
            owner_user_id: Uuid::new_v4(),
            at_ms: 1_800_000_000_000,
            request_id: "req-1".into(),
        }],
        next_cursor: Some("AAE=".into()),
    });
    same_through::<idos_client::Answer<Value>>(&Answer {
        height: 9,
        app_hash: "33".repeat(32),
        data: json!({"items": [], "next_cursor": null}),
    });
}

/// The client's Ed25519 sign-in text is the relay's, byte for byte.
#[test]
fn the_clients_ed25519_sign_in_text_is_the_relays() {
    let key = protocol::bytes::Ed25519PublicKey::parse(&"ab".repeat(32)).unwrap();
    assert_eq!(
        idos_client::sign_in::ed25519_sign_in_text(
            "https://relay.example.com",
            "idos-1",
            &key,
            "N0nce1234"
        ),
        relay::auth::signing_text::ed25519_sign_in_text(
            "https://relay.example.com",
            "idos-1",
            &key,
            "N0nce1234"
        )
    );
}
