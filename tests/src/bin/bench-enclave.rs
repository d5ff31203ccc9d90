//! `scripts/bench-enclave.sh`: times the enclave's wasm scrypt (N = 2^14) and a 1 KiB box open
//! against scrypt-js and tweetnacl (the libraries idOS's enclave uses) in the same headless
//! Chromium page, interleaved; the script alternates these browser runs with native criterion
//! runs, so that both see the same load; then this binary reports medians with their spread
//! and, on request, writes them into the README between its `bench-enclave` markers (the only
//! place the figures are written).
//!
//! ```text
//! bench-enclave measure --bench-dist DIR --npm DIR --out FILE
//! bench-enclave report --prod-dist DIR --run FILE... --native DIR... [--write-readme FILE]
//! ```
//!
//! `measure`: one page load of a `trunk build --features bench` build, its raw figures to FILE.
//! `report`: the raw files of every browser run, the directories with criterion's `kdf.json` and
//! `box_open_1024.json` of every native run, and the production build (its size).

use std::path::{Path, PathBuf};

use e2e::{Browser, bench_page_router, js, poll, serve};
use serde_json::{Value, json};
use tower_http::services::ServeDir;

const PAGE: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>enclave bench</title>
<script src="/npm/scrypt-js/scrypt.js"></script>
<script src="/npm/tweetnacl/nacl-fast.js"></script>
<script type="module" src="/bench.js"></script></head><body>bench</body></html>"#;

/// One run: KDF runs alternate wasm / JS (first side alternating too), box opens alternate in
/// batches of `inner`, so that load from other processes hits both sides alike.
const SCRIPT: &str = r#"
import init, { bench_kdf, bench_box_open } from '/enclave/enclave.js';
await init({ module_or_path: '/enclave/enclave_bg.wasm' });
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const time = (f) => { const t = performance.now(); f(); return performance.now() - t; };
const enc = new TextEncoder();
const userId = '9f51b3b2-4cbe-4c2b-8ea3-0b0c1b2f1a11', password = 'correct horse battery staple';
const jsKdf = () => scrypt.syncScrypt(enc.encode(password.normalize('NFKC')), enc.encode(userId), 16384, 8, 1, 32);
const wasmKdf = () => bench_kdf(password, userId, 14);
// Same answer from both implementations first.
const jsPk = btoa(String.fromCharCode(...nacl.box.keyPair.fromSecretKey(jsKdf()).publicKey));
if (wasmKdf() !== jsPk) throw new Error('KDF mismatch');
const kdfRuns = 9, kdfWasm = [], kdfJs = [];
for (let i = 0; i < kdfRuns; i++) {
  if (i % 2 === 0) { kdfWasm.push(time(wasmKdf)); kdfJs.push(time(jsKdf)); }
  else { kdfJs.push(time(jsKdf)); kdfWasm.push(time(wasmKdf)); }
}
// 1 KiB box.
const recipient = nacl.box.keyPair(), sender = nacl.box.keyPair();
const msg = nacl.randomBytes(1024), nonce = nacl.randomBytes(24);
const boxed = nacl.box(msg, nonce, recipient.publicKey, sender.secretKey);
const content = new Uint8Array(24 + boxed.length); content.set(nonce); content.set(boxed, 24);
if (bench_box_open(content, sender.publicKey, recipient.secretKey) !== 1024) throw new Error('box mismatch');
// Batches long enough for the browser's coarse clock (performance.now() steps of 0.1 ms).
const boxRuns = 80, inner = 50, boxWasm = [], boxJs = [];
const wasmOpen = () => { for (let i = 0; i < inner; i++) bench_box_open(content, sender.publicKey, recipient.secretKey); };
const jsOpen = () => { for (let i = 0; i < inner; i++) nacl.box.open(content.subarray(24), content.subarray(0, 24), sender.publicKey, recipient.secretKey); };
for (let i = 0; i < 20; i++) { wasmOpen(); jsOpen(); }
for (let i = 0; i < boxRuns; i++) {
  if (i % 2 === 0) { boxWasm.push(time(wasmOpen) / inner); boxJs.push(time(jsOpen) / inner); }
  else { boxJs.push(time(jsOpen) / inner); boxWasm.push(time(wasmOpen) / inner); }
}
window.benchResult = { kdfWasm: median(kdfWasm), kdfJs: median(kdfJs), boxWasm: median(boxWasm), boxJs: median(boxJs),
  simd: WebAssembly.validate(new Uint8Array([0,97,115,109,1,0,0,0,1,5,1,96,0,1,123,3,2,1,0,10,10,1,8,0,65,0,253,15,253,98,11])) };
"#;

fn gzip_len(path: &Path) -> u64 {
    let out = std::process::Command::new("gzip")
        .args(["-9c"])
        .arg(path)
        .output()
        .expect("gzip");
    out.stdout.len() as u64
}

/// Median and spread (min, max) of a list of figures.
fn summary(mut xs: Vec<f64>) -> Value {
    xs.sort_by(f64::total_cmp);
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    json!({
        "median": round(xs[xs.len() / 2]),
        "min": round(xs[0]),
        "max": round(xs[xs.len() - 1]),
        "runs": xs.iter().map(|x| round(*x)).collect::<Vec<_>>(),
    })
}

/// Criterion's median estimate (ms) from an `estimates.json`.
fn criterion_median_ms(path: &Path) -> f64 {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("bench-enclave: cannot read {}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).expect("criterion estimates");
    v["median"]["point_estimate"].as_f64().expect("median") / 1e6
}

fn usage() -> ! {
    eprintln!(
        "usage: bench-enclave measure --bench-dist DIR --npm DIR --out FILE\n       \
         bench-enclave report --prod-dist DIR --run FILE... --native DIR... [--write-readme FILE]"
    );
    std::process::exit(2)
}

/// `--flag value` pairs after the mode; repeated flags collect.
fn flags() -> (String, Vec<(String, String)>) {
    let mut it = std::env::args().skip(1);
    let mode = it.next().unwrap_or_else(|| usage());
    let mut pairs = Vec::new();
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        pairs.push((flag, value));
    }
    (mode, pairs)
}

fn one(pairs: &[(String, String)], flag: &str) -> PathBuf {
    pairs
        .iter()
        .find(|(f, _)| f == flag)
        .map(|(_, v)| PathBuf::from(v))
        .unwrap_or_else(|| usage())
}

fn all(pairs: &[(String, String)], flag: &str) -> Vec<PathBuf> {
    pairs
        .iter()
        .filter(|(f, _)| f == flag)
        .map(|(_, v)| PathBuf::from(v))
        .collect()
}

fn require(paths: &[PathBuf]) {
    for need in paths {
        if !need.exists() {
            eprintln!(
                "bench-enclave: {} is missing (run scripts/bench-enclave.sh)",
                need.display()
            );
            std::process::exit(1);
        }
    }
}

#[tokio::main]
async fn main() {
    let (mode, pairs) = flags();
    match mode.as_str() {
        "measure" => measure(&pairs).await,
        "report" => report(&pairs),
        _ => usage(),
    }
}

async fn measure(pairs: &[(String, String)]) {
    let (dist, npm, out) = (
        one(pairs, "--bench-dist"),
        one(pairs, "--npm"),
        one(pairs, "--out"),
    );
    require(&[
        dist.join("enclave_bg.wasm"),
        npm.join("scrypt-js/scrypt.js"),
        npm.join("tweetnacl/nacl-fast.js"),
    ]);
    let router = bench_page_router(PAGE, SCRIPT, &dist).nest_service("/npm", ServeDir::new(&npm));
    let origin = serve(router).await;
    let b = Browser::start().await;
    let c = &b.client;
    c.goto(&format!("{origin}/")).await.expect("bench page");
    let r = poll(c, "return window.benchResult || null", 300, |v| {
        !v.is_null()
    })
    .await;
    if r.is_null() {
        let title = js(c, "return document.title", vec![]).await;
        eprintln!("bench-enclave: the bench page did not finish ({title})");
        std::process::exit(1);
    }
    b.close().await;
    // The machine is shared: record how busy it was, next to the figures.
    let mut r = r;
    if let Some(load) = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
    {
        r["loadAverage"] = json!(load);
    }
    eprintln!("bench-enclave: browser run: {r}");
    std::fs::write(&out, r.to_string()).expect("write the run's figures");
}

fn report(pairs: &[(String, String)]) {
    let prod_wasm = one(pairs, "--prod-dist").join("enclave_bg.wasm");
    let (run_files, native) = (all(pairs, "--run"), all(pairs, "--native"));
    require(std::slice::from_ref(&prod_wasm));
    require(&run_files);
    let runs: Vec<Value> = run_files
        .iter()
        .map(|f| {
            serde_json::from_str(&std::fs::read_to_string(f).expect("run file")).expect("run JSON")
        })
        .collect();
    if runs.is_empty() || native.is_empty() {
        usage();
    }
    let field = |k: &str| -> Vec<f64> {
        runs.iter()
            .map(|r| r[k].as_f64().unwrap_or(f64::NAN))
            .collect()
    };
    let ratio = |num: &[f64], den: &[f64]| -> Vec<f64> {
        num.iter().zip(den).map(|(n, d)| n / d).collect()
    };
    let native_kdf: Vec<f64> = native
        .iter()
        .map(|d| criterion_median_ms(&d.join("kdf.json")))
        .collect();
    let native_box: Vec<f64> = native
        .iter()
        .map(|d| criterion_median_ms(&d.join("box_open_1024.json")))
        .collect();
    let (kdf_wasm, box_wasm) = (field("kdfWasm"), field("boxWasm"));
    let out = json!({
        "method": format!("{} browser runs alternating with {} native runs in one script run. Browser: one page load \
                   in headless Chromium per run, the median of 9 interleaved KDF runs and of 80 interleaved batches of \
                   50 box opens (scrypt_js = syncScrypt, its fastest entry point). Native: criterion's median \
                   (cargo bench --bench crypto). Figures: the median over runs, with min and max; ratios are taken per \
                   run (browser run i against native run i).", runs.len(), native.len()),
        "kdf_scrypt_n16384_ms": {
            "enclave_wasm": summary(kdf_wasm.clone()),
            "scrypt_js": summary(field("kdfJs")),
            "native": summary(native_kdf.clone()),
            "speedup_vs_scrypt_js": summary(ratio(&field("kdfJs"), &kdf_wasm)),
            "wasm_vs_native": summary(ratio(&kdf_wasm, &native_kdf)),
            "goal_wasm_vs_native_at_most": 1.2,
        },
        "box_open_1kib_ms": {
            "enclave_wasm": summary(box_wasm.clone()),
            "tweetnacl_js": summary(field("boxJs")),
            "native": summary(native_box.clone()),
            "speedup_vs_tweetnacl": summary(ratio(&field("boxJs"), &box_wasm)),
            "goal_speedup_at_least": 5.0,
        },
        "production_wasm": {
            "bytes": std::fs::metadata(&prod_wasm).map(|m| m.len()).unwrap_or(0),
            "gzip_9_bytes": gzip_len(&prod_wasm),
            "goal_gzip_below": 160 * 1000,
        },
        "browser_simd128": runs[0]["simd"],
        "load_average_1min": summary(field("loadAverage")),
    });
    println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    if pairs.iter().any(|(f, _)| f == "--write-readme") {
        write_readme(&one(pairs, "--write-readme"), &out);
    }
}

/// Replaces the lines between `<!-- bench-enclave -->` and `<!-- /bench-enclave -->`.
fn write_readme(path: &Path, out: &Value) {
    let text = std::fs::read_to_string(path).expect("README");
    let (begin, end) = ("<!-- bench-enclave -->", "<!-- /bench-enclave -->");
    let (Some(a), Some(b)) = (text.find(begin), text.find(end)) else {
        eprintln!(
            "bench-enclave: {} has no {begin} … {end} markers",
            path.display()
        );
        std::process::exit(1);
    };
    let f = |v: &Value| format!("{} ({}–{})", v["median"], v["min"], v["max"]);
    let k = &out["kdf_scrypt_n16384_ms"];
    let x = &out["box_open_1kib_ms"];
    let p = &out["production_wasm"];
    let table = format!(
        "{begin}\n| enclave, median of {loads} runs (min–max) | figure |\n|---|---|\n\
         | scrypt N=2^14: enclave wasm / scrypt-js / native (criterion) | {} ms / {} ms / {} ms |\n\
         | scrypt: speedup vs scrypt-js; wasm ÷ native | {}×; {}× |\n\
         | 1 KiB box open: enclave wasm / tweetnacl / native | {} ms / {} ms / {} ms |\n\
         | box open: speedup vs tweetnacl | {}× |\n\
         | production `enclave_bg.wasm` | {} bytes, {} bytes gzip -9 |\n\
         | load average (1 min) of the 2-core machine at the browser runs | {} |\n",
        f(&k["enclave_wasm"]),
        f(&k["scrypt_js"]),
        f(&k["native"]),
        f(&k["speedup_vs_scrypt_js"]),
        f(&k["wasm_vs_native"]),
        f(&x["enclave_wasm"]),
        f(&x["tweetnacl_js"]),
        f(&x["native"]),
        f(&x["speedup_vs_tweetnacl"]),
        p["bytes"],
        p["gzip_9_bytes"],
        f(&out["load_average_1min"]),
        loads = k["enclave_wasm"]["runs"].as_array().map_or(0, Vec::len),
    );
    let new = format!("{}{}{}", &text[..a], table, &text[b..]);
    std::fs::write(path, new).expect("write README");
    eprintln!("bench-enclave: wrote the figures into {}", path.display());
}
