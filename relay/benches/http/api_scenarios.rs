//! The scenarios through the relay's API: a grantee's authenticated reads of a shared
//! credential, and signed shares submitted until committed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body_util::Full;
use hyper::{Request, StatusCode};
use protocol::identity::SigningKey;
use protocol::nacl_box::EncryptionSecretKey;

use crate::relay_setup::Relay;
use crate::{MakeRequest, Run, measure, server_runtime};

/// What the API scenarios share: the relay, the read request, and each run's pre-signed
/// shares.
pub struct ApiScenarios {
    pub relay: Relay,
    /// `GET /api/v1/shared/{copy}` with the grantee's bearer token.
    pub shared_read: MakeRequest,
    /// Per run, the signed shares (one per wallet) and their hashes.
    shares: Vec<Vec<(Vec<u8>, [u8; 32])>>,
    // The runtime the node and the relay run on; dropped last.
    _runtime: tokio::runtime::Runtime,
}

/// One run of `share_submit`.
pub struct SubmitRun {
    /// Until each `POST /api/v1/tx` was answered (accepted by CheckTx).
    pub submitted: Run,
    /// Shares per second from the first request until the last share's block is committed.
    pub committed_per_second: f64,
}

impl ApiScenarios {
    /// Starts the relay and sets up: a credential shared with a signed-in grantee, and
    /// `txs_per_run` wallets whose shares for each of `runs` runs are signed in advance.
    pub fn start(txs_per_run: usize, runs: usize) -> ApiScenarios {
        let runtime = server_runtime(true);
        let mut relay = Relay::start(&runtime);
        let grantee = SigningKey::generate_ed25519();
        let grantee_key = EncryptionSecretKey::generate();

        // The shared credential the reads fetch.
        let reader = relay.add_users(1).pop().expect("one user");
        let (tx, copy) = relay.share(&reader, 1, &grantee.identity(), &grantee_key);
        relay.commit_all(vec![tx]);
        let token = runtime.block_on(async {
            let client = idos_client::Client::new(&relay.origin).expect("client");
            client
                .sign_in_ed25519_session(&grantee, None)
                .await
                .expect("the grantee signs in")
                .token
        });
        let host = relay.addr.to_string();
        let path = format!("/api/v1/shared/{copy}");
        let bearer = format!("Bearer {token}");
        let shared_read: MakeRequest = Arc::new(move |_| {
            Request::get(path.as_str())
                .header("host", &host)
                .header("authorization", &bearer)
                .body(Full::new(Bytes::new()))
                .expect("request")
        });

        // The wallets that share in `share_submit`, one transaction each per run.
        let wallets = relay.add_users(txs_per_run);
        let shares = (0..runs)
            .map(|run| {
                wallets
                    .iter()
                    .map(|user| {
                        let (tx, _) =
                            relay.share(user, run as u64 + 1, &grantee.identity(), &grantee_key);
                        let hash = *protocol::tx::tx_hash(&tx).as_bytes();
                        (tx, hash)
                    })
                    .collect()
            })
            .collect();
        ApiScenarios {
            relay,
            shared_read,
            shares,
            _runtime: runtime,
        }
    }

    /// Run `run` of `share_submit`: its shares POSTed over `concurrency` connections, timed
    /// until the last one is committed.
    pub async fn submit_run(&self, run: usize, concurrency: usize) -> SubmitRun {
        let shares = &self.shares[run];
        let bodies: Arc<Vec<Bytes>> = Arc::new(
            shares
                .iter()
                .map(|(tx, _)| {
                    Bytes::from(serde_json::json!({ "signed": hex::encode(tx) }).to_string())
                })
                .collect(),
        );
        let host = self.relay.addr.to_string();
        let make: MakeRequest = Arc::new(move |i| {
            Request::post("/api/v1/tx")
                .header("host", &host)
                .header("content-type", "application/json")
                .body(Full::new(bodies[i].clone()))
                .expect("request")
        });
        let started = Instant::now();
        let submitted = measure(
            self.relay.addr,
            shares.len(),
            concurrency,
            StatusCode::OK,
            make,
        )
        .await;
        for (_, hash) in shares {
            while !self.relay.is_committed(hash) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        SubmitRun {
            submitted,
            committed_per_second: shares.len() as f64 / started.elapsed().as_secs_f64(),
        }
    }
}
