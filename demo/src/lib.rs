//! The demo issuer and the demo dapp that `idos serve` hosts beside the relay, so that the whole
//! idOS journey runs on one machine: a person gets a KYC credential from an issuer and shares it
//! with an app that checks it.
//!
//! Both back ends are *clients* of the relay, as an external issuer or dapp would be: they reach
//! it over HTTP with the Rust client library (`idos-client`), sign with their own Ed25519 keys
//! (kept in the data directory, owner-only: [`keys`]) and never touch the relay's internals. They
//! are a crate of their own so that the relay server's source stays free of user keys and
//! decryption (`relay/tests/architecture.rs`).
//!
//! - [`issuer`]: the demo issuer's routes on the app origin (`/issuer/api/…`, the page is
//!   `www/issuer/`): it registers itself as an inserter's delegate with the development owner
//!   key, creates a profile for a wallet that proves it owns it, and issues a sample credential
//!   by the user's delegated write grant;
//! - [`dapp`]: the demo dapp's own origin (`www/dapp/`, the host SDK as a dapp installs it, and
//!   `/api/…`): it fetches the copy a user shared with it, decrypts it with its own key, checks
//!   the issuer's signature, the grant's lock and the credential's level, and only then hands the
//!   credential to its page;
//! - [`sample`]: the sample credential and its public notes;
//! - [`error`]: [`DemoError`], every refusal as JSON `{code, message}` with a stable code;
//! - [`relay`]: how the back ends reach the relay.
#![forbid(unsafe_code)]

pub mod dapp;
pub mod error;
pub mod issuer;
pub mod keys;
pub mod relay;
pub mod sample;

pub use error::DemoError;
pub use relay::RelayTarget;
