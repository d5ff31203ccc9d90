//! `idos node --abci` killed between FinalizeBlock and Commit, as CometBFT's crash-recovery
//! tests do: the restarted process reports the last committed height and app hash in Info,
//! and replaying the unfinished block gives the same app hash it gave before the crash, even
//! though the new process has forgotten every key and verified transaction it had cached.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use node::testkit::abci::{AbciConn, free_addr};
use protocol::action::AddInserter;
use protocol::identity::SigningKey;
use protocol::tx::Transaction;
use tendermint_proto::v0_38::abci::{RequestCheckTx, request, response};
use uuid::Uuid;

const CHAIN: &str = "idos-crash";

/// Block times: one second per height.
const GENESIS_TIME: i64 = 1_750_000_000;

/// `idos node --abci` as a process, and CometBFT's connection to it.
struct Node {
    child: Child,
    conn: AbciConn,
}

impl Node {
    async fn start(data: &Path, addr: &str) -> Node {
        let child = Command::new(assert_cmd::cargo::cargo_bin("idos"))
            .args(["node", "--abci", addr, "--data-dir"])
            .arg(data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Node {
            child,
            conn: AbciConn::connect(addr).await,
        }
    }

    async fn finalize(&mut self, height: i64, txs: &[Vec<u8>]) -> (Vec<u32>, Vec<u8>) {
        self.conn.finalize(height, GENESIS_TIME + height, txs).await
    }

    /// SIGKILL: no destructor, no flush, as a power cut or OOM kill of the process.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

fn owner_tx(owner: &SigningKey, nonce: u64) -> Vec<u8> {
    Transaction {
        chain_id: CHAIN.into(),
        nonce,
        signer: owner.identity(),
        action: AddInserter {
            id: Uuid::from_u128(nonce as u128),
            name: format!("inserter {nonce}"),
        }
        .into(),
    }
    .sign(owner)
    .unwrap()
    .encode()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_finalize_block_and_commit_replays_to_the_same_app_hash() {
    let dir = tempfile::TempDir::new().unwrap();
    let addr = free_addr();
    // An EVM owner, so that the first process learns its public key.
    let owner = SigningKey::generate_evm();
    let mut node = Node::start(dir.path(), &addr).await;
    assert_eq!(node.conn.info().await.0, 0);
    node.conn.init_chain(CHAIN, &owner.identity(), 1).await;
    let one = owner_tx(&owner, 1);
    match node
        .conn
        .call(request::Value::CheckTx(RequestCheckTx {
            tx: one.clone().into(),
            r#type: 0,
        }))
        .await
    {
        response::Value::CheckTx(c) => assert_eq!(c.code, 0, "{}", c.log),
        other => panic!("{other:?}"),
    }
    let (codes, first_hash) = node.finalize(1, &[one]).await;
    assert_eq!(codes, vec![0]);
    node.conn.commit().await;
    assert_eq!(node.conn.info().await, (1, first_hash.clone()));

    // Block 2: the signer's next transaction with `v` flipped, which every node must refuse
    // whether or not it has learned the key (the first process has, the restarted one has
    // not), then the same transaction intact.
    let two = owner_tx(&owner, 2);
    let mut flipped = protocol::tx::SignedTransaction::decode(&two).unwrap();
    flipped.signature.0[64] ^= 0x07;
    let block_two = vec![flipped.encode(), two];
    let (codes, second_hash) = node.finalize(2, &block_two).await;
    // Killed before Commit.
    node.kill();

    let mut node = Node::start(dir.path(), &addr).await;
    assert_eq!(
        node.conn.info().await,
        (1, first_hash),
        "after the crash, Info names the last committed block"
    );
    // CometBFT replays block 2.
    let (codes_again, replayed_hash) = node.finalize(2, &block_two).await;
    assert_eq!(codes_again, codes);
    assert_eq!(replayed_hash, second_hash);
    assert_ne!(codes[0], 0, "a flipped v was accepted");
    assert_eq!(codes[1], 0);
    node.conn.commit().await;
    assert_eq!(node.conn.info().await, (2, second_hash));
    node.kill();
}
