//! Who signs: the signature schemes callers use and the identifiers idOS knows them by.
//!
//! - EVM wallets: EIP-191 `personal_sign` (keccak256 of `"\x19Ethereum Signed Message:\n" ‖
//!   len ‖ message`), 65-byte `r ‖ s ‖ v`; the signer is recovered to a 20-byte address.
//!   Identifier: the `0x` address, compared case-insensitively (canonical form: lowercase).
//! - Ed25519 keys (issuers, consumers, servers, FaceSign wallets): raw Ed25519 over the
//!   message bytes. Identifier: the lowercase hex public key, as idOS's `@caller`.
//! - NEAR wallets: NEP-413 blobs ([`crate::near`]). Identifier: `ed25519:<base58>`.
//! - XRPL wallets: `ripple-keypairs` signatures on either curve, carried with their public key
//!   ([`crate::xrpl`]). Identifier: the classic `r…` address.
//! - Stellar wallets: Ed25519, raw or SEP-53 ([`crate::stellar`]). Identifier: the `G…` address.
//!
//! One identity has one identifier (the parsers refuse every other spelling but EVM's case),
//! and [`Identity::verify`] gives one verdict per byte string on every node.

use ed25519_dalek::Signer as _;
use k256::ecdsa::{
    RecoveryId, Signature as EcdsaSignature, SigningKey as K256SigningKey, VerifyingKey,
};
use rand_core::{CryptoRngCore, OsRng};
use sha3::{Digest, Keccak256};
use zeroize::Zeroizing;

use crate::bytes::{Ed25519PublicKey, Ed25519Signature};
use crate::codec;
use crate::error::{Error, Field, Result};
use crate::xrpl::{XrplAddress, XrplSigningKey};

/// A 20-byte EVM account address.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct EvmAddress(pub [u8; 20]);

impl EvmAddress {
    /// Parses `0x` + 40 hex digits. All-lowercase and all-uppercase are accepted as is; a
    /// mixed-case address must carry a correct EIP-55 checksum, which catches typos.
    pub fn parse(text: &str) -> Result<Self> {
        let digits = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .filter(|d| d.len() == 40 && d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| Error::InvalidEvmAddress(text.chars().take(64).collect()))?;
        let address = EvmAddress(codec::hex_decode_array("evm address", digits)?);
        let has_lower = digits.bytes().any(|b| b.is_ascii_lowercase());
        let has_upper = digits.bytes().any(|b| b.is_ascii_uppercase());
        if has_lower && has_upper && address.to_checksum()[2..] != *digits {
            return Err(Error::EvmChecksumMismatch(text.to_owned()));
        }
        Ok(address)
    }

    /// The address of a secp256k1 public key: the last 20 bytes of keccak256 of its
    /// uncompressed encoding without the 0x04 prefix.
    pub fn from_verifying_key(key: &VerifyingKey) -> Self {
        let point = key.to_encoded_point(false);
        let hash = Keccak256::digest(&point.as_bytes()[1..]);
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash[12..]);
        EvmAddress(out)
    }

    /// `0x` + lowercase hex: the canonical identifier.
    pub fn to_lowercase(&self) -> String {
        format!("0x{}", codec::hex_encode(self.0))
    }

    /// EIP-55 mixed-case checksummed form, for people.
    pub fn to_checksum(&self) -> String {
        let lower = codec::hex_encode(self.0);
        let hash = Keccak256::digest(lower.as_bytes());
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        for (i, c) in lower.chars().enumerate() {
            let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
            out.push(if nibble >= 8 {
                c.to_ascii_uppercase()
            } else {
                c
            });
        }
        out
    }
}

impl std::fmt::Display for EvmAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl std::fmt::Debug for EvmAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EvmAddress({})", self.to_checksum())
    }
}

/// The EIP-191 `personal_sign` digest of a message.
pub fn eip191_hash(message: &[u8]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    hasher.update(b"\x19Ethereum Signed Message:\n");
    hasher.update(message.len().to_string().as_bytes());
    hasher.update(message);
    hasher.finalize().into()
}

/// A secp256k1 public key learned from a signature: later signatures of its address verify
/// against it directly ([`verify_eip191`]), at about half the cost of a recovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvmPublicKey(VerifyingKey);

impl EvmPublicKey {
    /// The address of this key.
    pub fn address(&self) -> EvmAddress {
        EvmAddress::from_verifying_key(&self.0)
    }
}

/// Parses `r ‖ s ‖ v` in the one canonical form both verification paths accept: 65 bytes,
/// `r` and `s` in `[1, n)`, `s` in the lower half of the order (EIP-2: the malleable twin
/// `n - s` is refused, not normalized), and `v` in {27, 28} or {0, 1}, whose parity names the
/// y coordinate of the signature's point `R`. A signature has exactly one accepted encoding
/// per `v` convention, and whether it is accepted never depends on how it is checked.
fn parse_eip191_signature(signature: &[u8]) -> Result<(EcdsaSignature, RecoveryId)> {
    const FIELD: Field = "evm signature";
    let bytes: [u8; 65] = codec::to_array(FIELD, signature)?;
    let y_odd = match bytes[64] {
        27 | 0 => false,
        28 | 1 => true,
        _ => return Err(Error::InvalidSecp256k1 { field: FIELD }),
    };
    let sig = EcdsaSignature::from_slice(&bytes[..64])
        .map_err(|_| Error::InvalidSecp256k1 { field: FIELD })?;
    use k256::elliptic_curve::scalar::IsHigh as _;
    if bool::from(sig.s().is_high()) {
        return Err(Error::InvalidSecp256k1 { field: FIELD });
    }
    Ok((sig, RecoveryId::new(y_odd, false)))
}

/// Recovers the public key that produced an EIP-191 `personal_sign` signature (`r ‖ s ‖ v`,
/// v in {27, 28} or {0, 1}, low s as EIP-2 requires).
pub fn recover_eip191_key(message: &[u8], signature: &[u8]) -> Result<EvmPublicKey> {
    let (sig, recovery_id) = parse_eip191_signature(signature)?;
    VerifyingKey::recover_from_prehash(&eip191_hash(message), &sig, recovery_id)
        .map(EvmPublicKey)
        .map_err(|_| Error::BadSignature {
            field: "evm signature",
        })
}

/// Recovers the address that produced an EIP-191 `personal_sign` signature.
pub fn recover_eip191(message: &[u8], signature: &[u8]) -> Result<EvmAddress> {
    recover_eip191_key(message, signature).map(|key| key.address())
}

/// Verifies an EIP-191 `personal_sign` signature against a known public key, with exactly the
/// verdict of recovering the key from the signature and comparing: `Ok` if and only if
/// [`recover_eip191_key`] would return `key`. It costs one ECDSA verification instead of a
/// recovery (about half).
///
/// Why it agrees with recovery: for a low-s signature `(r, s)` over digest `z` with parity
/// bit `v`, recovery takes `R` = the point with x-coordinate `r` and y parity `v` and returns
/// `Q' = r⁻¹(s·R − z·G)`. `Q' = Q` exactly when `R = s⁻¹z·G + s⁻¹r·Q`. So this computes
/// `R' = s⁻¹z·G + s⁻¹r·Q` with k256's own arithmetic and accepts exactly when `R'` has
/// x-coordinate `r` (as a field element, not reduced mod n, since `v` cannot say "reduced")
/// and y parity `v`. A plain ECDSA verification checks only `x(R') mod n = r` and would
/// accept the signature with `v` flipped, which recovery maps to another key.
/// (`evm_key_tests` checks the agreement against k256's recovery on mutated signatures.)
pub fn verify_eip191(message: &[u8], signature: &[u8], key: &EvmPublicKey) -> Result<()> {
    use k256::elliptic_curve::ops::{Invert, LinearCombination, Reduce};
    use k256::elliptic_curve::point::AffineCoordinates;
    use k256::{FieldBytes, ProjectivePoint, Scalar, U256};
    let bad = || Error::BadSignature {
        field: "evm signature",
    };
    let (sig, recovery_id) = parse_eip191_signature(signature)?;
    let (r, s) = sig.split_scalars();
    let z = <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(eip191_hash(message)));
    let s_inv: Scalar = *s.invert_vartime();
    let point = ProjectivePoint::lincomb(
        &ProjectivePoint::GENERATOR,
        &(z * s_inv),
        &ProjectivePoint::from(*key.0.as_affine()),
        &(*r * s_inv),
    )
    .to_affine();
    let x_matches = point.x() == (*r).to_bytes();
    let parity_matches = bool::from(point.y_is_odd()) == recovery_id.is_y_odd();
    if x_matches && parity_matches {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Verifies a raw Ed25519 signature (strict: rejects small-order keys and non-canonical
/// signatures).
pub fn verify_ed25519(
    field: Field,
    key: &Ed25519PublicKey,
    message: &[u8],
    signature: &Ed25519Signature,
) -> Result<()> {
    let key = ed25519_dalek::VerifyingKey::from_bytes(key.as_bytes())
        .map_err(|_| Error::InvalidEd25519Key { field })?;
    let signature = ed25519_dalek::Signature::from_bytes(signature.as_bytes());
    key.verify_strict(message, &signature)
        .map_err(|_| Error::BadSignature { field })
}

/// [`verify_ed25519`] of a signature given as bytes of any length (64 or refused).
pub fn verify_ed25519_slice(
    field: Field,
    key: &Ed25519PublicKey,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    let signature = Ed25519Signature::from_slice(signature).map_err(|_| Error::InvalidLength {
        field,
        expected: 64,
        actual: signature.len(),
    })?;
    verify_ed25519(field, key, message, &signature)
}

/// Whoever signs a transaction or a read, or is named as a grantee or delegate.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub enum Identity {
    /// An Ed25519 key, identified by its lowercase hex public key.
    Ed25519(Ed25519PublicKey),
    /// An EVM account, identified by its address.
    Evm(EvmAddress),
    /// A NEAR wallet's Ed25519 key (NEP-413 signatures), identified as `ed25519:<base58>`.
    Near(Ed25519PublicKey),
    /// An XRPL account, identified by its classic address.
    Xrpl(XrplAddress),
    /// A Stellar account's Ed25519 key, identified by its `G…` address.
    Stellar(Ed25519PublicKey),
}

impl Identity {
    /// Parses an identifier: an EVM `0x` address, a 64-digit hex Ed25519 public key, a NEAR
    /// `ed25519:<base58>` key, an XRPL `r…` address or a Stellar `G…` address. (No form can be
    /// read as another: hex has no `r`, `G` or `:`.)
    pub fn parse(text: &str) -> Result<Self> {
        if text.starts_with("0x") || text.starts_with("0X") {
            return EvmAddress::parse(text).map(Identity::Evm);
        }
        if text.starts_with("ed25519:") {
            return crate::near::parse_key(text).map(Identity::Near);
        }
        if text.starts_with('r') {
            return XrplAddress::parse(text).map(Identity::Xrpl);
        }
        if text.starts_with('G') {
            return crate::stellar::parse_address(text).map(Identity::Stellar);
        }
        if text.len() == 64
            && let Ok(key) = Ed25519PublicKey::parse(text)
        {
            return Ok(Identity::Ed25519(key));
        }
        Err(Error::InvalidIdentifier(text.chars().take(80).collect()))
    }

    /// The canonical identifier: lowercase `0x` address, lowercase hex key, `ed25519:<base58>`,
    /// `r…` or `G…` address. Two identities are the same caller exactly when their identifiers
    /// are equal.
    pub fn identifier(&self) -> String {
        match self {
            Identity::Ed25519(key) => key.to_text(),
            Identity::Evm(address) => address.to_lowercase(),
            Identity::Near(key) => crate::near::key_to_text(key),
            Identity::Xrpl(address) => address.to_text(),
            Identity::Stellar(key) => crate::stellar::address(key),
        }
    }

    /// The form to show people (checksummed for EVM).
    pub fn display_name(&self) -> String {
        match self {
            Identity::Evm(address) => address.to_checksum(),
            _ => self.identifier(),
        }
    }

    /// The signature scheme this identity signs with.
    pub fn scheme(&self) -> SignatureScheme {
        match self {
            Identity::Ed25519(_) => SignatureScheme::Ed25519,
            Identity::Evm(_) => SignatureScheme::Eip191,
            Identity::Near(_) => SignatureScheme::Nep413,
            Identity::Xrpl(_) => SignatureScheme::Xrpl,
            Identity::Stellar(_) => SignatureScheme::Stellar,
        }
    }

    /// Checks that `signature` over `message` was made by this identity: 64 bytes (Ed25519 and
    /// Stellar), 65 (EVM), a NEP-413 blob (NEAR), or the 33-byte public key and then the
    /// signature (XRPL).
    pub fn verify(&self, field: Field, message: &[u8], signature: &[u8]) -> Result<()> {
        match self {
            Identity::Near(key) => crate::near::verify(field, key, message, signature),
            Identity::Xrpl(address) => address.verify(field, message, signature),
            Identity::Stellar(key) => crate::stellar::verify(field, key, message, signature),
            Identity::Ed25519(key) => verify_ed25519_slice(field, key, message, signature),
            Identity::Evm(address) => {
                if signature.len() != 65 {
                    return Err(Error::InvalidLength {
                        field,
                        expected: 65,
                        actual: signature.len(),
                    });
                }
                let recovered = recover_eip191(message, signature).map_err(|e| match e {
                    Error::BadSignature { .. } | Error::InvalidSecp256k1 { .. } => {
                        Error::BadSignature { field }
                    }
                    other => other,
                })?;
                if recovered == *address {
                    Ok(())
                } else {
                    Err(Error::BadSignature { field })
                }
            }
        }
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.identifier())
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({})", self.display_name())
    }
}

impl std::str::FromStr for Identity {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        Identity::parse(text)
    }
}

impl serde::Serialize for Identity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.identifier())
    }
}

impl<'de> serde::Deserialize<'de> for Identity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Identity::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// How an identity signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureScheme {
    /// Raw Ed25519 over the message bytes (Kwil auth type `ed25519`).
    Ed25519,
    /// EVM `personal_sign` (Kwil auth type `secp256k1_ep`).
    Eip191,
    /// NEAR's NEP-413 signed messages (Kwil auth type `nep413`).
    Nep413,
    /// `ripple-keypairs`, secp256k1 or Ed25519 (Kwil auth type `xrpl`).
    Xrpl,
    /// Stellar's Ed25519, raw or SEP-53.
    Stellar,
}

/// An Ed25519 private key (a 32-byte seed). Zeroized on drop; never printed.
#[derive(Clone)]
pub struct Ed25519SigningKey(ed25519_dalek::SigningKey);

impl Ed25519SigningKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self::generate_with(&mut OsRng)
    }

    /// A fresh random key from the given CSPRNG.
    pub fn generate_with(rng: &mut impl CryptoRngCore) -> Self {
        Ed25519SigningKey(ed25519_dalek::SigningKey::generate(rng))
    }

    /// The key of a 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Ed25519SigningKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The seed, wiped when dropped.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public key.
    pub fn public_key(&self) -> Ed25519PublicKey {
        Ed25519PublicKey::from_bytes(self.0.verifying_key().to_bytes())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Ed25519Signature {
        Ed25519Signature::from_bytes(self.0.sign(message).to_bytes())
    }
}

// Both inner key types wipe their secret when dropped (ed25519-dalek with its `zeroize`
// feature, k256 through `ecdsa::SigningKey`): this fails to compile if an update or a refactor
// loses that, so the `ZeroizeOnDrop` promises below stay true.
const _: () = {
    const fn wipes_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    wipes_on_drop::<ed25519_dalek::SigningKey>();
    wipes_on_drop::<K256SigningKey>();
};

impl zeroize::ZeroizeOnDrop for Ed25519SigningKey {}

impl std::fmt::Debug for Ed25519SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519SigningKey(public: {})", self.public_key())
    }
}

/// A private signing key of any scheme. Zeroized on drop; never printed.
#[derive(Clone)]
pub enum SigningKey {
    /// An Ed25519 key.
    Ed25519(Ed25519SigningKey),
    /// A secp256k1 EVM key.
    Evm(K256SigningKey),
    /// A NEAR wallet's Ed25519 key.
    Near(Ed25519SigningKey),
    /// An XRPL key of either curve.
    Xrpl(XrplSigningKey),
    /// A Stellar account's Ed25519 key.
    Stellar(Ed25519SigningKey),
}

impl SigningKey {
    /// A fresh random Ed25519 key.
    pub fn generate_ed25519() -> Self {
        SigningKey::Ed25519(Ed25519SigningKey::generate())
    }

    /// A fresh random EVM key.
    pub fn generate_evm() -> Self {
        SigningKey::Evm(K256SigningKey::random(&mut OsRng))
    }

    /// An EVM key from its 32-byte secret scalar.
    pub fn evm_from_bytes(secret: &[u8; 32]) -> Result<Self> {
        K256SigningKey::from_bytes(secret.into())
            .map(SigningKey::Evm)
            .map_err(|_| Error::InvalidSecp256k1 {
                field: "evm secret key",
            })
    }

    /// Parses a hex secret: a 32-byte Ed25519 seed (Ed25519, NEAR, Stellar), a 32-byte
    /// secp256k1 scalar (an optional `0x` prefix is allowed), or for XRPL `ripple-keypairs`'
    /// 33-byte private key (`00` then a secp256k1 scalar, or `ED` then an Ed25519 seed).
    pub fn from_hex(scheme: SignatureScheme, text: &str) -> Result<Self> {
        if scheme == SignatureScheme::Xrpl {
            return XrplSigningKey::from_hex(text).map(SigningKey::Xrpl);
        }
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let secret = Zeroizing::new(codec::hex_decode_array::<32>("secret key", digits)?);
        match scheme {
            SignatureScheme::Ed25519 => {
                Ok(SigningKey::Ed25519(Ed25519SigningKey::from_seed(&secret)))
            }
            SignatureScheme::Eip191 => Self::evm_from_bytes(&secret),
            SignatureScheme::Nep413 => Ok(SigningKey::Near(Ed25519SigningKey::from_seed(&secret))),
            SignatureScheme::Stellar => {
                Ok(SigningKey::Stellar(Ed25519SigningKey::from_seed(&secret)))
            }
            SignatureScheme::Xrpl => unreachable!("handled above"),
        }
    }

    /// The secret as lowercase hex (the form [`SigningKey::from_hex`] reads), wiped when
    /// dropped.
    pub fn to_hex(&self) -> Zeroizing<String> {
        let bytes: Zeroizing<[u8; 32]> = match self {
            SigningKey::Ed25519(k) | SigningKey::Near(k) | SigningKey::Stellar(k) => k.seed(),
            SigningKey::Evm(k) => Zeroizing::new(k.to_bytes().into()),
            SigningKey::Xrpl(k) => return Zeroizing::new(codec::hex_encode(*k.to_bytes())),
        };
        Zeroizing::new(codec::hex_encode(*bytes))
    }

    /// The scheme this key signs with.
    pub fn scheme(&self) -> SignatureScheme {
        self.identity().scheme()
    }

    /// The identity this key signs as.
    pub fn identity(&self) -> Identity {
        match self {
            SigningKey::Ed25519(k) => Identity::Ed25519(k.public_key()),
            SigningKey::Evm(k) => Identity::Evm(EvmAddress::from_verifying_key(k.verifying_key())),
            SigningKey::Near(k) => Identity::Near(k.public_key()),
            SigningKey::Xrpl(k) => Identity::Xrpl(k.public_key().address()),
            SigningKey::Stellar(k) => Identity::Stellar(k.public_key()),
        }
    }

    /// Signs `message` with this identity's scheme, in the form [`Identity::verify`] takes:
    /// raw Ed25519 (64 bytes); EIP-191 `personal_sign` (65 bytes, v in {27, 28}); a NEP-413
    /// blob for `idos.network`; the XRPL public key and `ripple-keypairs`' signature; SEP-53
    /// for Stellar.
    ///
    /// A NEAR wallet signs text: bytes that are not UTF-8 are signed as their lossy UTF-8
    /// reading, which then does not verify as the original bytes (every text this project
    /// signs is UTF-8).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            SigningKey::Ed25519(k) => k.sign(message).as_bytes().to_vec(),
            SigningKey::Near(k) => {
                let text = String::from_utf8_lossy(message);
                // Only a message of more than 64 KiB has no blob; it gets an empty signature,
                // which every verifier refuses as malformed.
                crate::near::sign(k, text.as_bytes()).unwrap_or_default()
            }
            SigningKey::Xrpl(k) => k.sign_as_identity(message),
            SigningKey::Stellar(k) => crate::stellar::sign_sep53(k, message).as_bytes().to_vec(),
            SigningKey::Evm(k) => {
                let (sig, recovery) = k
                    .sign_prehash_recoverable(&eip191_hash(message))
                    .expect("signing a 32-byte prehash cannot fail");
                let mut out = sig.to_bytes().to_vec();
                out.push(27 + recovery.to_byte());
                out
            }
        }
    }
}

impl zeroize::ZeroizeOnDrop for SigningKey {}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.identity().display_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eip55_known_answers() {
        // From EIP-55's test cases.
        for expected in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            let a = EvmAddress::parse(&expected.to_lowercase()).unwrap();
            assert_eq!(a.to_checksum(), expected);
            assert_eq!(EvmAddress::parse(expected).unwrap(), a);
        }
    }

    #[test]
    fn eip191_known_answer() {
        // Message "hello world" signed by the well-known Hardhat account #0
        // (secret 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80).
        let key = SigningKey::from_hex(
            SignatureScheme::Eip191,
            "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        )
        .unwrap();
        let identity = key.identity();
        assert_eq!(
            identity.display_name(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        assert_eq!(
            codec::hex_encode(eip191_hash(b"hello world")),
            "d9eba16ed0ecae432b71fe008c98cc872bb4cc214d3220a36f365326cf807d68"
        );
        let signature = key.sign(b"hello world");
        assert_eq!(
            recover_eip191(b"hello world", &signature)
                .unwrap()
                .to_checksum(),
            identity.display_name()
        );
        identity.verify("sig", b"hello world", &signature).unwrap();
    }

    #[test]
    fn evm_accepts_v_0_1_and_refuses_the_high_s_twin() {
        let key = SigningKey::generate_evm();
        let mut sig = key.sign(b"m");
        sig[64] -= 27;
        key.identity().verify("sig", b"m", &sig).unwrap();
        // s → n - s with the parity flipped is the malleable twin `ecrecover` would map to the
        // same signer; EIP-2 (and so this node) accepts only the low-s form.
        use k256::elliptic_curve::PrimeField as _;
        let s = k256::Scalar::from_repr(*k256::FieldBytes::from_slice(&sig[32..64])).unwrap();
        sig[32..64].copy_from_slice(&(-s).to_bytes());
        sig[64] ^= 1;
        assert_eq!(
            key.identity().verify("sig", b"m", &sig).unwrap_err().code(),
            "bad_signature"
        );
        assert_eq!(
            recover_eip191(b"m", &sig).unwrap_err().code(),
            "invalid_secp256k1"
        );
    }

    #[test]
    fn ed25519_sign_verify_and_identifier_is_lowercase_hex() {
        let key = SigningKey::Ed25519(Ed25519SigningKey::from_seed(&[7; 32]));
        let id = key.identity();
        assert_eq!(id.identifier(), id.identifier().to_lowercase());
        assert_eq!(id.identifier().len(), 64);
        let sig = key.sign(b"abc");
        id.verify("sig", b"abc", &sig).unwrap();
        assert_eq!(
            Identity::parse(&id.identifier().to_uppercase()).unwrap(),
            id
        );
    }

    #[test]
    fn identities_compare_case_insensitively() {
        let a = Identity::parse("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266").unwrap();
        let b = Identity::parse("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266").unwrap();
        let c = Identity::parse("0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(serde_json_round_trip(&a), a);
    }

    fn serde_json_round_trip(i: &Identity) -> Identity {
        serde_json::from_str(&serde_json::to_string(i).unwrap()).unwrap()
    }

    #[test]
    fn fail_bad_addresses() {
        assert_eq!(
            EvmAddress::parse("0x123").unwrap_err().code(),
            "invalid_evm_address"
        );
        assert_eq!(
            EvmAddress::parse("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")
                .unwrap_err()
                .code(),
            "invalid_evm_address"
        );
        assert_eq!(
            EvmAddress::parse(&format!("0x{}", "g".repeat(40)))
                .unwrap_err()
                .code(),
            "invalid_evm_address"
        );
        // One letter's case flipped: checksum catches it.
        assert_eq!(
            EvmAddress::parse("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92267")
                .unwrap_err()
                .code(),
            "evm_checksum_mismatch"
        );
        assert_eq!(
            EvmAddress::parse("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
                .unwrap_err()
                .code(),
            "evm_checksum_mismatch"
        );
        assert_eq!(
            Identity::parse("alice").unwrap_err().code(),
            "invalid_identifier"
        );
        assert_eq!(
            Identity::parse(&"z".repeat(64)).unwrap_err().code(),
            "invalid_identifier"
        );
    }

    #[test]
    fn fail_evm_signature_by_someone_else_or_malformed() {
        let key = SigningKey::generate_evm();
        let other = SigningKey::generate_evm();
        let sig = other.sign(b"m");
        assert_eq!(
            key.identity().verify("sig", b"m", &sig).unwrap_err().code(),
            "bad_signature"
        );
        assert_eq!(
            key.identity()
                .verify("sig", b"m", &sig[..64])
                .unwrap_err()
                .code(),
            "invalid_length"
        );
        let mut bad_v = key.sign(b"m");
        bad_v[64] = 29;
        assert!(key.identity().verify("sig", b"m", &bad_v).is_err());
        assert!(key.identity().verify("sig", b"m", &[0u8; 65]).is_err());
        assert!(key.identity().verify("sig", b"m", &[0xffu8; 65]).is_err());
        let good = key.sign(b"m");
        assert_eq!(
            key.identity()
                .verify("sig", b"other", &good)
                .unwrap_err()
                .code(),
            "bad_signature"
        );
    }

    #[test]
    fn fail_ed25519_signature_wrong_message_or_key_or_length() {
        let key = SigningKey::generate_ed25519();
        let sig = key.sign(b"m");
        let id = key.identity();
        assert_eq!(
            id.verify("sig", b"n", &sig).unwrap_err().code(),
            "bad_signature"
        );
        assert_eq!(
            SigningKey::generate_ed25519()
                .identity()
                .verify("sig", b"m", &sig)
                .unwrap_err()
                .code(),
            "bad_signature"
        );
        assert_eq!(
            id.verify("sig", b"m", &sig[..63]).unwrap_err().code(),
            "invalid_length"
        );
        // The identity point is a small-order key: strict verification refuses it.
        let mut small = [0u8; 32];
        small[0] = 1;
        let weak = Identity::Ed25519(Ed25519PublicKey::from_bytes(small));
        assert!(weak.verify("sig", b"m", &[0u8; 64]).is_err());
    }
}

#[cfg(test)]
mod evm_key_tests {
    use super::*;

    #[test]
    fn a_recovered_key_verifies_later_signatures_of_its_address_only() {
        let key = SigningKey::generate_evm();
        let first = key.sign(b"first");
        let learned = recover_eip191_key(b"first", &first).unwrap();
        assert_eq!(Identity::Evm(learned.address()), key.identity());
        let second = key.sign(b"second");
        verify_eip191(b"second", &second, &learned).unwrap();
        assert_eq!(
            verify_eip191(b"other", &second, &learned)
                .unwrap_err()
                .code(),
            "bad_signature"
        );
        let stranger = SigningKey::generate_evm().sign(b"second");
        assert_eq!(
            verify_eip191(b"second", &stranger, &learned)
                .unwrap_err()
                .code(),
            "bad_signature"
        );
        let mut bad_v = second.clone();
        bad_v[64] = 29;
        assert_eq!(
            verify_eip191(b"second", &bad_v, &learned)
                .unwrap_err()
                .code(),
            "invalid_secp256k1"
        );
    }
}

#[cfg(test)]
mod evm_canonical_form_tests {
    //! The learned-key path ([`verify_eip191`]) and the recovery path must give the same
    //! verdict for every byte string, or validators that learned a key and validators that
    //! did not would disagree on a transaction.
    use super::*;
    use k256::elliptic_curve::PrimeField as _;
    use proptest::prelude::*;

    fn keys() -> &'static [(SigningKey, EvmPublicKey)] {
        static KEYS: std::sync::OnceLock<Vec<(SigningKey, EvmPublicKey)>> =
            std::sync::OnceLock::new();
        KEYS.get_or_init(|| {
            (1u8..=3)
                .map(|i| {
                    let key = SigningKey::evm_from_bytes(&[i; 32]).unwrap();
                    let sig = key.sign(b"learn");
                    let public = recover_eip191_key(b"learn", &sig).unwrap();
                    (key, public)
                })
                .collect()
        })
    }

    fn negate_s(sig: &mut [u8]) {
        let s = k256::Scalar::from_repr(*k256::FieldBytes::from_slice(&sig[32..64])).unwrap();
        sig[32..64].copy_from_slice(&(-s).to_bytes());
    }

    /// A signature by one of the keys, then one mutation.
    fn mutated() -> impl Strategy<Value = (usize, usize, Vec<u8>, Vec<u8>)> {
        (
            0usize..3,
            0usize..3,
            any::<u16>(),
            0u8..8,
            any::<u16>(),
            any::<u8>(),
        )
            .prop_map(|(signer, checked, message, mutation, position, byte)| {
                let message = message.to_le_bytes().to_vec();
                let mut sig = keys()[signer].0.sign(&message);
                match mutation {
                    0 => {}
                    1 => sig[64] ^= 0x07, // 27 <-> 28
                    2 => sig[64] -= 27,   // {0, 1}
                    3 => {
                        sig[64] -= 27;
                        sig[64] ^= 1;
                    }
                    4 => negate_s(&mut sig),
                    5 => {
                        negate_s(&mut sig);
                        sig[64] ^= 0x07;
                    }
                    6 => sig[position as usize % 65] ^= 1 << (byte % 8),
                    _ => sig[position as usize % 65] = byte,
                }
                (signer, checked, message, sig)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        #[test]
        fn the_learned_key_path_agrees_with_recovery((_, checked, message, sig) in mutated()) {
            let (signer, key) = &keys()[checked];
            let by_recovery = recover_eip191_key(&message, &sig).ok() == Some(*key);
            let by_key = verify_eip191(&message, &sig, key).is_ok();
            prop_assert_eq!(by_key, by_recovery);
            prop_assert_eq!(signer.identity().verify("sig", &message, &sig).is_ok(), by_recovery);
        }
    }

    #[test]
    fn a_flipped_v_is_refused_on_both_paths() {
        let (signer, key) = &keys()[0];
        for convention in [0u8, 27] {
            let mut sig = signer.sign(b"m");
            sig[64] = sig[64] - 27 + convention;
            verify_eip191(b"m", &sig, key).unwrap();
            // 27 <-> 28, 0 <-> 1.
            sig[64] ^= if convention == 0 { 1 } else { 0x07 };
            assert_eq!(
                verify_eip191(b"m", &sig, key).unwrap_err().code(),
                "bad_signature"
            );
            assert_ne!(recover_eip191_key(b"m", &sig).ok(), Some(*key));
            assert_eq!(
                signer
                    .identity()
                    .verify("sig", b"m", &sig)
                    .unwrap_err()
                    .code(),
                "bad_signature"
            );
        }
    }

    #[test]
    fn a_high_s_is_refused_on_both_paths() {
        let (signer, key) = &keys()[1];
        let mut sig = signer.sign(b"m");
        negate_s(&mut sig);
        sig[64] ^= 0x07;
        assert_eq!(
            verify_eip191(b"m", &sig, key).unwrap_err().code(),
            "invalid_secp256k1"
        );
        assert_eq!(
            recover_eip191_key(b"m", &sig).unwrap_err().code(),
            "invalid_secp256k1"
        );
    }
}
