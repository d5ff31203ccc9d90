//! The whole idOS journey (issue 12's acceptance test), in real Chromium, against a real
//! `idos serve` process (the built `idos` binary, a fresh data directory, the bundled node, the
//! development wallet on), as a new user:
//!
//! 1. the demo issuer's page (app origin, `/issuer/`) signs in with the development wallet,
//!    creates the key in the enclave's dialog (a password) and the profile, and issues a KYC
//!    credential whose document number is unique: the **marker**;
//! 2. the demo dapp's page (a third site) signs in, asks for a 30-day-locked grant; the user
//!    unlocks and approves the recipient in the enclave's dialog, the wallet signs
//!    `share_credential`; the dapp's back end decrypts the copy and the page shows "Verified" with
//!    the marker and the content's SHA-256, which is the hash the issuer signed in the public
//!    notes (so the back end decrypted exactly the issued plaintext);
//! 3. the dashboard (app origin): revoking the grant is refused while it is locked, with the date
//!    it unlocks (about 30 days away) and without asking the wallet; the access log names the
//!    dapp's read; "Download all my data" releases the credential only after Approve in the
//!    enclave's dialog, and the downloaded JSON (Chromium's download directory) holds the marker
//!    and content of exactly that hash;
//! 4. change the password (current, new; the wallet signs `rotate_encryption_key`), forget this
//!    device, unlock with the NEW password (the old one is refused), and the credential still
//!    decrypts: the view dialog shows the marker, and a second export, after Approve, holds it.
//!
//! **Plaintext never leaves the client**, checked by the same run with the marker:
//!
//! - (a) the browser reaches the server only through recording reverse proxies in this process,
//!   one per origin (app, enclave, dapp); `idos serve` is started with `--app-origin`,
//!   `--enclave-origin` and `--dapp-origin` naming the proxies, so the pages, their CSPs, the
//!   sign-in messages and CORS all name the proxies, and every request body the server received
//!   from the browser is recorded. The marker is in none of them. Response bodies are not
//!   checked, on purpose: the issuer is the marker's author (its back end tells its page the
//!   document number it issued), and the dapp's back end, which the user chose to share with,
//!   answers its own page with what it verified (the dapp listener's `/api/verify` response):
//!   both are the server talking to its own page, after the user's consent, and neither is
//!   something the browser sent. What the browser sends (through all three origins, including
//!   the dapp page's request to its back end and every development-wallet request) is checked,
//!   whole; the recorder is shown to work (it holds the dapp page's `POST /api/verify` and the
//!   `share_credential` transaction), and a dashboard changed to post the released plaintext to
//!   the relay fails here. Not covered: the requests the demo issuer's and dapp's back ends make,
//!   inside the server process, straight to the app listener (server to server, never through
//!   the browser; the issuer sends the content encrypted to the user's key).
//! - (b) no file of the data directory holds the marker's bytes (RocksDB's SST, WAL, manifest
//!   and log files, the relay's store, key files), read as bytes after the server stopped; the
//!   public notes' content hash is found there, so the scan reads what was written. (RocksDB
//!   compresses only levels below the two every write passes, which a run this short never
//!   reaches; the credentials table is never compressed.)
//! - (c) the server's stdout and stderr (at its default log level) do not hold it; the issuer's
//!   "issued a credential" line shows the logs were captured.
//! - (d) the dapp page's JavaScript context holds nothing of it before the release: its DOM
//!   with form values, storage, cookies, IndexedDB, every message its window and its
//!   MessagePorts received, and every fetch response body, while the enclave's share dialog
//!   waits for Approve and again while the wallet is asked to sign the grant (after Approve the
//!   page holds the copy, encrypted to the dapp's key); after the back end's answer the same scan
//!   finds the marker. The dashboard likewise holds none of it while the release dialog waits,
//!   nor after the view dialog showed it (shown in the dialog only).
//!
//! axe-core runs on each state this journey reaches that the dashboard and demo-page tests do
//! not: the dashboard with a shared grant and a read, after the export, after the password
//! change, after forgetting the device and after unlocking again, and the enclave's
//! password-change dialog.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::Response;
use e2e::kit::{
    assert_accessible, click_armed, dialog_state, fill_dialog, unlock_in_dialog, wait_armed,
};
use e2e::pages::{
    approve_in_dev_wallet, click, enclave_dialog, get_credential_on_issuer_page, holdings,
    screenshot, text_of,
};
use e2e::{Browser, back_to, enclave_dist, js, open_dialog, poll, root};
use fantoccini::Client;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a much better passphrase, 2026";

/// Records, from now on, every message the window and any MessagePort receive (the enclave's
/// answers reach the SDK through a port) and the body of every fetch response.
const RECORD_RECEIVED: &str = r#"
window.journeyReceived = [];
window.journeyFetched = [];
window.journeyPendingReads = [];
const record = (data) => { try { window.journeyReceived.push(JSON.stringify(data)); } catch (e) { window.journeyReceived.push(String(data)); } };
addEventListener('message', (e) => record(e.data), true);
const slot = Object.getOwnPropertyDescriptor(MessagePort.prototype, 'onmessage');
Object.defineProperty(MessagePort.prototype, 'onmessage', {
  configurable: true,
  get() { return slot.get.call(this); },
  set(f) { slot.set.call(this, f && function (e) { record(e.data); return f.call(this, e); }); },
});
const listen = MessagePort.prototype.addEventListener;
MessagePort.prototype.addEventListener = function (type, f, o) {
  return listen.call(this, type, type === 'message' ? (e) => { record(e.data); return f(e); } : f, o);
};
const realFetch = window.fetch;
window.fetch = async function (...args) {
  const r = await realFetch.apply(this, args);
  window.journeyPendingReads.push(r.clone().text().then((t) => window.journeyFetched.push(t), () => {}));
  return r;
};
return 1;
"#;

// --- the recording reverse proxy -------------------------------------------------------------------

/// A request body the server received from the browser, with what it was sent to.
struct Recorded {
    origin: String,
    target: String,
    body: Bytes,
}

#[derive(Clone)]
struct Proxy {
    /// This proxy's origin, as the browser knows it.
    origin: String,
    /// Where `idos serve` really listens, e.g. `http://127.0.0.1:40123`.
    upstream: String,
    client: reqwest::Client,
    log: Arc<Mutex<Vec<Recorded>>>,
}

/// Headers of one hop only (RFC 9110 §7.6.1), and those the client recomputes.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

/// Forwards one request, whole, to the upstream and its answer, whole, back; records the body.
async fn forward(State(p): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 64 << 20).await.expect("a request body");
    let target = format!(
        "{} {}",
        parts.method,
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    p.log.lock().unwrap().push(Recorded {
        origin: p.origin.clone(),
        target: target.clone(),
        body: body.clone(),
    });
    let url = format!(
        "{}{}",
        p.upstream,
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut upstream = p.client.request(parts.method, url).body(body);
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.send().await {
        Ok(answer) => answer,
        Err(e) => {
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::from(format!("test proxy: {target}: {e}")))
                .unwrap();
        }
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !hop_by_hop(name) {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    response.body(Body::from(bytes)).unwrap()
}

/// Starts a recording proxy on `listener` (origin `origin`) to `upstream`.
fn start_proxy(
    listener: tokio::net::TcpListener,
    origin: String,
    upstream: String,
    log: Arc<Mutex<Vec<Recorded>>>,
) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let router = axum::Router::new().fallback(forward).with_state(Proxy {
        origin,
        upstream,
        client,
        log,
    });
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
}

// --- the server process ----------------------------------------------------------------------------

/// The built `idos` binary, next to this test's directory (`target/<profile>/idos`).
fn idos_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .join(format!("idos{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is not built: run `cargo build --workspace --all-targets` first",
        bin.display()
    );
    bin
}

/// A free port on `ip` (bound, then released for the server to bind).
fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `idos serve`, stopped (SIGTERM) when dropped.
struct Server {
    child: Child,
}

impl Server {
    fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .arg(self.child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

// --- page steps ------------------------------------------------------------------------------------

/// Waits for a new finished download in `dir` (not one of `seen`); returns its path.
async fn downloaded(dir: &Path, seen: &BTreeSet<PathBuf>) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json") && !seen.contains(p))
            .collect();
        if let [file] = &done[..] {
            // Chromium renames the `.crdownload` file when the download is complete.
            return file.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no download in {} within 30 s: {done:?}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Exports the user's data from the dashboard: checks that the page holds no `marker` while
/// the release dialog waits, approves, and returns the downloaded JSON.
async fn export(c: &Client, downloads: &Path, marker: &str) -> Value {
    let seen: BTreeSet<PathBuf> = std::fs::read_dir(downloads)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    js(
        c,
        "document.getElementById('settings-status').replaceChildren(); return 1",
        vec![],
    )
    .await;
    click(c, "#export").await;
    let main = open_dialog(c).await;
    assert_eq!(dialog_state(c, "release").await, "release");
    wait_armed(c).await;
    c.switch_to_window(main.clone()).await.unwrap();
    assert!(
        !holdings(c).await.contains(marker),
        "the dashboard holds the content before the user approved its release"
    );
    let dialog = e2e::other_windows(c, &main, 1).await;
    c.switch_to_window(dialog[0].clone()).await.unwrap();
    click_armed(c, "approve").await;
    back_to(c, &main).await;
    text_of(c, "#export-done", 30, |t| {
        t.starts_with("Exported 1 credential")
    })
    .await;
    let file = downloaded(downloads, &seen).await;
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("idOS-data-export-"), "{name}");
    serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap()
}

/// Whether `haystack` contains `needle`, as bytes.
fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_gets_a_credential_shares_it_with_a_dapp_and_manages_it_without_plaintext_leaving_the_client()
 {
    let work = tempfile::TempDir::new().unwrap();
    let data = work.path().join("data");
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let _ = enclave_dist();

    // The proxies: the origins the browser knows. Three sites: localhost (app), 127.0.0.1
    // (enclave), 127.0.0.2 (the demo dapp).
    let log = Arc::new(Mutex::new(Vec::new()));
    let app_proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!(
        "http://localhost:{}",
        app_proxy.local_addr().unwrap().port()
    );
    let enclave_proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let enclave = format!("http://{}", enclave_proxy.local_addr().unwrap());
    let dapp_proxy = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let dapp = format!("http://{}", dapp_proxy.local_addr().unwrap());
    // Where `idos serve` listens.
    let app_port = free_port("127.0.0.1");
    let enclave_port = free_port("127.0.0.1");
    let dapp_port = free_port("127.0.0.2");
    let rpc_port = free_port("127.0.0.1");
    start_proxy(
        app_proxy,
        app.clone(),
        format!("http://127.0.0.1:{app_port}"),
        log.clone(),
    );
    start_proxy(
        enclave_proxy,
        enclave.clone(),
        format!("http://127.0.0.1:{enclave_port}"),
        log.clone(),
    );
    start_proxy(
        dapp_proxy,
        dapp.clone(),
        format!("http://127.0.0.2:{dapp_port}"),
        log.clone(),
    );

    let stdout_path = work.path().join("serve.stdout");
    let stderr_path = work.path().join("serve.stderr");
    let mut server = Server {
        child: Command::new(idos_binary())
            .arg("serve")
            .arg("--data-dir")
            .arg(&data)
            .arg("--www")
            .arg(root().join("www"))
            .args(["--app-addr", &format!("127.0.0.1:{app_port}")])
            .args(["--enclave-addr", &format!("127.0.0.1:{enclave_port}")])
            .args(["--dapp-addr", &format!("127.0.0.2:{dapp_port}")])
            .args(["--rpc-addr", &format!("127.0.0.1:{rpc_port}")])
            .args(["--app-origin", &app])
            .args(["--enclave-origin", &enclave])
            .args(["--dapp-origin", &dapp])
            .env_remove("RUST_LOG")
            .stdout(std::fs::File::create(&stdout_path).unwrap())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    };
    let probe = reqwest::Client::builder().no_proxy().build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = probe
            .get(format!("http://127.0.0.1:{app_port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            break;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!(
                "idos serve exited ({status}):\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "idos serve did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let b = Browser::start_with_downloads(Some(&downloads)).await;
    let c = &b.client;

    // --- 1. The issuer's page: profile, key and credential -------------------------------------------
    c.goto(&format!("{app}/issuer/")).await.unwrap();
    text_of(c, "#issuer-registration", 60, |t| {
        t.starts_with("registered")
    })
    .await;
    click(c, "button.wallet[data-rdns='network.idos.dev-wallet']").await;
    let shown = approve_in_dev_wallet(c).await;
    assert!(
        shown.starts_with(&format!("{app} wants you to sign in")),
        "{shown}"
    );
    let address = text_of(c, "#signed-in-address", 30, |t| t.starts_with("0x")).await;
    let marker = get_credential_on_issuer_page(c, PASSWORD).await;
    assert_eq!(marker.len(), 16, "a unique document number: {marker}");

    // --- 2. The dapp's page, on another site: a 30-day-locked grant -----------------------------------
    c.goto(&format!("{dapp}/")).await.unwrap();
    text_of(c, "#wallet-choices", 30, |t| {
        t.contains("development wallet")
    })
    .await;
    js(c, RECORD_RECEIVED, vec![]).await;
    text_of(c, "#lock-days", 5, |t| t == "30").await;
    click(c, "button.wallet[data-rdns='network.idos.dev-wallet']").await;
    let shown = approve_in_dev_wallet(c).await;
    assert!(
        shown.starts_with(&format!("{dapp} wants you to sign in")),
        "{shown}"
    );
    text_of(c, "#credential-found", 30, |t| {
        t.contains("KYC credential, level basic")
    })
    .await;
    click(c, "#share").await;
    // Another site, another storage partition: unlock, then approve the recipient.
    let main = enclave_dialog(c).await;
    unlock_in_dialog(c, PASSWORD, "session").await;
    back_to(c, &main).await;
    let main = enclave_dialog(c).await;
    assert_eq!(dialog_state(c, "share").await, "share");
    wait_armed(c).await;
    screenshot(c, "journey-consent", None).await;
    c.switch_to_window(main.clone()).await.unwrap();
    let before = holdings(c).await;
    assert!(
        before.contains(&address) && before.contains("KYC"),
        "the scan reads the page"
    );
    assert!(
        !before.contains(&marker),
        "the dapp page holds the content while the user has not approved"
    );
    let dialog = e2e::other_windows(c, &main, 1).await;
    c.switch_to_window(dialog[0].clone()).await.unwrap();
    click_armed(c, "approve").await;
    back_to(c, &main).await;
    // Approved in the enclave; the wallet is asked to sign the grant: still nothing readable.
    text_of(
        c,
        "#dev-wallet-confirm[open] #dev-wallet-message",
        30,
        |t| t.contains("share_credential"),
    )
    .await;
    let received = js(c, "return window.journeyReceived.length", vec![]).await;
    assert!(
        received.as_u64().unwrap() > 0,
        "the recorder saw the enclave's answers"
    );
    assert!(
        !holdings(c).await.contains(&marker),
        "the dapp page holds the content before the grant is signed and read"
    );
    approve_in_dev_wallet(c).await;
    text_of(c, "#verified", 60, |t| t == "Verified").await;
    text_of(c, "#verified-document", 5, |t| t.contains(&marker)).await;
    let dapp_hash = text_of(c, "#verified-content-hash", 5, |t| !t.is_empty()).await;
    assert!(
        holdings(c).await.contains(&marker),
        "after the release the same scan finds the content"
    );
    let fetched = js(
        c,
        "return Promise.all(window.journeyPendingReads).then(() => window.journeyFetched.join('\\n'))",
        vec![],
    )
    .await;
    assert!(
        fetched.as_str().unwrap().contains(&marker),
        "the fetch recorder saw the back end's answer"
    );
    screenshot(c, "journey-dapp-verified", Some("#result-section")).await;

    // --- 3. The dashboard: locked grant, access log, export ---------------------------------------------
    c.goto(&format!("{app}/")).await.unwrap();
    let signed_in = poll(
        c,
        "return !!document.querySelector('#signed-in-address') || !!document.querySelector(\"button.wallet[data-rdns='network.idos.dev-wallet']\")",
        30,
        |v| v == true,
    )
    .await;
    assert_eq!(signed_in, true);
    if js(
        c,
        "return !document.querySelector('#signed-in-address')",
        vec![],
    )
    .await
        == true
    {
        click(c, "button.wallet[data-rdns='network.idos.dev-wallet']").await;
        approve_in_dev_wallet(c).await;
    }
    text_of(c, "#signed-in-address", 30, |t| t == address).await;
    // The key the issuer page remembered for this tab and site serves the dashboard (same
    // origin) without a dialog.
    text_of(c, "#key-line", 30, |t| t.contains("unlocked")).await;
    let card = text_of(c, "#credential-list .credential", 30, |t| t.contains("KYC")).await;
    assert!(
        card.contains(&dapp_hash),
        "the dapp decrypted content of the hash the issuer signed in the public notes: {card}"
    );
    let owned = js(
        c,
        "return fetch('/api/v1/grants/owned').then(r => r.json())",
        vec![],
    )
    .await;
    let owned = owned.get("data").unwrap_or(&owned);
    // The issuer keeps its own copy under a delegated write grant; the user gave the dapp's.
    let shared: Vec<&Value> = owned["items"]
        .as_array()
        .expect("grants")
        .iter()
        .filter(|g| g["inserter_type"] == "user")
        .collect();
    assert_eq!(shared.len(), 1, "{owned}");
    let grant_id = shared[0]["id"].as_str().unwrap().to_owned();
    let locked_until = shared[0]["locked_until"].as_i64().unwrap();
    let grantee = shared[0]["ag_grantee_wallet_identifier"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let days = (locked_until - now) as f64 / 86_400.0;
    assert!(
        (29.9..=30.0).contains(&days),
        "locked for 30 days: {days} days"
    );
    let row = format!("#grant-list .grant[data-id='{grant_id}']");
    let grant = text_of(c, &row, 30, |t| t.contains("locked until")).await;
    assert!(grant.contains(&grantee), "{grant}");
    let unlocks = js(
        c,
        "return import('/shared/ui.js').then(m => m.formatTime(arguments[0]))",
        vec![json!(locked_until)],
    )
    .await;
    let unlocks = unlocks.as_str().unwrap().to_owned();
    // The access log: the dapp's key read the copy of this credential.
    let original = js(
        c,
        "return document.querySelector('#credential-list .credential').dataset.id",
        vec![],
    )
    .await;
    let original = original.as_str().unwrap().to_owned();
    let read = text_of(c, "#access-table tbody tr", 30, |t| t.contains(&grantee)).await;
    assert!(read.contains(&original), "{read}");
    assert_accessible(c).await;
    screenshot(c, "journey-dashboard", None).await;

    // Revoke is refused while locked, with the date it unlocks; the wallet is not asked.
    click(c, &format!("{row} button.revoke")).await;
    let refusal = text_of(c, &format!("{row} .card-status"), 15, |t| !t.is_empty()).await;
    assert!(
        refusal.contains(&unlocks) && refusal.contains("cannot be revoked"),
        "{refusal} (unlocks {unlocks})"
    );
    assert_eq!(
        js(
            c,
            "return !document.querySelector('#dev-wallet-confirm[open]')",
            vec![]
        )
        .await,
        true,
        "the wallet was not asked to sign"
    );

    // Export: only after Approve in the enclave's dialog; the file holds the plaintext.
    let exported = export(c, &downloads, &marker).await;
    let content = &exported["credentials"][0]["content"];
    assert_eq!(
        content["credentialSubject"]["idDocumentNumber"], marker,
        "{exported}"
    );
    let plaintext = serde_json::to_string(content).unwrap();
    assert_eq!(
        protocol::credential::content_hash(plaintext.as_bytes()).to_text(),
        dapp_hash,
        "the export and the dapp decrypted the same plaintext"
    );
    assert_eq!(exported["profile"]["id"].as_str().unwrap().len(), 36);
    assert!(
        exported["access_log"].to_string().contains(&grantee),
        "{exported}"
    );
    assert_accessible(c).await;
    screenshot(c, "journey-dashboard-exported", Some("#settings-section")).await;

    // --- 4. Change the password, forget the device, unlock with the new one ------------------------------
    let old_key = js(c, "return fetch('/api/v1/me').then(r => r.json())", vec![]).await;
    let old_key = old_key.get("data").unwrap_or(&old_key)["recipient_encryption_public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    click(c, "#change-password").await;
    let main = open_dialog(c).await;
    assert_eq!(dialog_state(c, "changePassword").await, "changePassword");
    fill_dialog(
        c,
        &[
            ("current-password", PASSWORD),
            ("password", NEW_PASSWORD),
            ("password-confirm", NEW_PASSWORD),
        ],
        "session",
    )
    .await;
    wait_armed(c).await;
    assert_accessible(c).await;
    click_armed(c, "unlock-submit").await;
    back_to(c, &main).await;
    let rotate = approve_in_dev_wallet(c).await;
    assert!(rotate.contains("rotate_encryption_key"), "{rotate}");
    text_of(c, "#password-changed", 60, |t| t.contains("re-encrypted")).await;
    let profile = text_of(c, "#profile", 30, |t| !t.contains(&old_key) && t.len() > 40).await;
    assert!(!profile.contains(&old_key), "{profile}");
    assert_accessible(c).await;
    screenshot(
        c,
        "journey-dashboard-password-changed",
        Some("#settings-section"),
    )
    .await;

    click(c, "#forget").await;
    text_of(c, "#forgotten", 15, |t| {
        t.contains("no longer keeps your key")
    })
    .await;
    text_of(c, "#key-line", 5, |t| t.contains("locked")).await;
    assert_accessible(c).await;
    // A reload proves nothing remembered the key: it is locked.
    c.refresh().await.unwrap();
    text_of(c, "#key-line", 30, |t| t.contains("Your key is locked")).await;
    assert_accessible(c).await;

    // The old password no longer opens it; the new one does.
    click(c, "#unlock").await;
    let main = open_dialog(c).await;
    unlock_in_dialog(c, PASSWORD, "none").await;
    text_of(c, "#unlock-error", 60, |t| !t.is_empty()).await;
    assert_eq!(dialog_state(c, "unlock").await, "unlock");
    unlock_in_dialog(c, NEW_PASSWORD, "none").await;
    back_to(c, &main).await;
    text_of(c, "#key-line", 30, |t| t.contains("unlocked")).await;
    assert_accessible(c).await;

    // The credential, re-encrypted to the new key, still decrypts: in the view dialog only...
    click(c, "#credential-list .credential button.view").await;
    let main = open_dialog(c).await;
    assert_eq!(dialog_state(c, "view").await, "view");
    let shown = poll(
        c,
        "return document.getElementById('credential').innerText",
        15,
        |v| v.as_str().is_some_and(|t| t.contains("DEMO")),
    )
    .await;
    assert!(shown.as_str().unwrap().contains(&marker), "{shown}");
    click_armed(c, "view-close").await;
    back_to(c, &main).await;
    assert!(
        !holdings(c).await.contains(&marker),
        "viewing shows the content in the enclave's dialog only"
    );
    // ...and released, after Approve, in a second export.
    let again = export(c, &downloads, &marker).await;
    assert_eq!(
        again["credentials"][0]["content"]["credentialSubject"]["idDocumentNumber"],
        marker
    );
    assert_ne!(
        again["profile"]["recipient_encryption_public_key"], old_key,
        "exported under the new key"
    );

    b.close().await;
    server.stop();

    // --- Plaintext never left the client ------------------------------------------------------------------
    // (a) Request bodies the server received from the browser.
    let log = std::mem::take(&mut *log.lock().unwrap());
    let marker_bytes = marker.as_bytes();
    let origins: BTreeSet<&str> = log.iter().map(|r| r.origin.as_str()).collect();
    assert_eq!(
        origins.len(),
        3,
        "all three origins were proxied: {origins:?}"
    );
    assert!(
        log.iter()
            .any(|r| r.target.starts_with("POST /api/verify") && !r.body.is_empty()),
        "the recorder saw the dapp page's request to its back end"
    );
    assert!(
        log.iter()
            .any(|r| contains_bytes(&r.body, b"share_credential")),
        "the recorder saw the grant"
    );
    for r in &log {
        assert!(
            !contains_bytes(&r.body, marker_bytes),
            "the browser sent the plaintext to {} {}",
            r.origin,
            r.target
        );
    }
    // (b) The data directory, as bytes.
    let mut found_notes = false;
    for file in files_under(&data) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !contains_bytes(&bytes, marker_bytes),
            "{} holds the plaintext",
            file.display()
        );
        found_notes |= contains_bytes(&bytes, dapp_hash.as_bytes());
    }
    assert!(found_notes, "the scan reads the stored public notes");
    // (c) The server's logs.
    let stdout = std::fs::read(&stdout_path).unwrap();
    let stderr = std::fs::read(&stderr_path).unwrap();
    assert!(
        contains_bytes(&stderr, b"demo issuer issued a credential")
            || contains_bytes(&stdout, b"demo issuer issued a credential"),
        "the logs were captured"
    );
    assert!(
        !contains_bytes(&stdout, marker_bytes),
        "stdout holds the plaintext"
    );
    assert!(
        !contains_bytes(&stderr, marker_bytes),
        "stderr holds the plaintext"
    );
}
