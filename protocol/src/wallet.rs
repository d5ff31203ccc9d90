//! Wallets linked to a profile and the proof that the user owns one.
//!
//! idOS stores a free-text message and its signature, which anyone can replay to link the
//! same wallet again (even to another profile). Here the message is canonical and names the
//! user id, the chain id and a random nonce; the node rebuilds it and records the nonce as
//! used, so a proof links exactly one wallet to exactly one user, once.

use uuid::Uuid;

use crate::bytes::{Bytes, Nonce128};
use crate::error::Result;
use crate::identity::Identity;

/// The kinds of wallets a profile can have: idOS's five. (idOS's `FaceSign` wallets sign with
/// raw Ed25519 keys: here they are the `ed25519` type, and `FaceSign` is read as its alias.)
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
#[non_exhaustive]
pub enum WalletType {
    /// An EVM account (EIP-191 signatures).
    #[serde(rename = "EVM")]
    Evm,
    /// A raw Ed25519 key (idOS's FaceSign wallets).
    #[serde(rename = "ed25519", alias = "FaceSign")]
    Ed25519,
    /// A NEAR account key (NEP-413 signatures).
    #[serde(rename = "NEAR")]
    Near,
    /// An XRPL account (`ripple-keypairs` signatures, either curve).
    #[serde(rename = "XRPL")]
    Xrpl,
    /// A Stellar account (Ed25519, raw or SEP-53).
    #[serde(rename = "Stellar")]
    Stellar,
}

impl WalletType {
    /// The type of a wallet identity.
    pub fn of(identity: &Identity) -> Self {
        match identity {
            Identity::Evm(_) => WalletType::Evm,
            Identity::Ed25519(_) => WalletType::Ed25519,
            Identity::Near(_) => WalletType::Near,
            Identity::Xrpl(_) => WalletType::Xrpl,
            Identity::Stellar(_) => WalletType::Stellar,
        }
    }

    /// idOS's text for it.
    pub const fn as_str(self) -> &'static str {
        match self {
            WalletType::Evm => "EVM",
            WalletType::Ed25519 => "ed25519",
            WalletType::Near => "NEAR",
            WalletType::Xrpl => "XRPL",
            WalletType::Stellar => "Stellar",
        }
    }
}

/// A wallet to link, with the proof that its holder agrees.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct WalletProof {
    /// The wallet row's id.
    pub id: Uuid,
    /// The wallet: an EVM address or an Ed25519 public key.
    pub wallet: Identity,
    /// Makes the proof single-use.
    pub nonce: Nonce128,
    /// The wallet's signature over [`wallet_ownership_message`].
    pub signature: Bytes,
}

/// The canonical text a wallet signs to prove that its holder links it to `user_id`.
pub fn wallet_ownership_message(
    user_id: &Uuid,
    wallet: &Identity,
    chain_id: &str,
    nonce: &Nonce128,
) -> String {
    format!(
        "idOS wallet ownership proof\n\nI own this wallet and link it to idOS user {}.\n\n\
         Wallet: {}\nChain ID: {}\nNonce: {}",
        user_id.hyphenated(),
        wallet.identifier(),
        chain_id,
        nonce,
    )
}

/// A wallet already linked to a profile agreeing that another wallet joins it, for the
/// inserter that links it (`upsert_wallet_as_inserter`). Without it an inserter could link a
/// key of its own to anyone's profile and act as that user.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct WalletApproval {
    /// A wallet of the profile.
    pub approver: Identity,
    /// Its signature over [`wallet_approval_message`].
    pub signature: Bytes,
}

/// The canonical text a wallet of `user_id` signs to let `new_wallet` join the profile. It
/// names the new wallet's ownership proof by its nonce, so it approves that one link, once.
pub fn wallet_approval_message(
    user_id: &Uuid,
    approver: &Identity,
    new_wallet: &Identity,
    chain_id: &str,
    proof_nonce: &Nonce128,
) -> String {
    format!(
        "idOS wallet link approval\n\nI hold a wallet of idOS user {} and approve linking \
         another wallet to this profile.\n\nApproving wallet: {}\nNew wallet: {}\nChain ID: {}\n\
         Nonce: {}",
        user_id.hyphenated(),
        approver.identifier(),
        new_wallet.identifier(),
        chain_id,
        proof_nonce,
    )
}

impl WalletApproval {
    /// Checks that the approver signed the approval of `proof` for `user_id` on `chain_id`.
    pub fn verify(&self, user_id: &Uuid, proof: &WalletProof, chain_id: &str) -> Result<()> {
        let message = wallet_approval_message(
            user_id,
            &self.approver,
            &proof.wallet,
            chain_id,
            &proof.nonce,
        );
        self.approver.verify(
            "wallet approval signature",
            message.as_bytes(),
            &self.signature,
        )
    }
}

impl WalletProof {
    /// The message this proof must sign.
    pub fn message(&self, user_id: &Uuid, chain_id: &str) -> String {
        wallet_ownership_message(user_id, &self.wallet, chain_id, &self.nonce)
    }

    /// Checks the signature for `user_id` on `chain_id`.
    pub fn verify(&self, user_id: &Uuid, chain_id: &str) -> Result<()> {
        self.wallet.verify(
            "wallet ownership signature",
            self.message(user_id, chain_id).as_bytes(),
            &self.signature,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::SigningKey;

    fn proof(key: &SigningKey, user: Uuid, chain: &str) -> WalletProof {
        let nonce = Nonce128::from_bytes([9; 16]);
        let message = wallet_ownership_message(&user, &key.identity(), chain, &nonce);
        WalletProof {
            id: Uuid::from_u128(1),
            wallet: key.identity(),
            nonce,
            signature: key.sign(message.as_bytes()).into(),
        }
    }

    #[test]
    fn proof_verifies_for_its_user_and_chain_only() {
        for key in [SigningKey::generate_evm(), SigningKey::generate_ed25519()] {
            let user = Uuid::from_u128(7);
            let p = proof(&key, user, "idos-1");
            p.verify(&user, "idos-1").unwrap();
            assert_eq!(
                p.verify(&Uuid::from_u128(8), "idos-1").unwrap_err().code(),
                "bad_signature"
            );
            assert_eq!(
                p.verify(&user, "idos-2").unwrap_err().code(),
                "bad_signature"
            );
            let mut other_nonce = p.clone();
            other_nonce.nonce = Nonce128::from_bytes([1; 16]);
            assert_eq!(
                other_nonce.verify(&user, "idos-1").unwrap_err().code(),
                "bad_signature"
            );
        }
    }

    #[test]
    fn approval_verifies_for_its_user_chain_and_proof_only() {
        for approver in [SigningKey::generate_evm(), SigningKey::generate_ed25519()] {
            let user = Uuid::from_u128(7);
            let new = SigningKey::generate_ed25519();
            let p = proof(&new, user, "idos-1");
            let text = wallet_approval_message(
                &user,
                &approver.identity(),
                &new.identity(),
                "idos-1",
                &p.nonce,
            );
            let approval = WalletApproval {
                approver: approver.identity(),
                signature: approver.sign(text.as_bytes()).into(),
            };
            approval.verify(&user, &p, "idos-1").unwrap();
            let code = |r: Result<()>| r.unwrap_err().code();
            assert_eq!(
                code(approval.verify(&Uuid::from_u128(8), &p, "idos-1")),
                "bad_signature"
            );
            assert_eq!(code(approval.verify(&user, &p, "idos-2")), "bad_signature");
            let mut other_nonce = p.clone();
            other_nonce.nonce = Nonce128::from_bytes([1; 16]);
            assert_eq!(
                code(approval.verify(&user, &other_nonce, "idos-1")),
                "bad_signature"
            );
            let other_wallet = proof(&SigningKey::generate_evm(), user, "idos-1");
            assert_eq!(
                code(approval.verify(&user, &other_wallet, "idos-1")),
                "bad_signature"
            );
            let mut claimed = approval.clone();
            claimed.approver = match approver {
                SigningKey::Evm(_) => SigningKey::generate_evm(),
                _ => SigningKey::generate_ed25519(),
            }
            .identity();
            assert_eq!(code(claimed.verify(&user, &p, "idos-1")), "bad_signature");
        }
    }

    #[test]
    fn wallet_type_json_matches_idos() {
        assert_eq!(serde_json::to_string(&WalletType::Evm).unwrap(), "\"EVM\"");
        assert_eq!(WalletType::Evm.as_str(), "EVM");
    }
}
