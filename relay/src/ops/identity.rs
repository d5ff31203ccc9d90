//! [`CallerIdentity`]: the signed-in identity of a request, as a request extension.
//!
//! The authentication middleware (relay-auth's) inserts it once it has verified the caller's
//! session (`request.extensions_mut().insert(CallerIdentity(identity))`); the per-identity rate
//! limit ([`crate::ops::Ops::limit_identities`]) reads it. A request without it is anonymous
//! and limited per address only. The layer that inserts it must run *before* the per-identity
//! limit, i.e. be applied *after* it (`router.layer(limit).layer(auth)`), or call
//! [`crate::ops::IdentityLimiter::check`] itself.

/// The identity a request's session belongs to (its canonical text: a lowercase EVM address or
/// an Ed25519 key in lowercase hex). Never a token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallerIdentity(pub String);
