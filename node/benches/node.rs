//! Node benchmark, run on demand: `cargo bench -p node --bench node` (`-- --quick` for a
//! smaller run). Prints JSON. With `IDOS_BENCH_PROFILE=1` it also prints, on standard error,
//! where one share's CPU goes (decode, signing text, EVM recovery vs verification with a
//! learned key, the copy's two Ed25519 signatures).
//!
//! 1. Throughput: committed, signed `share_credential` transactions per second through the
//!    embedded chain (CheckTx with every signature verified, blocks, fsynced commits), fed by
//!    two client threads. Each share carries a copy signed by a fresh key, a content hash and
//!    an EVM-signed transaction, as the enclave and a wallet produce them.
//! 2. Read latency: `get_credential_shared` in process through `App::query` (gateway
//!    attestation verified, RocksDB snapshot read) with 100,000 credentials in state.

use std::sync::Arc;
use std::time::{Duration, Instant};

use node::app::{App, AppConfig, Genesis};
use node::chain::{Chain, ChainConfig, Validator};
use node::store::Store;
use node::testkit::{credential_input, plaintext, public_notes, share_action, wallet_proof};
use protocol::action::{
    AddDelegate, AddInserter, AddUserAsInserter, PasswordStore, UpsertCredentialAsInserter,
    UpsertWalletAsInserter,
};
use protocol::identity::{Ed25519SigningKey, Identity, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use protocol::query::{Query, SignedQuery};
use protocol::tx::SignedTransaction;
use uuid::Uuid;

const CHAIN: &str = "idos-bench";

struct Plan {
    users: usize,
    shares_per_user: usize,
    grantees: usize,
    read_samples: usize,
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
fn run(chain: &Arc<Chain>, batches: Vec<Vec<Vec<u8>>>) -> Duration {
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
    eprintln!("submitted in {:.2} s", start.elapsed().as_secs_f64());
    for hash in &last {
        while chain.locate(hash).unwrap().is_none() {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    start.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let plan = if quick {
        Plan {
            users: 1_000,
            shares_per_user: 9,
            grantees: 20,
            read_samples: 2_000,
        }
    } else {
        Plan {
            users: 10_000,
            shares_per_user: 9,
            grantees: 100,
            read_samples: 20_000,
        }
    };
    let dir = tempfile::TempDir::new().unwrap();
    let owner = SigningKey::generate_ed25519();
    let gateway = Ed25519SigningKey::generate();
    let store = Store::open(dir.path(), true).unwrap();
    let app = Arc::new(
        App::open(
            store,
            AppConfig {
                trusted_gateways: vec![gateway.public_key()],
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

    // Set-up: one issuer, users with an EVM wallet and one original credential each.
    let issuer = Ed25519SigningKey::generate();
    let issuer_signer = SigningKey::Ed25519(issuer.clone());
    let inserter = Uuid::new_v4();
    let mut setup = vec![
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
                address: issuer_signer.identity(),
                inserter_id: inserter,
            },
        )
        .encode(),
    ];
    run(&chain, vec![std::mem::take(&mut setup)]);
    struct BenchUser {
        wallet: SigningKey,
        original: Uuid,
        vc: String,
    }
    let mut users = Vec::with_capacity(plan.users);
    let mut issuer_txs = Vec::with_capacity(plan.users * 3);
    let mut nonce = 0;
    for i in 0..plan.users {
        let wallet = SigningKey::generate_evm();
        let secret = EncryptionSecretKey::generate();
        let id = Uuid::new_v4();
        let vc = format!("urn:vc:bench:{i}");
        let original = Uuid::new_v4();
        let add = AddUserAsInserter {
            id,
            recipient_encryption_public_key: secret.public_key(),
            encryption_password_store: PasswordStore::User,
        };
        let link = UpsertWalletAsInserter {
            user_id: id,
            wallet: wallet_proof(&wallet, &id, CHAIN, Uuid::new_v4()),
            approval: None,
        };
        let credential = credential_input(
            &issuer,
            &public_notes(&vc, "active"),
            &plaintext(&vc),
            &secret.public_key(),
        );
        let write = UpsertCredentialAsInserter {
            id: original,
            user_id: id,
            credential,
        };
        for action in [add.into(), link.into(), write.into()] as [protocol::action::Action; 3] {
            nonce += 1;
            issuer_txs.push(sign(&issuer_signer, nonce, action).encode());
        }
        users.push(BenchUser {
            wallet,
            original,
            vc,
        });
    }
    let setup_time = run(&chain, vec![issuer_txs]);
    eprintln!(
        "set-up: {} users in {:.1} s",
        plan.users,
        setup_time.as_secs_f64()
    );

    // Clients pre-sign their shares (as wallets would), in two halves for two client threads.
    let grantees: Vec<(SigningKey, EncryptionSecretKey)> = (0..plan.grantees)
        .map(|_| (SigningKey::generate_evm(), EncryptionSecretKey::generate()))
        .collect();
    let presign = |users: &[BenchUser], offset: usize| -> (Vec<Vec<u8>>, Vec<(Uuid, Identity)>) {
        let mut txs = Vec::new();
        let mut copies = Vec::new();
        for (i, user) in users.iter().enumerate() {
            for n in 0..plan.shares_per_user {
                let (grantee, grantee_secret) =
                    &grantees[(offset + i * plan.shares_per_user + n) % grantees.len()];
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
    let half = users.len() / 2;
    let ((txs_a, copies_a), (txs_b, copies_b)) = std::thread::scope(|s| {
        let a = s.spawn(|| presign(&users[..half], 0));
        let b = s.spawn(|| presign(&users[half..], half));
        (a.join().unwrap(), b.join().unwrap())
    });
    let shares = txs_a.len() + txs_b.len();
    let all_hashes: Vec<_> = txs_a
        .iter()
        .chain(&txs_b)
        .map(|tx| protocol::tx::tx_hash(tx))
        .collect();
    if std::env::var("IDOS_BENCH_PROFILE").is_ok() {
        // Where a share's CPU goes: the stateless checks alone, on one thread, in a scratch app.
        let scratch_dir = tempfile::TempDir::new().unwrap();
        let scratch = App::open(
            Store::open(scratch_dir.path(), false).unwrap(),
            AppConfig::default(),
        )
        .unwrap();
        scratch
            .init_chain(Genesis {
                chain_id: CHAIN.into(),
                owner: owner.identity(),
            })
            .unwrap();
        let sample: Vec<&Vec<u8>> = txs_a.iter().take(2000).collect();
        let t = Instant::now();
        for tx in &sample {
            std::hint::black_box(protocol::tx::SignedTransaction::decode(tx).unwrap());
        }
        eprintln!(
            "decode: {:.1} us/tx",
            t.elapsed().as_secs_f64() * 1e6 / sample.len() as f64
        );
        let t = Instant::now();
        for tx in &sample {
            scratch.preverify(tx).unwrap();
        }
        eprintln!(
            "preverify (decode + all signatures): {:.1} us/tx",
            t.elapsed().as_secs_f64() * 1e6 / sample.len() as f64
        );
        let stx = protocol::tx::SignedTransaction::decode(sample[0]).unwrap();
        let text = stx.tx.signing_text();
        let t = Instant::now();
        for _ in 0..500 {
            std::hint::black_box(
                protocol::identity::recover_eip191_key(text.as_bytes(), &stx.signature).unwrap(),
            );
        }
        eprintln!("recover: {:.1} us", t.elapsed().as_secs_f64() * 1e6 / 500.0);
        let key = protocol::identity::recover_eip191_key(text.as_bytes(), &stx.signature).unwrap();
        let t = Instant::now();
        for _ in 0..500 {
            protocol::identity::verify_eip191(text.as_bytes(), &stx.signature, &key).unwrap();
        }
        eprintln!(
            "verify with key: {:.1} us",
            t.elapsed().as_secs_f64() * 1e6 / 500.0
        );
        let t = Instant::now();
        for _ in 0..500 {
            std::hint::black_box(stx.tx.signing_text());
        }
        eprintln!(
            "signing text: {:.1} us",
            t.elapsed().as_secs_f64() * 1e6 / 500.0
        );
        if let protocol::action::Action::ShareCredential(a) = &stx.tx.action {
            let t = Instant::now();
            for _ in 0..500 {
                a.copy.verify_signatures().unwrap();
            }
            eprintln!(
                "copy signatures: {:.1} us",
                t.elapsed().as_secs_f64() * 1e6 / 500.0
            );
        }
    }
    let height_before = app.committed().height;
    let elapsed = run(&chain, vec![txs_a, txs_b]);
    let blocks = app.committed().height - height_before;
    // Every share committed successfully.
    let mut failed = 0;
    for hash in &all_hashes {
        let location = chain.locate(hash.as_bytes()).unwrap().expect("committed");
        let block = chain.block(location.height).unwrap().unwrap();
        if block.results[location.index as usize].code != 0 {
            failed += 1;
        }
    }
    assert_eq!(failed, 0, "{failed} shares failed");
    let throughput = shares as f64 / elapsed.as_secs_f64();

    // Reads: get_credential_shared with every credential in state.
    let copies: Vec<(Uuid, Identity)> = copies_a.into_iter().chain(copies_b).collect();
    let credentials = plan.users + copies.len();
    let mut latencies = Vec::with_capacity(plan.read_samples);
    let mut rng_state = 0x9E37_79B9_7F4A_7C15u64;
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
            &gateway,
            issued_at,
        )
        .encode();
        let start = Instant::now();
        let answer = app
            .query("/idos", &query, 0, issued_at)
            .expect("shared copy readable");
        latencies.push(start.elapsed());
        std::hint::black_box(answer);
    }
    latencies.sort();
    chain.stop();

    let report = serde_json::json!({
        "machine_cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "share_throughput": {
            "transactions": shares,
            "seconds": elapsed.as_secs_f64(),
            "committed_tx_per_second": throughput.round(),
            "blocks": blocks,
            "mean_block_size": (shares as f64 / blocks.max(1) as f64).round(),
            "fsync_per_block": true,
            "signer": "EVM (EIP-191)",
        },
        "get_credential_shared": {
            "credentials_in_state": credentials,
            "samples": plan.read_samples,
            "p50_us": percentile(&latencies, 0.50),
            "p99_us": percentile(&latencies, 0.99),
            "max_us": latencies.last().unwrap().as_secs_f64() * 1e6,
            "auth": "gateway attestation (ed25519) verified per read",
        },
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
