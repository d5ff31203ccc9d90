//! The texts a key signs to sign in: an EIP-4361 message for EVM wallets, the relay's
//! Ed25519 sign-in text for server keys, its wallet sign-in text for a wallet of any type.

use protocol::identity::{Identity, SigningKey};
use protocol::siwe::SiweMessage;

use crate::error::{ClientError, Result};

/// What an EIP-4361 message says besides the account and the nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiweOptions {
    /// The origin signed in to, `scheme://host[:port]`: the relay's public origin or an allowed
    /// dapp origin. `None`: the client's base URL's origin.
    pub origin: Option<String>,
    /// The EIP-155 chain id (the relay accepts 1 by default).
    pub chain_id: u64,
    /// The statement shown to the user.
    pub statement: Option<String>,
}

impl Default for SiweOptions {
    fn default() -> Self {
        SiweOptions {
            origin: None,
            chain_id: 1,
            statement: Some("Sign in to idOS.".to_owned()),
        }
    }
}

/// The EIP-4361 message for `address` (EIP-55 checksummed in the text) signing in to
/// `origin` (`scheme://host[:port]`, written as the bare `host[:port]` for `https`) with
/// `nonce`, issued at `issued_at` (unix seconds). The message is parsed back with
/// [`protocol::siwe::SiweMessage::parse`], the relay's strict parser, before it is returned.
pub fn siwe_message(
    address: &Identity,
    origin: &str,
    chain_id: u64,
    statement: Option<&str>,
    nonce: &str,
    issued_at: i64,
) -> Result<String> {
    let Identity::Evm(address) = address else {
        return Err(ClientError::InvalidArgument(
            "EIP-4361 sign-in is for EVM wallets; sign in an Ed25519 key with sign_in_ed25519"
                .into(),
        ));
    };
    let domain = origin.strip_prefix("https://").unwrap_or(origin);
    let issued = protocol::time::format_rfc3339(issued_at)
        .ok_or_else(|| ClientError::InvalidArgument("issued_at out of range".into()))?;
    // With no statement, EIP-4361 has two blank lines between the address and the URI.
    let statement = statement.map_or_else(|| "\n".to_owned(), |s| format!("{s}\n\n"));
    let text = format!(
        "{domain} wants you to sign in with your Ethereum account:\n{}\n\n{statement}URI: {origin}\nVersion: 1\nChain ID: {chain_id}\nNonce: {nonce}\nIssued At: {issued}",
        address.to_checksum()
    );
    SiweMessage::parse(&text).map_err(|e| ClientError::InvalidArgument(e.to_string()))?;
    Ok(text)
}

/// The relay's Ed25519 sign-in text, as its OpenAPI document spells it out for
/// `POST /api/v1/auth/ed25519` (one definition, in `protocol`).
pub use protocol::sign_in::ed25519_sign_in_text;

/// The relay's wallet sign-in text (`POST /api/v1/auth/wallet`), which a wallet of any type
/// signs its own way (one definition, in `protocol`).
pub use protocol::sign_in::wallet_sign_in_text;

/// `0x` + hex of `key`'s signature over `text` (EIP-191 `personal_sign` for EVM keys).
pub fn sign_hex(key: &SigningKey, text: &str) -> String {
    format!("0x{}", hex::encode(key.sign(text.as_bytes())))
}

/// The origin (`scheme://host[:port]`) of a URL.
pub(crate) fn origin_of(url: &reqwest::Url) -> String {
    url.origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_what_the_relays_parser_reads() {
        let key = SigningKey::evm_from_bytes(&[7; 32]).unwrap();
        let text = siwe_message(
            &key.identity(),
            "http://localhost:8080",
            1,
            Some("Sign in to idOS."),
            "abcdefgh1234",
            1_800_000_000,
        )
        .unwrap();
        let parsed = SiweMessage::parse(&text).unwrap();
        assert_eq!(parsed.origin(), "http://localhost:8080");
        assert_eq!(Identity::Evm(parsed.address), key.identity());
        assert_eq!(parsed.nonce, "abcdefgh1234");
        let https = siwe_message(
            &key.identity(),
            "https://relay.example",
            1,
            None,
            "abcdefgh1234",
            1_800_000_000,
        )
        .unwrap();
        assert!(https.starts_with("relay.example wants you"), "{https}");
        assert_eq!(
            SiweMessage::parse(&https).unwrap().origin(),
            "https://relay.example"
        );
    }

    #[test]
    fn fail_an_ed25519_key_has_no_siwe_message() {
        let key = SigningKey::generate_ed25519();
        let err = siwe_message(
            &key.identity(),
            "https://a.example",
            1,
            None,
            "abcdefgh1",
            0,
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_argument");
    }
}
