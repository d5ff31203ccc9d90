//! `idos serve` as a process: the node, the app origin and the enclave origin (on two sites:
//! `localhost` and `127.0.0.1`) come up, with their security headers, and stop cleanly on
//! SIGTERM; insecure or same-site origins are refused. The demo dapp's origin (a third host,
//! `127.0.0.2`) may frame the enclave and call the API cross-origin; no other origin gets a CORS
//! grant.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.1 GET (no client crate needed): status line, headers and body as text.
fn get(port: u16, path: &str) -> Option<String> {
    request("127.0.0.1", port, "GET", path, "")
}

/// A minimal HTTP/1.1 request to `host:port` with extra header lines.
fn request(host: &str, port: u16, method: &str, path: &str, headers: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect((host, port)).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{headers}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// A CORS preflight for `GET /api/v1/me` with a bearer token, from `origin`.
fn preflight(port: u16, origin: &str) -> String {
    request(
        "127.0.0.1",
        port,
        "OPTIONS",
        "/api/v1/me",
        &format!(
            "Origin: {origin}\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: authorization\r\n"
        ),
    )
    .unwrap()
    .to_lowercase()
}

#[test]
fn serve_starts_the_node_the_web_apps_and_the_enclave_on_two_origins() {
    let dir = tempfile::TempDir::new().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir_all(www.join("enclave/dist")).unwrap();
    std::fs::write(www.join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::write(
        www.join("enclave/dist/index.html"),
        "<!doctype html><script type=\"module\">boot()</script>",
    )
    .unwrap();
    std::fs::create_dir_all(www.join("dapp")).unwrap();
    std::fs::write(
        www.join("dapp/index.html"),
        "<!doctype html><title>dapp</title>",
    )
    .unwrap();
    let (app, enclave, rpc) = (free_port(), free_port(), free_port());
    let dapp = TcpListener::bind("127.0.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("idos"))
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--www")
        .arg(&www)
        .args([
            "--app-addr",
            &format!("127.0.0.1:{app}"),
            "--enclave-addr",
            &format!("127.0.0.1:{enclave}"),
        ])
        .args([
            "--rpc-addr",
            &format!("127.0.0.1:{rpc}"),
            "--allow-origin",
            "https://dapp.example.com",
            "--dapp-addr",
            &format!("127.0.0.2:{dapp}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let ready = loop {
        if let Some(r) = get(app, "/readyz") {
            break r;
        }
        assert!(Instant::now() < deadline, "idos serve did not come up");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert!(ready.contains("\"chain_id\":\"idos-local\""), "{ready}");
    // The operations layers are on the app origin: request ids, liveness, metrics.
    assert!(ready.to_lowercase().contains("x-request-id: "), "{ready}");
    assert!(get(app, "/livez").unwrap().starts_with("HTTP/1.1 200"));
    let metrics = get(app, "/metrics").unwrap();
    assert!(
        metrics.contains(
            r#"idos_relay_http_requests_total{route="/readyz",method="GET",status="200"}"#
        ),
        "{metrics}"
    );

    let page = get(app, "/").unwrap().to_lowercase();
    assert!(
        page.contains(&format!("frame-src http://127.0.0.1:{enclave}")),
        "{page}"
    );
    assert!(page.contains("x-content-type-options: nosniff"));
    assert!(page.contains("frame-ancestors 'none'"));

    // Static files are gzipped for browsers that accept it (web::static_files); an API answer
    // never is, even when asked: a compressed answer mixing a secret (a session token, say)
    // with text the caller chose would leak it through its length (BREACH).
    let nonce = request(
        "127.0.0.1",
        app,
        "GET",
        "/api/v1/auth/nonce",
        "Accept-Encoding: gzip\r\n",
    )
    .unwrap()
    .to_lowercase();
    assert!(nonce.starts_with("http/1.1 200"), "{nonce}");
    assert!(!nonce.contains("content-encoding"), "{nonce}");

    let enclave_page = get(enclave, "/").unwrap().to_lowercase();
    assert!(
        enclave_page.contains(&format!(
            "frame-ancestors http://localhost:{app} http://127.0.0.2:{dapp} https://dapp.example.com"
        )),
        "{enclave_page}"
    );
    let config = get(enclave, "/config.json").unwrap();
    assert!(
        config.contains(&format!(
            "[\"http://localhost:{app}\",\"http://127.0.0.2:{dapp}\",\"https://dapp.example.com\"]"
        )),
        "{config}"
    );

    // The demo dapp's origin: its page with its own strict CSP, and its back end.
    let dapp_page = request("127.0.0.2", dapp, "GET", "/", "")
        .unwrap()
        .to_lowercase();
    assert!(dapp_page.starts_with("http/1.1 200"), "{dapp_page}");
    assert!(
        dapp_page.contains(&format!(
            "connect-src 'self' http://localhost:{app}; frame-src http://127.0.0.1:{enclave};"
        )),
        "{dapp_page}"
    );
    let dapp_config = request("127.0.0.2", dapp, "GET", "/api/config", "").unwrap();
    assert!(
        dapp_config.contains(&format!("\"relay_url\":\"http://localhost:{app}\"")),
        "{dapp_config}"
    );
    // CORS on the API: exactly the dapp origins, bearer only (no credentials).
    for allowed in [
        format!("http://127.0.0.2:{dapp}"),
        "https://dapp.example.com".into(),
    ] {
        let answer = preflight(app, &allowed);
        assert!(
            answer.contains(&format!("access-control-allow-origin: {allowed}")),
            "{allowed}: {answer}"
        );
        assert!(answer.contains("access-control-allow-headers: authorization,content-type"));
        assert!(
            !answer.contains("access-control-allow-credentials"),
            "{answer}"
        );
    }
    for other in [
        format!("http://localhost:{app}"),
        format!("http://127.0.0.2:{}", dapp + 1),
        "https://dapp.example.com.evil.com".into(),
        "null".to_owned(),
    ] {
        let answer = preflight(app, &other);
        assert!(
            !answer.contains("access-control-allow-origin"),
            "{other}: {answer}"
        );
    }

    let status = get(rpc, "/status").unwrap();
    assert!(status.contains("\"network\":\"idos-local\""), "{status}");

    // SIGTERM stops it cleanly.
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let code = child.wait().unwrap();
    assert!(code.success(), "exit status {code}");
    // And a missing enclave build is a clear error.
    let out = Command::new(assert_cmd::cargo::cargo_bin("idos"))
        .args(["serve", "--www"])
        .arg(dir.path().join("nowhere"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: the enclave is not built"), "{err}");

    // A plain-http host that is not loopback, or an app on the enclave's host, is refused.
    for (flag, value, says) in [
        (
            "--allow-origin",
            "http://dapp.example.com".to_owned(),
            "not a secure origin",
        ),
        (
            "--app-origin",
            format!("http://127.0.0.1:{app}"),
            "another host",
        ),
        (
            "--dapp-origin",
            "http://127.0.0.1:9".to_owned(),
            "another host",
        ),
        (
            "--dapp-origin",
            "http://dapp.example.com".to_owned(),
            "not a secure origin",
        ),
    ] {
        let out = Command::new(assert_cmd::cargo::cargo_bin("idos"))
            .arg("serve")
            .arg("--data-dir")
            .arg(dir.path().join("data2"))
            .arg("--www")
            .arg(&www)
            .args(["--app-addr", "127.0.0.1:0", "--enclave-addr", "127.0.0.1:0"])
            .args(["--dapp-addr", "127.0.0.2:0"])
            .args(["--rpc-addr", "127.0.0.1:0", flag, &value])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{flag} {value}: {err}");
    }
}
