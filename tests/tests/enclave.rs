//! Browser tests of the enclave: real Chromium (chromedriver + fantoccini), the enclave served by
//! `relay::web::enclave_router` on one loopback port and host pages on others (distinct ports
//! are distinct origins). Needs `trunk build` first (scripts/test.sh runs it).

use e2e::{Browser, back_to, enclave_dist, host_router, js, open_dialog, poll, serve};
use fantoccini::{Client, Locator};
use protocol::kdf::{KdfVersion, derive_user_key};
use protocol::nacl_box::encrypt;
use relay::web::{EnclaveWebConfig, enclave_router};
use serde_json::{Value, json};
use std::time::Duration;

const UID: &str = "9f51b3b2-4cbe-4c2b-8ea3-0b0c1b2f1a11";
const PASSWORD: &str = "correct horse battery staple";
const SECRET: &str = r#"{"credentialSubject":{"name":"Ada Lovelace","level":"plus"}}"#;

struct Sites {
    host: String,
    evil: String,
    enclave: String,
}

async fn sites() -> Sites {
    let host = serve(host_router()).await;
    let evil = serve(host_router()).await;
    let cfg = EnclaveWebConfig::new(enclave_dist(), vec![host.clone()]).expect("valid origins");
    let enclave = serve(enclave_router(cfg)).await;
    Sites {
        host,
        evil,
        enclave,
    }
}

fn credential() -> (Value, String) {
    let key = derive_user_key(PASSWORD, UID, KdfVersion::default()).unwrap();
    let e = encrypt(SECRET.as_bytes(), &key.public_key()).unwrap();
    let cred = json!({
        "id": "2242fc3b-2d17-4161-b751-8abad15e1ef4",
        "content": protocol::codec::base64_encode(&e.content),
        "encryptorPublicKey": e.encryptor_public_key.to_text(),
        "publicNotes": "{\"type\":\"KYC\",\"level\":\"plus\"}",
    });
    (cred, key.public_key().to_text())
}

async fn open_host(c: &Client, host: &str, enclave: &str) -> Value {
    c.goto(&format!("{host}/index.html")).await.unwrap();
    poll(c, "return window.hostReady === true", 10, |v| v == true).await;
    js(
        c,
        "return window.connect(arguments[0], 4000)",
        vec![json!(format!("{enclave}/"))],
    )
    .await
}

async fn start(c: &Client, method: &str, params: Value) -> i64 {
    js(
        c,
        "return window.start(arguments[0], arguments[1])",
        vec![json!(method), params],
    )
    .await
    .as_i64()
    .unwrap()
}

async fn outcome(c: &Client, id: i64, secs: u64) -> Value {
    poll(c, &format!("return window.calls[{id}]"), secs, |v| {
        v["state"] != "pending"
    })
    .await
}

async fn dialog_state(c: &Client, want: &str) -> Value {
    poll(
        c,
        "return document.body && document.body.dataset.state",
        10,
        |v| v == want,
    )
    .await
}

async fn unlock_in_dialog(c: &Client, password: &str, remember: &str) {
    assert_eq!(dialog_state(c, "unlock").await, "unlock");
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    c.find(Locator::Css(&format!(
        "input[name=remember][value='{remember}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    c.find(Locator::Id("unlock-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Opens `url` in a new window named `name` from a real click (popup blocking is on);
/// the window is `window.opened` in the page.
async fn click_to_open(c: &Client, url: &str, name: &str) {
    js(
        c,
        r#"const b = document.createElement('button');
           b.id = 'open-window';
           b.textContent = 'open';
           b.onclick = () => { window.opened = window.open(arguments[0], arguments[1]); };
           document.body.appendChild(b);
           return 1;"#,
        vec![json!(url), json!(name)],
    )
    .await;
    c.find(Locator::Id("open-window"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test]
async fn release_needs_the_users_approval_in_the_dialog() {
    let s = sites().await;
    let b = Browser::start().await;
    let c = &b.client;
    assert_eq!(open_host(c, &s.host, &s.enclave).await, json!({"ok": true}));
    let (cred, pk) = credential();
    let id = start(
        c,
        "configure",
        json!({"userId": UID, "expectedPublicKey": pk}),
    )
    .await;
    assert_eq!(outcome(c, id, 10).await["result"]["unlocked"], false);

    // 1. Unlock: a wrong password is refused in the dialog, offline; the right one works.
    let release = start(c, "release", json!({"credential": cred})).await;
    let main = open_dialog(c).await;
    unlock_in_dialog(c, "not the password", "7d").await;
    let err = poll(
        c,
        "return document.getElementById('unlock-error').textContent",
        15,
        |v| v != "",
    )
    .await;
    assert_eq!(err, "Wrong password. Try again.");
    unlock_in_dialog(c, PASSWORD, "7d").await;
    back_to(c, &main).await;
    assert_eq!(
        js(c, &format!("return window.calls[{release}].state"), vec![]).await,
        "pending"
    );

    // 2. The consent dialog names the requesting site and the credential; "Deny" is a typed error.
    open_dialog(c).await;
    assert_eq!(dialog_state(c, "release").await, "release");
    assert_eq!(
        js(
            c,
            "return document.getElementById('consent-origin').textContent",
            vec![]
        )
        .await,
        json!(s.host)
    );
    assert_eq!(
        js(
            c,
            "return document.getElementById('consent-id').textContent",
            vec![]
        )
        .await,
        cred["id"]
    );
    c.find(Locator::Id("deny"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    back_to(c, &main).await;
    let denied = outcome(c, release, 10).await;
    assert_eq!(denied["state"], "error", "{denied}");
    assert_eq!(denied["error"]["code"], "user_denied", "{denied}");
    assert!(!denied.to_string().contains("Lovelace"));

    // 3. "Approve" releases the plaintext.
    let release = start(c, "release", json!({"credential": cred})).await;
    open_dialog(c).await;
    dialog_state(c, "release").await;
    c.find(Locator::Id("approve"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    back_to(c, &main).await;
    let approved = outcome(c, release, 10).await;
    assert_eq!(approved["result"]["plaintext"], SECRET, "{approved}");

    // 4. Share: the user approves the grantee in the dialog; the host gets ciphertext only.
    let grantee = protocol::nacl_box::EncryptionSecretKey::generate();
    let share = start(
        c,
        "share",
        json!({"credential": cred, "granteePublicKey": grantee.public_key().to_text(), "granteeLabel": "Acme Exchange"}),
    )
    .await;
    open_dialog(c).await;
    assert_eq!(dialog_state(c, "share").await, "share");
    assert_eq!(
        js(
            c,
            "return document.getElementById('consent-grantee').textContent",
            vec![]
        )
        .await,
        grantee.public_key().to_text()
    );
    assert_eq!(
        js(
            c,
            "return document.getElementById('consent-grantee-label').textContent",
            vec![]
        )
        .await,
        "Acme Exchange"
    );
    c.find(Locator::Id("approve"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    back_to(c, &main).await;
    let copy = outcome(c, share, 10).await;
    assert_eq!(copy["state"], "done", "{copy}");
    assert!(!copy.to_string().contains("Lovelace"));
    let content =
        protocol::codec::base64_decode("content", copy["result"]["content"].as_str().unwrap())
            .unwrap();
    let epk = protocol::bytes::EncryptionPublicKey::parse(
        copy["result"]["encryptorPublicKey"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(
        &protocol::nacl_box::decrypt(&content, &epk, &grantee).unwrap()[..],
        SECRET.as_bytes()
    );

    // ...and a share the user denies makes no copy.
    let share = start(
        c,
        "share",
        json!({"credential": cred, "granteePublicKey": grantee.public_key().to_text()}),
    )
    .await;
    open_dialog(c).await;
    dialog_state(c, "share").await;
    c.find(Locator::Id("deny"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    back_to(c, &main).await;
    assert_eq!(outcome(c, share, 10).await["error"]["code"], "user_denied");

    // Filter on private fields answers ids only; encrypt makes content the user's key opens.
    let id = start(
        c,
        "filter",
        json!({"credentials": [cred], "pick": {"credentialSubject.level": ["plus"]}}),
    )
    .await;
    assert_eq!(
        outcome(c, id, 10).await,
        json!({"state": "done", "result": {"ids": [cred["id"]]}})
    );
    let id = start(
        c,
        "filter",
        json!({"credentials": [cred], "omit": {"credentialSubject.name": ["Ada Lovelace"]}}),
    )
    .await;
    assert_eq!(outcome(c, id, 10).await["result"]["ids"], json!([]));
    let id = start(c, "encrypt", json!({"plaintext": "note to self"})).await;
    let e = outcome(c, id, 10).await;
    let user_key = derive_user_key(PASSWORD, UID, KdfVersion::default()).unwrap();
    let content =
        protocol::codec::base64_decode("content", e["result"]["content"].as_str().unwrap())
            .unwrap();
    let epk = protocol::bytes::EncryptionPublicKey::parse(
        e["result"]["encryptorPublicKey"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(
        &protocol::nacl_box::decrypt(&content, &epk, &user_key).unwrap()[..],
        b"note to self"
    );
    // Backup shows the key in the dialog only.
    let id = start(c, "backup", json!({})).await;
    open_dialog(c).await;
    assert_eq!(dialog_state(c, "backup").await, "backup");
    assert_eq!(
        js(
            c,
            "return document.getElementById('backup-key').textContent",
            vec![]
        )
        .await,
        user_key.to_base64().as_str()
    );
    c.find(Locator::Id("backup-done"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    back_to(c, &main).await;
    assert_eq!(
        outcome(c, id, 10).await,
        json!({"state": "done", "result": {}})
    );

    // 5. The key was remembered for 7 days: after a reload the enclave is unlocked without a dialog.
    assert_eq!(open_host(c, &s.host, &s.enclave).await, json!({"ok": true}));
    let id = start(
        c,
        "configure",
        json!({"userId": UID, "expectedPublicKey": pk}),
    )
    .await;
    assert_eq!(outcome(c, id, 10).await["result"]["unlocked"], true);
    // ...and "forget" wipes it.
    let id = start(c, "forget", json!({})).await;
    assert_eq!(outcome(c, id, 10).await["result"]["unlocked"], false);
    assert_eq!(open_host(c, &s.host, &s.enclave).await, json!({"ok": true}));
    let id = start(
        c,
        "configure",
        json!({"userId": UID, "expectedPublicKey": pk}),
    )
    .await;
    assert_eq!(outcome(c, id, 10).await["result"]["unlocked"], false);

    // 6. Methods outside the list are refused with a typed error.
    let id = start(c, "decrypt", json!({"credential": cred})).await;
    assert_eq!(outcome(c, id, 10).await["error"]["code"], "unknown_method");
    b.close().await;
}

#[tokio::test]
async fn messages_forged_to_the_dialog_from_another_window_are_ignored() {
    let s = sites().await;
    let b = Browser::start().await;
    let c = &b.client;
    assert_eq!(open_host(c, &s.host, &s.enclave).await, json!({"ok": true}));
    let (cred, pk) = credential();
    let id = start(
        c,
        "configure",
        json!({"userId": UID, "expectedPublicKey": pk}),
    )
    .await;
    outcome(c, id, 10).await;
    let view = start(c, "view", json!({"credential": cred})).await;
    let main = open_dialog(c).await;
    assert_eq!(dialog_state(c, "unlock").await, "unlock");

    // The host page (another window, another origin) reaches the dialog by its name and posts
    // a forged request with a port of its own.
    c.switch_to_window(main.clone()).await.unwrap();
    let reached = js(
        c,
        r#"const w = window.open('', 'idos-dialog');
           if (!w) return 'no window';
           const ch = new MessageChannel();
           window.forgedAnswers = [];
           ch.port1.onmessage = (e) => window.forgedAnswers.push(e.data);
           w.postMessage({intent: 'release', payload: {origin: 'https://trusted.example', plaintext: 'forged'}}, '*', [ch.port2]);
           return 'posted';"#,
        vec![],
    )
    .await;
    assert_eq!(reached, "posted");
    let dialog = c
        .windows()
        .await
        .unwrap()
        .into_iter()
        .find(|w| *w != main)
        .expect("dialog still open");
    c.switch_to_window(dialog.clone()).await.unwrap();
    let ignored = poll(c, "return document.body.dataset.ignored || '0'", 5, |v| {
        v != "0"
    })
    .await;
    assert_eq!(
        ignored, "1",
        "the forged message reached the dialog and was ignored"
    );
    // A message the dialog posts to itself is not from its opener either.
    js(c, "window.postMessage({intent: 'backup', payload: {secretKey: 'x'}}, '*', [new MessageChannel().port2]); return 1", vec![]).await;
    poll(c, "return document.body.dataset.ignored", 5, |v| v == "2").await;
    assert_eq!(
        js(c, "return document.body.dataset.state", vec![]).await,
        "unlock",
        "the dialog still shows the real request"
    );
    assert_eq!(
        js(
            c,
            "return document.getElementById('consent').hidden",
            vec![]
        )
        .await,
        true
    );

    // The real request still completes (by keyboard: the password field has focus, Enter
    // submits, Escape closes the view); the forger got no answer.
    assert_eq!(
        js(c, "return document.activeElement.id", vec![]).await,
        "password"
    );
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(&format!("{PASSWORD}\u{E007}"))
        .await
        .unwrap();
    back_to(c, &main).await;
    open_dialog(c).await;
    assert_eq!(dialog_state(c, "view").await, "view");
    assert_eq!(
        js(
            c,
            "return document.getElementById('view-content').textContent",
            vec![]
        )
        .await,
        SECRET
    );
    assert_eq!(
        js(c, "return document.activeElement.id", vec![]).await,
        "view-close"
    );
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    back_to(c, &main).await;
    assert_eq!(
        outcome(c, view, 10).await,
        json!({"state": "done", "result": {}})
    );
    assert_eq!(js(c, "return window.forgedAnswers.length", vec![]).await, 0);

    // A dialog opened by a page of another origin refuses to work at all.
    click_to_open(c, &format!("{}/dialog.html", s.enclave), "foreign").await;
    let foreign = loop {
        let ws = c.windows().await.unwrap();
        if let Some(w) = ws.into_iter().find(|w| *w != main) {
            break w;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    c.switch_to_window(foreign).await.unwrap();
    assert_eq!(dialog_state(c, "refused").await, "refused");
    b.close().await;
}

#[tokio::test]
async fn a_page_on_a_non_allowed_origin_gets_nothing() {
    let s = sites().await;
    let b = Browser::start().await;
    let c = &b.client;
    // Framing is blocked by the CSP (frame-ancestors): the enclave never starts, the SDK times out.
    let r = open_host(c, &s.evil, &s.enclave).await;
    assert_eq!(r["error"]["code"], "enclave_unavailable", "{r}");
    // The frame holds the browser's error page, not the enclave.
    c.enter_frame(0).await.unwrap();
    let inside = js(
        c,
        "return [location.href, !!document.getElementById('attention')]",
        vec![],
    )
    .await;
    c.enter_parent_frame().await.unwrap();
    assert_eq!(inside[1], false, "{inside}");
    assert!(
        !inside[0].as_str().unwrap_or("").starts_with(&s.enclave),
        "{inside}"
    );
    // The same enclave frames fine on the allowed origin (so the refusal above is the CSP's).
    assert_eq!(open_host(c, &s.host, &s.enclave).await, json!({"ok": true}));
    c.enter_frame(0).await.unwrap();
    let inside = js(
        c,
        "return [location.href, !!document.getElementById('attention')]",
        vec![],
    )
    .await;
    c.enter_parent_frame().await.unwrap();
    assert_eq!(inside, json!([format!("{}/", s.enclave), true]));
    // Opening the enclave page as a window instead of a frame: it refuses to run top-level,
    // so a connect message gets no answer.
    click_to_open(c, &format!("{}/", s.enclave), "enclave-top").await;
    let got = js(
        c,
        r#"const w = window.opened;
           await new Promise(r => setTimeout(r, 1500));
           const ch = new MessageChannel();
           const answers = [];
           ch.port1.onmessage = (e) => answers.push(e.data);
           w.postMessage({type: 'idos-enclave:connect', version: 1}, '*', [ch.port2]);
           await new Promise(r => setTimeout(r, 1500));
           return answers;"#,
        vec![],
    )
    .await;
    assert_eq!(got, json!([]));
    b.close().await;
}

#[tokio::test]
async fn enclave_pages_send_their_security_headers() {
    let s = sites().await;
    let get = |path: &'static str| {
        let base = s.enclave.clone();
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let addr = base.trim_start_matches("http://").to_owned();
            let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            stream.write_all(req.as_bytes()).await.unwrap();
            let mut out = Vec::new();
            stream.read_to_end(&mut out).await.unwrap();
            String::from_utf8_lossy(&out).to_lowercase()
        }
    };
    let index = get("/").await;
    assert!(
        index.contains(&format!("frame-ancestors {}\r\n", s.host)),
        "{index}"
    );
    assert!(!index.contains("unsafe-inline"));
    assert!(index.contains("x-content-type-options: nosniff"));
    assert!(index.contains("referrer-policy: no-referrer"));
    let dialog = get("/dialog.html").await;
    assert!(dialog.contains("frame-ancestors 'none'"), "{dialog}");
    let config = get("/config.json").await;
    assert!(
        config.contains(&format!("{{\"allowedparentorigins\":[\"{}\"]}}", s.host)),
        "{config}"
    );
    let wasm = get("/enclave_bg.wasm").await;
    assert!(wasm.contains("x-content-type-options: nosniff") && wasm.contains("application/wasm"));
    assert!(
        wasm.contains("cache-control: no-cache"),
        "{}",
        &wasm[..400.min(wasm.len())]
    );
    assert!(index.contains("cache-control: no-store"));
}

#[tokio::test]
async fn password_change_re_encrypts_originals_and_closing_the_dialog_is_a_typed_error() {
    let s = sites().await;
    let b = Browser::start().await;
    let c = &b.client;
    assert_eq!(open_host(c, &s.host, &s.enclave).await, json!({"ok": true}));
    let (cred, pk) = credential();
    let id = start(
        c,
        "configure",
        json!({"userId": UID, "expectedPublicKey": pk}),
    )
    .await;
    outcome(c, id, 10).await;

    // Closing the dialog window instead of answering.
    let view = start(c, "view", json!({"credential": cred})).await;
    let main = open_dialog(c).await;
    dialog_state(c, "unlock").await;
    c.close_window().await.unwrap();
    c.switch_to_window(main.clone()).await.unwrap();
    let closed = outcome(c, view, 10).await;
    assert_eq!(closed["error"]["code"], "dialog_closed", "{closed}");

    // Change the password: unlock, then current + new password in the dialog.
    let new_password = "a much better passphrase";
    let change = start(c, "changePassword", json!({"originals": [cred]})).await;
    open_dialog(c).await;
    unlock_in_dialog(c, PASSWORD, "none").await;
    back_to(c, &main).await;
    open_dialog(c).await;
    assert_eq!(dialog_state(c, "changePassword").await, "changePassword");
    c.find(Locator::Id("current-password"))
        .await
        .unwrap()
        .send_keys("wrong")
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(new_password)
        .await
        .unwrap();
    c.find(Locator::Id("password-confirm"))
        .await
        .unwrap()
        .send_keys(new_password)
        .await
        .unwrap();
    c.find(Locator::Id("unlock-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let err = poll(
        c,
        "return document.getElementById('unlock-error').textContent",
        15,
        |v| v != "",
    )
    .await;
    assert_eq!(err, "Wrong password. Try again.");
    c.find(Locator::Id("current-password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(new_password)
        .await
        .unwrap();
    c.find(Locator::Id("unlock-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    back_to(c, &main).await;
    let rotation = outcome(c, change, 15).await;
    assert_eq!(rotation["state"], "done", "{rotation}");
    let new_key = derive_user_key(new_password, UID, KdfVersion::default()).unwrap();
    let r = &rotation["result"];
    assert_eq!(
        r["recipient_encryption_public_key"],
        new_key.public_key().to_text()
    );
    assert_eq!(r["encryption_password_store"], "user");
    let o = &r["originals"][0];
    assert_eq!(o["id"], cred["id"]);
    let content =
        protocol::codec::base64_decode("content", o["content"].as_str().unwrap()).unwrap();
    let epk =
        protocol::bytes::EncryptionPublicKey::parse(o["encryptor_public_key"].as_str().unwrap())
            .unwrap();
    assert_eq!(
        &protocol::nacl_box::decrypt(&content, &epk, &new_key).unwrap()[..],
        SECRET.as_bytes()
    );
    // The enclave now holds the new key.
    let id = start(
        c,
        "configure",
        json!({"userId": UID, "expectedPublicKey": new_key.public_key().to_text()}),
    )
    .await;
    assert_eq!(outcome(c, id, 10).await["result"]["unlocked"], true);
    b.close().await;
}
