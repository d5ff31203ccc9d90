//! Sign-in nonces: 22 random alphanumeric characters (131 bits), stored in the relay store
//! with their expiry, good for one sign-in attempt.
//!
//! [`Nonces::consume`] marks a nonce used (fsynced) before the attempt is checked any further,
//! so a failed attempt uses it up too, and a restart cannot make it usable again. Used nonces
//! stay marked until their expiry, so a second use says `nonce_used`; after that they are
//! pruned and unknown.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rand_core::{OsRng, RngCore};

use super::error::AuthError;
use crate::store::{Durability, RelayStore, RelayTable, expiring_value, split_expiring};

/// Characters in a nonce.
pub const NONCE_CHARS: usize = 22;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const ISSUED: u8 = 0;
const USED: u8 = 1;

/// Expired nonces are pruned after this many issues.
const PRUNE_EVERY: u64 = 1024;

/// A fresh nonce: uniformly random over the 62 alphanumerics (rejection sampling).
pub fn generate() -> String {
    let mut out = String::with_capacity(NONCE_CHARS);
    let mut buf = [0u8; 32];
    while out.len() < NONCE_CHARS {
        OsRng.fill_bytes(&mut buf);
        for &b in &buf {
            // 248 = 4 × 62: bytes above it would favour the first characters.
            if b < 248 && out.len() < NONCE_CHARS {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    out
}

/// The nonces this relay issued.
#[derive(Debug)]
pub struct Nonces {
    store: Arc<RelayStore>,
    ttl_ms: u64,
    issued: AtomicU64,
}

impl Nonces {
    /// Nonces in `store`, each valid for `ttl_ms`.
    pub fn new(store: Arc<RelayStore>, ttl_ms: u64) -> Self {
        Nonces {
            store,
            ttl_ms,
            issued: AtomicU64::new(0),
        }
    }

    /// Issues a nonce at `now_ms` (unix ms). Not fsynced: a nonce lost in a crash is merely
    /// unknown.
    pub fn issue(&self, now_ms: u64) -> Result<String, AuthError> {
        if self.issued.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.store.prune_expired(RelayTable::Nonces, now_ms)?;
        }
        let nonce = generate();
        let value = expiring_value(now_ms.saturating_add(self.ttl_ms), &[ISSUED]);
        self.store.put(
            RelayTable::Nonces,
            nonce.as_bytes(),
            &value,
            Durability::Logged,
        )?;
        Ok(nonce)
    }

    /// Uses up `nonce` at `now_ms`: `Ok` only the first time, and only before it expires.
    pub fn consume(&self, nonce: &str, now_ms: u64) -> Result<(), AuthError> {
        if nonce.is_empty() || nonce.len() > 64 || !nonce.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(AuthError::NonceUnknown);
        }
        let before = self
            .store
            .update(RelayTable::Nonces, nonce.as_bytes(), |old| {
                let (expiry, state) = split_expiring(old?)?;
                (state == [ISSUED]).then(|| expiring_value(expiry, &[USED]))
            })?;
        match before.as_deref().and_then(split_expiring) {
            None => Err(AuthError::NonceUnknown),
            Some((_, state)) if state != [ISSUED] => Err(AuthError::NonceUsed),
            Some((expiry, _)) if now_ms >= expiry => Err(AuthError::NonceExpired),
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_long_alphanumeric_and_distinct() {
        let all: std::collections::HashSet<_> = (0..1000).map(|_| generate()).collect();
        assert_eq!(all.len(), 1000);
        for nonce in &all {
            assert_eq!(nonce.len(), NONCE_CHARS);
            assert!(nonce.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
        // 22 characters of 62 carry more than 96 bits.
        assert!(NONCE_CHARS as f64 * 62f64.log2() >= 96.0);
        // Every character turns up (uniform enough that none is missing in 22,000 draws).
        let used: std::collections::HashSet<_> = all.iter().flat_map(|n| n.bytes()).collect();
        assert_eq!(used.len(), 62);
    }

    #[test]
    fn a_nonce_is_good_once_then_used_then_unknown_after_pruning() {
        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open(dir.path()).unwrap();
        let nonces = Nonces::new(store.clone(), 1_000);
        let nonce = nonces.issue(10_000).unwrap();
        nonces.consume(&nonce, 10_500).unwrap();
        assert_eq!(nonces.consume(&nonce, 10_600), Err(AuthError::NonceUsed));
        store.prune_expired(RelayTable::Nonces, 11_000).unwrap();
        assert_eq!(nonces.consume(&nonce, 11_100), Err(AuthError::NonceUnknown));
    }

    #[test]
    fn fail_expired_unknown_and_malformed_nonces() {
        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open(dir.path()).unwrap();
        let nonces = Nonces::new(store, 1_000);
        let nonce = nonces.issue(10_000).unwrap();
        assert_eq!(nonces.consume(&nonce, 11_000), Err(AuthError::NonceExpired));
        // Expired is used up too.
        assert_eq!(nonces.consume(&nonce, 10_500), Err(AuthError::NonceUsed));
        for bad in [&generate()[..], "", "abc-def", &"a".repeat(65)] {
            assert_eq!(
                nonces.consume(bad, 10_000),
                Err(AuthError::NonceUnknown),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_used_nonce_stays_used_after_reopening_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let nonce = {
            let nonces = Nonces::new(RelayStore::open(dir.path()).unwrap(), 60_000);
            let nonce = nonces.issue(10_000).unwrap();
            nonces.consume(&nonce, 10_001).unwrap();
            nonce
        };
        let nonces = Nonces::new(RelayStore::open(dir.path()).unwrap(), 60_000);
        assert_eq!(nonces.consume(&nonce, 10_002), Err(AuthError::NonceUsed));
    }

    #[test]
    fn concurrent_uses_of_one_nonce_succeed_once() {
        let dir = tempfile::tempdir().unwrap();
        let nonces = Arc::new(Nonces::new(RelayStore::open(dir.path()).unwrap(), 60_000));
        let nonce = nonces.issue(10_000).unwrap();
        let wins: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| nonces.consume(&nonce, 10_001).is_ok()))
                .collect();
            handles
                .into_iter()
                .map(|h| usize::from(h.join().unwrap()))
                .sum()
        });
        assert_eq!(wins, 1);
    }
}
