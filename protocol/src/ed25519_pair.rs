//! Two Ed25519 signatures by one key, checked with one multiscalar multiplication.
//!
//! Every credential row carries two signatures by its `issuer_auth_public_key` (see
//! [`crate::credential`]), and every node checks them for every share. Checked one by one they
//! cost two double-scalar multiplications; checked together, one three-point multiplication
//! (the key's term is merged, the second nonce's scalar is only 128 bits): about a third less.
//!
//! # What is accepted
//!
//! The pair is accepted when, with `hᵢ = SHA-512(Rᵢ ‖ A ‖ Mᵢ) mod ℓ` and a 128-bit `z` derived
//! from every input by hashing (no randomness, so every node reaches the same verdict for the
//! same bytes, which consensus needs):
//!
//! `[8]·([s₁ + z·s₂]B − R₁ − [z]R₂ − [h₁ + z·h₂]A) = 0`
//!
//! after the checks `verify_strict` makes: `A` and both `Rᵢ` are valid, canonical encodings
//! of points that are not of small order, and both `sᵢ` are canonical scalars. When both
//! signatures pass `verify_strict` (cofactorless), the pair passes. When either fails, the
//! pair fails, except in one case: a signer who deliberately adds a small-order component to
//! `R` or to its own key can make signatures that the cofactorless check refuses and this
//! cofactored one accepts (the equation multiplies small-order terms away; this is the rule of
//! ZIP-215 and of `ed25519-consensus`). Only the key's holder can make those, honest signers
//! never do, and they prove nothing a valid signature would not: no one can forge a pair
//! without the key. The cofactor is what keeps the pair check equivalent to checking each
//! signature on its own (cofactored): without it, small-order error terms of the two
//! signatures could cancel for some `z`, and the verdict would hinge on the bits of a hash.
//!
//! On failure the caller learns which signature is wrong: the pair's failure path checks
//! each signature with `verify_strict` to name it.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha512};

/// Which of the two signatures failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failed {
    /// The first signature (or the key, which both share).
    First,
    /// The second signature.
    Second,
}

/// One signature's parts, parsed with `verify_strict`'s rules.
struct Parsed {
    r: EdwardsPoint,
    s: Scalar,
    h: Scalar,
}

fn parse(key: &VerifyingKey, message: &[u8], signature: &[u8; 64]) -> Option<Parsed> {
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&signature[..32]);
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&signature[32..]);
    if !is_canonical_y(&r_bytes) {
        return None;
    }
    let r = CompressedEdwardsY(r_bytes).decompress()?;
    if r.is_small_order() {
        return None;
    }
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
    let mut hash = Sha512::new();
    hash.update(r_bytes);
    hash.update(key.as_bytes());
    hash.update(message);
    let h = Scalar::from_bytes_mod_order_wide(&hash.finalize().into());
    Some(Parsed { r, s, h })
}

/// Whether the encoded y-coordinate (sign bit aside) is below p = 2²⁵⁵ − 19. A larger one
/// decodes to the same point as its reduction, and `verify_strict`, which compares encodings,
/// refuses it.
fn is_canonical_y(encoding: &[u8; 32]) -> bool {
    let top = encoding[31] & 0x7f;
    let all_ones_above = encoding[1..31].iter().all(|&b| b == 0xff) && top == 0x7f;
    !(all_ones_above && encoding[0] >= 0xed)
}

/// The 128-bit weight of the second equation: a hash of everything the verdict depends on.
fn weight(key: &VerifyingKey, signatures: [&[u8; 64]; 2], hashes: [&Scalar; 2]) -> Scalar {
    let mut hash = Sha512::new();
    hash.update(b"idos-rs ed25519 pair check v1");
    hash.update(key.as_bytes());
    for (signature, h) in signatures.into_iter().zip(hashes) {
        hash.update(signature);
        hash.update(h.as_bytes());
    }
    let digest = hash.finalize();
    let mut low = [0u8; 16];
    low.copy_from_slice(&digest[..16]);
    // Never zero, which would leave the second signature unchecked.
    Scalar::from(u128::from_le_bytes(low) | 1)
}

/// Checks `first` over `first_message` and `second` over `second_message`, both by `key`
/// (see the module documentation for exactly what is accepted).
pub fn verify_pair(
    key: &VerifyingKey,
    first_message: &[u8],
    first: &[u8; 64],
    second_message: &[u8],
    second: &[u8; 64],
) -> Result<(), Failed> {
    if pair_holds(key, first_message, first, second_message, second) {
        return Ok(());
    }
    let strict = |message: &[u8], signature: &[u8; 64]| {
        key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok()
    };
    if !strict(first_message, first) {
        Err(Failed::First)
    } else {
        Err(Failed::Second)
    }
}

fn pair_holds(
    key: &VerifyingKey,
    first_message: &[u8],
    first: &[u8; 64],
    second_message: &[u8],
    second: &[u8; 64],
) -> bool {
    if key.is_weak() {
        return false;
    }
    let (Some(one), Some(two)) = (
        parse(key, first_message, first),
        parse(key, second_message, second),
    ) else {
        return false;
    };
    let z = weight(key, [first, second], [&one.h, &two.h]);
    let sum = EdwardsPoint::vartime_multiscalar_mul(
        [one.s + z * two.s, -z, -(one.h + z * two.h)],
        [ED25519_BASEPOINT_POINT, two.r, key.to_edwards()],
    ) - one.r;
    sum.mul_by_cofactor().is_identity()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};
    use proptest::prelude::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn strict(key: &VerifyingKey, message: &[u8], signature: &[u8; 64]) -> bool {
        key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok()
    }

    #[test]
    fn accepts_two_good_signatures() {
        let k = key(1);
        let a = k.sign(b"notes").to_bytes();
        let b = k.sign(b"broader").to_bytes();
        assert_eq!(
            verify_pair(&k.verifying_key(), b"notes", &a, b"broader", &b),
            Ok(())
        );
    }

    #[test]
    fn fail_names_the_wrong_signature() {
        let k = key(1);
        let vk = k.verifying_key();
        let a = k.sign(b"notes").to_bytes();
        let b = k.sign(b"broader").to_bytes();
        assert_eq!(
            verify_pair(&vk, b"notes!", &a, b"broader", &b),
            Err(Failed::First)
        );
        assert_eq!(
            verify_pair(&vk, b"notes", &a, b"broader!", &b),
            Err(Failed::Second)
        );
        assert_eq!(
            verify_pair(&vk, b"notes", &b, b"broader", &a),
            Err(Failed::First)
        );
        let other = key(2).verifying_key();
        assert_eq!(
            verify_pair(&other, b"notes", &a, b"broader", &b),
            Err(Failed::First)
        );
    }

    #[test]
    fn fail_non_canonical_s() {
        let k = key(1);
        let a = k.sign(b"notes").to_bytes();
        let mut b = k.sign(b"broader").to_bytes();
        // s + ℓ: the same scalar mod ℓ, a non-canonical encoding.
        let s = Scalar::from_canonical_bytes(b[32..].try_into().unwrap()).unwrap();
        let ell: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut sum = [0u8; 32];
        let mut carry = 0u16;
        for i in 0..32 {
            let v = u16::from(s.as_bytes()[i]) + u16::from(ell[i]) + carry;
            sum[i] = v as u8;
            carry = v >> 8;
        }
        b[32..].copy_from_slice(&sum);
        assert!(!strict(&k.verifying_key(), b"broader", &b));
        assert_eq!(
            verify_pair(&k.verifying_key(), b"notes", &a, b"broader", &b),
            Err(Failed::Second)
        );
    }

    #[test]
    fn fail_small_order_nonce_and_weak_key() {
        let k = key(1);
        let vk = k.verifying_key();
        let a = k.sign(b"notes").to_bytes();
        let mut b = k.sign(b"broader").to_bytes();
        // R = the identity (encoded y = 1): small order.
        b[..32].copy_from_slice(&{
            let mut y = [0u8; 32];
            y[0] = 1;
            y
        });
        assert_eq!(
            verify_pair(&vk, b"notes", &a, b"broader", &b),
            Err(Failed::Second)
        );
        // The identity as a key: weak, refused whatever the signatures.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = VerifyingKey::from_bytes(&identity).unwrap();
        assert_eq!(
            verify_pair(&weak, b"notes", &a, b"broader", &b),
            Err(Failed::First)
        );
    }

    #[test]
    fn non_canonical_y_is_recognised() {
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!is_canonical_y(&p), "p itself");
        p[0] = 0xec;
        assert!(is_canonical_y(&p), "p - 1");
        p[0] = 0xed;
        p[31] = 0xff;
        assert!(!is_canonical_y(&p), "p with the sign bit");
        assert!(is_canonical_y(&[0; 32]));
    }

    /// A signer's key `A = aB` and a signature made by hand: nonce point `nonce`, and
    /// `s = r + h·a` for the scalar `r` the signer claims for it.
    struct HandSigner {
        a: Scalar,
        key: VerifyingKey,
    }

    impl HandSigner {
        fn new() -> Self {
            let a = Scalar::from(0x1234_5678_9abc_u64);
            let public = ED25519_BASEPOINT_POINT * a;
            HandSigner {
                a,
                key: VerifyingKey::from_bytes(&public.compress().to_bytes()).unwrap(),
            }
        }

        fn sign(&self, nonce: EdwardsPoint, r: Scalar, message: &[u8]) -> [u8; 64] {
            let nonce = nonce.compress();
            let mut hash = Sha512::new();
            hash.update(nonce.as_bytes());
            hash.update(self.key.as_bytes());
            hash.update(message);
            let h = Scalar::from_bytes_mod_order_wide(&hash.finalize().into());
            let mut signature = [0u8; 64];
            signature[..32].copy_from_slice(nonce.as_bytes());
            signature[32..].copy_from_slice((r + h * self.a).as_bytes());
            signature
        }
    }

    /// (0, -1): y = p - 1, the point of order 2.
    fn order_two() -> EdwardsPoint {
        let mut t = [0xffu8; 32];
        t[0] = 0xec;
        t[31] = 0x7f;
        let point = CompressedEdwardsY(t).decompress().unwrap();
        assert!(point.is_small_order() && !point.is_identity());
        point
    }

    /// The one documented difference from `verify_strict`: a signer who adds a small-order
    /// point to its nonces makes signatures the cofactorless check refuses and the cofactored
    /// pair check accepts: `R = rB + T` (T of order 2), `s = r + h·a`.
    #[test]
    fn cofactored_rule_accepts_a_signers_own_small_order_nonces() {
        let signer = HandSigner::new();
        let vk = &signer.key;
        let crafted = |r: u64, message: &[u8]| {
            let r = Scalar::from(r);
            signer.sign(ED25519_BASEPOINT_POINT * r + order_two(), r, message)
        };
        let (one, two) = (crafted(77, b"notes"), crafted(99, b"broader"));
        assert!(!strict(vk, b"notes", &one) && !strict(vk, b"broader", &two));
        assert_eq!(verify_pair(vk, b"notes", &one, b"broader", &two), Ok(()));
        // Each crafted signature passes the cofactored rule on its own, so it passes beside
        // an honest one too: the verdict is each signature's, whatever the other.
        let r = Scalar::from(55u64);
        let honest = signer.sign(ED25519_BASEPOINT_POINT * r, r, b"notes");
        assert!(strict(vk, b"notes", &honest));
        assert_eq!(verify_pair(vk, b"notes", &honest, b"broader", &two), Ok(()));
    }

    /// A key of small order: with `s = r` for `R = rB`, the key's term is all torsion and the
    /// cofactored equation holds for any message; like `verify_strict`, the pair check refuses
    /// the weak key first.
    #[test]
    fn fail_weak_key_the_cofactor_would_accept() {
        let weak = VerifyingKey::from_bytes(order_two().compress().as_bytes()).unwrap();
        let sign = |r: u64| {
            let r = Scalar::from(r);
            let mut signature = [0u8; 64];
            signature[..32].copy_from_slice((ED25519_BASEPOINT_POINT * r).compress().as_bytes());
            signature[32..].copy_from_slice(r.as_bytes());
            signature
        };
        let (one, two) = (sign(5), sign(6));
        assert!(!strict(&weak, b"any", &one));
        assert_eq!(
            verify_pair(&weak, b"any", &one, b"thing", &two),
            Err(Failed::First)
        );
    }

    /// A nonce point of small order with `s = h·a` satisfies the cofactored equation; like
    /// `verify_strict`, the pair check refuses the small-order nonce before it.
    #[test]
    fn fail_small_order_nonce_the_cofactor_would_accept() {
        let signer = HandSigner::new();
        let vk = &signer.key;
        let r = Scalar::from(55u64);
        let honest = signer.sign(ED25519_BASEPOINT_POINT * r, r, b"notes");
        let torsion_only = signer.sign(order_two(), Scalar::ZERO, b"broader");
        assert!(!strict(vk, b"broader", &torsion_only));
        assert_eq!(
            verify_pair(vk, b"notes", &honest, b"broader", &torsion_only),
            Err(Failed::Second)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Mutated signatures, messages and keys: the pair's verdict is the two strict
        /// verdicts', and the failing one is named.
        #[test]
        fn pair_verdict_is_both_strict_verdicts(
            seed in any::<u8>(),
            first_message in proptest::collection::vec(any::<u8>(), 0..64),
            second_message in proptest::collection::vec(any::<u8>(), 0..64),
            flip in proptest::option::of((0usize..2, 0usize..64, 0u8..8)),
            other_key in any::<bool>(),
        ) {
            let k = key(seed);
            let mut signatures = [k.sign(&first_message).to_bytes(), k.sign(&second_message).to_bytes()];
            if let Some((which, byte, bit)) = flip {
                signatures[which][byte] ^= 1 << bit;
            }
            let vk = if other_key { key(seed.wrapping_add(1)).verifying_key() } else { k.verifying_key() };
            let expected = match (strict(&vk, &first_message, &signatures[0]), strict(&vk, &second_message, &signatures[1])) {
                (true, true) => Ok(()),
                (false, _) => Err(Failed::First),
                (true, false) => Err(Failed::Second),
            };
            prop_assert_eq!(
                verify_pair(&vk, &first_message, &signatures[0], &second_message, &signatures[1]),
                expected
            );
        }
    }
}
