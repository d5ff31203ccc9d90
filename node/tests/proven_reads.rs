//! Proven reads (`prove = true`): every read's answer is what a client computes from the
//! proven entries alone, and every way a relay could alter them is caught with its own code.

use idos_state::proof::{ProofError, ProvenEntry};
use node::app::ProvenAnswer;
use node::testkit::{
    Issuer, TestNet, User, credential_input, plaintext, public_notes, share_action,
};
use proptest::prelude::*;
use protocol::action::{AddAttribute, UpsertCredentialAsInserter};
use protocol::credential::content_hash;
use protocol::identity::{Ed25519SigningKey, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use protocol::query::{PageRequest, Query};
use protocol::records::QueryOutput;
use tempfile::TempDir;
use uuid::Uuid;

struct World {
    _dir: TempDir,
    net: TestNet,
    issuer: Issuer,
    alice: User,
    grantee: SigningKey,
    other_grantee: SigningKey,
    originals: Vec<Uuid>,
    copies: Vec<Uuid>,
}

/// Alice holds 40 credentials (more than a directory chunk), each shared with one grantee,
/// the first also with another, locked.
fn world() -> World {
    let dir = TempDir::new().unwrap();
    let mut net = TestNet::new(dir.path());
    let issuer = net.add_issuer("Acme KYC");
    let alice = net.add_user(&issuer, true);
    let grantee = SigningKey::generate_evm();
    let other_grantee = SigningKey::generate_ed25519();
    let grantee_key = EncryptionSecretKey::generate().public_key();
    let (mut originals, mut copies) = (Vec::new(), Vec::new());
    for n in 0..40 {
        let vc = format!("urn:vc:{n}");
        let id = Uuid::new_v4();
        let credential = credential_input(
            &issuer.key,
            &public_notes(&vc, "active"),
            &plaintext(&vc),
            &alice.public_key(),
        );
        net.submit(
            &issuer.signer(),
            UpsertCredentialAsInserter {
                id,
                user_id: alice.id,
                credential,
            },
        )
        .unwrap();
        let share = share_action(
            &Ed25519SigningKey::generate(),
            id,
            &plaintext(&vc),
            grantee.identity(),
            &grantee_key,
            0,
        );
        copies.push(share.id);
        net.submit(&alice.wallet, share).unwrap();
        originals.push(id);
    }
    let locked = share_action(
        &Ed25519SigningKey::generate(),
        originals[0],
        &plaintext("urn:vc:0"),
        other_grantee.identity(),
        &grantee_key,
        net.time + 3600,
    );
    net.submit(&alice.wallet, locked).unwrap();
    net.submit(
        &alice.wallet,
        AddAttribute {
            id: Uuid::new_v4(),
            attribute_key: "nationality".into(),
            value: "PT".into(),
        },
    )
    .unwrap();
    World {
        _dir: dir,
        net,
        issuer,
        alice,
        grantee,
        other_grantee,
        originals,
        copies,
    }
}

fn page(limit: u32) -> PageRequest {
    PageRequest { after: None, limit }
}

/// Every read, by whom.
fn reads(w: &World) -> Vec<(SigningKey, Query)> {
    let alice = w.alice.wallet.clone();
    let grantee = w.grantee.clone();
    let other = w.other_grantee.clone();
    let stranger = SigningKey::generate_ed25519();
    let issuer = w.issuer.signer();
    let hash = content_hash(&plaintext("urn:vc:3"));
    vec![
        (alice.clone(), Query::GetUser),
        (stranger.clone(), Query::GetUser),
        (alice.clone(), Query::GetWallets { page: page(10) }),
        (alice.clone(), Query::GetCredentials { page: page(100) }),
        (alice.clone(), Query::GetCredentials { page: page(7) }),
        (
            alice.clone(),
            Query::GetCredentialOwned { id: w.originals[5] },
        ),
        (
            alice.clone(),
            Query::GetCredentialOwned { id: Uuid::new_v4() },
        ),
        (alice.clone(), Query::GetAttributes { page: page(10) }),
        (
            alice.clone(),
            Query::GetAccessGrantsOwned { page: page(100) },
        ),
        (
            alice.clone(),
            Query::HasLockedAccessGrants { id: w.originals[0] },
        ),
        (
            alice.clone(),
            Query::HasLockedAccessGrants { id: w.originals[1] },
        ),
        (
            grantee.clone(),
            Query::GetAccessGrantsGranted {
                user_id: None,
                page: page(100),
            },
        ),
        (
            grantee.clone(),
            Query::GetAccessGrantsGranted {
                user_id: Some(w.alice.id),
                page: page(9),
            },
        ),
        (
            stranger.clone(),
            Query::GetAccessGrantsGranted {
                user_id: None,
                page: page(9),
            },
        ),
        (
            grantee.clone(),
            Query::GetAccessGrantsGrantedCount { user_id: None },
        ),
        (
            grantee.clone(),
            Query::GetAccessGrantsForCredential {
                credential_id: w.copies[2],
                page: page(10),
            },
        ),
        // Another grantee asks about a copy that is not theirs: nothing, provably.
        (
            other.clone(),
            Query::GetAccessGrantsForCredential {
                credential_id: w.copies[2],
                page: page(10),
            },
        ),
        (
            grantee.clone(),
            Query::GetCredentialShared { id: w.copies[2] },
        ),
        (
            other.clone(),
            Query::GetCredentialShared { id: w.copies[2] },
        ),
        (
            grantee.clone(),
            Query::GetCredentialsSharedByUser {
                user_id: w.alice.id,
                original_issuer_auth_public_key: Some(w.issuer.key.public_key()),
                page: page(50),
            },
        ),
        (
            grantee.clone(),
            Query::GetSiblingCredentialId { content_hash: hash },
        ),
        (issuer.clone(), Query::GetUserAsInserter { id: w.alice.id }),
        (
            issuer.clone(),
            Query::CredentialExistAsInserter { id: w.originals[1] },
        ),
        (
            alice.clone(),
            Query::NextNonce {
                account: alice.identity(),
            },
        ),
        (
            stranger.clone(),
            Query::HasProfile {
                address: alice.identity(),
            },
        ),
        (
            stranger.clone(),
            Query::HasProfile {
                address: stranger.identity(),
            },
        ),
    ]
}

fn describe(result: &Result<QueryOutput, node::error::NodeError>) -> String {
    match result {
        Ok(output) => format!("{output:?}"),
        Err(e) => e.code().to_owned(),
    }
}

#[test]
fn every_read_is_answered_from_its_proven_entries_alone() {
    let w = world();
    for (key, query) in reads(&w) {
        let plain = w.net.read(&key, query.clone());
        let proven = w.net.read_proven(&key, query.clone()).unwrap();
        assert_eq!(describe(&proven.result), describe(&plain), "{query:?}");
        let verified = w
            .net
            .verify_proven(&proven, &key.identity(), &query)
            .unwrap_or_else(|e| panic!("{query:?}: {e}"));
        assert_eq!(describe(&verified), describe(&plain), "{query:?}");
    }
}

#[test]
fn pages_of_a_long_list_verify_one_by_one_and_together_make_the_whole_list() {
    let w = world();
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let query = Query::GetAccessGrantsGranted {
            user_id: None,
            page: PageRequest { after, limit: 6 },
        };
        let proven = w.net.read_proven(&w.grantee, query.clone()).unwrap();
        let verified = w
            .net
            .verify_proven(&proven, &w.grantee.identity(), &query)
            .unwrap()
            .unwrap();
        let QueryOutput::AccessGrants(page) = verified else {
            panic!("grants expected")
        };
        seen.extend(page.items.iter().map(|g| g.data_id));
        match page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    let mut copies = w.copies.clone();
    copies.sort();
    seen.sort();
    assert_eq!(seen, copies);
}

fn proven(w: &World, key: &SigningKey, query: &Query) -> ProvenAnswer {
    w.net.read_proven(key, query.clone()).unwrap()
}

fn verdict(w: &World, key: &SigningKey, query: &Query, entries: Vec<ProvenEntry>) -> &'static str {
    let mut answer = proven(w, key, query);
    answer.entries = entries;
    match w.net.verify_proven(&answer, &key.identity(), query) {
        Ok(_) => "verified",
        Err(e) => e.code(),
    }
}

fn entry_of(answer: &ProvenAnswer, table: &str) -> usize {
    answer
        .entries
        .iter()
        .position(|e| e.table == table)
        .unwrap_or_else(|| panic!("no {table} entry"))
}

#[test]
fn fail_one_ciphertext_byte_flipped() {
    let w = world();
    let query = Query::GetCredentialShared { id: w.copies[2] };
    let answer = proven(&w, &w.grantee, &query);
    let mut entries = answer.entries.clone();
    let at = entry_of(&answer, "credentials");
    let value = entries[at].value.as_mut().unwrap();
    let last = value.len() - 1;
    value[last] ^= 1;
    assert_eq!(
        verdict(&w, &w.grantee, &query, entries),
        "proof_value_mismatch"
    );
}

#[test]
fn fail_one_grant_dropped_from_a_list() {
    let w = world();
    let query = Query::GetAccessGrantsGranted {
        user_id: None,
        page: page(100),
    };
    let answer = proven(&w, &w.grantee, &query);
    // The relay edits the directory chunk: one entry (height ‖ grant id, 24 bytes) out.
    let mut edited = answer.entries.clone();
    let at = entry_of(&answer, "directories");
    let (lower, entries, total) = borsh::from_slice::<(Option<Vec<u8>>, Vec<u8>, Option<u64>)>(
        edited[at].value.as_ref().unwrap(),
    )
    .unwrap();
    edited[at].value = Some(borsh::to_vec(&(lower, entries[24..].to_vec(), total)).unwrap());
    assert_eq!(
        verdict(&w, &w.grantee, &query, edited),
        "proof_list_altered"
    );
    // Or leaves the chunk out, or the grant's row.
    let mut edited = answer.entries.clone();
    edited.remove(at);
    assert_eq!(verdict(&w, &w.grantee, &query, edited), "proof_incomplete");
    let mut edited = answer.entries.clone();
    edited.remove(entry_of(&answer, "grants"));
    assert_eq!(verdict(&w, &w.grantee, &query, edited), "proof_incomplete");
}

#[test]
fn fail_an_existing_key_claimed_absent() {
    let w = world();
    let query = Query::GetUser;
    let answer = proven(&w, &w.alice.wallet, &query);
    let mut entries = answer.entries.clone();
    let at = entry_of(&answer, "wallets_by_address");
    entries[at].value = None;
    assert_eq!(
        verdict(&w, &w.alice.wallet, &query, entries),
        "proof_absence_refuted"
    );
}

#[test]
fn fail_entries_proven_against_another_root() {
    let mut w = world();
    let query = Query::GetCredentials { page: page(5) };
    let stale = proven(&w, &w.alice.wallet, &query);
    // A new credential: the root moves on, and the old entries do not prove against it.
    let credential = credential_input(
        &w.issuer.key,
        &public_notes("urn:vc:new", "active"),
        &plaintext("urn:vc:new"),
        &w.alice.public_key(),
    );
    let signer = w.issuer.signer();
    let user_id = w.alice.id;
    w.net
        .submit(
            &signer,
            UpsertCredentialAsInserter {
                id: Uuid::new_v4(),
                user_id,
                credential,
            },
        )
        .unwrap();
    assert_ne!(
        verdict(&w, &w.alice.wallet, &query, stale.entries),
        "verified"
    );
}

#[test]
fn fail_a_proof_op_of_another_type_or_undecodable() {
    let w = world();
    let answer = proven(&w, &w.alice.wallet, &Query::GetUser);
    let (key, data) = answer.entries[0].to_op_parts();
    assert!(ProvenEntry::from_op_parts(idos_state::proof::PROOF_OP_TYPE, &key, &data).is_ok());
    let code = |r: Result<ProvenEntry, ProofError>| r.map(|_| "ok").unwrap_or_else(|e| e.code());
    assert_eq!(
        code(ProvenEntry::from_op_parts("ics23:iavl", &key, &data)),
        "proof_malformed"
    );
    assert_eq!(
        code(ProvenEntry::from_op_parts(
            idos_state::proof::PROOF_OP_TYPE,
            &key[1..],
            &data
        )),
        "proof_malformed"
    );
    assert_eq!(
        code(ProvenEntry::from_op_parts(
            idos_state::proof::PROOF_OP_TYPE,
            &key,
            &[data.clone(), vec![0]].concat()
        )),
        "proof_malformed"
    );
    // A table outside the state (the block store) proves nothing.
    let mut entries = answer.entries.clone();
    entries[0].table = "blocks".into();
    assert_eq!(
        verdict(&w, &w.alice.wallet, &Query::GetUser, entries),
        "proof_malformed"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any one byte of any proof op changed (its key or its data): the read never verifies.
    #[test]
    fn a_proof_with_any_byte_changed_never_verifies(
        pick in any::<prop::sample::Index>(),
        position in any::<prop::sample::Index>(),
        in_key in any::<bool>(),
        flip in 1u8..=255,
    ) {
        static WORLD: std::sync::OnceLock<(World, ProvenAnswer)> = std::sync::OnceLock::new();
        let (w, answer) = WORLD.get_or_init(|| {
            let w = world();
            let query = Query::GetCredentialsSharedByUser {
                user_id: w.alice.id,
                original_issuer_auth_public_key: None,
                page: page(3),
            };
            let answer = proven(&w, &w.grantee, &query);
            (w, answer)
        });
        let query = Query::GetCredentialsSharedByUser {
            user_id: w.alice.id,
            original_issuer_auth_public_key: None,
            page: page(3),
        };
        let mut entries = answer.entries.clone();
        let at = pick.index(entries.len());
        let (mut key, mut data) = entries[at].to_op_parts();
        let bytes = if in_key { &mut key } else { &mut data };
        let i = position.index(bytes.len());
        bytes[i] ^= flip;
        match ProvenEntry::from_op_parts(idos_state::proof::PROOF_OP_TYPE, &key, &data) {
            Err(_) => {}
            Ok(changed) => {
                entries[at] = changed;
                let mut tampered = ProvenAnswer { entries, ..answer_clone(answer) };
                tampered.result = Ok(QueryOutput::Bool(true));
                let verified = w.net.verify_proven(&tampered, &w.grantee.identity(), &query);
                prop_assert!(verified.is_err(), "verified with byte {i} of entry {at} changed");
            }
        }
    }
}

fn answer_clone(answer: &ProvenAnswer) -> ProvenAnswer {
    ProvenAnswer {
        height: answer.height,
        app_hash: answer.app_hash,
        result: Ok(QueryOutput::Bool(false)),
        entries: answer.entries.clone(),
    }
}

#[test]
fn a_proof_leaf_key_sits_where_the_absence_check_reads_it() {
    // `proof_shows_leaf` reads the leaf's key from the proof's Borsh form; a presence proof
    // claimed absent must be told apart from a mere mismatch.
    let w = world();
    let answer = proven(&w, &w.alice.wallet, &Query::GetUser);
    let present = answer.entries.iter().find(|e| e.value.is_some()).unwrap();
    let bytes = borsh::to_vec(&present.proof).unwrap();
    let table = node::store::Table::ALL
        .iter()
        .find(|t| t.name() == present.table)
        .unwrap();
    assert_eq!(bytes[0], 1);
    assert_eq!(
        &bytes[1..33],
        idos_state::proof::key_hash(*table, &present.key)
            .0
            .as_slice()
    );
}

#[test]
fn fail_a_chunk_left_out_so_that_the_next_one_seems_to_hold_the_cursor() {
    let w = world();
    let first = Query::GetAccessGrantsGranted {
        user_id: None,
        page: page(10),
    };
    let answer = proven(&w, &w.grantee, &first);
    let Ok(QueryOutput::AccessGrants(first_page)) = &answer.result else {
        panic!("a page of grants")
    };
    // The next page starts inside the first chunk (40 grants make two) and runs into the next.
    let query = Query::GetAccessGrantsGranted {
        user_id: None,
        page: PageRequest {
            after: first_page.next_cursor.clone(),
            limit: 30,
        },
    };
    let answer = proven(&w, &w.grantee, &query);
    let chunks: Vec<usize> = (0..answer.entries.len())
        .filter(|i| answer.entries[*i].table == "directories")
        .collect();
    assert_eq!(chunks.len(), 2, "the page spans two chunks");
    // The relay drops the chunk that holds the cursor: the later chunk, proven and genuine,
    // must not pass for it (its lower bound is past the cursor).
    let mut entries = answer.entries.clone();
    entries.remove(chunks[0]);
    assert_eq!(verdict(&w, &w.grantee, &query, entries), "proof_incomplete");
}
