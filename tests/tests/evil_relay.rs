//! A relay that lies. The bundled node behind the real relay API, with a layer that tampers
//! with proven reads on their way out. The Rust client (`idos_client::Client::proven_read`) and
//! the enclave in Chromium (`verifyRead`, through a host page served by that relay), each
//! pinning the chain's validator, must catch every attack with its own code, and verify the
//! untampered answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use e2e::kit::open_host;
use e2e::product::{BundledNode, api_state, bundled_node};
use e2e::{Browser, enclave_dist, host_router, js, poll, serve};
use idos_client::{Client, ClientError, Freshness, ProvenRead, TrustRoot};
use idos_state::proof::ProvenEntry;
use node::chain::Validator;
use node::testkit::{onboarding_actions, plaintext, share_action};
use protocol::action::RevokeAccessGrant;
use protocol::grant::access_grant_id;
use protocol::identity::{Ed25519SigningKey, SignatureScheme, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use protocol::query::{PageRequest, Query};
use protocol::records::QueryOutput;
use relay::web::{EnclaveWebConfig, enclave_router};
use serde_json::{Value, json};
use tendermint::block::signed_header::SignedHeader;
use uuid::Uuid;

/// What the relay does to proven reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attack {
    /// Nothing: answers pass as the node gave them (the first of each read is kept, for
    /// `Replay`).
    None,
    /// One byte of a credential's ciphertext flipped.
    FlipCiphertext,
    /// One grant taken out of a list's chunk.
    DropGrant,
    /// The grant a grantee holds on a copy claimed absent.
    ClaimAbsent,
    /// The first answer kept for the same read, whatever happened since.
    Replay,
    /// The header re-signed by a key of the relay's, with the real validator set.
    ForeignSigner,
    /// The relay's own key signs a header naming its own validator set, which it sends.
    SwappedSet,
}

#[derive(Clone)]
struct Evil {
    attack: Arc<Mutex<Attack>>,
    /// Untampered answers by request body, for replays.
    kept: Arc<Mutex<HashMap<Vec<u8>, Vec<u8>>>>,
    impostor: Arc<Validator>,
}

async fn tamper(
    axum::extract::State(evil): axum::extract::State<Evil>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path() != "/api/v1/proven-read" {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let asked = to_bytes(body, usize::MAX).await.unwrap().to_vec();
    let response = next
        .run(Request::from_parts(parts, Body::from(asked.clone())))
        .await;
    let (parts, body) = response.into_parts();
    let honest = to_bytes(body, usize::MAX).await.unwrap().to_vec();
    let attack = *evil.attack.lock().unwrap();
    let answer = match attack {
        Attack::None => {
            evil.kept
                .lock()
                .unwrap()
                .entry(asked)
                .or_insert_with(|| honest.clone());
            honest
        }
        Attack::Replay => evil.kept.lock().unwrap().get(&asked).cloned().unwrap(),
        _ => {
            let mut read: ProvenRead = serde_json::from_slice(&honest).unwrap();
            alter(&mut read, attack, &evil.impostor);
            serde_json::to_vec(&read).unwrap()
        }
    };
    Response::from_parts(parts, Body::from(answer))
}

fn alter(read: &mut ProvenRead, attack: Attack, impostor: &Validator) {
    let mut entries = read.decode_entries().unwrap();
    let find = |entries: &[ProvenEntry], table: &str| {
        entries
            .iter()
            .position(|e| e.table == table && e.value.is_some())
            .unwrap_or_else(|| panic!("no {table} entry to alter"))
    };
    match attack {
        Attack::FlipCiphertext => {
            let at = find(&entries, "credentials");
            let value = entries[at].value.as_mut().unwrap();
            let last = value.len() - 1;
            value[last] ^= 0x01;
        }
        Attack::DropGrant => {
            let at = find(&entries, "directories");
            let (lower, list, total) =
                borsh::from_slice::<(Option<Vec<u8>>, Vec<u8>, Option<u64>)>(
                    entries[at].value.as_ref().unwrap(),
                )
                .unwrap();
            // Each entry of a grantee's list is height ‖ grant id: one fewer.
            entries[at].value = Some(borsh::to_vec(&(lower, list[24..].to_vec(), total)).unwrap());
        }
        Attack::ClaimAbsent => {
            let at = find(&entries, "grants_by_grantee_data");
            entries[at].value = None;
        }
        Attack::ForeignSigner => {
            let header = read.signed_header.header.clone();
            read.signed_header =
                SignedHeader::new(header.clone(), impostor.commit(&header)).unwrap();
        }
        Attack::SwappedSet => {
            let mut header = read.signed_header.header.clone();
            header.validators_hash = impostor.validators_hash;
            header.next_validators_hash = impostor.validators_hash;
            read.signed_header =
                SignedHeader::new(header.clone(), impostor.commit(&header)).unwrap();
            read.validators = impostor.set().validators().clone();
        }
        Attack::None | Attack::Replay => {}
    }
    read.entries = ProvenRead::encode_entries(&entries);
}

fn code<T: std::fmt::Debug>(result: Result<T, ClientError>) -> String {
    match result {
        Ok(v) => format!("verified: {v:?}"),
        Err(ClientError::Unverified { code, .. }) => code.to_owned(),
        Err(e) => panic!("expected a verification failure, got {e}"),
    }
}

/// The chain, the lying relay, and what is on the chain: a user who shared a credential with a
/// consumer.
struct World {
    _dir: tempfile::TempDir,
    bundled: BundledNode,
    /// What clients pin: the chain and its validator, known apart from the relay.
    trust: TrustRoot,
    /// The same, in the text form hosts give the enclave.
    trust_text: String,
    evil: Evil,
    /// The relay's origin (with `host_pages`, also the test host page's).
    url: String,
    relay: Client,
    user_wallet: SigningKey,
    consumer: SigningKey,
    copy: Uuid,
    grant: Uuid,
}

impl World {
    /// The bundled node behind the tampering relay API, on one origin with the test host
    /// pages when `host_pages` (so the page reaches the relay without CORS).
    async fn start(host_pages: bool) -> World {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let bundled = bundled_node(data).await;
        let chain_id = bundled.client.chain_id().to_owned();
        let validator = bundled.chain.validator().public_key.to_bytes();
        let trust =
            TrustRoot::new(&chain_id, &[(validator.clone().try_into().unwrap(), 10)]).unwrap();
        let trust_text = format!("{chain_id}@{}", hex::encode(&validator));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = if host_pages {
            format!("http://127.0.0.1:{port}")
        } else {
            format!("http://localhost:{port}")
        };
        let evil = Evil {
            attack: Arc::new(Mutex::new(Attack::None)),
            kept: Arc::default(),
            impostor: Arc::new(Validator::from_key(Ed25519SigningKey::generate()).unwrap()),
        };
        let mut api = relay::api::app(api_state(data, &url, &[], bundled.client.clone()))
            .layer(axum::middleware::from_fn_with_state(evil.clone(), tamper));
        if host_pages {
            api = api.fallback_service(host_router());
        }
        tokio::spawn(async move { axum::serve(listener, api).await });
        let relay = Client::new(&url).unwrap();

        // An issuer onboards a user with a credential; the user shares it with a consumer.
        let owner_hex = std::fs::read_to_string(data.join("owner_key")).unwrap();
        let owner = SigningKey::from_hex(SignatureScheme::Ed25519, owner_hex.trim()).unwrap();
        let issuer = Ed25519SigningKey::generate();
        let inserter = Uuid::new_v4();
        relay
            .submit_action(
                &owner,
                protocol::action::AddInserter {
                    id: inserter,
                    name: "Acme".into(),
                },
            )
            .await
            .unwrap();
        relay
            .submit_action(
                &owner,
                protocol::action::AddDelegate {
                    address: protocol::identity::Identity::Ed25519(issuer.public_key()),
                    inserter_id: inserter,
                },
            )
            .await
            .unwrap();
        let user_wallet = SigningKey::generate_ed25519();
        let user_secret = EncryptionSecretKey::generate();
        let (user, original) = (Uuid::new_v4(), Uuid::new_v4());
        for action in onboarding_actions(
            &issuer,
            &chain_id,
            user,
            &user_wallet,
            &user_secret,
            original,
            "urn:vc:evil",
        ) {
            relay
                .submit_action(&SigningKey::Ed25519(issuer.clone()), action)
                .await
                .unwrap();
        }
        let consumer = SigningKey::generate_ed25519();
        let share = share_action(
            &Ed25519SigningKey::generate(),
            original,
            &plaintext("urn:vc:evil"),
            consumer.identity(),
            &EncryptionSecretKey::generate().public_key(),
            0,
        );
        let copy = share.id;
        let grant = access_grant_id(&consumer.identity().identifier(), &copy, 0);
        relay.submit_action(&user_wallet, share).await.unwrap();
        World {
            _dir: dir,
            bundled,
            trust,
            trust_text,
            evil,
            url,
            relay,
            user_wallet,
            consumer,
            copy,
            grant,
        }
    }

    fn set(&self, attack: Attack) {
        *self.evil.attack.lock().unwrap() = attack;
    }

    /// The user revokes the consumer's grant; the block it was committed in.
    async fn revoke(&self) -> u64 {
        let me = self
            .relay
            .sign_in_ed25519(&self.user_wallet, None)
            .await
            .unwrap();
        let revoked = me
            .submit_action(&self.user_wallet, RevokeAccessGrant { id: self.grant })
            .await
            .unwrap();
        revoked.height.unwrap()
    }
}

fn shared(w: &World) -> Query {
    Query::GetCredentialShared { id: w.copy }
}

fn granted() -> Query {
    Query::GetAccessGrantsGranted {
        user_id: None,
        page: PageRequest::default(),
    }
}

fn given() -> Query {
    Query::GetAccessGrantsOwned {
        page: PageRequest::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lie_of_a_relay_is_caught_by_the_rust_client_and_the_truth_verifies() {
    let w = World::start(false).await;
    let trust = &w.trust;
    let them = w.relay.sign_in_ed25519(&w.consumer, None).await.unwrap();
    let me = w.relay.sign_in_ed25519(&w.user_wallet, None).await.unwrap();
    let fresh = Freshness::default();
    let (user_wallet, consumer) = (&w.user_wallet, &w.consumer);
    let (shared, granted, given) = (shared(&w), granted(), given());
    let read = |client: &Client, who: &SigningKey, query: &Query| {
        let (client, who, query, trust, fresh) = (
            client.clone(),
            who.identity(),
            query.clone(),
            trust.clone(),
            fresh.clone(),
        );
        async move { client.proven_output(&who, query, &trust, &fresh).await }
    };

    // The truth verifies (and the relay keeps the answers for a replay).
    let (output, height) = read(&them, consumer, &shared).await.unwrap();
    let QueryOutput::Credential(record) = output else {
        panic!("a credential")
    };
    assert_eq!(record.id, w.copy);
    assert!(height > 1);
    let (output, _) = read(&me, user_wallet, &given).await.unwrap();
    assert!(matches!(output, QueryOutput::AccessGrants(ref p) if p.items.len() == 1));
    read(&them, consumer, &granted).await.unwrap();

    w.set(Attack::FlipCiphertext);
    assert_eq!(
        code(read(&them, consumer, &shared).await),
        "proof_value_mismatch"
    );
    w.set(Attack::DropGrant);
    assert_eq!(
        code(read(&them, consumer, &granted).await),
        "proof_list_altered"
    );
    w.set(Attack::ClaimAbsent);
    assert_eq!(
        code(read(&them, consumer, &shared).await),
        "proof_absence_refuted"
    );
    w.set(Attack::ForeignSigner);
    assert_eq!(
        code(read(&them, consumer, &shared).await),
        "header_not_signed"
    );
    w.set(Attack::SwappedSet);
    assert_eq!(
        code(read(&them, consumer, &shared).await),
        "validator_set_mismatch"
    );

    // The user revokes the grant; the relay replays the answer from before. A client that
    // knows its revocation's block refuses anything older.
    w.set(Attack::None);
    let revoked = w.revoke().await;
    let after_revocation = Freshness {
        min_height: revoked,
        ..Freshness::default()
    };
    w.set(Attack::Replay);
    let stale = me
        .proven_output(
            &user_wallet.identity(),
            given.clone(),
            trust,
            &after_revocation,
        )
        .await;
    assert_eq!(code(stale), "stale_answer");
    // Told the truth, the same client sees the grant gone, from the revocation's state on.
    w.set(Attack::None);
    let (output, height) = tokio::time::timeout(
        Duration::from_secs(10),
        me.proven_output(&user_wallet.identity(), given, trust, &after_revocation),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(output, QueryOutput::AccessGrants(ref p) if p.items.is_empty()));
    assert!(height > revoked);
    w.bundled.chain.stop();
}

/// The host page fetches `query` from the relay as the holder of `token` and hands the answer
/// to the enclave's `verifyRead` with `extra` parameters; the call's outcome.
async fn verify_in_enclave(
    c: &fantoccini::Client,
    w: &World,
    token: &str,
    caller: &SigningKey,
    query: &Query,
    extra: Value,
) -> Value {
    let mut params = json!({
        "trustRoot": w.trust_text,
        "caller": caller.identity().identifier(),
    });
    params
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let id = js(
        c,
        "return window.startVerifiedRead(arguments[0], arguments[1], arguments[2])",
        vec![json!(token), serde_json::to_value(query).unwrap(), params],
    )
    .await;
    poll(c, &format!("return window.calls[{id}]"), 20, |v| {
        v["state"] != "pending"
    })
    .await
}

fn enclave_code(outcome: &Value) -> String {
    match outcome["state"].as_str() {
        Some("error") => outcome["error"]["code"].as_str().unwrap().to_owned(),
        _ => format!("not refused: {outcome}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lie_of_a_relay_is_caught_by_the_enclave_in_chromium_and_the_truth_verifies() {
    let w = World::start(true).await;
    let enclave = serve(enclave_router(
        EnclaveWebConfig::new(enclave_dist(), vec![w.url.clone()]).unwrap(),
    ))
    .await;
    let them = w
        .relay
        .sign_in_ed25519_session(&w.consumer, None)
        .await
        .unwrap()
        .token;
    let me = w
        .relay
        .sign_in_ed25519_session(&w.user_wallet, None)
        .await
        .unwrap()
        .token;
    let b = Browser::start().await;
    let c = &b.client;
    assert_eq!(open_host(c, &w.url, &enclave).await, json!({"ok": true}));
    let (shared, granted, given) = (shared(&w), granted(), given());
    let none = json!({});

    // The truth verifies: the answer is the enclave's, with the header that proved it.
    let truth = verify_in_enclave(c, &w, &them, &w.consumer, &shared, none.clone()).await;
    assert_eq!(truth["state"], "done", "{truth}");
    let answer = &truth["result"];
    assert_eq!(answer["chainId"], w.bundled.client.chain_id());
    assert_eq!(answer["output"]["kind"], "credential", "{answer}");
    assert_eq!(answer["output"]["value"]["id"], w.copy.to_string());
    let header_height = answer["headerHeight"].as_u64().unwrap();
    assert_eq!(answer["stateHeight"].as_u64().unwrap(), header_height - 1);
    let owned = verify_in_enclave(c, &w, &me, &w.user_wallet, &given, none.clone()).await;
    assert_eq!(
        owned["result"]["output"]["value"]["items"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{owned}"
    );
    let received = verify_in_enclave(c, &w, &them, &w.consumer, &granted, none.clone()).await;
    assert_eq!(received["state"], "done", "{received}");
    // A trust root naming another validator refuses even the truth.
    let mut foreign = json!({});
    foreign["trustRoot"] = json!(format!(
        "{}@{}",
        w.bundled.client.chain_id(),
        hex::encode(Ed25519SigningKey::generate().public_key().as_bytes())
    ));
    assert_eq!(
        enclave_code(&verify_in_enclave(c, &w, &them, &w.consumer, &shared, foreign).await),
        "validator_set_mismatch"
    );

    for (attack, query, expected) in [
        (Attack::FlipCiphertext, &shared, "proof_value_mismatch"),
        (Attack::DropGrant, &granted, "proof_list_altered"),
        (Attack::ClaimAbsent, &shared, "proof_absence_refuted"),
        (Attack::ForeignSigner, &shared, "header_not_signed"),
        (Attack::SwappedSet, &shared, "validator_set_mismatch"),
    ] {
        w.set(attack);
        let outcome = verify_in_enclave(c, &w, &them, &w.consumer, query, none.clone()).await;
        assert_eq!(enclave_code(&outcome), expected, "{attack:?}");
    }

    // The user revokes; the relay replays the answer from before. The host says which block
    // its revocation is in, and the enclave refuses anything older.
    w.set(Attack::None);
    let revoked = w.revoke().await;
    w.set(Attack::Replay);
    let stale = verify_in_enclave(
        c,
        &w,
        &me,
        &w.user_wallet,
        &given,
        json!({"minHeight": revoked}),
    )
    .await;
    assert_eq!(enclave_code(&stale), "stale_answer");
    // Told the truth, the enclave sees the grant gone.
    w.set(Attack::None);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let after = loop {
        let outcome = verify_in_enclave(
            c,
            &w,
            &me,
            &w.user_wallet,
            &given,
            json!({"minHeight": revoked}),
        )
        .await;
        // The proof block of the revocation may not be made yet: the relay waits for it.
        if outcome["state"] == "done" || std::time::Instant::now() > deadline {
            break outcome;
        }
    };
    assert_eq!(
        after["result"]["output"]["value"]["items"]
            .as_array()
            .map(Vec::len),
        Some(0),
        "{after}"
    );
    assert!(after["result"]["stateHeight"].as_u64().unwrap() >= revoked);
    // Having seen that state, the enclave refuses the old answer even when the host forgets to
    // say where its write was: a relay cannot take a page back in time.
    w.set(Attack::Replay);
    let rolled_back = verify_in_enclave(c, &w, &me, &w.user_wallet, &given, none.clone()).await;
    assert_eq!(enclave_code(&rolled_back), "stale_answer");
    w.bundled.chain.stop();
}
