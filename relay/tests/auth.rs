//! Sign-in and sessions through the router (`tower::ServiceExt::oneshot`): every refusal with
//! its status and stable code, and the guarantees that outlive a restart (a used nonce, a
//! revoked session) checked by reopening the store.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use protocol::identity::{Ed25519SigningKey, SigningKey};
use relay::auth::signing_text::ed25519_sign_in_text;
use relay::auth::token::{self, SessionClaims, SessionId};
use relay::auth::{Auth, AuthConfig, SessionKey};
use relay::store::RelayStore;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

mod auth_support;

use auth_support::*;

// Positive paths.

#[tokio::test]
async fn a_nonce_is_22_alphanumerics_and_never_repeats() {
    let relay = relay();
    let a = relay.nonce().await;
    let b = relay.nonce().await;
    assert_ne!(a, b);
    assert!(
        a.len() == 22 && a.bytes().all(|c| c.is_ascii_alphanumeric()),
        "{a}"
    );
}

#[tokio::test]
async fn siwe_sign_in_returns_a_token_and_a_strict_cookie_that_both_authenticate() {
    let relay = relay();
    let wallet = wallet();
    let message = Siwe::new(&wallet, &relay.nonce().await).text();
    let (status, body, headers) = relay
        .siwe(&message, &sign(&wallet, &message), Some(RELAY))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let identity = wallet.identity().identifier();
    assert_eq!(body["identity"], identity.as_str());
    let expires_at = OffsetDateTime::parse(body["expires_at"].as_str().unwrap(), &Rfc3339).unwrap();
    let ttl = expires_at - OffsetDateTime::now_utc();
    assert!(
        ttl > time::Duration::minutes(59) && ttl <= time::Duration::hours(1),
        "{ttl}"
    );
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    let token = body["token"].as_str().unwrap();
    assert!(
        cookie.starts_with(&format!("__Host-idos_session={token};")),
        "{cookie}"
    );
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
        "Path=/",
        "Max-Age=3600",
    ] {
        assert!(
            cookie.split("; ").any(|a| a == attribute),
            "{attribute} missing: {cookie}"
        );
    }
    assert!(!cookie.contains("Domain"), "{cookie}");

    let (status, who) = relay
        .get_with("/whoami", Some(&format!("Bearer {token}")), None)
        .await;
    assert_eq!(
        (status, who.as_str()),
        (StatusCode::OK, Some(identity.as_str()))
    );
    let pair = format!("__Host-idos_session={token}");
    let (status, who) = relay.get_with("/whoami", None, Some(&pair)).await;
    assert_eq!(
        (status, who.as_str()),
        (StatusCode::OK, Some(identity.as_str()))
    );
}

#[tokio::test]
async fn siwe_bare_domain_form_from_a_dapp_origin_with_its_origin_header() {
    let relay = relay();
    let wallet = wallet();
    let mut siwe = Siwe::new(&wallet, &relay.nonce().await);
    siwe.origin_line = "dapp.example.org".into();
    siwe.uri = DAPP.into();
    siwe.expiration = None;
    let message = siwe.text();
    let result = relay
        .siwe(&message, &sign(&wallet, &message), Some(DAPP))
        .await;
    assert_eq!(result.0, StatusCode::OK, "{}", result.1);
}

#[tokio::test]
async fn any_relay_holding_the_same_session_key_accepts_a_session() {
    let first = relay();
    let second = relay();
    let (token, _) = first.sign_in(&wallet()).await;
    let (status, _) = second
        .get_with("/whoami", Some(&format!("Bearer {token}")), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

// SIWE refusals.

async fn refused_siwe(
    change: impl FnOnce(&mut Siwe),
    origin: Option<&str>,
    status: StatusCode,
    code: &str,
) {
    let relay = relay();
    let wallet = wallet();
    let mut siwe = Siwe::new(&wallet, &relay.nonce().await);
    change(&mut siwe);
    let message = siwe.text();
    let result = relay.siwe(&message, &sign(&wallet, &message), origin).await;
    assert_refused(&result, status, code);
    // Whatever went wrong, the nonce is used up.
    let mut retry = Siwe::new(&wallet, &siwe.nonce);
    retry.nonce = siwe.nonce.clone();
    let message = retry.text();
    let result = relay
        .siwe(&message, &sign(&wallet, &message), Some(RELAY))
        .await;
    match code {
        "nonce_unknown" => assert_refused(&result, StatusCode::UNAUTHORIZED, "nonce_unknown"),
        // A text that does not parse names no nonce, so it uses none up.
        "siwe_malformed" => assert_eq!(result.0, StatusCode::OK, "{}", result.1),
        _ => assert_refused(&result, StatusCode::UNAUTHORIZED, "nonce_used"),
    }
}

#[tokio::test]
async fn fail_siwe_expired() {
    let past = rfc3339(OffsetDateTime::now_utc() - time::Duration::seconds(1));
    refused_siwe(
        |s| s.expiration = Some(past),
        None,
        StatusCode::UNAUTHORIZED,
        "siwe_expired",
    )
    .await;
}

#[tokio::test]
async fn fail_siwe_not_yet_valid() {
    let later = rfc3339(OffsetDateTime::now_utc() + time::Duration::minutes(2));
    refused_siwe(
        |s| s.not_before = Some(later),
        None,
        StatusCode::UNAUTHORIZED,
        "siwe_not_yet_valid",
    )
    .await;
}

#[tokio::test]
async fn fail_siwe_issued_in_the_future() {
    let later = rfc3339(OffsetDateTime::now_utc() + time::Duration::minutes(2));
    refused_siwe(
        |s| s.issued_at = later,
        None,
        StatusCode::UNAUTHORIZED,
        "siwe_issued_in_future",
    )
    .await;
}

#[tokio::test]
async fn fail_siwe_too_old() {
    let old = rfc3339(OffsetDateTime::now_utc() - time::Duration::minutes(11));
    refused_siwe(
        |s| s.issued_at = old,
        None,
        StatusCode::UNAUTHORIZED,
        "siwe_too_old",
    )
    .await;
}

#[tokio::test]
async fn fail_siwe_wrong_domain() {
    refused_siwe(
        |s| s.origin_line = "https://evil.example.com".into(),
        None,
        StatusCode::FORBIDDEN,
        "siwe_domain",
    )
    .await;
    refused_siwe(
        |s| s.origin_line = "http://relay.example.com".into(),
        None,
        StatusCode::FORBIDDEN,
        "siwe_domain",
    )
    .await;
}

#[tokio::test]
async fn fail_siwe_origin_header_is_another_allowed_origin() {
    refused_siwe(
        |_| {},
        Some(DAPP),
        StatusCode::FORBIDDEN,
        "siwe_origin_mismatch",
    )
    .await;
    refused_siwe(
        |_| {},
        Some("https://evil.example.com"),
        StatusCode::FORBIDDEN,
        "siwe_origin_mismatch",
    )
    .await;
}

#[tokio::test]
async fn fail_siwe_wrong_uri() {
    refused_siwe(
        |s| s.uri = "https://evil.example.com/login".into(),
        None,
        StatusCode::FORBIDDEN,
        "siwe_uri",
    )
    .await;
    refused_siwe(
        |s| s.uri = format!("{DAPP}/login"),
        None,
        StatusCode::FORBIDDEN,
        "siwe_uri",
    )
    .await;
}

#[tokio::test]
async fn fail_siwe_wrong_chain_id() {
    refused_siwe(
        |s| s.chain_id = 137,
        None,
        StatusCode::FORBIDDEN,
        "siwe_chain_id",
    )
    .await;
}

#[tokio::test]
async fn fail_siwe_nonce_not_issued_here() {
    refused_siwe(
        |s| s.nonce = "NotIssuedHere123".into(),
        None,
        StatusCode::UNAUTHORIZED,
        "nonce_unknown",
    )
    .await;
}

#[tokio::test]
async fn fail_siwe_malformed_message() {
    refused_siwe(
        |s| s.address = s.address.to_lowercase(),
        None,
        StatusCode::BAD_REQUEST,
        "siwe_malformed",
    )
    .await;
}

#[tokio::test]
async fn fail_siwe_replayed() {
    let relay = relay();
    let wallet = wallet();
    let message = Siwe::new(&wallet, &relay.nonce().await).text();
    let signature = sign(&wallet, &message);
    assert_eq!(
        relay.siwe(&message, &signature, None).await.0,
        StatusCode::OK
    );
    assert_refused(
        &relay.siwe(&message, &signature, None).await,
        StatusCode::UNAUTHORIZED,
        "nonce_used",
    );
}

#[tokio::test]
async fn fail_siwe_replayed_after_a_restart() {
    let relay = relay();
    let wallet = wallet();
    let message = Siwe::new(&wallet, &relay.nonce().await).text();
    let signature = sign(&wallet, &message);
    assert_eq!(
        relay.siwe(&message, &signature, None).await.0,
        StatusCode::OK
    );
    let relay = relay.restart();
    assert_refused(
        &relay.siwe(&message, &signature, None).await,
        StatusCode::UNAUTHORIZED,
        "nonce_used",
    );
}

#[tokio::test]
async fn fail_siwe_nonce_from_another_relay() {
    let issuer = relay();
    let other = relay();
    let wallet = wallet();
    let message = Siwe::new(&wallet, &issuer.nonce().await).text();
    assert_refused(
        &other.siwe(&message, &sign(&wallet, &message), None).await,
        StatusCode::UNAUTHORIZED,
        "nonce_unknown",
    );
}

#[tokio::test]
async fn fail_siwe_bad_signature_still_uses_up_the_nonce() {
    let relay = relay();
    let wallet = wallet();
    let message = Siwe::new(&wallet, &relay.nonce().await).text();
    let good = sign(&wallet, &message);
    let mut bad = good.clone();
    bad.replace_range(10..12, if &good[10..12] == "00" { "01" } else { "00" });
    let result = relay.siwe(&message, &bad, None).await;
    assert_eq!(result.0, StatusCode::UNAUTHORIZED, "{}", result.1);
    assert!(
        ["siwe_signature", "siwe_address_mismatch"].contains(&result.1["code"].as_str().unwrap())
    );
    assert_refused(
        &relay.siwe(&message, &good, None).await,
        StatusCode::UNAUTHORIZED,
        "nonce_used",
    );
}

#[tokio::test]
async fn fail_siwe_signed_by_another_wallet() {
    let relay = relay();
    let message = Siwe::new(&wallet(), &relay.nonce().await).text();
    let other = SigningKey::evm_from_bytes(&[0x22; 32]).unwrap();
    assert_refused(
        &relay.siwe(&message, &sign(&other, &message), None).await,
        StatusCode::UNAUTHORIZED,
        "siwe_address_mismatch",
    );
    assert_refused(
        &relay.siwe(&message, "0x1234", None).await,
        StatusCode::UNAUTHORIZED,
        "nonce_used",
    );
}

#[tokio::test]
async fn fail_siwe_signature_not_hex() {
    let relay = relay();
    let message = Siwe::new(&wallet(), &relay.nonce().await).text();
    assert_refused(
        &relay.siwe(&message, "0x1234", None).await,
        StatusCode::UNAUTHORIZED,
        "siwe_signature",
    );
}

// Bodies.

#[tokio::test]
async fn fail_malformed_json_unknown_or_missing_fields_and_wrong_content_type() {
    let relay = relay();
    let raw = |body: &'static str, content_type: Option<&'static str>| {
        let mut request = Request::post("/api/v1/auth/siwe");
        if let Some(c) = content_type {
            request = request.header(header::CONTENT_TYPE, c);
        }
        request.body(Body::from(body)).unwrap()
    };
    let result = relay
        .call(raw("{\"message\": ", Some("application/json")))
        .await;
    assert_refused(&result, StatusCode::BAD_REQUEST, "malformed_json");
    let result = relay
        .post(
            "/api/v1/auth/siwe",
            json!({"message": "m", "signature": "0x", "extra": 1}),
            None,
        )
        .await;
    assert_refused(&result, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let result = relay
        .post("/api/v1/auth/siwe", json!({"message": "m"}), None)
        .await;
    assert_refused(&result, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let result = relay
        .post(
            "/api/v1/auth/ed25519",
            json!({"public_key": "00", "nonce": "n", "signature": "s", "x": 0}),
            None,
        )
        .await;
    assert_refused(&result, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let result = relay.call(raw("{}", None)).await;
    assert_refused(
        &result,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
}

// Sessions.

#[tokio::test]
async fn fail_missing_forged_tampered_expired_or_foreign_bearer_tokens() {
    let relay = relay();
    let (token, _) = relay.sign_in(&wallet()).await;
    let bearer = |t: &str| format!("Bearer {t}");

    let (status, body) = relay.get_with("/whoami", None, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session_missing"))
    );

    let mut tampered = token.clone();
    let i = tampered.len() - 5;
    let c = if &tampered[i..=i] == "A" { "B" } else { "A" };
    tampered.replace_range(i..=i, c);
    let claims = SessionClaims {
        session_id: SessionId([1; 16]),
        identity: SigningKey::evm_from_bytes(&[0x33; 32]).unwrap().identity(),
        issued_at: 0,
        expires_at: u64::MAX,
    };
    let foreign = token::issue(&SessionKey::from_bytes([0x01; 32]), &claims);
    let mut past = claims.clone();
    past.expires_at = OffsetDateTime::now_utc().unix_timestamp() as u64 - 1;
    let expired = token::issue(&SessionKey::from_bytes(KEY), &past);
    let (_, rest) = token.split_once('.').unwrap();
    let (_, tag) = rest.split_once('.').unwrap();
    let forged_payload = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(borsh::to_vec(&claims).unwrap())
    };
    let forged = format!("v1.{forged_payload}.{tag}");

    for (header_value, code) in [
        (bearer(&tampered), "session_invalid"),
        (bearer(foreign.as_str()), "session_invalid"),
        (bearer(&forged), "session_invalid"),
        (bearer("garbage"), "session_invalid"),
        (bearer(""), "session_invalid"),
        (format!("Basic {token}"), "session_invalid"),
        (token.clone(), "session_invalid"),
        (bearer(expired.as_str()), "session_expired"),
    ] {
        let (status, body) = relay.get_with("/whoami", Some(&header_value), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{header_value}: {body}");
        assert_eq!(body["code"], code, "{header_value}");
    }
    // The same forgeries in the cookie.
    for value in [&tampered, foreign.as_str(), &forged] {
        let (status, body) = relay
            .get_with(
                "/whoami",
                None,
                Some(&format!("__Host-idos_session={value}")),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("session_invalid"))
        );
    }
    // A cookie under another name is no session.
    let (status, body) = relay
        .get_with("/whoami", None, Some(&format!("idos_session={token}")))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session_missing"))
    );
}

#[tokio::test]
async fn fail_a_token_after_logout_also_after_a_restart() {
    let relay = relay();
    let (token, cookie) = relay.sign_in(&wallet()).await;
    let (status, _, headers) = relay
        .call(
            Request::post("/api/v1/auth/logout")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let cleared = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.starts_with("__Host-idos_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );

    let (status, body) = relay
        .get_with("/whoami", Some(&format!("Bearer {token}")), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session_revoked"))
    );
    let (status, body) = relay.get_with("/whoami", None, Some(&cookie)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session_revoked"))
    );

    let relay = relay.restart();
    let (status, body) = relay
        .get_with("/whoami", Some(&format!("Bearer {token}")), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session_revoked"))
    );
    // Other sessions of the same wallet live on.
    let (other, _) = relay.sign_in(&wallet()).await;
    let (status, _) = relay
        .get_with("/whoami", Some(&format!("Bearer {other}")), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn cookie_writes_need_an_allowed_origin_bearer_writes_do_not() {
    let relay = relay();
    let (token, cookie) = relay.sign_in(&wallet()).await;
    for (origin, expected) in [
        (None, StatusCode::FORBIDDEN),
        (Some("https://evil.example.com"), StatusCode::FORBIDDEN),
        (Some("https://relay.example.com/"), StatusCode::FORBIDDEN),
        (Some("null"), StatusCode::FORBIDDEN),
        (Some(RELAY), StatusCode::OK),
        (Some(DAPP), StatusCode::OK),
    ] {
        let (status, body) = relay.write_with(None, Some(&cookie), origin).await;
        assert_eq!(status, expected, "{origin:?}: {body}");
        if expected == StatusCode::FORBIDDEN {
            assert_eq!(body["code"], "origin_not_allowed");
        } else {
            assert!(body.as_str().unwrap().ends_with(" true"));
        }
    }
    let (status, body) = relay.write_with(Some(&token), None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = relay
        .write_with(Some(&token), None, Some("https://evil.example.com"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.as_str().unwrap().ends_with(" false"));
    // Reads with the cookie need no Origin.
    assert_eq!(
        relay.get_with("/whoami", None, Some(&cookie)).await.0,
        StatusCode::OK
    );
    // Nor can a foreign page log the user out through the cookie.
    let (status, body, _) = relay
        .call(
            Request::post("/api/v1/auth/logout")
                .header(header::COOKIE, &cookie)
                .header(header::ORIGIN, "https://evil.example.com")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("origin_not_allowed"))
    );
}

// Ed25519.

async fn ed25519_sign_in(
    relay: &Relay,
    key: &Ed25519SigningKey,
    text_for: impl FnOnce(&str) -> String,
    nonce: &str,
) -> (StatusCode, Value, axum::http::HeaderMap) {
    let text = text_for(nonce);
    let signature = hex::encode(key.sign(text.as_bytes()).as_bytes());
    relay
        .post(
            "/api/v1/auth/ed25519",
            json!({"public_key": key.public_key().to_text(), "nonce": nonce, "signature": signature}),
            None,
        )
        .await
}

#[tokio::test]
async fn ed25519_sign_in_over_the_documented_text() {
    let relay = relay();
    let key = Ed25519SigningKey::from_seed(&[9; 32]);
    let public = key.public_key();
    let nonce = relay.nonce().await;
    let (status, body, _) = ed25519_sign_in(
        &relay,
        &key,
        |n| ed25519_sign_in_text(RELAY, "idos-test", &public, n),
        &nonce,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["identity"], public.to_text());
    let token = body["token"].as_str().unwrap();
    let (status, who) = relay
        .get_with("/whoami", Some(&format!("Bearer {token}")), None)
        .await;
    assert_eq!(
        (status, who.as_str()),
        (StatusCode::OK, Some(public.to_text().as_str()))
    );
    // The documented text, literally.
    assert_eq!(
        ed25519_sign_in_text(RELAY, "idos-test", &public, &nonce),
        format!(
            "idOS relay sign-in\norigin: {RELAY}\nnetwork: idos-test\npurpose: session\npublic key: {}\nnonce: {nonce}",
            public.to_text()
        )
    );
}

#[tokio::test]
async fn fail_ed25519_sign_in_for_another_relay_network_nonce_or_key() {
    let relay = relay();
    let key = Ed25519SigningKey::from_seed(&[9; 32]);
    let public = key.public_key();
    let other = Ed25519SigningKey::from_seed(&[8; 32]).public_key();
    type TextFor = Box<dyn Fn(&str) -> String>;
    let texts: Vec<TextFor> = vec![
        Box::new(move |n| ed25519_sign_in_text(DAPP, "idos-test", &public, n)),
        Box::new(move |n| ed25519_sign_in_text(RELAY, "idos-main", &public, n)),
        Box::new(move |n| ed25519_sign_in_text(RELAY, "idos-test", &public, &format!("{n}x"))),
        Box::new(move |n| ed25519_sign_in_text(RELAY, "idos-test", &other, n)),
        Box::new(move |n| format!("{}\n", ed25519_sign_in_text(RELAY, "idos-test", &public, n))),
    ];
    for text in texts {
        let nonce = relay.nonce().await;
        let result = ed25519_sign_in(&relay, &key, text, &nonce).await;
        assert_refused(&result, StatusCode::UNAUTHORIZED, "bad_signature");
        // The failed attempt used the nonce up.
        let good = ed25519_sign_in(
            &relay,
            &key,
            |n| ed25519_sign_in_text(RELAY, "idos-test", &public, n),
            &nonce,
        )
        .await;
        assert_refused(&good, StatusCode::UNAUTHORIZED, "nonce_used");
    }
}

#[tokio::test]
async fn fail_ed25519_malformed_key_or_signature_or_unknown_nonce() {
    let relay = relay();
    let nonce = relay.nonce().await;
    let result = relay
        .post(
            "/api/v1/auth/ed25519",
            json!({"public_key": "zz", "nonce": nonce, "signature": "00".repeat(64)}),
            None,
        )
        .await;
    assert_refused(&result, StatusCode::BAD_REQUEST, "invalid_field");
    let nonce = relay.nonce().await;
    let key = Ed25519SigningKey::from_seed(&[9; 32])
        .public_key()
        .to_text();
    let result = relay
        .post(
            "/api/v1/auth/ed25519",
            json!({"public_key": key, "nonce": nonce, "signature": "00".repeat(63)}),
            None,
        )
        .await;
    assert_refused(&result, StatusCode::BAD_REQUEST, "invalid_field");
    let result = relay
        .post(
            "/api/v1/auth/ed25519",
            json!({"public_key": key, "nonce": "NeverIssued0000", "signature": "00".repeat(64)}),
            None,
        )
        .await;
    assert_refused(&result, StatusCode::UNAUTHORIZED, "nonce_unknown");
}

#[tokio::test]
async fn secrets_are_not_in_debug_output() {
    let relay = relay();
    let (token, _) = relay.sign_in(&wallet()).await;
    let claims = relay.auth.verify_token(&token).unwrap();
    let debug = format!(
        "{:?} {:?} {:?}",
        relay.auth,
        claims,
        relay.auth.authenticate(&Method::GET, &{
            let mut h = axum::http::HeaderMap::new();
            h.insert(
                header::AUTHORIZATION,
                format!("Bearer {token}").parse().unwrap(),
            );
            h
        })
    );
    assert!(!debug.contains(&token), "{debug}");
    assert!(!debug.contains(&hex::encode(KEY)), "{debug}");
    let _unused: Arc<RelayStore> = relay.auth.store().clone();
    let _ = &relay.dir;
}

#[tokio::test]
async fn fail_ed25519_sign_in_from_a_foreign_page() {
    let relay = relay();
    let key = Ed25519SigningKey::from_seed(&[9; 32]);
    let public = key.public_key();
    let nonce = relay.nonce().await;
    let text = ed25519_sign_in_text(RELAY, "idos-test", &public, &nonce);
    let body = json!({
        "public_key": public.to_text(),
        "nonce": nonce,
        "signature": hex::encode(key.sign(text.as_bytes()).as_bytes()),
    });
    let result = relay
        .post(
            "/api/v1/auth/ed25519",
            body.clone(),
            Some("https://evil.example.com"),
        )
        .await;
    assert_refused(&result, StatusCode::FORBIDDEN, "origin_not_allowed");
    // From an allowed page it works (with a fresh nonce: the refused attempt used it up).
    let nonce = relay.nonce().await;
    let text = ed25519_sign_in_text(RELAY, "idos-test", &public, &nonce);
    let body = json!({
        "public_key": public.to_text(),
        "nonce": nonce,
        "signature": hex::encode(key.sign(text.as_bytes()).as_bytes()),
    });
    let result = relay.post("/api/v1/auth/ed25519", body, Some(DAPP)).await;
    assert_eq!(result.0, StatusCode::OK, "{}", result.1);
}

#[test]
fn the_openapi_description_lists_the_five_routes_and_spells_out_the_signed_texts() {
    use utoipa::OpenApi as _;
    let doc = relay::auth::routes::AuthApi::openapi();
    let json = serde_json::to_value(&doc).unwrap();
    let paths: Vec<_> = json["paths"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        paths,
        [
            "/api/v1/auth/ed25519",
            "/api/v1/auth/logout",
            "/api/v1/auth/nonce",
            "/api/v1/auth/siwe",
            "/api/v1/auth/wallet"
        ]
    );
    let wallet = json["components"]["schemas"]["WalletRequest"].to_string();
    for line in [
        "idOS relay sign-in",
        "purpose: session",
        "wallet: <the wallet's identifier",
        "NEP-413",
        "ripple-keypairs",
        "SEP-53",
    ] {
        assert!(wallet.contains(line), "{line:?} missing from {wallet}");
    }
    let ed25519 = json["paths"]["/api/v1/auth/ed25519"]["post"].to_string();
    for line in [
        "idOS relay sign-in",
        "origin: ",
        "network: ",
        "purpose: session",
        "public key: ",
        "nonce: ",
    ] {
        assert!(ed25519.contains(line), "{line:?} missing from {ed25519}");
    }
    assert_eq!(
        json["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for schema in [
        "SiweRequest",
        "Ed25519Request",
        "SignInResponse",
        "NonceResponse",
        "ErrorBody",
    ] {
        assert!(
            json["components"]["schemas"][schema].is_object(),
            "{schema}"
        );
    }
}

#[tokio::test]
async fn using_a_nonce_and_logging_out_are_synced_to_disk_issuing_a_nonce_is_not() {
    let relay = relay();
    let store = relay.auth.store().clone();
    let wallet = wallet();
    let nonce = relay.nonce().await;
    assert_eq!(store.synced_writes(), 0);
    let message = Siwe::new(&wallet, &nonce).text();
    let (status, body, _) = relay.siwe(&message, &sign(&wallet, &message), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(store.synced_writes(), 1);
    let token = body["token"].as_str().unwrap();
    let (status, _, _) = relay
        .call(
            Request::post("/api/v1/auth/logout")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(store.synced_writes(), 2);
}

#[tokio::test]
async fn hostile_sign_in_bodies_get_4xx_with_a_code_never_a_session_or_a_fault() {
    let relay = relay();
    let wallet = wallet();
    let message = Siwe::new(&wallet, &relay.nonce().await).text();
    let signature = sign(&wallet, &message);
    // A small deterministic generator: no test depends on luck.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let bytes = message.as_bytes();
    for round in 0..300 {
        let mut changed = bytes.to_vec();
        let i = (next() as usize) % changed.len();
        match round % 3 {
            0 => changed[i] = (next() % 256) as u8,
            1 => changed.truncate(i),
            _ => changed.insert(i, b"\n\r\0 :-x"[(next() % 7) as usize]),
        }
        let text = String::from_utf8_lossy(&changed).into_owned();
        if text == message {
            continue;
        }
        let (status, body, _) = relay.siwe(&text, &signature, None).await;
        assert!(status.is_client_error(), "{status} {body} for {text:?}");
        assert!(body["code"].is_string(), "{body}");
    }
    for body in [
        json!([]),
        json!(null),
        json!({"message": 1, "signature": "0x"}),
        json!({"message": "x".repeat(100_000), "signature": "0x"}),
        json!({"message": message, "signature": ["0x"]}),
        json!({"message": message, "signature": "0x".repeat(10_000)}),
    ] {
        let (status, body, _) = relay.post("/api/v1/auth/siwe", body, None).await;
        assert!(status.is_client_error(), "{status} {body}");
        assert!(body["code"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn pruning_drops_revocations_of_sessions_that_expired_and_keeps_the_others() {
    use relay::store::{Durability, RelayTable, expiring_value};
    let relay = relay();
    let (token, _) = relay.sign_in(&wallet()).await;
    let (status, _, _) = relay
        .call(
            Request::post("/api/v1/auth/logout")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let store = relay.auth.store();
    store
        .put(
            RelayTable::RevokedSessions,
            &[9; 16],
            &expiring_value(1, &[]),
            Durability::Logged,
        )
        .unwrap();
    assert_eq!(store.count(RelayTable::RevokedSessions).unwrap(), 2);
    // The used nonce of the sign-in has not expired either.
    assert_eq!(relay.auth.prune_expired().unwrap(), 1);
    assert_eq!(store.count(RelayTable::RevokedSessions).unwrap(), 1);
    let (status, body) = relay
        .get_with("/whoami", Some(&format!("Bearer {token}")), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session_revoked"))
    );
}

#[tokio::test]
async fn on_a_plain_http_loopback_origin_the_cookie_is_not_secure_and_not_host_prefixed() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Auth::new(
        AuthConfig::new("http://localhost:8080"),
        SessionKey::from_bytes(KEY),
        RelayStore::open(dir.path()).unwrap(),
    )
    .unwrap();
    let relay = Relay {
        app: app(&auth),
        auth,
        dir,
    };
    let wallet = wallet();
    let mut siwe = Siwe::new(&wallet, &relay.nonce().await);
    // What a wallet on http://localhost:8080 writes: the bare host and port.
    siwe.origin_line = "localhost:8080".into();
    siwe.uri = "http://localhost:8080/".into();
    let message = siwe.text();
    let (status, body, headers) = relay
        .siwe(
            &message,
            &sign(&wallet, &message),
            Some("http://localhost:8080"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("idos_session="), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    assert_eq!(
        relay.get_with("/whoami", None, Some(pair)).await.0,
        StatusCode::OK
    );
}
