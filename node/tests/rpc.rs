//! The embedded chain through its JSON-RPC, driven by `tendermint_rpc::HttpClient` in
//! CometBFT 0.38 mode, exactly as the relay talks to a CometBFT node: broadcast, commit,
//! query, transaction and block lookup.

use std::time::Duration;

use idos_state::proof::{ProvenEntry, verify_read};
use idos_state::read::ReadContext;
use node::chain::Validator;
use node::run::{NodeConfig, start_embedded};
use node::store::{Read, Table};
use node::testkit::{credential_input, public_notes};
use protocol::action::{
    AddDelegate, AddInserter, AddUserAsInserter, PasswordStore, UpsertCredentialAsInserter,
};
use protocol::identity::{Ed25519SigningKey, Identity, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use protocol::query::{Query, SignedQuery};
use protocol::records::{QueryAnswer, QueryOutput};
use protocol::tx::SignedTransaction;
use tempfile::TempDir;
use tendermint::Hash;
use tendermint::block::signed_header::SignedHeader;
use tendermint_light_client_verifier::options::Options;
use tendermint_light_client_verifier::types::LightBlock;
use tendermint_light_client_verifier::{ProdVerifier, Verdict, Verifier};
use tendermint_rpc::client::CompatMode;
use tendermint_rpc::{Client, HttpClient};
use uuid::Uuid;

const CHAIN: &str = "idos-rpc-test";

struct Node {
    _dir: TempDir,
    client: HttpClient,
    owner: SigningKey,
    gateway: Ed25519SigningKey,
    node: node::run::EmbeddedNode,
}

async fn start() -> Node {
    start_with(NodeConfig::default()).await
}

async fn start_with(config: NodeConfig) -> Node {
    let dir = TempDir::new().unwrap();
    let owner = SigningKey::generate_ed25519();
    let gateway = Ed25519SigningKey::generate();
    let config = NodeConfig {
        chain_id: Some(CHAIN.into()),
        owner: Some(owner.identity()),
        trusted_gateways: vec![gateway.public_key()],
        sync_writes: Some(false),
        ..config
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (node, _server) = start_embedded(dir.path(), &config, listener).await.unwrap();
    let url = format!("http://{}", node.rpc_addr);
    let client = HttpClient::builder(url.parse().unwrap())
        .compat_mode(CompatMode::V0_38)
        .build()
        .unwrap();
    Node {
        _dir: dir,
        client,
        owner,
        gateway,
        node,
    }
}

fn signed(
    key: &SigningKey,
    nonce: u64,
    action: impl Into<protocol::action::Action>,
) -> SignedTransaction {
    node::testkit::signed_tx(CHAIN, key, nonce, action)
}

async fn read(node: &Node, caller: Identity, query: Query) -> (u32, String, Option<QueryAnswer>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let q = SignedQuery::attested(CHAIN, query, caller, &node.gateway, now);
    let r = node
        .client
        .abci_query(Some("/idos".into()), q.encode(), None, false)
        .await
        .unwrap();
    let answer = if r.code.is_ok() {
        Some(borsh::from_slice::<QueryAnswer>(&r.value).unwrap())
    } else {
        None
    };
    (r.code.value(), r.info, answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tendermint_rpc_client_broadcasts_commits_queries_and_finds_transactions() {
    let node = start().await;
    node.client.health().await.unwrap();
    let status = node.client.status().await.unwrap();
    assert_eq!(status.node_info.network.as_str(), CHAIN);
    // A new chain has committed its first (empty) block, as CometBFT does, so the answer names
    // a block hash and an app hash.
    assert_eq!(status.sync_info.latest_block_height.value(), 1);
    assert!(!status.sync_info.latest_block_hash.is_empty());
    assert_eq!(status.sync_info.latest_app_hash.as_bytes().len(), 32);
    let first = node.client.latest_block().await.unwrap();
    assert_eq!(first.block.header.height.value(), 1);

    // broadcast_tx_commit returns after the block.
    let inserter = Uuid::new_v4();
    let tx = signed(
        &node.owner,
        1,
        AddInserter {
            id: inserter,
            name: "Acme".into(),
        },
    );
    let committed = node.client.broadcast_tx_commit(tx.encode()).await.unwrap();
    assert!(committed.check_tx.code.is_ok(), "{:?}", committed.check_tx);
    assert!(
        committed.tx_result.code.is_ok(),
        "{:?}",
        committed.tx_result
    );
    assert!(committed.height.value() >= 1);
    assert_eq!(committed.hash.as_bytes(), tx.hash().as_bytes());
    assert!(committed.tx_result.events.iter().any(|e| e.kind == "idos"));

    // broadcast_tx_sync returns after CheckTx; the tx is found by hash once committed.
    let issuer = Ed25519SigningKey::generate();
    let tx = signed(
        &node.owner,
        2,
        AddDelegate {
            address: Identity::Ed25519(issuer.public_key()),
            inserter_id: inserter,
        },
    );
    let sync = node.client.broadcast_tx_sync(tx.encode()).await.unwrap();
    assert!(sync.code.is_ok(), "{}", sync.log);
    let hash = Hash::Sha256(*tx.hash().as_bytes());
    let found = wait_for_tx(&node.client, hash).await;
    assert_eq!(found.tx, tx.encode());
    assert!(found.tx_result.code.is_ok());

    // The block holds it, and its header names the chain.
    let block = node.client.block(found.height).await.unwrap();
    assert_eq!(block.block.header.chain_id.as_str(), CHAIN);
    assert!(block.block.data.contains(&tx.encode()));
    let latest = node.client.latest_block().await.unwrap();
    assert!(latest.block.header.height >= found.height);

    // Reads carry the height and app hash, and match abci_info.
    let issuer_key = SigningKey::Ed25519(issuer.clone());
    let user = Uuid::new_v4();
    let secret = EncryptionSecretKey::generate();
    let tx = signed(
        &issuer_key,
        1,
        AddUserAsInserter {
            id: user,
            recipient_encryption_public_key: secret.public_key(),
            encryption_password_store: PasswordStore::User,
        },
    );
    assert!(
        node.client
            .broadcast_tx_commit(tx.encode())
            .await
            .unwrap()
            .tx_result
            .code
            .is_ok()
    );
    let (code, _info, answer) = read(
        &node,
        issuer_key.identity(),
        Query::GetUserAsInserter { id: user },
    )
    .await;
    assert_eq!(code, 0, "{}", _info);
    let answer = answer.unwrap();
    assert!(matches!(answer.output, QueryOutput::User(ref u) if u.id == user));
    let info = node.client.abci_info().await.unwrap();
    assert_eq!(answer.height, info.last_block_height.value());
    assert_eq!(
        answer.app_hash.as_bytes().as_slice(),
        info.last_block_app_hash.as_bytes()
    );

    // A credential, then a read by an unknown caller: typed errors come back in the response.
    let credential = credential_input(
        &issuer,
        &public_notes("urn:vc:rpc", "active"),
        b"{}",
        &secret.public_key(),
    );
    let tx = signed(
        &issuer_key,
        2,
        UpsertCredentialAsInserter {
            id: Uuid::new_v4(),
            user_id: user,
            credential,
        },
    );
    assert!(
        node.client
            .broadcast_tx_commit(tx.encode())
            .await
            .unwrap()
            .tx_result
            .code
            .is_ok()
    );
    let (code, info, _) = read(&node, SigningKey::generate_evm().identity(), Query::GetUser).await;
    assert_eq!((code, info.as_str()), (5, "no_profile"));

    node.node.chain.stop();
}

/// A table's entries, in key order.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Every state table but the signers' nonces, entry by entry.
fn state_but_nonces(node: &Node) -> Vec<(Table, Entries)> {
    let store = node.node.chain.app().store();
    Table::ALL
        .iter()
        .filter(|t| t.is_state() && **t != Table::Nonces)
        .map(|t| (*t, store.scan(*t, &[], usize::MAX).unwrap()))
        .collect()
}

/// How many times `tx` appears in the chain's blocks.
async fn times_in_blocks(node: &Node, tx: &[u8]) -> usize {
    let latest = node
        .client
        .latest_block()
        .await
        .unwrap()
        .block
        .header
        .height;
    let mut times = 0;
    for height in 1..=latest.value() {
        let block = node.client.block(height as u32).await.unwrap().block;
        times += block.data.iter().filter(|t| t.as_slice() == tx).count();
    }
    times
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_transactions_come_back_with_their_code_and_are_never_committed() {
    let node = start().await;
    let tx = signed(
        &node.owner,
        1,
        AddInserter {
            id: Uuid::new_v4(),
            name: "A".into(),
        },
    );
    let first = node.client.broadcast_tx_commit(tx.encode()).await.unwrap();
    assert!(first.tx_result.code.is_ok());
    let state_before = state_but_nonces(&node);
    // Replay: nonce 1 twice, refused at CheckTx.
    let replay = node.client.broadcast_tx_sync(tx.encode()).await.unwrap();
    assert_eq!(replay.code.value(), 3);
    assert!(replay.log.starts_with("bad_nonce"), "{}", replay.log);
    let commit = node.client.broadcast_tx_commit(tx.encode()).await.unwrap();
    assert_eq!(commit.check_tx.info, "bad_nonce");
    // Garbage.
    let garbage = b"\x01not a transaction".to_vec();
    let refused = node
        .client
        .broadcast_tx_sync(garbage.clone())
        .await
        .unwrap();
    assert!(refused.log.starts_with("malformed"), "{}", refused.log);
    // A signer without a role (here: not the owner) is refused at CheckTx, with its code,
    // and leaves no trace.
    let stranger = SigningKey::generate_ed25519();
    let foreign = signed(
        &stranger,
        1,
        AddInserter {
            id: Uuid::new_v4(),
            name: "B".into(),
        },
    );
    let result = node
        .client
        .broadcast_tx_commit(foreign.encode())
        .await
        .unwrap();
    assert_eq!(result.check_tx.info, "unauthorized");
    assert_eq!(result.check_tx.codespace, "idos");
    // An action refused in the block comes back with its code there (a second inserter
    // with the same name).
    let duplicate = signed(
        &node.owner,
        2,
        AddInserter {
            id: Uuid::new_v4(),
            name: "A".into(),
        },
    );
    let result = node
        .client
        .broadcast_tx_commit(duplicate.encode())
        .await
        .unwrap();
    assert!(result.check_tx.code.is_ok());
    assert_eq!(result.tx_result.info, "already_exists");
    assert_eq!(result.tx_result.codespace, "idos");

    // Never committed: the replay, the garbage and the role-less transaction are in no block
    // and not in the index; the action refused in the block is in its block with its code
    // and changed no state (only its signer's nonce moved, so that it cannot be replayed).
    assert_eq!(times_in_blocks(&node, &tx.encode()).await, 1);
    assert_eq!(times_in_blocks(&node, &garbage).await, 0);
    assert_eq!(times_in_blocks(&node, &foreign.encode()).await, 0);
    assert_eq!(times_in_blocks(&node, &duplicate.encode()).await, 1);
    let indexed = node
        .client
        .tx(Hash::Sha256(*tx.hash().as_bytes()), false)
        .await
        .unwrap();
    assert_eq!(indexed.height, first.height);
    for absent in [protocol::tx::tx_hash(&garbage), foreign.hash()] {
        assert!(
            node.client
                .tx(Hash::Sha256(*absent.as_bytes()), false)
                .await
                .is_err()
        );
    }
    assert!(
        !node
            .client
            .tx(Hash::Sha256(*duplicate.hash().as_bytes()), false)
            .await
            .unwrap()
            .tx_result
            .code
            .is_ok()
    );
    assert_eq!(state_but_nonces(&node), state_before);
    let app = node.node.chain.app();
    assert_eq!(
        node::state::next_nonce(&**app.store(), &node.owner.identity()).unwrap(),
        3
    );
    assert_eq!(
        node::state::next_nonce(&**app.store(), &stranger.identity()).unwrap(),
        1
    );

    // Unknown transaction hash.
    let missing = node.client.tx(Hash::Sha256([7; 32]), false).await;
    assert!(missing.is_err());
    // A non-idOS query path.
    let r = node
        .client
        .abci_query(Some("/store".into()), vec![], None, false)
        .await
        .unwrap();
    assert_eq!(r.info, "unknown_path");
    node.node.chain.stop();
}

async fn wait_for_tx(client: &HttpClient, hash: Hash) -> tendermint_rpc::endpoint::tx::Response {
    for _ in 0..200 {
        if let Ok(found) = client.tx(hash, false).await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("transaction {hash} was not committed within 4 s");
}

/// POSTs `body` to the RPC and returns the HTTP status line and body.
async fn post_raw(addr: std::net::SocketAddr, body: &[u8]) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.lines().next().unwrap_or_default().to_owned();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_json_rpc_requests_get_json_rpc_errors_and_the_node_stays_up() {
    let node = start().await;
    let addr = node.node.rpc_addr;
    let cases: &[(&[u8], i64)] = &[
        (b"not json", -32700),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"no_such_method\"}", -32601),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"broadcast_tx_sync\",\"params\":{\"tx\":\"%%%not base64\"}}", -32602),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"broadcast_tx_sync\",\"params\":[1,2,3]}", -32602),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"abci_query\",\"params\":{\"data\":\"zz\"}}", -32602),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"block\",\"params\":{\"height\":\"-5\"}}", -32602),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"block\",\"params\":{\"height\":\"999999\"}}", -32603),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tx\",\"params\":{\"hash\":\"AA==\"}}", -32602),
    ];
    for (body, code) in cases {
        let (status, reply) = post_raw(addr, body).await;
        assert!(status.contains("200"), "{status}");
        let reply: serde_json::Value =
            serde_json::from_str(&reply).unwrap_or_else(|e| panic!("{e}: {reply}"));
        assert_eq!(
            reply["error"]["code"],
            *code,
            "{} -> {reply}",
            String::from_utf8_lossy(body)
        );
    }
    // A garbage transaction that is valid base64 is refused by CheckTx with its code.
    let (_, reply) = post_raw(addr, b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"broadcast_tx_sync\",\"params\":{\"tx\":\"AQID\"}}").await;
    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["id"], 7);
    assert!(
        reply["result"]["log"]
            .as_str()
            .unwrap()
            .starts_with("malformed"),
        "{reply}"
    );
    // Oversized bodies are cut off before parsing.
    let (status, _) = post_raw(addr, &vec![b'x'; 5 * 1024 * 1024]).await;
    assert!(status.contains("413"), "{status}");
    node.client.health().await.unwrap();
    node.node.chain.stop();
}

/// GETs `path_and_query` and returns the HTTP status line and the JSON body.
async fn get_raw(addr: std::net::SocketAddr, path_and_query: &str) -> (String, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head =
        format!("GET {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.lines().next().unwrap_or_default().to_owned();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, json)
}

/// CometBFT's URI forms: `GET /block?height=5`, `tx?hash=0x…`, `abci_query?path="/idos"&
/// data=0x…`, `broadcast_tx_sync?tx=0x…`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_takes_cometbft_uri_parameters() {
    let node = start().await;
    let addr = node.node.rpc_addr;
    let tx = signed(
        &node.owner,
        1,
        AddInserter {
            id: Uuid::new_v4(),
            name: "Acme".into(),
        },
    );
    let (_, sent) = get_raw(
        addr,
        &format!("/broadcast_tx_sync?tx=0x{}", hex::encode(tx.encode())),
    )
    .await;
    assert_eq!(sent["result"]["code"], 0, "{sent}");
    let hash = Hash::Sha256(*tx.hash().as_bytes());
    let found = wait_for_tx(&node.client, hash).await;
    let height = found.height.value();
    assert!(height >= 2);
    for query in [
        format!("/block?height={}", height - 1),
        format!("/block?height=%22{}%22", height - 1),
    ] {
        let (_, block) = get_raw(addr, &query).await;
        assert_eq!(
            block["result"]["block"]["header"]["height"],
            (height - 1).to_string(),
            "{query}: {block}"
        );
    }
    let (_, by_hash) = get_raw(
        addr,
        &format!(
            "/tx?hash=0x{}&prove=false",
            hex::encode(tx.hash().as_bytes())
        ),
    )
    .await;
    assert_eq!(by_hash["result"]["height"], height.to_string(), "{by_hash}");
    let query = SignedQuery::anonymous(
        CHAIN,
        Query::NextNonce {
            account: node.owner.identity(),
        },
    );
    let (_, answer) = get_raw(
        addr,
        &format!(
            "/abci_query?path=%22/idos%22&data=0x{}&height=0&prove=false",
            hex::encode(query.encode())
        ),
    )
    .await;
    assert_eq!(answer["result"]["response"]["code"], 0, "{answer}");
    let value = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        answer["result"]["response"]["value"].as_str().unwrap(),
    )
    .unwrap();
    let answer: QueryAnswer = borsh::from_slice(&value).unwrap();
    assert_eq!(answer.output, QueryOutput::NextNonce(2));
    // Malformed parameters are JSON-RPC errors.
    for bad in [
        "/block?height=abc",
        "/tx?hash=0xzz",
        "/abci_query?data=plain",
    ] {
        let (_, reply) = get_raw(addr, bad).await;
        assert_eq!(reply["error"]["code"], -32602, "{bad}: {reply}");
    }
    node.node.chain.stop();
}

/// `status.latest_app_hash` is what CometBFT means by it: the app hash in the latest block's
/// header (the result of the block before), which after the proof block that follows a change
/// is also the latest result ABCI Info names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_the_app_hash_of_the_latest_header() {
    let node = start().await;
    let height = commit_an_inserter(&node).await;
    // The block after the transaction's carries its app hash: the app's latest.
    wait_for_height(&node, height + 1).await;
    let status = node.client.status().await.unwrap();
    let latest = node.client.latest_block().await.unwrap();
    assert_eq!(
        status.sync_info.latest_block_height,
        latest.block.header.height
    );
    assert_eq!(
        status.sync_info.latest_app_hash,
        latest.block.header.app_hash
    );
    assert_eq!(status.sync_info.latest_block_hash, latest.block_id.hash);
    let info = node.client.abci_info().await.unwrap();
    assert_eq!(info.last_block_app_hash, status.sync_info.latest_app_hash);
    let transaction_block = node.client.block(height as u32).await.unwrap();
    assert_ne!(
        transaction_block.block.header.app_hash,
        status.sync_info.latest_app_hash
    );
    let earliest = node.client.block(1u32).await.unwrap();
    assert_eq!(
        status.sync_info.earliest_app_hash,
        earliest.block.header.app_hash
    );
    node.node.chain.stop();
}

/// As CometBFT's: `broadcast_tx_async` answers before CheckTx runs (a transaction CheckTx will
/// refuse still gets code 0), and its transaction is checked and committed afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_tx_async_answers_before_check_tx() {
    let node = start().await;
    let mut forged = signed(
        &node.owner,
        1,
        AddInserter {
            id: Uuid::new_v4(),
            name: "Forged".into(),
        },
    );
    forged.signature.0[10] ^= 1;
    let answer = node
        .client
        .broadcast_tx_async(forged.encode())
        .await
        .unwrap();
    assert!(answer.code.is_ok(), "{answer:?}");
    let tx = signed(
        &node.owner,
        1,
        AddInserter {
            id: Uuid::new_v4(),
            name: "Acme".into(),
        },
    );
    let answer = node.client.broadcast_tx_async(tx.encode()).await.unwrap();
    assert!(answer.code.is_ok());
    assert_eq!(answer.hash.as_bytes(), tx.hash().as_bytes());
    let found = wait_for_tx(&node.client, answer.hash).await;
    assert!(found.tx_result.code.is_ok());
    assert!(
        node.client
            .tx(Hash::Sha256(*forged.hash().as_bytes()), false)
            .await
            .is_err()
    );
    node.node.chain.stop();
}

/// A full mempool is a JSON-RPC error the client retries, as CometBFT answers it, not a
/// refusal of the transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mempool_is_a_json_rpc_error_not_a_refusal() {
    let node = start_with(NodeConfig {
        max_mempool_txs: Some(1),
        block_linger_ms: Some(60_000),
        ..NodeConfig::default()
    })
    .await;
    let tx = |nonce| {
        signed(
            &node.owner,
            nonce,
            AddInserter {
                id: Uuid::new_v4(),
                name: format!("n{nonce}"),
            },
        )
        .encode()
    };
    let first = node.client.broadcast_tx_sync(tx(1)).await.unwrap();
    assert!(first.code.is_ok());
    let full = node.client.broadcast_tx_sync(tx(2)).await.unwrap_err();
    assert!(full.to_string().contains("mempool is full"), "{full}");
    let full = node.client.broadcast_tx_async(tx(2)).await.unwrap_err();
    assert!(full.to_string().contains("mempool is full"), "{full}");
    node.node.chain.stop();
}

/// At most `rpc_max_concurrent` requests are served at once (the rest get HTTP 503 and a
/// JSON-RPC error to retry), and a request that outlives `rpc_timeout_ms` gets a JSON-RPC
/// error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_bounded_in_number_and_time() {
    let node = start_with(NodeConfig {
        rpc_max_concurrent: Some(1),
        block_linger_ms: Some(60_000),
        rpc_commit_timeout_ms: Some(60_000),
        ..NodeConfig::default()
    })
    .await;
    let tx = signed(
        &node.owner,
        1,
        AddInserter {
            id: Uuid::new_v4(),
            name: "Acme".into(),
        },
    );
    // This one waits for a block that lingers for a minute, holding the only permit.
    let client = node.client.clone();
    let waiting = tokio::spawn(async move { client.broadcast_tx_commit(tx.encode()).await });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while node.node.chain.mempool_size().0 == 0 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, reply) = get_raw(node.node.rpc_addr, "/health").await;
    assert!(status.contains("503"), "{status}");
    assert!(
        reply["error"]["data"]
            .as_str()
            .unwrap()
            .contains("too many"),
        "{reply}"
    );
    waiting.abort();
    node.node.chain.stop();

    // This one would wait a minute for its block; a request may take 300 ms.
    let node = start_with(NodeConfig {
        rpc_timeout_ms: Some(300),
        rpc_commit_timeout_ms: Some(60_000),
        block_linger_ms: Some(60_000),
        ..NodeConfig::default()
    })
    .await;
    let tx = signed(
        &node.owner,
        1,
        AddInserter {
            id: Uuid::new_v4(),
            name: "Acme".into(),
        },
    );
    let late = node
        .client
        .broadcast_tx_commit(tx.encode())
        .await
        .unwrap_err();
    assert!(late.to_string().contains("timed out"), "{late}");
    node.node.chain.stop();
}

/// Commits the owner's first transaction (an inserter); answers its block's height.
async fn commit_an_inserter(node: &Node) -> u64 {
    let tx = signed(
        &node.owner,
        1,
        AddInserter {
            id: Uuid::new_v4(),
            name: "Acme".into(),
        },
    );
    node.client
        .broadcast_tx_commit(tx.encode())
        .await
        .unwrap()
        .height
        .value()
}

/// The light block at `height` as a light client assembles it from `/commit` and
/// `/validators` (one validator set at every height).
async fn light_block(node: &Node, height: u64) -> LightBlock {
    let commit = node.client.commit(height as u32).await.unwrap();
    let validators = node
        .client
        .validators(height as u32, tendermint_rpc::Paging::All)
        .await
        .unwrap();
    let set = tendermint::validator::Set::without_proposer(validators.validators);
    LightBlock::new(
        commit.signed_header,
        set.clone(),
        set,
        tendermint::node::Id::new([0; 20]),
    )
}

fn light_client_options() -> Options {
    Options {
        trust_threshold: Default::default(),
        trusting_period: Duration::from_secs(14 * 24 * 3600),
        clock_drift: Duration::from_secs(5),
    }
}

fn verify(untrusted: &LightBlock, trusted: &LightBlock) -> Verdict {
    ProdVerifier::default().verify_update_header(
        untrusted.as_untrusted_state(),
        trusted.as_trusted_state(),
        &light_client_options(),
        tendermint::Time::now(),
    )
}

async fn wait_for_height(node: &Node, height: u64) {
    for _ in 0..500 {
        if node.node.chain.app().committed().height >= height {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("height {height} never came");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_headers_pass_the_light_client_verifier_and_prove_each_blocks_app_hash() {
    let node = start().await;
    let mut changed = Vec::new();
    for nonce in 1..=2 {
        let tx = signed(
            &node.owner,
            nonce,
            AddInserter {
                id: Uuid::new_v4(),
                name: format!("Acme {nonce}"),
            },
        );
        let committed = node.client.broadcast_tx_commit(tx.encode()).await.unwrap();
        assert!(committed.tx_result.code.is_ok());
        let height = committed.height.value();
        // As CometBFT: a block that changed the state is followed by one that carries its
        // app hash, without any transaction to make it.
        wait_for_height(&node, height + 1).await;
        let after = node
            .node
            .chain
            .block(height)
            .unwrap()
            .unwrap()
            .app_hash_after;
        let next = light_block(&node, height + 1).await;
        assert_eq!(next.signed_header.header.app_hash.as_bytes(), after);
        changed.push(height);
    }
    let latest = node.node.chain.app().committed().height;
    assert!(latest > changed[1]);

    // Every header verifies from the first block (skipping) and from its parent (adjacent);
    // heights and times strictly increase.
    let first = light_block(&node, 1).await;
    let mut parent = first.clone();
    for height in 2..=latest {
        let block = light_block(&node, height).await;
        assert_eq!(
            verify(&block, &first),
            Verdict::Success,
            "from 1 to {height}"
        );
        assert_eq!(
            verify(&block, &parent),
            Verdict::Success,
            "adjacent {height}"
        );
        assert!(block.signed_header.header.time > parent.signed_header.header.time);
        assert_eq!(
            block.signed_header.header.last_block_id.map(|id| id.hash),
            Some(parent.signed_header.header.hash())
        );
        parent = block;
    }
    // A block carries its parent's commit, as CometBFT's do.
    let block = node.client.block(latest as u32).await.unwrap();
    let last_commit = block.block.last_commit.expect("the parent's commit");
    assert_eq!(
        last_commit.block_id.hash,
        light_block(&node, latest - 1)
            .await
            .signed_header
            .header
            .hash()
    );
    node.node.chain.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_signed_by_another_key_a_swapped_validator_set_or_an_altered_header_is_refused() {
    let node = start().await;
    let height = commit_an_inserter(&node).await;
    wait_for_height(&node, height + 1).await;
    let trusted = light_block(&node, 1).await;
    let honest = light_block(&node, height + 1).await;
    assert_eq!(verify(&honest, &trusted), Verdict::Success);

    // Another key signs the same header, and the relay hands over that key's validator set.
    let impostor = Validator::from_key(Ed25519SigningKey::generate()).unwrap();
    let mut forged = honest.clone();
    forged.signed_header = SignedHeader::new(
        honest.signed_header.header.clone(),
        impostor.commit(&honest.signed_header.header),
    )
    .unwrap();
    assert_ne!(
        verify(&forged, &trusted),
        Verdict::Success,
        "signed by another key"
    );
    forged.validators = impostor.set();
    forged.next_validators = impostor.set();
    assert_ne!(
        verify(&forged, &trusted),
        Verdict::Success,
        "another key's set"
    );
    // The impostor's header names its own set, and signs it.
    let mut header = honest.signed_header.header.clone();
    header.validators_hash = impostor.validators_hash;
    header.next_validators_hash = impostor.validators_hash;
    forged.signed_header = SignedHeader::new(header.clone(), impostor.commit(&header)).unwrap();
    assert_ne!(
        verify(&forged, &trusted),
        Verdict::Success,
        "a swapped validator set"
    );

    // The honest commit over an altered app hash.
    let mut altered = honest.clone();
    let mut header = honest.signed_header.header.clone();
    header.app_hash = tendermint::AppHash::try_from(vec![7u8; 32]).unwrap();
    altered.signed_header = SignedHeader::new(header, honest.signed_header.commit.clone()).unwrap();
    assert_ne!(
        verify(&altered, &trusted),
        Verdict::Success,
        "altered app hash"
    );
    node.node.chain.stop();
}

/// Part of what a client does with an untrusted relay: a read with `prove = true` comes back
/// with its entries in `proof_ops`, and they prove the answer against the app hash of a header
/// the validator signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proven_read_verifies_against_the_app_hash_of_a_signed_header() {
    let node = start().await;
    let height = commit_an_inserter(&node).await;
    wait_for_height(&node, height + 1).await;
    let caller = SigningKey::generate_ed25519();
    let query = Query::NextNonce {
        account: node.owner.identity(),
    };
    let signed_query = SignedQuery::signed(CHAIN, query.clone(), &caller, now());
    let response = node
        .client
        .abci_query(Some("/idos".into()), signed_query.encode(), None, true)
        .await
        .unwrap();
    assert!(response.code.is_ok(), "{}", response.log);
    let answer: QueryAnswer = borsh::from_slice(&response.value).unwrap();
    let ops = response.proof.expect("proof ops").ops;
    assert!(!ops.is_empty());
    let entries: Vec<ProvenEntry> = ops
        .iter()
        .map(|op| ProvenEntry::from_op_parts(&op.field_type, &op.key, &op.data).unwrap())
        .collect();
    // A header carries the app hash of the block before it: the read's block (a proof block
    // here, which changed nothing) carries the same app hash its state has.
    assert!(answer.height > height);
    let trusted = light_block(&node, 1).await;
    let signed = light_block(&node, answer.height).await;
    assert_eq!(verify(&signed, &trusted), Verdict::Success);
    let root: [u8; 32] = signed
        .signed_header
        .header
        .app_hash
        .as_bytes()
        .try_into()
        .unwrap();
    assert_eq!(&root, answer.app_hash.as_bytes());
    let ctx = ReadContext {
        chain_id: CHAIN,
        block_time: signed.signed_header.header.time.unix_timestamp(),
    };
    let verified = verify_read(root, &entries, &ctx, Some(&caller.identity()), &query).unwrap();
    assert_eq!(verified.unwrap(), QueryOutput::NextNonce(2));
    // The same entries against another header's app hash (before the transaction) fail.
    let before = light_block(&node, height).await;
    let old_root: [u8; 32] = before
        .signed_header
        .header
        .app_hash
        .as_bytes()
        .try_into()
        .unwrap();
    assert!(verify_read(old_root, &entries, &ctx, Some(&caller.identity()), &query).is_err());
    node.node.chain.stop();
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An idle chain makes an empty block every heartbeat, so its latest signed header is never
/// older than that; without a heartbeat it makes none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_chain_beats_its_heartbeat_and_only_then() {
    let beating = start_with(NodeConfig {
        heartbeat_ms: Some(100),
        ..NodeConfig::default()
    })
    .await;
    let still = start_with(NodeConfig {
        heartbeat_ms: Some(0),
        ..NodeConfig::default()
    })
    .await;
    let start = (
        beating.node.chain.app().committed().height,
        still.node.chain.app().committed().height,
    );
    wait_for_height(&beating, start.0 + 3).await;
    assert_eq!(still.node.chain.app().committed().height, start.1);
    // Empty blocks change nothing: the app hash stays, the header times move on.
    let a = light_block(&beating, start.0 + 1)
        .await
        .signed_header
        .header;
    let b = light_block(&beating, start.0 + 3)
        .await
        .signed_header
        .header;
    assert_eq!(a.app_hash, b.app_hash);
    assert!(b.time > a.time);
    beating.node.chain.stop();
    still.node.chain.stop();
}
