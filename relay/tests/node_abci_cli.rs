//! `idos node --abci` as a process: it listens for CometBFT and answers ABCI protobuf
//! requests (Echo, Info) on a real socket.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use prost::Message;
use tendermint_proto::v0_38::abci::{
    Request, RequestEcho, RequestFlush, RequestInfo, Response, request, response,
};

fn call(stream: &mut TcpStream, buffer: &mut Vec<u8>, value: request::Value) -> response::Value {
    for v in [value, request::Value::Flush(RequestFlush {})] {
        stream
            .write_all(&Request { value: Some(v) }.encode_length_delimited_to_vec())
            .unwrap();
    }
    let mut answers = Vec::new();
    while answers.len() < 2 {
        let mut cursor = buffer.as_slice();
        if let Ok(len) = prost::encoding::decode_varint(&mut cursor) {
            let header = buffer.len() - cursor.len();
            if cursor.len() >= len as usize {
                answers.push(
                    Response::decode(&cursor[..len as usize])
                        .unwrap()
                        .value
                        .unwrap(),
                );
                buffer.drain(..header + len as usize);
                continue;
            }
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the node closed the ABCI connection");
        buffer.extend_from_slice(&chunk[..n]);
    }
    answers.remove(0)
}

#[test]
fn idos_node_abci_serves_cometbft_over_a_socket() {
    let dir = tempfile::TempDir::new().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("idos"))
        .args(["node", "--abci", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut stream = loop {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            break s;
        }
        assert!(Instant::now() < deadline, "idos node --abci did not listen");
        std::thread::sleep(Duration::from_millis(50));
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buffer = Vec::new();
    match call(
        &mut stream,
        &mut buffer,
        request::Value::Echo(RequestEcho {
            message: "hello".into(),
        }),
    ) {
        response::Value::Echo(e) => assert_eq!(e.message, "hello"),
        other => panic!("{other:?}"),
    }
    match call(
        &mut stream,
        &mut buffer,
        request::Value::Info(RequestInfo::default()),
    ) {
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
