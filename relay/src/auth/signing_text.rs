//! The text an Ed25519 key signs to sign in (servers: issuers, dapp back ends); defined in
//! `protocol`, which clients share.

pub use protocol::sign_in::ed25519_sign_in_text;
