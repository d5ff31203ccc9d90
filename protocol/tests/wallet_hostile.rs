//! Hostile input to the wallet schemes' decoders: arbitrary identifier text, arbitrary
//! signature bytes, and every one-bit change, cut or extension of a good signature. Nothing
//! panics, nothing forged verifies, and an identifier that parses has exactly one text.

use proptest::prelude::*;
use protocol::identity::{Identity, SignatureScheme, SigningKey};

fn wallets() -> Vec<SigningKey> {
    let key = |scheme, hex: String| SigningKey::from_hex(scheme, &hex).unwrap();
    vec![
        key(SignatureScheme::Nep413, "51".repeat(32)),
        key(SignatureScheme::Xrpl, format!("00{}", "52".repeat(32))),
        key(SignatureScheme::Xrpl, format!("ED{}", "53".repeat(32))),
        key(SignatureScheme::Stellar, "54".repeat(32)),
        key(SignatureScheme::Ed25519, "55".repeat(32)),
        key(SignatureScheme::Eip191, "56".repeat(32)),
    ]
}

/// Text that looks like each identifier form, and anything else.
fn identifier_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "ed25519:[1-9A-HJ-NP-Za-km-z]{0,50}",
        "r[1-9A-HJ-NP-Za-km-z]{0,40}",
        "G[A-Z2-7]{0,60}",
        "0x[0-9a-fA-F]{0,42}",
        "[0-9a-f]{62,66}",
        ".{0,80}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn an_identifier_that_parses_has_exactly_one_text(text in identifier_like()) {
        if let Ok(identity) = Identity::parse(&text) {
            let canonical = identity.identifier();
            prop_assert_eq!(Identity::parse(&canonical).unwrap(), identity);
            match identity {
                // EVM addresses are read in any case and written lowercase.
                Identity::Evm(_) => prop_assert_eq!(canonical, text.to_lowercase()),
                _ => prop_assert_eq!(canonical, text),
            }
            let encoded = borsh::to_vec(&identity).unwrap();
            prop_assert_eq!(borsh::from_slice::<Identity>(&encoded).unwrap(), identity);
        }
    }

    #[test]
    fn arbitrary_signature_bytes_never_verify_for_any_wallet(
        which in 0usize..6,
        message in proptest::collection::vec(any::<u8>(), 0..200),
        signature in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let identity = wallets()[which].identity();
        prop_assert!(identity.verify("signature", &message, &signature).is_err());
    }

    #[test]
    fn every_change_to_a_good_signature_is_refused(
        which in 0usize..6,
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
        extra in proptest::collection::vec(any::<u8>(), 1..8),
    ) {
        let key = &wallets()[which];
        let identity = key.identity();
        let message = b"idOS transaction\nAction: share_credential\nChain ID: idos-test\n";
        let good = key.sign(message);
        prop_assert!(identity.verify("signature", message, &good).is_ok());

        let mut flipped = good.clone();
        let at = position.index(flipped.len());
        flipped[at] ^= 1 << bit;
        prop_assert!(
            identity.verify("signature", message, &flipped).is_err(),
            "bit {} of byte {} flipped", bit, at
        );
        prop_assert!(identity.verify("signature", message, &good[..at]).is_err(), "cut at {}", at);
        let mut longer = good.clone();
        longer.extend(&extra);
        prop_assert!(identity.verify("signature", message, &longer).is_err(), "extended");
    }
}
