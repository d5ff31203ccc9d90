//! The texts a key or wallet signs to sign in to a relay: one definition for the relay that
//! checks them and every client that signs them. (EVM browser wallets sign in with EIP-4361,
//! [`crate::siwe`].)

use crate::bytes::Ed25519PublicKey;
use crate::identity::Identity;

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

/// The wallet sign-in text (any wallet type: NEAR, XRPL, Stellar, FaceSign/Ed25519, EVM):
/// these six lines, separated by `\n`, with no newline at the end:
///
/// ```text
/// idOS relay sign-in
/// origin: <the relay's public origin>
/// network: <the idOS chain id the relay fronts>
/// purpose: session
/// wallet: <the wallet's identifier: ed25519:<base58>, r…, G…, 64 hex digits or 0x…>
/// nonce: <the nonce from GET /api/v1/auth/nonce>
/// ```
///
/// The wallet signs it with its own scheme ([`Identity::verify`]): a NEP-413 blob for NEAR,
/// the public key and signature for XRPL, raw or SEP-53 Ed25519 for Stellar.
pub fn wallet_sign_in_text(origin: &str, network: &str, wallet: &Identity, nonce: &str) -> String {
    format!(
        "idOS relay sign-in\norigin: {origin}\nnetwork: {network}\npurpose: session\nwallet: {}\nnonce: {nonce}",
        wallet.identifier()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wallet_text_is_exactly_as_documented() {
        let wallet = Identity::parse("rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh").unwrap();
        assert_eq!(
            wallet_sign_in_text("https://relay.example.com", "idos-1", &wallet, "N0nce123"),
            "idOS relay sign-in\norigin: https://relay.example.com\nnetwork: idos-1\npurpose: session\nwallet: rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh\nnonce: N0nce123"
        );
    }

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
