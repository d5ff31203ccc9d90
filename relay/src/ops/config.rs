//! [`OpsConfig`]: body limit, request timeout, rate limits, trusted proxies and shutdown grace,
//! with defaults and validation. It deserializes from TOML (`deny_unknown_fields`; every key
//! optional) so the relay's configuration file can embed it.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::client_ip::TrustedProxy;

/// A rate limit: a sustained rate per second and a burst. Text form: `"<per second>:<burst>"`
/// (`"100:200"`), or `"off"` where the limit is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per second, sustained.
    pub per_second: NonZeroU32,
    /// Requests allowed at once after a quiet period.
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// `per_second` sustained, `burst` at once; `None` if either is zero.
    pub fn new(per_second: u32, burst: u32) -> Option<RateLimit> {
        Some(RateLimit {
            per_second: NonZeroU32::new(per_second)?,
            burst: NonZeroU32::new(burst)?,
        })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.per_second, self.burst)
    }
}

impl FromStr for RateLimit {
    type Err = OpsConfigError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || OpsConfigError::BadRateLimit(text.to_owned());
        let (rate, burst) = text.split_once(':').ok_or_else(bad)?;
        let number = |s: &str| {
            if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse::<u32>().ok()
        };
        RateLimit::new(
            number(rate).ok_or_else(bad)?,
            number(burst).ok_or_else(bad)?,
        )
        .ok_or_else(bad)
    }
}

/// Configuration of the operations layers. `OpsConfig::default()` is what `idos serve` uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpsConfig {
    /// The largest request body accepted, in bytes (default 1 MiB; 1 KiB – 64 MiB).
    pub body_limit: usize,
    /// How long a request may take, body upload included (default 10 s; 100 ms – 10 min).
    #[serde(rename = "request_timeout_ms", with = "millis")]
    pub request_timeout: Duration,
    /// Requests per client address (IPv6: per /64) (default `100:200`; `"off"` for none).
    #[serde(with = "optional_limit")]
    pub rate_limit_per_ip: Option<RateLimit>,
    /// Requests per signed-in identity (default `20:60`; `"off"` for none).
    #[serde(with = "optional_limit")]
    pub rate_limit_per_identity: Option<RateLimit>,
    /// Most keys each rate limiter remembers (default 100,000; 1 – 10,000,000). When full and
    /// nothing has expired, requests are refused as rate limited until keys expire.
    pub rate_limit_max_keys: usize,
    /// Peers whose `X-Forwarded-For` is believed (addresses or networks; default none: the
    /// header is ignored).
    pub trusted_proxies: Vec<TrustedProxy>,
    /// How long shutdown waits for requests in flight (default 10 s; at most 10 min).
    #[serde(rename = "shutdown_grace_ms", with = "millis")]
    pub shutdown_grace: Duration,
    /// How long `/readyz` waits for the node (default 2 s; 10 ms – 60 s).
    #[serde(rename = "readiness_timeout_ms", with = "millis")]
    pub readiness_timeout: Duration,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(10),
            rate_limit_per_ip: RateLimit::new(100, 200),
            rate_limit_per_identity: RateLimit::new(20, 60),
            rate_limit_max_keys: 100_000,
            trusted_proxies: Vec::new(),
            shutdown_grace: Duration::from_secs(10),
            readiness_timeout: Duration::from_secs(2),
        }
    }
}

/// A configuration value out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpsConfigError {
    #[error("body_limit must be between 1024 and 67108864 bytes, not {0}")]
    BodyLimit(usize),
    #[error("request_timeout_ms must be between 100 and 600000, not {0}")]
    RequestTimeout(u128),
    #[error(
        "a rate limit is \"<per second>:<burst>\" with both above zero (e.g. \"100:200\"), or \"off\"; not {0:?}"
    )]
    BadRateLimit(String),
    #[error("rate_limit_max_keys must be between 1 and 10000000, not {0}")]
    MaxKeys(usize),
    #[error("shutdown_grace_ms must be at most 600000, not {0}")]
    ShutdownGrace(u128),
    #[error("readiness_timeout_ms must be between 10 and 60000, not {0}")]
    ReadinessTimeout(u128),
}

impl OpsConfig {
    /// Checks every value's range.
    pub fn validate(&self) -> Result<(), OpsConfigError> {
        if !(1024..=64 * 1024 * 1024).contains(&self.body_limit) {
            return Err(OpsConfigError::BodyLimit(self.body_limit));
        }
        let ms = |d: Duration| d.as_millis();
        if !(100..=600_000).contains(&ms(self.request_timeout)) {
            return Err(OpsConfigError::RequestTimeout(ms(self.request_timeout)));
        }
        for limit in [self.rate_limit_per_ip, self.rate_limit_per_identity]
            .into_iter()
            .flatten()
        {
            if limit.per_second.get() > 1_000_000 || limit.burst.get() > 1_000_000 {
                return Err(OpsConfigError::BadRateLimit(limit.to_string()));
            }
        }
        if !(1..=10_000_000).contains(&self.rate_limit_max_keys) {
            return Err(OpsConfigError::MaxKeys(self.rate_limit_max_keys));
        }
        if ms(self.shutdown_grace) > 600_000 {
            return Err(OpsConfigError::ShutdownGrace(ms(self.shutdown_grace)));
        }
        if !(10..=60_000).contains(&ms(self.readiness_timeout)) {
            return Err(OpsConfigError::ReadinessTimeout(ms(self.readiness_timeout)));
        }
        Ok(())
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

mod optional_limit {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::RateLimit;

    pub fn serialize<S: Serializer>(l: &Option<RateLimit>, s: S) -> Result<S::Ok, S::Error> {
        match l {
            Some(l) => s.collect_str(l),
            None => s.serialize_str("off"),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RateLimit>, D::Error> {
        let text = String::deserialize(d)?;
        if text == "off" {
            return Ok(None);
        }
        text.parse().map(Some).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_trust_no_proxy() {
        let c = OpsConfig::default();
        c.validate().unwrap();
        assert!(c.trusted_proxies.is_empty());
        assert_eq!(c.body_limit, 1 << 20);
    }

    #[test]
    fn toml_keys_parse_and_unknown_keys_are_refused() {
        let c: OpsConfig = toml_from(
            r#"
            body_limit = 4096
            request_timeout_ms = 2500
            rate_limit_per_ip = "5:10"
            rate_limit_per_identity = "off"
            trusted_proxies = ["10.0.0.0/8", "::1"]
            "#,
        )
        .unwrap();
        assert_eq!(c.body_limit, 4096);
        assert_eq!(c.request_timeout, Duration::from_millis(2500));
        assert_eq!(c.rate_limit_per_ip, RateLimit::new(5, 10));
        assert_eq!(c.rate_limit_per_identity, None);
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!(c.shutdown_grace, OpsConfig::default().shutdown_grace);
        assert!(toml_from("body_limt = 1").is_err());
        assert!(toml_from("rate_limit_per_ip = \"5\"").is_err());
        assert!(toml_from("trusted_proxies = [\"example.com\"]").is_err());
    }

    fn toml_from(text: &str) -> Result<OpsConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let ok = OpsConfig::default();
        let cases: Vec<(OpsConfig, &str)> = vec![
            (
                OpsConfig {
                    body_limit: 0,
                    ..ok.clone()
                },
                "body_limit",
            ),
            (
                OpsConfig {
                    body_limit: 65 << 20,
                    ..ok.clone()
                },
                "body_limit",
            ),
            (
                OpsConfig {
                    request_timeout: Duration::ZERO,
                    ..ok.clone()
                },
                "request_timeout",
            ),
            (
                OpsConfig {
                    rate_limit_max_keys: 0,
                    ..ok.clone()
                },
                "rate_limit_max_keys",
            ),
            (
                OpsConfig {
                    shutdown_grace: Duration::from_secs(3600),
                    ..ok.clone()
                },
                "shutdown_grace",
            ),
            (
                OpsConfig {
                    readiness_timeout: Duration::ZERO,
                    ..ok.clone()
                },
                "readiness_timeout",
            ),
            (
                OpsConfig {
                    rate_limit_per_ip: RateLimit::new(2_000_000, 1),
                    ..ok.clone()
                },
                "rate limit",
            ),
        ];
        for (config, what) in cases {
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(what), "{what}: {err}");
        }
        for bad in [
            "",
            ":",
            "0:1",
            "1:0",
            "-1:2",
            "1:2:3",
            "a:b",
            "99999999999:1",
        ] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
        assert_eq!(
            "3:4".parse::<RateLimit>().unwrap(),
            RateLimit::new(3, 4).unwrap()
        );
    }
}
