//! The REST API of a real `idos serve` process on loopback, over plain HTTP/1.1: the network
//! owner (the development key `idos serve` creates), an issuer and a user with a test EVM key
//! each prepare their transactions through the API, sign them here (the relay never sees a key),
//! submit them, wait for their blocks and read the results back through the API; the wallet then
//! signs in with EIP-4361 and reads its own data through its session. A user of each wallet
//! type (NEAR, XRPL on both curves, Stellar, FaceSign) signs in, links a wallet of another
//! type, shares a credential and revokes the grant, each step also refused when it should be;
//! a consumer of each type lists its grants with `idos consumer` (`--key-kind`).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use node::testkit::{onboarding_actions, plaintext, share_action, wallet_proof};
use protocol::action::{
    Action, AddAttribute, AddDelegate, AddInserter, AddUserAsInserter, AddWallet, PasswordStore,
    RevokeAccessGrant, UpsertWalletAsInserter,
};
use protocol::grant::access_grant_id;
use protocol::identity::{Ed25519SigningKey, Identity, SignatureScheme, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use serde_json::{Value, json};
use uuid::Uuid;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request: status and JSON body (`None` if the server is not up).
fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, Value)> {
    send(port, "", method, path, body)
}

/// One request with a bearer token.
fn request_as(
    port: u16,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Option<(u16, Value)> {
    send(
        port,
        &format!("Authorization: Bearer {token}\r\n"),
        method,
        path,
        body,
    )
}

fn send(
    port: u16,
    headers: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Option<(u16, Value)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{headers}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let content = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        rest.to_owned()
    };
    Some((
        status,
        serde_json::from_str(&content).unwrap_or(Value::String(content)),
    ))
}

struct Serve {
    child: Child,
    port: u16,
    rpc: u16,
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `idos serve` with the bundled node, or fronting the node at `node_rpc`.
fn start(node_rpc: Option<&str>) -> Serve {
    let dir = tempfile::TempDir::new().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir_all(www.join("enclave/dist")).unwrap();
    std::fs::write(www.join("enclave/dist/index.html"), "<!doctype html>").unwrap();
    let data = dir.path().join("data");
    let (app, enclave, rpc) = (free_port(), free_port(), free_port());
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("idos"));
    command
        .arg("serve")
        .arg("--data-dir")
        .arg(&data)
        .arg("--www")
        .arg(&www)
        .args(["--app-addr", &format!("127.0.0.1:{app}")])
        .args(["--enclave-addr", &format!("127.0.0.1:{enclave}")])
        // The demo dapp on a port of its own (the default one may be taken).
        .args(["--dapp-addr", "127.0.0.2:0"])
        .env("IDOS_COMMIT_WAIT_MS", "20000")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match node_rpc {
        Some(url) => command.args(["--node-rpc", url]),
        None => command.args(["--rpc-addr", &format!("127.0.0.1:{rpc}")]),
    };
    let child = command.spawn().unwrap();
    let serve = Serve {
        child,
        port: app,
        rpc,
        _dir: dir,
        data,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while request(app, "GET", "/readyz", None).is_none_or(|(s, _)| s != 200) {
        assert!(Instant::now() < deadline, "idos serve did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    // As it starts, `idos serve` registers the demo issuer with the owner key, which the tests
    // sign with too: two signers of one key racing for a nonce get `bad_nonce`, so the tests
    // begin once that registration is done.
    loop {
        let state = request(app, "GET", "/issuer/api/info", None)
            .and_then(|(_, info)| info["registration"]["state"].as_str().map(str::to_owned));
        // Registered, or failed (no owner key: nobody else signs with it).
        if matches!(state.as_deref(), Some("registered" | "failed")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the demo issuer's registration did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    serve
}

/// Prepares `action` for `key` through the API, signs the text, submits it and waits for its
/// block; returns the final status, which must be `committed`.
fn act(port: u16, key: &SigningKey, action: impl Into<Action>) -> Value {
    let done = try_act(port, key, action);
    assert_eq!(done["status"], "committed", "{done}");
    done
}

/// [`act`], returning the final status whatever it is (a refused action is in its block too).
fn try_act(port: u16, key: &SigningKey, action: impl Into<Action>) -> Value {
    let action: Action = action.into();
    let (status, prepared) = request(
        port,
        "POST",
        "/api/v1/tx/prepare",
        Some(&json!({"action": action, "signer": key.identity()})),
    )
    .unwrap();
    assert_eq!(status, 200, "{prepared}");
    let text = prepared["signing_text"].as_str().unwrap();
    assert!(text.starts_with("idOS transaction\n"), "{text}");
    let signature = format!("0x{}", hex::encode(key.sign(text.as_bytes())));
    let (status, submitted) = request(
        port,
        "POST",
        "/api/v1/tx",
        Some(&json!({"unsigned": prepared["unsigned"], "signature": signature})),
    )
    .unwrap();
    assert_eq!(status, 200, "{submitted}");
    let hash = submitted["hash"].as_str().unwrap().to_owned();
    let (status, done) =
        request(port, "GET", &format!("/api/v1/tx/{hash}?wait=commit"), None).unwrap();
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["hash"], hash.as_str());
    assert!(done["height"].as_u64().unwrap() > 0, "{done}");
    done
}

/// The network owner: the development key `idos serve` created.
fn owner_of(serve: &Serve) -> SigningKey {
    let owner_hex = std::fs::read_to_string(serve.data.join("node/owner_key")).unwrap();
    SigningKey::from_hex(SignatureScheme::Ed25519, owner_hex.trim()).unwrap()
}

/// A new inserter with `issuer` as its delegate, registered by the owner.
fn register_issuer(serve: &Serve, issuer: &Ed25519SigningKey) {
    let owner = owner_of(serve);
    let inserter = Uuid::new_v4();
    act(
        serve.port,
        &owner,
        AddInserter {
            id: inserter,
            name: format!("issuer-{inserter}"),
        },
    );
    act(
        serve.port,
        &owner,
        AddDelegate {
            address: Identity::Ed25519(issuer.public_key()),
            inserter_id: inserter,
        },
    );
}

/// `POST /api/v1/auth/wallet` with `key` signing the sign-in text for `wallet` (its own, unless
/// a test says otherwise): the status and body.
fn wallet_sign_in(port: u16, wallet: &Identity, key: &SigningKey) -> (u16, Value) {
    let (_, nonce) = request(port, "GET", "/api/v1/auth/nonce", None).unwrap();
    let nonce = nonce["nonce"].as_str().unwrap();
    let text = protocol::sign_in::wallet_sign_in_text(
        &format!("http://localhost:{port}"),
        "idos-local",
        wallet,
        nonce,
    );
    request(
        port,
        "POST",
        "/api/v1/auth/wallet",
        Some(&json!({
            "wallet_type": protocol::wallet::WalletType::of(wallet),
            "wallet": wallet.identifier(),
            "nonce": nonce,
            "signature": hex::encode(key.sign(text.as_bytes())),
        })),
    )
    .unwrap()
}

/// The user id of the profile a session belongs to.
fn profile_of(port: u16, token: &str) -> String {
    let (status, me) = request_as(port, token, "GET", "/api/v1/me", None).unwrap();
    assert_eq!(status, 200, "{me}");
    me["data"]["id"].as_str().unwrap().to_owned()
}

#[test]
fn every_wallet_type_signs_in_links_another_type_shares_and_revokes_through_a_running_relay() {
    let serve = start(None);
    let port = serve.port;
    let chain_id = "idos-local";
    let issuer = Ed25519SigningKey::generate();
    let issuer_key = SigningKey::Ed25519(issuer.clone());
    register_issuer(&serve, &issuer);
    let key = |scheme, hex: String| SigningKey::from_hex(scheme, &hex).unwrap();
    let fresh = |n: u8| {
        [
            key(SignatureScheme::Nep413, format!("{n:02x}").repeat(32)),
            key(
                SignatureScheme::Xrpl,
                format!("00{}", format!("{:02x}", n + 1).repeat(32)),
            ),
            key(
                SignatureScheme::Xrpl,
                format!("ED{}", format!("{:02x}", n + 2).repeat(32)),
            ),
            key(
                SignatureScheme::Stellar,
                format!("{:02x}", n + 3).repeat(32),
            ),
            key(
                SignatureScheme::Ed25519,
                format!("{:02x}", n + 4).repeat(32),
            ),
        ]
    };
    let (firsts, seconds) = (fresh(0x10), fresh(0x20));
    let consumer = Ed25519SigningKey::generate();
    let consumer_box = EncryptionSecretKey::generate();
    for (index, (first, second)) in firsts
        .iter()
        .zip(seconds.iter().cycle().skip(2))
        .enumerate()
    {
        let what = format!("{:?} then {:?}", first.identity(), second.identity());
        // The issuer makes the profile, links the first wallet (its own ownership proof) and
        // writes a credential.
        let user = Uuid::new_v4();
        let secret = EncryptionSecretKey::generate();
        let original = Uuid::new_v4();
        let vc = format!("urn:uuid:{}", Uuid::new_v4());
        for action in onboarding_actions(&issuer, chain_id, user, first, &secret, original, &vc) {
            act(port, &issuer_key, action);
        }
        let (_, exists) = request(
            port,
            "GET",
            &format!("/api/v1/profiles/{}/exists", first.identity()),
            None,
        )
        .unwrap();
        assert_eq!(exists["data"], true, "{what}: {exists}");

        // Sign-in: the wallet's own signature works; another wallet's does not.
        let (status, refused) = wallet_sign_in(port, &first.identity(), second);
        assert_eq!(status, 401, "{what}: {refused}");
        let (status, session) = wallet_sign_in(port, &first.identity(), first);
        assert_eq!(status, 200, "{what}: {session}");
        assert_eq!(session["identity"], first.identity().identifier());
        let token = session["token"].as_str().unwrap().to_owned();
        assert_eq!(profile_of(port, &token), user.to_string(), "{what}");

        // Linking a wallet of another type: a proof signed by some other key is refused, the
        // second wallet's own proof links it, and it then signs in to the same profile.
        let mut forged = wallet_proof(second, &user, chain_id, Uuid::new_v4());
        forged.signature =
            wallet_proof(&firsts[(index + 2) % 5], &user, chain_id, Uuid::new_v4()).signature;
        let done = try_act(port, first, AddWallet { wallet: forged });
        assert_eq!(done["status"], "refused", "{what}: {done}");
        act(
            port,
            first,
            AddWallet {
                wallet: wallet_proof(second, &user, chain_id, Uuid::new_v4()),
            },
        );
        let (status, session) = wallet_sign_in(port, &second.identity(), second);
        assert_eq!(status, 200, "{what}: {session}");
        assert_eq!(
            profile_of(port, session["token"].as_str().unwrap()),
            user.to_string(),
            "{what}"
        );

        // Sharing: not a credential of theirs, refused; their own, shared.
        let grantee = Identity::Ed25519(consumer.public_key());
        let stranger = share_action(
            &Ed25519SigningKey::generate(),
            Uuid::new_v4(),
            &plaintext(&vc),
            grantee,
            &consumer_box.public_key(),
            0,
        );
        let done = try_act(port, first, stranger);
        assert_eq!(done["status"], "refused", "{what}: {done}");
        let share = share_action(
            &Ed25519SigningKey::generate(),
            original,
            &plaintext(&vc),
            grantee,
            &consumer_box.public_key(),
            0,
        );
        let copy = share.id;
        act(port, first, share);

        // Revoking: the grant goes once; a second revocation finds nothing.
        let grant = access_grant_id(&grantee.identifier(), &copy, 0);
        act(port, first, RevokeAccessGrant { id: grant });
        let done = try_act(port, second, RevokeAccessGrant { id: grant });
        assert_eq!(done["status"], "refused", "{what}: {done}");
    }
}

/// `idos consumer grants --json` against `serve` as `key` (given as `IDOS_KEY`, of `kind`).
fn consumer_grants(serve: &Serve, key_hex: &str, kind: &str) -> std::process::Output {
    Command::new(assert_cmd::cargo::cargo_bin("idos"))
        .args(["consumer", "grants", "--json"])
        .env("IDOS_RELAY", format!("http://localhost:{}", serve.port))
        .env("IDOS_KEY", key_hex)
        .env("IDOS_KEY_KIND", kind)
        .env_remove("IDOS_KEY_FILE")
        .output()
        .unwrap()
}

#[test]
fn a_consumer_of_each_wallet_type_lists_its_grants_with_the_cli() {
    let serve = start(None);
    let port = serve.port;
    let issuer = Ed25519SigningKey::generate();
    let issuer_key = SigningKey::Ed25519(issuer.clone());
    register_issuer(&serve, &issuer);
    let owner = SigningKey::generate_evm();
    let user = Uuid::new_v4();
    let secret = EncryptionSecretKey::generate();
    let original = Uuid::new_v4();
    let vc = format!("urn:uuid:{}", Uuid::new_v4());
    for action in onboarding_actions(&issuer, "idos-local", user, &owner, &secret, original, &vc) {
        act(port, &issuer_key, action);
    }
    for (kind, scheme, hex) in [
        ("near", SignatureScheme::Nep413, "31".repeat(32)),
        (
            "xrpl",
            SignatureScheme::Xrpl,
            format!("ED{}", "32".repeat(32)),
        ),
        (
            "xrpl",
            SignatureScheme::Xrpl,
            format!("00{}", "33".repeat(32)),
        ),
        ("stellar", SignatureScheme::Stellar, "34".repeat(32)),
        ("evm", SignatureScheme::Eip191, "35".repeat(32)),
    ] {
        let consumer = SigningKey::from_hex(scheme, &hex).unwrap();
        let share = share_action(
            &Ed25519SigningKey::generate(),
            original,
            &plaintext(&vc),
            consumer.identity(),
            &EncryptionSecretKey::generate().public_key(),
            0,
        );
        let copy = share.id;
        act(port, &owner, share);
        let out = consumer_grants(&serve, &hex, kind);
        assert!(
            out.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
        let grants = listed["grants"].as_array().unwrap();
        assert_eq!(grants.len(), 1, "{kind}: {listed}");
        assert_eq!(grants[0]["data_id"], copy.to_string(), "{kind}");
        assert_eq!(
            grants[0]["ag_grantee_wallet_identifier"],
            consumer.identity().identifier(),
            "{kind}"
        );
    }
    // A key of one kind read as another: a usage error that names the kinds, and no sign-in.
    let out = consumer_grants(&serve, &"31".repeat(32), "xrpl");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.starts_with("error: usage: ")
            && said.contains("not a xrpl key")
            && said.contains("--key-kind"),
        "{said}"
    );
}

#[test]
fn a_wallet_prepares_signs_and_submits_through_a_running_relay_and_reads_the_result() {
    let serve = start(None);
    let port = serve.port;
    let (status, chain) = request(port, "GET", "/api/v1/chain", None).unwrap();
    assert_eq!(status, 200, "{chain}");
    let chain_id = chain["chain_id"].as_str().unwrap().to_owned();
    assert_eq!(chain_id, "idos-local");

    // The network owner: the development key `idos serve` created.
    let owner_hex = std::fs::read_to_string(serve.data.join("node/owner_key")).unwrap();
    let owner = SigningKey::from_hex(SignatureScheme::Ed25519, owner_hex.trim()).unwrap();
    let issuer = Ed25519SigningKey::generate();
    let issuer_key = SigningKey::Ed25519(issuer.clone());
    let inserter = Uuid::new_v4();
    act(
        port,
        &owner,
        AddInserter {
            id: inserter,
            name: "issuer".into(),
        },
    );
    act(
        port,
        &owner,
        AddDelegate {
            address: Identity::Ed25519(issuer.public_key()),
            inserter_id: inserter,
        },
    );

    // The issuer makes a profile for a test EVM wallet.
    let wallet = SigningKey::generate_evm();
    let address = wallet.identity();
    let (_, before) = request(
        port,
        "GET",
        &format!("/api/v1/profiles/{address}/exists"),
        None,
    )
    .unwrap();
    assert_eq!(before["data"], false, "{before}");
    let user = Uuid::new_v4();
    act(
        port,
        &issuer_key,
        AddUserAsInserter {
            id: user,
            recipient_encryption_public_key: EncryptionSecretKey::generate().public_key(),
            encryption_password_store: PasswordStore::User,
        },
    );
    act(
        port,
        &issuer_key,
        UpsertWalletAsInserter {
            user_id: user,
            wallet: wallet_proof(&wallet, &user, &chain_id, Uuid::new_v4()),
            approval: None,
        },
    );

    // The EVM wallet signs its own transaction (EIP-191 personal_sign over the signing text).
    let (_, nonce) = request(port, "GET", &format!("/api/v1/nonce/{address}"), None).unwrap();
    assert_eq!(nonce["data"], 1, "{nonce}");
    let done = act(
        port,
        &wallet,
        AddAttribute {
            id: Uuid::new_v4(),
            attribute_key: "residence".into(),
            value: "CH".into(),
        },
    );

    // Read back through the API: the profile exists, the wallet's nonce moved on, and the
    // transaction is found by hash in its block.
    let (_, after) = request(
        port,
        "GET",
        &format!("/api/v1/profiles/{address}/exists"),
        None,
    )
    .unwrap();
    assert_eq!(after["data"], true, "{after}");
    let (_, nonce) = request(port, "GET", &format!("/api/v1/nonce/{address}"), None).unwrap();
    assert_eq!(nonce["data"], 2, "{nonce}");
    let (status, found) = request(
        port,
        "GET",
        &format!("/api/v1/tx/{}", done["hash"].as_str().unwrap()),
        None,
    )
    .unwrap();
    assert_eq!(
        (status, &found["height"]),
        (200, &done["height"]),
        "{found}"
    );

    // The wallet signs in with EIP-4361 and reads its own attribute back through its session.
    let (_, nonce) = request(port, "GET", "/api/v1/auth/nonce", None).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let message = format!(
        "localhost:{port} wants you to sign in with your Ethereum account:\n{}\n\nSign in to idOS.\n\nURI: http://localhost:{port}\nVersion: 1\nChain ID: 1\nNonce: {}\nIssued At: {}",
        address.display_name(),
        nonce["nonce"].as_str().unwrap(),
        protocol::time::format_rfc3339(now).unwrap()
    );
    let signature = format!("0x{}", hex::encode(wallet.sign(message.as_bytes())));
    let (status, session) = request(
        port,
        "POST",
        "/api/v1/auth/siwe",
        Some(&json!({"message": message, "signature": signature})),
    )
    .unwrap();
    assert_eq!(status, 200, "{session}");
    let token = session["token"].as_str().unwrap();
    let (status, attributes) = request_as(port, token, "GET", "/api/v1/attributes", None).unwrap();
    assert_eq!(status, 200, "{attributes}");
    assert_eq!(attributes["data"]["items"][0]["attribute_key"], "residence");
    assert_eq!(attributes["data"]["items"][0]["value"], "CH");
    assert_eq!(attributes["data"]["items"][0]["user_id"], user.to_string());

    // The bundled node trusts the relay's gateway key (from its data directory) without
    // configuration: an attested read as the wallet is answered.
    let gateway_hex = std::fs::read_to_string(serve.data.join("gateway_key")).unwrap();
    let Ok(SigningKey::Ed25519(gateway)) =
        SigningKey::from_hex(SignatureScheme::Ed25519, gateway_hex.trim())
    else {
        panic!("the gateway key is an Ed25519 seed");
    };
    assert_eq!(chain["gateway_key"], gateway.public_key().to_string());
    let rpc_url = format!("http://127.0.0.1:{}", serve.rpc);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let profile = runtime.block_on(async {
        let node =
            relay::node_client::NodeClient::connect(&rpc_url, gateway, Duration::from_secs(10))
                .await
                .unwrap();
        node.query(Some(address), protocol::query::Query::GetUser)
            .await
    });
    assert!(profile.is_ok(), "{profile:?}");

    // A second relay fronts the same node without starting one: same chain, its own gateway key.
    let front = start(Some(&rpc_url));
    let (status, seen) = request(front.port, "GET", "/api/v1/chain", None).unwrap();
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["chain_id"], "idos-local");
    assert!(seen["height"].as_u64().unwrap() >= done["height"].as_u64().unwrap());
    assert_ne!(seen["gateway_key"], chain["gateway_key"]);
    assert!(
        !front.data.join("node").exists(),
        "no bundled node was started"
    );
    let (_, nonce) = request(front.port, "GET", &format!("/api/v1/nonce/{address}"), None).unwrap();
    assert_eq!(nonce["data"], 2, "{nonce}");
}

#[test]
fn fail_an_external_node_with_a_bundled_node_setting_is_a_usage_error() {
    let out = Command::new(assert_cmd::cargo::cargo_bin("idos"))
        .args([
            "serve",
            "--node-rpc",
            "http://127.0.0.1:1",
            "--node-config",
            "node.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: node_config:"), "{err}");
}
