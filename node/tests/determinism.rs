//! Determinism of verification: every signature a transaction carries (the transaction's own,
//! a credential's two, a delegated write grant's) gets the same verdict on a node that has
//! seen nothing, on one that has learned every signer's key, and on one whose key cache is
//! churned by a flood of keys; and what CheckTx saw never changes a block's result or app
//! hash. A verdict that depends on node-local memory would split the validators.

use std::sync::{Mutex, OnceLock};

use node::app::{App, AppConfig, Genesis};
use node::store::Store;
use node::testkit::{credential_input, plaintext, public_notes, share_action, wallet_proof};
use proptest::prelude::*;
use protocol::action::{
    Action, AddAttribute, AddDelegate, AddInserter, AddUserAsInserter, AddWallet,
    CreateCredentialsByDwg, PasswordStore, UpsertCredentialAsInserter, UpsertWalletAsInserter,
};
use protocol::credential::content_hash;
use protocol::grant::DelegatedWriteGrant;
use protocol::identity::{Ed25519SigningKey, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use protocol::time::format_rfc3339;
use protocol::tx::{SignedTransaction, Transaction};
use tempfile::TempDir;
use uuid::Uuid;

const CHAIN: &str = "idos-determinism";
const TIME: i64 = 1_750_004_800;

fn evm(seed: u8) -> SigningKey {
    SigningKey::evm_from_bytes(&[seed; 32]).unwrap()
}

fn ed25519(seed: u8) -> Ed25519SigningKey {
    Ed25519SigningKey::from_seed(&[seed; 32])
}

/// Three EVM wallets (the first three), a raw Ed25519 one, then one of each other type.
fn every_wallet() -> [SigningKey; 8] {
    let [near, xrpl, xrpl_ed25519, stellar] = other_wallets(14);
    [
        evm(10),
        evm(11),
        evm(12),
        SigningKey::Ed25519(ed25519(13)),
        near,
        xrpl,
        xrpl_ed25519,
        stellar,
    ]
}

/// A NEAR, an XRPL secp256k1, an XRPL Ed25519 and a Stellar wallet, from `seed` on.
fn other_wallets(seed: u8) -> [SigningKey; 4] {
    use protocol::xrpl::XrplSigningKey;
    let xrpl = |prefix: &str, seed: u8| {
        XrplSigningKey::from_hex(&format!("{prefix}{}", format!("{seed:02x}").repeat(32))).unwrap()
    };
    [
        SigningKey::Near(ed25519(seed)),
        SigningKey::Xrpl(xrpl("00", seed + 1)),
        SigningKey::Xrpl(xrpl("ED", seed + 2)),
        SigningKey::Stellar(ed25519(seed + 3)),
    ]
}

fn open_app(dir: &TempDir, evm_key_cache: usize, owner: &SigningKey) -> App {
    let app = App::open(
        Store::open(dir.path(), false).unwrap(),
        AppConfig {
            evm_key_cache,
            ..AppConfig::default()
        },
    )
    .unwrap();
    app.init_chain(Genesis {
        chain_id: CHAIN.into(),
        owner: owner.identity(),
    })
    .unwrap();
    app
}

fn sign(key: &SigningKey, nonce: u64, action: impl Into<Action>) -> SignedTransaction {
    Transaction {
        chain_id: CHAIN.into(),
        nonce,
        signer: key.identity(),
        action: action.into(),
    }
    .sign(key)
    .unwrap()
}

/// A delegated write grant signed by `owner` for a credential written by `issuer`.
fn dwg_action(owner: &SigningKey, issuer: &Ed25519SigningKey) -> CreateCredentialsByDwg {
    let grantee = evm(99);
    let grantee_secret = EncryptionSecretKey::from_bytes([7; 32]);
    let grant = DelegatedWriteGrant {
        owner_wallet_identifier: owner.identity(),
        grantee_wallet_identifier: grantee.identity(),
        issuer_public_key: issuer.public_key(),
        id: Uuid::from_u128(42),
        access_grant_timelock: format_rfc3339(TIME + 1000).unwrap(),
        not_usable_before: format_rfc3339(TIME - 10).unwrap(),
        not_usable_after: format_rfc3339(TIME + 3600).unwrap(),
    };
    let grant_signature = owner.sign(grant.message(CHAIN).unwrap().as_bytes()).into();
    let body = plaintext("urn:vc:dwg");
    let user_key = EncryptionSecretKey::from_bytes([8; 32]).public_key();
    CreateCredentialsByDwg {
        original_id: Uuid::from_u128(43),
        original: credential_input(
            issuer,
            &public_notes("urn:vc:dwg", "active"),
            &body,
            &user_key,
        ),
        copy_id: Uuid::from_u128(44),
        copy: credential_input(issuer, "", &body, &grantee_secret.public_key()),
        content_hash: content_hash(&body),
        grant,
        grant_signature,
    }
}

// ----- mutations ----------------------------------------------------------------------------

/// Negates an EIP-191 signature's `s` (its malleable twin has `n - s`).
fn negate_s(sig: &mut [u8]) {
    use k256::elliptic_curve::PrimeField as _;
    if sig.len() != 65 {
        return;
    }
    if let Some(s) = Option::<k256::Scalar>::from(k256::Scalar::from_repr(
        *k256::FieldBytes::from_slice(&sig[32..64]),
    )) {
        sig[32..64].copy_from_slice(&(-s).to_bytes());
    }
}

/// Adds the group order ℓ to an Ed25519 signature's `s` (a non-canonical encoding of the
/// same scalar, which strict verification refuses).
fn add_order_to_s(sig: &mut [u8]) {
    const ORDER: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    if sig.len() != 64 {
        return;
    }
    let mut carry = 0u16;
    for (i, order) in ORDER.iter().enumerate() {
        let sum = sig[32 + i] as u16 + *order as u16 + carry;
        sig[32 + i] = sum as u8;
        carry = sum >> 8;
    }
}

/// One way a signature can be tampered with.
#[derive(Debug, Clone, Copy)]
enum Mutation {
    None,
    /// v: 27 ↔ 28 (EVM) / the last bit of s (Ed25519).
    FlipV,
    /// v in {0, 1}: the same signature in the other convention.
    VZeroOne,
    /// v in {0, 1}, flipped.
    VZeroOneFlipped,
    /// s → n − s (EVM) / s → s + ℓ (Ed25519).
    NegateS,
    /// s → n − s and v flipped: the high-s twin that `ecrecover` maps to the same signer.
    HighSTwin,
    /// One bit of the signature.
    Bit(usize, u8),
    /// One bit anywhere in the encoded transaction.
    TxBit(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::None),
        Just(Mutation::FlipV),
        Just(Mutation::VZeroOne),
        Just(Mutation::VZeroOneFlipped),
        Just(Mutation::NegateS),
        Just(Mutation::HighSTwin),
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::Bit(i, b)),
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::TxBit(i, b)),
    ]
}

fn mutate_signature(sig: &mut [u8], m: Mutation) {
    let evm = sig.len() == 65;
    match m {
        Mutation::None | Mutation::TxBit(..) => {}
        Mutation::FlipV if evm => sig[64] ^= 0x07,
        Mutation::FlipV => {
            if let Some(last) = sig.last_mut() {
                *last ^= 1
            }
        }
        Mutation::VZeroOne if evm => sig[64] = sig[64].wrapping_sub(27),
        Mutation::VZeroOneFlipped if evm => sig[64] = sig[64].wrapping_sub(27) ^ 1,
        Mutation::VZeroOne | Mutation::VZeroOneFlipped => {}
        Mutation::NegateS if evm => negate_s(sig),
        Mutation::NegateS => add_order_to_s(sig),
        Mutation::HighSTwin if evm => {
            negate_s(sig);
            sig[64] ^= 0x07;
        }
        Mutation::HighSTwin => add_order_to_s(sig),
        Mutation::Bit(i, b) => {
            if !sig.is_empty() {
                let i = i % sig.len();
                sig[i] ^= 1 << b;
            }
        }
    }
}

/// Which signature of a transaction a mutation hits.
#[derive(Debug, Clone, Copy)]
enum Target {
    Transaction,
    /// The copy's broader signature (share) or the original's (delegated write).
    Credential,
    /// The copy's or original's public-notes signature.
    Notes,
    /// A delegated write grant's owner signature, or a wallet-ownership proof's.
    Grant,
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        4 => Just(Target::Transaction),
        1 => Just(Target::Credential),
        1 => Just(Target::Notes),
        1 => Just(Target::Grant),
    ]
}

/// `stx` with one signature mutated, encoded.
fn tampered(stx: &SignedTransaction, target: Target, m: Mutation) -> Vec<u8> {
    let mut stx = stx.clone();
    match target {
        Target::Transaction => mutate_signature(&mut stx.signature.0, m),
        Target::Credential | Target::Notes => {
            let credential = match &mut stx.tx.action {
                Action::ShareCredential(a) => Some(&mut a.copy),
                Action::CreateCredentialsByDwg(a) => Some(&mut a.original),
                _ => None,
            };
            if let Some(c) = credential {
                let signature = match target {
                    Target::Credential => &mut c.broader_signature,
                    _ => &mut c.public_notes_signature,
                };
                let mut bytes = signature.as_bytes().to_vec();
                mutate_signature(&mut bytes, m);
                *signature = protocol::bytes::Ed25519Signature::from_slice(&bytes).unwrap();
            }
        }
        Target::Grant => match &mut stx.tx.action {
            Action::CreateCredentialsByDwg(a) => mutate_signature(&mut a.grant_signature.0, m),
            Action::AddWallet(a) => mutate_signature(&mut a.wallet.signature.0, m),
            _ => {}
        },
    }
    let mut bytes = stx.encode();
    if let Mutation::TxBit(i, b) = m {
        let i = i % bytes.len();
        bytes[i] ^= 1 << b;
    }
    bytes
}

// ----- verdicts of lone transactions ----------------------------------------------------------

/// Three nodes: one that never learns a key, one that learned every signer's, one whose cache
/// holds a single key and so is emptied again and again (a flood of fresh keys).
struct Verdicts {
    _dirs: Vec<TempDir>,
    fresh: App,
    learned: App,
    churned: App,
    txs: Vec<SignedTransaction>,
}

fn verdicts() -> &'static Mutex<Verdicts> {
    static V: OnceLock<Mutex<Verdicts>> = OnceLock::new();
    V.get_or_init(|| {
        let owner = SigningKey::Ed25519(ed25519(1));
        let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new().unwrap()).collect();
        let fresh = open_app(&dirs[0], 0, &owner);
        let learned = open_app(&dirs[1], 100_000, &owner);
        let churned = open_app(&dirs[2], 1, &owner);
        let issuer = ed25519(2);
        let grantee_key = EncryptionSecretKey::from_bytes([3; 32]).public_key();
        let mut txs = Vec::new();
        let signers = every_wallet();
        for (i, key) in signers.iter().enumerate() {
            txs.push(sign(
                key,
                1,
                AddAttribute {
                    id: Uuid::from_u128(i as u128),
                    attribute_key: "k".into(),
                    value: "v".into(),
                },
            ));
            let body = plaintext("urn:vc:1");
            txs.push(sign(
                key,
                2,
                share_action(
                    &ed25519(20 + i as u8),
                    Uuid::from_u128(100 + i as u128),
                    &body,
                    evm(99).identity(),
                    &grantee_key,
                    0,
                ),
            ));
        }
        txs.push(sign(
            &SigningKey::Ed25519(issuer.clone()),
            1,
            dwg_action(&evm(10), &issuer),
        ));
        txs.push(sign(&evm(11), 3, dwg_action(&evm(12), &issuer)));
        // Delegated write grants whose owners sign as NEAR, XRPL and Stellar wallets.
        for (i, owner) in signers[4..].iter().enumerate() {
            txs.push(sign(&evm(12), 3 + i as u64, dwg_action(owner, &issuer)));
        }
        // The learned node has seen a signature of every EVM signer.
        for key in &signers[..3] {
            let seen = sign(
                key,
                9,
                AddAttribute {
                    id: Uuid::nil(),
                    attribute_key: "seen".into(),
                    value: "before".into(),
                },
            );
            learned.preverify(&seen.encode()).unwrap();
        }
        Mutex::new(Verdicts {
            _dirs: dirs,
            fresh,
            learned,
            churned,
            txs,
        })
    })
}

fn verdict(app: &App, bytes: &[u8]) -> Result<(), &'static str> {
    app.preverify(bytes).map(drop).map_err(|e| e.code())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    /// Mutated signatures (v flipped or in the other convention, s negated, bits flipped)
    /// get one verdict, whatever the node has learned.
    #[test]
    fn mutated_signatures_get_the_same_verdict_on_every_node(
        which in any::<usize>(),
        target in target(),
        m in mutation(),
    ) {
        let v = verdicts().lock().unwrap_or_else(|p| p.into_inner());
        let stx = &v.txs[which % v.txs.len()];
        let bytes = tampered(stx, target, m);
        let fresh = verdict(&v.fresh, &bytes);
        prop_assert_eq!(fresh, verdict(&v.learned, &bytes), "learned node, {:?} {:?}", target, m);
        prop_assert_eq!(fresh, verdict(&v.churned, &bytes), "churned node, {:?} {:?}", target, m);
        // A flipped v, or the high-s twin, of an EVM signature is never accepted.
        let changed = bytes != stx.encode();
        if changed
            && matches!(m, Mutation::FlipV | Mutation::VZeroOneFlipped | Mutation::HighSTwin)
            && matches!(target, Target::Transaction | Target::Grant)
        {
            prop_assert!(fresh.is_err(), "{:?} {:?} accepted", target, m);
        }
    }
}

/// The case the review reproduced: a node that learned an EVM signer's key must not accept the
/// signer's transaction with `v` flipped, which recovery attributes to another address.
#[test]
fn a_node_that_learned_the_key_refuses_a_flipped_v() {
    let v = verdicts().lock().unwrap_or_else(|p| p.into_inner());
    let stx = &v.txs[0];
    for m in [
        Mutation::FlipV,
        Mutation::VZeroOneFlipped,
        Mutation::HighSTwin,
    ] {
        let bytes = tampered(stx, Target::Transaction, m);
        assert_eq!(verdict(&v.learned, &bytes), Err("bad_signature"), "{m:?}");
        assert_eq!(verdict(&v.fresh, &bytes), Err("bad_signature"), "{m:?}");
    }
    // The other convention of the same signature is the same signature.
    let same = tampered(stx, Target::Transaction, Mutation::VZeroOne);
    assert_eq!(verdict(&v.learned, &same), Ok(()));
    assert_eq!(verdict(&v.fresh, &same), Ok(()));
}

// ----- blocks ---------------------------------------------------------------------------------

/// Two replicas of one chain: `checked` sees every transaction in CheckTx first (and learns
/// keys, and caches verified hashes); `blind` never does and never learns a key.
struct Twins {
    _dirs: [TempDir; 2],
    checked: App,
    blind: App,
    /// Each user's wallet, original credential and user id.
    users: Vec<(SigningKey, Uuid, Uuid)>,
    time: i64,
    blocks: u64,
}

impl Twins {
    fn new() -> Twins {
        let owner = SigningKey::Ed25519(ed25519(1));
        let dirs = [TempDir::new().unwrap(), TempDir::new().unwrap()];
        let checked = open_app(&dirs[0], 100_000, &owner);
        let blind = open_app(&dirs[1], 0, &owner);
        let mut twins = Twins {
            _dirs: dirs,
            checked,
            blind,
            users: Vec::new(),
            time: TIME,
            blocks: 0,
        };
        let issuer = ed25519(2);
        let issuer_signer = SigningKey::Ed25519(issuer.clone());
        let inserter = Uuid::from_u128(1);
        twins.block(
            vec![
                sign(
                    &owner,
                    1,
                    AddInserter {
                        id: inserter,
                        name: "Acme".into(),
                    },
                )
                .encode(),
                sign(
                    &owner,
                    2,
                    AddDelegate {
                        address: issuer_signer.identity(),
                        inserter_id: inserter,
                    },
                )
                .encode(),
            ],
            true,
        );
        let wallets = every_wallet();
        let mut txs = Vec::new();
        let mut nonce = 0;
        for (i, wallet) in wallets.into_iter().enumerate() {
            let user = Uuid::from_u128(0x4000_0000_0000_4000_8000_0000_0000_0000 + i as u128);
            let secret = EncryptionSecretKey::from_bytes([30 + i as u8; 32]);
            let original = Uuid::from_u128(100 + i as u128);
            let actions: [Action; 3] = [
                AddUserAsInserter {
                    id: user,
                    recipient_encryption_public_key: secret.public_key(),
                    encryption_password_store: PasswordStore::User,
                }
                .into(),
                UpsertWalletAsInserter {
                    user_id: user,
                    wallet: wallet_proof(&wallet, &user, CHAIN, Uuid::from_u128(200 + i as u128)),
                    approval: None,
                }
                .into(),
                UpsertCredentialAsInserter {
                    id: original,
                    user_id: user,
                    credential: credential_input(
                        &issuer,
                        &public_notes(&format!("urn:vc:{i}"), "active"),
                        &plaintext(&format!("urn:vc:{i}")),
                        &secret.public_key(),
                    ),
                }
                .into(),
            ];
            for action in actions {
                nonce += 1;
                txs.push(sign(&issuer_signer, nonce, action).encode());
            }
            twins.users.push((wallet, original, user));
        }
        twins.block(txs, true);
        twins
    }

    /// Finalizes and commits `txs` on both replicas (CheckTx first on `checked` only when
    /// `check`), and checks that they agree on every outcome and on the app hash.
    fn block(&mut self, txs: Vec<Vec<u8>>, check: bool) {
        if check {
            for tx in &txs {
                let _ = self.checked.check_tx(tx);
            }
        }
        let height = self.checked.next_height();
        let (a, hash_a) = self
            .checked
            .finalize_block(height, self.time, &txs)
            .unwrap();
        let (b, hash_b) = self.blind.finalize_block(height, self.time, &txs).unwrap();
        let codes = |o: &[node::app::TxOutcome]| -> Vec<Result<(), &'static str>> {
            o.iter()
                .map(|o| o.result.as_ref().map(drop).map_err(|e| e.code()))
                .collect()
        };
        assert_eq!(codes(&a), codes(&b), "outcomes at height {height}");
        assert_eq!(hash_a, hash_b, "app hash at height {height}");
        self.checked.commit(Default::default()).unwrap();
        self.blind.commit(Default::default()).unwrap();
        self.time += 1;
        self.blocks += 1;
    }

    fn next_nonce(&self, key: &SigningKey) -> u64 {
        node::state::next_nonce(&**self.checked.store(), &key.identity()).unwrap()
    }
}

fn twins() -> &'static Mutex<Twins> {
    static T: OnceLock<Mutex<Twins>> = OnceLock::new();
    T.get_or_init(|| Mutex::new(Twins::new()))
}

/// What one transaction of a generated block does.
#[derive(Debug, Clone)]
struct Planned {
    user: usize,
    kind: u8,
    nonce_skew: i8,
    target: Target,
    mutation: Mutation,
}

fn planned() -> impl Strategy<Value = Planned> {
    (
        0usize..4,
        0u8..3,
        prop_oneof![8 => Just(0i8), 1 => Just(1i8), 1 => Just(-1i8)],
        target(),
        mutation(),
    )
        .prop_map(|(user, kind, nonce_skew, target, mutation)| Planned {
            user,
            kind,
            nonce_skew,
            target,
            mutation,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    /// Blocks of valid, tampered and misordered transactions lead a replica that saw them in
    /// CheckTx and one that did not to the same outcomes and app hash.
    #[test]
    fn a_replica_that_saw_check_tx_and_one_that_did_not_agree_on_every_block(
        plan in proptest::collection::vec(planned(), 1..5),
        check in any::<bool>(),
    ) {
        let mut t = twins().lock().unwrap_or_else(|p| p.into_inner());
        let mut next: Vec<u64> = t.users.iter().map(|(k, _, _)| t.next_nonce(k)).collect();
        let mut txs = Vec::new();
        for p in plan {
            let (key, original, user) = &t.users[p.user];
            let nonce = next[p.user].saturating_add_signed(p.nonce_skew as i64).max(1);
            let id = Uuid::new_v4();
            let action: Action = match p.kind {
                0 => AddAttribute { id, attribute_key: "k".into(), value: "v".into() }.into(),
                1 => share_action(
                    &Ed25519SigningKey::generate(),
                    *original,
                    &plaintext("urn:vc"),
                    evm(99).identity(),
                    &EncryptionSecretKey::from_bytes([3; 32]).public_key(),
                    0,
                )
                .into(),
                _ => AddWallet {
                    wallet: wallet_proof(&SigningKey::generate_evm(), user, CHAIN, id),
                }
                .into(),
            };
            let stx = sign(key, nonce, action);
            txs.push(tampered(&stx, p.target, p.mutation));
            next[p.user] = nonce + 1;
        }
        t.block(txs, check);
    }
}

/// CheckTx's work is not done twice: a transaction CheckTx decoded and verified is taken from
/// the verified-transaction cache by FinalizeBlock, and one it never saw is verified there.
#[test]
fn finalize_block_verifies_only_what_check_tx_did_not() {
    let dir = TempDir::new().unwrap();
    let mut net = node::testkit::TestNet::new(dir.path());
    let owner = net.owner.clone();
    let inserter = |name: &str| AddInserter {
        id: Uuid::new_v4(),
        name: name.into(),
    };
    let seen = net.sign_with_nonce(&owner, inserter("seen by CheckTx"), 1);
    let unseen = net.sign_with_nonce(&owner, inserter("only in the block"), 2);
    net.app.check_tx(&seen.encode()).unwrap();
    let before = net.app.verified_in_blocks();
    let outcomes = net.block(vec![seen.encode(), unseen.encode()]);
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    assert_eq!(net.app.verified_in_blocks() - before, 1);
}
