//! Wallet sign-in (`POST /api/v1/auth/wallet`) for every wallet type: NEAR (NEP-413 blobs),
//! XRPL on both curves, Stellar (SEP-53 and raw), FaceSign (raw Ed25519) and EVM, each signing
//! the documented text its own way; and every refusal with its status and stable code.

use axum::http::StatusCode;
use protocol::codec::hex_encode;
use protocol::identity::{Ed25519SigningKey, Identity, SignatureScheme, SigningKey};
use protocol::sign_in::wallet_sign_in_text;
use serde_json::{Value, json};

mod auth_support;

use auth_support::*;

fn key(scheme: SignatureScheme, hex: String) -> SigningKey {
    SigningKey::from_hex(scheme, &hex).unwrap()
}

/// One wallet of each type.
fn wallets() -> Vec<(&'static str, SigningKey)> {
    vec![
        ("NEAR", key(SignatureScheme::Nep413, "31".repeat(32))),
        (
            "XRPL",
            key(SignatureScheme::Xrpl, format!("00{}", "32".repeat(32))),
        ),
        (
            "XRPL",
            key(SignatureScheme::Xrpl, format!("ED{}", "33".repeat(32))),
        ),
        ("Stellar", key(SignatureScheme::Stellar, "34".repeat(32))),
        ("FaceSign", key(SignatureScheme::Ed25519, "35".repeat(32))),
        ("EVM", key(SignatureScheme::Eip191, "36".repeat(32))),
    ]
}

async fn sign_in_as(
    relay: &Relay,
    wallet_type: &str,
    wallet: &Identity,
    nonce: &str,
    signature: &[u8],
) -> (StatusCode, Value, axum::http::HeaderMap) {
    relay
        .post(
            "/api/v1/auth/wallet",
            json!({
                "wallet_type": wallet_type,
                "wallet": wallet.identifier(),
                "nonce": nonce,
                "signature": hex_encode(signature),
            }),
            None,
        )
        .await
}

fn text(wallet: &Identity, nonce: &str) -> String {
    wallet_sign_in_text(RELAY, "idos-test", wallet, nonce)
}

#[tokio::test]
async fn every_wallet_type_signs_in_over_the_documented_text() {
    let relay = relay();
    for (wallet_type, key) in wallets() {
        let wallet = key.identity();
        let nonce = relay.nonce().await;
        let signature = key.sign(text(&wallet, &nonce).as_bytes());
        let (status, body, _) = sign_in_as(&relay, wallet_type, &wallet, &nonce, &signature).await;
        assert_eq!(status, StatusCode::OK, "{wallet_type}: {body}");
        assert_eq!(body["identity"], wallet.identifier(), "{wallet_type}");
        let token = body["token"].as_str().unwrap();
        let (status, who) = relay
            .get_with("/whoami", Some(&format!("Bearer {token}")), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(who.as_str(), Some(wallet.identifier().as_str()));
        // The documented text, literally.
        assert_eq!(
            text(&wallet, &nonce),
            format!(
                "idOS relay sign-in\norigin: {RELAY}\nnetwork: idos-test\npurpose: session\nwallet: {}\nnonce: {nonce}",
                wallet.identifier()
            )
        );
    }
}

#[tokio::test]
async fn a_stellar_wallet_may_sign_raw_and_a_near_wallet_for_the_issuer_recipient() {
    let relay = relay();
    let seed = Ed25519SigningKey::from_seed(&[0x37; 32]);
    let stellar = Identity::Stellar(seed.public_key());
    let nonce = relay.nonce().await;
    let raw = seed.sign(text(&stellar, &nonce).as_bytes());
    let (status, body, _) = sign_in_as(&relay, "Stellar", &stellar, &nonce, raw.as_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let near = Identity::Near(seed.public_key());
    let nonce = relay.nonce().await;
    let blob = nep413_for(&seed, &text(&near, &nonce), "idos-issuer");
    let (status, body, _) = sign_in_as(&relay, "NEAR", &near, &nonce, &blob).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A NEP-413 blob of `message` for `recipient`, signed by `key`.
fn nep413_for(key: &Ed25519SigningKey, message: &str, recipient: &str) -> Vec<u8> {
    use sha2::Digest;
    let payload = protocol::near::Nep413Payload {
        message: message.to_owned(),
        nonce: [7; 32],
        recipient: recipient.to_owned(),
        callback_url: None,
    };
    let payload_bytes = payload.encode();
    let signature = *key.sign(&sha2::Sha256::digest(&payload_bytes)).as_bytes();
    protocol::near::Nep413Blob {
        payload,
        payload_bytes,
        signature,
    }
    .to_bytes()
}

#[tokio::test]
async fn fail_each_wallet_type_for_another_relay_network_nonce_or_wallet() {
    let relay = relay();
    for (wallet_type, key) in wallets() {
        let wallet = key.identity();
        let other = wallets()
            .into_iter()
            .find(|(t, k)| *t == wallet_type && k.identity() != wallet)
            .map(|(_, k)| k.identity())
            .unwrap_or_else(|| {
                SigningKey::from_hex(key.scheme(), &"3f".repeat(32))
                    .unwrap()
                    .identity()
            });
        type TextFor<'a> = Box<dyn Fn(&str) -> String + 'a>;
        let texts: Vec<TextFor<'_>> = vec![
            Box::new(|n| wallet_sign_in_text(DAPP, "idos-test", &wallet, n)),
            Box::new(|n| wallet_sign_in_text(RELAY, "idos-main", &wallet, n)),
            Box::new(|n| wallet_sign_in_text(RELAY, "idos-test", &wallet, &format!("{n}x"))),
            Box::new(|n| wallet_sign_in_text(RELAY, "idos-test", &other, n)),
        ];
        for signed_text in texts {
            let nonce = relay.nonce().await;
            let signature = key.sign(signed_text(&nonce).as_bytes());
            let result = sign_in_as(&relay, wallet_type, &wallet, &nonce, &signature).await;
            let expected = if wallet_type == "NEAR" {
                "nep413_wrong_message"
            } else {
                "bad_signature"
            };
            assert_refused(&result, StatusCode::UNAUTHORIZED, expected);
            // The failed attempt used the nonce up.
            let good = key.sign(text(&wallet, &nonce).as_bytes());
            let retry = sign_in_as(&relay, wallet_type, &wallet, &nonce, &good).await;
            assert_refused(&retry, StatusCode::UNAUTHORIZED, "nonce_used");
        }
    }
}

#[tokio::test]
async fn fail_tampered_truncated_or_foreign_signatures_with_their_codes() {
    let relay = relay();
    for (wallet_type, key) in wallets() {
        let wallet = key.identity();
        let nonce = relay.nonce().await;
        let good = key.sign(text(&wallet, &nonce).as_bytes());
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let result = sign_in_as(&relay, wallet_type, &wallet, &nonce, &flipped).await;
        assert_eq!(
            result.0,
            StatusCode::UNAUTHORIZED,
            "{wallet_type}: {}",
            result.1
        );
        assert!(
            ["bad_signature", "invalid_xrpl_signature"]
                .contains(&result.1["code"].as_str().unwrap()),
            "{wallet_type}: {}",
            result.1
        );
        let nonce = relay.nonce().await;
        let good = key.sign(text(&wallet, &nonce).as_bytes());
        let result = sign_in_as(
            &relay,
            wallet_type,
            &wallet,
            &nonce,
            &good[..good.len() - 2],
        )
        .await;
        assert_eq!(
            result.0,
            StatusCode::UNAUTHORIZED,
            "{wallet_type}: {}",
            result.1
        );
    }

    // NEAR: a blob for another application; a blob cut short.
    let seed = Ed25519SigningKey::from_seed(&[0x38; 32]);
    let near = Identity::Near(seed.public_key());
    let nonce = relay.nonce().await;
    let foreign = nep413_for(&seed, &text(&near, &nonce), "evil.example");
    let result = sign_in_as(&relay, "NEAR", &near, &nonce, &foreign).await;
    assert_refused(&result, StatusCode::UNAUTHORIZED, "nep413_wrong_recipient");
    let nonce = relay.nonce().await;
    let blob = nep413_for(&seed, &text(&near, &nonce), "idos.network");
    let result = sign_in_as(&relay, "NEAR", &near, &nonce, &blob[..30]).await;
    assert_refused(&result, StatusCode::UNAUTHORIZED, "nep413_malformed");

    // XRPL: another account's key and signature under this address.
    let mine = key(SignatureScheme::Xrpl, format!("00{}", "39".repeat(32))).identity();
    let theirs = key(SignatureScheme::Xrpl, format!("00{}", "3a".repeat(32)));
    let nonce = relay.nonce().await;
    let signature = theirs.sign(text(&mine, &nonce).as_bytes());
    let result = sign_in_as(&relay, "XRPL", &mine, &nonce, &signature).await;
    assert_refused(&result, StatusCode::UNAUTHORIZED, "xrpl_key_mismatch");
}

#[tokio::test]
async fn fail_a_wallet_of_another_type_an_unknown_type_or_a_malformed_identifier() {
    let relay = relay();
    let near = key(SignatureScheme::Nep413, "31".repeat(32));
    let wallet = near.identity();
    let nonce = relay.nonce().await;
    let signature = near.sign(text(&wallet, &nonce).as_bytes());
    let result = sign_in_as(&relay, "Stellar", &wallet, &nonce, &signature).await;
    assert_refused(&result, StatusCode::BAD_REQUEST, "invalid_field");

    let nonce = relay.nonce().await;
    let result = sign_in_as(&relay, "Solana", &wallet, &nonce, &signature).await;
    assert_refused(&result, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");

    for bad in ["ed25519:0OIl", "rNotAnAddress", "GABC", "0x12"] {
        let nonce = relay.nonce().await;
        let result = relay
            .post(
                "/api/v1/auth/wallet",
                json!({"wallet_type": "NEAR", "wallet": bad, "nonce": nonce, "signature": "00"}),
                None,
            )
            .await;
        assert_refused(&result, StatusCode::BAD_REQUEST, "invalid_field");
    }
    let nonce = relay.nonce().await;
    let result = relay
        .post(
            "/api/v1/auth/wallet",
            json!({"wallet_type": "NEAR", "wallet": wallet.identifier(), "nonce": nonce, "signature": "zz"}),
            None,
        )
        .await;
    assert_refused(&result, StatusCode::BAD_REQUEST, "invalid_field");
}

#[tokio::test]
async fn fail_wallet_sign_in_from_a_foreign_page() {
    let relay = relay();
    let (wallet_type, key) = wallets().remove(0);
    let wallet = key.identity();
    let nonce = relay.nonce().await;
    let signature = key.sign(text(&wallet, &nonce).as_bytes());
    let result = relay
        .post(
            "/api/v1/auth/wallet",
            json!({"wallet_type": wallet_type, "wallet": wallet.identifier(), "nonce": nonce,
                   "signature": hex_encode(&signature)}),
            Some("https://evil.example"),
        )
        .await;
    assert_refused(&result, StatusCode::FORBIDDEN, "origin_not_allowed");
    // From an allowed page it works.
    let nonce = relay.nonce().await;
    let signature = key.sign(text(&wallet, &nonce).as_bytes());
    let result = relay
        .post(
            "/api/v1/auth/wallet",
            json!({"wallet_type": wallet_type, "wallet": wallet.identifier(), "nonce": nonce,
                   "signature": hex_encode(&signature)}),
            Some(DAPP),
        )
        .await;
    assert_eq!(result.0, StatusCode::OK, "{}", result.1);
}
