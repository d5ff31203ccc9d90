//! Stateless session tokens: `v1.<payload>.<tag>`, both parts unpadded base64url.
//!
//! The payload is the Borsh encoding of [`SessionClaims`] (session id, identity, issued and
//! expiry times); the tag is HMAC-SHA256 under the [`SessionKey`] of a fixed context string
//! followed by the payload. A token is parsed only after its tag verifies (in constant time),
//! so an attacker's bytes never reach the decoder. Any relay holding the key verifies a token
//! without a database; logout adds the session id to the revocation list.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use protocol::identity::Identity;
use sha2::Sha256;

use super::error::AuthError;
use super::key::SessionKey;

/// Domain separation: these MACs are for session tokens of version 1 and nothing else.
const CONTEXT: &[u8] = b"idos relay session token v1\0";

/// Tokens longer than this are refused before any work.
pub const MAX_TOKEN_CHARS: usize = 512;

/// A session's random 128-bit id (what logout revokes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct SessionId(pub [u8; 16]);

impl SessionId {
    /// A fresh random id.
    pub fn generate() -> Self {
        use rand_core::RngCore as _;
        let mut id = [0u8; 16];
        rand_core::OsRng.fill_bytes(&mut id);
        SessionId(id)
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The id alone cannot make a token; printing it lets logs correlate a session.
        write!(f, "SessionId({})", hex::encode(self.0))
    }
}

/// What a session token says.
#[derive(Debug, Clone, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct SessionClaims {
    /// The session's id.
    pub session_id: SessionId,
    /// Who signed in.
    pub identity: Identity,
    /// When (unix seconds).
    pub issued_at: u64,
    /// Until when (unix seconds, exclusive).
    pub expires_at: u64,
}

/// A session token. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

impl SessionToken {
    /// The token's text (for the response body and the cookie).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn tag(key: &SessionKey, payload: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key.bytes()).expect("HMAC takes keys of any length");
    mac.update(CONTEXT);
    mac.update(payload);
    mac
}

/// Signs `claims` into a token.
pub fn issue(key: &SessionKey, claims: &SessionClaims) -> SessionToken {
    let payload = borsh::to_vec(claims).expect("claims always encode");
    let tag = tag(key, &payload).finalize().into_bytes();
    SessionToken(format!(
        "v1.{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// Checks a token's tag and expiry (`now`: unix seconds). Revocation is the caller's check.
pub fn verify(key: &SessionKey, token: &str, now: u64) -> Result<SessionClaims, AuthError> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(AuthError::InvalidSession);
    }
    let mut parts = token.split('.');
    let (Some("v1"), Some(payload), Some(tag_text), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::InvalidSession);
    };
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| AuthError::InvalidSession)?;
    let tag_bytes = URL_SAFE_NO_PAD
        .decode(tag_text)
        .map_err(|_| AuthError::InvalidSession)?;
    tag(key, &payload)
        .verify_slice(&tag_bytes)
        .map_err(|_| AuthError::InvalidSession)?;
    let claims: SessionClaims =
        borsh::from_slice(&payload).map_err(|_| AuthError::InvalidSession)?;
    if now >= claims.expires_at {
        return Err(AuthError::ExpiredSession);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use protocol::identity::SigningKey;

    fn claims() -> SessionClaims {
        SessionClaims {
            session_id: SessionId([7; 16]),
            identity: SigningKey::evm_from_bytes(&[0x11; 32]).unwrap().identity(),
            issued_at: 1_000,
            expires_at: 2_000,
        }
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let key = SessionKey::from_bytes([1; 32]);
        let token = issue(&key, &claims());
        assert_eq!(verify(&key, token.as_str(), 1_999).unwrap(), claims());
        assert_eq!(
            verify(&key, token.as_str(), 2_000).unwrap_err(),
            AuthError::ExpiredSession
        );
        assert!(!format!("{token:?}").contains(token.as_str()));
    }

    #[test]
    fn fail_a_token_signed_with_another_key() {
        let token = issue(&SessionKey::from_bytes([2; 32]), &claims());
        let err = verify(&SessionKey::from_bytes([1; 32]), token.as_str(), 1_500).unwrap_err();
        assert_eq!(err.code(), "session_invalid");
    }

    #[test]
    fn fail_forged_or_reshaped_tokens() {
        let key = SessionKey::from_bytes([1; 32]);
        let token = issue(&key, &claims());
        let (_, rest) = token.as_str().split_once('.').unwrap();
        let (payload, tag) = rest.split_once('.').unwrap();
        // A payload that makes the session last longer, with the old tag.
        let mut longer = claims();
        longer.expires_at = u64::MAX;
        let longer = URL_SAFE_NO_PAD.encode(borsh::to_vec(&longer).unwrap());
        for forged in [
            format!("v1.{longer}.{tag}"),
            format!("v2.{payload}.{tag}"),
            format!("v1.{payload}"),
            format!("v1.{payload}.{tag}."),
            format!("v1.{payload}.{tag}A"),
            format!("v1.{payload}.{}", &tag[1..]),
            format!("v1.{payload}=.{tag}"),
            format!("v1..{tag}"),
            format!("v1.{payload}."),
            "".to_owned(),
            "x".repeat(MAX_TOKEN_CHARS + 1),
        ] {
            assert_eq!(
                verify(&key, &forged, 1_500).unwrap_err(),
                AuthError::InvalidSession,
                "{forged:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_single_character_change_is_refused(index in 0usize..400, c in "[A-Za-z0-9_.-]") {
            let key = SessionKey::from_bytes([1; 32]);
            let token = issue(&key, &claims());
            let mut chars: Vec<char> = token.as_str().chars().collect();
            let i = index % chars.len();
            let new = c.chars().next().unwrap();
            prop_assume!(chars[i] != new);
            chars[i] = new;
            let changed: String = chars.into_iter().collect();
            // (base64 refuses non-zero unused bits, so no two texts decode alike)
            prop_assert!(verify(&key, &changed, 1_500).is_err());
        }
    }
}
