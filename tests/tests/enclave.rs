//! Browser tests of the enclave's flows and delivery: real Chromium (chromedriver + fantoccini),
//! the enclave served by `relay::web::enclave_router` on one loopback port and host pages on
//! others (distinct ports are distinct origins). Needs `trunk build` first (scripts/test.sh
//! runs it). The attacks of a malicious host are in `enclave_attacks.rs`.

use e2e::kit::*;
use e2e::{Browser, back_to, enclave_dist, host_router, js, open_dialog, poll, serve};
use fantoccini::Locator;
use protocol::kdf::{KdfVersion, derive_user_key};
use relay::web::{EnclaveWebConfig, enclave_router};
use serde_json::{Value, json};

fn decrypt_for(key: &protocol::nacl_box::EncryptionSecretKey, sealed: &Value) -> Vec<u8> {
    let content =
        protocol::codec::base64_decode("content", sealed["content"].as_str().unwrap()).unwrap();
    let epk = sealed["encryptorPublicKey"]
        .as_str()
        .or(sealed["encryptor_public_key"].as_str())
        .unwrap();
    let epk = protocol::bytes::EncryptionPublicKey::parse(epk).unwrap();
    protocol::nacl_box::decrypt(&content, &epk, key)
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn release_needs_the_users_approval_in_the_dialog() {
    let s = sites().await;
    let b = Browser::start().await;
    let c = &b.client;
    assert_eq!(open_host(c, &s.host, &s.enclave).await, json!({"ok": true}));
    let (cred, pk) = credential();
    assert_eq!(configure(c, Some(&pk)).await["result"]["unlocked"], false);

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
    assert_eq!(text(c, "consent-origin").await, json!(s.host));
    assert_eq!(text(c, "credential-id").await, cred["id"]);
    c.find(Locator::Id("deny"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    back_to(c, &main).await;
    let denied = outcome(c, release, 10).await;
    assert_eq!(denied["error"]["code"], "user_denied", "{denied}");
    assert!(!denied.to_string().contains("Lovelace"));

    // 3. "Approve" releases the plaintext.
    let release = start(c, "release", json!({"credential": cred})).await;
    open_dialog(c).await;
    dialog_state(c, "release").await;
    click_armed(c, "approve").await;
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
        text(c, "grantee-key").await,
        json!(grantee.public_key().to_text())
    );
    assert_eq!(text(c, "grantee-label").await, "Acme Exchange");
    click_armed(c, "approve").await;
    back_to(c, &main).await;
    let copy = outcome(c, share, 10).await;
    assert!(!copy.to_string().contains("Lovelace"), "{copy}");
    assert_eq!(decrypt_for(&grantee, &copy["result"]), SECRET.as_bytes());

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

    // Encrypt makes content the user's key opens.
    let id = start(c, "encrypt", json!({"plaintext": "note to self"})).await;
    let e = outcome(c, id, 10).await;
    assert_eq!(decrypt_for(&user_key(), &e["result"]), b"note to self");

    // Backup shows the key in the dialog only.
    let id = start(c, "backup", json!({})).await;
    open_dialog(c).await;
    assert_eq!(dialog_state(c, "backup").await, "backup");
    assert_eq!(text(c, "origin").await, json!(s.host));
    assert_eq!(
        text(c, "backup-key").await,
        json!(user_key().to_base64().as_str())
    );
    click_armed(c, "backup-done").await;
    back_to(c, &main).await;
    assert_eq!(
        outcome(c, id, 10).await,
        json!({"state": "done", "result": {}})
    );

    // 5. The key was remembered for 7 days: after a reload it is unlocked without a dialog...
    assert_eq!(open_host(c, &s.host, &s.enclave).await, json!({"ok": true}));
    assert_eq!(configure(c, Some(&pk)).await["result"]["unlocked"], true);
    // ...and "forget" wipes it.
    let id = start(c, "forget", json!({})).await;
    assert_eq!(outcome(c, id, 10).await["result"]["unlocked"], false);
    assert_eq!(open_host(c, &s.host, &s.enclave).await, json!({"ok": true}));
    assert_eq!(configure(c, Some(&pk)).await["result"]["unlocked"], false);

    // 6. Methods outside the list are refused with a typed error.
    let id = start(c, "decrypt", json!({"credential": cred})).await;
    assert_eq!(outcome(c, id, 10).await["error"]["code"], "unknown_method");
    b.close().await;
}

/// Issue 9 item 6: `changePassword` returns the rotation but keeps the old key until the host
/// confirms the committed rotation; `abandonPasswordChange` drops the new key.
#[tokio::test]
async fn a_password_change_takes_effect_only_when_confirmed() {
    let s = sites().await;
    let b = Browser::start().await;
    let c = &b.client;
    assert_eq!(open_host(c, &s.host, &s.enclave).await, json!({"ok": true}));
    let (cred, pk) = credential();
    configure(c, Some(&pk)).await;

    // Closing the dialog window instead of answering is `dialog_closed`.
    let view = start(c, "view", json!({"credential": cred})).await;
    let main = open_dialog(c).await;
    dialog_state(c, "unlock").await;
    c.close_window().await.unwrap();
    c.switch_to_window(main.clone()).await.unwrap();
    let closed = outcome(c, view, 10).await;
    assert_eq!(closed["error"]["code"], "dialog_closed", "{closed}");

    let new_password = "a much better passphrase";
    let new_key = derive_user_key(new_password, UID, KdfVersion::default()).unwrap();
    let change = |c| async move {
        let id = start(c, "changePassword", json!({"originals": [credential().0]})).await;
        let main = open_dialog(c).await;
        if dialog_state(c, "changePassword").await != "changePassword" {
            unlock_in_dialog(c, PASSWORD, "7d").await;
            back_to(c, &main).await;
            open_dialog(c).await;
            dialog_state(c, "changePassword").await;
        }
        fill_dialog(
            c,
            &[
                ("current-password", PASSWORD),
                ("password", new_password),
                ("password-confirm", new_password),
            ],
            "7d",
        )
        .await;
        click_armed(c, "unlock-submit").await;
        back_to(c, &main).await;
        outcome(c, id, 15).await
    };
    let rotation = change(c).await;
    assert_eq!(rotation["state"], "done", "{rotation}");
    let r = &rotation["result"];
    assert_eq!(
        r["recipient_encryption_public_key"],
        new_key.public_key().to_text()
    );
    assert_eq!(r["encryption_password_store"], "user");
    assert_eq!(r["originals"][0]["id"], cred["id"]);
    assert_eq!(decrypt_for(&new_key, &r["originals"][0]), SECRET.as_bytes());

    // Not confirmed: the old key is still the one in use, in memory and in storage.
    let status = configure(c, Some(&pk)).await;
    assert_eq!(status["result"]["unlocked"], true, "{status}");
    assert_eq!(status["result"]["publicKey"], pk);
    assert_eq!(
        status["result"]["pendingPublicKey"],
        new_key.public_key().to_text()
    );
    let id = start(c, "encrypt", json!({"plaintext": "x"})).await;
    assert_eq!(
        decrypt_for(&user_key(), &outcome(c, id, 10).await["result"]),
        b"x"
    );
    // Abandoned: nothing changes, and there is nothing left to confirm.
    let id = start(c, "abandonPasswordChange", json!({})).await;
    assert_eq!(
        outcome(c, id, 10).await["result"]["pendingPublicKey"],
        Value::Null
    );
    let id = start(
        c,
        "confirmPasswordChange",
        json!({"publicKey": new_key.public_key().to_text()}),
    )
    .await;
    assert_eq!(
        outcome(c, id, 10).await["error"]["code"],
        "no_pending_change"
    );
    // A reload (the host never submitted the rotation) still finds the old key remembered.
    assert_eq!(open_host(c, &s.host, &s.enclave).await, json!({"ok": true}));
    assert_eq!(configure(c, Some(&pk)).await["result"]["unlocked"], true);

    // Changed again and confirmed (for the right key only): the new key is used and remembered.
    let rotation = change(c).await;
    assert_eq!(rotation["state"], "done", "{rotation}");
    let id = start(c, "confirmPasswordChange", json!({"publicKey": pk})).await;
    assert_eq!(
        outcome(c, id, 10).await["error"]["code"],
        "no_pending_change"
    );
    let id = start(
        c,
        "confirmPasswordChange",
        json!({"publicKey": new_key.public_key().to_text()}),
    )
    .await;
    let confirmed = outcome(c, id, 10).await;
    assert_eq!(
        confirmed["result"]["publicKey"],
        new_key.public_key().to_text(),
        "{confirmed}"
    );
    assert_eq!(open_host(c, &s.host, &s.enclave).await, json!({"ok": true}));
    let status = configure(c, Some(&new_key.public_key().to_text())).await;
    assert_eq!(status["result"]["unlocked"], true, "{status}");
    b.close().await;
}

/// Issue 9 item 9: each dialog mode shows exactly the controls it needs (the `hidden`
/// attribute wins over `.row { display: flex }`), and a credential reads as labelled rows.
#[tokio::test]
async fn each_dialog_mode_shows_exactly_its_controls() {
    let s = sites().await;
    let b = Browser::start().await;
    let c = &b.client;
    let remember = [
        "remember=none",
        "remember=session",
        "remember=7d",
        "remember=30d",
    ];
    let with_remember = |fields: &[&str]| {
        let mut v: Vec<&str> = fields.to_vec();
        v.extend(remember);
        json!(v)
    };
    let expected = |mode: &str| -> Value {
        match mode {
            "create" => {
                json!({"inputs": with_remember(&["password", "password-confirm"]), "buttons": ["unlock-submit", "unlock-cancel"]})
            }
            "unlock" => {
                json!({"inputs": with_remember(&["password"]), "buttons": ["unlock-submit", "unlock-cancel"]})
            }
            "change" => {
                json!({"inputs": with_remember(&["current-password", "password", "password-confirm"]), "buttons": ["unlock-submit", "unlock-cancel"]})
            }
            "allow" => {
                json!({"inputs": with_remember(&["password"]), "buttons": ["allow-approve", "unlock-submit", "unlock-cancel"]})
            }
            "release" | "share" => json!({"inputs": [], "buttons": ["approve", "deny"]}),
            "view" => json!({"inputs": [], "buttons": ["view-close"]}),
            "filter" => json!({"inputs": [], "buttons": ["filter-approve", "filter-deny"]}),
            "backup" => json!({"inputs": [], "buttons": ["backup-done"]}),
            other => panic!("unknown mode {other}"),
        }
    };
    let mut seen = Vec::new();
    tour_dialog_modes(c, &s, async |mode: &str| {
        assert_eq!(
            visible_controls(c).await,
            expected(mode),
            "controls of the {mode} dialog"
        );
        let grantee_shown = js(c, "return document.getElementById('grantee').checkVisibility()", vec![]).await;
        assert_eq!(grantee_shown, mode == "share", "{mode}");
        if mode == "release" || mode == "view" {
            // Labelled rows of credentialSubject, nested values indented; raw JSON one click away.
            let rows = js(
                c,
                r#"return [...document.querySelectorAll('#credential-fields .field')]
                     .map(f => [f.className, f.querySelector('dt').textContent,
                                f.querySelector('dd') ? f.querySelector('dd').textContent : null]);"#,
                vec![],
            )
            .await;
            let rows = rows.as_array().unwrap();
            assert!(rows.contains(&json!(["field d0", "Birth date", "1815-12-10"])), "{rows:?}");
            assert!(rows.contains(&json!(["field group d0", "Address", null])), "{rows:?}");
            assert!(rows.contains(&json!(["field d1", "City", "London"])), "{rows:?}");
            let raw_closed = js(c, "return !document.getElementById('credential-raw').checkVisibility()", vec![]).await;
            assert_eq!(raw_closed, true);
            c.find(Locator::Css("#credential-raw-box summary")).await.unwrap().click().await.unwrap();
            assert_eq!(text(c, "credential-raw").await, SECRET);
        }
        seen.push(mode.to_owned());
    })
    .await;
    assert_eq!(seen, MODES);
    b.close().await;
}

/// Issue 9 item 7, issue 10 item 7: every enclave response carries its security headers (CORP
/// included); host origins must be https except loopback; the production wasm has no bench
/// exports.
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
        index.contains(&format!("frame-ancestors {} {}\r\n", s.host, s.host2)),
        "{index}"
    );
    assert!(!index.contains("unsafe-inline"));
    let dialog = get("/dialog.html").await;
    assert!(dialog.contains("frame-ancestors 'none'"), "{dialog}");
    for (what, response) in [
        ("index", &index),
        ("dialog", &dialog),
        ("wasm", &get("/enclave_bg.wasm").await),
        ("js", &get("/enclave.js").await),
        ("config", &get("/config.json").await),
    ] {
        for header in [
            "x-content-type-options: nosniff",
            "referrer-policy: no-referrer",
            "cross-origin-resource-policy: same-origin",
            "origin-agent-cluster: ?1",
            "permissions-policy: accelerometer=(), autoplay=()",
        ] {
            assert!(response.contains(header), "{what} lacks {header}");
        }
        for denied in [
            "camera=()",
            "microphone=()",
            "geolocation=()",
            "payment=()",
            "usb=()",
        ] {
            assert!(response.contains(denied), "{what} does not deny {denied}");
        }
    }
    let config = get("/config.json").await;
    assert!(
        config.contains(&format!(
            "{{\"allowedparentorigins\":[\"{}\",\"{}\"]}}",
            s.host, s.host2
        )),
        "{config}"
    );
    let wasm = get("/enclave_bg.wasm").await;
    assert!(wasm.contains("application/wasm"));
    assert!(wasm.contains("cache-control: no-cache"));
    assert!(index.contains("cache-control: no-store"));
    // The bench exports stay out of the production build.
    let glue = std::fs::read_to_string(enclave_dist().join("enclave.js")).unwrap();
    assert!(!glue.contains("bench_kdf") && !glue.contains("bench_box_open"));
    // A plain-http host off loopback cannot be configured.
    assert!(EnclaveWebConfig::new(enclave_dist(), vec!["http://dapp.example.com".into()]).is_err());
}

/// Issue 9 item 7: in the browser, the enclave frame and the dialog get their own agent
/// cluster, no powerful feature, and the SDK's sandbox allows neither forms nor modals.
#[tokio::test]
async fn the_enclave_runs_isolated_with_no_powerful_features() {
    let s = sites().await;
    let b = Browser::start().await;
    let c = &b.client;
    assert_eq!(open_host(c, &s.host, &s.enclave).await, json!({"ok": true}));
    let sandbox = js(
        c,
        "return document.getElementById('idos-enclave-iframe').getAttribute('sandbox')",
        vec![],
    )
    .await;
    assert_eq!(
        sandbox,
        "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox"
    );
    let probe = "return [window.originAgentCluster, \
                 ['camera', 'microphone', 'geolocation', 'payment', 'usb', 'clipboard-read'] \
                   .filter(f => document.featurePolicy.allowsFeature(f))]";
    c.enter_frame(0).await.unwrap();
    assert_eq!(js(c, probe, vec![]).await, json!([true, []]));
    c.enter_parent_frame().await.unwrap();
    let (cred, pk) = credential();
    configure(c, Some(&pk)).await;
    let view = start(c, "view", json!({"credential": cred})).await;
    let main = open_dialog(c).await;
    dialog_state(c, "unlock").await;
    assert_eq!(js(c, probe, vec![]).await, json!([true, []]));
    c.close_window().await.unwrap();
    c.switch_to_window(main).await.unwrap();
    outcome(c, view, 10).await;
    b.close().await;
}

/// Issue 9 item 7: both pages run only the wasm and glue they were built with: a changed
/// `enclave.js`, snippet or `enclave_bg.wasm` stops them (SHA-384 pinned by the loader).
#[tokio::test]
async fn the_enclave_pages_run_only_the_code_they_pin() {
    let b = Browser::start().await;
    let c = &b.client;
    // A page ran its wasm when the top-level enclave page says so, or the dialog refuses.
    let ran = async |origin: &str| -> (Value, Value) {
        c.goto(&format!("{origin}/")).await.unwrap();
        let index = poll(
            c,
            "return document.getElementById('status').textContent",
            4,
            |v| v != "",
        )
        .await;
        c.goto(&format!("{origin}/dialog.html")).await.unwrap();
        let dialog = poll(c, "return document.body.dataset.state", 4, |v| {
            v == "refused"
        })
        .await;
        (index, dialog)
    };
    let runs = (
        json!("This page only works inside a site that uses idOS."),
        json!("refused"),
    );
    let pristine = serve(enclave_router(
        EnclaveWebConfig::new(enclave_dist(), vec![]).unwrap(),
    ))
    .await;
    assert_eq!(ran(&pristine).await, runs);
    let snippet = walk_js(&enclave_dist().join("snippets"));
    let snippet = snippet.strip_prefix(enclave_dist()).unwrap().to_owned();
    for changed in [
        std::path::PathBuf::from("enclave_bg.wasm"),
        "enclave.js".into(),
        snippet,
    ] {
        let copy = tempfile::TempDir::new().unwrap();
        copy_dir(&enclave_dist(), copy.path());
        let file = copy.path().join(&changed);
        let mut bytes = std::fs::read(&file).unwrap();
        if changed.extension().is_some_and(|e| e == "wasm") {
            let n = bytes.len();
            bytes[n - 1] ^= 1;
        } else {
            bytes.extend_from_slice(b"\n// changed\n");
        }
        std::fs::write(&file, bytes).unwrap();
        let tampered = serve(enclave_router(
            EnclaveWebConfig::new(copy.path(), vec![]).unwrap(),
        ))
        .await;
        let (index, dialog) = ran(&tampered).await;
        assert_eq!(index, "", "index.html ran a changed {}", changed.display());
        assert_eq!(
            dialog,
            "loading",
            "dialog.html ran a changed {}",
            changed.display()
        );
    }
    b.close().await;
}

/// The read verifier module is pinned like the rest: changed, it does not run, and `verifyRead`
/// fails with `internal` instead of answering.
#[tokio::test]
async fn the_read_verifier_runs_only_as_pinned() {
    let b = Browser::start().await;
    let c = &b.client;
    let host = serve(host_router()).await;
    // A request the verifier refuses as malformed: an answer only a running verifier gives.
    let malformed = json!({"trustRoot": "idos@zz", "query": {}, "read": {"entries": []}});
    let verdict = async |dist: &std::path::Path| -> Value {
        let enclave = serve(enclave_router(
            EnclaveWebConfig::new(dist, vec![host.clone()]).unwrap(),
        ))
        .await;
        assert_eq!(open_host(c, &host, &enclave).await, json!({"ok": true}));
        let id = start(c, "verifyRead", malformed.clone()).await;
        outcome(c, id, 15).await["error"]["code"].clone()
    };
    assert_eq!(verdict(&enclave_dist()).await, "bad_request");
    for changed in ["enclave-verifier_bg.wasm", "enclave-verifier.js"] {
        let copy = tempfile::TempDir::new().unwrap();
        copy_dir(&enclave_dist(), copy.path());
        let file = copy.path().join(changed);
        let mut bytes = std::fs::read(&file).unwrap();
        if changed.ends_with(".wasm") {
            let n = bytes.len();
            bytes[n - 1] ^= 1;
        } else {
            bytes.extend_from_slice(b"\n// changed\n");
        }
        std::fs::write(&file, bytes).unwrap();
        assert_eq!(
            verdict(copy.path()).await,
            "internal",
            "a changed {changed} ran"
        );
    }
    b.close().await;
}

fn walk_js(dir: &std::path::Path) -> std::path::PathBuf {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            return walk_js(&path);
        }
        if path.extension().is_some_and(|e| e == "js") {
            return path;
        }
    }
    panic!("no snippet in {}", dir.display());
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
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
