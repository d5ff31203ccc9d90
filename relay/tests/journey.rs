//! The relay issue's first acceptance criterion, end to end against a real `idos serve`
//! process on loopback, every request through a recording TCP proxy:
//!
//! an issuer creates a profile for an EVM wallet and issues a credential (CLI); the user signs
//! in with EIP-4361 and shares the credential with a consumer under a timelock a few seconds
//! ahead (transactions prepared and submitted through the client library); the consumer CLI
//! lists the grant and decrypts exactly the issued plaintext; revoking before the timelock is
//! refused with `grant_locked`, after it succeeds; the owner sees the consumer's read in the
//! access log. A unique marker in the plaintext never appears in any byte the relay received
//! or sent, in its logs (`RUST_LOG=trace`), or in any file under its data directory (RocksDB
//! write-ahead logs and tables included) — while positive controls show that the proxy saw the
//! traffic, the logs were captured, and the stored ciphertext is findable in those files.
//!
//! Also here: the negative cases of the real process (a session reading another user's data,
//! a forged bearer token, a cookie write from a foreign `Origin`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use idos_client::credential::share_copy;
use idos_client::{Client, ClientError, PageQuery, SiweOptions};
use protocol::action::{AddAttribute, ShareCredential};
use protocol::codec::base64_encode;
use protocol::identity::{Ed25519SigningKey, Identity, SigningKey};
use protocol::nacl_box::{EncryptionSecretKey, decrypt};
use serde_json::Value;
use uuid::Uuid;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A TCP proxy on loopback that forwards every connection to `target` and records every byte
/// in both directions.
struct Proxy {
    port: u16,
    recorded: Arc<Mutex<Vec<u8>>>,
}

impl Proxy {
    fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let log = recorded.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let log = log.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        loop {
                            match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    log.lock().unwrap().extend_from_slice(&buf[..n]);
                                    if to.write_all(&buf[..n]).is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                }
            }
        });
        Proxy { port, recorded }
    }

    fn bytes(&self) -> Vec<u8> {
        self.recorded.lock().unwrap().clone()
    }
}

/// A running `idos serve` (bundled node), reached through its proxy, logging at trace level
/// into files.
struct Serve {
    child: Option<Child>,
    proxy: Proxy,
    dir: tempfile::TempDir,
    data: PathBuf,
}

impl Serve {
    /// Starts `idos serve`; ports are picked free and then released, so another process may
    /// take one before `idos serve` binds it: that attempt is retried on fresh ports.
    fn start() -> Serve {
        for _ in 0..3 {
            match Serve::try_start() {
                Ok(serve) => return serve,
                Err(stderr) if stderr.contains("Address already in use") => continue,
                Err(stderr) => panic!("idos serve exited as it started:\n{stderr}"),
            }
        }
        panic!("idos serve found its ports taken three times");
    }

    /// Starts `idos serve` and waits until it answers; `Err(stderr)` if it exits first.
    fn try_start() -> Result<Serve, String> {
        let dir = tempfile::TempDir::new().unwrap();
        let www = dir.path().join("www");
        std::fs::create_dir_all(www.join("enclave/dist")).unwrap();
        std::fs::write(www.join("enclave/dist/index.html"), "<!doctype html>").unwrap();
        let data = dir.path().join("data");
        let (app, enclave, rpc) = (free_port(), free_port(), free_port());
        let proxy = Proxy::start(app);
        let child = Command::new(assert_cmd::cargo::cargo_bin("idos"))
            .arg("serve")
            .arg("--data-dir")
            .arg(&data)
            .arg("--www")
            .arg(&www)
            .args(["--app-addr", &format!("127.0.0.1:{app}")])
            .args(["--enclave-addr", &format!("127.0.0.1:{enclave}")])
            // The demo dapp on a port of its own (the default one may be taken).
            .args(["--dapp-addr", "127.0.0.2:0"])
            .args(["--rpc-addr", &format!("127.0.0.1:{rpc}")])
            // Browsers and clients reach the relay through the proxy.
            .args(["--app-origin", &format!("http://localhost:{}", proxy.port)])
            .env("IDOS_COMMIT_WAIT_MS", "20000")
            .env("RUST_LOG", "trace")
            .stdout(std::fs::File::create(dir.path().join("serve.stdout")).unwrap())
            .stderr(std::fs::File::create(dir.path().join("serve.stderr")).unwrap())
            .spawn()
            .unwrap();
        let mut serve = Serve {
            child: Some(child),
            proxy,
            dir,
            data,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let runtime = runtime();
        let client = serve.client();
        while runtime.block_on(client.chain()).is_err() {
            if serve.exited() {
                return Err(serve.stderr_tail());
            }
            assert!(
                Instant::now() < deadline,
                "idos serve did not come up in 60 s:\n{}",
                serve.stderr_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // As it starts, `idos serve` registers the demo issuer with the owner key, which the
        // tests sign with too: two signers of one key racing for a nonce get `bad_nonce`, so
        // the tests begin once that registration is done.
        let info_url = format!("{}/issuer/api/info", serve.url());
        loop {
            let state = runtime.block_on(async {
                let info: Value = reqwest::get(&info_url).await.ok()?.json().await.ok()?;
                info["registration"]["state"].as_str().map(str::to_owned)
            });
            // Registered, or failed (no owner key: nobody else signs with it).
            if matches!(state.as_deref(), Some("registered" | "failed")) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the demo issuer's registration did not finish"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(serve)
    }

    fn exited(&mut self) -> bool {
        let child = self.child.as_mut().expect("running");
        child.try_wait().unwrap().is_some()
    }

    /// The last lines `idos serve` wrote to stderr (its trace log is long).
    fn stderr_tail(&self) -> String {
        let stderr = std::fs::read_to_string(self.path("serve.stderr")).unwrap_or_default();
        let lines: Vec<&str> = stderr.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn url(&self) -> String {
        format!("http://localhost:{}", self.proxy.port)
    }

    fn client(&self) -> Client {
        Client::new(&self.url()).unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Stops the process (SIGTERM, so it shuts down as in production; SIGKILL after 20 s).
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// `idos <args>` against this relay, with `env` (keys come from files named there).
    fn cli(&self, args: &[&str], env: &[(&str, &Path)]) -> Output {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("idos"));
        command.args(args).env("IDOS_RELAY", self.url());
        for var in [
            "IDOS_KEY",
            "IDOS_KEY_FILE",
            "IDOS_ENCRYPTION_KEY",
            "IDOS_ENCRYPTION_KEY_FILE",
        ] {
            command.env_remove(var);
        }
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The JSON object a successful `--json` command printed.
/// A relay that lies: it prepares transactions through the real relay at `target`, each with
/// the nonce after the one it prepared before (so that it could submit them all in order),
/// keeps every signed transaction it is given, submits none and answers each with
/// `bad_nonce`. Returns its URL and what it kept. Serves on `rt`'s tasks, so only while `rt`
/// runs a future.
fn lying_relay(rt: &tokio::runtime::Runtime, target: String) -> (String, Arc<Mutex<Vec<Value>>>) {
    use axum::routing::post;
    let kept = Arc::new(Mutex::new(Vec::new()));
    let http = reqwest::Client::new();
    let next_nonce = Arc::new(Mutex::new(None::<u64>));
    let prepare = move |axum::Json(mut body): axum::Json<Value>| {
        let (http, target, next_nonce) = (http.clone(), target.clone(), next_nonce.clone());
        async move {
            let chosen = *next_nonce.lock().unwrap();
            body["nonce"] = serde_json::json!(chosen);
            let answer: Value = http
                .post(format!("{target}/api/v1/tx/prepare"))
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            *next_nonce.lock().unwrap() = Some(answer["nonce"].as_u64().unwrap() + 1);
            axum::Json(answer)
        }
    };
    let keep = kept.clone();
    let submit = move |axum::Json(body): axum::Json<Value>| {
        keep.lock().unwrap().push(body);
        async {
            (
                axum::http::StatusCode::CONFLICT,
                axum::Json(serde_json::json!({
                    "code": "bad_nonce",
                    "message": "nonce taken (a lie)"
                })),
            )
        }
    };
    let app = axum::Router::new()
        .route("/api/v1/tx/prepare", post(prepare))
        .route("/api/v1/tx", post(submit));
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, kept)
}

fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The one stderr line of a failed command; it must name `code`.
fn fails_with(out: &Output, code: &str) {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        stderr.starts_with(&format!("error: {code}")),
        "{stderr:?} should name {code}"
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The marker as it could appear: raw, hex, and base64 at each of the three alignments.
fn encodings(marker: &[u8]) -> Vec<Vec<u8>> {
    let mut forms = vec![marker.to_vec(), hex::encode(marker).into_bytes()];
    for skip in 0..3 {
        let b64 = base64_encode(&marker[skip..]);
        // Characters that depend only on the marker's own bytes.
        let stable = &b64.as_bytes()[4..b64.len() - 4];
        forms.push(stable.to_vec());
    }
    forms
}

/// Every file under `dir`, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push((path, bytes));
            }
        }
    }
    out
}

fn write_secret(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn an_issued_credential_reaches_a_consumer_through_the_relay_which_never_sees_the_plaintext() {
    let mut serve = Serve::start();
    let rt = runtime();
    let relay = serve.client();
    let chain_id = rt.block_on(relay.chain()).unwrap().chain_id;
    let keys = tempfile::TempDir::new().unwrap();

    // The network owner (the development key `idos serve` made) registers the issuer.
    let owner_key = serve.data.join("node/owner_key");
    let inserter = ok_json(&serve.cli(
        &["admin", "add-inserter", "--name", "Issuer", "--json"],
        &[("IDOS_KEY_FILE", &owner_key)],
    ));
    let inserter_id = inserter["inserter_id"].as_str().unwrap().to_owned();
    let issuer = Ed25519SigningKey::generate();
    let issuer_file = write_secret(
        keys.path(),
        "issuer",
        &SigningKey::Ed25519(issuer.clone()).to_hex(),
    );
    ok_json(&serve.cli(
        &[
            "admin",
            "add-delegate",
            "--inserter-id",
            &inserter_id,
            "--address",
            &issuer.public_key().to_text(),
            "--json",
        ],
        &[("IDOS_KEY_FILE", &owner_key)],
    ));

    // The issuer creates a profile for the user's EVM wallet, which proves it owns the wallet.
    let wallet = SigningKey::generate_evm();
    let user_box = EncryptionSecretKey::generate();
    let user_id = Uuid::new_v4();
    let proof = node::testkit::wallet_proof(&wallet, &user_id, &chain_id, Uuid::new_v4());
    let proof_file = keys.path().join("proof.json");
    std::fs::write(&proof_file, serde_json::to_vec(&proof).unwrap()).unwrap();
    let created = ok_json(&serve.cli(
        &[
            "issuer",
            "create-profile",
            "--user-id",
            &user_id.to_string(),
            "--encryption-public-key",
            &user_box.public_key().to_string(),
            "--wallet-proof",
            proof_file.to_str().unwrap(),
            "--json",
        ],
        &[("IDOS_KEY_FILE", &issuer_file)],
    ));
    assert_eq!(created["wallet"], wallet.identity().identifier());

    // The issuer issues a credential whose plaintext holds a unique marker.
    let marker = format!("MARKER-{}", Uuid::new_v4().simple());
    let plaintext = format!("{{\"name\":\"Ada Lovelace\",\"document\":\"{marker}\"}}\n");
    let credential_file = keys.path().join("credential.json");
    std::fs::write(&credential_file, &plaintext).unwrap();
    let issued = ok_json(&serve.cli(
        &[
            "issuer",
            "issue",
            "--user-id",
            &user_id.to_string(),
            "--recipient",
            &user_box.public_key().to_string(),
            "--file",
            credential_file.to_str().unwrap(),
            "--json",
        ],
        &[("IDOS_KEY_FILE", &issuer_file)],
    ));
    let original_id: Uuid = issued["id"].as_str().unwrap().parse().unwrap();

    // The user signs in with EIP-4361, reads and decrypts the credential on its own machine,
    // and shares it with the consumer, locked for a few seconds.
    let me = rt
        .block_on(relay.sign_in_siwe(&wallet, &SiweOptions::default()))
        .unwrap();
    let profile = rt.block_on(me.me()).unwrap();
    assert_eq!(profile.data.id, user_id);
    let original = rt.block_on(me.credential(original_id)).unwrap().data;
    let opened = decrypt(&original.content, &original.encryptor_public_key, &user_box).unwrap();
    assert_eq!(&opened[..], plaintext.as_bytes());
    let consumer = Ed25519SigningKey::generate();
    let consumer_identity = Identity::Ed25519(consumer.public_key());
    let consumer_box = EncryptionSecretKey::generate();
    let (copy, content_hash) = share_copy(&opened, &consumer_box.public_key()).unwrap();
    let stored_ciphertext = copy.content.to_vec();
    let copy_id = Uuid::new_v4();
    let locked_until = now() + 8;
    let shared = rt
        .block_on(me.submit_action(
            &wallet,
            ShareCredential {
                id: copy_id,
                original_credential_id: original_id,
                copy,
                content_hash,
                grantee_wallet_identifier: consumer_identity,
                locked_until,
            },
        ))
        .unwrap();
    assert!(shared.is_committed(), "{shared:?}");

    // Three transactions of the same wallet at once (three tabs): each is prepared with the
    // same next nonce, the node takes one and refuses the others with `bad_nonce`, and the
    // client prepares and signs those again with a fresh nonce. All three land, once each.
    let racing: Vec<AddAttribute> = (0..3)
        .map(|i| AddAttribute {
            id: Uuid::new_v4(),
            attribute_key: format!("racing-{i}"),
            value: "x".into(),
        })
        .collect();
    let outcomes = rt.block_on(futures::future::join_all(
        racing
            .iter()
            .map(|attribute| me.submit_action(&wallet, attribute.clone())),
    ));
    for outcome in &outcomes {
        assert!(
            outcome.as_ref().is_ok_and(|s| s.is_committed()),
            "{outcome:?}"
        );
    }
    let attributes = rt
        .block_on(me.attributes(&PageQuery::default()))
        .unwrap()
        .data
        .items;
    for attribute in &racing {
        assert_eq!(
            attributes
                .iter()
                .filter(|a| a.attribute_key == attribute.attribute_key)
                .count(),
            1
        );
    }

    // A relay that lies "bad_nonce" to every submission gets the action signed
    // NONCE_ATTEMPTS times, each with the next nonce, and the client then gives up. Submitting
    // every one of them, in nonce order, to the real node applies the action once: each try
    // names the same new id, so each later one is refused (`already_exists`).
    let (liar_url, kept) = lying_relay(&rt, serve.url());
    let liar = Client::new(&liar_url).unwrap();
    let once = AddAttribute {
        id: Uuid::new_v4(),
        attribute_key: "signed-for-a-liar".into(),
        value: "x".into(),
    };
    let lied_to = rt.block_on(liar.submit_action(&wallet, once.clone()));
    assert_eq!(lied_to.unwrap_err().code(), "bad_nonce");
    let kept = kept.lock().unwrap().clone();
    assert_eq!(kept.len(), idos_client::NONCE_ATTEMPTS as usize);
    let mut landed = 0;
    for body in &kept {
        let submitted = rt.block_on(me.submit(
            body["unsigned"].as_str().unwrap(),
            body["signature"].as_str().unwrap(),
            true,
        ));
        let status = submitted.unwrap();
        if status.is_committed() {
            landed += 1;
        } else {
            // Refused in its block for what it does, not for its nonce: the liar's order holds.
            assert_eq!(status.error.unwrap().code, "already_exists");
        }
    }
    assert_eq!(landed, 1, "the action applied {landed} times");
    let attributes = rt
        .block_on(me.attributes(&PageQuery::default()))
        .unwrap()
        .data
        .items;
    assert_eq!(
        attributes
            .iter()
            .filter(|a| a.attribute_key == once.attribute_key)
            .count(),
        1
    );

    // Nobody else reads the user's data: another user's session (a profile of its own) gets
    // `not_found` for the original and the copy.
    let other = SigningKey::generate_evm();
    let other_id = Uuid::new_v4();
    let other_proof = node::testkit::wallet_proof(&other, &other_id, &chain_id, Uuid::new_v4());
    let other_proof_file = keys.path().join("other-proof.json");
    std::fs::write(&other_proof_file, serde_json::to_vec(&other_proof).unwrap()).unwrap();
    ok_json(&serve.cli(
        &[
            "issuer",
            "create-profile",
            "--user-id",
            &other_id.to_string(),
            "--encryption-public-key",
            &EncryptionSecretKey::generate().public_key().to_string(),
            "--wallet-proof",
            other_proof_file.to_str().unwrap(),
            "--json",
        ],
        &[("IDOS_KEY_FILE", &issuer_file)],
    ));
    let stranger = rt
        .block_on(relay.sign_in_siwe(&other, &SiweOptions::default()))
        .unwrap();
    let consumer_session = rt
        .block_on(relay.sign_in_ed25519(&SigningKey::Ed25519(consumer.clone()), None))
        .unwrap();
    for err in [
        rt.block_on(stranger.credential(original_id)).unwrap_err(),
        rt.block_on(stranger.shared_credential(copy_id))
            .unwrap_err(),
    ] {
        assert_eq!(
            (err.status(), err.code()),
            (Some(404), "not_found"),
            "{err}"
        );
    }
    // The consumer has no profile: its session reads no owner's credential either.
    let err = rt
        .block_on(consumer_session.credential(original_id))
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(404), "no_profile"),
        "{err}"
    );
    // Its access log is its own, and empty.
    let theirs = rt
        .block_on(stranger.access_log(&PageQuery::first()))
        .unwrap();
    assert!(theirs.items.is_empty(), "{theirs:?}");
    rt.block_on(consumer_session.logout()).unwrap();

    // The consumer CLI lists the grant and decrypts exactly the issued plaintext.
    let consumer_file = write_secret(
        keys.path(),
        "consumer",
        &SigningKey::Ed25519(consumer.clone()).to_hex(),
    );
    let consumer_box_file = write_secret(keys.path(), "consumer.box", &consumer_box.to_base64());
    let consumer_env = [
        ("IDOS_KEY_FILE", consumer_file.as_path()),
        ("IDOS_ENCRYPTION_KEY_FILE", consumer_box_file.as_path()),
    ];
    let grants = ok_json(&serve.cli(&["consumer", "grants", "--json"], &consumer_env));
    let grants = grants["grants"].as_array().unwrap();
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(grants[0]["data_id"], copy_id.to_string());
    assert_eq!(grants[0]["locked_until"], locked_until);
    let fetched = serve.cli(
        &[
            "consumer",
            "fetch",
            &copy_id.to_string(),
            "--decrypt",
            "--issuer",
            &issuer.public_key().to_text(),
        ],
        &consumer_env,
    );
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    assert_eq!(
        fetched.stdout,
        plaintext.as_bytes(),
        "the consumer prints exactly the plaintext"
    );
    // The same, each read verified against the bundled node's validator (the trust root
    // `idos serve` printed) instead of trusting the relay.
    let serve_log = std::fs::read_to_string(serve.path("serve.stderr")).unwrap();
    let trust = serve_log
        .lines()
        .find_map(|l| l.trim().strip_prefix("trust root"))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("idos serve prints its trust root")
        .to_owned();
    let verified = serve.cli(
        &[
            "consumer",
            "fetch",
            &copy_id.to_string(),
            "--trust",
            &trust,
            "--max-header-age",
            "90",
            "--decrypt",
            "--issuer",
            &issuer.public_key().to_text(),
        ],
        &consumer_env,
    );
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert_eq!(verified.stdout, plaintext.as_bytes());
    assert!(
        String::from_utf8_lossy(&verified.stderr).contains("verified at height"),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    // A trust root naming another validator refuses the relay's (true) answer.
    let other = format!(
        "{}@{}",
        trust.split('@').next().unwrap(),
        Ed25519SigningKey::generate().public_key().to_text()
    );
    fails_with(
        &serve.cli(
            &["consumer", "fetch", &copy_id.to_string(), "--trust", &other],
            &consumer_env,
        ),
        "validator_set_mismatch",
    );
    // Another issuer's key is refused, with its code, and nothing is printed.
    let wrong_issuer = serve.cli(
        &[
            "consumer",
            "fetch",
            &copy_id.to_string(),
            "--decrypt",
            "--issuer",
            &Ed25519SigningKey::generate().public_key().to_text(),
        ],
        &consumer_env,
    );
    fails_with(&wrong_issuer, "issuer_mismatch");
    assert!(wrong_issuer.stdout.is_empty());

    // The owner sees the consumer's reads in the access log.
    let log = rt.block_on(me.access_log(&PageQuery::first())).unwrap();
    let reads: Vec<_> = log
        .items
        .iter()
        .filter(|r| r.copy_id == copy_id && r.reader == consumer_identity)
        .collect();
    // The fetch under another trust root stopped at its first read, before the copy.
    assert_eq!(reads.len(), 3, "three fetches read the copy: {log:?}");
    assert!(reads.iter().all(|r| r.owner_user_id == user_id));

    // Revoking before the timelock is refused with its code; after it, it succeeds.
    let grant_id = rt
        .block_on(me.grants_owned(&PageQuery::first()))
        .unwrap()
        .data
        .items
        .iter()
        .find(|g| g.data_id == copy_id)
        .unwrap()
        .id;
    let revoke = |me: &Client| {
        rt.block_on(async {
            let prepared = me.prepare_revoke(grant_id, None).await?;
            me.sign_and_submit(&wallet, &prepared, None).await
        })
    };
    let early = revoke(&me).unwrap_err();
    assert_eq!(early.code(), "grant_locked", "{early}");
    assert!(
        now() <= locked_until,
        "the refusal came before the timelock"
    );
    while now() <= locked_until + 1 {
        std::thread::sleep(Duration::from_millis(250));
    }
    let late = revoke(&me).unwrap();
    assert!(late.is_committed(), "{late:?}");
    // The grant is gone: the consumer can no longer read the copy.
    let after = serve.cli(
        &[
            "consumer",
            "fetch",
            &copy_id.to_string(),
            "--decrypt",
            "--issuer",
            &issuer.public_key().to_text(),
        ],
        &consumer_env,
    );
    assert_eq!(after.status.code(), Some(1), "{after:?}");
    assert!(after.stdout.is_empty());

    // The marker never reached the relay: not on the wire, not in its logs, not on its disk.
    rt.block_on(me.logout()).unwrap();
    serve.stop();
    let wire = serve.proxy.bytes();
    let logs = [
        std::fs::read(serve.path("serve.stdout")).unwrap(),
        std::fs::read(serve.path("serve.stderr")).unwrap(),
    ]
    .concat();
    let files = files_under(&serve.data);
    // Positive controls: each place searched holds what it should.
    assert!(contains(&wire, copy_id.to_string().as_bytes()));
    assert!(contains(&wire, b"POST /api/v1/auth/siwe"));
    assert!(
        contains(&logs, b"TRACE"),
        "the logs are captured, at trace level"
    );
    assert!(
        files
            .iter()
            .any(|(_, bytes)| contains(bytes, &stored_ciphertext[16..48])),
        "the stored ciphertext is findable in the data directory's files"
    );
    for form in encodings(marker.as_bytes()) {
        let shown = String::from_utf8_lossy(&form).into_owned();
        assert!(!contains(&wire, &form), "{shown} crossed the wire");
        assert!(!contains(&logs, &form), "{shown} is in the relay's logs");
        for (path, bytes) in &files {
            assert!(!contains(bytes, &form), "{shown} is in {}", path.display());
        }
    }
}

/// The issuer's other commands: a credential, its copy for a consumer and the access grant in one
/// transaction through a delegated write grant the user's wallet signed; the consumer decrypts
/// it; the issuer revokes it (a public-notes edit) and the consumer's fetch then refuses with
/// `credential_revoked`, printing nothing.
#[test]
fn an_issuer_writes_through_a_delegated_write_grant_and_revokes() {
    let serve = Serve::start();
    let rt = runtime();
    let relay = serve.client();
    let chain_id = rt.block_on(relay.chain()).unwrap().chain_id;
    let keys = tempfile::TempDir::new().unwrap();
    let owner_key = serve.data.join("node/owner_key");
    let inserter = ok_json(&serve.cli(
        &["admin", "add-inserter", "--name", "Issuer", "--json"],
        &[("IDOS_KEY_FILE", &owner_key)],
    ));
    let issuer = Ed25519SigningKey::generate();
    let issuer_file = write_secret(
        keys.path(),
        "issuer",
        &SigningKey::Ed25519(issuer.clone()).to_hex(),
    );
    ok_json(&serve.cli(
        &[
            "admin",
            "add-delegate",
            "--inserter-id",
            inserter["inserter_id"].as_str().unwrap(),
            "--address",
            &issuer.public_key().to_text(),
            "--json",
        ],
        &[("IDOS_KEY_FILE", &owner_key)],
    ));
    let issuer_env = [("IDOS_KEY_FILE", issuer_file.as_path())];
    let wallet = SigningKey::generate_evm();
    let user_box = EncryptionSecretKey::generate();
    let user_id = Uuid::new_v4();
    let proof = node::testkit::wallet_proof(&wallet, &user_id, &chain_id, Uuid::new_v4());
    let proof_file = keys.path().join("proof.json");
    std::fs::write(&proof_file, serde_json::to_vec(&proof).unwrap()).unwrap();
    ok_json(&serve.cli(
        &[
            "issuer",
            "create-profile",
            "--user-id",
            &user_id.to_string(),
            "--encryption-public-key",
            &user_box.public_key().to_string(),
            "--wallet-proof",
            proof_file.to_str().unwrap(),
            "--json",
        ],
        &issuer_env,
    ));

    // The issuer renders the grant; the user's wallet signs its text.
    let consumer = SigningKey::Ed25519(Ed25519SigningKey::generate());
    let consumer_box = EncryptionSecretKey::generate();
    let time = |t: i64| protocol::time::format_rfc3339(t).unwrap();
    let grant_file = keys.path().join("grant.json");
    let rendered = ok_json(&serve.cli(
        &[
            "issuer",
            "dwg-message",
            "--owner",
            &wallet.identity().identifier(),
            "--grantee",
            &consumer.identity().identifier(),
            "--timelock",
            &time(now() + 3600),
            "--not-before",
            &time(now() - 60),
            "--not-after",
            &time(now() + 3600),
            "--grant-out",
            grant_file.to_str().unwrap(),
            "--json",
        ],
        &issuer_env,
    ));
    let message = rendered["message"].as_str().unwrap();
    assert_eq!(
        rt.block_on(relay.dwg_message(&serde_json::from_value(rendered["grant"].clone()).unwrap()))
            .unwrap(),
        message
    );
    let signature_file = write_secret(
        keys.path(),
        "grant.sig",
        &idos_client::sign_in::sign_hex(&wallet, message),
    );
    let plaintext = b"{\"over_18\":true}";
    let credential_file = keys.path().join("credential.json");
    std::fs::write(&credential_file, plaintext).unwrap();
    let written = ok_json(&serve.cli(
        &[
            "issuer",
            "issue-by-dwg",
            "--grant",
            grant_file.to_str().unwrap(),
            "--grant-signature",
            signature_file.to_str().unwrap(),
            "--recipient",
            &user_box.public_key().to_string(),
            "--grantee-encryption-key",
            &consumer_box.public_key().to_string(),
            "--file",
            credential_file.to_str().unwrap(),
            "--json",
        ],
        &issuer_env,
    ));
    let copy_id = written["copy_id"].as_str().unwrap().to_owned();
    let credential_id = written["credential_id"].as_str().unwrap().to_owned();

    // The consumer decrypts the copy, exactly.
    let consumer_file = write_secret(keys.path(), "consumer", &consumer.to_hex());
    let consumer_box_file = write_secret(keys.path(), "consumer.box", &consumer_box.to_base64());
    let consumer_env = [
        ("IDOS_KEY_FILE", consumer_file.as_path()),
        ("IDOS_ENCRYPTION_KEY_FILE", consumer_box_file.as_path()),
    ];
    let fetch = || {
        serve.cli(
            &[
                "consumer",
                "fetch",
                &copy_id,
                "--decrypt",
                "--issuer",
                &issuer.public_key().to_text(),
            ],
            &consumer_env,
        )
    };
    let fetched = fetch();
    assert!(fetched.status.success(), "{fetched:?}");
    assert_eq!(fetched.stdout, plaintext);

    // Every other read of the client library decodes the real relay's answer.
    let original_id: Uuid = written["original_id"].as_str().unwrap().parse().unwrap();
    let copy_uuid: Uuid = copy_id.parse().unwrap();
    let hash = protocol::credential::content_hash(plaintext);
    let me = rt
        .block_on(relay.sign_in_siwe(&wallet, &SiweOptions::default()))
        .unwrap();
    let first = PageQuery::first();
    rt.block_on(async {
        let wallets = me.wallets(&first).await.unwrap().data.items;
        assert_eq!(wallets[0].address, wallet.identity());
        assert!(me.attributes(&first).await.unwrap().data.items.is_empty());
        assert!(me.has_profile(&wallet.identity()).await.unwrap().data);
        let mine = me.credentials(&first).await.unwrap().data.items;
        assert!(mine.iter().any(|c| c.id == original_id), "{mine:?}");
        let notes = me.credential_public_notes(original_id).await.unwrap().data;
        assert!(notes.contains(&credential_id), "{notes}");
        me.credential_locked(original_id).await.unwrap();
        let owned = me.grants_owned(&first.clone().limit(10)).await.unwrap();
        assert_eq!(owned.data.items[0].data_id, copy_uuid);
        let tx = me
            .tx_status(written["tx_hash"].as_str().unwrap(), false)
            .await
            .unwrap();
        assert!(tx.is_committed(), "{tx:?}");
        assert!(me.next_nonce(&wallet.identity()).await.unwrap() >= 1);
        me.logout().await.unwrap();

        let them = relay.sign_in_ed25519(&consumer, None).await.unwrap();
        assert_eq!(
            them.grants_granted_count(Some(user_id)).await.unwrap().data,
            1
        );
        let granted = them.grants_granted(Some(user_id), &first).await.unwrap();
        assert_eq!(granted.data.items[0].content_hash, hash);
        let issuer_key = issuer.public_key();
        let copies = them
            .shared_by_user(user_id, Some(&issuer_key), &first)
            .await
            .unwrap();
        assert_eq!(copies.data.items[0].id, copy_uuid);
        assert_eq!(
            them.sibling_credential(&hash).await.unwrap().data,
            Some(copy_uuid)
        );
        them.logout().await.unwrap();
    });

    // The issuer revokes it; the consumer's fetch refuses, printing nothing.
    ok_json(&serve.cli(
        &[
            "issuer",
            "revoke",
            "--credential-id",
            &credential_id,
            "--json",
        ],
        &issuer_env,
    ));
    let refused = fetch();
    fails_with(&refused, "credential_revoked");
    assert!(refused.stdout.is_empty());

    // The consumer gives the copy up; its grant is gone.
    let rescinded =
        ok_json(&serve.cli(&["consumer", "rescind", &copy_id, "--json"], &consumer_env));
    assert_eq!(rescinded["copy_id"], copy_id.as_str());
    let grants = ok_json(&serve.cli(&["consumer", "grants", "--json"], &consumer_env));
    assert_eq!(grants["grants"], serde_json::json!([]));
}

/// The negative cases against the real process: each a 4xx with its stable code.
#[test]
fn fail_foreign_sessions_forged_tokens_and_foreign_origin_cookie_writes_are_refused() {
    let serve = Serve::start();
    let rt = runtime();
    let relay = serve.client();
    let wallet = SigningKey::generate_evm();

    // A session reads only its own data: another user's credential and a copy not granted to
    // it are not found, whatever ids it asks for.
    let me = rt
        .block_on(relay.sign_in_siwe(&wallet, &SiweOptions::default()))
        .unwrap();
    let someone_elses = Uuid::new_v4();
    for err in [
        rt.block_on(me.credential(someone_elses)).unwrap_err(),
        rt.block_on(me.shared_credential(someone_elses))
            .unwrap_err(),
        rt.block_on(me.me()).unwrap_err(),
    ] {
        assert!(
            matches!(err.status(), Some(404)),
            "a foreign or missing record is a 404: {err}"
        );
    }

    // A forged bearer token (a real session's claims under a made-up tag), and a real one
    // altered, are refused.
    let session = rt
        .block_on(relay.sign_in_siwe_session(&wallet, &SiweOptions::default()))
        .unwrap();
    let payload = session.token.split('.').nth(1).unwrap();
    let forged = relay.with_token(format!("v1.{payload}.{}", "A".repeat(43)));
    let err = rt.block_on(forged.me()).unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(401), "session_invalid"));
    let mut altered = session.token.clone().into_bytes();
    let last = altered.len() - 2;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let err = rt
        .block_on(relay.with_token(String::from_utf8(altered).unwrap()).me())
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(401), "session_invalid"));

    // A cookie write from a foreign Origin is refused; from the relay's own origin it works.
    let cookie_write = |origin: &str| {
        raw(
            serve.proxy.port,
            &format!(
                "POST /api/v1/auth/logout HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\nOrigin: {origin}\r\nCookie: idos_session={}\r\nContent-Length: 0\r\n\r\n",
                serve.proxy.port, session.token
            ),
        )
    };
    let foreign = cookie_write("https://evil.example");
    assert!(foreign.starts_with("HTTP/1.1 403"), "{foreign}");
    assert!(foreign.contains("\"origin_not_allowed\""), "{foreign}");
    let own = cookie_write(&serve.url());
    assert!(own.starts_with("HTTP/1.1 204"), "{own}");

    // An Ed25519 key signs in too, and a logged-out session is refused.
    let server = SigningKey::Ed25519(Ed25519SigningKey::generate());
    let signed_in = rt.block_on(relay.sign_in_ed25519(&server, None)).unwrap();
    rt.block_on(signed_in.logout()).unwrap();
    let err = rt
        .block_on(signed_in.grants_owned(&PageQuery::first()))
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(401), "session_revoked"));
    assert!(matches!(err, ClientError::Api { .. }));

    // The CLI names the relay's code on its one stderr line.
    let keys = tempfile::TempDir::new().unwrap();
    let key = write_secret(keys.path(), "k", &server.to_hex());
    let rescind = serve.cli(
        &["consumer", "rescind", &Uuid::new_v4().to_string()],
        &[("IDOS_KEY_FILE", &key)],
    );
    assert_eq!(rescind.status.code(), Some(1), "{rescind:?}");
    let no_key = serve.cli(&["consumer", "grants"], &[]);
    fails_with(&no_key, "usage");
    // The key may come from the variable IDOS_KEY, never from an argument.
    let from_env = Command::new(assert_cmd::cargo::cargo_bin("idos"))
        .args(["consumer", "grants", "--json"])
        .env("IDOS_RELAY", serve.url())
        .env_remove("IDOS_KEY_FILE")
        .env("IDOS_KEY", server.to_hex().as_str())
        .output()
        .unwrap();
    assert_eq!(ok_json(&from_env), serde_json::json!({"grants": []}));
    let in_argv = serve.cli(
        &["consumer", "grants", "--key", server.to_hex().as_str()],
        &[],
    );
    assert_eq!(in_argv.status.code(), Some(2), "{in_argv:?}");
    let unreachable = Command::new(assert_cmd::cargo::cargo_bin("idos"))
        .args(["consumer", "grants", "--relay", "http://127.0.0.1:1"])
        .env("IDOS_KEY_FILE", &key)
        .output()
        .unwrap();
    fails_with(&unreachable, "transport");
}

/// One raw HTTP/1.1 exchange; the whole answer as text.
fn raw(port: u16, request: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}
