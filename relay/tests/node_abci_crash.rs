//! `idos node --abci` killed between FinalizeBlock and Commit, as CometBFT's crash-recovery
//! tests do: the restarted process reports the last committed height and app hash in Info,
//! and replaying the unfinished block gives the same app hash it gave before the crash, even
//! though the new process has forgotten every key and verified transaction it had cached.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use prost::Message;
use protocol::action::AddInserter;
use protocol::identity::SigningKey;
use protocol::tx::Transaction;
use tendermint_proto::google::protobuf::Timestamp;
use tendermint_proto::v0_38::abci::{
    Request, RequestCheckTx, RequestCommit, RequestFinalizeBlock, RequestFlush, RequestInfo,
    RequestInitChain, Response, request, response,
};
use uuid::Uuid;

const CHAIN: &str = "idos-crash";

struct Node {
    child: Child,
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Node {
    fn start(data: &Path, port: u16) -> Node {
        let child = Command::new(assert_cmd::cargo::cargo_bin("idos"))
            .args(["node", "--abci", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let stream = loop {
            if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
                break s;
            }
            assert!(Instant::now() < deadline, "idos node --abci did not listen");
            std::thread::sleep(Duration::from_millis(50));
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Node {
            child,
            stream,
            buffer: Vec::new(),
        }
    }

    /// One request and a Flush, as CometBFT's socket client sends them.
    fn call(&mut self, value: request::Value) -> response::Value {
        for v in [value, request::Value::Flush(RequestFlush {})] {
            self.stream
                .write_all(&Request { value: Some(v) }.encode_length_delimited_to_vec())
                .unwrap();
        }
        let mut answers = Vec::new();
        while answers.len() < 2 {
            let mut cursor = self.buffer.as_slice();
            if let Ok(len) = prost::encoding::decode_varint(&mut cursor) {
                let header = self.buffer.len() - cursor.len();
                if cursor.len() >= len as usize {
                    answers.push(
                        Response::decode(&cursor[..len as usize])
                            .unwrap()
                            .value
                            .unwrap(),
                    );
                    self.buffer.drain(..header + len as usize);
                    continue;
                }
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the node closed the ABCI connection");
            self.buffer.extend_from_slice(&chunk[..n]);
        }
        answers.remove(0)
    }

    fn info(&mut self) -> (i64, Vec<u8>) {
        match self.call(request::Value::Info(RequestInfo::default())) {
            response::Value::Info(i) => (i.last_block_height, i.last_block_app_hash.to_vec()),
            other => panic!("{other:?}"),
        }
    }

    fn finalize(&mut self, height: i64, txs: &[Vec<u8>]) -> (Vec<u32>, Vec<u8>) {
        let block = RequestFinalizeBlock {
            txs: txs.iter().map(|t| t.clone().into()).collect(),
            height,
            time: Some(Timestamp {
                seconds: 1_750_000_000 + height,
                nanos: 0,
            }),
            decided_last_commit: Some(Default::default()),
            misbehavior: vec![],
            hash: vec![height as u8; 32].into(),
            next_validators_hash: vec![0xCD; 32].into(),
            proposer_address: vec![0xEF; 20].into(),
        };
        match self.call(request::Value::FinalizeBlock(block)) {
            response::Value::FinalizeBlock(f) => (
                f.tx_results.iter().map(|r| r.code).collect(),
                f.app_hash.to_vec(),
            ),
            other => panic!("{other:?}"),
        }
    }

    fn commit(&mut self) {
        assert!(matches!(
            self.call(request::Value::Commit(RequestCommit {})),
            response::Value::Commit(_)
        ));
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

/// CometBFT's default consensus parameters (its genesis always carries them).
fn consensus_params() -> tendermint_proto::v0_38::types::ConsensusParams {
    use tendermint_proto::v0_38::types::*;
    ConsensusParams {
        block: Some(BlockParams {
            max_bytes: 22_020_096,
            max_gas: -1,
        }),
        evidence: Some(EvidenceParams {
            max_age_num_blocks: 100_000,
            max_age_duration: Some(tendermint_proto::google::protobuf::Duration {
                seconds: 172_800,
                nanos: 0,
            }),
            max_bytes: 1_048_576,
        }),
        validator: Some(ValidatorParams {
            pub_key_types: vec!["ed25519".into()],
        }),
        version: Some(VersionParams { app: 0 }),
        abci: Some(AbciParams {
            vote_extensions_enable_height: 0,
        }),
    }
}

#[test]
fn a_crash_between_finalize_block_and_commit_replays_to_the_same_app_hash() {
    let dir = tempfile::TempDir::new().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // An EVM owner, so that the first process learns its public key.
    let owner = SigningKey::generate_evm();
    let mut node = Node::start(dir.path(), port);
    assert_eq!(node.info().0, 0);
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
        node.call(request::Value::InitChain(init)),
        response::Value::InitChain(_)
    ));
    let one = owner_tx(&owner, 1);
    match node.call(request::Value::CheckTx(RequestCheckTx {
        tx: one.clone().into(),
        r#type: 0,
    })) {
        response::Value::CheckTx(c) => assert_eq!(c.code, 0, "{}", c.log),
        other => panic!("{other:?}"),
    }
    let (codes, first_hash) = node.finalize(1, &[one]);
    assert_eq!(codes, vec![0]);
    node.commit();
    assert_eq!(node.info(), (1, first_hash.clone()));

    // Block 2: the signer's next transaction with `v` flipped, which every node must refuse
    // whether or not it has learned the key (the first process has, the restarted one has
    // not), then the same transaction intact.
    let two = owner_tx(&owner, 2);
    let mut flipped = protocol::tx::SignedTransaction::decode(&two).unwrap();
    flipped.signature.0[64] ^= 0x07;
    let block_two = vec![flipped.encode(), two];
    let (codes, second_hash) = node.finalize(2, &block_two);
    // Killed before Commit.
    node.kill();

    let mut node = Node::start(dir.path(), port);
    assert_eq!(
        node.info(),
        (1, first_hash),
        "after the crash, Info names the last committed block"
    );
    // CometBFT replays block 2.
    let (codes_again, replayed_hash) = node.finalize(2, &block_two);
    assert_eq!(codes_again, codes);
    assert_eq!(replayed_hash, second_hash);
    assert_ne!(codes[0], 0, "a flipped v was accepted");
    assert_eq!(codes[1], 0);
    node.commit();
    assert_eq!(node.info(), (2, second_hash));
    node.kill();
}
