//! The texts an Ed25519 key (servers: issuers, dapp back ends) and a wallet of any type sign to
//! sign in; defined in `protocol`, which clients share.

pub use protocol::sign_in::{ed25519_sign_in_text, wallet_sign_in_text};
