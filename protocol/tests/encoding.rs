//! The canonical transaction and query encodings: round trips, pinned bytes, and every way
//! hostile input can be wrong.

use proptest::prelude::*;
use protocol::action::*;
use protocol::bytes::*;
use protocol::credential::sign_credential;
use protocol::grant::DelegatedWriteGrant;
use protocol::identity::{Ed25519SigningKey, Identity, SigningKey};
use protocol::query::{PageRequest, Query, QueryAuth, SignedQuery};
use protocol::records::Cursor;
use protocol::tx::{MAX_TRANSACTION_BYTES, SignedTransaction, TX_VERSION, Transaction};
use protocol::wallet::{WalletApproval, WalletProof};
use uuid::Uuid;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn issuer() -> Ed25519SigningKey {
    Ed25519SigningKey::from_seed(&[1; 32])
}

fn credential(notes: &str) -> CredentialInput {
    let key = issuer();
    let content = vec![7u8; 60];
    let sigs = sign_credential(&key, notes, &content);
    CredentialInput {
        issuer_auth_public_key: key.public_key(),
        encryptor_public_key: EncryptionPublicKey::from_bytes([2; 32]),
        content: content.into(),
        public_notes: notes.into(),
        public_notes_signature: sigs.public_notes_signature,
        broader_signature: sigs.broader_signature,
    }
}

fn evm() -> Identity {
    Identity::parse("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266").unwrap()
}

fn wallet_proof() -> WalletProof {
    WalletProof {
        id: id(9),
        wallet: evm(),
        nonce: Nonce128::from_bytes([3; 16]),
        signature: vec![4; 65].into(),
    }
}

fn dwg() -> DelegatedWriteGrant {
    DelegatedWriteGrant {
        owner_wallet_identifier: evm(),
        grantee_wallet_identifier: Identity::Ed25519(issuer().public_key()),
        issuer_public_key: issuer().public_key(),
        id: id(77),
        // Every field its own value, so that the pinned bytes change if two fields swap.
        access_grant_timelock: "2026-02-01T00:00:00Z".into(),
        not_usable_before: "2026-01-01T00:00:00Z".into(),
        not_usable_after: "2026-01-02T00:00:00Z".into(),
    }
}

/// One instance of every action, in wire order.
fn every_action() -> Vec<Action> {
    let hash = Sha256Digest::from_bytes([5; 32]);
    vec![
        AddInserter {
            id: id(1),
            name: "Issuer".into(),
        }
        .into(),
        DeleteInserter { id: id(1) }.into(),
        AddDelegate {
            address: evm(),
            inserter_id: id(1),
        }
        .into(),
        DeleteDelegate { address: evm() }.into(),
        AddUserAsInserter {
            id: id(2),
            recipient_encryption_public_key: EncryptionPublicKey::from_bytes([8; 32]),
            encryption_password_store: PasswordStore::User,
        }
        .into(),
        UpsertWalletAsInserter {
            user_id: id(2),
            wallet: wallet_proof(),
            approval: Some(WalletApproval {
                approver: Identity::Ed25519(issuer().public_key()),
                signature: vec![6; 64].into(),
            }),
        }
        .into(),
        UpsertCredentialAsInserter {
            id: id(3),
            user_id: id(2),
            credential: credential("{\"id\":\"x\"}"),
        }
        .into(),
        AddAttributeAsInserter {
            id: id(4),
            user_id: id(2),
            attribute_key: "k".into(),
            value: "v".into(),
        }
        .into(),
        AddWallet {
            wallet: wallet_proof(),
        }
        .into(),
        RemoveWallet { id: id(9) }.into(),
        AddCredential {
            id: id(3),
            credential: credential("{}"),
        }
        .into(),
        EditCredential {
            id: id(3),
            credential: credential("{}"),
        }
        .into(),
        RemoveCredential { id: id(3) }.into(),
        ShareCredential {
            id: id(5),
            original_credential_id: id(3),
            copy: credential(""),
            content_hash: hash,
            grantee_wallet_identifier: evm(),
            locked_until: 1_800_000_000,
        }
        .into(),
        AddAttribute {
            id: id(4),
            attribute_key: "k".into(),
            value: "v".into(),
        }
        .into(),
        EditAttribute {
            id: id(4),
            attribute_key: "k".into(),
            value: "w".into(),
        }
        .into(),
        RemoveAttribute { id: id(4) }.into(),
        ShareAttribute {
            id: id(6),
            original_attribute_id: id(4),
            attribute_key: "k".into(),
            value: "v".into(),
        }
        .into(),
        RevokeAccessGrant { id: id(7) }.into(),
        RotateEncryptionKey {
            recipient_encryption_public_key: EncryptionPublicKey::from_bytes([9; 32]),
            encryption_password_store: PasswordStore::User,
            originals: vec![ReencryptedCredential {
                id: id(3),
                content: vec![1, 2, 3].into(),
                encryptor_public_key: EncryptionPublicKey::from_bytes([10; 32]),
            }],
        }
        .into(),
        RescindSharedCredential {
            credential_id: id(5),
        }
        .into(),
        CreateCredentialsByDwg {
            original_id: id(10),
            original: credential("{\"id\":\"y\"}"),
            copy_id: id(11),
            copy: credential(""),
            content_hash: hash,
            grant: dwg(),
            grant_signature: vec![0; 65].into(),
        }
        .into(),
        EditPublicNotesAsIssuer {
            public_notes_id: "y".into(),
            public_notes: "{\"status\":\"revoked\"}".into(),
        }
        .into(),
    ]
}

fn signed(action: Action, key: &SigningKey) -> SignedTransaction {
    Transaction {
        chain_id: "idos-test".into(),
        nonce: 1,
        signer: key.identity(),
        action,
    }
    .sign(key)
    .unwrap()
}

#[test]
fn every_action_is_covered_in_wire_order() {
    let names: Vec<&str> = every_action().iter().map(Action::name).collect();
    assert_eq!(names, Action::NAMES);
}

#[test]
fn every_action_round_trips_and_verifies_for_both_schemes() {
    for key in [SigningKey::Ed25519(issuer()), SigningKey::generate_evm()] {
        for action in every_action() {
            let tx = signed(action, &key);
            let bytes = tx.encode();
            assert_eq!(bytes[0], TX_VERSION);
            let back = SignedTransaction::decode(&bytes).unwrap();
            assert_eq!(back, tx);
            back.verify_signature().unwrap();
            assert_eq!(back.hash(), tx.hash());
        }
    }
}

#[test]
fn every_action_round_trips_through_json() {
    for action in every_action() {
        let json = serde_json::to_string(&action).unwrap();
        assert!(
            json.starts_with(&format!("{{\"action\":\"{}\"", action.name())),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), action);
    }
}

/// Changing the encoding breaks every stored transaction and every signature: this test
/// fails loudly if a variant or field is reordered.
#[test]
fn encoding_is_pinned() {
    let key = SigningKey::Ed25519(Ed25519SigningKey::from_seed(&[42; 32]));
    let tx = Transaction {
        chain_id: "idos-test".into(),
        nonce: 7,
        signer: key.identity(),
        action: RevokeAccessGrant { id: id(0x0102) }.into(),
    }
    .sign(&key)
    .unwrap();
    let hex = protocol::codec::hex_encode(tx.encode());
    assert_eq!(
        hex,
        concat!(
            "01", // envelope version
            "09000000",
            "69646f732d74657374", // chain id "idos-test"
            "0700000000000000",   // nonce 7 (u64 le)
            "00",
            "197f6b23e16c8532c6abc838facd5ea789be0c76b2920334039bfa8b3d368d61", // Ed25519 signer
            "12",
            "00000000000000000000000000000102", // action 18: revoke_access_grant(id)
            "40000000",                         // signature length 64
        )
        .to_owned()
            + &protocol::codec::hex_encode(&tx.signature[..])
    );
    assert_eq!(
        tx.tx.signing_text(),
        "idOS transaction\nAction: revoke_access_grant\nRevoke an access grant you gave.\n\n\
         Signer: 197f6b23e16c8532c6abc838facd5ea789be0c76b2920334039bfa8b3d368d61\n\
         Arguments digest: 251a81715055f0c19964a425e949c9e02bbdc67db3df347e57e3c011016bb1bd\n\
         Nonce: 7\nChain ID: idos-test\nVersion: 1\n"
    );
}

/// Where [`every_encoding_is_pinned`] keeps the bytes.
const PINS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/pinned-encodings.json"
);

/// The wire bytes of every action, every read and every envelope form, as lowercase hex.
fn current_encodings() -> serde_json::Map<String, serde_json::Value> {
    let hex = |bytes: &[u8]| serde_json::Value::String(protocol::codec::hex_encode(bytes));
    let mut pins = serde_json::Map::new();
    for (tag, action) in every_action().into_iter().enumerate() {
        let bytes = borsh::to_vec(&action).unwrap();
        assert_eq!(
            bytes[0] as usize,
            tag,
            "{} is not in wire order",
            action.name()
        );
        pins.insert(format!("action {}", action.name()), hex(&bytes));
    }
    for (tag, query) in every_query().into_iter().enumerate() {
        let bytes = borsh::to_vec(&query).unwrap();
        assert_eq!(
            bytes[0] as usize,
            tag,
            "{} is not in wire order",
            query.name()
        );
        pins.insert(format!("query {}", query.name()), hex(&bytes));
    }
    // The envelopes, signed with fixed keys (Ed25519 and RFC 6979 ECDSA are deterministic).
    let ed25519 = SigningKey::Ed25519(Ed25519SigningKey::from_seed(&[42; 32]));
    let evm = SigningKey::from_hex(
        protocol::identity::SignatureScheme::Eip191,
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    )
    .unwrap();
    let scheme_key = |scheme, hex: String| SigningKey::from_hex(scheme, &hex).unwrap();
    use protocol::identity::SignatureScheme;
    let near = scheme_key(SignatureScheme::Nep413, "44".repeat(32));
    let xrpl_secp256k1 = scheme_key(SignatureScheme::Xrpl, format!("00{}", "45".repeat(32)));
    let xrpl_ed25519 = scheme_key(SignatureScheme::Xrpl, format!("ED{}", "46".repeat(32)));
    let stellar = scheme_key(SignatureScheme::Stellar, "47".repeat(32));
    let share = every_action().remove(13);
    assert_eq!(share.name(), "share_credential");
    for (scheme, key) in [
        ("ed25519", &ed25519),
        ("evm", &evm),
        ("near", &near),
        ("xrpl secp256k1", &xrpl_secp256k1),
        ("xrpl ed25519", &xrpl_ed25519),
        ("stellar", &stellar),
    ] {
        let tx = Transaction {
            chain_id: "idos-test".into(),
            nonce: 7,
            signer: key.identity(),
            action: share.clone(),
        }
        .sign(key)
        .unwrap();
        pins.insert(format!("transaction signed by {scheme}"), hex(&tx.encode()));
    }
    let read = Query::GetCredentialShared { id: id(1) };
    let gateway = Ed25519SigningKey::from_seed(&[43; 32]);
    for (form, signed) in [
        (
            "signed by ed25519",
            SignedQuery::signed("idos-test", read.clone(), &ed25519, 1_750_000_000),
        ),
        (
            "signed by evm",
            SignedQuery::signed("idos-test", read.clone(), &evm, 1_750_000_000),
        ),
        (
            "attested by a gateway",
            SignedQuery::attested(
                "idos-test",
                read.clone(),
                evm.identity(),
                &gateway,
                1_750_000_000,
            ),
        ),
        (
            "anonymous",
            SignedQuery::anonymous("idos-test", read.clone()),
        ),
    ] {
        pins.insert(format!("read {form}"), hex(&signed.encode()));
    }
    pins
}

/// Every action's and every read's bytes, and the signed envelopes', are pinned in
/// `tests/vectors/pinned-encodings.json`. Borsh writes enum variants by declaration order and
/// fields in declaration order, so reordering variants or fields, swapping two fields or changing
/// a field's type changes these bytes, and with them the meaning of every stored block and every
/// client's transactions. After an intended change (new variants and fields go at the end), run
/// `IDOS_UPDATE_PINS=1 cargo test --workspace --test encoding` and review the diff: no existing
/// line may change.
#[test]
fn every_encoding_is_pinned() {
    let current = current_encodings();
    if std::env::var_os("IDOS_UPDATE_PINS").is_some() {
        let text = serde_json::to_string_pretty(&current).unwrap() + "\n";
        std::fs::write(PINS, text).unwrap();
    }
    let pinned: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(PINS).unwrap()).unwrap();
    let changed: Vec<&String> = pinned
        .iter()
        .filter(|(name, bytes)| current.get(*name) != Some(bytes))
        .map(|(name, _)| name)
        .collect();
    assert!(changed.is_empty(), "the encoding of {changed:?} changed");
    let unpinned: Vec<&String> = current
        .keys()
        .filter(|n| !pinned.contains_key(*n))
        .collect();
    assert!(
        unpinned.is_empty(),
        "{unpinned:?} have no pinned bytes: run with IDOS_UPDATE_PINS=1 and commit the file"
    );
}

#[test]
fn signing_text_names_action_chain_nonce_and_digest() {
    let key = SigningKey::generate_evm();
    let tx = signed(every_action().remove(13), &key);
    let text = tx.tx.signing_text();
    assert!(text.contains("Action: share_credential\n"));
    assert!(text.contains("Chain ID: idos-test\n"));
    assert!(text.contains("Nonce: 1\n"));
    assert!(text.contains(&format!("Arguments digest: {}\n", tx.tx.arguments_digest())));
    assert!(text.contains(&format!("Signer: {}\n", key.identity().display_name())));
}

fn fresh_tx() -> SignedTransaction {
    signed(
        RevokeAccessGrant { id: id(1) }.into(),
        &SigningKey::Ed25519(issuer()),
    )
}

fn decode_err(bytes: &[u8]) -> &'static str {
    SignedTransaction::decode(bytes).unwrap_err().code()
}

#[test]
fn fail_empty_input() {
    assert_eq!(decode_err(&[]), "malformed");
}

#[test]
fn fail_unknown_version() {
    let mut bytes = fresh_tx().encode();
    bytes[0] = 2;
    assert_eq!(decode_err(&bytes), "unsupported_version");
    bytes[0] = 0;
    assert_eq!(decode_err(&bytes), "unsupported_version");
}

/// One instance of every read, with every optional field set (so that truncations cut
/// through each of them).
fn every_query() -> Vec<Query> {
    let page = PageRequest::after(Cursor::new(vec![9; 24]).unwrap(), 10);
    vec![
        Query::GetUser,
        Query::GetUserAsInserter { id: id(1) },
        Query::CredentialExistAsInserter { id: id(1) },
        Query::GetWallets { page: page.clone() },
        Query::GetCredentials { page: page.clone() },
        Query::GetCredentialOwned { id: id(1) },
        Query::GetAttributes { page: page.clone() },
        Query::GetAccessGrantsOwned { page: page.clone() },
        Query::HasLockedAccessGrants { id: id(1) },
        Query::GetAccessGrantsGranted {
            user_id: Some(id(2)),
            page: page.clone(),
        },
        Query::GetAccessGrantsGrantedCount {
            user_id: Some(id(2)),
        },
        Query::GetAccessGrantsForCredential {
            credential_id: id(1),
            page: page.clone(),
        },
        Query::GetCredentialShared { id: id(1) },
        Query::GetCredentialsSharedByUser {
            user_id: id(2),
            original_issuer_auth_public_key: Some(issuer().public_key()),
            page,
        },
        Query::GetSiblingCredentialId {
            content_hash: Sha256Digest::from_bytes([5; 32]),
        },
        Query::HasProfile { address: evm() },
        Query::DwgMessage { grant: dwg() },
        Query::WalletProofMessage {
            user_id: id(2),
            wallet: evm(),
            nonce: Nonce128::from_bytes([3; 16]),
        },
        Query::NextNonce { account: evm() },
        Query::WalletApprovalMessage {
            user_id: id(2),
            approver: evm(),
            new_wallet: Identity::Ed25519(issuer().public_key()),
            proof_nonce: Nonce128::from_bytes([3; 16]),
        },
    ]
}

#[test]
fn every_query_is_covered_once() {
    let mut names: Vec<&str> = every_query().iter().map(Query::name).collect();
    let all = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all);
    assert_eq!(all, 20, "a new read needs a line in every_query()");
}

/// Every strict prefix of every action's transaction and of every read (signed, attested
/// and anonymous) is refused with a typed error.
#[test]
fn fail_every_truncation() {
    let key = SigningKey::Ed25519(issuer());
    for action in every_action() {
        let name = action.name();
        let bytes = signed(action, &key).encode();
        for len in 0..bytes.len() {
            let code = decode_err(&bytes[..len]);
            assert!(
                matches!(code, "malformed" | "unsupported_version"),
                "{name}, len {len}: {code}"
            );
        }
    }
    let gateway = Ed25519SigningKey::from_seed(&[6; 32]);
    for query in every_query() {
        let name = query.name();
        for signed in [
            SignedQuery::signed("idos-test", query.clone(), &key, 1_000),
            SignedQuery::attested("idos-test", query.clone(), evm(), &gateway, 1_000),
            SignedQuery::anonymous("idos-test", query.clone()),
        ] {
            let bytes = signed.encode();
            assert_eq!(SignedQuery::decode(&bytes).unwrap(), signed, "{name}");
            for len in 0..bytes.len() {
                let code = SignedQuery::decode(&bytes[..len]).unwrap_err().code();
                assert!(
                    matches!(code, "malformed" | "unsupported_version"),
                    "{name}, len {len}: {code}"
                );
            }
        }
    }
}

#[test]
fn fail_trailing_bytes() {
    let mut bytes = fresh_tx().encode();
    bytes.push(0);
    assert_eq!(decode_err(&bytes), "malformed");
}

#[test]
fn fail_oversized_transaction() {
    let bytes = vec![TX_VERSION; MAX_TRANSACTION_BYTES + 1];
    assert_eq!(decode_err(&bytes), "too_large");
}

#[test]
fn fail_unknown_action_tag() {
    let mut bytes = fresh_tx().encode();
    // version(1) + chain id (4 + 9) + nonce (8) + signer (1 + 32) = offset of the action tag.
    let tag_at = 1 + 4 + 9 + 8 + 1 + 32;
    assert_eq!(bytes[tag_at], 18);
    bytes[tag_at] = 200;
    assert_eq!(decode_err(&bytes), "malformed");
}

#[test]
fn fail_unknown_signer_scheme() {
    let mut bytes = fresh_tx().encode();
    bytes[1 + 4 + 9 + 8] = 9;
    assert_eq!(decode_err(&bytes), "malformed");
}

#[test]
fn fail_non_canonical_option_tag_and_bad_utf8() {
    let key = SigningKey::Ed25519(issuer());
    // An option's tag is 0 (none) or 1 (some); 2 is refused, in a transaction and in a read.
    let tx = signed(
        UpsertWalletAsInserter {
            user_id: id(2),
            wallet: wallet_proof(),
            approval: None,
        }
        .into(),
        &key,
    );
    let mut bytes = tx.encode();
    let tag_at = bytes.len() - (4 + tx.signature.len()) - 1;
    assert_eq!(bytes[tag_at], 0, "the approval's option tag");
    bytes[tag_at] = 2;
    assert_eq!(decode_err(&bytes), "malformed");
    let query = SignedQuery::anonymous("c", Query::GetAccessGrantsGrantedCount { user_id: None });
    let mut bytes = query.encode();
    // version, chain id "c" (4 + 1), the query's tag, then the option's.
    let tag_at = 1 + 4 + 1 + 1;
    assert_eq!(bytes[tag_at], 0, "user_id's option tag");
    bytes[tag_at] = 2;
    assert_eq!(SignedQuery::decode(&bytes).unwrap_err().code(), "malformed");
    // Text that is not UTF-8.
    let tx = signed(
        AddInserter {
            id: id(1),
            name: "Issuer".into(),
        }
        .into(),
        &key,
    );
    let mut bytes = tx.encode();
    let at = bytes.windows(6).position(|w| w == b"Issuer").unwrap();
    bytes[at] = 0xff;
    assert_eq!(decode_err(&bytes), "malformed");
}

#[test]
fn fail_length_prefix_larger_than_input() {
    let mut bytes = fresh_tx().encode();
    bytes[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(decode_err(&bytes), "malformed");
}

#[test]
fn fail_bad_chain_ids() {
    let key = SigningKey::Ed25519(issuer());
    for chain in ["", "a\nb", "x y", &"c".repeat(51)] {
        let tx = Transaction {
            chain_id: chain.into(),
            nonce: 1,
            signer: key.identity(),
            action: RemoveWallet { id: id(1) }.into(),
        };
        let bytes = tx.sign(&key).unwrap().encode();
        assert_eq!(decode_err(&bytes), "invalid_field", "{chain:?}");
    }
}

#[test]
fn fail_zero_nonce() {
    let key = SigningKey::Ed25519(issuer());
    let tx = Transaction {
        chain_id: "c".into(),
        nonce: 0,
        signer: key.identity(),
        action: RemoveWallet { id: id(1) }.into(),
    };
    assert_eq!(
        decode_err(&tx.sign(&key).unwrap().encode()),
        "invalid_field"
    );
}

#[test]
fn fail_oversized_fields() {
    let key = SigningKey::Ed25519(issuer());
    let tx = signed(
        AddAttribute {
            id: id(1),
            attribute_key: "k".repeat(limits::ATTRIBUTE_KEY + 1),
            value: "v".into(),
        }
        .into(),
        &key,
    );
    assert_eq!(decode_err(&tx.encode()), "too_large");
    let tx = signed(
        AddInserter {
            id: id(1),
            name: "  ".into(),
        }
        .into(),
        &key,
    );
    assert_eq!(decode_err(&tx.encode()), "invalid_field");
}

#[test]
fn fail_negative_lock() {
    let key = SigningKey::Ed25519(issuer());
    let mut action = every_action().remove(13);
    if let Action::ShareCredential(share) = &mut action {
        share.locked_until = -1;
    }
    assert_eq!(decode_err(&signed(action, &key).encode()), "invalid_field");
}

#[test]
fn fail_signature_from_another_key_or_tampered_fields() {
    let key = SigningKey::generate_evm();
    let mut tx = signed(RemoveWallet { id: id(1) }.into(), &key);
    tx.tx.nonce = 2;
    assert_eq!(tx.verify_signature().unwrap_err().code(), "bad_signature");
    let mut tx = signed(RemoveWallet { id: id(1) }.into(), &key);
    tx.tx.chain_id = "other-chain".into();
    assert_eq!(tx.verify_signature().unwrap_err().code(), "bad_signature");
    let mut tx = signed(RemoveWallet { id: id(1) }.into(), &key);
    tx.tx.action = RemoveWallet { id: id(2) }.into();
    assert_eq!(tx.verify_signature().unwrap_err().code(), "bad_signature");
    let mut tx = signed(RemoveWallet { id: id(1) }.into(), &key);
    tx.tx.signer = SigningKey::generate_evm().identity();
    assert_eq!(tx.verify_signature().unwrap_err().code(), "bad_signature");
}

#[test]
fn fail_signing_with_a_key_that_is_not_the_signer() {
    let tx = Transaction {
        chain_id: "c".into(),
        nonce: 1,
        signer: SigningKey::generate_evm().identity(),
        action: RemoveWallet { id: id(1) }.into(),
    };
    assert_eq!(
        tx.sign(&SigningKey::generate_evm()).unwrap_err().code(),
        "invalid_field"
    );
}

#[test]
fn queries_round_trip_and_authenticate() {
    let key = SigningKey::generate_evm();
    let q = SignedQuery::signed(
        "idos-test",
        Query::GetCredentials {
            page: PageRequest::default(),
        },
        &key,
        1_000,
    );
    let back = SignedQuery::decode(&q.encode()).unwrap();
    assert_eq!(back, q);
    assert_eq!(
        back.authenticate(1_100, |_| false).unwrap(),
        Some(key.identity())
    );
    // Stale or from the future.
    assert_eq!(
        back.authenticate(1_301, |_| false).unwrap_err().code(),
        "invalid_field"
    );
    assert_eq!(
        back.authenticate(699, |_| false).unwrap_err().code(),
        "invalid_field"
    );

    let gateway = Ed25519SigningKey::from_seed(&[6; 32]);
    let user = SigningKey::generate_evm().identity();
    let q = SignedQuery::attested(
        "idos-test",
        Query::GetWallets {
            page: PageRequest::default(),
        },
        user,
        &gateway,
        1_000,
    );
    let trusted = gateway.public_key();
    assert_eq!(
        q.authenticate(1_000, |g| *g == trusted).unwrap(),
        Some(user)
    );
    assert_eq!(
        q.authenticate(1_000, |_| false).unwrap_err().code(),
        "invalid_field"
    );

    let anon = SignedQuery::anonymous("idos-test", Query::HasProfile { address: user });
    assert_eq!(anon.authenticate(0, |_| false).unwrap(), None);
}

#[test]
fn fail_query_with_forged_caller() {
    let key = SigningKey::generate_evm();
    let mut q = SignedQuery::signed(
        "idos-test",
        Query::GetCredentials {
            page: PageRequest::default(),
        },
        &key,
        1_000,
    );
    if let QueryAuth::Caller { signer, .. } = &mut q.auth {
        *signer = SigningKey::generate_evm().identity();
    }
    assert_eq!(
        q.authenticate(1_000, |_| false).unwrap_err().code(),
        "bad_signature"
    );

    let gateway = Ed25519SigningKey::from_seed(&[6; 32]);
    let trusted = gateway.public_key();
    let mut q = SignedQuery::attested(
        "idos-test",
        Query::GetWallets {
            page: PageRequest::default(),
        },
        key.identity(),
        &gateway,
        1_000,
    );
    if let QueryAuth::Gateway { caller, .. } = &mut q.auth {
        *caller = SigningKey::generate_evm().identity();
    }
    assert_eq!(
        q.authenticate(1_000, |g| *g == trusted).unwrap_err().code(),
        "bad_signature"
    );

    // A signature for one read does not authorise another.
    let mut q = SignedQuery::signed(
        "idos-test",
        Query::GetCredentials {
            page: PageRequest::default(),
        },
        &key,
        1_000,
    );
    q.query = Query::GetWallets {
        page: PageRequest::default(),
    };
    assert_eq!(
        q.authenticate(1_000, |_| false).unwrap_err().code(),
        "bad_signature"
    );
}

#[test]
fn fail_query_page_bounds() {
    let cursor = |n: usize| Cursor::new(vec![1; n]).unwrap();
    let pages = [
        (PageRequest::first(0), "invalid_field"),
        (PageRequest::first(1001), "invalid_field"),
        (PageRequest::after(cursor(64), 0), "invalid_field"),
    ];
    let decode = |page: PageRequest| {
        let q = SignedQuery::anonymous(
            "c",
            Query::GetAccessGrantsGranted {
                user_id: None,
                page,
            },
        );
        SignedQuery::decode(&q.encode())
    };
    for (page, code) in pages {
        assert_eq!(decode(page).unwrap_err().code(), code);
    }
    // The bounds themselves are fine.
    for page in [
        PageRequest::first(1),
        PageRequest::first(1000),
        PageRequest::after(cursor(64), 1),
    ] {
        decode(page).unwrap();
    }
    // A longer cursor cannot be built, nor smuggled in the bytes.
    assert_eq!(Cursor::new(vec![1; 65]).unwrap_err().code(), "too_large");
    let mut bytes = SignedQuery::anonymous(
        "c",
        Query::GetAccessGrantsGranted {
            user_id: None,
            page: PageRequest::after(cursor(64), 5),
        },
    )
    .encode();
    let at = bytes
        .windows(4)
        .position(|w| w == 64u32.to_le_bytes())
        .unwrap();
    bytes[at] = 65;
    bytes.insert(at + 4, 1);
    assert_eq!(SignedQuery::decode(&bytes).unwrap_err().code(), "too_large");
}

/// JSON clients may leave the page out (the first page of the default size), or the limit.
#[test]
fn list_reads_default_to_the_first_page_in_json() {
    let q: Query = serde_json::from_str(r#"{"query":"get_credentials"}"#).unwrap();
    assert_eq!(
        q,
        Query::GetCredentials {
            page: PageRequest::first(protocol::query::DEFAULT_PAGE_SIZE)
        }
    );
    let q: Query =
        serde_json::from_str(r#"{"query":"get_wallets","page":{"after":"AQI="}}"#).unwrap();
    assert_eq!(
        q,
        Query::GetWallets {
            page: PageRequest::after(
                Cursor::new(vec![1, 2]).unwrap(),
                protocol::query::DEFAULT_PAGE_SIZE
            )
        }
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = SignedTransaction::decode(&bytes);
        let _ = SignedQuery::decode(&bytes);
        let mut versioned = vec![TX_VERSION];
        versioned.extend_from_slice(&bytes);
        let _ = SignedTransaction::decode(&versioned);
        let _ = SignedQuery::decode(&versioned);
    }

    #[test]
    fn mutated_transactions_never_panic(which in 0usize..23, at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let key = SigningKey::Ed25519(issuer());
        let mut bytes = signed(every_action().remove(which), &key).encode();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if let Ok(tx) = SignedTransaction::decode(&bytes) {
            // Whatever still decodes re-encodes to the same bytes: the encoding is canonical.
            prop_assert_eq!(tx.encode(), bytes.clone());
            let _ = tx.verify_signature();
        }
    }
}

#[test]
fn fail_query_issued_at_the_ends_of_time_is_stale_not_a_panic() {
    use protocol::identity::SigningKey;
    use protocol::query::{Query, SignedQuery};
    let key = SigningKey::generate_ed25519();
    for issued_at in [i64::MIN, i64::MAX] {
        let q = SignedQuery::signed("idos-test", Query::GetUser, &key, issued_at);
        assert_eq!(
            q.authenticate(0, |_| false).unwrap_err().code(),
            "invalid_field"
        );
        assert_eq!(
            q.authenticate(i64::MAX, |_| false).is_err(),
            issued_at == i64::MIN
        );
    }
}
