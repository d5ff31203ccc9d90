//! What a proven read costs a client: proof bytes and verification time per read, with the
//! state tree holding 10^5 and 10^6 leaves (`IDOS_BENCH_LEAVES=…` for other sizes, comma
//! separated; 10^7 takes tens of minutes and several GB).
//!
//! The state is built directly (filler rows in batches, then one grantee's copies and grants),
//! with the node's own state tree; the read goes through the same path as `App::query_proven`
//! (a `Recorder` over the committed store, `state_tree::prove` for each entry), and the client's
//! side is `idos_state::proof::verify_read` (proofs and re-run) and `idos_verify::verify_read`
//! (also the signed header, one Ed25519 signature). Medians of 200 runs, with the 10th and 90th
//! percentiles; native, release build, warm caches. Run:
//! `cargo bench --workspace --bench proofs`.
//!
//! With `IDOS_BENCH_VERIFY_REQUESTS=<dir>`, each read is also written there as the request a
//! host hands the enclave's `verifyRead` (`<leaves>-<read>.json`: trust root, caller, query, the
//! relay's JSON answer, and the time to verify at), for `scripts/bench-verify-read.sh` to time
//! the enclave's verifier module in Chromium on exactly these reads.

/// The allocator the `idos` binary runs the node with.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::time::Instant;

use idos_state::proof::{ProvenEntry, Recorder};
use idos_state::read::{ReadContext, answer};
use idos_verify::{Freshness, ProvenRead, TrustRoot};
use node::chain::{StoredBlock, Validator};
use node::state::rows::{CredentialRow, GrantRow, UserRow, WalletRow};
use node::state::{put_credential, put_grant, put_wallet};
use node::state_tree;
use node::store::{Changes, Store, Table, Working, Write, key};
use protocol::action::PasswordStore;
use protocol::bytes::{Ed25519PublicKey, EncryptionPublicKey, Nonce128, Sha256Digest};
use protocol::grant::GrantInserterType;
use protocol::identity::{Ed25519SigningKey, Identity};
use protocol::query::{PageRequest, Query};
use uuid::Uuid;

const CHAIN: &str = "idos-bench";
const BATCH: u64 = 50_000;
const RUNS: usize = 200;
/// Grants the grantee holds (a page of 20 reads two chunks of its list).
const GRANTS: usize = 40;

fn sha(seed: u64) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(seed.to_be_bytes()).into()
}

struct World {
    _dir: tempfile::TempDir,
    store: std::sync::Arc<Store>,
    version: u64,
    grantee: Identity,
    copy: Uuid,
}

/// A store whose tree holds about `leaves` leaves, and one grantee with `GRANTS` copies.
fn world(leaves: u64) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), false).unwrap();
    let genesis = state_tree::genesis(&*store, b"bench genesis").unwrap();
    store.commit(&genesis.changes).unwrap();
    let mut version = 0;
    let cache = state_tree::NodeCache::new(state_tree::NODE_CACHE_BYTES);
    let commit = |mut block: Changes, version: u64| {
        let update = state_tree::update(&*store, &cache, version, &block).unwrap();
        block.absorb(update.changes);
        store.commit(&block).unwrap();
        cache.committed(update.cache);
    };
    let mut written = 0;
    while written < leaves {
        version += 1;
        let mut block = Changes::default();
        for i in written..(written + BATCH).min(leaves) {
            block.put(Table::Attributes, sha(i)[..16].to_vec(), sha(i).to_vec());
        }
        written += BATCH;
        commit(block, version);
    }
    // One owner, one grantee, `GRANTS` originals each shared once.
    version += 1;
    let empty = Changes::default();
    let mut w = Working::new(&store, &empty);
    let owner = Uuid::new_v4();
    let wallet = Identity::Ed25519(Ed25519SigningKey::generate().public_key());
    let grantee = Identity::Ed25519(Ed25519SigningKey::generate().public_key());
    w.put_row(
        Table::Users,
        key::uuid(&owner).to_vec(),
        &UserRow {
            recipient_encryption_public_key: EncryptionPublicKey::from_bytes([1; 32]),
            encryption_password_store: PasswordStore::User,
            inserter: "bench".into(),
        },
    );
    put_wallet(
        &mut w,
        &Uuid::new_v4(),
        &WalletRow {
            user_id: owner,
            wallet,
            nonce: Nonce128::from_bytes([2; 16]),
            signature: vec![3; 64].into(),
            inserter: None,
        },
    )
    .unwrap();
    let mut copy = Uuid::nil();
    for n in 0..GRANTS {
        let credential = |original_id| CredentialRow {
            user_id: owner,
            public_notes: String::new(),
            content: vec![n as u8; 1024].into(),
            encryptor_public_key: EncryptionPublicKey::from_bytes([4; 32]),
            issuer_auth_public_key: Ed25519PublicKey::from_bytes([5; 32]),
            inserter: None,
            verifiable_credential_id: None,
            original_id,
        };
        let original = Uuid::new_v4();
        put_credential(&mut w, &original, &credential(None), None).unwrap();
        copy = Uuid::new_v4();
        put_credential(&mut w, &copy, &credential(Some(original)), None).unwrap();
        let grant = GrantRow {
            owner,
            grantee,
            data_id: copy,
            locked_until: 0,
            content_hash: Sha256Digest::from_bytes(sha(n as u64)),
            height: version,
            inserter_type: GrantInserterType::User,
            inserter_id: "bench".into(),
        };
        put_grant(&mut w, &Uuid::new_v4(), &grant, Some(&original)).unwrap();
    }
    commit(w.into_changes(), version);
    World {
        _dir: dir,
        store,
        version,
        grantee,
        copy,
    }
}

/// The proven entries of `query` by the grantee, as `App::query_proven` makes them.
fn prove(w: &World, query: &Query) -> Vec<ProvenEntry> {
    let snapshot = w.store.snapshot();
    let recorder = Recorder::new(&snapshot);
    let ctx = ReadContext {
        chain_id: CHAIN,
        block_time: 1_700_000_000,
    };
    answer(&recorder, &ctx, Some(&w.grantee), query).unwrap();
    recorder
        .into_entries()
        .unwrap()
        .into_iter()
        .map(|(table, key)| {
            let (value, proof) = state_tree::prove(&snapshot, w.version, table, &key).unwrap();
            ProvenEntry {
                table: table.name().to_owned(),
                key,
                value,
                proof,
            }
        })
        .collect()
}

fn percentiles(mut samples: Vec<f64>) -> (f64, f64, f64) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.1), at(0.9))
}

fn time(mut f: impl FnMut()) -> (f64, f64, f64) {
    f();
    percentiles(
        (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect(),
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sizes: Vec<u64> = std::env::var("IDOS_BENCH_LEAVES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100_000, 1_000_000]);
    let validator = Validator::from_key(Ed25519SigningKey::generate()).unwrap();
    let trust = TrustRoot {
        chain_id: CHAIN.into(),
        validators: validator.set(),
    };
    let requests_dir = std::env::var_os("IDOS_BENCH_VERIFY_REQUESTS").map(std::path::PathBuf::from);
    let trust_text = format!("{CHAIN}@{}", hex::encode(validator.public_key.to_bytes()));
    println!("proven reads: proof bytes and client verification time per read");
    println!("(native, release, warm; median [p10, p90] of {RUNS} runs)");
    for leaves in sizes {
        let started = Instant::now();
        let w = world(leaves);
        let root = state_tree::root(&*w.store, w.version).unwrap().unwrap();
        println!(
            "\n{leaves} filler leaves (+ {} rows of the read's user; built in {:.1} s):",
            GRANTS * 13,
            started.elapsed().as_secs_f64()
        );
        let reads = [
            (
                "get_credential_shared (1 KiB copy)",
                Query::GetCredentialShared { id: w.copy },
            ),
            (
                "get_access_grants_granted (page of 20)",
                Query::GetAccessGrantsGranted {
                    user_id: None,
                    page: PageRequest {
                        after: None,
                        limit: 20,
                    },
                },
            ),
        ];
        for (name, query) in reads {
            let entries = prove(&w, &query);
            let proof_bytes: usize = entries
                .iter()
                .map(|e| borsh::to_vec(&e.proof).unwrap().len())
                .sum();
            let value_bytes: usize = entries
                .iter()
                .map(|e| e.value.as_ref().map_or(0, Vec::len))
                .sum();
            let block = StoredBlock {
                height: 10,
                time_seconds: 1_700_000_000,
                time_nanos: 0,
                txs: Vec::new(),
                results: Vec::new(),
                app_hash_before: root.to_vec(),
                app_hash_after: root.to_vec(),
                last_block_hash: vec![7; 32],
            };
            let read = ProvenRead {
                height: 9,
                entries: ProvenRead::encode_entries(&entries),
                signed_header: validator.signed_header(CHAIN, &block).unwrap(),
                validators: validator.set().validators().clone(),
            };
            let wire = serde_json::to_vec(&read).unwrap().len();
            let ctx = ReadContext {
                chain_id: CHAIN,
                block_time: 1_700_000_000,
            };
            let proofs = time(|| {
                idos_state::proof::verify_read(root, &entries, &ctx, Some(&w.grantee), &query)
                    .unwrap()
                    .unwrap();
            });
            let now = tendermint::Time::from_unix_timestamp(1_700_000_100, 0).unwrap();
            let full = time(|| {
                idos_verify::verify_read(
                    &trust,
                    &Freshness::default(),
                    &read,
                    Some(&w.grantee),
                    &query,
                    now,
                )
                .unwrap()
                .output
                .unwrap();
            });
            if let Some(dir) = &requests_dir {
                let slug: String = name.split(' ').next().unwrap_or(name).to_owned();
                let request = serde_json::json!({
                    "request": {
                        "trustRoot": trust_text,
                        "caller": w.grantee,
                        "query": query,
                        "read": read,
                    },
                    "nowMs": 1_700_000_100_000u64,
                    "leaves": leaves,
                    "read": name,
                });
                std::fs::create_dir_all(dir).unwrap();
                std::fs::write(
                    dir.join(format!("{leaves}-{slug}.json")),
                    request.to_string(),
                )
                .unwrap();
            }
            println!("  {name}:");
            println!(
                "    entries {}, proof bytes {proof_bytes} (values {value_bytes}), JSON answer {wire} bytes",
                entries.len()
            );
            println!(
                "    verify proofs + re-run: {:.1} µs [{:.1}, {:.1}]",
                proofs.0, proofs.1, proofs.2
            );
            println!(
                "    + signed header (idos-verify, from the JSON form): {:.1} µs [{:.1}, {:.1}]",
                full.0, full.1, full.2
            );
        }
    }
}
