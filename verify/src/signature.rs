//! The validators' signatures, checked with `ed25519-dalek`'s strict verification.
//!
//! CometBFT validators accept ZIP-215 signatures (`ed25519-consensus`, the light-client
//! verifier's default). A client may be stricter than consensus, never looser: `verify_strict`
//! rejects small-order keys and `R`, non-canonical encodings, and checks the cofactorless
//! equation, whose solutions also satisfy ZIP-215's cofactored one, so every signature it
//! accepts consensus accepts too. What it refuses besides are signatures no honest signer makes
//! (CometBFT's Go signer and ours make canonical ones); a validator producing them on purpose
//! could only make this client refuse its headers, not accept a forged one. Why not the default:
//! in wasm32 `ed25519-consensus` (on `curve25519-dalek-ng`'s 64-bit backend) takes about three
//! times as long, the larger part of a verified read in the browser
//! (`scripts/bench-verify-read.sh`).

use tendermint::crypto::signature::{Error, Verifier};
use tendermint::{PublicKey, Signature};

/// [`Verifier`] for CometBFT's Ed25519 validator keys; other key types are refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StrictEd25519;

impl Verifier for StrictEd25519 {
    fn verify(pubkey: PublicKey, msg: &[u8], signature: &Signature) -> Result<(), Error> {
        let Some(key) = pubkey.ed25519() else {
            return Err(Error::UnsupportedKeyType);
        };
        let bytes: &[u8; 32] = key
            .as_bytes()
            .try_into()
            .map_err(|_| Error::MalformedPublicKey)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map_err(|_| Error::MalformedPublicKey)?;
        let signature = ed25519_dalek::Signature::from_slice(signature.as_bytes())
            .map_err(|_| Error::MalformedSignature)?;
        key.verify_strict(msg, &signature)
            .map_err(|_| Error::VerificationFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::identity::Ed25519SigningKey;

    fn fixture() -> (PublicKey, Vec<u8>, Vec<u8>) {
        let key = Ed25519SigningKey::from_seed(&[5; 32]);
        let message = b"a canonical vote".to_vec();
        let signature = key.sign(&message).as_bytes().to_vec();
        (
            PublicKey::from_raw_ed25519(key.public_key().as_bytes()).unwrap(),
            message,
            signature,
        )
    }

    fn check(key: PublicKey, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        StrictEd25519::verify(key, message, &Signature::try_from(signature).unwrap())
    }

    #[test]
    fn a_signature_by_the_key_verifies_and_agrees_with_ed25519_consensus() {
        let (key, message, signature) = fixture();
        check(key, &message, &signature).unwrap();
        tendermint::crypto::default::signature::Verifier::verify(
            key,
            &message,
            &Signature::try_from(signature.as_slice()).unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn fail_another_message_another_key_or_a_changed_signature() {
        let (key, message, signature) = fixture();
        let failed = |r: Result<(), Error>| matches!(r, Err(Error::VerificationFailed));
        assert!(failed(check(key, b"another vote", &signature)));
        let other = PublicKey::from_raw_ed25519(
            Ed25519SigningKey::from_seed(&[6; 32])
                .public_key()
                .as_bytes(),
        )
        .unwrap();
        assert!(failed(check(other, &message, &signature)));
        let mut changed = signature.clone();
        changed[10] ^= 1;
        assert!(failed(check(key, &message, &changed)));
        // S not reduced modulo the group order: ZIP-215 refuses it too.
        let mut unreduced = signature;
        unreduced[63] |= 0xf0;
        assert!(check(key, &message, &unreduced).is_err());
    }
}
