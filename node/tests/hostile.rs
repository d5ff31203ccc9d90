//! Hostile input at every door of the node: CheckTx, FinalizeBlock, PrepareProposal,
//! ProcessProposal, Query and the JSON-RPC server. Every single-bit flip and every truncation
//! of sample transactions (a `share_credential` with real ciphertext among them) and of sample
//! reads is tried, exhaustively, and random and mutated bytes by proptest. Each must get a
//! typed error, never a panic, and change nothing: the app hash and every table are compared
//! before and after. A tampered read that is answered anyway must be answered exactly as the
//! untampered one, for the same caller.

use std::sync::{Arc, Mutex, OnceLock};

use node::app::{App, Committed, QUERY_PATH};
use node::store::{Read, Table};
use node::testkit::*;
use proptest::prelude::*;
use protocol::action::{AddAttribute, UpsertCredentialAsInserter};
use protocol::identity::{Ed25519SigningKey, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use protocol::query::{Query, QueryAuth, SignedQuery};
use protocol::tx::MAX_TRANSACTION_BYTES;
use tempfile::TempDir;
use uuid::Uuid;

/// A table's rows, in key order.
type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// Everything stored: the committed block and every row of every table.
#[derive(Debug, PartialEq, Eq)]
struct Everything {
    committed: Committed,
    tables: Vec<(Table, Rows)>,
}

fn everything(app: &App) -> Everything {
    Everything {
        committed: app.committed(),
        tables: Table::ALL
            .iter()
            .map(|t| (*t, app.store().scan(*t, &[], usize::MAX).unwrap()))
            .collect(),
    }
}

/// The state tables only (what the app hash covers).
fn state_tables(app: &App) -> Vec<(Table, Rows)> {
    Table::ALL
        .iter()
        .filter(|t| t.is_state())
        .map(|t| (*t, app.store().scan(*t, &[], usize::MAX).unwrap()))
        .collect()
}

struct Fixture {
    _dir: TempDir,
    net: TestNet,
    /// Valid, never submitted transactions: an EVM-signed share with real ciphertext, an
    /// Ed25519-signed attribute.
    txs: Vec<Vec<u8>>,
    /// Valid reads, each with the answer it gets: an EVM caller's own read, a gateway-attested
    /// read of a shared copy, an Ed25519 caller's read, an anonymous public read.
    queries: Vec<(Vec<u8>, protocol::records::QueryOutput)>,
}

fn fixture() -> Fixture {
    let dir = TempDir::new().unwrap();
    let mut net = TestNet::new(dir.path());
    let issuer = net.add_issuer("Acme");
    let alice = net.add_user(&issuer, true);
    let carol = net.add_user(&issuer, false);
    let original = Uuid::new_v4();
    let vc = "urn:vc:hostile";
    net.submit(
        &issuer.signer(),
        UpsertCredentialAsInserter {
            id: original,
            user_id: alice.id,
            credential: credential_input(
                &issuer.key,
                &public_notes(vc, "active"),
                &plaintext(vc),
                &alice.public_key(),
            ),
        },
    )
    .unwrap();
    let grantee = SigningKey::generate_ed25519();
    let grantee_secret = EncryptionSecretKey::generate();
    let shared = share_action(
        &Ed25519SigningKey::generate(),
        original,
        &plaintext(vc),
        grantee.identity(),
        &grantee_secret.public_key(),
        0,
    );
    let copy = shared.id;
    net.submit(&alice.wallet, shared).unwrap();
    let share = net
        .sign(
            &alice.wallet,
            share_action(
                &Ed25519SigningKey::generate(),
                original,
                &plaintext(vc),
                grantee.identity(),
                &grantee_secret.public_key(),
                0,
            ),
        )
        .encode();
    let attribute = net
        .sign(
            &carol.wallet,
            AddAttribute {
                id: Uuid::new_v4(),
                attribute_key: "k".into(),
                value: "v".into(),
            },
        )
        .encode();
    let signed = [
        SignedQuery::signed(
            CHAIN_ID,
            Query::GetCredentialOwned { id: original },
            &alice.wallet,
            net.time,
        ),
        SignedQuery::attested(
            CHAIN_ID,
            Query::GetCredentialShared { id: copy },
            grantee.identity(),
            &net.gateway,
            net.time,
        ),
        SignedQuery::signed(CHAIN_ID, Query::GetUser, &carol.wallet, net.time),
        SignedQuery::anonymous(
            CHAIN_ID,
            Query::NextNonce {
                account: alice.wallet.identity(),
            },
        ),
    ];
    let queries = signed
        .iter()
        .map(|q| (q.encode(), net.query(q).unwrap().output))
        .collect();
    Fixture {
        _dir: dir,
        net,
        txs: vec![share, attribute],
        queries,
    }
}

/// Every error the node returns has a stable code from the documented set.
fn assert_typed(code: &str) {
    const CODES: &[&str] = &[
        "malformed",
        "unsupported_version",
        "too_large",
        "invalid_field",
        "invalid_base64",
        "invalid_hex",
        "invalid_length",
        "invalid_user_id",
        "invalid_uuid",
        "bad_signature",
        "invalid_ed25519_key",
        "invalid_evm_address",
        "invalid_secp256k1",
        "invalid_identifier",
        "invalid_timestamp",
        "wrong_chain_id",
        "bad_nonce",
        "unauthorized",
        "no_profile",
        "not_found",
        "evm_checksum_mismatch",
        // The wallet schemes' refusals (a flipped identity tag can name another scheme).
        "invalid_near_key",
        "nep413_malformed",
        "nep413_wrong_message",
        "nep413_wrong_recipient",
        "invalid_xrpl_key",
        "invalid_xrpl_address",
        "xrpl_key_mismatch",
        "invalid_xrpl_signature",
        "invalid_stellar_address",
    ];
    assert!(CODES.contains(&code), "unexpected error code {code}");
}

/// Every truncation and every single-bit flip of `bytes`.
fn variants(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = (0..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut flipped = bytes.to_vec();
            flipped[i] ^= 1 << bit;
            out.push(flipped);
        }
    }
    out
}

#[test]
fn every_truncation_and_bit_flip_of_sample_transactions_is_refused_at_every_door() {
    let mut f = fixture();
    for tx in f.txs.clone() {
        let tampered = variants(&tx);
        let before = everything(&f.net.app);
        for t in &tampered {
            assert_typed(f.net.app.check_tx(t).unwrap_err().code());
        }
        assert!(
            f.net
                .app
                .prepare_proposal(tampered.clone(), i64::MAX)
                .is_empty(),
            "PrepareProposal kept a tampered transaction"
        );
        for t in &tampered {
            let verdict = f.net.app.process_proposal(&[t]).unwrap();
            let (_, why) = verdict.expect("ProcessProposal accepted a tampered transaction");
            assert_typed(why.code());
        }
        assert_eq!(everything(&f.net.app), before, "a refusal changed state");

        // A Byzantine proposer puts them all in one block: all refused, no state changed.
        let state = state_tables(&f.net.app);
        let previous = f.net.app.committed();
        let outcomes = f.net.block(tampered);
        for o in &outcomes {
            assert_typed(o.result.as_ref().unwrap_err().code());
        }
        assert_eq!(state_tables(&f.net.app), state);
        let after = f.net.app.committed();
        assert_eq!(
            after.app_hash, previous.app_hash,
            "a block that changes nothing keeps the state root"
        );
    }
    // The untampered transactions still go through afterwards.
    for tx in f.txs.clone() {
        f.net.app.check_tx(&tx).unwrap();
        assert!(f.net.block(vec![tx]).remove(0).result.is_ok());
    }
}

#[test]
fn every_truncation_and_bit_flip_of_sample_reads_is_refused_or_answered_for_its_caller() {
    let f = fixture();
    let before = everything(&f.net.app);
    let trusted = |key: &protocol::bytes::Ed25519PublicKey| *key == f.net.gateway.public_key();
    let mut answered = 0;
    for (query, answer) in &f.queries {
        let original = SignedQuery::decode(query).unwrap();
        let caller = original.authenticate(f.net.time, trusted).unwrap();
        for t in variants(query) {
            match f.net.app.query(QUERY_PATH, &t, 0, f.net.time) {
                Err(e) => assert_typed(e.code()),
                Ok(got) => {
                    answered += 1;
                    // Answered: then it is the same read by the same caller, and so gets the
                    // same answer, or an anonymous public read, answered as it asks.
                    let tampered = SignedQuery::decode(&t).unwrap();
                    if matches!(tampered.auth, QueryAuth::Anonymous) {
                        assert!(tampered.query.is_public(), "{tampered:?}");
                        assert_eq!(
                            got.output,
                            f.net.query(&tampered).unwrap().output,
                            "{tampered:?}"
                        );
                    } else {
                        assert_eq!(
                            tampered.authenticate(f.net.time, trusted).unwrap(),
                            caller,
                            "a tampered read was answered for someone else"
                        );
                        assert_eq!(tampered.query, original.query);
                        assert_eq!(&got.output, answer);
                    }
                }
            }
        }
    }
    // Only the anonymous read's account may be flipped into another valid account.
    assert!(answered > 0);
    assert_eq!(everything(&f.net.app), before, "a read changed state");
}

// ----- random and mutated bytes ---------------------------------------------------------------

fn shared_fixture() -> &'static Mutex<Fixture> {
    static FIXTURE: OnceLock<Mutex<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(|| Mutex::new(fixture()))
}

/// Random bytes, or a sample transaction with a few bytes overwritten and maybe cut.
fn hostile_tx() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        (
            0usize..2,
            proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
            any::<Option<usize>>()
        )
            .prop_map(|(which, edits, cut)| {
                let f = shared_fixture().lock().unwrap_or_else(|p| p.into_inner());
                let mut tx = f.txs[which].clone();
                for (i, b) in edits {
                    let i = i % tx.len();
                    tx[i] = b;
                }
                if let Some(cut) = cut {
                    tx.truncate(cut % (tx.len() + 1));
                }
                tx
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn hostile_bytes_at_every_door_get_typed_errors_and_change_nothing(
        block in proptest::collection::vec(hostile_tx(), 1..6),
    ) {
        let mut f = shared_fixture().lock().unwrap_or_else(|p| p.into_inner());
        // A mutation that rewrote bytes with their own values is the valid transaction.
        let block: Vec<Vec<u8>> = block.into_iter().filter(|t| !f.txs.contains(t)).collect();
        prop_assume!(!block.is_empty());
        let before = everything(&f.net.app);
        for t in &block {
            if let Err(e) = f.net.app.check_tx(t) { assert_typed(e.code()) }
            if let Err(e) = f.net.app.query(QUERY_PATH, t, 0, f.net.time) { assert_typed(e.code()) }
        }
        prop_assert!(f.net.app.prepare_proposal(block.clone(), i64::MAX).is_empty());
        prop_assert!(f.net.app.process_proposal(&block).unwrap().is_some());
        prop_assert_eq!(everything(&f.net.app), before);
        let state = state_tables(&f.net.app);
        for o in f.net.block(block) {
            assert_typed(o.result.unwrap_err().code());
        }
        prop_assert_eq!(state_tables(&f.net.app), state);
    }
}

#[test]
fn oversized_transactions_and_reads_are_refused_before_decoding() {
    let f = fixture();
    let mut huge = vec![1u8];
    huge.resize(MAX_TRANSACTION_BYTES + 1, 0);
    assert_eq!(f.net.app.check_tx(&huge).unwrap_err().code(), "too_large");
    let mut huge_query = vec![1u8];
    huge_query.resize(64 * 1024, 0);
    assert_eq!(
        f.net
            .app
            .query(QUERY_PATH, &huge_query, 0, f.net.time)
            .unwrap_err()
            .code(),
        "too_large"
    );
}

// ----- the JSON-RPC server --------------------------------------------------------------------

struct RpcFixture {
    _dir: TempDir,
    chain: Arc<node::chain::Chain>,
    router: axum::Router,
    runtime: tokio::runtime::Runtime,
    /// Valid request bodies; the transaction they broadcast was committed already (a replay).
    bodies: Vec<Vec<u8>>,
}

fn rpc_fixture() -> RpcFixture {
    let dir = TempDir::new().unwrap();
    let owner = SigningKey::generate_ed25519();
    let config = node::run::NodeConfig {
        chain_id: Some(CHAIN_ID.into()),
        owner: Some(owner.identity()),
        sync_writes: Some(false),
        ..Default::default()
    };
    let (chain, _) = node::run::start_chain(dir.path(), &config).unwrap();
    let tx = signed_tx(
        CHAIN_ID,
        &owner,
        1,
        protocol::action::AddInserter {
            id: Uuid::new_v4(),
            name: "Acme".into(),
        },
    )
    .encode();
    chain.submit(tx.clone()).unwrap();
    let hash = protocol::tx::tx_hash(&tx);
    let location = loop {
        match chain.locate(hash.as_bytes()).unwrap() {
            Some(location) => break location,
            None => std::thread::sleep(std::time::Duration::from_millis(5)),
        }
    };
    // The block after it, which carries its app hash, comes on its own: wait for it too.
    while chain.app().committed().height <= location.height {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    let query = SignedQuery::anonymous(
        CHAIN_ID,
        Query::NextNonce {
            account: owner.identity(),
        },
    )
    .encode();
    let bodies = [
        r#"{"jsonrpc":"2.0","id":1,"method":"status","params":{}}"#.to_owned(),
        format!(
            r#"{{"jsonrpc":"2.0","id":2,"method":"broadcast_tx_sync","params":{{"tx":"{}"}}}}"#,
            b64(&tx)
        ),
        format!(
            r#"{{"jsonrpc":"2.0","id":3,"method":"abci_query","params":{{"path":"/idos","data":"{}","height":"0","prove":false}}}}"#,
            hex::encode(&query)
        ),
        format!(
            r#"{{"jsonrpc":"2.0","id":4,"method":"tx","params":{{"hash":"{}","prove":false}}}}"#,
            b64(hash.as_bytes())
        ),
        r#"{"jsonrpc":"2.0","id":5,"method":"block","params":{"height":"1"}}"#.to_owned(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    let router = node::rpc::router(chain.clone(), "127.0.0.1:0".into());
    RpcFixture {
        _dir: dir,
        chain,
        router,
        runtime: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
        bodies,
    }
}

impl RpcFixture {
    /// POSTs `body`; the answer must be a JSON-RPC object with a result or an error (or the
    /// body-size refusal), and the node must stay up.
    fn post(&self, body: Vec<u8>) {
        use tower::ServiceExt as _;
        let request = axum::http::Request::post("/")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.clone()))
            .unwrap();
        let response = self
            .runtime
            .block_on(self.router.clone().oneshot(request))
            .unwrap();
        let status = response.status();
        let bytes = self
            .runtime
            .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
            .unwrap();
        assert!(
            status.is_success() || status.as_u16() == 413,
            "{status} for {}",
            String::from_utf8_lossy(&body)
        );
        if status.is_success() {
            let reply: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(reply["jsonrpc"], "2.0");
            assert!(
                reply.get("result").is_some() != reply.get("error").is_some(),
                "{reply}"
            );
        }
    }
}

#[test]
fn every_truncation_and_bit_flip_of_rpc_bodies_gets_a_json_rpc_answer_and_changes_nothing() {
    let f = rpc_fixture();
    let before = everything(f.chain.app());
    for body in &f.bodies {
        f.post(body.clone());
        for t in variants(body) {
            f.post(t);
        }
    }
    assert_eq!(everything(f.chain.app()), before);
    f.chain.stop();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_rpc_bodies_get_a_json_rpc_answer_and_change_nothing(
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        static F: OnceLock<RpcFixture> = OnceLock::new();
        let f = F.get_or_init(rpc_fixture);
        let before = everything(f.chain.app());
        f.post(body);
        prop_assert_eq!(everything(f.chain.app()), before);
    }
}
