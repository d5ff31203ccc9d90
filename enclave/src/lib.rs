//! # enclave: the idOS key vault in the browser
//!
//! Built to wasm by Trunk into `www/enclave/dist`, it runs in two pages of the enclave origin:
//! the iframe a host page embeds (`index.html`, [`web::iframe`]) and the consent/password dialog
//! it opens from a user click (`dialog.html`, [`web::dialog`]). The user's key never leaves the
//! enclave origin; plaintext leaves it only re-encrypted for a grantee or after the user
//! approves a release in the dialog. All cryptography is `protocol`'s.
//!
//! [`vault`] and [`filter`] are plain Rust (no browser APIs); `web` is wasm32-only.
#![forbid(unsafe_code)]

pub mod error;
pub mod filter;
pub mod vault;

#[cfg(target_arch = "wasm32")]
pub mod bench;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{EnclaveError, Result};
