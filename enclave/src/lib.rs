//! # enclave: the idOS key vault in the browser
//!
//! Built to wasm by Trunk into `www/enclave/dist`, it runs in two pages of the enclave origin:
//! the iframe a host page embeds (`index.html`, `web::iframe`) and the consent/password dialog
//! it opens from a user click (`dialog.html`, `web::dialog`). The user's key never leaves the
//! enclave origin; plaintext, or any bit derived from it, leaves only after the user approves
//! the request in the dialog (or re-encrypted for a grantee the user approved). All
//! cryptography is `protocol`'s.
//!
//! [`vault`], [`filter`], [`consent`] and [`origin`] are plain Rust (no browser APIs, tested
//! natively); `web` is wasm32-only. The `bench` feature adds the exports
//! `scripts/bench-enclave.sh` times; the production build leaves them out.
#![forbid(unsafe_code)]

pub mod consent;
pub mod error;
pub mod filter;
pub mod origin;
pub mod vault;

#[cfg(all(target_arch = "wasm32", feature = "bench"))]
pub mod bench;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{EnclaveError, ErrorCode, Result};
