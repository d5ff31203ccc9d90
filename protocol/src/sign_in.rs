//! The text an Ed25519 key signs to sign in to a relay (servers: issuers, dapp back ends): one
//! definition for the relay that checks it and every client that signs it.

use crate::bytes::Ed25519PublicKey;

/// The Ed25519 sign-in text: these six lines, separated by `\n`, with no newline at the end:
///
/// ```text
/// idOS relay sign-in
/// origin: <the relay's public origin, e.g. https://relay.example.com>
/// network: <the idOS chain id the relay fronts>
/// purpose: session
/// public key: <the signer's public key, 64 lowercase hex digits>
/// nonce: <the nonce from GET /api/v1/auth/nonce>
/// ```
///
/// The signature is raw Ed25519 (RFC 8032, as tweetnacl's `sign.detached`) over the UTF-8
/// bytes of this text. Origin and network keep a signature for one relay or network from
/// signing in anywhere else; the purpose line keeps it from being read as any other idOS
/// message; the nonce makes it good once.
pub fn ed25519_sign_in_text(
    origin: &str,
    network: &str,
    public_key: &Ed25519PublicKey,
    nonce: &str,
) -> String {
    format!(
        "idOS relay sign-in\norigin: {origin}\nnetwork: {network}\npurpose: session\npublic key: {}\nnonce: {nonce}",
        public_key.to_text()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_exactly_as_documented() {
        let key = Ed25519PublicKey::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(
            ed25519_sign_in_text("https://relay.example.com", "idos-1", &key, "N0nce123"),
            format!(
                "idOS relay sign-in\norigin: https://relay.example.com\nnetwork: idos-1\npurpose: session\npublic key: {}\nnonce: N0nce123",
                "ab".repeat(32)
            )
        );
    }
}
