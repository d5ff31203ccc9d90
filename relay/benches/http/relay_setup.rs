//! The relay as `idos serve` builds its app origin (the API and sign-in over the relay store,
//! inside every `relay::ops` layer, logging at `info`), over a bundled node reached through its
//! JSON-RPC on loopback (fsync per block), and the state the API scenarios need: users with an
//! EVM wallet and one issued credential each, set up by transactions.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use node::chain::Chain;
use node::run::{NodeConfig, start_embedded};
use node::testkit::{onboarding_actions, plaintext, share_action};
use protocol::action::{Action, AddDelegate, AddInserter};
use protocol::identity::{Ed25519SigningKey, Identity, SignatureScheme, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use relay::access_log::AccessLog;
use relay::api::ApiState;
use relay::auth::{Auth, AuthConfig, SessionKey};
use relay::node_client::NodeClient;
use relay::ops::{Ops, OpsConfig, RateLimit, RpcStatusProbe};
use relay::store::RelayStore;
use uuid::Uuid;

/// A user of the benchmark: an EVM wallet and the id of one original credential.
pub struct BenchUser {
    pub wallet: SigningKey,
    pub original: Uuid,
    vc: String,
}

/// A running relay over its bundled node.
pub struct Relay {
    /// The app origin's address (API, sign-in, ops routes).
    pub addr: SocketAddr,
    /// `http://<addr>`: the relay's public origin, which Ed25519 sign-in texts name.
    pub origin: String,
    pub chain_id: String,
    chain: Arc<Chain>,
    owner: SigningKey,
    owner_nonce: u64,
    issuer: Ed25519SigningKey,
    issuer_nonce: u64,
    inserter: Option<Uuid>,
    _dir: tempfile::TempDir,
}

impl Relay {
    /// Starts the node and the relay on `runtime` (which must outlive the process's use of
    /// them). Rate limits are set out of the load's reach; they still run.
    pub fn start(runtime: &tokio::runtime::Runtime) -> Relay {
        let dir = tempfile::TempDir::new().expect("temporary directory");
        let gateway = Ed25519SigningKey::generate();
        let node_config = NodeConfig {
            trusted_gateways: vec![gateway.public_key()],
            ..NodeConfig::default()
        };
        let (node_url, chain) = runtime.block_on(async {
            let rpc = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind node RPC");
            let (running, _rpc_server) =
                start_embedded(&dir.path().join("node"), &node_config, rpc)
                    .await
                    .expect("bundled node");
            (format!("http://{}", running.rpc_addr), running.chain)
        });
        let owner = read_owner_key(&dir.path().join("node/owner_key"));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind relay");
        let addr = listener.local_addr().expect("relay address");
        let origin = format!("http://{addr}");
        let router = runtime.block_on(async {
            let node = NodeClient::connect(&node_url, gateway, Duration::from_secs(10))
                .await
                .expect("node client");
            let store = RelayStore::open(dir.path()).expect("relay store");
            let mut auth_config = AuthConfig::new(origin.clone());
            auth_config.network = node.chain_id().to_owned();
            let auth = Auth::new(auth_config, SessionKey::generate(), store.clone())
                .expect("sign-in configuration");
            let api = relay::api::app(ApiState::new(
                node,
                Duration::from_secs(30),
                auth,
                AccessLog::new(store),
            ));
            let unlimited = RateLimit::new(1_000_000, 1_000_000);
            let ops_config = OpsConfig {
                rate_limit_per_ip: unlimited,
                rate_limit_per_identity: unlimited,
                ..OpsConfig::default()
            };
            let probe = RpcStatusProbe::new(&node_url, ops_config.readiness_timeout)
                .expect("readiness probe");
            let ops = Ops::new(ops_config, Arc::new(probe)).expect("ops configuration");
            ops.wrap(ops.limit_identities(api).merge(ops.router()))
        });
        runtime.spawn(relay::ops::serve(
            listener,
            router,
            std::future::pending(),
            Duration::from_secs(1),
        ));
        let chain_id = chain
            .app()
            .genesis()
            .expect("the bundled node has its genesis")
            .chain_id;
        Relay {
            addr,
            origin,
            chain_id,
            chain,
            owner,
            owner_nonce: 0,
            issuer: Ed25519SigningKey::generate(),
            issuer_nonce: 0,
            inserter: None,
            _dir: dir,
        }
    }

    /// The issuer (an inserter's delegate) that creates profiles and credentials.
    fn ensure_issuer(&mut self) {
        if self.inserter.is_some() {
            return;
        }
        let inserter = Uuid::new_v4();
        let txs = [
            Action::from(AddInserter {
                id: inserter,
                name: "Bench KYC".into(),
            }),
            Action::from(AddDelegate {
                address: Identity::Ed25519(self.issuer.public_key()),
                inserter_id: inserter,
            }),
        ]
        .into_iter()
        .map(|action| {
            self.owner_nonce += 1;
            self.sign(&self.owner, self.owner_nonce, action)
        })
        .collect();
        self.commit_all(txs);
        self.inserter = Some(inserter);
    }

    /// The canonical encoding of `action` signed by `key` with `nonce`, for this chain.
    pub fn sign(&self, key: &SigningKey, nonce: u64, action: impl Into<Action>) -> Vec<u8> {
        node::testkit::signed_tx(&self.chain_id, key, nonce, action).encode()
    }

    /// Submits `txs` straight to the node (set-up, not measured) and waits for the last one.
    pub fn commit_all(&self, txs: Vec<Vec<u8>>) {
        let Some(last) = txs.last().map(|tx| *protocol::tx::tx_hash(tx).as_bytes()) else {
            return;
        };
        for tx in txs {
            self.chain.submit(tx).expect("set-up transaction accepted");
        }
        while self.chain.locate(&last).expect("tx index").is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Whether the transaction with this hash is in a committed block.
    pub fn is_committed(&self, hash: &[u8; 32]) -> bool {
        self.chain.locate(hash).expect("tx index").is_some()
    }

    /// `n` users, each with a profile, an EVM wallet and one issued credential.
    pub fn add_users(&mut self, n: usize) -> Vec<BenchUser> {
        self.ensure_issuer();
        let issuer = SigningKey::Ed25519(self.issuer.clone());
        let mut users = Vec::with_capacity(n);
        let mut txs = Vec::with_capacity(3 * n);
        for i in 0..n {
            let wallet = SigningKey::generate_evm();
            let secret = EncryptionSecretKey::generate();
            let user_id = Uuid::new_v4();
            let original = Uuid::new_v4();
            let vc = format!("urn:vc:relay-bench:{i}:{user_id}");
            let actions = onboarding_actions(
                &self.issuer,
                &self.chain_id,
                user_id,
                &wallet,
                &secret,
                original,
                &vc,
            );
            for action in actions {
                self.issuer_nonce += 1;
                txs.push(self.sign(&issuer, self.issuer_nonce, action));
            }
            users.push(BenchUser {
                wallet,
                original,
                vc,
            });
        }
        self.commit_all(txs);
        users
    }

    /// `user`'s share of their credential with `grantee` (its next transaction: `nonce`),
    /// signed; and the copy's id.
    pub fn share(
        &self,
        user: &BenchUser,
        nonce: u64,
        grantee: &Identity,
        grantee_key: &EncryptionSecretKey,
    ) -> (Vec<u8>, Uuid) {
        let action = share_action(
            &Ed25519SigningKey::generate(),
            user.original,
            &plaintext(&user.vc),
            *grantee,
            &grantee_key.public_key(),
            0,
        );
        let copy = action.id;
        (self.sign(&user.wallet, nonce, action), copy)
    }
}

fn read_owner_key(path: &Path) -> SigningKey {
    let hex = std::fs::read_to_string(path).expect("the bundled node's development owner key");
    SigningKey::from_hex(SignatureScheme::Ed25519, hex.trim()).expect("owner key")
}
