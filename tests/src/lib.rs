//! Helpers of the end-to-end tests (tests/tests/) and of the enclave bench: in-process servers
//! on loopback ports (each port is its own origin) and a headless Chromium driven through
//! `/usr/bin/chromedriver` with fantoccini. Nothing is skipped silently: a missing chromedriver,
//! Chromium or enclave build fails with a message saying what to install or run.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// `www/enclave/dist`, which must have been built by `trunk build` (or the build named by
/// `IDOS_ENCLAVE_DIST`, e.g. an older build to show that a new test fails on it).
pub fn enclave_dist() -> PathBuf {
    let dist = std::env::var_os("IDOS_ENCLAVE_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("www/enclave/dist"));
    assert!(
        dist.join("index.html").is_file() && dist.join("enclave_bg.wasm").is_file(),
        "the enclave is not built: run `trunk build` at the workspace root (scripts/test.sh does) to fill {}",
        dist.display()
    );
    dist
}

/// Serves `router` on 127.0.0.1 at a free port; returns its origin, e.g. `http://127.0.0.1:40123`.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr: SocketAddr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("test server");
    });
    format!("http://{addr}")
}

/// A bench page: `page` at `/`, its `script` at `/bench.js`, the production enclave build
/// `dist` at `/enclave/`; the caller nests what else the bench reads.
pub fn bench_page_router(page: &'static str, script: &'static str, dist: &Path) -> axum::Router {
    use axum::http::header::CONTENT_TYPE;
    use axum::response::Html;
    use axum::routing::get;
    axum::Router::new()
        .route("/", get(move || async move { Html(page) }))
        .route(
            "/bench.js",
            get(move || async move { ([(CONTENT_TYPE, "text/javascript")], script) }),
        )
        .nest_service("/enclave", tower_http::services::ServeDir::new(dist))
}

/// A host site: the SDK at `/sdk/` and `tests/site/host` at `/`.
pub fn host_router() -> axum::Router {
    use tower_http::services::ServeDir;
    axum::Router::new()
        .nest_service("/sdk", ServeDir::new(root().join("www/sdk")))
        .fallback_service(ServeDir::new(root().join("tests/site/host")))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("port")
        .port()
}

/// One browser at a time per test binary: two Chromiums on two cores make timeouts flaky.
static ONE_BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A running chromedriver and a headless Chromium session with a fresh profile.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: PathBuf,
    _turn: std::sync::MutexGuard<'static, ()>,
}

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

impl Browser {
    /// Starts chromedriver on a free port and opens a session. Panics with instructions when
    /// chromedriver or Chromium is missing.
    pub async fn start() -> Browser {
        Browser::start_with_downloads(None).await
    }

    /// As [`Browser::start`]; with `downloads`, files the pages download are saved there without
    /// asking (Chromium's `download.default_directory` preference).
    // The guard is held across awaits on purpose: it is the browser's turn, kept for its life.
    #[allow(clippy::await_holding_lock)]
    pub async fn start_with_downloads(downloads: Option<&Path>) -> Browser {
        // A test that failed while holding the browser leaves the lock poisoned; the next may go.
        let turn = ONE_BROWSER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let driver_path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.to_owned());
        assert!(
            Path::new(&driver_path).is_file(),
            "chromedriver not found at {driver_path}: install it (`scripts/setup.sh`, or apt-get install chromium chromium-driver) or set CHROMEDRIVER"
        );
        assert!(
            Path::new(CHROMIUM).is_file(),
            "Chromium not found at {CHROMIUM}: run scripts/setup.sh"
        );
        let port = free_port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {driver_path}: {e}"));
        let mut up = false;
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(up, "chromedriver did not listen on port {port} within 10 s");
        let profile = std::env::temp_dir().join(format!("idos-e2e-{}-{port}", std::process::id()));
        let prefs = match downloads {
            Some(dir) => serde_json::json!({
                "download.default_directory": dir.display().to_string(),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
            }),
            None => serde_json::json!({}),
        };
        let caps = serde_json::json!({"goog:chromeOptions": {
            "prefs": prefs,
            "binary": CHROMIUM,
            // Real popup blocking: only user gestures may open the dialog.
            "excludeSwitches": ["disable-popup-blocking"],
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", format!("--user-data-dir={}", profile.display())]}});
        let client = ClientBuilder::rustls()
            .expect("TLS setup")
            .capabilities(caps.as_object().expect("caps").clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session through chromedriver");
        Browser {
            client,
            driver,
            profile,
            _turn: turn,
        }
    }

    /// Ends the session and chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// Runs `script` (W3C execute: a returned promise is awaited) and returns its value.
pub async fn js(c: &Client, script: &str, args: Vec<serde_json::Value>) -> serde_json::Value {
    c.execute(script, args)
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// Polls `script` until `done` accepts its value or `secs` pass; returns the last value.
pub async fn poll(
    c: &Client,
    script: &str,
    secs: u64,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let v = js(c, script, vec![]).await;
        if done(&v) || std::time::Instant::now() > deadline {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the enclave's button inside the iframe (once it accepts clicks: fully visible for a
/// moment, `data-armed`) and switches to the dialog window it opens.
pub async fn open_dialog(c: &Client) -> fantoccini::wd::WindowHandle {
    let main = c.window().await.unwrap();
    poll(
        c,
        "return document.querySelector('#idos-enclave-iframe').style.display",
        10,
        |v| v == "block",
    )
    .await;
    c.enter_frame(0).await.unwrap();
    let button = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#attention[data-armed]:not([hidden])"))
        .await
        .unwrap();
    button.click().await.unwrap();
    c.enter_parent_frame().await.unwrap();
    let mut dialog = None;
    for _ in 0..100 {
        let windows = c.windows().await.unwrap();
        if let Some(w) = windows.into_iter().find(|w| *w != main) {
            dialog = Some(w);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.switch_to_window(dialog.expect("the dialog window opened"))
        .await
        .unwrap();
    main
}

/// Waits for the dialog to close, then switches back to `main`.
pub async fn back_to(c: &Client, main: &fantoccini::wd::WindowHandle) {
    for _ in 0..100 {
        if c.windows().await.unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.switch_to_window(main.clone()).await.unwrap();
}

/// The other windows than `main`, polling until there are `n` of them (or 10 s pass).
pub async fn other_windows(
    c: &Client,
    main: &fantoccini::wd::WindowHandle,
    n: usize,
) -> Vec<fantoccini::wd::WindowHandle> {
    let mut others = Vec::new();
    for _ in 0..100 {
        others = c
            .windows()
            .await
            .unwrap()
            .into_iter()
            .filter(|w| w != main)
            .collect();
        if others.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    others
}

pub mod kit;
pub mod pages;
pub mod product;
