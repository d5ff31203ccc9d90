//! `idos node --abci` as a process: it listens for CometBFT and answers ABCI protobuf
//! requests (Echo, Info) on a real socket.

use std::process::{Command, Stdio};

use node::testkit::abci::{AbciConn, free_addr};
use tendermint_proto::v0_38::abci::{RequestEcho, RequestInfo, request, response};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idos_node_abci_serves_cometbft_over_a_socket() {
    let dir = tempfile::TempDir::new().unwrap();
    let addr = free_addr();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("idos"))
        .args(["node", "--abci", &addr, "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut conn = AbciConn::connect(&addr).await;
    match conn
        .call(request::Value::Echo(RequestEcho {
            message: "hello".into(),
        }))
        .await
    {
        response::Value::Echo(e) => assert_eq!(e.message, "hello"),
        other => panic!("{other:?}"),
    }
    match conn
        .call(request::Value::Info(RequestInfo::default()))
        .await
    {
        response::Value::Info(i) => {
            assert_eq!(i.data, "idos-node");
            assert_eq!(
                i.last_block_height, 0,
                "a fresh node asks CometBFT for InitChain"
            );
        }
        other => panic!("{other:?}"),
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
