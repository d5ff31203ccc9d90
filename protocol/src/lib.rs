//! # protocol: the I/O-free core of idOS-rs
//!
//! Everything the enclave, the relay, the node and the CLI must agree on lives here, once:
//! identifiers and signature schemes, the canonical transaction and query encodings and the
//! texts people sign, the key derivation, box encryption and credential signatures that are
//! byte-compatible with idOS.
//!
//! Invariants (checked by tests and by the dependency list):
//! - no I/O: no sockets, files, clocks or threads; callers pass time and randomness in;
//! - builds for the host and for `wasm32-unknown-unknown` from the same source;
//! - every decoder of external input returns a typed [`Error`] and never panics;
//! - secret keys are zeroized on drop and never printed by `Debug`.
#![forbid(unsafe_code)]

pub mod action;
pub mod bytes;
pub mod codec;
pub mod credential;
pub mod ed25519_pair;
pub mod error;
pub mod grant;
pub mod identity;
pub mod kdf;
pub mod nacl_box;
pub mod near;
pub mod query;
pub mod records;
pub mod sign_in;
pub mod siwe;
pub mod stellar;
pub mod time;
pub mod tx;
pub mod wallet;
pub mod xrpl;

pub use error::{Error, Result};
pub use uuid::Uuid;
