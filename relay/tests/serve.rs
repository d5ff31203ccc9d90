//! `idos serve` as a process: the node, the app origin and the enclave origin (on two sites:
//! `localhost` and `127.0.0.1`) come up, with their security headers, and stop cleanly on
//! SIGTERM; insecure or same-site origins are refused.

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
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
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
    let (app, enclave, rpc) = (free_port(), free_port(), free_port());
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

    let enclave_page = get(enclave, "/").unwrap().to_lowercase();
    assert!(
        enclave_page.contains(&format!(
            "frame-ancestors http://localhost:{app} https://dapp.example.com"
        )),
        "{enclave_page}"
    );
    let config = get(enclave, "/config.json").unwrap();
    assert!(
        config.contains(&format!(
            "[\"http://localhost:{app}\",\"https://dapp.example.com\"]"
        )),
        "{config}"
    );

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
    ] {
        let out = Command::new(assert_cmd::cargo::cargo_bin("idos"))
            .arg("serve")
            .arg("--data-dir")
            .arg(dir.path().join("data2"))
            .arg("--www")
            .arg(&www)
            .args(["--app-addr", "127.0.0.1:0", "--enclave-addr", "127.0.0.1:0"])
            .args(["--rpc-addr", "127.0.0.1:0", flag, &value])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{flag} {value}: {err}");
    }
}
