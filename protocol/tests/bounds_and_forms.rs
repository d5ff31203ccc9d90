//! The exact edges of the size and freshness limits, and the text forms of identities, keys
//! and hashes: what the node and clients compare and print.

use protocol::codec::hex_encode;
use protocol::identity::{Ed25519SigningKey, EvmAddress, Identity, SignatureScheme, SigningKey};
use protocol::query::{MAX_QUERY_BYTES, QUERY_FRESHNESS_SECONDS, Query, SignedQuery};
use protocol::tx::{MAX_TRANSACTION_BYTES, SignedTransaction, TX_VERSION, tx_hash, tx_hash_hex};

/// A transaction of exactly the limit passes the size check (and fails later, as garbage); one
/// byte more is refused for its size.
#[test]
fn a_transaction_of_exactly_the_limit_passes_the_size_check() {
    assert_eq!(
        MAX_TRANSACTION_BYTES,
        1024 * 1024,
        "CometBFT's max_tx_bytes"
    );
    let at_limit = vec![TX_VERSION; MAX_TRANSACTION_BYTES];
    assert_eq!(
        SignedTransaction::decode(&at_limit).unwrap_err().code(),
        "malformed"
    );
    let over = vec![TX_VERSION; MAX_TRANSACTION_BYTES + 1];
    assert_eq!(
        SignedTransaction::decode(&over).unwrap_err().code(),
        "too_large"
    );
}

#[test]
fn a_read_of_exactly_the_limit_passes_the_size_check() {
    assert_eq!(MAX_QUERY_BYTES, 16 * 1024);
    let at_limit = vec![1u8; MAX_QUERY_BYTES];
    assert_eq!(
        SignedQuery::decode(&at_limit).unwrap_err().code(),
        "malformed"
    );
    let over = vec![1u8; MAX_QUERY_BYTES + 1];
    assert_eq!(SignedQuery::decode(&over).unwrap_err().code(), "too_large");
}

/// A signed read is fresh up to exactly `QUERY_FRESHNESS_SECONDS` either side of the node's
/// clock, and stale one second beyond.
#[test]
fn a_signed_read_is_fresh_up_to_the_window_and_no_further() {
    let key = SigningKey::Ed25519(Ed25519SigningKey::from_seed(&[3; 32]));
    let signed_at = 1_750_000_000;
    let read = SignedQuery::signed("idos-test", Query::GetUser, &key, signed_at);
    for now in [
        signed_at - QUERY_FRESHNESS_SECONDS,
        signed_at,
        signed_at + QUERY_FRESHNESS_SECONDS,
    ] {
        assert_eq!(
            read.authenticate(now, |_| false).unwrap(),
            Some(key.identity()),
            "now = signed + {}",
            now - signed_at
        );
    }
    for now in [
        signed_at - QUERY_FRESHNESS_SECONDS - 1,
        signed_at + QUERY_FRESHNESS_SECONDS + 1,
    ] {
        let err = read.authenticate(now, |_| false).unwrap_err();
        assert_eq!(
            err.code(),
            "invalid_field",
            "now = signed + {}",
            now - signed_at
        );
        assert!(err.to_string().contains("issued_at"), "{err}");
    }
}

#[test]
fn exactly_the_message_builders_and_nonces_are_public_reads() {
    let user = uuid::Uuid::from_u128(1);
    let evm = Identity::parse("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266").unwrap();
    let nonce = protocol::bytes::Nonce128::from_bytes([1; 16]);
    let public = [
        Query::HasProfile { address: evm },
        Query::WalletProofMessage {
            user_id: user,
            wallet: evm,
            nonce,
        },
        Query::NextNonce { account: evm },
        Query::WalletApprovalMessage {
            user_id: user,
            approver: evm,
            new_wallet: evm,
            proof_nonce: nonce,
        },
    ];
    for q in &public {
        assert!(q.is_public(), "{} is public", q.name());
    }
    let private = [
        Query::GetUser,
        Query::GetCredentialShared { id: user },
        Query::GetCredentials {
            page: Default::default(),
        },
        Query::GetAccessGrantsGrantedCount { user_id: None },
    ];
    for q in &private {
        assert!(!q.is_public(), "{} needs a signed read", q.name());
    }
}

#[test]
fn tx_hash_hex_is_cometbfts_upper_case_form() {
    let hash = tx_hash(b"abc");
    assert_eq!(
        tx_hash_hex(&hash),
        "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
    );
}

#[test]
fn identities_print_their_canonical_and_human_forms() {
    let address = EvmAddress::parse("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266").unwrap();
    assert_eq!(
        address.to_string(),
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    );
    assert_eq!(
        format!("{address:?}"),
        "EvmAddress(0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266)"
    );
    let evm = Identity::Evm(address);
    assert_eq!(
        evm.to_string(),
        "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
    );
    assert_eq!(
        format!("{evm:?}"),
        "Identity(0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266)"
    );
    let key = Ed25519SigningKey::from_seed(&[7; 32]).public_key();
    let ed = Identity::Ed25519(key);
    assert_eq!(ed.to_string(), hex_encode(key.as_bytes()));
    assert_eq!(
        format!("{ed:?}"),
        format!("Identity({})", hex_encode(key.as_bytes()))
    );
}

#[test]
fn secret_keys_export_exactly_the_secret_they_were_made_from() {
    let seed = [0x5a; 32];
    let ed = Ed25519SigningKey::from_seed(&seed);
    assert_eq!(*ed.seed(), seed);
    let hex = hex_encode(seed);
    let ed = SigningKey::from_hex(SignatureScheme::Ed25519, &hex).unwrap();
    assert_eq!(ed.to_hex().as_str(), hex);
    let evm = SigningKey::from_hex(SignatureScheme::Eip191, &format!("0x{hex}")).unwrap();
    assert_eq!(evm.to_hex().as_str(), hex);
    // And the export reimports to the same identity.
    for key in [SigningKey::generate_ed25519(), SigningKey::generate_evm()] {
        let again = SigningKey::from_hex(key.identity().scheme(), &key.to_hex()).unwrap();
        assert_eq!(again.identity(), key.identity());
    }
}
