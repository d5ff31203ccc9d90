//! Sign-in and sessions: EIP-4361 for EVM wallets, a signed challenge for Ed25519 keys, and
//! stateless HMAC session tokens carried as a bearer token or an HttpOnly cookie.
//!
//! - [`config`]: what sign-in accepts ([`AuthConfig`]);
//! - [`key`]: the session key ([`SessionKey`]);
//! - [`token`]: session tokens;
//! - [`nonce`]: single-use nonces in the relay store;
//! - [`signing_text`]: the Ed25519 sign-in text;
//! - [`routes`]: `GET /api/v1/auth/nonce`, `POST /api/v1/auth/{siwe,ed25519,logout}`;
//! - [`session`]: the [`Session`] extractor (bearer or cookie; CSRF check on cookie writes);
//! - [`error`]: [`AuthError`], rendered as JSON `{"code", "message"}`;
//! - [`json`]: the JSON body extractor of these routes.
//!
//! [`Auth`] holds all of it behind an `Arc`; put it in the application state (the extractor
//! needs `Auth: FromRef<State>`) and merge [`Auth::router`].

pub mod config;
pub mod error;
pub mod json;
pub mod key;
pub mod nonce;
pub mod routes;
pub mod session;
pub mod signing_text;
pub mod token;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use protocol::identity::Identity;

pub use config::{AuthConfig, AuthConfigError};
pub use error::AuthError;
pub use key::SessionKey;
pub use session::Session;
pub use token::{SessionClaims, SessionId, SessionToken};

use crate::store::{Durability, RelayStore, RelayTable, expiring_value};

/// Sign-in and sessions of one relay. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Auth(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    config: AuthConfig,
    origins: Vec<String>,
    key: SessionKey,
    store: Arc<RelayStore>,
    nonces: nonce::Nonces,
    observer: std::sync::OnceLock<Arc<dyn SessionObserver>>,
}

/// Told when a session starts or is ended by logout (e.g. the relay's metrics).
pub trait SessionObserver: Send + Sync + std::fmt::Debug {
    /// A session was signed in.
    fn session_started(&self);
    /// A session was ended by logout.
    fn session_ended(&self);
}

impl SessionObserver for crate::ops::metrics::Metrics {
    fn session_started(&self) {
        crate::ops::metrics::Metrics::session_started(self);
    }

    fn session_ended(&self) {
        crate::ops::metrics::Metrics::session_ended(self);
    }
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Auth {
    /// Sign-in for `config` (validated here), signing sessions with `key`, keeping nonces and
    /// revocations in `store`.
    pub fn new(
        config: AuthConfig,
        key: SessionKey,
        store: Arc<RelayStore>,
    ) -> Result<Self, AuthConfigError> {
        config.validate()?;
        let nonces = nonce::Nonces::new(store.clone(), millis(config.nonce_ttl));
        Ok(Auth(Arc::new(Inner {
            origins: config.origins(),
            config,
            key,
            store,
            nonces,
            observer: std::sync::OnceLock::new(),
        })))
    }

    /// Tells `observer` of every session started and ended from now on (once per `Auth`:
    /// a second observer is ignored and `false` returned).
    pub fn observe(&self, observer: Arc<dyn SessionObserver>) -> bool {
        self.0.observer.set(observer).is_ok()
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.0.config
    }

    /// The origins sign-in accepts: the public origin, then the dapp origins.
    pub fn origins(&self) -> &[String] {
        &self.0.origins
    }

    /// The relay store (shared with the access log).
    pub fn store(&self) -> &Arc<RelayStore> {
        &self.0.store
    }

    /// The name of the session cookie: `__Host-idos_session` when cookies are `Secure` (the
    /// browser then refuses it from any other origin or path), `idos_session` on plain-http
    /// loopback development origins.
    pub fn cookie_name(&self) -> &'static str {
        if self.0.config.secure_cookies() {
            "__Host-idos_session"
        } else {
            "idos_session"
        }
    }

    /// Issues a nonce.
    pub fn issue_nonce(&self) -> Result<String, AuthError> {
        self.0.nonces.issue(now_ms())
    }

    /// Uses up a nonce (fsynced, so off the async workers).
    pub async fn consume_nonce(&self, nonce: &str) -> Result<(), AuthError> {
        let auth = self.clone();
        let nonce = nonce.to_owned();
        tokio::task::spawn_blocking(move || auth.0.nonces.consume(&nonce, now_ms()))
            .await
            .map_err(|e| AuthError::Store(e.to_string()))?
    }

    /// Starts a session for `identity`.
    pub fn start_session(&self, identity: Identity) -> (SessionToken, SessionClaims) {
        let now = now_ms() / 1000;
        let claims = SessionClaims {
            session_id: SessionId::generate(),
            identity,
            issued_at: now,
            expires_at: now.saturating_add(self.0.config.session_ttl.as_secs()),
        };
        if let Some(observer) = self.0.observer.get() {
            observer.session_started();
        }
        (token::issue(&self.0.key, &claims), claims)
    }

    /// The claims of a valid session token: signed with this relay's key, not expired, not
    /// revoked.
    pub fn verify_token(&self, token: &str) -> Result<SessionClaims, AuthError> {
        let claims = token::verify(&self.0.key, token, now_ms() / 1000)?;
        if self
            .0
            .store
            .get(RelayTable::RevokedSessions, &claims.session_id.0)?
            .is_some()
        {
            return Err(AuthError::RevokedSession);
        }
        Ok(claims)
    }

    /// Ends a session (fsynced before it returns, so a restart cannot bring it back).
    pub async fn revoke(&self, claims: &SessionClaims) -> Result<(), AuthError> {
        let auth = self.clone();
        let id = claims.session_id;
        let value = expiring_value(claims.expires_at.saturating_mul(1000), &[]);
        tokio::task::spawn_blocking(move || {
            auth.0.store.put(
                RelayTable::RevokedSessions,
                &id.0,
                &value,
                Durability::Synced,
            )
        })
        .await
        .map_err(|e| AuthError::Store(e.to_string()))??;
        if let Some(observer) = self.0.observer.get() {
            observer.session_ended();
        }
        Ok(())
    }

    /// Removes expired nonces and revocations of expired sessions. Returns how many rows went.
    pub fn prune_expired(&self) -> Result<usize, AuthError> {
        let now = now_ms();
        Ok(self.0.store.prune_expired(RelayTable::Nonces, now)?
            + self
                .0
                .store
                .prune_expired(RelayTable::RevokedSessions, now)?)
    }

    /// Prunes every `interval` until the runtime shuts down.
    pub fn spawn_pruner(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let auth = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            loop {
                ticker.tick().await;
                let auth = auth.clone();
                match tokio::task::spawn_blocking(move || auth.prune_expired()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "pruning the relay store failed"),
                    Err(e) => tracing::warn!(error = %e, "pruning task failed"),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[derive(Debug, Default)]
    struct Counts {
        started: AtomicUsize,
        ended: AtomicUsize,
    }

    impl SessionObserver for Counts {
        fn session_started(&self) {
            self.started.fetch_add(1, Ordering::SeqCst);
        }

        fn session_ended(&self) {
            self.ended.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn the_observer_hears_of_each_session_started_and_ended_and_only_one_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let auth = Auth::new(
            AuthConfig::new("http://localhost:8080"),
            SessionKey::generate(),
            RelayStore::open(dir.path()).unwrap(),
        )
        .unwrap();
        let counts = Arc::new(Counts::default());
        assert!(auth.observe(counts.clone()));
        assert!(
            !auth.observe(Arc::new(Counts::default())),
            "a second is ignored"
        );
        let identity = Identity::parse(&"ab".repeat(32)).unwrap();
        let (_, first) = auth.start_session(identity);
        auth.start_session(identity);
        auth.revoke(&first).await.unwrap();
        assert_eq!(counts.started.load(Ordering::SeqCst), 2);
        assert_eq!(counts.ended.load(Ordering::SeqCst), 1);
    }
}
