//! Process-crash safety of the embedded node: `kill -9` it while clients are writing, restart
//! it on the same data, and check that every transaction acknowledged as committed is there,
//! that the stored state is exactly what replaying the stored blocks from genesis produces
//! (nothing half-applied), and that height and app hash match that replay.
//!
//! A killed process leaves the operating system's page cache behind, so this shows safety
//! against a process crash only: it passes even with `sync_writes = false`. That committed
//! blocks are fsynced (what survives a power loss or a kernel crash) is checked by
//! `node/tests/durability.rs`.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use node::app::{App, AppConfig, Genesis};
use node::store::{Read, Store, Table};
use protocol::action::{AddDelegate, AddInserter, AddUserAsInserter, PasswordStore};
use protocol::identity::{Ed25519SigningKey, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use protocol::tx::SignedTransaction;
use tempfile::TempDir;
use tendermint::Hash;
use tendermint_rpc::client::CompatMode;
use tendermint_rpc::{Client, HttpClient};
use uuid::Uuid;

const CHAIN: &str = "idos-crash-test";
const WRITERS: usize = 4;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_node(data: &Path, config: &Path, port: u16) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("idos"))
        .args(["node", "--data-dir"])
        .arg(data)
        .args(["--rpc-addr", &format!("127.0.0.1:{port}"), "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("idos binary runs")
}

async fn wait_healthy(client: &HttpClient) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.health().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the node did not come up within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sign(
    key: &SigningKey,
    nonce: u64,
    action: impl Into<protocol::action::Action>,
) -> SignedTransaction {
    node::testkit::signed_tx(CHAIN, key, nonce, action)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_crash_loses_no_acknowledged_transaction_and_half_applies_no_block() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("node");
    let owner = SigningKey::generate_ed25519();
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "chain_id = \"{CHAIN}\"\nowner = \"{}\"\nsync_writes = true\n",
            owner.identity().identifier()
        ),
    )
    .unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let client = HttpClient::builder(url.parse().unwrap())
        .compat_mode(CompatMode::V0_38)
        .build()
        .unwrap();
    let mut child = start_node(&data, &config, port);
    wait_healthy(&client).await;

    // One inserter with a delegate per writer.
    let inserter = Uuid::new_v4();
    let r = client
        .broadcast_tx_commit(
            sign(
                &owner,
                1,
                AddInserter {
                    id: inserter,
                    name: "Acme".into(),
                },
            )
            .encode(),
        )
        .await
        .unwrap();
    assert!(r.tx_result.code.is_ok(), "{:?}", r.tx_result);
    let writers: Vec<SigningKey> = (0..WRITERS)
        .map(|_| SigningKey::Ed25519(Ed25519SigningKey::generate()))
        .collect();
    for (i, w) in writers.iter().enumerate() {
        let add = AddDelegate {
            address: w.identity(),
            inserter_id: inserter,
        };
        let r = client
            .broadcast_tx_commit(sign(&owner, 2 + i as u64, add).encode())
            .await
            .unwrap();
        assert!(r.tx_result.code.is_ok(), "{:?}", r.tx_result);
    }

    // Writers add profiles as fast as commits come back; the acknowledged ones are recorded.
    let acknowledged: Arc<Mutex<Vec<(SignedTransaction, Uuid)>>> = Arc::default();
    let mut tasks = Vec::new();
    for writer in writers.clone() {
        let client = client.clone();
        let acknowledged = acknowledged.clone();
        tasks.push(tokio::spawn(async move {
            for nonce in 1.. {
                let user = Uuid::new_v4();
                let action = AddUserAsInserter {
                    id: user,
                    recipient_encryption_public_key: EncryptionSecretKey::generate().public_key(),
                    encryption_password_store: PasswordStore::User,
                };
                let tx = sign(&writer, nonce, action);
                match client.broadcast_tx_commit(tx.encode()).await {
                    Ok(r) if r.check_tx.code.is_ok() && r.tx_result.code.is_ok() => {
                        acknowledged.lock().unwrap().push((tx, user))
                    }
                    _ => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().expect("SIGKILL"); // kill -9: no shutdown path runs
    child.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 20,
        "only {} transactions were committed before the kill",
        acknowledged.len()
    );

    // Restart on the same data.
    let mut child = start_node(&data, &config, port);
    wait_healthy(&client).await;
    for (tx, _) in &acknowledged {
        let found = client
            .tx(Hash::Sha256(*tx.hash().as_bytes()), false)
            .await
            .expect("acknowledged transaction is stored");
        assert!(found.tx_result.code.is_ok());
        assert_eq!(found.tx, tx.encode());
    }
    let info = client.abci_info().await.unwrap();
    let height = info.last_block_height.value();

    // Replay every stored block from genesis into a fresh application.
    let replay_dir = TempDir::new().unwrap();
    let replay = App::open(
        Store::open(replay_dir.path(), false).unwrap(),
        AppConfig::default(),
    )
    .unwrap();
    replay
        .init_chain(Genesis {
            chain_id: CHAIN.into(),
            owner: owner.identity(),
        })
        .unwrap();
    for h in 1..=height {
        let block = client
            .block(tendermint::block::Height::try_from(h).unwrap())
            .await
            .unwrap()
            .block;
        replay
            .finalize_block(h, block.header.time.unix_timestamp(), &block.data)
            .unwrap();
        replay.commit(Default::default()).unwrap();
    }
    assert_eq!(replay.committed().height, height);
    assert_eq!(
        replay.committed().app_hash,
        info.last_block_app_hash.as_bytes()
    );

    // And the stored state is exactly the replayed state, table by table.
    child.kill().unwrap();
    child.wait().unwrap();
    let crashed = Store::open(&data.join("db"), false).unwrap();
    for table in Table::ALL.iter().filter(|t| t.is_state()) {
        assert_eq!(
            crashed.scan(*table, &[], usize::MAX).unwrap(),
            replay.store().scan(*table, &[], usize::MAX).unwrap(),
            "table {}",
            table.name()
        );
    }
    // Every acknowledged profile is there.
    for (_, user) in &acknowledged {
        assert!(
            crashed
                .get(Table::Users, user.as_bytes())
                .unwrap()
                .is_some(),
            "user {user} lost"
        );
    }
}
