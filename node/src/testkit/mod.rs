//! Builders for tests and benchmarks: keys, signed credentials, signed transactions and reads,
//! and a single-node network driven block by block over a real store. Nothing here is used by
//! the node itself.

pub mod abci;

use std::path::Path;
use std::sync::Arc;

use protocol::action::{
    Action, AddDelegate, AddInserter, AddUserAsInserter, CredentialInput, PasswordStore,
    ShareCredential, UpsertCredentialAsInserter, UpsertWalletAsInserter,
};
use protocol::bytes::{EncryptionPublicKey, Nonce128};
use protocol::credential::{content_hash, sign_credential};
use protocol::identity::{Ed25519SigningKey, Identity, SigningKey};
use protocol::nacl_box::{EncryptionSecretKey, encrypt};
use protocol::query::{Query, SignedQuery};
use protocol::records::{QueryAnswer, QueryOutput};
use protocol::tx::{SignedTransaction, Transaction};
use protocol::wallet::{
    WalletApproval, WalletProof, wallet_approval_message, wallet_ownership_message,
};
use uuid::Uuid;

use crate::app::{App, AppConfig, Genesis, ProvenAnswer, TxOutcome};
use crate::error::{NodeError, NodeResult};
use crate::state::exec::Effects;
use crate::state::next_nonce;
use crate::store::{Changes, Store};

pub const CHAIN_ID: &str = "idos-test";
/// 2025-06-15T16:26:40Z: the first block's time.
pub const GENESIS_TIME: i64 = 1_750_004_800;

/// An issuer: its inserter id and name and the delegate key it signs with.
pub struct Issuer {
    pub inserter_id: Uuid,
    pub name: String,
    pub key: Ed25519SigningKey,
}

impl Issuer {
    pub fn signer(&self) -> SigningKey {
        SigningKey::Ed25519(self.key.clone())
    }
}

/// A user with a profile: the user id, the encryption key and the wallet they sign with.
pub struct User {
    pub id: Uuid,
    pub secret: EncryptionSecretKey,
    pub wallet: SigningKey,
}

impl User {
    pub fn public_key(&self) -> EncryptionPublicKey {
        self.secret.public_key()
    }
}

/// A credential written by `issuer`: `plaintext` encrypted to `recipient`, signed.
pub fn credential_input(
    issuer: &Ed25519SigningKey,
    public_notes: &str,
    plaintext: &[u8],
    recipient: &EncryptionPublicKey,
) -> CredentialInput {
    let sealed = encrypt(plaintext, recipient).expect("encryption to a valid key");
    let signatures = sign_credential(issuer, public_notes, &sealed.content);
    CredentialInput {
        issuer_auth_public_key: issuer.public_key(),
        encryptor_public_key: sealed.encryptor_public_key,
        content: sealed.content.into(),
        public_notes: public_notes.to_owned(),
        public_notes_signature: signatures.public_notes_signature,
        broader_signature: signatures.broader_signature,
    }
}

/// Public notes of a KYC credential with verifiable-credential id `vc_id`.
pub fn public_notes(vc_id: &str, status: &str) -> String {
    format!(
        r#"{{"id":"{vc_id}","type":"KYC","level":"basic","status":"{status}","issuer":"https://issuer.example"}}"#
    )
}

/// A plaintext W3C-style credential.
pub fn plaintext(vc_id: &str) -> Vec<u8> {
    format!(r#"{{"@context":["https://www.w3.org/2018/credentials/v1"],"id":"{vc_id}","credentialSubject":{{"name":"Ada"}}}}"#)
        .into_bytes()
}

/// The three actions by which an issuer (an inserter's delegate) gives a new user `user_id`
/// a profile (encrypting to `secret`'s public key), the EVM or Ed25519 `wallet`, and the
/// credential `original` with verifiable-credential id `vc`, all signed by `issuer`.
pub fn onboarding_actions(
    issuer: &Ed25519SigningKey,
    chain_id: &str,
    user_id: Uuid,
    wallet: &SigningKey,
    secret: &EncryptionSecretKey,
    original: Uuid,
    vc: &str,
) -> [Action; 3] {
    [
        AddUserAsInserter {
            id: user_id,
            recipient_encryption_public_key: secret.public_key(),
            encryption_password_store: PasswordStore::User,
        }
        .into(),
        UpsertWalletAsInserter {
            user_id,
            wallet: wallet_proof(wallet, &user_id, chain_id, Uuid::new_v4()),
            approval: None,
        }
        .into(),
        UpsertCredentialAsInserter {
            id: original,
            user_id,
            credential: credential_input(
                issuer,
                &public_notes(vc, "active"),
                &plaintext(vc),
                &secret.public_key(),
            ),
        }
        .into(),
    ]
}

/// A wallet-ownership proof of `wallet` for `user` on `chain_id`.
pub fn wallet_proof(wallet: &SigningKey, user: &Uuid, chain_id: &str, id: Uuid) -> WalletProof {
    let nonce = Nonce128::from_bytes(*Uuid::new_v4().as_bytes());
    let message = wallet_ownership_message(user, &wallet.identity(), chain_id, &nonce);
    WalletProof {
        id,
        wallet: wallet.identity(),
        nonce,
        signature: wallet.sign(message.as_bytes()).into(),
    }
}

/// The approval, by `approver` (a wallet of `user`), of linking the wallet of `proof`.
pub fn wallet_approval(
    approver: &SigningKey,
    user: &Uuid,
    proof: &WalletProof,
    chain_id: &str,
) -> WalletApproval {
    let message = wallet_approval_message(
        user,
        &approver.identity(),
        &proof.wallet,
        chain_id,
        &proof.nonce,
    );
    WalletApproval {
        approver: approver.identity(),
        signature: approver.sign(message.as_bytes()).into(),
    }
}

/// A share of `original` (whose plaintext is `plaintext`) for `grantee`, the copy signed by
/// `copy_signer` (the enclave uses a fresh key per copy).
pub fn share_action(
    copy_signer: &Ed25519SigningKey,
    original: Uuid,
    plaintext: &[u8],
    grantee: Identity,
    grantee_key: &EncryptionPublicKey,
    locked_until: i64,
) -> ShareCredential {
    let copy = credential_input(copy_signer, "", plaintext, grantee_key);
    ShareCredential {
        id: Uuid::new_v4(),
        original_credential_id: original,
        copy,
        content_hash: content_hash(plaintext),
        grantee_wallet_identifier: grantee,
        locked_until,
    }
}

/// `action` signed by `key` for `chain_id` with `nonce`.
pub fn signed_tx(
    chain_id: &str,
    key: &SigningKey,
    nonce: u64,
    action: impl Into<Action>,
) -> SignedTransaction {
    Transaction {
        chain_id: chain_id.into(),
        nonce,
        signer: key.identity(),
        action: action.into(),
    }
    .sign(key)
    .expect("the key is the signer")
}

/// A one-validator network driven block by block in process.
pub struct TestNet {
    pub app: Arc<App>,
    pub owner: SigningKey,
    /// The next block's time.
    pub time: i64,
    pub gateway: Ed25519SigningKey,
}

impl TestNet {
    /// A fresh network whose data lives under `dir`.
    pub fn new(dir: &Path) -> TestNet {
        let owner = SigningKey::generate_ed25519();
        let gateway = Ed25519SigningKey::generate();
        let net = TestNet::open(dir, owner, gateway, GENESIS_TIME);
        net.app
            .init_chain(Genesis {
                chain_id: CHAIN_ID.into(),
                owner: net.owner.identity(),
            })
            .expect("genesis");
        net
    }

    /// Opens an existing network's data again (as after a restart).
    pub fn open(dir: &Path, owner: SigningKey, gateway: Ed25519SigningKey, time: i64) -> TestNet {
        let store = Store::open(dir, false).expect("store opens");
        let config = AppConfig {
            trusted_gateways: vec![gateway.public_key()],
            ..AppConfig::default()
        };
        let app = Arc::new(App::open(store, config).expect("app opens"));
        TestNet {
            app,
            owner,
            time,
            gateway,
        }
    }

    /// Signs `action` as `key` with its next nonce.
    pub fn sign(&self, key: &SigningKey, action: impl Into<Action>) -> SignedTransaction {
        let nonce = next_nonce(&**self.app.store(), &key.identity()).expect("nonce readable");
        self.sign_with_nonce(key, action, nonce)
    }

    pub fn sign_with_nonce(
        &self,
        key: &SigningKey,
        action: impl Into<Action>,
        nonce: u64,
    ) -> SignedTransaction {
        Transaction {
            chain_id: CHAIN_ID.into(),
            nonce,
            signer: key.identity(),
            action: action.into(),
        }
        .sign(key)
        .expect("the key is the signer")
    }

    /// CheckTx, then a block with just this transaction.
    pub fn submit(&mut self, key: &SigningKey, action: impl Into<Action>) -> NodeResult<Effects> {
        let stx = self.sign(key, action);
        self.submit_signed(&stx)
    }

    pub fn submit_signed(&mut self, stx: &SignedTransaction) -> NodeResult<Effects> {
        let bytes = stx.encode();
        self.app.check_tx(&bytes)?;
        let mut outcomes = self.block(vec![bytes]);
        outcomes.remove(0).result
    }

    /// Finalizes and commits a block of raw transactions (no CheckTx), advancing time by 1 s.
    pub fn block(&mut self, txs: Vec<Vec<u8>>) -> Vec<TxOutcome> {
        let height = self.app.committed().height + 1;
        let (outcomes, _) = self
            .app
            .finalize_block(height, self.time, &txs)
            .expect("block executes");
        self.app.commit(Changes::default()).expect("block commits");
        self.time += 1;
        outcomes
    }

    /// A read signed by `key`.
    pub fn read(&self, key: &SigningKey, query: Query) -> NodeResult<QueryOutput> {
        let signed = SignedQuery::signed(CHAIN_ID, query, key, self.time);
        self.query(&signed).map(|a| a.output)
    }

    pub fn query(&self, signed: &SignedQuery) -> NodeResult<QueryAnswer> {
        self.app
            .query(crate::app::QUERY_PATH, &signed.encode(), 0, self.time)
    }

    /// A read signed by `key`, answered with its proven entries (`prove = true`).
    pub fn read_proven(&self, key: &SigningKey, query: Query) -> NodeResult<ProvenAnswer> {
        let signed = SignedQuery::signed(CHAIN_ID, query, key, self.time);
        self.app
            .query_proven(crate::app::QUERY_PATH, &signed.encode(), 0, self.time)
    }

    /// What a client that trusts only the app hash concludes from `proven`: the read re-run
    /// over the proven entries, for `caller`.
    pub fn verify_proven(
        &self,
        proven: &ProvenAnswer,
        caller: &Identity,
        query: &Query,
    ) -> Result<Result<QueryOutput, NodeError>, idos_state::proof::ProofError> {
        let ctx = idos_state::read::ReadContext {
            chain_id: CHAIN_ID,
            block_time: self.app.committed().time,
        };
        idos_state::proof::verify_read(
            *proven.app_hash.as_bytes(),
            &proven.entries,
            &ctx,
            Some(caller),
            query,
        )
    }

    /// Registers an inserter named `name` with a fresh delegate key.
    pub fn add_issuer(&mut self, name: &str) -> Issuer {
        let owner = self.owner.clone();
        let inserter_id = Uuid::new_v4();
        self.submit(
            &owner,
            AddInserter {
                id: inserter_id,
                name: name.into(),
            },
        )
        .expect("add inserter");
        let key = Ed25519SigningKey::generate();
        self.submit(
            &owner,
            AddDelegate {
                address: Identity::Ed25519(key.public_key()),
                inserter_id,
            },
        )
        .expect("add delegate");
        Issuer {
            inserter_id,
            name: name.into(),
            key,
        }
    }

    /// Creates a profile through `issuer` and links a fresh wallet of the given scheme.
    pub fn add_user(&mut self, issuer: &Issuer, evm: bool) -> User {
        let wallet = if evm {
            SigningKey::generate_evm()
        } else {
            SigningKey::generate_ed25519()
        };
        let secret = EncryptionSecretKey::generate();
        let id = Uuid::new_v4();
        let signer = issuer.signer();
        self.submit(
            &signer,
            AddUserAsInserter {
                id,
                recipient_encryption_public_key: secret.public_key(),
                encryption_password_store: PasswordStore::User,
            },
        )
        .expect("add user");
        let proof = wallet_proof(&wallet, &id, CHAIN_ID, Uuid::new_v4());
        self.submit(
            &signer,
            protocol::action::UpsertWalletAsInserter {
                user_id: id,
                wallet: proof,
                approval: None,
            },
        )
        .expect("link wallet");
        User { id, secret, wallet }
    }
}

/// The error code of a result, for assertions.
pub fn code<T: std::fmt::Debug>(result: Result<T, NodeError>) -> &'static str {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}
