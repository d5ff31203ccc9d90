//! HTTP benchmark of the relay: a fixed number of requests at a fixed concurrency over HTTP/1.1
//! keep-alive connections (hyper's client, one connection per worker), against servers started
//! the way `idos serve` serves its app origin (`relay::ops::serve`: axum with peer addresses).
//! Prints one JSON object: for each scenario the median of several runs (and min–max) of
//! requests per second and of p50 / p99 / max latency, with the machine's load.
//!
//! `cargo bench -p relay --bench http` (environment: `BENCH_REQUESTS` (20000),
//! `BENCH_CONCURRENCY` (32), `BENCH_RUNS` (7)).
//!
//! Scenarios today:
//! - `livez_bare`: `GET /livez` of the ops router without layers: this machine's HTTP ceiling
//!   with this client;
//! - `livez_layers`: the same route inside every `Ops::wrap` layer (request id, log span with no
//!   subscriber, metrics, panic catcher, per-address limit set out of reach, timeout, body limit);
//! - `livez_layers_logged`: the same with `info` access logs formatted (into a sink), as
//!   `idos serve` logs;
//! - `metrics_layers`: `GET /metrics` (OpenMetrics encoding of the registry) inside the layers;
//! - `shared_read`: `GET /api/v1/shared/{copy}` with a bearer token: a grantee (an Ed25519
//!   server key, signed in once) reads a credential shared with it, through the relay as
//!   `idos serve` builds it (every ops layer, `info` logs, sign-in checking the token and the
//!   revocation list, a gateway-attested read over JSON-RPC to the bundled node, the access log
//!   written and fsynced before the answer);
//! - `share_submit` (its own table): signed `share_credential` transactions (one per EVM
//!   wallet per run, pre-signed; a wallet's first run recovers its key, later runs verify with
//!   the learned key) sent as `POST /api/v1/tx` (the relay decodes and verifies each, then
//!   `broadcast_tx_sync`, i.e. CheckTx), timed until every one of them is committed (fsync per
//!   block). Its `BENCH_TXS` (3000) shares per run.
//!
//! The client and the servers share this machine's cores; runs of the scenarios are
//! interleaved so load from elsewhere spreads over all of them. To add a scenario (an
//! authenticated read, a signed transaction submitted until committed), start its server with
//! `start_server` and push a `Scenario::new(name, addr, expected status, request maker)`; the
//! maker gets the request's index (to pick a pre-signed transaction); a request counts as done
//! when its response has the expected status and its body has been read. `measure` is the
//! load loop itself.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use relay::ops::{NodeProbe, NodeStatus, Ops, OpsConfig, RateLimit};

mod api_scenarios;
mod relay_setup;

use api_scenarios::ApiScenarios;

/// Makes request number `i` of a run.
type MakeRequest = Arc<dyn Fn(usize) -> Request<Full<Bytes>> + Send + Sync>;

/// One run's figures.
#[derive(Debug, Clone, Copy)]
struct Run {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: usize,
}

/// Sends `requests` requests over `concurrency` keep-alive connections to `addr`; a request
/// counts when its response has status `expect` and its body is read.
async fn measure(
    addr: SocketAddr,
    requests: usize,
    concurrency: usize,
    expect: StatusCode,
    make_request: MakeRequest,
) -> Run {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let next = next.clone();
            let make_request = make_request.clone();
            tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let (mut sender, connection) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream))
                        .await
                        .expect("handshake");
                tokio::spawn(connection);
                let mut latencies = Vec::with_capacity(requests / concurrency + 1);
                let mut errors = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        break;
                    }
                    let request = make_request(i);
                    let sent = Instant::now();
                    sender.ready().await.expect("connection ready");
                    let response = sender.send_request(request).await.expect("response");
                    let status = response.status();
                    let _body = response.into_body().collect().await.expect("body");
                    latencies.push(sent.elapsed());
                    if status != expect {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(requests);
    let mut errors = 0;
    for worker in workers {
        let (l, e) = worker.await.expect("worker");
        latencies.extend(l);
        errors += e;
    }
    let wall = started.elapsed();
    latencies.sort_unstable();
    let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Run {
        per_second: requests as f64 / wall.as_secs_f64(),
        p50_ms: ms(at(50)),
        p99_ms: ms(at(99)),
        max_ms: ms(*latencies.last().expect("some requests")),
        errors,
    }
}

/// Bytes of log output the logged server wrote (into a sink), to show it did log.
static LOGGED_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Counts what it is given and keeps nothing.
struct CountingSink;

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGGED_BYTES.fetch_add(buf.len(), Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A server on its own runtime (two worker threads, as many as this machine has cores), with
/// `tracing` output into a sink at `info` if `logged`; it runs until the process ends.
fn start_server(router: Router, logged: bool) -> SocketAddr {
    let runtime = server_runtime(logged);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    runtime.spawn(relay::ops::serve(
        listener,
        router,
        std::future::pending(),
        Duration::from_secs(1),
    ));
    std::mem::forget(runtime);
    addr
}

/// A runtime of two worker threads whose `tracing` output goes into a sink at `info` if
/// `logged`.
fn server_runtime(logged: bool) -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(2).enable_all();
    if logged {
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .with_writer(|| CountingSink)
                .with_max_level(tracing::Level::INFO)
                .finish(),
        );
        // With one registered dispatcher, `tracing` caches each callsite's interest from the
        // thread that hits it first (a server thread without a subscriber would switch the
        // logs off for all); a second registered one makes it ask each thread's own.
        std::mem::forget(tracing::Dispatch::new(
            tracing::subscriber::NoSubscriber::default(),
        ));
        builder.on_thread_start(move || {
            // The guard lives as long as the thread.
            std::mem::forget(tracing::dispatcher::set_default(&dispatch));
        });
    }
    builder.build().expect("server runtime")
}

/// The ops layers as `idos serve` builds them, with the per-address limit out of the
/// benchmark's reach (it still runs: its cost is measured) and a node that is always ready.
fn ops() -> Ops {
    let probe: Arc<dyn NodeProbe> = Arc::new(|| async {
        Ok(NodeStatus {
            chain_id: "idos-bench".into(),
            height: 1,
        })
    });
    Ops::new(
        OpsConfig {
            rate_limit_per_ip: RateLimit::new(1_000_000, 1_000_000),
            ..OpsConfig::default()
        },
        probe,
    )
    .expect("ops configuration")
}

fn get(addr: SocketAddr, path: &'static str) -> MakeRequest {
    let host = addr.to_string();
    Arc::new(move |_| {
        Request::get(path)
            .header("host", &host)
            .body(Full::new(Bytes::new()))
            .expect("request")
    })
}

/// A named load: where it goes and what it sends.
struct Scenario {
    name: &'static str,
    addr: SocketAddr,
    expect: StatusCode,
    make_request: MakeRequest,
    runs: Vec<Run>,
}

impl Scenario {
    /// A scenario sending `make_request(i)` to `addr`, each answered with `expect`.
    fn new(
        name: &'static str,
        addr: SocketAddr,
        expect: StatusCode,
        make_request: MakeRequest,
    ) -> Scenario {
        Scenario {
            name,
            addr,
            expect,
            make_request,
            runs: Vec::new(),
        }
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn median_min_max(values: impl Iterator<Item = f64>) -> serde_json::Value {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    serde_json::json!({
        "median": round(v[v.len() / 2]),
        "min": round(v[0]),
        "max": round(v[v.len() - 1]),
    })
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime")
        .block_on(f)
}

fn main() {
    let requests = env("BENCH_REQUESTS", 20_000);
    let concurrency = env("BENCH_CONCURRENCY", 32);
    let runs = env("BENCH_RUNS", 7).max(1);
    let load_before = loadavg();

    let bare = start_server(ops().router(), false);
    let layered_ops = ops();
    let layered = start_server(layered_ops.wrap(layered_ops.router()), false);
    let logged_ops = ops();
    let logged = start_server(logged_ops.wrap(logged_ops.router()), true);
    let txs_per_run = env("BENCH_TXS", 3000);
    let api = ApiScenarios::start(txs_per_run, runs);
    let mut scenarios = vec![
        Scenario::new("livez_bare", bare, StatusCode::OK, get(bare, "/livez")),
        Scenario::new(
            "livez_layers",
            layered,
            StatusCode::OK,
            get(layered, "/livez"),
        ),
        Scenario::new(
            "livez_layers_logged",
            logged,
            StatusCode::OK,
            get(logged, "/livez"),
        ),
        Scenario::new(
            "metrics_layers",
            layered,
            StatusCode::OK,
            get(layered, "/metrics"),
        ),
        Scenario::new(
            "shared_read",
            api.relay.addr,
            StatusCode::OK,
            api.shared_read.clone(),
        ),
    ];

    let mut submits = Vec::with_capacity(runs);
    block_on(async {
        for s in &scenarios {
            // Warm-up: connections, allocator, metric series.
            measure(
                s.addr,
                requests / 5,
                concurrency,
                s.expect,
                s.make_request.clone(),
            )
            .await;
        }
        for _ in 0..runs {
            for s in &mut scenarios {
                let run = measure(
                    s.addr,
                    requests,
                    concurrency,
                    s.expect,
                    s.make_request.clone(),
                )
                .await;
                s.runs.push(run);
            }
            submits.push(api.submit_run(submits.len(), concurrency).await);
        }
    });

    let ceiling = scenarios[0].runs.iter().map(|r| r.per_second);
    let ceiling = median_min_max(ceiling)["median"].as_f64().unwrap_or(1.0);
    let report = serde_json::json!({
        "what": "HTTP/1.1 keep-alive GETs, one connection per worker, client and server on this machine",
        "requests_per_run": requests,
        "concurrency": concurrency,
        "runs": runs,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "log_bytes_written_by_the_logged_server": LOGGED_BYTES.load(Ordering::Relaxed),
        "scenarios": scenarios.iter().map(|s| {
            let rps = median_min_max(s.runs.iter().map(|r| r.per_second));
            serde_json::json!({
                "name": s.name,
                "req_per_s": rps,
                "fraction_of_ceiling": ((rps["median"].as_f64().unwrap_or(0.0) / ceiling) * 1000.0).round() / 1000.0,
                "p50_ms": median_min_max(s.runs.iter().map(|r| r.p50_ms)),
                "p99_ms": median_min_max(s.runs.iter().map(|r| r.p99_ms)),
                "max_ms": median_min_max(s.runs.iter().map(|r| r.max_ms)),
                "errors": s.runs.iter().map(|r| r.errors).sum::<usize>(),
            })
        }).collect::<Vec<_>>(),
        "share_submit": {
            "what": "signed share_credential transactions POSTed to /api/v1/tx over keep-alive connections, each verified by the relay, then CheckTx through the node's RPC; per second until the last one is committed (fsync per block)",
            "txs_per_run": txs_per_run,
            "committed_tx_per_s": median_min_max(submits.iter().map(|r| r.committed_per_second)),
            "accepted_p50_ms": median_min_max(submits.iter().map(|r| r.submitted.p50_ms)),
            "accepted_p99_ms": median_min_max(submits.iter().map(|r| r.submitted.p99_ms)),
            "errors": submits.iter().map(|r| r.submitted.errors).sum::<usize>(),
        },
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&report).expect("report is JSON")
    );
}
