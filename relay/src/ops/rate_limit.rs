//! Rate limits per client address and per signed-in identity (`governor`'s keyed GCRA
//! limiters), refused with 429 `rate_limited` and `Retry-After`.
//!
//! Key memory is bounded: every [`CLEANUP_EVERY`] a request prunes keys whose state is back to
//! fresh (`retain_recent`), so an idle key lives for about `burst / rate` seconds; if the
//! limiter still holds `max_keys` keys, requests are refused until keys expire (a flood of
//! distinct addresses cannot grow memory without end).

use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::client_ip::{ClientIp, TrustedProxy, client_ip, limit_key};
use super::config::RateLimit;
use super::identity::CallerIdentity;
use super::metrics::Metrics;
use super::refusal::{LimitScope, OpsRefusal};

/// How often a limiter prunes keys that are back to fresh.
pub const CLEANUP_EVERY: Duration = Duration::from_secs(10);

/// A keyed rate limiter with bounded key memory.
#[derive(Debug)]
pub struct KeyedLimiter<K: Hash + Eq + Clone> {
    limiter: RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>,
    quota: Quota,
    max_keys: usize,
    born: Instant,
    /// Milliseconds after `born` of the last cleanup.
    last_cleanup_ms: AtomicU64,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A limiter allowing `limit` per key, remembering at most `max_keys` keys.
    pub fn new(limit: RateLimit, max_keys: usize) -> Self {
        let quota = Quota::per_second(limit.per_second).allow_burst(limit.burst);
        KeyedLimiter {
            limiter: RateLimiter::keyed(quota),
            quota,
            max_keys,
            born: Instant::now(),
            last_cleanup_ms: AtomicU64::new(0),
        }
    }

    /// Counts one request for `key`: `Err(wait)` if it is over the limit.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.maybe_cleanup();
        if self.limiter.len() >= self.max_keys {
            self.cleanup();
            if self.limiter.len() >= self.max_keys {
                return Err(self.quota.replenish_interval());
            }
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }

    /// Forgets keys whose state is back to fresh.
    pub fn cleanup(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }

    /// Runs [`cleanup`](Self::cleanup) if the last one is [`CLEANUP_EVERY`] old; one caller wins.
    fn maybe_cleanup(&self) {
        let now = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_cleanup_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= CLEANUP_EVERY.as_millis() as u64
            && self
                .last_cleanup_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.cleanup();
        }
    }
}

/// The per-address limit and how the address is found.
#[derive(Clone)]
pub(crate) struct AddressLimit {
    pub limiter: Option<Arc<KeyedLimiter<IpAddr>>>,
    pub trusted_proxies: Arc<[TrustedProxy]>,
    pub metrics: Arc<Metrics>,
}

/// Middleware: decides the client's address ([`ClientIp`], from the TCP peer, and from
/// `X-Forwarded-For` only through trusted proxies), puts it in the request's extensions and
/// counts the request against the address's limit. Without a peer address (a server not
/// started with `into_make_service_with_connect_info`), every request counts as `0.0.0.0`.
pub(crate) async fn limit_addresses(
    State(limit): State<AddressLimit>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let ip = client_ip(peer, request.headers(), &limit.trusted_proxies);
    request.extensions_mut().insert(ClientIp(ip));
    if let Some(limiter) = &limit.limiter
        && let Err(retry_after) = limiter.check(&limit_key(ip))
    {
        limit.metrics.rate_limited(LimitScope::Address);
        return OpsRefusal::RateLimited {
            scope: LimitScope::Address,
            retry_after,
        }
        .into_response();
    }
    next.run(request).await
}

/// The per-identity limit; also callable directly (e.g. from an authentication extractor).
#[derive(Debug, Clone)]
pub struct IdentityLimiter {
    limiter: Arc<KeyedLimiter<String>>,
    metrics: Arc<Metrics>,
}

impl IdentityLimiter {
    pub(crate) fn new(limiter: Arc<KeyedLimiter<String>>, metrics: Arc<Metrics>) -> Self {
        IdentityLimiter { limiter, metrics }
    }

    /// Counts one request of `identity`; the refusal to answer if it is over the limit.
    pub fn check(&self, identity: &str) -> Result<(), OpsRefusal> {
        // Keyed by owned strings; the identity's text is short (an address or a key).
        self.limiter
            .check(&identity.to_owned())
            .map_err(|retry_after| {
                self.metrics.rate_limited(LimitScope::Identity);
                OpsRefusal::RateLimited {
                    scope: LimitScope::Identity,
                    retry_after,
                }
            })
    }
}

/// Middleware: counts a request that carries a [`CallerIdentity`] against that identity's
/// limit; anonymous requests pass.
pub(crate) async fn limit_identities(
    State(limiter): State<Option<IdentityLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    if let (Some(limiter), Some(CallerIdentity(identity))) =
        (&limiter, request.extensions().get::<CallerIdentity>())
        && let Err(refusal) = limiter.check(identity)
    {
        return refusal.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_burst_then_waits() {
        let limiter = KeyedLimiter::<u32>::new(RateLimit::new(1, 3).unwrap(), 10);
        for _ in 0..3 {
            limiter.check(&7).unwrap();
        }
        let wait = limiter.check(&7).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another key is counted apart.
        limiter.check(&8).unwrap();
    }

    #[test]
    fn key_memory_is_bounded_by_max_keys() {
        // One request per hour: no key becomes fresh again during the test.
        let limiter = KeyedLimiter::<u32>::new(RateLimit::new(1, 1).unwrap(), 100);
        let limiter = KeyedLimiter {
            limiter: RateLimiter::keyed(Quota::per_hour(std::num::NonZeroU32::MIN)),
            ..limiter
        };
        let mut refused = 0;
        for key in 0..1000 {
            if limiter.check(&key).is_err() {
                refused += 1;
            }
        }
        assert_eq!(limiter.len(), 100);
        assert_eq!(refused, 900);
    }

    #[test]
    fn keys_back_to_fresh_are_forgotten() {
        let limiter = KeyedLimiter::<u32>::new(RateLimit::new(1000, 1).unwrap(), 100);
        for key in 0..50 {
            limiter.check(&key).unwrap();
        }
        assert_eq!(limiter.len(), 50);
        std::thread::sleep(Duration::from_millis(5));
        limiter.cleanup();
        assert_eq!(limiter.len(), 0);
    }
}
