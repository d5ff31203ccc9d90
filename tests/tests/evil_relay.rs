//! A relay that lies. The bundled node behind the real relay API, with a layer that tampers
//! with proven reads on their way out; the Rust client (`idos_client::Client::proven_read`),
//! pinning the chain's validator, must catch every attack with its own code, and verify the
//! untampered answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use e2e::product::{api_state, bundled_node};
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
use tendermint::block::signed_header::SignedHeader;
use uuid::Uuid;

/// What the relay does to proven reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attack {
    /// Nothing: answers pass as the node gave them (and are kept, for `Replay`).
    None,
    /// One byte of a credential's ciphertext flipped.
    FlipCiphertext,
    /// One grant taken out of a list's chunk.
    DropGrant,
    /// The grant a grantee holds on a copy claimed absent.
    ClaimAbsent,
    /// The last answer kept for the same read, whatever happened since.
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
            evil.kept.lock().unwrap().insert(asked, honest.clone());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lie_of_a_relay_is_caught_by_the_rust_client_and_the_truth_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let bundled = bundled_node(data).await;
    let chain_id = bundled.client.chain_id().to_owned();
    // What the client pins: the chain and its validator, known apart from the relay.
    let validator = bundled.chain.validator().public_key.to_bytes();
    let trust = TrustRoot::new(&chain_id, &[(validator.try_into().unwrap(), 10)]).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let evil = Evil {
        attack: Arc::new(Mutex::new(Attack::None)),
        kept: Arc::default(),
        impostor: Arc::new(Validator::from_key(Ed25519SigningKey::generate()).unwrap()),
    };
    let api = relay::api::app(api_state(data, &app, &[], bundled.client.clone()))
        .layer(axum::middleware::from_fn_with_state(evil.clone(), tamper));
    tokio::spawn(async move { axum::serve(listener, api).await });
    let relay = Client::new(&app).unwrap();

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

    let them = relay.sign_in_ed25519(&consumer, None).await.unwrap();
    let me = relay.sign_in_ed25519(&user_wallet, None).await.unwrap();
    let fresh = Freshness::default();
    let shared = Query::GetCredentialShared { id: copy };
    let granted = Query::GetAccessGrantsGranted {
        user_id: None,
        page: PageRequest::default(),
    };
    let given = Query::GetAccessGrantsOwned {
        page: PageRequest::default(),
    };
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
    let set = |attack| *evil.attack.lock().unwrap() = attack;

    // The truth verifies (and the relay keeps the answers for a replay).
    let (output, height) = read(&them, &consumer, &shared).await.unwrap();
    let QueryOutput::Credential(record) = output else {
        panic!("a credential")
    };
    assert_eq!(record.id, copy);
    assert!(height > 1);
    let (output, _) = read(&me, &user_wallet, &given).await.unwrap();
    assert!(matches!(output, QueryOutput::AccessGrants(ref p) if p.items.len() == 1));
    read(&them, &consumer, &granted).await.unwrap();

    set(Attack::FlipCiphertext);
    assert_eq!(
        code(read(&them, &consumer, &shared).await),
        "proof_value_mismatch"
    );
    set(Attack::DropGrant);
    assert_eq!(
        code(read(&them, &consumer, &granted).await),
        "proof_list_altered"
    );
    set(Attack::ClaimAbsent);
    assert_eq!(
        code(read(&them, &consumer, &shared).await),
        "proof_absence_refuted"
    );
    set(Attack::ForeignSigner);
    assert_eq!(
        code(read(&them, &consumer, &shared).await),
        "header_not_signed"
    );
    set(Attack::SwappedSet);
    assert_eq!(
        code(read(&them, &consumer, &shared).await),
        "validator_set_mismatch"
    );

    // The user revokes the grant; the relay replays the answer from before. A client that
    // knows its revocation's block refuses anything older.
    set(Attack::None);
    let revoked = me
        .submit_action(&user_wallet, RevokeAccessGrant { id: grant })
        .await
        .unwrap();
    let after_revocation = Freshness {
        min_height: revoked.height.unwrap(),
        ..Freshness::default()
    };
    set(Attack::Replay);
    let stale = me
        .proven_output(
            &user_wallet.identity(),
            given.clone(),
            &trust,
            &after_revocation,
        )
        .await;
    assert_eq!(code(stale), "stale_answer");
    // Told the truth, the same client sees the grant gone, from the revocation's state on.
    set(Attack::None);
    let (output, height) = tokio::time::timeout(
        Duration::from_secs(10),
        me.proven_output(&user_wallet.identity(), given, &trust, &after_revocation),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(output, QueryOutput::AccessGrants(ref p) if p.items.is_empty()));
    assert!(height > revoked.height.unwrap());
    bundled.chain.stop();
}
