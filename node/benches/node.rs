//! Node benchmark, run on demand: `cargo bench -p node --bench node` (`-- --quick` for a
//! smaller run). Prints one JSON report; progress goes to standard error. With
//! `IDOS_BENCH_PROFILE=1` it prints instead where one share's CPU goes (CheckTx, FinalizeBlock,
//! Commit, background work); `IDOS_BENCH_NOSYNC=1` turns fsync off, to see what it costs.
//! `-- --state-tree` runs only part 4 below (with `--quick`, at the quick size).
//!
//! In one run, repeated `RUNS` times on fresh chains (medians and min–max are reported):
//!
//! 1. The signature-check limit: how many shares per second two cores verify if they do
//!    nothing else (one share's signatures: the EVM transaction signature and the copy's two
//!    Ed25519 signatures, on two threads at once), with the wallet's key learned (one
//!    verification) and recovered (a fresh wallet), and for returning wallets' mix; before and
//!    after the throughput runs, each time the median of three measurements.
//! 2. Committed share throughput through the embedded chain (CheckTx with every signature
//!    verified once, in parallel on the two client threads; blocks; fsync per commit), for
//!    returning wallets (nine shares each: the first recovered, eight with the learned key)
//!    and for fresh wallets (one share each: every signature recovered), and for fresh wallets
//!    of every type in turn (EVM, NEAR, XRPL secp256k1, XRPL Ed25519, Stellar, FaceSign), and
//!    each one's ratio to the limit of the same mix. It asserts that no signature is checked twice (FinalizeBlock
//!    verifies nothing CheckTx verified: `App::verified_in_blocks` does not move). The CPU
//!    time runs until the storage work of the run is done: what it committed is flushed from
//!    memory to disk (RocksDB's memtables; what earlier writes left there is flushed before
//!    the count starts) and background compactions finish.
//! 3. Read latency: `get_credential_shared` in process through `App::query` (gateway
//!    attestation verified, RocksDB snapshot read) with 1,000,000 credentials in state: the
//!    shares committed above plus shared copies (and their grants) written straight into the
//!    store, not by transactions, to save the time.
//! 4. What the state tree costs: fresh-wallet share throughput on two new nodes set up alike,
//!    with the tree and with a hash chain instead (a bench-only mode), alternating which goes
//!    first, and the bytes each writes per share (RocksDB's statistics: the node's write
//!    batches, the write-ahead log, flushes and compactions).

/// The allocator the `idos` binary runs the node with.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use node::app::{App, AppConfig, Genesis};
use node::chain::{Chain, ChainConfig, Validator};
use node::state::rows::{CredentialRow, GrantRow};
use node::state::verify::{EvmKeys, verify_stateless};
use node::store::{Changes, Store, Working};
use node::testkit::{onboarding_actions, plaintext, share_action};
use protocol::action::{AddDelegate, AddInserter};
use protocol::bytes::{Bytes, Sha256Digest};
use protocol::grant::GrantInserterType;
use protocol::identity::{Ed25519SigningKey, Identity, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use protocol::query::{Query, SignedQuery};
use protocol::tx::SignedTransaction;
use protocol::xrpl::XrplSigningKey;
use support::{process_cpu_seconds, settle, thread_cpu_seconds};
use uuid::Uuid;

const CHAIN: &str = "idos-bench";
const RUNS: usize = 5;

struct Plan {
    returning_users: usize,
    shares_per_user: usize,
    fresh_users: usize,
    grantees: usize,
    credentials_in_state: usize,
    read_samples: usize,
    verify_samples: usize,
}

fn sign(
    key: &SigningKey,
    nonce: u64,
    action: impl Into<protocol::action::Action>,
) -> SignedTransaction {
    node::testkit::signed_tx(CHAIN, key, nonce, action)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Submits `batches` (each in nonce order) from one thread per batch and waits until the
/// last transaction of every batch is committed. Returns the elapsed time.
fn run(chain: &Arc<Chain>, batches: Vec<Batch>) -> Duration {
    let last: Vec<Vec<u8>> = batches
        .iter()
        .filter_map(|b| {
            b.last()
                .map(|tx| protocol::tx::tx_hash(tx).as_bytes().to_vec())
        })
        .collect();
    let start = Instant::now();
    std::thread::scope(|s| {
        for batch in batches {
            let chain = chain.clone();
            s.spawn(move || {
                for tx in batch {
                    chain.submit(tx).expect("transaction accepted");
                }
            });
        }
    });
    for hash in &last {
        while chain.locate(hash).unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    start.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

/// Median, min and max of some figures.
fn summary(values: &[f64]) -> serde_json::Value {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let round = |v: f64| (v * 100.0).round() / 100.0;
    serde_json::json!({
        "median": round(sorted[sorted.len() / 2]),
        "min": round(sorted[0]),
        "max": round(sorted[sorted.len() - 1]),
        "runs": sorted.iter().map(|v| round(*v)).collect::<Vec<_>>(),
    })
}

/// Encoded transactions one client thread submits, in order.
type Batch = Vec<Vec<u8>>;

/// Figures of every run, by the wall clock and by CPU time.
#[derive(Default)]
struct Series {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

impl Series {
    fn push(&mut self, rate: Rate) {
        self.wall.push(rate.wall);
        if let Some(cpu) = rate.cpu {
            self.cpu.push(cpu);
        }
    }

    fn json(&self) -> serde_json::Value {
        let mut out = serde_json::json!({ "wall_clock": summary(&self.wall) });
        if !self.cpu.is_empty() {
            out["cpu_time"] = summary(&self.cpu);
        }
        out
    }
}

struct BenchUser {
    wallet: SigningKey,
    original: Uuid,
    vc: String,
}

struct Node {
    _dir: tempfile::TempDir,
    app: Arc<App>,
    chain: Arc<Chain>,
    issuer: Ed25519SigningKey,
    issuer_nonce: u64,
    gateway: Ed25519SigningKey,
    user_count: usize,
}

impl Node {
    fn start() -> Node {
        Node::start_with(true, false)
    }

    /// A node whose app hash is the state tree's root (`authenticated_state`), or, to measure
    /// what the tree costs, a hash chain with no tree; with RocksDB's `statistics` to count
    /// the bytes it writes.
    fn start_with(authenticated_state: bool, statistics: bool) -> Node {
        let dir = tempfile::TempDir::new().unwrap();
        let owner = SigningKey::generate_ed25519();
        let gateway = Ed25519SigningKey::generate();
        let sync = std::env::var_os("IDOS_BENCH_NOSYNC").is_none();
        let path = dir.path().join("db");
        let store = if statistics {
            Store::open_with_statistics(&path, sync).unwrap()
        } else {
            Store::open(&path, sync).unwrap()
        };
        let app = Arc::new(
            App::open(
                store,
                AppConfig {
                    trusted_gateways: vec![gateway.public_key()],
                    authenticated_state,
                    ..AppConfig::default()
                },
            )
            .unwrap(),
        );
        app.init_chain(Genesis {
            chain_id: CHAIN.into(),
            owner: owner.identity(),
        })
        .unwrap();
        let validator = Validator::load_or_create(&dir.path().join("keys")).unwrap();
        let chain = Chain::start(
            app.clone(),
            validator,
            ChainConfig {
                max_mempool_txs: 1_000_000,
                ..ChainConfig::default()
            },
        )
        .unwrap();
        let issuer = Ed25519SigningKey::generate();
        let inserter = Uuid::new_v4();
        run(
            &chain,
            vec![vec![
                sign(
                    &owner,
                    1,
                    AddInserter {
                        id: inserter,
                        name: "Bench KYC".into(),
                    },
                )
                .encode(),
                sign(
                    &owner,
                    2,
                    AddDelegate {
                        address: Identity::Ed25519(issuer.public_key()),
                        inserter_id: inserter,
                    },
                )
                .encode(),
            ]],
        );
        Node {
            _dir: dir,
            app,
            chain,
            issuer,
            issuer_nonce: 0,
            gateway,
            user_count: 0,
        }
    }

    /// Users with an EVM wallet and one original credential each, set up by transactions.
    fn add_users(&mut self, n: usize) -> Vec<BenchUser> {
        self.add_users_with(n, |_| SigningKey::generate_evm())
    }

    /// Users with the wallet `wallet(i)` and one original credential each.
    fn add_users_with(&mut self, n: usize, wallet: impl Fn(usize) -> SigningKey) -> Vec<BenchUser> {
        let issuer_signer = SigningKey::Ed25519(self.issuer.clone());
        let mut users = Vec::with_capacity(n);
        let mut txs = Vec::with_capacity(n * 3);
        for i in 0..n {
            let wallet = wallet(i);
            let secret = EncryptionSecretKey::generate();
            let id = Uuid::new_v4();
            let vc = format!("urn:vc:bench:{}", self.user_count);
            self.user_count += 1;
            let original = Uuid::new_v4();
            let actions =
                onboarding_actions(&self.issuer, CHAIN, id, &wallet, &secret, original, &vc);
            for action in actions {
                self.issuer_nonce += 1;
                txs.push(sign(&issuer_signer, self.issuer_nonce, action).encode());
            }
            users.push(BenchUser {
                wallet,
                original,
                vc,
            });
        }
        run(&self.chain, vec![txs]);
        users
    }
}

/// A fresh wallet of each type in turn: EVM, NEAR, XRPL secp256k1, XRPL Ed25519, Stellar,
/// FaceSign (raw Ed25519).
fn wallet_of_every_type(i: usize) -> SigningKey {
    match i % 6 {
        0 => SigningKey::generate_evm(),
        1 => SigningKey::Near(Ed25519SigningKey::generate()),
        2 => SigningKey::Xrpl(XrplSigningKey::generate_secp256k1()),
        3 => SigningKey::Xrpl(XrplSigningKey::generate_ed25519()),
        4 => SigningKey::Stellar(Ed25519SigningKey::generate()),
        _ => SigningKey::generate_ed25519(),
    }
}

/// Each user's shares, signed in nonce order as wallets would, split in two halves for the
/// two client threads; and the (copy, grantee) of every share.
fn presign(
    users: &[BenchUser],
    per_user: usize,
    grantees: &[(SigningKey, EncryptionSecretKey)],
) -> (Vec<Batch>, Vec<(Uuid, Identity)>) {
    let half = users.len() / 2;
    let make = |users: &[BenchUser], offset: usize| {
        let mut txs = Vec::new();
        let mut copies = Vec::new();
        for (i, user) in users.iter().enumerate() {
            for n in 0..per_user {
                let (grantee, grantee_secret) =
                    &grantees[(offset + i * per_user + n) % grantees.len()];
                let action = share_action(
                    &Ed25519SigningKey::generate(),
                    user.original,
                    &plaintext(&user.vc),
                    grantee.identity(),
                    &grantee_secret.public_key(),
                    0,
                );
                copies.push((action.id, grantee.identity()));
                txs.push(sign(&user.wallet, n as u64 + 1, action).encode());
            }
        }
        (txs, copies)
    };
    let ((a, copies_a), (b, copies_b)) = std::thread::scope(|s| {
        let a = s.spawn(|| make(&users[..half], 0));
        let b = s.spawn(|| make(&users[half..], half));
        (a.join().unwrap(), b.join().unwrap())
    });
    (vec![a, b], copies_a.into_iter().chain(copies_b).collect())
}

/// A figure by the wall clock, and the same by CPU time: what two cores would do if nothing
/// else ran on them. The machine is shared, so the wall-clock figures move with its load; the
/// CPU-time figures much less.
#[derive(Clone, Copy)]
struct Rate {
    wall: f64,
    cpu: Option<f64>,
}

/// How the limit verifies one share's signatures.
#[derive(Clone, Copy)]
enum Method {
    /// As the node does (`verify_stateless`): the copy's two Ed25519 signatures in one pair
    /// check (`protocol::ed25519_pair`).
    Node,
    /// Every signature on its own, the copy's two with `verify_strict` (the reference a node
    /// without the pair check would pay).
    OneByOne,
}

fn verify_share(stx: &SignedTransaction, keys: &EvmKeys, method: Method) {
    match method {
        Method::Node => verify_stateless(stx, CHAIN, keys).unwrap(),
        Method::OneByOne => {
            assert_eq!(stx.tx.chain_id, CHAIN);
            keys.verify(
                &stx.tx.signer,
                "transaction signature",
                stx.tx.signing_text().as_bytes(),
                &stx.signature,
            )
            .unwrap();
            let protocol::action::Action::ShareCredential(share) = &stx.tx.action else {
                panic!("the bench signs shares only")
            };
            let copy = &share.copy;
            let key = &copy.issuer_auth_public_key;
            let field = "credential signature";
            protocol::identity::verify_ed25519(
                field,
                key,
                copy.public_notes.as_bytes(),
                &copy.public_notes_signature,
            )
            .unwrap();
            let broader = protocol::credential::broader_message(
                &copy.public_notes_signature,
                &copy.content.0,
            );
            protocol::identity::verify_ed25519(field, key, &broader, &copy.broader_signature)
                .unwrap();
        }
    }
}

/// Shares per second whose signatures two threads verify at once, doing nothing else (no
/// decoding, state or storage): the signature-check limit of two cores. With the signer's key
/// learned (`learned`) or recovered; the median of [`LIMIT_REPEATS`] measurements.
fn verify_limit(txs: &[Vec<u8>], learned: bool, method: Method) -> Rate {
    let decoded: Vec<SignedTransaction> = txs
        .iter()
        .map(|tx| SignedTransaction::decode(tx).unwrap())
        .collect();
    let keys = if learned {
        let keys = EvmKeys::default();
        for stx in &decoded {
            verify_stateless(stx, CHAIN, &keys).unwrap();
        }
        keys
    } else {
        EvmKeys::with_limit(0)
    };
    let mut rates: Vec<Rate> = (0..LIMIT_REPEATS)
        .map(|_| verify_limit_once(&decoded, &keys, method))
        .collect();
    median_rate(&mut rates)
}

/// How many times each limit is measured (its median is used): one measurement lasts about a
/// second, and what else runs on the host moves a single one by up to ±10%.
const LIMIT_REPEATS: usize = 3;

/// The median by the wall clock and, apart, by CPU time.
fn median_rate(rates: &mut [Rate]) -> Rate {
    rates.sort_by(|a, b| a.wall.total_cmp(&b.wall));
    let wall = rates[rates.len() / 2].wall;
    let mut cpu: Vec<f64> = rates.iter().filter_map(|r| r.cpu).collect();
    cpu.sort_by(f64::total_cmp);
    Rate {
        wall,
        cpu: cpu.get(cpu.len() / 2).copied(),
    }
}

/// One measurement of [`verify_limit`].
fn verify_limit_once(decoded: &[SignedTransaction], keys: &EvmKeys, method: Method) -> Rate {
    let (a, b) = decoded.split_at(decoded.len() / 2);
    let start = Instant::now();
    let cpu: Option<f64> = std::thread::scope(|s| {
        let threads: Vec<_> = [a, b]
            .into_iter()
            .map(|half| {
                s.spawn(move || {
                    let before = thread_cpu_seconds();
                    for stx in half {
                        verify_share(stx, keys, method);
                    }
                    Some(thread_cpu_seconds()? - before?)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    });
    let n = decoded.len() as f64;
    Rate {
        wall: n / start.elapsed().as_secs_f64(),
        cpu: cpu.map(|cpu| 2.0 * n / cpu),
    }
}

/// The limit of both kinds, and of returning wallets' mix (one recovery in `per_user`).
struct Limits {
    learned: Rate,
    recovered: Rate,
    returning: Rate,
}

fn limits(txs: &[Vec<u8>], per_user: usize, method: Method) -> Limits {
    let learned = verify_limit(txs, true, method);
    let recovered = verify_limit(txs, false, method);
    let mix = |learned: f64, recovered: f64| {
        per_user as f64 / (1.0 / recovered + (per_user - 1) as f64 / learned)
    };
    Limits {
        learned,
        recovered,
        returning: Rate {
            wall: mix(learned.wall, recovered.wall),
            cpu: learned.cpu.zip(recovered.cpu).map(|(l, r)| mix(l, r)),
        },
    }
}

/// Bytes a run made RocksDB write (its statistics' tickers, from the start of the run until
/// the storage work it caused is done), per committed share.
#[derive(Clone, Copy, Default)]
struct Written {
    /// What the node handed RocksDB: keys and values of its commits' write batches
    /// (`rocksdb.bytes.written`).
    logical: f64,
    /// The write-ahead log (`rocksdb.wal.bytes`).
    wal: f64,
    /// Memtables flushed to table files (`rocksdb.flush.write.bytes`).
    flushed: f64,
    /// Table files rewritten by compactions the run caused (`rocksdb.compact.write.bytes`).
    compacted: f64,
}

impl Written {
    const TICKERS: [&str; 4] = [
        "rocksdb.bytes.written",
        "rocksdb.wal.bytes",
        "rocksdb.flush.write.bytes",
        "rocksdb.compact.write.bytes",
    ];

    fn tickers(store: &Store) -> Option<[u64; 4]> {
        let mut out = [0; 4];
        for (slot, name) in out.iter_mut().zip(Self::TICKERS) {
            *slot = store.ticker(name)?;
        }
        Some(out)
    }

    fn per_share(before: [u64; 4], after: [u64; 4], shares: usize) -> Written {
        let per = |i: usize| (after[i] - before[i]) as f64 / shares as f64;
        Written {
            logical: per(0),
            wal: per(1),
            flushed: per(2),
            compacted: per(3),
        }
    }

    /// Bytes that reached the disk: the log, the flushes and the compactions.
    fn physical(&self) -> f64 {
        self.wal + self.flushed + self.compacted
    }
}

/// Committed shares per second, and the number of blocks they took.
fn throughput(node: &Node, batches: Vec<Batch>) -> (Rate, u64) {
    let (rate, blocks, _) = throughput_and_bytes(node, batches);
    (rate, blocks)
}

/// [`throughput`], and the bytes the run wrote when the node's store keeps statistics.
fn throughput_and_bytes(node: &Node, batches: Vec<Batch>) -> (Rate, u64, Option<Written>) {
    let shares: usize = batches.iter().map(Vec::len).sum();
    let all: Vec<Sha256Digest> = batches
        .iter()
        .flatten()
        .map(|tx| protocol::tx::tx_hash(tx))
        .collect();
    let height_before = node.app.committed().height;
    let verified_in_blocks = node.app.verified_in_blocks();
    // CPU time from the start until the storage's work the run caused is done, every thread
    // of the process included: what earlier writes left in memory is written to disk first
    // (not counted), and what the run wrote is written to disk before the count ends (a node
    // under load flushes every byte it commits, and compacts what the flushes add).
    node.app.store().flush().unwrap();
    settle();
    let bytes_before = Written::tickers(node.app.store());
    let cpu_before = process_cpu_seconds();
    let elapsed = run(&node.chain, batches);
    let cpu_run = process_cpu_seconds();
    node.app.store().flush().unwrap();
    settle();
    let cpu = process_cpu_seconds().zip(cpu_before).map(|(a, b)| a - b);
    let written = bytes_before
        .zip(Written::tickers(node.app.store()))
        .map(|(before, after)| Written::per_share(before, after, shares));
    if let (Some(run), Some(before), Some(total)) = (cpu_run, cpu_before, cpu) {
        eprintln!(
            "  CPU per share: {:.1} us while committing, {:.1} us flushing and compacting after",
            (run - before) * 1e6 / shares as f64,
            (total - (run - before)) * 1e6 / shares as f64
        );
    }
    assert_eq!(
        node.app.verified_in_blocks(),
        verified_in_blocks,
        "a signature was checked twice (in CheckTx and again in the block)"
    );
    let blocks = node.app.committed().height - height_before;
    let mut stored = std::collections::HashMap::new();
    for hash in &all {
        let location = node
            .chain
            .locate(hash.as_bytes())
            .unwrap()
            .expect("committed");
        let block = stored
            .entry(location.height)
            .or_insert_with(|| node.chain.block(location.height).unwrap().unwrap());
        assert_eq!(
            block.results[location.index as usize].code, 0,
            "a share failed: {}",
            block.results[location.index as usize].log
        );
    }
    let n = shares as f64;
    (
        Rate {
            wall: n / elapsed.as_secs_f64(),
            cpu: cpu.map(|cpu| 2.0 * n / cpu),
        },
        blocks,
        written,
    )
}

/// `count` shared copies and their grants written straight into the store (not by
/// transactions); returns (copy, grantee) of each.
fn populate(app: &App, count: usize, grantees: &[Identity]) -> Vec<(Uuid, Identity)> {
    let mut written = Vec::new();
    let owner = Uuid::new_v4();
    let original = Uuid::new_v4();
    let issuer = Ed25519SigningKey::generate().public_key();
    let encryptor = EncryptionSecretKey::generate().public_key();
    // Rows go through the node's own index maintenance (indexes, counters) in a transaction
    // layer over the store, committed every 50,000 rows.
    let committed = Changes::default();
    let mut layer = Working::new(app.store(), &committed);
    for i in 0..count {
        let id = Uuid::new_v4();
        let grantee = grantees[i % grantees.len()];
        let mut content = vec![0u8; 200];
        content[..16].copy_from_slice(id.as_bytes());
        node::state::put_credential(
            &mut layer,
            &id,
            &CredentialRow {
                user_id: owner,
                public_notes: String::new(),
                content: Bytes(content),
                encryptor_public_key: encryptor,
                issuer_auth_public_key: issuer,
                inserter: None,
                verifiable_credential_id: None,
                original_id: Some(original),
            },
            None,
        )
        .unwrap();
        let grant = protocol::grant::access_grant_id(&grantee.identifier(), &id, 0);
        node::state::put_grant(
            &mut layer,
            &grant,
            &GrantRow {
                owner,
                grantee,
                data_id: id,
                locked_until: 0,
                content_hash: Sha256Digest::from_bytes([1; 32]),
                height: 1,
                inserter_type: GrantInserterType::User,
                inserter_id: "bench".into(),
            },
            Some(&original),
        )
        .unwrap();
        written.push((id, grantee));
        if written.len() % 50_000 == 0 {
            let changes =
                std::mem::replace(&mut layer, Working::new(app.store(), &committed)).into_changes();
            app.store().commit(&changes).unwrap();
        }
    }
    app.store().commit(&layer.into_changes()).unwrap();
    written
}

/// With `IDOS_BENCH_PROFILE` set: where one share's CPU goes, stage by stage on one thread, on
/// a node of its own, in blocks of 100 (`IDOS_BENCH_BLOCK` to change; printed on standard
/// error), for returning wallets and for fresh ones (`IDOS_BENCH_PROFILE=fresh`: fresh ones
/// only).
fn profile(plan: &Plan, grantees: &[(SigningKey, EncryptionSecretKey)]) {
    let fresh_only = std::env::var("IDOS_BENCH_PROFILE").is_ok_and(|v| v == "fresh");
    // IDOS_BENCH_STATE_TREE=off profiles the node without the state tree; IDOS_BENCH_BLOCK
    // sets the shares per block.
    let tree = std::env::var("IDOS_BENCH_STATE_TREE").map_or(true, |v| v != "off");
    let block_size: usize = std::env::var("IDOS_BENCH_BLOCK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    for (what, users, per_user) in [
        (
            "returning wallets",
            plan.returning_users,
            plan.shares_per_user,
        ),
        ("fresh wallets", plan.fresh_users, 1),
    ]
    .into_iter()
    .skip(usize::from(fresh_only))
    {
        let mut node = Node::start_with(tree, false);
        let users = node.add_users(users);
        let (batches, _) = presign(&users, per_user, grantees);
        let txs: Vec<Vec<u8>> = batches.into_iter().flatten().collect();
        node.chain.stop();
        let app = &node.app;
        let per = |d: Duration| d.as_secs_f64() * 1e6 / txs.len() as f64;
        let t = Instant::now();
        let verified: Vec<_> = txs.iter().map(|tx| app.preverify(tx).unwrap()).collect();
        eprintln!(
            "{what}: preverify (decode, hash, signatures): {:.1} us",
            per(t.elapsed())
        );
        let (mut admit, mut finalize, mut commit) = (0.0, 0.0, 0.0);
        let mut commit_per_block = Vec::new();
        let cpu = || thread_cpu_seconds().unwrap_or(0.0);
        settle();
        let process_before = process_cpu_seconds().unwrap_or(0.0);
        let thread_before = cpu();
        for (block, checked) in txs.chunks(block_size).zip(verified.chunks(block_size)) {
            let t = cpu();
            for (stx, hash) in checked {
                app.admit(stx, *hash, node::app::CheckKind::New).unwrap();
            }
            admit += cpu() - t;
            let t = cpu();
            let (outcomes, _) = app.finalize_block(app.next_height(), now(), block).unwrap();
            assert!(outcomes.iter().all(|o| o.result.is_ok()));
            finalize += cpu() - t;
            let t = cpu();
            app.commit(Changes::default()).unwrap();
            commit += cpu() - t;
            commit_per_block.push((cpu() - t) * 1e6 / block.len() as f64);
        }
        let thread = cpu() - thread_before;
        commit_per_block.sort_by(f64::total_cmp);
        let at = |q: f64| commit_per_block[((commit_per_block.len() - 1) as f64 * q) as usize];
        eprintln!(
            "{what}: commit CPU per share by block: p10 {:.1} us, median {:.1} us, p90 {:.1} us",
            at(0.1),
            at(0.5),
            at(0.9)
        );
        settle();
        let background = process_cpu_seconds().unwrap_or(0.0) - process_before - thread;
        let per_cpu = |seconds: f64| seconds * 1e6 / txs.len() as f64;
        eprintln!(
            "{what}: CPU per share: admit (role, nonce) {:.1} us, finalize_block {:.1} us, commit {:.1} us, other threads (RocksDB background) {:.1} us",
            per_cpu(admit),
            per_cpu(finalize),
            per_cpu(commit),
            per_cpu(background)
        );
        // CheckTx alone on two threads (signatures, role, nonce), no block made meanwhile:
        // what the clients alone can do.
        let mut node = Node::start();
        let users = node.add_users(users.len());
        node.chain.stop();
        let (batches, _) = presign(&users, per_user, grantees);
        let n: usize = batches.iter().map(Vec::len).sum();
        let t = Instant::now();
        std::thread::scope(|s| {
            for batch in batches {
                let app = node.app.clone();
                s.spawn(move || {
                    for tx in batch {
                        app.check_tx(&tx).unwrap();
                    }
                });
            }
        });
        eprintln!(
            "{what}: CheckTx on two threads, no block meanwhile: {:.0} tx/s",
            n as f64 / t.elapsed().as_secs_f64()
        );
        node.chain.stop();
    }
}

/// What the state tree costs: fresh-wallet shares on two new nodes set up alike, one with the
/// tree and one with the hash chain instead (a bench-only mode), in alternating order; their
/// throughput and the bytes they write.
#[derive(Default)]
struct StateTreeCost {
    with_tree: Series,
    without_tree: Series,
    ratio: Series,
    bytes_with: Vec<Written>,
    bytes_without: Vec<Written>,
}

impl StateTreeCost {
    fn round(&mut self, round: usize, plan: &Plan, grantees: &[(SigningKey, EncryptionSecretKey)]) {
        let mut rates = [None, None];
        let mut bytes = [None, None];
        let order = if round.is_multiple_of(2) {
            [true, false]
        } else {
            [false, true]
        };
        for tree in order {
            let mut node = Node::start_with(tree, true);
            let users = node.add_users(plan.fresh_users);
            let (txs, _) = presign(&users, 1, grantees);
            settle();
            eprintln!(
                "run {}: fresh wallets, state tree {}",
                round + 1,
                if tree { "on" } else { "off" }
            );
            let (rate, blocks, written) = throughput_and_bytes(&node, txs);
            node.chain.stop();
            eprintln!(
                "  {blocks} blocks, {:.0} shares per block",
                plan.fresh_users as f64 / blocks.max(1) as f64
            );
            rates[usize::from(!tree)] = Some(rate);
            bytes[usize::from(!tree)] = written;
        }
        let [Some(on), Some(off)] = rates else {
            unreachable!("both nodes ran")
        };
        let [Some(bytes_on), Some(bytes_off)] = bytes else {
            panic!("the bench's nodes keep RocksDB statistics")
        };
        self.with_tree.push(on);
        self.without_tree.push(off);
        self.ratio.push(Rate {
            wall: on.wall / off.wall,
            cpu: on.cpu.zip(off.cpu).map(|(a, b)| a / b),
        });
        self.bytes_with.push(bytes_on);
        self.bytes_without.push(bytes_off);
        eprintln!(
            "run {}: state tree on / off: {:.0} / {:.0} tx/s, by CPU time {:.0} / {:.0}; bytes per share written {:.0} / {:.0}, to disk {:.0} / {:.0}",
            round + 1,
            on.wall,
            off.wall,
            on.cpu.unwrap_or(0.0),
            off.cpu.unwrap_or(0.0),
            bytes_on.logical,
            bytes_off.logical,
            bytes_on.physical(),
            bytes_off.physical(),
        );
    }

    fn json(&self, shares_per_run: usize) -> serde_json::Value {
        let bytes = |runs: &[Written]| {
            let of = |f: fn(&Written) -> f64| summary(&runs.iter().map(f).collect::<Vec<_>>());
            serde_json::json!({
                "logical": of(|w| w.logical),
                "write_ahead_log": of(|w| w.wal),
                "flushed": of(|w| w.flushed),
                "compacted": of(|w| w.compacted),
                "to_disk": of(Written::physical),
                "to_disk_per_logical_byte": of(|w| w.physical() / w.logical),
            })
        };
        let ratios = |f: fn(&Written) -> f64| {
            let runs: Vec<f64> = self
                .bytes_with
                .iter()
                .zip(&self.bytes_without)
                .map(|(on, off)| f(on) / f(off))
                .collect();
            summary(&runs)
        };
        serde_json::json!({
            "what": "fresh-wallet share_credential throughput (as fresh_wallets above) on two new nodes set up alike, each run in alternating order: with the state tree (the app hash is its root: tree update per block, nodes and stale index written with the block, pruning) and without it (a hash chain over the blocks' changes, no tree written: a bench-only mode); both keep RocksDB statistics",
            "shares_per_run": shares_per_run,
            "with_tree_tx_per_second": self.with_tree.json(),
            "without_tree_tx_per_second": self.without_tree.json(),
            "ratio_with_to_without": self.ratio.json(),
            "bytes_per_share": {
                "what": "RocksDB's statistics from the start of a run until its storage work is done (the memtables flushed, the process idle): logical = the keys and values of the node's write batches (rocksdb.bytes.written); to_disk = write-ahead log + flushes + the compactions the run caused (a short run causes few: an LSM's later compactions are not counted)",
                "with_tree": bytes(&self.bytes_with),
                "without_tree": bytes(&self.bytes_without),
                "logical_with_to_without": ratios(|w| w.logical),
                "to_disk_with_to_without": ratios(Written::physical),
            },
        })
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let plan = if quick {
        Plan {
            returning_users: 300,
            shares_per_user: 9,
            fresh_users: 1_000,
            grantees: 20,
            credentials_in_state: 100_000,
            read_samples: 2_000,
            verify_samples: 1_000,
        }
    } else {
        Plan {
            returning_users: 3_000,
            shares_per_user: 9,
            fresh_users: 10_000,
            grantees: 100,
            credentials_in_state: 1_000_000,
            read_samples: 20_000,
            verify_samples: 4_000,
        }
    };
    let grantees: Vec<(SigningKey, EncryptionSecretKey)> = (0..plan.grantees)
        .map(|_| (SigningKey::generate_evm(), EncryptionSecretKey::generate()))
        .collect();
    if std::env::var_os("IDOS_BENCH_PROFILE").is_some() {
        profile(&plan, &grantees);
        return;
    }
    if std::env::args().any(|a| a == "--state-tree") {
        let mut tree_cost = StateTreeCost::default();
        for round in 0..RUNS {
            tree_cost.round(round, &plan, &grantees);
        }
        let report = serde_json::json!({
            "runs": RUNS,
            "state_tree_cost": tree_cost.json(plan.fresh_users),
        });
        println!("{}", serde_json::to_string_pretty(&report).unwrap());
        return;
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);

    let mut limit_learned = Series::default();
    let mut limit_recovered = Series::default();
    let mut limit_returning = Series::default();
    let mut reference_learned = Series::default();
    let mut reference_recovered = Series::default();
    let mut reference_returning = Series::default();
    let mut returning_reference_ratio = Series::default();
    let mut fresh_reference_ratio = Series::default();
    let mut returning = Series::default();
    let mut fresh = Series::default();
    let mut returning_ratio = Series::default();
    let mut fresh_ratio = Series::default();
    let mut mixed = Series::default();
    let mut mixed_ratio = Series::default();
    let mut mixed_reference_ratio = Series::default();
    let mut limit_mixed = Series::default();
    let mut reference_mixed = Series::default();
    let mut returning_blocks = 0;
    let mut fresh_blocks = 0;
    let mut mixed_blocks = 0;
    let mut tree_cost = StateTreeCost::default();
    let mut last = None;
    for round in 0..RUNS {
        let mut node = Node::start();
        eprintln!("run {}: setting up users", round + 1);
        let returning_users = node.add_users(plan.returning_users);
        let fresh_users = node.add_users(plan.fresh_users);
        let (returning_txs, mut copies) =
            presign(&returning_users, plan.shares_per_user, &grantees);
        let (fresh_txs, fresh_copies) = presign(&fresh_users, 1, &grantees);
        copies.extend(fresh_copies);

        // The limit, on this run's transactions, measured before and after the throughput
        // runs (the machine is shared: both see the same load).
        let sample: Vec<Vec<u8>> = fresh_txs[0]
            .iter()
            .take(plan.verify_samples)
            .cloned()
            .collect();
        settle();
        let before = limits(&sample, plan.shares_per_user, Method::Node);
        let reference_before = limits(&sample, plan.shares_per_user, Method::OneByOne);

        eprintln!("run {}: returning wallets", round + 1);
        let (returning_tps, blocks) = throughput(&node, returning_txs);
        returning_blocks += blocks;
        eprintln!("run {}: fresh wallets", round + 1);
        let (fresh_tps, blocks) = throughput(&node, fresh_txs);
        fresh_blocks += blocks;
        settle();
        let after = limits(&sample, plan.shares_per_user, Method::Node);
        let reference_after = limits(&sample, plan.shares_per_user, Method::OneByOne);
        // Wallets of every type, set up after the runs above so that those measure what they
        // always did.
        let mixed_users = node.add_users_with(plan.fresh_users, wallet_of_every_type);
        let (mixed_txs, mixed_copies) = presign(&mixed_users, 1, &grantees);
        copies.extend(mixed_copies);
        // Every type in equal parts: the wallets of one thread's batch take the types in turn.
        let mixed_sample: Vec<Vec<u8>> = mixed_txs[0]
            .iter()
            .take(plan.verify_samples)
            .cloned()
            .collect();
        let mixed_limits = |method| verify_limit(&mixed_sample, false, method);
        settle();
        let mixed_before = (mixed_limits(Method::Node), mixed_limits(Method::OneByOne));
        eprintln!("run {}: fresh wallets of every type", round + 1);
        let (mixed_tps, blocks) = throughput(&node, mixed_txs);
        mixed_blocks += blocks;
        settle();
        let mixed_after = (mixed_limits(Method::Node), mixed_limits(Method::OneByOne));
        let mean_of = |before: &Limits, after: &Limits, f: fn(&Limits) -> Rate| Rate {
            wall: (f(before).wall + f(after).wall) / 2.0,
            cpu: f(before).cpu.zip(f(after).cpu).map(|(a, b)| (a + b) / 2.0),
        };
        let mean = |f: fn(&Limits) -> Rate| mean_of(&before, &after, f);
        let reference = |f: fn(&Limits) -> Rate| mean_of(&reference_before, &reference_after, f);
        let ratio = |tps: Rate, limit: Rate| Rate {
            wall: tps.wall / limit.wall,
            cpu: tps.cpu.zip(limit.cpu).map(|(t, l)| t / l),
        };
        limit_learned.push(mean(|l| l.learned));
        limit_recovered.push(mean(|l| l.recovered));
        limit_returning.push(mean(|l| l.returning));
        returning.push(returning_tps);
        returning_ratio.push(ratio(returning_tps, mean(|l| l.returning)));
        fresh.push(fresh_tps);
        fresh_ratio.push(ratio(fresh_tps, mean(|l| l.recovered)));
        reference_learned.push(reference(|l| l.learned));
        reference_recovered.push(reference(|l| l.recovered));
        reference_returning.push(reference(|l| l.returning));
        returning_reference_ratio.push(ratio(returning_tps, reference(|l| l.returning)));
        fresh_reference_ratio.push(ratio(fresh_tps, reference(|l| l.recovered)));
        let mean_rate = |a: Rate, b: Rate| Rate {
            wall: (a.wall + b.wall) / 2.0,
            cpu: a.cpu.zip(b.cpu).map(|(a, b)| (a + b) / 2.0),
        };
        let mixed_limit = mean_rate(mixed_before.0, mixed_after.0);
        let mixed_reference = mean_rate(mixed_before.1, mixed_after.1);
        mixed.push(mixed_tps);
        limit_mixed.push(mixed_limit);
        reference_mixed.push(mixed_reference);
        mixed_ratio.push(ratio(mixed_tps, mixed_limit));
        mixed_reference_ratio.push(ratio(mixed_tps, mixed_reference));
        eprintln!(
            "run {}: wallets of every type: {:.0} tx/s, by CPU time {:.0} against {:.0} (one by one: {:.0})",
            round + 1,
            mixed_tps.wall,
            mixed_tps.cpu.unwrap_or(0.0),
            mixed_limit.cpu.unwrap_or(0.0),
            mixed_reference.cpu.unwrap_or(0.0),
        );
        eprintln!(
            "run {}: {:.0} / {:.0} tx/s (returning / fresh), limits {:.0} / {:.0}; by CPU time {:.0} / {:.0} against {:.0} / {:.0} (one by one: {:.0} / {:.0})",
            round + 1,
            returning_tps.wall,
            fresh_tps.wall,
            mean(|l| l.returning).wall,
            mean(|l| l.recovered).wall,
            returning_tps.cpu.unwrap_or(0.0),
            fresh_tps.cpu.unwrap_or(0.0),
            mean(|l| l.returning).cpu.unwrap_or(0.0),
            mean(|l| l.recovered).cpu.unwrap_or(0.0),
            reference(|l| l.returning).cpu.unwrap_or(0.0),
            reference(|l| l.recovered).cpu.unwrap_or(0.0),
        );
        node.chain.stop();
        last = Some((node, copies));

        tree_cost.round(round, &plan, &grantees);
    }
    let returning_shares = plan.returning_users * plan.shares_per_user;

    // Reads with 1,000,000 credentials in state, on the last run's node.
    let (node, mut copies) = last.unwrap();
    // Originals and shares committed by transactions in the last run.
    let by_transactions = plan.returning_users
        + plan.fresh_users
        + returning_shares
        + plan.fresh_users
        + 2 * plan.fresh_users;
    let written = plan.credentials_in_state.saturating_sub(by_transactions);
    eprintln!("writing {written} shared copies into the store");
    let identities: Vec<Identity> = grantees.iter().map(|(k, _)| k.identity()).collect();
    copies.extend(populate(&node.app, written, &identities));
    // The bulk write above is the bench's shortcut, not a node's steady load: its flushes and
    // compactions finish before the reads are timed.
    settle();
    let in_state = by_transactions + written;
    let mut read_runs = Vec::new();
    let mut rng_state = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..RUNS {
        let mut latencies = Vec::with_capacity(plan.read_samples);
        for _ in 0..plan.read_samples {
            rng_state ^= rng_state << 13;
            rng_state ^= rng_state >> 7;
            rng_state ^= rng_state << 17;
            let (copy_id, grantee) = copies[(rng_state % copies.len() as u64) as usize];
            let issued_at = now();
            let query = SignedQuery::attested(
                CHAIN,
                Query::GetCredentialShared { id: copy_id },
                grantee,
                &node.gateway,
                issued_at,
            )
            .encode();
            let start = Instant::now();
            let answer = node
                .app
                .query("/idos", &query, 0, issued_at)
                .expect("shared copy readable");
            latencies.push(start.elapsed());
            std::hint::black_box(answer);
        }
        latencies.sort();
        read_runs.push((
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            latencies.last().unwrap().as_secs_f64() * 1e6,
        ));
    }

    let report = serde_json::json!({
        "machine_cores": cores,
        "runs": RUNS,
        "signature_check_limit_tx_per_second": {
            "what": "shares whose signatures (EVM transaction signature + the copy's two Ed25519 signatures) two threads verify at once, doing nothing else (no decoding, state or storage), as the node verifies them (verify_stateless: the copy's two signatures in one pair check); mean of the limit before and after each run's throughput runs, each the median of three measurements. wall_clock: shares / elapsed time; cpu_time: 2 cores / CPU time per share, what two dedicated cores would do (the machine is shared)",
            "key_learned": limit_learned.json(),
            "key_recovered_fresh_wallets": limit_recovered.json(),
            "returning_wallets_mix": limit_returning.json(),
            "fresh_wallets_of_every_type": limit_mixed.json(),
            "one_by_one": {
                "what": "the same, with every signature verified on its own (the copy's two with verify_strict, no pair check): the reference limit",
                "key_learned": reference_learned.json(),
                "key_recovered_fresh_wallets": reference_recovered.json(),
                "returning_wallets_mix": reference_returning.json(),
                "fresh_wallets_of_every_type": reference_mixed.json(),
            },
        },
        "committed_share_throughput_tx_per_second": {
            "what": "signed share_credential transactions through the embedded chain: CheckTx (every signature verified once, on the two client threads), blocks, one fsynced commit per block. wall_clock: shares / elapsed time until the last is committed; cpu_time: 2 cores / the process's CPU time per share (every thread: clients, block producer, and RocksDB writing what the run committed to disk (a flush after the run) and its background compactions until they are done)",
            "signatures_checked_twice": 0,
            "returning_wallets": {
                "shares_per_run": returning_shares,
                "wallets": format!("{} wallets, {} shares each: the first recovered, the rest verified with the learned key", plan.returning_users, plan.shares_per_user),
                "tx_per_second": returning.json(),
                "ratio_to_limit_of_the_same_mix": returning_ratio.json(),
                "ratio_to_one_by_one_limit_of_the_same_mix": returning_reference_ratio.json(),
                "mean_block_size": (returning_shares * RUNS) as f64 / returning_blocks.max(1) as f64,
            },
            "fresh_wallets": {
                "shares_per_run": plan.fresh_users,
                "wallets": "one share per fresh wallet: every signature recovered",
                "tx_per_second": fresh.json(),
                "ratio_to_limit_of_the_same_mix": fresh_ratio.json(),
                "ratio_to_one_by_one_limit_of_the_same_mix": fresh_reference_ratio.json(),
                "mean_block_size": (plan.fresh_users * RUNS) as f64 / fresh_blocks.max(1) as f64,
            },
            "fresh_wallets_of_every_type": {
                "shares_per_run": plan.fresh_users,
                "wallets": "one share per fresh wallet, the types in turn: EVM (recovered), NEAR (NEP-413 blob), XRPL secp256k1, XRPL Ed25519, Stellar (SEP-53), FaceSign (raw Ed25519)",
                "tx_per_second": mixed.json(),
                "ratio_to_limit_of_the_same_mix": mixed_ratio.json(),
                "ratio_to_one_by_one_limit_of_the_same_mix": mixed_reference_ratio.json(),
                "mean_block_size": (plan.fresh_users * RUNS) as f64 / mixed_blocks.max(1) as f64,
            },
        },
        "state_tree_cost": tree_cost.json(plan.fresh_users),
        "get_credential_shared": {
            "credentials_in_state": in_state,
            "how_state_was_filled": format!("{by_transactions} credentials committed by transactions (originals and shares of the last run), {written} shared copies with their grants written straight into the store"),
            "reads": "uniformly over every shared copy, by its grantee",
            "samples_per_run": plan.read_samples,
            "p50_us": summary(&read_runs.iter().map(|r| r.0).collect::<Vec<_>>()),
            "p99_us": summary(&read_runs.iter().map(|r| r.1).collect::<Vec<_>>()),
            "max_us": summary(&read_runs.iter().map(|r| r.2).collect::<Vec<_>>()),
            "latency": "wall clock of App::query, after the bulk write's flushes and compactions are done (the machine is shared: its load shows in the tail)",
            "auth": "gateway attestation (ed25519) verified per read",
        },
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
