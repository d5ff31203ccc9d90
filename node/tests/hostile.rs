//! Hostile input at the node's doors (CheckTx, FinalizeBlock, Query): random, truncated,
//! bit-flipped and oversized bytes get typed errors, never a panic, and change nothing.

use node::testkit::*;
use proptest::prelude::*;
use protocol::action::AddAttribute;
use protocol::query::{Query, SignedQuery};
use protocol::tx::MAX_TRANSACTION_BYTES;
use tempfile::TempDir;
use uuid::Uuid;

struct Fixture {
    _dir: TempDir,
    net: TestNet,
    valid_tx: Vec<u8>,
    valid_query: Vec<u8>,
}

fn fixture() -> Fixture {
    let dir = TempDir::new().unwrap();
    let mut net = TestNet::new(dir.path());
    let issuer = net.add_issuer("Acme");
    let alice = net.add_user(&issuer, false);
    let valid_tx = net
        .sign(
            &alice.wallet,
            AddAttribute {
                id: Uuid::new_v4(),
                attribute_key: "k".into(),
                value: "v".into(),
            },
        )
        .encode();
    let valid_query = SignedQuery::signed(
        CHAIN_ID,
        Query::GetCredentials {
            page: Default::default(),
        },
        &alice.wallet,
        net.time,
    )
    .encode();
    Fixture {
        _dir: dir,
        net,
        valid_tx,
        valid_query,
    }
}

/// Every error the node returns has a stable code from the documented set.
fn assert_typed(code: &str) {
    const CODES: &[&str] = &[
        "malformed",
        "unsupported_version",
        "too_large",
        "invalid_field",
        "invalid_base64",
        "invalid_hex",
        "invalid_length",
        "invalid_user_id",
        "invalid_uuid",
        "bad_signature",
        "invalid_ed25519_key",
        "invalid_evm_address",
        "invalid_secp256k1",
        "invalid_identifier",
        "invalid_timestamp",
        "wrong_chain_id",
        "bad_nonce",
        "unauthorized",
        "no_profile",
        "not_found",
        "evm_checksum_mismatch",
    ];
    assert!(CODES.contains(&code), "unexpected error code {code}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_refused_with_a_typed_error(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let f = fixture_once();
        let f = f.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = f.net.app.check_tx(&bytes) { assert_typed(e.code()) }
        if let Err(e) = f.net.app.query("/idos", &bytes, 0, f.net.time) { assert_typed(e.code()) }
    }

    #[test]
    fn truncated_and_bit_flipped_transactions_are_refused(cut in 0usize..10_000, flip in 0usize..10_000, bit in 0u8..8) {
        let f = fixture_once();
        let f = f.lock().unwrap_or_else(|p| p.into_inner());
        let truncated = &f.valid_tx[..cut % f.valid_tx.len()];
        assert_typed(f.net.app.check_tx(truncated).unwrap_err().code());
        let mut flipped = f.valid_tx.clone();
        let i = flip % flipped.len();
        flipped[i] ^= 1 << bit;
        // A flip may land in a field whose every value is valid (then the signature fails).
        assert_typed(f.net.app.check_tx(&flipped).unwrap_err().code());
    }

    #[test]
    fn truncated_and_bit_flipped_queries_are_refused(cut in 0usize..10_000, flip in 0usize..10_000, bit in 0u8..8) {
        let f = fixture_once();
        let f = f.lock().unwrap_or_else(|p| p.into_inner());
        let truncated = &f.valid_query[..cut % f.valid_query.len()];
        assert_typed(f.net.app.query("/idos", truncated, 0, f.net.time).unwrap_err().code());
        let mut flipped = f.valid_query.clone();
        let i = flip % flipped.len();
        flipped[i] ^= 1 << bit;
        if let Err(e) = f.net.app.query("/idos", &flipped, 0, f.net.time) { assert_typed(e.code()) }
    }
}

fn fixture_once() -> &'static std::sync::Mutex<Fixture> {
    static FIXTURE: std::sync::OnceLock<std::sync::Mutex<Fixture>> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| std::sync::Mutex::new(fixture()))
}

#[test]
fn oversized_transactions_are_refused_before_decoding() {
    let f = fixture();
    let mut huge = vec![1u8];
    huge.resize(MAX_TRANSACTION_BYTES + 1, 0);
    assert_eq!(f.net.app.check_tx(&huge).unwrap_err().code(), "too_large");
    let mut huge_query = vec![1u8];
    huge_query.resize(64 * 1024, 0);
    assert_eq!(
        f.net
            .app
            .query("/idos", &huge_query, 0, f.net.time)
            .unwrap_err()
            .code(),
        "too_large"
    );
}

#[test]
fn a_block_of_garbage_changes_no_state() {
    let mut f = fixture();
    let before = f.net.app.committed();
    let garbage: Vec<Vec<u8>> = vec![
        vec![],
        vec![1],
        vec![1, 0, 0],
        b"\x01\xff\xff\xff\xff".to_vec(),
        vec![2; 100],
    ];
    let outcomes = f.net.block(garbage);
    assert!(outcomes.iter().all(|o| o.result.is_err()));
    let after = f.net.app.committed();
    assert_eq!(after.height, before.height + 1);
    // Only height and time entered the hash: replaying an empty block gives the same hash.
    let empty = node::app::app_hash(
        &before.app_hash,
        after.height,
        f.net.time - 1,
        &Default::default(),
    );
    assert_eq!(after.app_hash, empty);
    // And the valid transaction still goes through afterwards.
    let tx = f.valid_tx.clone();
    assert!(f.net.block(vec![tx]).remove(0).result.is_ok());
}
