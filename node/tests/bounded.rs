//! Bounded work: with 100,000 grants, copies, wallets, attributes, credentials and delegates
//! in state, every read costs rows in proportion to its page and every transaction rows in
//! proportion to what it carries, counted with the store's row counter (`Store::rows_read`:
//! one per `get`, one per step of a RocksDB iterator).

use node::state::rows::{AttributeRow, CredentialRow, GrantRow, WalletRow};
use node::state::{put_attribute, put_credential, put_grant, put_wallet};
use node::store::{Changes, Read, Table, Working, Write, key};
use node::testkit::*;
use protocol::action::*;
use protocol::bytes::{Ed25519PublicKey, EncryptionPublicKey, Sha256Digest};
use protocol::grant::GrantInserterType;
use protocol::identity::{Identity, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use protocol::query::{PageRequest, Query};
use protocol::records::{Page, QueryOutput};
use tempfile::TempDir;
use uuid::Uuid;

const N: u128 = 100_000;

/// The most rows a page of `k` may read: a few per row (index key, row, its original, the
/// issuer's notes), plus a constant (caller lookup, metadata, the look-ahead key).
fn page_budget(k: u32) -> u64 {
    4 * k as u64 + 20
}

/// The most rows a transaction that carries a handful of ids may read (nonce, caller, rows it
/// names, their indexes and counters), whatever the state holds.
const TX_BUDGET: u64 = 80;

/// The most state-tree entries the block of one such transaction may read: its changed rows'
/// paths (about log16 of the rows in state each) and a row of the stale index.
const TREE_BUDGET: u64 = 200;

fn id(kind: u128, i: u128) -> Uuid {
    Uuid::from_u128((kind << 64) | i)
}

struct Fixture {
    _dir: TempDir,
    net: TestNet,
    issuer: Issuer,
    alice: User,
    bob: User,
    grantee: SigningKey,
    original: Uuid,
    original_attribute: Uuid,
    bulk_vc_id: String,
    empty_inserter: Uuid,
}

/// Writes the bulk rows straight into the store with the state machine's own index
/// maintenance (signing 100,000 transactions would only make the test slow).
fn fixture() -> Fixture {
    let dir = TempDir::new().unwrap();
    let mut net = TestNet::new(dir.path());
    let issuer = net.add_issuer("Acme KYC");
    let alice = net.add_user(&issuer, true);
    let bob = net.add_user(&issuer, false);
    let grantee = SigningKey::generate_ed25519();
    let original = Uuid::new_v4();
    let credential = credential_input(
        &issuer.key,
        &public_notes("urn:vc:o", "active"),
        &plaintext("urn:vc:o"),
        &alice.public_key(),
    );
    net.submit(
        &issuer.signer(),
        UpsertCredentialAsInserter {
            id: original,
            user_id: alice.id,
            credential,
        },
    )
    .unwrap();
    let original_attribute = Uuid::new_v4();
    net.submit(
        &alice.wallet,
        AddAttribute {
            id: original_attribute,
            attribute_key: "email".into(),
            value: "a@example.com".into(),
        },
    )
    .unwrap();
    let empty_inserter = Uuid::new_v4();
    let owner = net.owner.clone();
    for (id, name) in [(empty_inserter, "Empty"), (Uuid::new_v4(), "Crowded")] {
        net.submit(
            &owner,
            AddInserter {
                id,
                name: name.into(),
            },
        )
        .unwrap();
    }
    let crowded = net
        .app
        .store()
        .get(Table::InsertersByName, b"Crowded")
        .unwrap()
        .unwrap();
    let bulk_vc_id = "urn:vc:bulk".to_owned();
    let bulk_notes = public_notes(&bulk_vc_id, "active");

    let block = Changes::default();
    let mut w = Working::new(net.app.store(), &block);
    for i in 0..N {
        // A copy of Alice's original with a grant to the grantee (heights 1,000 apart).
        let copy = id(1, i);
        let row = CredentialRow {
            user_id: alice.id,
            public_notes: String::new(),
            content: vec![7; 60].into(),
            encryptor_public_key: EncryptionPublicKey::from_bytes([2; 32]),
            issuer_auth_public_key: Ed25519PublicKey::from_bytes([3; 32]),
            inserter: None,
            verifiable_credential_id: None,
            original_id: Some(original),
        };
        put_credential(&mut w, &copy, &row, None).unwrap();
        let grant = GrantRow {
            owner: alice.id,
            grantee: grantee.identity(),
            data_id: copy,
            locked_until: 0,
            content_hash: Sha256Digest::from_bytes([4; 32]),
            height: 1000 + (i as u64 / 1000),
            inserter_type: GrantInserterType::User,
            inserter_id: alice.wallet.identity().identifier(),
        };
        put_grant(&mut w, &id(2, i), &grant, Some(&original)).unwrap();
        // A wallet of Alice.
        let mut key_bytes = [5; 32];
        key_bytes[..16].copy_from_slice(&i.to_be_bytes());
        let wallet = WalletRow {
            user_id: alice.id,
            wallet: Identity::Ed25519(Ed25519PublicKey::from_bytes(key_bytes)),
            nonce: protocol::bytes::Nonce128::from_bytes([6; 16]),
            signature: vec![0; 64].into(),
            inserter: None,
        };
        put_wallet(&mut w, &id(3, i), &wallet).unwrap();
        // A shared copy of Alice's attribute.
        let attribute = AttributeRow {
            user_id: alice.id,
            attribute_key: "email".into(),
            value: "enc".into(),
            inserter: None,
            original_id: Some(original_attribute),
        };
        put_attribute(&mut w, &id(4, i), &attribute).unwrap();
        // Bob's originals, all from the issuer with one verifiable credential id.
        let bobs = CredentialRow {
            user_id: bob.id,
            public_notes: bulk_notes.clone(),
            content: vec![8; 60].into(),
            encryptor_public_key: EncryptionPublicKey::from_bytes([2; 32]),
            issuer_auth_public_key: issuer.key.public_key(),
            inserter: Some(issuer.name.clone()),
            verifiable_credential_id: Some(bulk_vc_id.clone()),
            original_id: None,
        };
        put_credential(&mut w, &id(5, i), &bobs, None).unwrap();
        // A delegate of the crowded inserter.
        let delegate = key::identity(&Identity::Ed25519(Ed25519PublicKey::from_bytes(key_bytes)));
        w.put(Table::Delegates, delegate.clone(), crowded.clone());
        w.mark(Table::DelegatesByInserter, key::cat(&[&crowded, &delegate]));
    }
    net.app.store().commit(&w.into_changes()).unwrap();
    Fixture {
        _dir: dir,
        net,
        issuer,
        alice,
        bob,
        grantee,
        original,
        original_attribute,
        bulk_vc_id,
        empty_inserter,
    }
}

fn rows_read(f: &Fixture) -> u64 {
    f.net.app.store().rows_read()
}

/// Reads `query` as `key` and returns how many rows it read and its page's size and cursor.
fn measured_read(f: &Fixture, key: &SigningKey, query: Query) -> (u64, usize, bool) {
    let before = rows_read(f);
    let out = f.net.read(key, query.clone()).unwrap();
    let rows = rows_read(f) - before;
    let (len, more) = match out {
        QueryOutput::Wallets(Page { items, next_cursor }) => (items.len(), next_cursor.is_some()),
        QueryOutput::Credentials(Page { items, next_cursor }) => {
            (items.len(), next_cursor.is_some())
        }
        QueryOutput::Attributes(Page { items, next_cursor }) => {
            (items.len(), next_cursor.is_some())
        }
        QueryOutput::AccessGrants(Page { items, next_cursor }) => {
            (items.len(), next_cursor.is_some())
        }
        QueryOutput::Count(_) | QueryOutput::Bool(_) | QueryOutput::CredentialId(_) => (1, false),
        other => panic!("{other:?}"),
    };
    (rows, len, more)
}

/// Submits `action` in a block of its own; returns the rows it read, and the state-tree
/// entries its block read (the tree update along the changed rows' paths, and pruning).
fn measured_tx(f: &mut Fixture, key: &SigningKey, action: impl Into<Action>) -> (u64, u64) {
    let store = f.net.app.store();
    let (rows, tree) = (store.rows_read(), store.tree_nodes_read());
    f.net.submit(key, action).unwrap();
    let store = f.net.app.store();
    (store.rows_read() - rows, store.tree_nodes_read() - tree)
}

#[test]
fn reads_and_transactions_cost_their_own_size_with_100000_grants_in_state() {
    let mut f = fixture();
    let alice = f.alice.wallet.clone();
    let grantee = f.grantee.clone();
    let alice_id = f.alice.id;
    let issuer_key = f.issuer.key.public_key();

    // ----- reads: a page of k reads O(k) rows --------------------------------------------
    for k in [1u32, 10, 100] {
        let page = PageRequest::first(k);
        let pages: Vec<(&str, &SigningKey, Query)> = vec![
            (
                "get_wallets",
                &alice,
                Query::GetWallets { page: page.clone() },
            ),
            (
                "get_credentials",
                &alice,
                Query::GetCredentials { page: page.clone() },
            ),
            (
                "get_attributes",
                &alice,
                Query::GetAttributes { page: page.clone() },
            ),
            (
                "get_access_grants_owned",
                &alice,
                Query::GetAccessGrantsOwned { page: page.clone() },
            ),
            (
                "get_access_grants_granted",
                &grantee,
                Query::GetAccessGrantsGranted {
                    user_id: None,
                    page: page.clone(),
                },
            ),
            (
                "get_access_grants_granted by owner",
                &grantee,
                Query::GetAccessGrantsGranted {
                    user_id: Some(alice_id),
                    page: page.clone(),
                },
            ),
            (
                "get_credentials_shared_by_user",
                &grantee,
                Query::GetCredentialsSharedByUser {
                    user_id: alice_id,
                    original_issuer_auth_public_key: None,
                    page: page.clone(),
                },
            ),
            (
                "get_credentials_shared_by_user by issuer",
                &grantee,
                Query::GetCredentialsSharedByUser {
                    user_id: alice_id,
                    original_issuer_auth_public_key: Some(issuer_key),
                    page: page.clone(),
                },
            ),
        ];
        for (name, key, query) in pages {
            let (rows, len, more) = measured_read(&f, key, query);
            assert_eq!((len, more), (k as usize, true), "{name}, k = {k}");
            assert!(
                rows <= page_budget(k),
                "{name}: a page of {k} read {rows} rows"
            );
        }
    }
    // The last page of one read, reached by its cursor, is as cheap as the first.
    let mut page = PageRequest::first(1000);
    let mut pages = 0;
    let mut seen = 0;
    loop {
        let before = rows_read(&f);
        let out = f
            .net
            .read(
                &grantee,
                Query::GetAccessGrantsGranted {
                    user_id: Some(alice_id),
                    page: page.clone(),
                },
            )
            .unwrap();
        assert!(rows_read(&f) - before <= page_budget(1000));
        let QueryOutput::AccessGrants(out) = out else {
            panic!("{out:?}")
        };
        seen += out.items.len();
        pages += 1;
        match out.next_cursor {
            Some(cursor) => page = PageRequest::after(cursor, 1000),
            None => break,
        }
    }
    assert_eq!((pages, seen), (100, N as usize));
    // One-row reads and counts read a constant number of rows.
    let one_row: Vec<(&str, &SigningKey, Query)> = vec![
        (
            "get_access_grants_granted_count",
            &grantee,
            Query::GetAccessGrantsGrantedCount { user_id: None },
        ),
        (
            "get_access_grants_granted_count by owner",
            &grantee,
            Query::GetAccessGrantsGrantedCount {
                user_id: Some(alice_id),
            },
        ),
        (
            "has_locked_access_grants",
            &alice,
            Query::HasLockedAccessGrants { id: f.original },
        ),
        (
            "get_sibling_credential_id",
            &grantee,
            Query::GetSiblingCredentialId {
                content_hash: Sha256Digest::from_bytes([4; 32]),
            },
        ),
        (
            "get_access_grants_for_credential",
            &grantee,
            Query::GetAccessGrantsForCredential {
                credential_id: id(1, 5),
                page: PageRequest::first(10),
            },
        ),
    ];
    for (name, key, query) in one_row {
        let (rows, _, more) = measured_read(&f, key, query);
        assert!(!more, "{name}");
        assert!(rows <= 20, "{name} read {rows} rows");
    }
    assert_eq!(
        f.net
            .read(
                &grantee,
                Query::GetAccessGrantsGrantedCount { user_id: None }
            )
            .unwrap(),
        QueryOutput::Count(N as u64)
    );

    // ----- transactions: the rows they carry, not the rows in state ------------------------
    let owner = f.net.owner.clone();
    let new_key = EncryptionSecretKey::generate();
    let rotate = RotateEncryptionKey {
        recipient_encryption_public_key: new_key.public_key(),
        encryption_password_store: PasswordStore::User,
        originals: vec![ReencryptedCredential {
            id: f.original,
            content: vec![9; 60].into(),
            encryptor_public_key: EncryptionSecretKey::generate().public_key(),
        }],
    };
    let issuer_signer = f.issuer.signer();
    let second_wallet = SigningKey::generate_evm();
    let proof = wallet_proof(&second_wallet, &alice_id, CHAIN_ID, Uuid::new_v4());
    let approval = wallet_approval(&alice, &alice_id, &proof, CHAIN_ID);
    let edit_notes = EditPublicNotesAsIssuer {
        public_notes_id: f.bulk_vc_id.clone(),
        public_notes: public_notes(&f.bulk_vc_id, "revoked"),
    };
    let transactions: Vec<(&str, SigningKey, Action)> = vec![
        ("rotate_encryption_key", alice.clone(), rotate.into()),
        (
            "upsert_wallet_as_inserter",
            issuer_signer.clone(),
            UpsertWalletAsInserter {
                user_id: alice_id,
                wallet: proof,
                approval: Some(approval),
            }
            .into(),
        ),
        (
            "edit_public_notes_as_issuer",
            issuer_signer,
            edit_notes.into(),
        ),
        (
            "remove_credential (an original with 100,000 copies)",
            alice.clone(),
            RemoveCredential { id: f.original }.into(),
        ),
        (
            "remove_attribute (an original with 100,000 copies)",
            alice.clone(),
            RemoveAttribute {
                id: f.original_attribute,
            }
            .into(),
        ),
        (
            "revoke_access_grant",
            alice.clone(),
            RevokeAccessGrant { id: id(2, 7) }.into(),
        ),
        (
            "rescind_shared_credential",
            grantee.clone(),
            RescindSharedCredential {
                credential_id: id(1, 8),
            }
            .into(),
        ),
        (
            "delete_inserter_as_owner (100,000 delegates of another inserter)",
            owner,
            DeleteInserter {
                id: f.empty_inserter,
            }
            .into(),
        ),
    ];
    for (name, key, action) in transactions {
        let (rows, tree) = measured_tx(&mut f, &key, action);
        eprintln!("{name}: {rows} rows, {tree} tree entries");
        assert!(rows <= TX_BUDGET, "{name} read {rows} rows");
        assert!(
            tree <= TREE_BUDGET,
            "{name}'s block read {tree} state-tree entries"
        );
    }
    // What the transactions did is what they say.
    match f
        .net
        .read(&f.bob.wallet, Query::GetCredentialOwned { id: id(5, 0) })
        .unwrap()
    {
        QueryOutput::Credential(c) => {
            assert_eq!(c.public_notes, public_notes(&f.bulk_vc_id, "revoked"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        f.net
            .read(
                &grantee,
                Query::GetAccessGrantsGrantedCount { user_id: None }
            )
            .unwrap(),
        QueryOutput::Count(N as u64 - 2)
    );
}
