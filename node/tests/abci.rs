//! The ABCI 0.38 server over a real TCP socket, spoken to as CometBFT does: length-delimited
//! protobuf requests (each followed by a Flush), read back as protobuf responses.

use std::time::Duration;

use node::abci::AbciApp;
use node::app::{App, AppConfig};
use node::store::Store;
use prost::Message;
use protocol::action::AddInserter;
use protocol::identity::SigningKey;
use protocol::query::{Query, SignedQuery};
use protocol::records::{QueryAnswer, QueryOutput};
use protocol::tx::Transaction;
use tempfile::TempDir;
use tendermint_proto::google::protobuf::Timestamp;
use tendermint_proto::v0_38::abci::{
    self as pb, Request, RequestCheckTx, RequestCommit, RequestEcho, RequestFinalizeBlock,
    RequestFlush, RequestInfo, RequestInitChain, RequestQuery, request, response,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

const CHAIN: &str = "idos-abci-test";

struct Conn {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Conn {
    async fn connect(addr: &str) -> Conn {
        for _ in 0..100 {
            if let Ok(stream) = TcpStream::connect(addr).await {
                return Conn {
                    stream,
                    buffer: Vec::new(),
                };
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("ABCI server did not listen on {addr}");
    }

    async fn send(&mut self, value: request::Value) {
        let bytes = Request { value: Some(value) }.encode_length_delimited_to_vec();
        self.stream.write_all(&bytes).await.unwrap();
    }

    async fn receive(&mut self) -> response::Value {
        loop {
            let mut cursor = self.buffer.as_slice();
            if let Ok(len) = prost::encoding::decode_varint(&mut cursor) {
                let header = self.buffer.len() - cursor.len();
                if cursor.len() >= len as usize {
                    let message = pb::Response::decode(&cursor[..len as usize]).unwrap();
                    self.buffer.drain(..header + len as usize);
                    return message.value.expect("a response value");
                }
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the ABCI server closed the connection");
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    /// One request, then Flush, as CometBFT's socket client does.
    async fn call(&mut self, value: request::Value) -> response::Value {
        self.send(value).await;
        self.send(request::Value::Flush(RequestFlush {})).await;
        let answer = self.receive().await;
        assert!(matches!(self.receive().await, response::Value::Flush(_)));
        answer
    }
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

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

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
