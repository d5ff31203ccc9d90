//! [`AuthConfig`]: which origins, chains and lifetimes sign-in accepts.

use std::time::Duration;

use crate::web::{InvalidOrigin, validate_secure_origin};

/// What sign-in accepts. Origins are serialized origins (`scheme://host[:port]`), compared
/// exactly (no case folding, no default ports, no trailing slash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// The relay's own origin as browsers reach it (its pages, the dashboard). Session cookies
    /// are `Secure` exactly when it is `https://`.
    pub public_origin: String,
    /// Dapp origins that may ask users to sign in to this relay (their pages send the
    /// `Origin` header and put their origin in the EIP-4361 message).
    pub dapp_origins: Vec<String>,
    /// The EIP-155 chain ids an EIP-4361 message may name (default `[1]`).
    pub chain_ids: Vec<u64>,
    /// The idOS chain this relay fronts (the CometBFT chain id), written into the Ed25519
    /// sign-in text so a signature for one network is useless on another.
    pub network: String,
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// How long a nonce may wait for its sign-in.
    pub nonce_ttl: Duration,
    /// How old an EIP-4361 message's `Issued At` may be.
    pub siwe_max_age: Duration,
    /// How far a client's clock may be ahead of the relay's (`Issued At`, `Not Before`).
    pub clock_skew: Duration,
}

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthConfigError {
    /// An origin is malformed or not secure.
    #[error("{setting}: {source}")]
    Origin {
        setting: &'static str,
        source: InvalidOrigin,
    },
    /// A value out of its range.
    #[error("{setting}: {reason}")]
    Invalid {
        setting: &'static str,
        reason: String,
    },
}

impl AuthConfig {
    /// Defaults for a relay reachable at `public_origin`: chain 1, sessions of one hour, nonces
    /// of five minutes, messages at most ten minutes old, 30 seconds of clock skew.
    pub fn new(public_origin: impl Into<String>) -> Self {
        AuthConfig {
            public_origin: public_origin.into(),
            dapp_origins: Vec::new(),
            chain_ids: vec![1],
            network: "idos".to_owned(),
            session_ttl: Duration::from_secs(3600),
            nonce_ttl: Duration::from_secs(300),
            siwe_max_age: Duration::from_secs(600),
            clock_skew: Duration::from_secs(30),
        }
    }

    /// Checks every setting.
    pub fn validate(&self) -> Result<(), AuthConfigError> {
        let origin = |setting, o: &str| {
            validate_secure_origin(o).map_err(|source| AuthConfigError::Origin { setting, source })
        };
        origin("public origin", &self.public_origin)?;
        for o in &self.dapp_origins {
            origin("dapp origin", o)?;
        }
        let invalid = |setting, reason: &str| {
            Err(AuthConfigError::Invalid {
                setting,
                reason: reason.to_owned(),
            })
        };
        if self.chain_ids.is_empty() {
            return invalid(
                "chain ids",
                "name at least one EIP-155 chain id (1 is Ethereum mainnet)",
            );
        }
        if self.network.is_empty()
            || self.network.len() > 64
            || !self.network.bytes().all(|b| b.is_ascii_graphic())
        {
            return invalid("network", "1 to 64 printable ASCII characters, no spaces");
        }
        let range = |setting, value: Duration, min: u64, max: u64| {
            if value < Duration::from_secs(min) || value > Duration::from_secs(max) {
                Err(AuthConfigError::Invalid {
                    setting,
                    reason: format!("must be between {min} s and {max} s"),
                })
            } else {
                Ok(())
            }
        };
        range("session ttl", self.session_ttl, 60, 30 * 86_400)?;
        range("nonce ttl", self.nonce_ttl, 10, 3600)?;
        range("siwe max age", self.siwe_max_age, 10, 86_400)?;
        range("clock skew", self.clock_skew, 0, 600)?;
        Ok(())
    }

    /// The public origin and the dapp origins.
    pub fn origins(&self) -> Vec<String> {
        let mut all = vec![self.public_origin.clone()];
        all.extend(self.dapp_origins.iter().cloned());
        all
    }

    /// Whether `origin` is the public origin or a dapp origin (exact comparison).
    pub fn is_allowed_origin(&self, origin: &str) -> bool {
        self.public_origin == origin || self.dapp_origins.iter().any(|o| o == origin)
    }

    /// Whether cookies must be `Secure` (the public origin is `https://`).
    pub fn secure_cookies(&self) -> bool {
        self.public_origin.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        AuthConfig::new("http://localhost:8080").validate().unwrap();
        let config = AuthConfig::new("https://relay.example.com");
        config.validate().unwrap();
        assert!(config.secure_cookies());
        assert!(!AuthConfig::new("http://127.0.0.1:8080").secure_cookies());
    }

    #[test]
    fn fail_bad_settings() {
        let bad = |change: fn(&mut AuthConfig)| {
            let mut config = AuthConfig::new("https://relay.example.com");
            change(&mut config);
            config.validate().unwrap_err()
        };
        bad(|c| c.public_origin = "https://relay.example.com/".into());
        bad(|c| c.public_origin = "http://relay.example.com".into());
        bad(|c| c.public_origin = "https://Relay.example.com".into());
        bad(|c| c.dapp_origins = vec!["*".into()]);
        bad(|c| c.chain_ids.clear());
        bad(|c| c.network = "a b".into());
        bad(|c| c.session_ttl = Duration::from_secs(1));
        bad(|c| c.nonce_ttl = Duration::from_secs(86_400));
        bad(|c| c.siwe_max_age = Duration::ZERO);
        bad(|c| c.clock_skew = Duration::from_secs(3600));
    }

    #[test]
    fn origins_compare_exactly() {
        let mut config = AuthConfig::new("https://relay.example.com");
        config.dapp_origins = vec!["https://dapp.example.org".into()];
        assert!(config.is_allowed_origin("https://relay.example.com"));
        assert!(config.is_allowed_origin("https://dapp.example.org"));
        for other in [
            "https://relay.example.com/",
            "https://relay.example.com:443",
            "https://RELAY.example.com",
            "http://relay.example.com",
            "https://dapp.example.org.evil.com",
            "null",
            "",
        ] {
            assert!(!config.is_allowed_origin(other), "{other:?}");
        }
    }
}
