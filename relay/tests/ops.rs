//! The operations layers (`relay::ops`): health, metrics, request ids, logs without secrets,
//! body and time limits, panics, rate limits per address and identity, and graceful shutdown.
//! Through `oneshot` and against real TCP listeners.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use axum::routing::{get, post};
use relay::ops::{
    CallerIdentity, ClientIp, NodeProbe, NodeStatus, Ops, OpsConfig, RateLimit, Stopped,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

fn ready_probe() -> Arc<dyn NodeProbe> {
    Arc::new(|| async {
        Ok(NodeStatus {
            chain_id: "idos-test".into(),
            height: 42,
        })
    })
}

/// No rate limits unless a test sets them.
fn config() -> OpsConfig {
    OpsConfig {
        rate_limit_per_ip: None,
        rate_limit_per_identity: None,
        ..OpsConfig::default()
    }
}

/// Test routes: an echo of the client address, one with a path parameter, a body reader, a
/// slow one and a panicking one.
fn app_routes() -> Router {
    Router::new()
        .route(
            "/ip",
            get(|ip: axum::Extension<ClientIp>| async move { ip.0.0.to_string() }),
        )
        .route("/things/{id}", get(|| async { "thing" }))
        .route(
            "/upload",
            post(|body: axum::body::Bytes| async move { body.len().to_string() }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(600)).await;
                "slow"
            }),
        )
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("secret detail 0xdeadbeef");
                }
                "unreachable"
            }),
        )
        .route(
            "/cookie",
            get(|| async {
                (
                    [("set-cookie", "session=SET-COOKIE-SECRET-77; HttpOnly")],
                    "ok",
                )
            }),
        )
}

fn app(ops: &Ops) -> Router {
    ops.wrap(app_routes().merge(ops.router()))
}

fn request(method: &str, uri: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(uri)
}

/// One request from `peer` through `oneshot`.
async fn send(app: &Router, req: Request<Body>, peer: &str) -> Response {
    let mut req = req;
    req.extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    app.clone().oneshot(req).await.unwrap()
}

async fn json(response: Response) -> serde_json::Value {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
}

async fn text(response: Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn get_req(uri: &str) -> Request<Body> {
    request("GET", uri).body(Body::empty()).unwrap()
}

const PEER: &str = "198.51.100.7:5000";

#[tokio::test]
async fn livez_answers_and_readyz_follows_the_node() {
    let ops = Ops::new(config(), ready_probe()).unwrap();
    let r = send(&app(&ops), get_req("/livez"), PEER).await;
    assert_eq!(r.status(), 200);
    assert_eq!(json(r).await["status"], "ok");
    let r = send(&app(&ops), get_req("/readyz"), PEER).await;
    assert_eq!(r.status(), 200);
    let body = json(r).await;
    assert_eq!(body["chain_id"], "idos-test");
    assert_eq!(body["height"], 42);

    let down: Arc<dyn NodeProbe> = Arc::new(|| async { Err("connection refused".to_owned()) });
    let ops = Ops::new(config(), down).unwrap();
    let r = send(&app(&ops), get_req("/readyz"), PEER).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = json(r).await;
    assert_eq!(body["code"], "not_ready");
    assert!(body["message"].as_str().unwrap().contains("node"));

    // A node that never answers is not ready either, within the readiness timeout.
    let hung: Arc<dyn NodeProbe> = Arc::new(std::future::pending::<Result<NodeStatus, String>>);
    let ops = Ops::new(
        OpsConfig {
            readiness_timeout: Duration::from_millis(50),
            ..config()
        },
        hung,
    )
    .unwrap();
    let r = send(&app(&ops), get_req("/readyz"), PEER).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(r).await["code"], "not_ready");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_never_by_raw_path() {
    let ops = Ops::new(config(), ready_probe()).unwrap();
    let app = app(&ops);
    for id in ["a1", "b2", "c3"] {
        let r = send(&app, get_req(&format!("/things/{id}")), PEER).await;
        assert_eq!(r.status(), 200);
    }
    send(&app, get_req("/no/such/path/x9"), PEER).await;
    send(
        &app,
        request("BREW", "/things/pot").body(Body::empty()).unwrap(),
        PEER,
    )
    .await;
    send(&app, get_req("/readyz"), PEER).await;
    ops.metrics().session_started();
    let r = send(&app, get_req("/metrics"), PEER).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let body = text(r).await;
    assert!(
        body.contains(
            r#"idos_relay_http_requests_total{route="/things/{id}",method="GET",status="200"} 3"#
        ),
        "{body}"
    );
    assert!(
        body.contains(r#"route="unmatched",method="GET",status="404""#),
        "{body}"
    );
    assert!(body.contains(r#"method="other""#), "{body}");
    assert!(
        body.contains("idos_relay_http_request_duration_seconds_bucket"),
        "{body}"
    );
    assert!(body.contains("idos_relay_node_height 42"), "{body}");
    assert!(body.contains("idos_relay_node_up 1"), "{body}");
    assert!(body.contains("idos_relay_sessions_active 1"), "{body}");
    for raw in ["a1", "b2", "c3", "x9", "BREW"] {
        assert!(!body.contains(raw), "raw {raw} in metrics: {body}");
    }
}

/// A `MakeWriter` into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn logs_carry_the_request_id_and_never_a_token_cookie_or_signature() {
    // Other tests run on other threads without a subscriber; with only this one registered,
    // `tracing` would cache each callsite's interest from whichever thread hits it first.
    std::mem::forget(tracing::Dispatch::new(
        tracing::subscriber::NoSubscriber::default(),
    ));
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let ops = Ops::new(config(), ready_probe()).unwrap();
    let req = request("GET", "/cookie?token=QUERY-SECRET-55")
        .header("authorization", "Bearer BEARER-SECRET-99")
        .header("cookie", "idos_session=COOKIE-SECRET-33")
        .header("x-signature", "0xSIGNATURE-SECRET-11")
        .header("user-agent", "ops-test-agent")
        .body(Body::empty())
        .unwrap();
    let r = send(&app(&ops), req, PEER).await;
    assert_eq!(r.status(), 200);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    // The headers are logged (at debug), so the redaction is what keeps the secrets out.
    assert!(logs.contains("ops-test-agent"), "{logs}");
    assert!(logs.contains(&id), "request id {id} not in {logs}");
    assert!(logs.contains("status=200"), "{logs}");
    for secret in [
        "BEARER-SECRET-99",
        "COOKIE-SECRET-33",
        "SIGNATURE-SECRET-11",
        "SET-COOKIE-SECRET-77",
        "QUERY-SECRET-55",
    ] {
        assert!(!logs.contains(secret), "{secret} logged: {logs}");
    }
}

#[tokio::test]
async fn every_response_has_a_request_id_kept_only_if_short_and_plain() {
    let ops = Ops::new(config(), ready_probe()).unwrap();
    let app = app(&ops);
    let r = send(&app, get_req("/livez"), PEER).await;
    let made = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    // 404s too.
    let r = send(&app, get_req("/nothing"), PEER).await;
    assert!(r.headers().contains_key("x-request-id"));

    let with = |id: &str| {
        request("GET", "/livez")
            .header("x-request-id", id)
            .body(Body::empty())
            .unwrap()
    };
    let r = send(&app, with("edge-7f3a.1:2"), PEER).await;
    assert_eq!(r.headers()["x-request-id"], "edge-7f3a.1:2");
    for bad in ["x".repeat(65), "a b".to_owned(), "<script>".to_owned()] {
        let r = send(&app, with(&bad), PEER).await;
        let got = r.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(got, bad);
        assert!(uuid::Uuid::parse_str(got).is_ok(), "{got}");
    }
}

#[tokio::test]
async fn oversize_bodies_are_refused_as_json_whether_declared_or_streamed() {
    let ops = Ops::new(
        OpsConfig {
            body_limit: 2048,
            ..config()
        },
        ready_probe(),
    )
    .unwrap();
    let app = app(&ops);
    let ok = request("POST", "/upload")
        .body(Body::from(vec![b'a'; 2048]))
        .unwrap();
    let r = send(&app, ok, PEER).await;
    assert_eq!(r.status(), 200);
    assert_eq!(text(r).await, "2048");

    // Declared: refused on Content-Length.
    let declared = request("POST", "/upload")
        .header("content-length", "4096")
        .body(Body::from(vec![b'a'; 4096]))
        .unwrap();
    let r = send(&app, declared, PEER).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = json(r).await;
    assert_eq!(body["code"], "body_too_large");
    assert!(body["message"].as_str().unwrap().contains("2048"));

    // Streamed without a length: refused while the handler reads it.
    let chunks = futures_chunks(6, 1024);
    let streamed = request("POST", "/upload")
        .body(Body::from_stream(chunks))
        .unwrap();
    let r = send(&app, streamed, PEER).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json(r).await["code"], "body_too_large");
}

#[tokio::test]
async fn a_body_limit_above_axums_own_is_honoured() {
    let ops = Ops::new(
        OpsConfig {
            body_limit: 4 << 20,
            ..config()
        },
        ready_probe(),
    )
    .unwrap();
    let big = request("POST", "/upload")
        .body(Body::from(vec![b'a'; 3 << 20]))
        .unwrap();
    let r = send(&app(&ops), big, PEER).await;
    assert_eq!(r.status(), 200);
    assert_eq!(text(r).await, (3 << 20).to_string());
}

#[tokio::test]
async fn the_node_watch_keeps_the_height_and_up_gauges_current() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let height = Arc::new(AtomicU64::new(7));
    let seen = height.clone();
    let probe: Arc<dyn NodeProbe> = Arc::new(move || {
        let h = seen.load(Ordering::Relaxed);
        async move {
            if h == 0 {
                Err("down".to_owned())
            } else {
                Ok(NodeStatus {
                    chain_id: "c".into(),
                    height: h,
                })
            }
        }
    });
    let ops = Ops::new(config(), probe).unwrap();
    let watch = ops.spawn_node_watch(Duration::from_millis(10));
    let wait_for = |want: &'static str| {
        let metrics = ops.metrics();
        async move {
            for _ in 0..200 {
                if metrics.encode().contains(want) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("{want} not in {}", metrics.encode());
        }
    };
    wait_for("idos_relay_node_height 7").await;
    wait_for("idos_relay_node_up 1").await;
    height.store(9, Ordering::Relaxed);
    wait_for("idos_relay_node_height 9").await;
    height.store(0, Ordering::Relaxed);
    wait_for("idos_relay_node_up 0").await;
    watch.abort();
}

fn futures_chunks(
    n: usize,
    size: usize,
) -> impl futures::Stream<Item = Result<Vec<u8>, io::Error>> {
    futures::stream::iter((0..n).map(move |_| Ok(vec![b'b'; size])))
}

#[tokio::test]
async fn slow_requests_time_out_as_json() {
    let ops = Ops::new(
        OpsConfig {
            request_timeout: Duration::from_millis(100),
            ..config()
        },
        ready_probe(),
    )
    .unwrap();
    let r = send(&app(&ops), get_req("/slow"), PEER).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("x-request-id"));
    let body = json(r).await;
    assert_eq!(body["code"], "timeout");
    assert!(body["message"].as_str().unwrap().contains("100 ms"));
}

#[tokio::test]
async fn a_panic_is_a_json_500_without_its_detail() {
    let ops = Ops::new(config(), ready_probe()).unwrap();
    let app = app(&ops);
    let r = send(&app, get_req("/panic"), PEER).await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.headers().contains_key("x-request-id"));
    let body = text(r).await;
    assert!(!body.contains("deadbeef"), "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "internal");
    // The server goes on.
    assert_eq!(send(&app, get_req("/livez"), PEER).await.status(), 200);
    let metrics = text(send(&app, get_req("/metrics"), PEER).await).await;
    assert!(
        metrics.contains(r#"route="/panic",method="GET",status="500""#),
        "{metrics}"
    );
}

fn limited(per_ip: Option<RateLimit>, trusted: &[&str]) -> Ops {
    Ops::new(
        OpsConfig {
            rate_limit_per_ip: per_ip,
            trusted_proxies: trusted.iter().map(|t| t.parse().unwrap()).collect(),
            ..config()
        },
        ready_probe(),
    )
    .unwrap()
}

fn from(uri: &str, forwarded_for: Option<&str>) -> Request<Body> {
    let mut b = request("GET", uri);
    if let Some(xff) = forwarded_for {
        b = b.header("x-forwarded-for", xff);
    }
    b.body(Body::empty()).unwrap()
}

async fn assert_rate_limited(r: Response, scope: &str) {
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body = json(r).await;
    assert_eq!(body["code"], "rate_limited");
    assert!(body["message"].as_str().unwrap().contains(scope), "{body}");
}

#[tokio::test]
async fn a_forged_forwarded_for_is_ignored_by_default() {
    let ops = limited(RateLimit::new(1, 2), &[]);
    let app = app(&ops);
    // Each request claims another client; all come from one peer and share its limit.
    for fake in ["1.1.1.1", "2.2.2.2"] {
        let r = send(&app, from("/ip", Some(fake)), PEER).await;
        assert_eq!(r.status(), 200);
        assert_eq!(text(r).await, "198.51.100.7");
    }
    let r = send(&app, from("/ip", Some("3.3.3.3")), PEER).await;
    assert_rate_limited(r, "address").await;
    // Another peer has its own limit.
    let r = send(&app, from("/ip", None), "203.0.113.1:1").await;
    assert_eq!(r.status(), 200);
    let metrics = text(send(&app, get_req("/metrics"), "203.0.113.1:1").await).await;
    assert!(
        metrics.contains(r#"idos_relay_rate_limited_total{scope="address"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn forwarded_for_is_honoured_only_from_a_trusted_proxy() {
    let ops = limited(RateLimit::new(1, 1), &["10.0.0.0/8"]);
    let app = app(&ops);
    let proxy = "10.0.0.2:40000";
    // Through the proxy, each client has its own limit (the client forged a left-most hop).
    for client in ["198.51.100.1", "198.51.100.2"] {
        let r = send(
            &app,
            from("/ip", Some(&format!("6.6.6.6, {client}"))),
            proxy,
        )
        .await;
        assert_eq!(r.status(), 200);
        assert_eq!(text(r).await, client);
    }
    let r = send(&app, from("/ip", Some("198.51.100.1")), proxy).await;
    assert_rate_limited(r, "address").await;
    // An untrusted peer's header is not believed.
    let r = send(&app, from("/ip", Some("198.51.100.3")), "203.0.113.5:1").await;
    assert_eq!(text(r).await, "203.0.113.5");
}

#[tokio::test]
async fn each_identity_has_its_own_limit_and_anonymous_requests_pass() {
    let ops = Ops::new(
        OpsConfig {
            rate_limit_per_identity: RateLimit::new(1, 2),
            ..config()
        },
        ready_probe(),
    )
    .unwrap();
    // Stands in for the authentication middleware: the identity from a header.
    async fn identify(mut req: Request, next: Next) -> Response {
        if let Some(who) = req.headers().get("x-test-identity") {
            let who = who.to_str().unwrap().to_owned();
            req.extensions_mut().insert(CallerIdentity(who));
        }
        next.run(req).await
    }
    let api = ops
        .limit_identities(Router::new().route("/me", get(|| async { "me" })))
        .layer(from_fn(identify));
    let app = ops.wrap(api);
    let as_ = |who: Option<&str>| {
        let mut b = request("GET", "/me");
        if let Some(who) = who {
            b = b.header("x-test-identity", who);
        }
        b.body(Body::empty()).unwrap()
    };
    for _ in 0..2 {
        assert_eq!(send(&app, as_(Some("0xaaaa")), PEER).await.status(), 200);
    }
    assert_rate_limited(send(&app, as_(Some("0xaaaa")), PEER).await, "identity").await;
    // From another address too: the identity is what counts.
    assert_rate_limited(
        send(&app, as_(Some("0xaaaa")), "203.0.113.9:1").await,
        "identity",
    )
    .await;
    assert_eq!(send(&app, as_(Some("0xbbbb")), PEER).await.status(), 200);
    for _ in 0..5 {
        assert_eq!(send(&app, as_(None), PEER).await.status(), 200);
    }
    // The limiter is also callable directly, e.g. from an extractor.
    let direct = ops.identity_limiter().unwrap();
    assert_eq!(direct.check("0xaaaa").unwrap_err().code(), "rate_limited");
}

/// A raw HTTP/1.1 request on a new connection; the whole response as text.
async fn raw(addr: SocketAddr, head: &str) -> io::Result<String> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(head.as_bytes()).await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn get_head(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n{extra}\r\n")
}

async fn start(
    app: Router,
    grace: Duration,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<io::Result<Stopped>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(relay::ops::serve(
        listener,
        app,
        async move {
            let _ = stopped.await;
        },
        grace,
    ));
    (addr, stop, server)
}

#[tokio::test]
async fn over_tcp_the_peer_address_is_limited_and_a_forged_forwarded_for_ignored() {
    let ops = limited(RateLimit::new(1, 3), &[]);
    let (addr, stop, server) = start(app(&ops), Duration::from_secs(5)).await;
    for fake in ["1.1.1.1", "2.2.2.2", "3.3.3.3"] {
        let r = raw(
            addr,
            &get_head("/ip", &format!("X-Forwarded-For: {fake}\r\n")),
        )
        .await
        .unwrap();
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
        assert!(r.ends_with("127.0.0.1"), "{r}");
        assert!(r.to_lowercase().contains("x-request-id: "), "{r}");
    }
    let r = raw(addr, &get_head("/ip", "X-Forwarded-For: 4.4.4.4\r\n"))
        .await
        .unwrap();
    assert!(r.starts_with("HTTP/1.1 429"), "{r}");
    assert!(r.to_lowercase().contains("retry-after: 1"), "{r}");
    assert!(r.contains(r#""code":"rate_limited""#), "{r}");
    stop.send(()).unwrap();
    assert_eq!(server.await.unwrap().unwrap(), Stopped::Drained);
}

#[tokio::test]
async fn shutdown_drains_the_request_in_flight_and_refuses_new_connections() {
    let ops = Ops::new(config(), ready_probe()).unwrap();
    let (addr, stop, server) = start(app(&ops), Duration::from_secs(5)).await;
    let slow = tokio::spawn(raw(addr, get_head("/slow", "").leak()));
    tokio::time::sleep(Duration::from_millis(150)).await;
    stop.send(()).unwrap();
    // The listener closes: new connections are refused while the slow request runs.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        match tokio::net::TcpStream::connect(addr).await {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => break,
            _ => {
                assert!(tokio::time::Instant::now() < deadline, "still accepting");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    assert!(
        !slow.is_finished(),
        "the slow request ended before the listener closed"
    );
    let answer = slow.await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("slow"), "{answer}");
    assert_eq!(server.await.unwrap().unwrap(), Stopped::Drained);
}

#[tokio::test]
async fn shutdown_waits_no_longer_than_the_grace_period() {
    let ops = Ops::new(config(), ready_probe()).unwrap();
    let (addr, stop, server) = start(app(&ops), Duration::from_millis(100)).await;
    let slow = tokio::spawn(raw(addr, get_head("/slow", "").leak()));
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.send(()).unwrap();
    let started = tokio::time::Instant::now();
    assert_eq!(server.await.unwrap().unwrap(), Stopped::GraceExpired);
    assert!(started.elapsed() < Duration::from_millis(500));
    let _ = slow.await;
}

#[test]
fn an_invalid_configuration_is_refused() {
    let err = Ops::new(
        OpsConfig {
            body_limit: 0,
            ..OpsConfig::default()
        },
        ready_probe(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("body_limit"));
    let _ = HeaderMap::new();
}
