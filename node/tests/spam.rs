//! Bounded memory and disk under spam: a signer without a role leaves no trace (no nonce row,
//! no mempool entry) whether it comes through CheckTx or a Byzantine proposer's block; the
//! embedded mempool and blocks are bounded in bytes as well as count; a client sees its
//! waiting transactions in `NextNonce`.

use std::time::Duration;

use node::chain::{Chain, ChainConfig, Validator};
use node::run::{NodeConfig, start_chain};
use node::store::{Read, Table};
use node::testkit::*;
use protocol::action::{
    AddAttribute, AddCredential, AddInserter, CreateCredentialsByDwg, EditPublicNotesAsIssuer,
    RescindSharedCredential,
};
use protocol::credential::content_hash;
use protocol::grant::DelegatedWriteGrant;
use protocol::identity::{Ed25519SigningKey, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use protocol::query::{Query, SignedQuery};
use protocol::records::QueryOutput;
use protocol::time::format_rfc3339;
use tempfile::TempDir;
use uuid::Uuid;

/// A table's rows, in key order.
type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// Every row of every state table, in order.
fn state_rows(net: &TestNet) -> Vec<(Table, Rows)> {
    Table::ALL
        .iter()
        .filter(|t| t.is_state())
        .map(|t| (*t, net.app.store().scan(*t, &[], usize::MAX).unwrap()))
        .collect()
}

fn attribute(n: u128) -> AddAttribute {
    AddAttribute {
        id: Uuid::from_u128(n),
        attribute_key: "k".into(),
        value: "v".into(),
    }
}

#[test]
fn a_stream_of_fresh_keys_leaves_no_nonce_rows_through_check_tx_or_a_block() {
    let dir = TempDir::new().unwrap();
    let mut net = TestNet::new(dir.path());
    let issuer = net.add_issuer("Acme");
    net.add_user(&issuer, true);
    let before = state_rows(&net);
    let committed = net.app.committed();
    let mut spam = Vec::new();
    for i in 0..40u8 {
        let key = if i % 2 == 0 {
            SigningKey::generate_evm()
        } else {
            SigningKey::generate_ed25519()
        };
        // Whatever the action, a signer that holds no role for it.
        let tx = match i % 4 {
            0 => net.sign_with_nonce(&key, attribute(i as u128), 1),
            1 => net.sign_with_nonce(
                &key,
                AddInserter {
                    id: Uuid::new_v4(),
                    name: format!("spam {i}"),
                },
                1,
            ),
            2 => net.sign_with_nonce(
                &key,
                RescindSharedCredential {
                    credential_id: Uuid::new_v4(),
                },
                1,
            ),
            _ => net.sign_with_nonce(
                &key,
                EditPublicNotesAsIssuer {
                    public_notes_id: "urn:vc:none".into(),
                    public_notes: "{}".into(),
                },
                1,
            ),
        };
        let refused = net.app.check_tx(&tx.encode()).unwrap_err();
        assert!(
            ["no_profile", "unauthorized", "not_found"].contains(&refused.code()),
            "{refused}"
        );
        spam.push(tx.encode());
    }
    // Well signed, so CheckTx verified them; refused, so nothing of them is kept for a block.
    assert_eq!(net.app.verified_waiting(), 0);
    // A Byzantine proposer includes them anyway: each is refused before its nonce is used.
    let outcomes = net.block(spam);
    assert!(outcomes.iter().all(|o| o.result.is_err()));
    assert_eq!(state_rows(&net), before, "spam left rows behind");
    let after = net.app.committed();
    assert_eq!(
        after.app_hash, committed.app_hash,
        "a block that changes nothing keeps the state root"
    );
}

#[test]
fn signers_whose_role_is_not_a_profile_are_admitted() {
    let dir = TempDir::new().unwrap();
    let mut net = TestNet::new(dir.path());
    let issuer = net.add_issuer("Acme");
    let alice = net.add_user(&issuer, true);
    // A grantee without a profile rescinds a share made to it.
    let grantee = SigningKey::generate_ed25519();
    let grantee_secret = EncryptionSecretKey::generate();
    let original = Uuid::new_v4();
    let free_issuer = Ed25519SigningKey::generate();
    net.submit(
        &alice.wallet,
        AddCredential {
            id: original,
            credential: credential_input(
                &free_issuer,
                &public_notes("urn:vc:free", "active"),
                &plaintext("urn:vc:free"),
                &alice.public_key(),
            ),
        },
    )
    .unwrap();
    let share = share_action(
        &Ed25519SigningKey::generate(),
        original,
        &plaintext("urn:vc:free"),
        grantee.identity(),
        &grantee_secret.public_key(),
        0,
    );
    let copy = share.id;
    net.submit(&alice.wallet, share).unwrap();
    net.submit(
        &grantee,
        RescindSharedCredential {
            credential_id: copy,
        },
    )
    .unwrap();
    // An issuer key that is no delegate edits the public notes of what it signed.
    net.submit(
        &SigningKey::Ed25519(free_issuer),
        EditPublicNotesAsIssuer {
            public_notes_id: "urn:vc:free".into(),
            public_notes: public_notes("urn:vc:free", "revoked"),
        },
    )
    .unwrap();
    // A delegated write is submitted by a delegate (the issuer's backend); a key with no role
    // may not submit one, and leaves no nonce behind.
    let grant = DelegatedWriteGrant {
        owner_wallet_identifier: alice.wallet.identity(),
        grantee_wallet_identifier: grantee.identity(),
        issuer_public_key: issuer.key.public_key(),
        id: Uuid::new_v4(),
        access_grant_timelock: format_rfc3339(net.time + 100).unwrap(),
        not_usable_before: format_rfc3339(net.time - 10).unwrap(),
        not_usable_after: format_rfc3339(net.time + 3600).unwrap(),
    };
    let grant_signature = alice
        .wallet
        .sign(grant.message(CHAIN_ID).unwrap().as_bytes())
        .into();
    let body = plaintext("urn:vc:dwg");
    let dwg = CreateCredentialsByDwg {
        original_id: Uuid::new_v4(),
        original: credential_input(
            &issuer.key,
            &public_notes("urn:vc:dwg", "active"),
            &body,
            &alice.public_key(),
        ),
        copy_id: Uuid::new_v4(),
        copy: credential_input(&issuer.key, "", &body, &grantee_secret.public_key()),
        content_hash: content_hash(&body),
        grant,
        grant_signature,
    };
    let nobody = SigningKey::generate_ed25519();
    assert_eq!(code(net.submit(&nobody, dwg.clone())), "unauthorized");
    assert_eq!(
        node::state::next_nonce(&**net.app.store(), &nobody.identity()).unwrap(),
        1
    );
    net.submit(&issuer.signer(), dwg).unwrap();
}

fn owner_node(dir: &TempDir, config: NodeConfig) -> (std::sync::Arc<Chain>, SigningKey) {
    let owner = SigningKey::generate_ed25519();
    let config = NodeConfig {
        chain_id: Some(CHAIN_ID.into()),
        owner: Some(owner.identity()),
        sync_writes: Some(false),
        ..config
    };
    let (chain, _) = start_chain(dir.path(), &config).unwrap();
    (chain, owner)
}

fn owner_tx(owner: &SigningKey, nonce: u64, name_len: usize) -> Vec<u8> {
    signed_tx(
        CHAIN_ID,
        owner,
        nonce,
        AddInserter {
            id: Uuid::from_u128(nonce as u128),
            name: "n".repeat(name_len),
        },
    )
    .encode()
}

fn next_nonce(chain: &Chain, owner: &SigningKey) -> u64 {
    let query = SignedQuery::anonymous(
        CHAIN_ID,
        Query::NextNonce {
            account: owner.identity(),
        },
    );
    match chain
        .app()
        .query("/idos", &query.encode(), 0, GENESIS_TIME)
        .unwrap()
        .output
    {
        QueryOutput::NextNonce(n) => n,
        other => panic!("{other:?}"),
    }
}

#[test]
fn next_nonce_counts_transactions_waiting_in_the_embedded_mempool() {
    let dir = TempDir::new().unwrap();
    // A producer that lingers: transactions wait in the mempool for the test's duration.
    let (chain, owner) = owner_node(
        &dir,
        NodeConfig {
            block_linger_ms: Some(60_000),
            ..NodeConfig::default()
        },
    );
    assert_eq!(next_nonce(&chain, &owner), 1);
    for n in 1..=3 {
        chain.submit(owner_tx(&owner, n, 8)).unwrap();
    }
    assert_eq!(chain.mempool_size().0, 3);
    assert_eq!(next_nonce(&chain, &owner), 4);
    chain.stop();
}

#[test]
fn the_embedded_mempool_is_bounded_in_bytes_and_full_is_not_a_refusal() {
    let dir = TempDir::new().unwrap();
    // Room for two and a half big transactions (their size does not depend on the key).
    let size = owner_tx(&SigningKey::generate_ed25519(), 1, 200).len();
    let room = size * 2 + size / 2;
    let (chain, owner) = owner_node(
        &dir,
        NodeConfig {
            block_linger_ms: Some(60_000),
            max_mempool_bytes: Some(room),
            max_tx_bytes: Some(size + 40),
            ..NodeConfig::default()
        },
    );
    let big = |n| owner_tx(&owner, n, 200);
    chain.submit(big(1)).unwrap();
    chain.submit(big(2)).unwrap();
    let full = chain.submit(big(3)).unwrap_err();
    assert_eq!(full.code(), "mempool_full", "{full}");
    // Turned away before CheckTx: its nonce is still free, and the sequence goes on with a
    // smaller transaction that fits.
    assert_eq!(next_nonce(&chain, &owner), 3);
    chain.submit(owner_tx(&owner, 3, 8)).unwrap();
    let (count, bytes) = chain.mempool_size();
    assert_eq!(count, 3);
    assert!(bytes <= room);
    // Larger than a transaction may be: refused before any work.
    let huge = chain.submit(owner_tx(&owner, 4, 250)).unwrap_err();
    assert_eq!(huge.code(), "too_large");
    chain.stop();
}

#[test]
fn embedded_blocks_are_bounded_in_bytes_as_well_as_count() {
    let dir = TempDir::new().unwrap();
    let app = std::sync::Arc::new(
        node::app::App::open(
            node::store::Store::open(&dir.path().join("db"), false).unwrap(),
            Default::default(),
        )
        .unwrap(),
    );
    let owner = SigningKey::generate_ed25519();
    app.init_chain(node::app::Genesis {
        chain_id: CHAIN_ID.into(),
        owner: owner.identity(),
    })
    .unwrap();
    let txs: Vec<Vec<u8>> = (1..=9).map(|n| owner_tx(&owner, n, 200)).collect();
    let limit = txs[0].len() * 2 + txs[0].len() / 2;
    let chain = Chain::start(
        app,
        Validator::load_or_create(&dir.path().join("keys")).unwrap(),
        ChainConfig {
            max_block_bytes: limit,
            max_tx_bytes: txs[0].len(),
            block_linger: Duration::from_millis(200),
            ..ChainConfig::default()
        },
    )
    .unwrap();
    for tx in &txs {
        chain.submit(tx.clone()).unwrap();
    }
    let last = protocol::tx::tx_hash(txs.last().unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let located = loop {
        if let Some(location) = chain.locate(last.as_bytes()).unwrap() {
            break location;
        }
        assert!(std::time::Instant::now() < deadline, "not committed");
        std::thread::sleep(Duration::from_millis(20));
    };
    // The block's rows are stored an instant before its height is published.
    while chain.app().committed().height < located.height {
        assert!(std::time::Instant::now() < deadline, "not published");
        std::thread::sleep(Duration::from_millis(1));
    }
    let height = chain.app().committed().height;
    let mut seen = 0;
    for h in 1..=height {
        let block = chain.block(h).unwrap().unwrap();
        let bytes: usize = block.txs.iter().map(Vec::len).sum();
        assert!(bytes <= limit, "block {h} holds {bytes} bytes");
        assert!(block.txs.len() <= 2);
        seen += block.txs.len();
    }
    assert_eq!(seen, 9);
    chain.stop();
}
