//! `scripts/bench-verify-read.sh`: times the enclave's read verifier module (`enclave-verifier`
//! as `trunk build` makes it: `enclave-verifier.js` and its wasm) in headless Chromium, on the
//! requests `cargo bench --bench proofs` wrote with `IDOS_BENCH_VERIFY_REQUESTS` (real proofs
//! from a state tree of 10^6 or more leaves, a signed header, the relay's JSON form).
//!
//! ```text
//! bench-verify-read --dist DIR --requests DIR [--loads N]
//! ```
//!
//! Each page load warms up, then times 100 batches of 10 calls of the module's `verify(request,
//! entries, now)` per request, as the enclave makes them (batches, because the page's clock
//! steps by 0.1 ms). What a call includes: taking the entries' base64 strings into wasm,
//! parsing the rest of the request's JSON text, the trust root, the validator set and signed header,
//! checking the Ed25519 commit signature, decoding the entries, every Merkle proof against the
//! app hash, re-running the read, and writing the answer as JSON text. Not included: the host's
//! `postMessage` to the enclave and the enclave's `JSON.stringify` of the parameters. Printed:
//! per request, the median over page loads of each load's median, with the range of the loads'
//! medians, and each load's 10th and 90th percentiles; and the same for the request without its
//! entries (the header's checks alone, before the verifier refuses it as `proof_incomplete`).

use std::path::PathBuf;

use e2e::{Browser, bench_page_router, js, poll, serve};
use serde_json::Value;
use tower_http::services::ServeDir;

const PAGE: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>verify bench</title>
<script type="module" src="/bench.js"></script></head><body>bench</body></html>"#;

const SCRIPT: &str = r#"
import init, { verify } from '/enclave/enclave-verifier.js';
await init({ module_or_path: '/enclave/enclave-verifier_bg.wasm' });
window.benchVerify = async (names) => {
  const out = [];
  for (const name of names) {
    const file = await (await fetch('/requests/' + name)).json();
    // As the enclave hands it over: the entries apart, the rest as JSON text.
    const entries = file.request.read.entries;
    const text = JSON.stringify({ ...file.request, read: { ...file.request.read, entries: [] } });
    const first = JSON.parse(verify(text, entries, file.nowMs));
    if (!first.ok) throw new Error(name + ': ' + JSON.stringify(first.error));
    // The same request without its entries: the verifier checks the signed header, then
    // refuses (proof_incomplete). Its time is the header's share.
    const none = [];
    const inner = 10, runs = 100, samples = [], headerSamples = [];
    for (let i = 0; i < 20; i++) { verify(text, entries, file.nowMs); verify(text, none, file.nowMs); }
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      for (let i = 0; i < inner; i++) verify(text, entries, file.nowMs);
      samples.push((performance.now() - t) / inner);
      t = performance.now();
      for (let i = 0; i < inner; i++) verify(text, none, file.nowMs);
      headerSamples.push((performance.now() - t) / inner);
    }
    const bytes = text.length + entries.reduce((n, e) => n + e.length, 0);
    out.push({ name, read: file.read, leaves: file.leaves, bytes, samples, headerSamples });
  }
  return out;
};
window.benchReady = true;
"#;

fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn usage() -> ! {
    eprintln!("usage: bench-verify-read --dist DIR --requests DIR [--loads N]");
    std::process::exit(2);
}

/// One request's description and, per page load, its samples (the whole read; the header alone).
type Samples = (Value, Vec<Vec<f64>>, Vec<Vec<f64>>);

/// The value at fraction `q` of sorted `xs`.
fn quantile(xs: &[f64], q: f64) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

#[tokio::main]
async fn main() {
    let dist = PathBuf::from(flag("--dist").unwrap_or_else(|| usage()));
    let requests = PathBuf::from(flag("--requests").unwrap_or_else(|| usage()));
    let loads: usize = flag("--loads").map_or(3, |n| n.parse().unwrap_or_else(|_| usage()));
    if !dist.join("enclave-verifier_bg.wasm").is_file() {
        eprintln!(
            "bench-verify-read: no enclave-verifier_bg.wasm in {} (run `trunk build`)",
            dist.display()
        );
        std::process::exit(1);
    }
    let mut names: Vec<String> = std::fs::read_dir(&requests)
        .unwrap_or_else(|e| panic!("{}: {e}", requests.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    if names.is_empty() {
        eprintln!("bench-verify-read: no requests in {}", requests.display());
        std::process::exit(1);
    }
    let router =
        bench_page_router(PAGE, SCRIPT, &dist).nest_service("/requests", ServeDir::new(&requests));
    let origin = serve(router).await;
    let b = Browser::start().await;
    let c = &b.client;
    // Per request: each page load's samples, of the whole read and of its header alone.
    let mut runs: Vec<Samples> = Vec::new();
    for _ in 0..loads {
        c.goto(&format!("{origin}/")).await.expect("bench page");
        let ready = poll(c, "return window.benchReady === true", 30, |v| v == true).await;
        assert_eq!(ready, true, "the bench page did not load the verifier");
        let results = js(
            c,
            "return window.benchVerify(arguments[0])",
            vec![serde_json::json!(names)],
        )
        .await;
        for (i, r) in results.as_array().expect("results").iter().enumerate() {
            let numbers = |key: &str| -> Vec<f64> {
                r[key]
                    .as_array()
                    .expect("samples")
                    .iter()
                    .filter_map(Value::as_f64)
                    .collect()
            };
            if runs.len() <= i {
                runs.push((r.clone(), Vec::new(), Vec::new()));
            }
            runs[i].1.push(numbers("samples"));
            runs[i].2.push(numbers("headerSamples"));
        }
    }
    // End to end: the host page's `enclave.verifyRead` through the SDK, sequential calls.
    let sites = e2e::kit::sites().await;
    let connected = e2e::kit::open_host(c, &sites.host, &sites.enclave).await;
    assert_eq!(
        connected,
        serde_json::json!({"ok": true}),
        "the enclave did not connect"
    );
    let mut end_to_end = Vec::new();
    for name in &names {
        let file: Value =
            serde_json::from_slice(&std::fs::read(requests.join(name)).expect("request file"))
                .expect("request JSON");
        let mut per_load = Vec::new();
        for _ in 0..loads {
            let ms = js(
                c,
                r#"const [p, nowMs] = arguments;
                   const r = await window.enclave.verifyRead(p);
                   if (r.headerHeight === undefined) throw new Error('not verified');
                   for (let i = 0; i < 20; i++) await window.enclave.verifyRead(p);
                   const t = performance.now();
                   for (let i = 0; i < 100; i++) await window.enclave.verifyRead(p);
                   return (performance.now() - t) / 100;"#,
                vec![file["request"].clone(), file["nowMs"].clone()],
            )
            .await;
            per_load.push(ms.as_f64().expect("a time"));
        }
        end_to_end.push((name.clone(), per_load));
    }
    b.close().await;
    println!(
        "enclave read verifier (enclave-verifier wasm) in headless Chromium: one verify call, ms"
    );
    println!(
        "(median over {loads} page loads of each load's median of 100 batches of 10 calls; [range of the loads' medians]; p10–p90 per load)"
    );
    for (about, loads, header_loads) in runs {
        let medians: Vec<f64> = loads.iter().map(|s| quantile(s, 0.5)).collect();
        let header_medians: Vec<f64> = header_loads.iter().map(|s| quantile(s, 0.5)).collect();
        let spreads: Vec<String> = loads
            .iter()
            .map(|s| format!("{:.3}–{:.3}", quantile(s, 0.1), quantile(s, 0.9)))
            .collect();
        println!(
            "  {} leaves, {} ({} bytes of request): {:.3} ms [{:.3}, {:.3}]; p10–p90 {}",
            about["leaves"],
            about["read"].as_str().unwrap_or("?"),
            about["bytes"],
            quantile(&medians, 0.5),
            quantile(&medians, 0.0),
            quantile(&medians, 1.0),
            spreads.join(", ")
        );
        println!(
            "    of which the signed header (the same request without entries): {:.3} ms [{:.3}, {:.3}]",
            quantile(&header_medians, 0.5),
            quantile(&header_medians, 0.0),
            quantile(&header_medians, 1.0),
        );
    }
    println!(
        "end to end: the host page's `await enclave.verifyRead(...)` (SDK, postMessage to the enclave iframe, its JSON.stringify, the verifier, the answer back), mean of 100 sequential calls, median over {loads} runs [range]"
    );
    for (name, per_load) in end_to_end {
        println!(
            "  {name}: {:.3} ms [{:.3}, {:.3}]",
            quantile(&per_load, 0.5),
            quantile(&per_load, 0.0),
            quantile(&per_load, 1.0)
        );
    }
}
