//! An ABCI socket client that speaks as CometBFT does, for tests of the ABCI server in process
//! and of `idos node --abci` as a process: length-delimited protobuf requests, each followed by
//! a Flush, and the answers read back in order.

use std::time::{Duration, Instant};

use prost::Message;
use protocol::identity::Identity;
use tendermint_proto::google::protobuf::Timestamp;
use tendermint_proto::v0_38::abci::{
    Request, RequestCommit, RequestFinalizeBlock, RequestFlush, RequestInfo, RequestInitChain,
    Response, request, response,
};
use tendermint_proto::v0_38::types::ConsensusParams;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One connection to an ABCI server.
pub struct AbciConn {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl AbciConn {
    /// Connects to `addr`, retrying for up to 20 s while the server starts.
    pub async fn connect(addr: &str) -> AbciConn {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(stream) = TcpStream::connect(addr).await {
                return AbciConn {
                    stream,
                    buffer: Vec::new(),
                };
            }
            assert!(
                Instant::now() < deadline,
                "no ABCI server listens on {addr}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends one request without a Flush.
    pub async fn send(&mut self, value: request::Value) {
        let bytes = Request { value: Some(value) }.encode_length_delimited_to_vec();
        self.stream.write_all(&bytes).await.unwrap();
    }

    /// The next answer (within 20 s).
    pub async fn receive(&mut self) -> response::Value {
        tokio::time::timeout(Duration::from_secs(20), self.receive_unbounded())
            .await
            .expect("the ABCI server answered within 20 s")
    }

    async fn receive_unbounded(&mut self) -> response::Value {
        loop {
            let mut cursor = self.buffer.as_slice();
            if let Ok(len) = prost::encoding::decode_varint(&mut cursor) {
                let header = self.buffer.len() - cursor.len();
                if cursor.len() >= len as usize {
                    let message = Response::decode(&cursor[..len as usize]).unwrap();
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
    pub async fn call(&mut self, value: request::Value) -> response::Value {
        self.send(value).await;
        self.send(request::Value::Flush(RequestFlush {})).await;
        let answer = self.receive().await;
        assert!(matches!(self.receive().await, response::Value::Flush(_)));
        answer
    }

    /// Every request in one burst (no Flush in between), then a Flush: as CometBFT's mempool
    /// sends CheckTx. Returns the answers in order.
    pub async fn burst(&mut self, requests: Vec<request::Value>) -> Vec<response::Value> {
        let n = requests.len();
        for r in requests {
            self.send(r).await;
        }
        self.send(request::Value::Flush(RequestFlush {})).await;
        let mut answers = Vec::with_capacity(n);
        for _ in 0..n {
            answers.push(self.receive().await);
        }
        assert!(matches!(self.receive().await, response::Value::Flush(_)));
        answers
    }

    /// Info: the last committed height and app hash.
    pub async fn info(&mut self) -> (i64, Vec<u8>) {
        match self
            .call(request::Value::Info(RequestInfo::default()))
            .await
        {
            response::Value::Info(i) => (i.last_block_height, i.last_block_app_hash.to_vec()),
            other => panic!("{other:?}"),
        }
    }

    /// InitChain for `chain` with `owner` in the app state; returns the genesis app hash.
    pub async fn init_chain(
        &mut self,
        chain: &str,
        owner: &Identity,
        initial_height: i64,
    ) -> Vec<u8> {
        let init = RequestInitChain {
            time: Some(Timestamp {
                seconds: 1_750_000_000,
                nanos: 0,
            }),
            chain_id: chain.into(),
            consensus_params: Some(consensus_params()),
            validators: vec![],
            app_state_bytes: format!(r#"{{"owner":"{}"}}"#, owner.identifier())
                .into_bytes()
                .into(),
            initial_height,
        };
        match self.call(request::Value::InitChain(init)).await {
            response::Value::InitChain(i) => i.app_hash.to_vec(),
            other => panic!("{other:?}"),
        }
    }

    /// FinalizeBlock at `height` and `time` (unix seconds): each transaction's code, and the
    /// app hash.
    pub async fn finalize(
        &mut self,
        height: i64,
        time: i64,
        txs: &[Vec<u8>],
    ) -> (Vec<u32>, Vec<u8>) {
        match self.call(finalize_request(height, time, txs)).await {
            response::Value::FinalizeBlock(f) => (
                f.tx_results.iter().map(|r| r.code).collect(),
                f.app_hash.to_vec(),
            ),
            other => panic!("{other:?}"),
        }
    }

    /// Commit.
    pub async fn commit(&mut self) {
        assert!(matches!(
            self.call(request::Value::Commit(RequestCommit {})).await,
            response::Value::Commit(_)
        ));
    }
}

/// A FinalizeBlock request as CometBFT sends it.
pub fn finalize_request(height: i64, time: i64, txs: &[Vec<u8>]) -> request::Value {
    request::Value::FinalizeBlock(RequestFinalizeBlock {
        txs: txs.iter().map(|t| t.clone().into()).collect(),
        height,
        time: Some(Timestamp {
            seconds: time,
            nanos: 0,
        }),
        decided_last_commit: Some(Default::default()),
        misbehavior: vec![],
        hash: vec![0xAB; 32].into(),
        next_validators_hash: vec![0xCD; 32].into(),
        proposer_address: vec![0xEF; 20].into(),
    })
}

/// CometBFT's default consensus parameters (its genesis always carries them).
pub fn consensus_params() -> ConsensusParams {
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

/// A free loopback address for a server to listen on.
pub fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}
