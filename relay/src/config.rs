//! The relay's configuration (`idos serve`): command-line flags, `IDOS_*` environment variables
//! and a TOML file (`--config`), in that order of precedence, over the defaults.
//!
//! Every setting has one name: `snake_case` in the TOML file, `--kebab-case` as a flag (except
//! `allow_origins`, given once per origin as `--allow-origin`), and `IDOS_UPPER_CASE` in the
//! environment (lists comma-separated). Unknown TOML keys and unparsable values are refused with
//! the file's or variable's name, never ignored. README.md's "Configuration" table lists them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::ops::client_ip::TrustedProxy;
use crate::ops::{OpsConfig, RateLimit};

/// The environment variable that names the configuration file (besides `--config`).
pub const CONFIG_ENV: &str = "IDOS_CONFIG";

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML, has an unknown key or a value of the wrong type.
    #[error("configuration file {path}: {detail}")]
    File { path: PathBuf, detail: String },
    /// An `IDOS_*` variable holds a value its setting cannot take.
    #[error("environment variable {var}={value:?}: {detail}")]
    Env {
        var: String,
        value: String,
        detail: String,
    },
    /// A setting's value is not acceptable.
    #[error("{setting}: {detail}")]
    Invalid {
        setting: &'static str,
        detail: String,
    },
}

/// A value an `IDOS_*` variable can hold.
trait EnvValue: Sized {
    fn parse_env(text: &str) -> Result<Self, String>;
}

impl EnvValue for String {
    fn parse_env(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }
}

impl EnvValue for PathBuf {
    fn parse_env(text: &str) -> Result<Self, String> {
        Ok(PathBuf::from(text))
    }
}

impl EnvValue for u64 {
    fn parse_env(text: &str) -> Result<Self, String> {
        text.trim()
            .parse()
            .map_err(|_| "not a non-negative integer".to_owned())
    }
}

impl EnvValue for bool {
    fn parse_env(text: &str) -> Result<Self, String> {
        match text.trim() {
            "true" | "1" | "on" => Ok(true),
            "false" | "0" | "off" => Ok(false),
            _ => Err("expected true or false".to_owned()),
        }
    }
}

impl EnvValue for Vec<u64> {
    fn parse_env(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .map_err(|_| format!("{s:?} is not a non-negative integer"))
            })
            .collect()
    }
}

impl EnvValue for Vec<String> {
    fn parse_env(text: &str) -> Result<Self, String> {
        Ok(text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    }
}

/// The environment variable of a setting: `IDOS_` and its name in upper case.
pub fn env_var(setting: &str) -> String {
    format!("IDOS_{}", setting.to_ascii_uppercase())
}

macro_rules! settings {
    ($( $(#[$attr:meta])* $field:ident : $ty:ty ),* $(,)?) => {
        /// One layer of settings (flags, environment or file): each one set or not.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, clap::Args)]
        #[serde(deny_unknown_fields)]
        pub struct Settings {
            $( $(#[$attr])* pub $field: Option<$ty>, )*
        }

        impl Settings {
            /// Every setting's name (its TOML key), in the order of the README's table.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];

            /// The settings given by `IDOS_*` variables, read through `lookup`.
            pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
                Ok(Settings {
                    $( $field: {
                        let var = env_var(stringify!($field));
                        match lookup(&var) {
                            None => None,
                            Some(value) => Some(<$ty as EnvValue>::parse_env(&value).map_err(|detail| {
                                ConfigError::Env { var: var.clone(), value: value.clone(), detail }
                            })?),
                        }
                    }, )*
                })
            }

            /// These settings, falling back to `lower`'s where these have none.
            pub fn or(self, lower: Settings) -> Settings {
                Settings { $( $field: self.$field.or(lower.$field), )* }
            }
        }
    };
}

settings! {
    /// Where the relay (and the bundled node, under `node/`) keep their data (default data).
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// The web apps (landing page, host SDK) and the built enclave (`enclave/dist`) (default www).
    #[arg(long, value_name = "DIR")]
    www: PathBuf,
    /// Address the app origin (web apps and `/api/v1`) listens on (default 127.0.0.1:8080).
    #[arg(long, value_name = "HOST:PORT")]
    app_addr: String,
    /// Address the enclave origin listens on; must differ from the app's (default 127.0.0.1:8081).
    #[arg(long, value_name = "HOST:PORT")]
    enclave_addr: String,
    /// The app's origin as browsers reach it (default `http://localhost:<app port>`).
    #[arg(long, value_name = "ORIGIN")]
    app_origin: String,
    /// The enclave's origin as browsers reach it, on another host than the app's
    /// (default `http://<enclave address>`).
    #[arg(long, value_name = "ORIGIN")]
    enclave_origin: String,
    /// More origins (dapps) allowed to embed the enclave and to sign users in, e.g.
    /// `https://dapp.example.com` (`https://` only, except on loopback); the flag once per
    /// origin, the variable comma-separated.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Address the demo dapp's origin listens on (its page, the host SDK as a dapp installs it,
    /// and its back end), or `off` (default 127.0.0.2:8082: another loopback host, so another
    /// site than the app and the enclave).
    #[arg(long, value_name = "HOST:PORT|off")]
    dapp_addr: String,
    /// The demo dapp's origin as browsers reach it, on another host than the app's and the
    /// enclave's (default `http://<dapp address>`).
    #[arg(long, value_name = "ORIGIN")]
    dapp_origin: String,
    /// A node's CometBFT RPC URL (e.g. `http://validator:26657`). When set, no node is started: the
    /// relay fronts that node, which must list the relay's gateway key in its `trusted_gateways`.
    #[arg(long, value_name = "URL")]
    node_rpc: String,
    /// Address the bundled node's RPC listens on (without `node_rpc`) (default 127.0.0.1:26657).
    #[arg(long, value_name = "HOST:PORT")]
    rpc_addr: String,
    /// The bundled node's TOML configuration (see `idos node --help`; without `node_rpc`).
    #[arg(long, value_name = "FILE")]
    node_config: PathBuf,
    /// The longest `wait=commit` waits for a transaction's block, in milliseconds (default 10000).
    #[arg(long, value_name = "MS")]
    commit_wait_ms: u64,
    /// How long a sign-in session lasts, in seconds (default 3600).
    #[arg(long, value_name = "SECONDS")]
    session_ttl_secs: u64,
    /// The EIP-155 chain ids an EIP-4361 sign-in may name (default 1); the flag once per id, the
    /// variable comma-separated.
    #[arg(long = "siwe-chain-id", value_name = "ID")]
    siwe_chain_ids: Vec<u64>,
    /// The largest request body in bytes, 1 KiB to 64 MiB (default 1048576).
    #[arg(long, value_name = "BYTES")]
    body_limit: u64,
    /// The time for a whole request, body upload included, in milliseconds, 100 ms to 10 min
    /// (default 10000).
    #[arg(long, value_name = "MS")]
    request_timeout_ms: u64,
    /// Requests per client address: `<per second>:<burst>`, or `off` (default 100:200).
    #[arg(long, value_name = "RATE:BURST")]
    rate_limit_per_ip: String,
    /// Requests per signed-in identity: `<per second>:<burst>`, or `off` (default 20:60).
    #[arg(long, value_name = "RATE:BURST")]
    rate_limit_per_identity: String,
    /// The most addresses or identities each rate limiter remembers (default 100000); when
    /// full, requests are refused as rate limited until keys expire.
    #[arg(long, value_name = "N")]
    rate_limit_max_keys: u64,
    /// Addresses or networks (`10.0.0.0/8`, `::1`) whose `X-Forwarded-For` is believed (default
    /// none); the flag once per proxy, the variable comma-separated.
    #[arg(long = "trusted-proxy", value_name = "ADDRESS")]
    trusted_proxies: Vec<String>,
    /// How long shutdown waits for requests in flight, in milliseconds, at most 10 min (default
    /// 10000).
    #[arg(long, value_name = "MS")]
    shutdown_grace_ms: u64,
    /// How long `/readyz` waits for the node, in milliseconds, 10 ms to 60 s (default 2000).
    #[arg(long, value_name = "MS")]
    readiness_timeout_ms: u64,
    // The development wallet (www/dev-wallet).
    /// The development wallet (test keys in `<data dir>/dev_wallet`, signing for any page of
    /// this server's origins; never for real funds): `true` or `false` (default true when the
    /// app origin is on loopback, as in local development, else false).
    #[arg(long, value_name = "BOOL")]
    dev_wallet: bool,
}

/// Where the relay's node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeTarget {
    /// Start the bundled node, its RPC on `rpc_addr`, configured by `config` (a node TOML file).
    Bundled {
        rpc_addr: String,
        config: Option<PathBuf>,
    },
    /// Front the node at this CometBFT RPC URL; start none.
    External { url: String },
}

/// The resolved configuration of `idos serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    pub data_dir: PathBuf,
    pub www: PathBuf,
    pub app_addr: String,
    pub enclave_addr: String,
    pub app_origin: Option<String>,
    pub enclave_origin: Option<String>,
    pub allow_origins: Vec<String>,
    /// Where the demo dapp listens; `None`: no demo dapp (`dapp_addr = "off"`).
    pub dapp_addr: Option<String>,
    /// The demo dapp's origin as browsers reach it, if not `http://<dapp address>`.
    pub dapp_origin: Option<String>,
    pub node: NodeTarget,
    pub commit_wait: Duration,
    /// How long a sign-in session lasts.
    pub session_ttl: Duration,
    /// The EIP-155 chain ids sign-in accepts.
    pub siwe_chain_ids: Vec<u64>,
    /// Limits, rate limits, proxies, shutdown and readiness (`relay::ops`).
    pub ops: OpsConfig,
    /// The development wallet: `Some(on)` when set, `None` for the default (on when the app
    /// origin is on loopback).
    pub dev_wallet: Option<bool>,
}

/// Where the demo dapp listens by default: another loopback host than the app's (`localhost`)
/// and the enclave's (`127.0.0.1`), so the browser treats all three as different sites.
pub const DEFAULT_DAPP_ADDR: &str = "127.0.0.2:8082";

/// The longest `commit_wait_ms` accepted (a request holds a connection that long).
pub const MAX_COMMIT_WAIT_MS: u64 = 60_000;

impl Settings {
    /// Reads a TOML file of settings; unknown keys are refused.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.to_owned(),
            detail: e.message().to_owned(),
        })
    }
}

impl RelayConfig {
    /// Flags over environment over file over defaults. `file` is `--config` (or `IDOS_CONFIG`).
    pub fn resolve(
        flags: Settings,
        env: impl Fn(&str) -> Option<String>,
        file: Option<&Path>,
    ) -> Result<RelayConfig, ConfigError> {
        let file = match file {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        let s = flags.or(Settings::from_env(env)?).or(file);
        let ops = ops_config(&s)?;
        let node = match s.node_rpc {
            Some(url) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(ConfigError::Invalid {
                        setting: "node_rpc",
                        detail: format!("{url:?} is not an http:// or https:// URL"),
                    });
                }
                if s.node_config.is_some() {
                    return Err(ConfigError::Invalid {
                        setting: "node_config",
                        detail: "configures the bundled node, which does not run with node_rpc; \
                                 configure the external node itself"
                            .to_owned(),
                    });
                }
                NodeTarget::External { url }
            }
            None => NodeTarget::Bundled {
                rpc_addr: s.rpc_addr.unwrap_or_else(|| "127.0.0.1:26657".to_owned()),
                config: s.node_config,
            },
        };
        let commit_wait_ms = s.commit_wait_ms.unwrap_or(10_000);
        if commit_wait_ms > MAX_COMMIT_WAIT_MS {
            return Err(ConfigError::Invalid {
                setting: "commit_wait_ms",
                detail: format!("at most {MAX_COMMIT_WAIT_MS}"),
            });
        }
        Ok(RelayConfig {
            data_dir: s.data_dir.unwrap_or_else(|| PathBuf::from("data")),
            www: s.www.unwrap_or_else(|| PathBuf::from("www")),
            app_addr: s.app_addr.unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            enclave_addr: s
                .enclave_addr
                .unwrap_or_else(|| "127.0.0.1:8081".to_owned()),
            app_origin: s.app_origin,
            enclave_origin: s.enclave_origin,
            allow_origins: s.allow_origins.unwrap_or_default(),
            dapp_addr: match s.dapp_addr.as_deref() {
                Some("off") => None,
                Some(addr) => Some(addr.to_owned()),
                None => Some(DEFAULT_DAPP_ADDR.to_owned()),
            },
            dapp_origin: s.dapp_origin,
            node,
            commit_wait: Duration::from_millis(commit_wait_ms),
            session_ttl: Duration::from_secs(s.session_ttl_secs.unwrap_or(3600)),
            siwe_chain_ids: s.siwe_chain_ids.unwrap_or_else(|| vec![1]),
            ops,
            dev_wallet: s.dev_wallet,
        })
    }
}

/// The operations settings over `OpsConfig`'s defaults, validated.
fn ops_config(s: &Settings) -> Result<OpsConfig, ConfigError> {
    let defaults = OpsConfig::default();
    let invalid =
        |setting: &'static str| move |detail: String| ConfigError::Invalid { setting, detail };
    let rate =
        |setting: &'static str, value: &Option<String>, default: Option<RateLimit>| match value
            .as_deref()
        {
            None => Ok(default),
            Some("off") => Ok(None),
            Some(text) => text
                .parse::<RateLimit>()
                .map(Some)
                .map_err(|e| invalid(setting)(e.to_string())),
        };
    let count = |setting: &'static str, value: Option<u64>, default: usize| {
        value.map_or(Ok(default), |v| {
            usize::try_from(v).map_err(|_| invalid(setting)(format!("{v} is too large")))
        })
    };
    let millis =
        |value: Option<u64>, default: Duration| value.map_or(default, Duration::from_millis);
    let config = OpsConfig {
        body_limit: count("body_limit", s.body_limit, defaults.body_limit)?,
        request_timeout: millis(s.request_timeout_ms, defaults.request_timeout),
        rate_limit_per_ip: rate(
            "rate_limit_per_ip",
            &s.rate_limit_per_ip,
            defaults.rate_limit_per_ip,
        )?,
        rate_limit_per_identity: rate(
            "rate_limit_per_identity",
            &s.rate_limit_per_identity,
            defaults.rate_limit_per_identity,
        )?,
        rate_limit_max_keys: count(
            "rate_limit_max_keys",
            s.rate_limit_max_keys,
            defaults.rate_limit_max_keys,
        )?,
        trusted_proxies: match &s.trusted_proxies {
            None => defaults.trusted_proxies.clone(),
            Some(list) => list
                .iter()
                .map(|p| {
                    p.parse::<TrustedProxy>()
                        .map_err(|e| invalid("trusted_proxies")(e.to_string()))
                })
                .collect::<Result<_, _>>()?,
        },
        shutdown_grace: millis(s.shutdown_grace_ms, defaults.shutdown_grace),
        readiness_timeout: millis(s.readiness_timeout_ms, defaults.readiness_timeout),
    };
    config.validate().map_err(|e| ConfigError::Invalid {
        setting: "ops",
        detail: e.to_string(),
    })?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn flags_beat_environment_beat_file_beat_defaults() {
        let toml = file(
            "app_addr = \"127.0.0.1:1001\"\nenclave_addr = \"127.0.0.1:1002\"\n\
             www = \"from-file\"\ncommit_wait_ms = 3\nallow_origins = [\"https://a.example\"]\n",
        );
        let flags = Settings {
            app_addr: Some("127.0.0.1:3001".into()),
            ..Settings::default()
        };
        let vars = env(&[
            ("IDOS_APP_ADDR", "127.0.0.1:2001"),
            ("IDOS_ENCLAVE_ADDR", "127.0.0.1:2002"),
            ("IDOS_ALLOW_ORIGINS", "https://b.example, https://c.example"),
            ("IDOS_SIWE_CHAIN_IDS", "1, 10"),
        ]);
        let c = RelayConfig::resolve(flags, vars, Some(toml.path())).unwrap();
        assert_eq!(c.app_addr, "127.0.0.1:3001", "flag over env and file");
        assert_eq!(c.enclave_addr, "127.0.0.1:2002", "env over file");
        assert_eq!(c.www, PathBuf::from("from-file"), "file over default");
        assert_eq!(c.commit_wait, Duration::from_millis(3));
        assert_eq!(c.allow_origins, ["https://b.example", "https://c.example"]);
        assert_eq!(c.data_dir, PathBuf::from("data"), "default");
        assert_eq!(c.siwe_chain_ids, [1, 10]);
        assert_eq!(c.session_ttl, Duration::from_secs(3600));
        assert_eq!(
            c.node,
            NodeTarget::Bundled {
                rpc_addr: "127.0.0.1:26657".into(),
                config: None
            }
        );
    }

    #[test]
    fn operations_settings_come_from_every_layer_and_default_to_ops_defaults() {
        let c = RelayConfig::resolve(Settings::default(), env(&[]), None).unwrap();
        assert_eq!(c.ops, OpsConfig::default());
        let toml = file("rate_limit_per_ip = \"5:10\"\nshutdown_grace_ms = 250\n");
        let flags = Settings {
            body_limit: Some(4096),
            ..Settings::default()
        };
        let vars = env(&[
            ("IDOS_RATE_LIMIT_PER_IDENTITY", "off"),
            ("IDOS_TRUSTED_PROXIES", "10.0.0.0/8, ::1"),
        ]);
        let c = RelayConfig::resolve(flags, vars, Some(toml.path())).unwrap();
        assert_eq!(c.ops.body_limit, 4096);
        assert_eq!(c.ops.rate_limit_per_ip, RateLimit::new(5, 10));
        assert_eq!(c.ops.rate_limit_per_identity, None);
        assert_eq!(c.ops.trusted_proxies.len(), 2);
        assert_eq!(c.ops.shutdown_grace, Duration::from_millis(250));
        assert_eq!(
            c.ops.readiness_timeout,
            OpsConfig::default().readiness_timeout
        );
    }

    #[test]
    fn fail_operations_settings_out_of_range_or_malformed_are_refused() {
        for (var, value) in [
            ("IDOS_RATE_LIMIT_PER_IP", "fast"),
            ("IDOS_RATE_LIMIT_PER_IDENTITY", "0:10"),
            ("IDOS_BODY_LIMIT", "10"),
            ("IDOS_TRUSTED_PROXIES", "proxy.example"),
            ("IDOS_READINESS_TIMEOUT_MS", "0"),
        ] {
            let err = RelayConfig::resolve(Settings::default(), env(&[(var, value)]), None);
            assert!(
                matches!(err, Err(ConfigError::Invalid { .. })),
                "{var}={value}: {err:?}"
            );
        }
    }

    #[test]
    fn the_demo_dapp_listens_on_its_own_loopback_host_unless_turned_off() {
        let c = RelayConfig::resolve(Settings::default(), env(&[]), None).unwrap();
        assert_eq!(c.dapp_addr.as_deref(), Some(DEFAULT_DAPP_ADDR));
        assert_eq!(c.dapp_origin, None);
        let c = RelayConfig::resolve(
            Settings::default(),
            env(&[
                ("IDOS_DAPP_ADDR", "127.0.0.3:9000"),
                ("IDOS_DAPP_ORIGIN", "https://dapp.example.com"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(c.dapp_addr.as_deref(), Some("127.0.0.3:9000"));
        assert_eq!(c.dapp_origin.as_deref(), Some("https://dapp.example.com"));
        let off = file("dapp_addr = \"off\"\n");
        let c = RelayConfig::resolve(Settings::default(), env(&[]), Some(off.path())).unwrap();
        assert_eq!(c.dapp_addr, None);
    }

    #[test]
    fn an_external_node_replaces_the_bundled_one() {
        let c = RelayConfig::resolve(
            Settings::default(),
            env(&[("IDOS_NODE_RPC", "http://10.0.0.5:26657")]),
            None,
        )
        .unwrap();
        assert_eq!(
            c.node,
            NodeTarget::External {
                url: "http://10.0.0.5:26657".into()
            }
        );
    }

    #[test]
    fn fail_unknown_file_keys_are_refused_with_the_key_and_file() {
        let toml = file("app_adr = \"127.0.0.1:1\"\n");
        let err = RelayConfig::resolve(Settings::default(), env(&[]), Some(toml.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `app_adr`"), "{err}");
        assert!(err.contains(&toml.path().display().to_string()), "{err}");
    }

    #[test]
    fn fail_bad_values_name_their_source() {
        let err = RelayConfig::resolve(
            Settings::default(),
            env(&[("IDOS_COMMIT_WAIT_MS", "soon")]),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("IDOS_COMMIT_WAIT_MS"), "{err}");
        let toml = file("commit_wait_ms = \"soon\"\n");
        let err = RelayConfig::resolve(Settings::default(), env(&[]), Some(toml.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid type"), "{err}");
        for (var, value) in [
            ("IDOS_NODE_RPC", "tcp://node:26657"),
            ("IDOS_COMMIT_WAIT_MS", "600000"),
        ] {
            let err = RelayConfig::resolve(Settings::default(), env(&[(var, value)]), None);
            assert!(
                matches!(err, Err(ConfigError::Invalid { .. })),
                "{var}: {err:?}"
            );
        }
        let err = RelayConfig::resolve(
            Settings {
                node_config: Some("node.toml".into()),
                ..Settings::default()
            },
            env(&[("IDOS_NODE_RPC", "http://node:26657")]),
            None,
        );
        assert!(matches!(
            err,
            Err(ConfigError::Invalid {
                setting: "node_config",
                ..
            })
        ));
    }

    #[test]
    fn every_setting_is_in_the_readme_table() {
        let readme = include_str!("../../README.md");
        for name in Settings::NAMES {
            let row = format!("| `{name}` | `--");
            assert!(
                readme.contains(&row) && readme.contains(&format!("`{}`", env_var(name))),
                "README.md's configuration table lacks {name}"
            );
        }
    }
}
