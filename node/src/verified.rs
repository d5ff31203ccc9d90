//! Transactions whose stateless checks passed, kept decoded between CheckTx and FinalizeBlock.
//!
//! CheckTx decodes a transaction and verifies its signatures; FinalizeBlock needs the same
//! decoded transaction and must not verify it again. Keyed by the SHA-256 of the exact bytes,
//! an entry stands for those bytes: decoding is a function of the bytes, and the checks it
//! skips ([`crate::state::verify::verify_stateless`]) a function of the bytes and the chain
//! id, which never changes once set. So the cache changes speed only, never a verdict: a node
//! that lost it (a restart, or the bound below) decodes and verifies again. Only transactions
//! CheckTx admits stay (`App::admit` drops the ones it refuses), so what fills the cache is
//! what waits in the mempool, itself bounded.

use std::collections::HashMap;
use std::sync::Arc;

use protocol::bytes::Sha256Digest;
use protocol::tx::SignedTransaction;

/// At most this many transactions are kept.
const MAX_ENTRIES: usize = 200_000;

/// At most this many encoded bytes are kept (about what the decoded transactions hold); the
/// embedded mempool's default is 1 GiB, but a transaction normally leaves the cache within a
/// block or two of entering it.
const MAX_BYTES: usize = 256 << 20;

/// Verified transactions by hash, bounded in count and bytes.
#[derive(Default)]
pub struct VerifiedTxs {
    by_hash: HashMap<[u8; 32], (Arc<SignedTransaction>, usize)>,
    bytes: usize,
}

impl VerifiedTxs {
    /// The verified transaction whose encoding hashes to `hash`, if kept.
    pub fn get(&self, hash: &Sha256Digest) -> Option<Arc<SignedTransaction>> {
        self.by_hash.get(hash.as_bytes()).map(|(tx, _)| tx.clone())
    }

    /// Removes and returns the verified transaction whose encoding hashes to `hash`.
    pub fn take(&mut self, hash: &Sha256Digest) -> Option<Arc<SignedTransaction>> {
        let (tx, len) = self.by_hash.remove(hash.as_bytes())?;
        self.bytes -= len;
        Some(tx)
    }

    /// Keeps `tx`, whose `len` encoded bytes hash to `hash` and passed the stateless checks.
    /// When full, everything is forgotten first: that costs a second decoding and
    /// verification in FinalizeBlock, never a different verdict.
    pub fn insert(&mut self, hash: &Sha256Digest, tx: Arc<SignedTransaction>, len: usize) {
        if self.by_hash.len() >= MAX_ENTRIES || self.bytes.saturating_add(len) > MAX_BYTES {
            self.by_hash.clear();
            self.bytes = 0;
        }
        if let Some((_, old)) = self.by_hash.insert(*hash.as_bytes(), (tx, len)) {
            self.bytes -= old;
        }
        self.bytes += len;
    }

    /// How many transactions are kept.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// How many encoded bytes the kept transactions had.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl std::fmt::Debug for VerifiedTxs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedTxs")
            .field("len", &self.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::action::AddInserter;
    use protocol::identity::SigningKey;
    use protocol::tx::{Transaction, tx_hash};

    fn tx(nonce: u64) -> (Sha256Digest, Arc<SignedTransaction>, usize) {
        let key = SigningKey::generate_ed25519();
        let stx = Transaction {
            chain_id: "c".into(),
            nonce,
            signer: key.identity(),
            action: AddInserter {
                id: uuid::Uuid::nil(),
                name: "n".into(),
            }
            .into(),
        }
        .sign(&key)
        .unwrap();
        let bytes = stx.encode();
        (tx_hash(&bytes), Arc::new(stx), bytes.len())
    }

    #[test]
    fn take_returns_what_was_kept_once() {
        let mut cache = VerifiedTxs::default();
        let (hash, stx, len) = tx(1);
        cache.insert(&hash, stx.clone(), len);
        assert_eq!(cache.bytes(), len);
        assert!(Arc::ptr_eq(&cache.get(&hash).unwrap(), &stx));
        assert!(Arc::ptr_eq(&cache.take(&hash).unwrap(), &stx));
        assert!(cache.take(&hash).is_none());
        assert_eq!((cache.len(), cache.bytes()), (0, 0));
    }

    #[test]
    fn inserting_the_same_hash_twice_counts_its_bytes_once() {
        let mut cache = VerifiedTxs::default();
        let (hash, stx, len) = tx(1);
        cache.insert(&hash, stx.clone(), len);
        cache.insert(&hash, stx, len);
        assert_eq!((cache.len(), cache.bytes()), (1, len));
    }

    #[test]
    fn a_full_cache_starts_again_instead_of_growing() {
        let mut cache = VerifiedTxs::default();
        let (hash, stx, _) = tx(1);
        cache.insert(&hash, stx.clone(), MAX_BYTES - 10);
        let (other, other_stx, _) = tx(2);
        cache.insert(&other, other_stx, 11);
        assert!(cache.get(&hash).is_none(), "the bytes bound was passed");
        assert_eq!((cache.len(), cache.bytes()), (1, 11));
    }
}
