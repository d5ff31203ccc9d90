//! The ABCI 0.38 server over a real TCP socket, spoken to as CometBFT does: length-delimited
//! protobuf requests (each followed by a Flush), read back as protobuf responses.

use node::abci::AbciApp;
use node::app::{App, AppConfig};
use node::store::Store;
use node::testkit::abci::{AbciConn, consensus_params, finalize_request, free_addr};
use protocol::action::AddInserter;
use protocol::identity::SigningKey;
use protocol::query::{Query, SignedQuery};
use protocol::records::{QueryAnswer, QueryOutput};
use protocol::tx::Transaction;
use tempfile::TempDir;
use tendermint_proto::google::protobuf::Timestamp;
use tendermint_proto::v0_38::abci::{
    self as pb, RequestCheckTx, RequestCommit, RequestEcho, RequestFinalizeBlock, RequestInfo,
    RequestInitChain, RequestQuery, request, response,
};
use uuid::Uuid;

const CHAIN: &str = "idos-abci-test";

type Conn = AbciConn;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cometbft_drives_the_app_over_a_socket_init_check_finalize_commit_query_info() {
    let dir = TempDir::new().unwrap();
    let app = std::sync::Arc::new(
        App::open(
            Store::open(dir.path(), false).unwrap(),
            AppConfig::default(),
        )
        .unwrap(),
    );
    let addr = free_addr();
    tokio::spawn(AbciApp::new(app).serve(addr.clone()));
    let mut conn = Conn::connect(&addr).await;

    match conn
        .call(request::Value::Echo(RequestEcho {
            message: "ping".into(),
        }))
        .await
    {
        response::Value::Echo(e) => assert_eq!(e.message, "ping"),
        other => panic!("{other:?}"),
    }
    match conn
        .call(request::Value::Info(RequestInfo::default()))
        .await
    {
        response::Value::Info(i) => {
            assert_eq!((i.last_block_height, i.last_block_app_hash.len()), (0, 0))
        }
        other => panic!("{other:?}"),
    }

    let owner = SigningKey::generate_ed25519();
    let init = RequestInitChain {
        time: Some(Timestamp {
            seconds: 1_750_000_000,
            nanos: 0,
        }),
        chain_id: CHAIN.into(),
        consensus_params: Some(consensus_params()),
        validators: vec![],
        app_state_bytes: format!(r#"{{"owner":"{}"}}"#, owner.identity().identifier())
            .into_bytes()
            .into(),
        initial_height: 1,
    };
    assert!(matches!(
        conn.call(request::Value::InitChain(init)).await,
        response::Value::InitChain(_)
    ));

    let tx = Transaction {
        chain_id: CHAIN.into(),
        nonce: 1,
        signer: owner.identity(),
        action: AddInserter {
            id: Uuid::new_v4(),
            name: "Acme".into(),
        }
        .into(),
    }
    .sign(&owner)
    .unwrap()
    .encode();
    match conn
        .call(request::Value::CheckTx(RequestCheckTx {
            tx: tx.clone().into(),
            r#type: 0,
        }))
        .await
    {
        response::Value::CheckTx(c) => assert_eq!(c.code, 0, "{}", c.log),
        other => panic!("{other:?}"),
    }
    match conn
        .call(request::Value::CheckTx(RequestCheckTx {
            tx: b"\x01junk".to_vec().into(),
            r#type: 0,
        }))
        .await
    {
        response::Value::CheckTx(c) => assert_eq!(
            (c.code, c.info.as_str(), c.codespace.as_str()),
            (1, "malformed", "idos")
        ),
        other => panic!("{other:?}"),
    }

    let block = RequestFinalizeBlock {
        txs: vec![tx.into(), b"\x01junk".to_vec().into()],
        height: 1,
        time: Some(Timestamp {
            seconds: 1_750_000_005,
            nanos: 0,
        }),
        decided_last_commit: Some(Default::default()),
        misbehavior: vec![],
        hash: vec![0xAB; 32].into(),
        next_validators_hash: vec![0xCD; 32].into(),
        proposer_address: vec![0xEF; 20].into(),
    };
    let app_hash = match conn.call(request::Value::FinalizeBlock(block)).await {
        response::Value::FinalizeBlock(f) => {
            assert_eq!(f.tx_results.len(), 2);
            assert_eq!(f.tx_results[0].code, 0, "{}", f.tx_results[0].log);
            assert!(f.tx_results[0].events.iter().any(|e| e.r#type == "idos"));
            assert_eq!(f.tx_results[1].info, "malformed");
            assert_eq!(f.app_hash.len(), 32);
            f.app_hash
        }
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        conn.call(request::Value::Commit(RequestCommit {})).await,
        response::Value::Commit(_)
    ));

    match conn
        .call(request::Value::Info(RequestInfo::default()))
        .await
    {
        response::Value::Info(i) => assert_eq!(
            (i.last_block_height, i.last_block_app_hash),
            (1, app_hash.clone())
        ),
        other => panic!("{other:?}"),
    }
    let query = SignedQuery::anonymous(
        CHAIN,
        Query::NextNonce {
            account: owner.identity(),
        },
    );
    match conn
        .call(request::Value::Query(RequestQuery {
            data: query.encode().into(),
            path: "/idos".into(),
            height: 0,
            prove: false,
        }))
        .await
    {
        response::Value::Query(q) => {
            assert_eq!(q.code, 0, "{}", q.log);
            assert_eq!(q.height, 1);
            let answer: QueryAnswer = borsh::from_slice(&q.value).unwrap();
            assert_eq!(answer.output, QueryOutput::NextNonce(2));
            assert_eq!(answer.app_hash.as_bytes().as_slice(), &app_hash[..]);
        }
        other => panic!("{other:?}"),
    }
    match conn
        .call(request::Value::Query(RequestQuery {
            data: b"\x01".to_vec().into(),
            path: "/idos".into(),
            height: 0,
            prove: false,
        }))
        .await
    {
        response::Value::Query(q) => assert_eq!(q.info, "malformed"),
        other => panic!("{other:?}"),
    }
}

// ----- consensus safety over the socket -------------------------------------------------------

const BLOCK_TIME: i64 = 1_750_000_005;

fn time(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

/// An application behind a socket, initialized by InitChain with `owner` and `initial_height`.
async fn start_app(owner: &SigningKey, initial_height: i64) -> (TempDir, Conn, Vec<u8>) {
    let dir = TempDir::new().unwrap();
    let app = std::sync::Arc::new(
        App::open(
            Store::open(dir.path(), false).unwrap(),
            AppConfig::default(),
        )
        .unwrap(),
    );
    let addr = free_addr();
    tokio::spawn(AbciApp::new(app).serve(addr.clone()));
    let mut conn = Conn::connect(&addr).await;
    let app_hash = conn
        .init_chain(CHAIN, &owner.identity(), initial_height)
        .await;
    (dir, conn, app_hash)
}

fn owner_tx(owner: &SigningKey, nonce: u64) -> Vec<u8> {
    signed_by(owner, CHAIN, nonce)
}

fn signed_by(key: &SigningKey, chain: &str, nonce: u64) -> Vec<u8> {
    Transaction {
        chain_id: chain.into(),
        nonce,
        signer: key.identity(),
        action: AddInserter {
            id: Uuid::from_u128(nonce as u128),
            name: format!("inserter {nonce}"),
        }
        .into(),
    }
    .sign(key)
    .unwrap()
    .encode()
}

fn tampered(tx: &[u8]) -> Vec<u8> {
    let mut stx = protocol::tx::SignedTransaction::decode(tx).unwrap();
    let last = stx.signature.0.len() - 2;
    stx.signature.0[last] ^= 1;
    stx.encode()
}

fn check(tx: &[u8], recheck: bool) -> request::Value {
    request::Value::CheckTx(RequestCheckTx {
        tx: tx.to_vec().into(),
        r#type: if recheck { 1 } else { 0 },
    })
}

fn finalize(height: i64, txs: &[Vec<u8>]) -> request::Value {
    finalize_request(height, BLOCK_TIME + height, txs)
}

fn check_codes(answers: &[response::Value]) -> Vec<(u32, String)> {
    answers
        .iter()
        .map(|a| match a {
            response::Value::CheckTx(c) => (c.code, c.log.clone()),
            other => panic!("{other:?}"),
        })
        .collect()
}

async fn finalize_and_commit(conn: &mut Conn, height: i64, txs: &[Vec<u8>]) -> Vec<u8> {
    let hash = match conn.call(finalize(height, txs)).await {
        response::Value::FinalizeBlock(f) => f.app_hash.to_vec(),
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        conn.call(request::Value::Commit(RequestCommit {})).await,
        response::Value::Commit(_)
    ));
    hash
}

/// tower-abci may run CheckTx futures concurrently; a signer's n, n+1, n+2 sent in one burst
/// must still be checked in that order, new and recheck alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_tx_in_one_burst_is_checked_in_arrival_order_and_rechecks_keep_the_sequence() {
    // An EVM signer: recovery takes long enough for concurrent checks to overtake each other.
    let owner = SigningKey::generate_evm();
    let (_dir, mut conn, _) = start_app(&owner, 1).await;
    let txs: Vec<Vec<u8>> = (1..=64).map(|n| owner_tx(&owner, n)).collect();
    let answers = conn
        .burst(txs.iter().map(|t| check(t, false)).collect())
        .await;
    for (i, (code, log)) in check_codes(&answers).into_iter().enumerate() {
        assert_eq!(code, 0, "nonce {}: {log}", i + 1);
    }
    // A block takes the first ten; CometBFT rechecks the rest, in order, in one burst.
    finalize_and_commit(&mut conn, 1, &txs[..10]).await;
    let answers = conn
        .burst(txs[10..].iter().map(|t| check(t, true)).collect())
        .await;
    for (i, (code, log)) in check_codes(&answers).into_iter().enumerate() {
        assert_eq!(code, 0, "recheck of nonce {}: {log}", i + 11);
    }
    // And the sequence goes on with a new transaction.
    let next = owner_tx(&owner, 65);
    let answers = conn.burst(vec![check(&next, false)]).await;
    assert_eq!(check_codes(&answers)[0].0, 0, "{:?}", check_codes(&answers));
    // A replay of a committed nonce is refused on recheck.
    let answers = conn.burst(vec![check(&txs[0], true)]).await;
    assert_eq!(check_codes(&answers)[0].0, 3);
}

/// With CometBFT's `recheck = false`, transactions still waiting after a commit are not
/// checked again: the sequence CheckTx knows must survive the commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_rechecks_the_mempool_sequence_survives_a_commit() {
    let owner = SigningKey::generate_ed25519();
    let (_dir, mut conn, _) = start_app(&owner, 1).await;
    let txs: Vec<Vec<u8>> = (1..=4).map(|n| owner_tx(&owner, n)).collect();
    let answers = conn
        .burst(txs[..3].iter().map(|t| check(t, false)).collect())
        .await;
    assert!(check_codes(&answers).iter().all(|(c, _)| *c == 0));
    finalize_and_commit(&mut conn, 1, &txs[..1]).await;
    let answers = conn.burst(vec![check(&txs[3], false)]).await;
    assert_eq!(check_codes(&answers)[0].0, 0, "{:?}", check_codes(&answers));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_chain_honours_the_initial_height_and_answers_a_genesis_app_hash() {
    let owner = SigningKey::generate_ed25519();
    let (_dir, mut conn, genesis_hash) = start_app(&owner, 100).await;
    assert_eq!(genesis_hash.len(), 32);
    match conn
        .call(request::Value::Info(RequestInfo::default()))
        .await
    {
        response::Value::Info(i) => {
            assert_eq!(i.last_block_height, 0);
            assert_eq!(i.last_block_app_hash.to_vec(), genesis_hash);
        }
        other => panic!("{other:?}"),
    }
    let hash = finalize_and_commit(&mut conn, 100, &[owner_tx(&owner, 1)]).await;
    match conn
        .call(request::Value::Info(RequestInfo::default()))
        .await
    {
        response::Value::Info(i) => assert_eq!(
            (i.last_block_height, i.last_block_app_hash.to_vec()),
            (100, hash)
        ),
        other => panic!("{other:?}"),
    }
    finalize_and_commit(&mut conn, 101, &[owner_tx(&owner, 2)]).await;
}

/// CometBFT's count of a block's transaction bytes: each is a protobuf `bytes` field.
fn proto_size(tx: &[u8]) -> i64 {
    let mut varint = 1;
    let mut rest = tx.len() >> 7;
    while rest > 0 {
        varint += 1;
        rest >>= 7;
    }
    (1 + varint + tx.len()) as i64
}

fn prepare(txs: &[Vec<u8>], max_tx_bytes: i64) -> request::Value {
    request::Value::PrepareProposal(pb::RequestPrepareProposal {
        max_tx_bytes,
        txs: txs.iter().map(|t| t.clone().into()).collect(),
        local_last_commit: Some(Default::default()),
        misbehavior: vec![],
        height: 1,
        time: time(BLOCK_TIME),
        next_validators_hash: vec![0xCD; 32].into(),
        proposer_address: vec![0xEF; 20].into(),
    })
}

fn process(txs: &[Vec<u8>]) -> request::Value {
    request::Value::ProcessProposal(pb::RequestProcessProposal {
        txs: txs.iter().map(|t| t.clone().into()).collect(),
        proposed_last_commit: Some(Default::default()),
        misbehavior: vec![],
        hash: vec![0xAB; 32].into(),
        height: 1,
        time: time(BLOCK_TIME),
        next_validators_hash: vec![0xCD; 32].into(),
        proposer_address: vec![0xEF; 20].into(),
    })
}

async fn prepared(conn: &mut Conn, txs: &[Vec<u8>], max_tx_bytes: i64) -> Vec<Vec<u8>> {
    match conn.call(prepare(txs, max_tx_bytes)).await {
        response::Value::PrepareProposal(p) => p.txs.iter().map(|t| t.to_vec()).collect(),
        other => panic!("{other:?}"),
    }
}

async fn accepted(conn: &mut Conn, txs: &[Vec<u8>]) -> bool {
    match conn.call(process(txs)).await {
        response::Value::ProcessProposal(p) => {
            assert_ne!(p.status, 0, "status unknown");
            p.status == 1
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepare_proposal_leaves_out_what_cannot_succeed_and_counts_bytes_as_cometbft() {
    let owner = SigningKey::generate_evm();
    let stranger = SigningKey::generate_ed25519();
    let (_dir, mut conn, _) = start_app(&owner, 1).await;
    let o: Vec<Vec<u8>> = (0..=5).map(|n| owner_tx(&owner, n.max(1))).collect();
    let offered = vec![
        o[1].clone(),
        tampered(&o[2]),                    // bad signature
        o[2].clone(),                       // the real nonce 2
        signed_by(&owner, "idos-other", 3), // another chain
        o[5].clone(),                       // nonce gap (3 expected)
        signed_by(&stranger, CHAIN, 1),     // a signer without a role
        b"\x01junk".to_vec(),               // undecodable
        o[3].clone(),
    ];
    assert_eq!(
        prepared(&mut conn, &offered, 1 << 20).await,
        vec![o[1].clone(), o[2].clone(), o[3].clone()]
    );
    // Bytes as CometBFT counts them (protobuf field overhead included): room for the raw
    // bytes of three transactions is not room for three.
    let budget = proto_size(&o[1]) + proto_size(&o[2]) + o[3].len() as i64;
    assert_eq!(
        prepared(
            &mut conn,
            &[o[1].clone(), o[2].clone(), o[3].clone()],
            budget
        )
        .await,
        vec![o[1].clone(), o[2].clone()]
    );
    // What PrepareProposal makes, ProcessProposal accepts.
    assert!(accepted(&mut conn, &[o[1].clone(), o[2].clone(), o[3].clone()]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_proposal_rejects_undecodable_badly_signed_or_misordered_blocks() {
    let owner = SigningKey::generate_evm();
    let stranger = SigningKey::generate_ed25519();
    let (_dir, mut conn, genesis_hash) = start_app(&owner, 1).await;
    let o1 = owner_tx(&owner, 1);
    let o2 = owner_tx(&owner, 2);
    for (block, why) in [
        (vec![o1.clone(), b"\x01junk".to_vec()], "undecodable"),
        (vec![o1.clone(), tampered(&o2)], "bad signature"),
        (vec![o2.clone(), o1.clone()], "nonce out of order"),
        (vec![o1.clone(), o1.clone()], "nonce replayed"),
        (vec![signed_by(&owner, "idos-other", 1)], "another chain"),
    ] {
        assert!(
            !accepted(&mut conn, &block).await,
            "accepted a block with {why}"
        );
    }
    assert!(accepted(&mut conn, &[o1.clone(), o2.clone()]).await);
    // A signer without a role is not grounds for rejection (the block itself may give one),
    // but FinalizeBlock refuses it without using up a nonce: the block changes no state.
    let intruder = signed_by(&stranger, CHAIN, 1);
    assert!(accepted(&mut conn, std::slice::from_ref(&intruder)).await);
    let hash = match conn.call(finalize(1, &[intruder])).await {
        response::Value::FinalizeBlock(f) => {
            assert_eq!(f.tx_results[0].info, "unauthorized");
            f.app_hash.to_vec()
        }
        other => panic!("{other:?}"),
    };
    // The app hash is the state tree's root: a block that changes nothing keeps it.
    assert_eq!(hash, genesis_hash, "a refused intruder changed state");
}
