//! Signed transactions: the envelope, its canonical binary encoding and the text a wallet
//! is asked to sign.
//!
//! Encoding: one version byte ([`TX_VERSION`]) followed by the Borsh encoding of
//! [`SignedTransaction`]. Borsh is canonical (one byte string per value: fixed-width
//! little-endian integers, u32 length prefixes, strict 0/1 booleans and option tags, no
//! trailing bytes), so the transaction hash identifies its content.
//!
//! What is signed is not the bytes but [`Transaction::signing_text`]: a short text naming the
//! action, a SHA-256 digest of its encoded arguments, the signer, the nonce and the chain id.
//! EVM wallets sign it with `personal_sign`, Ed25519 keys sign its UTF-8 bytes.

use sha2::{Digest, Sha256};

use crate::action::Action;
use crate::bytes::{Bytes, Sha256Digest};
use crate::codec;
use crate::error::{Error, Result};
use crate::identity::{Identity, SigningKey};

/// The envelope version this build writes and reads.
pub const TX_VERSION: u8 = 1;

/// Largest encoded transaction accepted (CometBFT's default `max_tx_bytes`).
pub const MAX_TRANSACTION_BYTES: usize = 1024 * 1024;

/// Longest chain id (CometBFT's limit).
pub const MAX_CHAIN_ID_LEN: usize = 50;

/// Checks that a chain id is 1 to 50 characters of `[A-Za-z0-9._-]`, so it cannot smuggle
/// lines into a signed text.
pub fn validate_chain_id(chain_id: &str) -> Result<()> {
    let ok = !chain_id.is_empty()
        && chain_id.len() <= MAX_CHAIN_ID_LEN
        && chain_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "chain_id",
            "must be 1 to 50 characters of letters, digits, '.', '_' or '-'",
        ))
    }
}

/// An unsigned transaction.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct Transaction {
    /// The network this transaction is meant for.
    pub chain_id: String,
    /// The signer's sequence number: 1 for its first transaction, then one more each time.
    pub nonce: u64,
    /// Who signs.
    pub signer: Identity,
    /// What to do.
    pub action: Action,
}

/// SHA-256 of the Borsh encoding of a value, used as the "arguments digest" of signed texts.
pub(crate) fn digest_of(value: &impl borsh::BorshSerialize) -> Sha256Digest {
    let bytes = borsh::to_vec(value).expect("borsh encoding into a Vec cannot fail");
    Sha256Digest::from_bytes(Sha256::digest(bytes).into())
}

impl Transaction {
    /// SHA-256 over the encoded action (tag and arguments).
    pub fn arguments_digest(&self) -> Sha256Digest {
        digest_of(&self.action)
    }

    /// The text the signer's wallet shows and signs.
    pub fn signing_text(&self) -> String {
        format!(
            "idOS transaction\nAction: {}\n{}\n\nSigner: {}\nArguments digest: {}\nNonce: {}\nChain ID: {}\nVersion: {}\n",
            self.action.name(),
            self.action.description(),
            self.signer.display_name(),
            self.arguments_digest(),
            self.nonce,
            self.chain_id,
            TX_VERSION,
        )
    }

    /// Stateless validation: chain id form, nonce, field sizes.
    pub fn validate(&self) -> Result<()> {
        validate_chain_id(&self.chain_id)?;
        if self.nonce == 0 {
            return Err(Error::invalid("nonce", "starts at 1"));
        }
        self.action.validate()
    }

    /// The unsigned transaction's canonical bytes: version byte, then Borsh. What a client that
    /// cannot encode Borsh gets from the relay, and hands back with its signature.
    pub fn encode(&self) -> Vec<u8> {
        encode_versioned(self)
    }

    /// Decodes and validates an unsigned transaction's bytes ([`Transaction::encode`]). Never
    /// panics.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let tx: Transaction = decode_versioned(bytes)?;
        tx.validate()?;
        Ok(tx)
    }

    /// Signs with `key`, which must be the transaction's signer.
    pub fn sign(self, key: &SigningKey) -> Result<SignedTransaction> {
        if key.identity() != self.signer {
            return Err(Error::invalid(
                "signer",
                "the signing key is not the transaction's signer",
            ));
        }
        let signature = key.sign(self.signing_text().as_bytes()).into();
        Ok(SignedTransaction {
            tx: self,
            signature,
        })
    }
}

/// A transaction and its signer's signature over [`Transaction::signing_text`].
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct SignedTransaction {
    pub tx: Transaction,
    pub signature: Bytes,
}

impl SignedTransaction {
    /// The canonical bytes: version byte, then Borsh.
    pub fn encode(&self) -> Vec<u8> {
        encode_versioned(self)
    }

    /// Decodes and validates canonical bytes. Oversized, truncated, trailing-garbage and
    /// unknown-version input each get their own error; this never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let signed: SignedTransaction = decode_versioned(bytes)?;
        signed.tx.validate()?;
        Ok(signed)
    }

    /// Checks the signature against the declared signer.
    pub fn verify_signature(&self) -> Result<()> {
        self.tx.signer.verify(
            "transaction signature",
            self.tx.signing_text().as_bytes(),
            &self.signature,
        )
    }

    /// The transaction hash: SHA-256 of the encoded bytes (as CometBFT computes it).
    pub fn hash(&self) -> Sha256Digest {
        tx_hash(&self.encode())
    }
}

/// SHA-256 of encoded transaction bytes (CometBFT's tx hash).
pub fn tx_hash(bytes: &[u8]) -> Sha256Digest {
    Sha256Digest::from_bytes(Sha256::digest(bytes).into())
}

/// Upper-case hex of a tx hash, as CometBFT prints it.
pub fn tx_hash_hex(hash: &Sha256Digest) -> String {
    codec::hex_encode(hash.as_bytes()).to_uppercase()
}

/// The version byte, then Borsh: the wire form of transactions, signed or not.
fn encode_versioned(value: &impl borsh::BorshSerialize) -> Vec<u8> {
    let mut out = vec![TX_VERSION];
    borsh::to_writer(&mut out, value).expect("borsh encoding into a Vec cannot fail");
    out
}

/// Reads [`encode_versioned`]'s form: bounded in size, the version checked, no trailing bytes.
/// Never panics.
fn decode_versioned<T: borsh::BorshDeserialize>(bytes: &[u8]) -> Result<T> {
    if bytes.len() > MAX_TRANSACTION_BYTES {
        return Err(Error::TooLarge {
            what: "transaction",
            actual: bytes.len(),
            limit: MAX_TRANSACTION_BYTES,
        });
    }
    let (&version, body) = bytes
        .split_first()
        .ok_or_else(|| Error::malformed("transaction", "empty input"))?;
    if version != TX_VERSION {
        return Err(Error::UnsupportedVersion {
            what: "transaction",
            version,
            supported: TX_VERSION,
        });
    }
    borsh::from_slice(body).map_err(|e| Error::malformed("transaction", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::RevokeAccessGrant;
    use crate::identity::Ed25519SigningKey;

    fn unsigned() -> Transaction {
        let key = SigningKey::Ed25519(Ed25519SigningKey::generate());
        Transaction {
            chain_id: "idos-test".into(),
            nonce: 3,
            signer: key.identity(),
            action: RevokeAccessGrant {
                id: uuid::Uuid::nil(),
            }
            .into(),
        }
    }

    #[test]
    fn an_unsigned_transaction_decodes_to_itself() {
        let tx = unsigned();
        assert_eq!(Transaction::decode(&tx.encode()).unwrap(), tx);
    }

    #[test]
    fn fail_unsigned_transactions_that_are_empty_truncated_long_or_of_another_version() {
        let bytes = unsigned().encode();
        let code = |b: &[u8]| Transaction::decode(b).unwrap_err().code();
        assert_eq!(code(&[]), "malformed");
        assert_eq!(code(&bytes[..bytes.len() - 1]), "malformed");
        assert_eq!(code(&[bytes.as_slice(), &[0]].concat()), "malformed");
        let mut other = bytes.clone();
        other[0] = 2;
        assert_eq!(code(&other), "unsupported_version");
        assert_eq!(code(&vec![1; MAX_TRANSACTION_BYTES + 1]), "too_large");
        let mut zero_nonce = unsigned();
        zero_nonce.nonce = 0;
        assert_eq!(code(&zero_nonce.encode()), "invalid_field");
    }
}
