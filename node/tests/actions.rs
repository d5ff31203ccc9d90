//! Every action and read of the state machine through the application's ABCI lifecycle
//! (CheckTx, FinalizeBlock, Commit, Query) over a real RocksDB store: the happy path and each
//! rejection, asserted by its stable error code.

use node::app::{App, AppConfig, Genesis};
use node::store::{Changes, Store, Table, Write};
use node::testkit::*;
use protocol::action::*;
use protocol::bytes::Sha256Digest;
use protocol::credential::content_hash;
use protocol::grant::{DelegatedWriteGrant, access_grant_id};
use protocol::identity::{Ed25519SigningKey, SigningKey};
use protocol::nacl_box::{EncryptionSecretKey, decrypt};
use protocol::query::{PageRequest, Query, SignedQuery};
use protocol::records::{Page, QueryOutput};
use protocol::time::format_rfc3339;
use tempfile::TempDir;
use uuid::Uuid;

struct World {
    _dir: TempDir,
    net: TestNet,
    issuer: Issuer,
    alice: User,
}

fn world() -> World {
    let dir = TempDir::new().unwrap();
    let mut net = TestNet::new(dir.path());
    let issuer = net.add_issuer("Acme KYC");
    let alice = net.add_user(&issuer, true);
    World {
        _dir: dir,
        net,
        issuer,
        alice,
    }
}

impl World {
    /// A profile created by the issuer, without a wallet yet.
    fn bare_profile(&mut self) -> Uuid {
        let id = Uuid::new_v4();
        self.net
            .submit(
                &self.issuer.signer(),
                AddUserAsInserter {
                    id,
                    recipient_encryption_public_key: EncryptionSecretKey::generate().public_key(),
                    encryption_password_store: PasswordStore::User,
                },
            )
            .unwrap();
        id
    }

    /// Alice's original credential, written by the issuer.
    fn issue(&mut self, vc_id: &str) -> Uuid {
        let id = Uuid::new_v4();
        let credential = credential_input(
            &self.issuer.key,
            &public_notes(vc_id, "active"),
            &plaintext(vc_id),
            &self.alice.public_key(),
        );
        self.net
            .submit(
                &self.issuer.signer(),
                UpsertCredentialAsInserter {
                    id,
                    user_id: self.alice.id,
                    credential,
                },
            )
            .unwrap();
        id
    }

    /// Shares `original` with a fresh grantee; returns (grantee key, its encryption key, copy id, grant id).
    fn share(
        &mut self,
        original: Uuid,
        vc_id: &str,
        locked_until: i64,
    ) -> (SigningKey, EncryptionSecretKey, Uuid, Uuid) {
        let grantee = SigningKey::generate_evm();
        let grantee_secret = EncryptionSecretKey::generate();
        let action = share_action(
            &Ed25519SigningKey::generate(),
            original,
            &plaintext(vc_id),
            grantee.identity(),
            &grantee_secret.public_key(),
            locked_until,
        );
        let copy_id = action.id;
        self.net.submit(&self.alice.wallet, action).unwrap();
        let grant_id = access_grant_id(&grantee.identity().identifier(), &copy_id, locked_until);
        (grantee, grantee_secret, copy_id, grant_id)
    }
}

/// The first page, of the default size.
fn first() -> PageRequest {
    PageRequest::default()
}

fn credentials(out: QueryOutput) -> Vec<protocol::records::CredentialSummary> {
    match out {
        QueryOutput::Credentials(c) => c.items,
        other => panic!("expected credentials, got {other:?}"),
    }
}

fn grants(out: QueryOutput) -> Vec<protocol::records::AccessGrantRecord> {
    match out {
        QueryOutput::AccessGrants(g) => g.items,
        other => panic!("expected grants, got {other:?}"),
    }
}

// ----- owner -----------------------------------------------------------------------------

#[test]
fn only_the_owner_manages_inserters_and_delegates() {
    let mut w = world();
    let stranger = SigningKey::generate_ed25519();
    assert_eq!(
        code(w.net.submit(
            &stranger,
            AddInserter {
                id: Uuid::new_v4(),
                name: "x".into()
            }
        )),
        "unauthorized"
    );
    assert_eq!(
        code(w.net.submit(
            &stranger,
            AddDelegate {
                address: stranger.identity(),
                inserter_id: w.issuer.inserter_id
            }
        )),
        "unauthorized"
    );
    assert_eq!(
        code(w.net.submit(
            &stranger,
            DeleteInserter {
                id: w.issuer.inserter_id
            }
        )),
        "unauthorized"
    );
    assert_eq!(
        code(w.net.submit(
            &stranger,
            DeleteDelegate {
                address: w.issuer.signer().identity()
            }
        )),
        "unauthorized"
    );
}

#[test]
fn inserter_ids_and_names_are_unique() {
    let mut w = world();
    let owner = w.net.owner.clone();
    assert_eq!(
        code(w.net.submit(
            &owner,
            AddInserter {
                id: w.issuer.inserter_id,
                name: "other".into()
            }
        )),
        "already_exists"
    );
    assert_eq!(
        code(w.net.submit(
            &owner,
            AddInserter {
                id: Uuid::new_v4(),
                name: "Acme KYC".into()
            }
        )),
        "already_exists"
    );
}

#[test]
fn delegates_need_an_existing_inserter_and_are_unique() {
    let mut w = world();
    let owner = w.net.owner.clone();
    let key = SigningKey::generate_ed25519();
    assert_eq!(
        code(w.net.submit(
            &owner,
            AddDelegate {
                address: key.identity(),
                inserter_id: Uuid::new_v4()
            }
        )),
        "not_found"
    );
    assert_eq!(
        code(w.net.submit(
            &owner,
            AddDelegate {
                address: w.issuer.signer().identity(),
                inserter_id: w.issuer.inserter_id
            }
        )),
        "already_exists"
    );
    assert_eq!(
        code(w.net.submit(
            &owner,
            DeleteDelegate {
                address: key.identity()
            }
        )),
        "not_found"
    );
}

#[test]
fn an_inserter_is_deleted_once_its_delegates_are_and_then_none_of_them_writes() {
    let mut w = world();
    let owner = w.net.owner.clone();
    let second = SigningKey::generate_ed25519();
    w.net
        .submit(
            &owner,
            AddDelegate {
                address: second.identity(),
                inserter_id: w.issuer.inserter_id,
            },
        )
        .unwrap();
    let delete = DeleteInserter {
        id: w.issuer.inserter_id,
    };
    assert_eq!(
        code(w.net.submit(&owner, delete.clone())),
        "inserter_has_delegates"
    );
    for key in [w.issuer.signer(), second.clone()] {
        w.net
            .submit(
                &owner,
                DeleteDelegate {
                    address: key.identity(),
                },
            )
            .unwrap();
    }
    w.net.submit(&owner, delete.clone()).unwrap();
    for key in [w.issuer.signer(), second] {
        let action = AddUserAsInserter {
            id: Uuid::new_v4(),
            recipient_encryption_public_key: EncryptionSecretKey::generate().public_key(),
            encryption_password_store: PasswordStore::User,
        };
        assert_eq!(code(w.net.submit(&key, action)), "unauthorized");
    }
    assert_eq!(code(w.net.submit(&owner, delete)), "not_found");
    // The name is free again, and so are the delegate keys.
    let again = w.net.add_issuer("Acme KYC");
    assert_ne!(again.inserter_id, w.issuer.inserter_id);
}

#[test]
fn a_deleted_delegate_can_no_longer_write() {
    let mut w = world();
    let owner = w.net.owner.clone();
    let profile = |id| AddUserAsInserter {
        id,
        recipient_encryption_public_key: EncryptionSecretKey::generate().public_key(),
        encryption_password_store: PasswordStore::User,
    };
    // It writes while it is a delegate (a profile without a wallet yet)...
    let fresh = Uuid::new_v4();
    w.net.submit(&w.issuer.signer(), profile(fresh)).unwrap();
    w.net
        .submit(
            &owner,
            DeleteDelegate {
                address: w.issuer.signer().identity(),
            },
        )
        .unwrap();
    // ...and not after: none of the writes it could make before.
    let signer = w.issuer.signer();
    let credential = credential_input(
        &w.issuer.key,
        &public_notes("urn:vc:late", "active"),
        b"late",
        &w.alice.public_key(),
    );
    let writes: Vec<Action> = vec![
        profile(Uuid::new_v4()).into(),
        UpsertCredentialAsInserter {
            id: Uuid::new_v4(),
            user_id: fresh,
            credential,
        }
        .into(),
        AddAttributeAsInserter {
            id: Uuid::new_v4(),
            user_id: fresh,
            attribute_key: "k".into(),
            value: "v".into(),
        }
        .into(),
        UpsertWalletAsInserter {
            user_id: fresh,
            wallet: wallet_proof(
                &SigningKey::generate_evm(),
                &fresh,
                CHAIN_ID,
                Uuid::new_v4(),
            ),
            approval: None,
        }
        .into(),
    ];
    for action in writes {
        let name = action.name();
        assert_eq!(
            code(w.net.submit(&signer, action)),
            "unauthorized",
            "{name}"
        );
    }
    assert_eq!(
        code(
            w.net
                .read(&signer, Query::GetUserAsInserter { id: w.alice.id })
        ),
        "unauthorized"
    );
}

// ----- inserters -------------------------------------------------------------------------

#[test]
fn inserter_creates_profiles_with_uuid_v4_ids_only_once() {
    let mut w = world();
    let key = EncryptionSecretKey::generate().public_key();
    let add = |id| AddUserAsInserter {
        id,
        recipient_encryption_public_key: key,
        encryption_password_store: PasswordStore::User,
    };
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), add(w.alice.id))),
        "already_exists"
    );
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), add(Uuid::from_u128(5)))),
        "invalid_user_id"
    );
    let stranger = SigningKey::generate_ed25519();
    assert_eq!(
        code(w.net.submit(&stranger, add(Uuid::new_v4()))),
        "unauthorized"
    );
    match w
        .net
        .read(
            &w.issuer.signer(),
            Query::GetUserAsInserter { id: w.alice.id },
        )
        .unwrap()
    {
        QueryOutput::User(u) => {
            assert_eq!(u.recipient_encryption_public_key, w.alice.public_key());
            assert_eq!(u.inserter, "Acme KYC");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        code(
            w.net
                .read(&stranger, Query::GetUserAsInserter { id: w.alice.id })
        ),
        "unauthorized"
    );
}

#[test]
fn wallet_proofs_must_name_the_user_and_chain_and_are_single_use() {
    let mut w = world();
    let signer = w.issuer.signer();
    let (p, q) = (w.bare_profile(), w.bare_profile());
    let wallet = SigningKey::generate_evm();
    let link = |user_id, wallet, approval| UpsertWalletAsInserter {
        user_id,
        wallet,
        approval,
    };
    // Signed for P, submitted for Q.
    let for_p = wallet_proof(&wallet, &p, CHAIN_ID, Uuid::new_v4());
    assert_eq!(
        code(w.net.submit(&signer, link(q, for_p.clone(), None))),
        "bad_signature"
    );
    // Signed for another chain.
    let other_chain = wallet_proof(&wallet, &q, "idos-other", Uuid::new_v4());
    assert_eq!(
        code(w.net.submit(&signer, link(q, other_chain, None))),
        "bad_signature"
    );
    w.net.submit(&signer, link(p, for_p.clone(), None)).unwrap();
    // The same proof again, even for the same profile and approved by its wallet.
    let approval = wallet_approval(&wallet, &p, &for_p, CHAIN_ID);
    assert_eq!(
        code(w.net.submit(&signer, link(p, for_p, Some(approval)))),
        "proof_reused"
    );
    // A wallet links to one profile only.
    let fresh = wallet_proof(&wallet, &q, CHAIN_ID, Uuid::new_v4());
    assert_eq!(
        code(w.net.submit(&signer, link(q, fresh, None))),
        "wallet_taken"
    );
    // Unknown profile.
    let nobody = Uuid::new_v4();
    let proof = wallet_proof(
        &SigningKey::generate_evm(),
        &nobody,
        CHAIN_ID,
        Uuid::new_v4(),
    );
    assert_eq!(
        code(w.net.submit(&signer, link(nobody, proof, None))),
        "not_found"
    );
}

// ----- only the user controls their profile ---------------------------------------------

/// The attack: an inserter links a key of its own to someone else's profile, then signs as
/// that user (reads the profile, rotates its key to one it holds).
#[test]
fn an_inserter_cannot_link_a_key_of_its_own_to_a_profile_that_has_a_wallet() {
    let mut w = world();
    let original = w.issue("urn:vc:victim");
    let mallory = w.net.add_issuer("Mallory KYC");
    for inserter in [mallory.signer(), w.issuer.signer()] {
        let key = SigningKey::generate_evm();
        let proof = wallet_proof(&key, &w.alice.id, CHAIN_ID, Uuid::new_v4());
        assert_eq!(
            code(w.net.submit(
                &inserter,
                UpsertWalletAsInserter {
                    user_id: w.alice.id,
                    wallet: proof,
                    approval: None,
                }
            )),
            "wallet_approval_required"
        );
        // Nor does an approval signed by the attacker's own key (or another profile's wallet).
        let proof = wallet_proof(&key, &w.alice.id, CHAIN_ID, Uuid::new_v4());
        let own = wallet_approval(&key, &w.alice.id, &proof, CHAIN_ID);
        assert_eq!(
            code(w.net.submit(
                &inserter,
                UpsertWalletAsInserter {
                    user_id: w.alice.id,
                    wallet: proof,
                    approval: Some(own),
                }
            )),
            "unauthorized"
        );
        // The key has no profile: it cannot read Alice's data nor rotate her key.
        assert_eq!(
            code(w.net.read(&key, Query::GetCredentials { page: first() })),
            "no_profile"
        );
        let garbage = ReencryptedCredential {
            id: original,
            content: vec![0; 64].into(),
            encryptor_public_key: EncryptionSecretKey::generate().public_key(),
        };
        assert_eq!(
            code(w.net.submit(
                &key,
                RotateEncryptionKey {
                    recipient_encryption_public_key: EncryptionSecretKey::generate().public_key(),
                    encryption_password_store: PasswordStore::User,
                    originals: vec![garbage],
                }
            )),
            "no_profile"
        );
    }
    match w.net.read(&w.alice.wallet, Query::GetUser).unwrap() {
        QueryOutput::User(u) => assert_eq!(u.recipient_encryption_public_key, w.alice.public_key()),
        other => panic!("{other:?}"),
    }
    assert_eq!(wallet_count(&w, &w.alice.wallet), 1);
}

fn wallet_count(w: &World, signer: &SigningKey) -> usize {
    match w
        .net
        .read(signer, Query::GetWallets { page: first() })
        .unwrap()
    {
        QueryOutput::Wallets(ws) => ws.items.len(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_inserter_links_another_wallet_with_the_approval_of_one_of_the_profiles_wallets() {
    let mut w = world();
    let bob = w.net.add_user(&w.issuer, false);
    let phone = SigningKey::generate_ed25519();
    let proof = wallet_proof(&phone, &w.alice.id, CHAIN_ID, Uuid::new_v4());
    let link = |approval| UpsertWalletAsInserter {
        user_id: w.alice.id,
        wallet: proof.clone(),
        approval: Some(approval),
    };
    // Approved by a wallet of another profile, or signed for another proof or chain: refused.
    let by_bob = wallet_approval(&bob.wallet, &w.alice.id, &proof, CHAIN_ID);
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), link(by_bob))),
        "unauthorized"
    );
    let other_proof = wallet_proof(&phone, &w.alice.id, CHAIN_ID, Uuid::new_v4());
    let wrong_proof = wallet_approval(&w.alice.wallet, &w.alice.id, &other_proof, CHAIN_ID);
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), link(wrong_proof))),
        "bad_signature"
    );
    let wrong_chain = wallet_approval(&w.alice.wallet, &w.alice.id, &proof, "idos-other");
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), link(wrong_chain))),
        "bad_signature"
    );
    // The node tells clients what to sign.
    let message = w
        .net
        .query(&SignedQuery::anonymous(
            CHAIN_ID,
            Query::WalletApprovalMessage {
                user_id: w.alice.id,
                approver: w.alice.wallet.identity(),
                new_wallet: phone.identity(),
                proof_nonce: proof.nonce,
            },
        ))
        .unwrap()
        .output;
    let signature: protocol::bytes::Bytes = match message {
        QueryOutput::Message(text) => w.alice.wallet.sign(text.as_bytes()).into(),
        other => panic!("{other:?}"),
    };
    let approval = protocol::wallet::WalletApproval {
        approver: w.alice.wallet.identity(),
        signature,
    };
    // Any inserter may carry the user's approval.
    let other = w.net.add_issuer("Other KYC");
    w.net.submit(&other.signer(), link(approval)).unwrap();
    assert_eq!(wallet_count(&w, &phone), 2);
}

#[test]
fn the_first_wallet_of_a_profile_is_linked_by_the_inserter_that_created_it() {
    let mut w = world();
    let fresh = w.bare_profile();
    let mallory = w.net.add_issuer("Mallory KYC");
    let key = SigningKey::generate_evm();
    let link = |key: &SigningKey| UpsertWalletAsInserter {
        user_id: fresh,
        wallet: wallet_proof(key, &fresh, CHAIN_ID, Uuid::new_v4()),
        approval: None,
    };
    assert_eq!(
        code(w.net.submit(&mallory.signer(), link(&key))),
        "unauthorized"
    );
    assert_eq!(code(w.net.read(&key, Query::GetUser)), "no_profile");
    w.net.submit(&w.issuer.signer(), link(&key)).unwrap();
    assert!(matches!(
        w.net.read(&key, Query::GetUser),
        Ok(QueryOutput::User(_))
    ));
}

/// The attack: upsert a wallet row id the user has, with another address. idOS's upsert
/// replaces the row, unlinking the wallet the user signs with.
#[test]
fn upserting_a_wallet_id_the_user_has_is_refused_and_the_wallet_stays() {
    let mut w = world();
    let alices_wallet_id = match w
        .net
        .read(&w.alice.wallet, Query::GetWallets { page: first() })
        .unwrap()
    {
        QueryOutput::Wallets(ws) => ws.items[0].id,
        other => panic!("{other:?}"),
    };
    let new = SigningKey::generate_ed25519();
    let proof = wallet_proof(&new, &w.alice.id, CHAIN_ID, alices_wallet_id);
    let approval = wallet_approval(&w.alice.wallet, &w.alice.id, &proof, CHAIN_ID);
    assert_eq!(
        code(w.net.submit(
            &w.issuer.signer(),
            UpsertWalletAsInserter {
                user_id: w.alice.id,
                wallet: proof.clone(),
                approval: Some(approval),
            }
        )),
        "already_exists"
    );
    // Nor through add_wallet.
    assert_eq!(
        code(w.net.submit(&w.alice.wallet, AddWallet { wallet: proof })),
        "already_exists"
    );
    assert!(matches!(
        w.net.read(&w.alice.wallet, Query::GetUser),
        Ok(QueryOutput::User(_))
    ));
    assert_eq!(code(w.net.read(&new, Query::GetUser)), "no_profile");
}

/// The attack: the issuer revokes a credential (new public notes); the owner writes the
/// original credential again, with its valid signatures, to show "active" once more.
#[test]
fn an_issuers_revocation_survives_the_owner_writing_the_original_notes_again() {
    let mut w = world();
    let vc = "urn:vc:revoked";
    let signed = credential_input(
        &w.issuer.key,
        &public_notes(vc, "active"),
        &plaintext(vc),
        &w.alice.public_key(),
    );
    let id = Uuid::new_v4();
    w.net
        .submit(
            &w.issuer.signer(),
            UpsertCredentialAsInserter {
                id,
                user_id: w.alice.id,
                credential: signed.clone(),
            },
        )
        .unwrap();
    let revoked = public_notes(vc, "revoked");
    w.net
        .submit(
            &w.issuer.signer(),
            EditPublicNotesAsIssuer {
                public_notes_id: vc.into(),
                public_notes: revoked.clone(),
            },
        )
        .unwrap();
    let notes_of = |w: &World, id: Uuid| match w
        .net
        .read(&w.alice.wallet, Query::GetCredentialOwned { id })
        .unwrap()
    {
        QueryOutput::Credential(c) => c.public_notes,
        other => panic!("{other:?}"),
    };
    assert_eq!(notes_of(&w, id), revoked);
    // Replay with edit_credential.
    w.net
        .submit(
            &w.alice.wallet,
            EditCredential {
                id,
                credential: signed.clone(),
            },
        )
        .unwrap();
    assert_eq!(notes_of(&w, id), revoked);
    // Replay as a new credential.
    let again = Uuid::new_v4();
    w.net
        .submit(
            &w.alice.wallet,
            AddCredential {
                id: again,
                credential: signed.clone(),
            },
        )
        .unwrap();
    assert_eq!(notes_of(&w, again), revoked);
    // Delete and write it again under the same id.
    w.net
        .submit(&w.alice.wallet, RemoveCredential { id })
        .unwrap();
    w.net
        .submit(
            &w.alice.wallet,
            AddCredential {
                id,
                credential: signed,
            },
        )
        .unwrap();
    assert_eq!(notes_of(&w, id), revoked);
    // The list and a grantee's view say so too.
    let listed = credentials(
        w.net
            .read(&w.alice.wallet, Query::GetCredentials { page: first() })
            .unwrap(),
    );
    assert!(
        listed.iter().all(|c| c.public_notes == revoked),
        "{listed:?}"
    );
    let (grantee, _, copy_id, _) = w.share(again, vc, 0);
    match w
        .net
        .read(&grantee, Query::GetCredentialShared { id: copy_id })
        .unwrap()
    {
        QueryOutput::Credential(c) => assert_eq!(c.public_notes, revoked),
        other => panic!("{other:?}"),
    }
}

#[test]
fn inserter_upserts_credentials_of_the_same_user_only() {
    let mut w = world();
    let id = w.issue("urn:vc:1");
    // Refresh by the same inserter.
    let credential = credential_input(
        &w.issuer.key,
        &public_notes("urn:vc:1", "renewed"),
        b"v2",
        &w.alice.public_key(),
    );
    w.net
        .submit(
            &w.issuer.signer(),
            UpsertCredentialAsInserter {
                id,
                user_id: w.alice.id,
                credential: credential.clone(),
            },
        )
        .unwrap();
    let bob = w.net.add_user(&w.issuer, false);
    assert_eq!(
        code(w.net.submit(
            &w.issuer.signer(),
            UpsertCredentialAsInserter {
                id,
                user_id: bob.id,
                credential
            }
        )),
        "already_exists"
    );
    assert_eq!(
        w.net
            .read(&w.issuer.signer(), Query::CredentialExistAsInserter { id })
            .unwrap(),
        QueryOutput::Bool(true)
    );
    assert_eq!(
        w.net
            .read(
                &w.issuer.signer(),
                Query::CredentialExistAsInserter { id: Uuid::new_v4() }
            )
            .unwrap(),
        QueryOutput::Bool(false)
    );
}

#[test]
fn credentials_with_a_bad_signature_are_refused_before_they_reach_a_block() {
    let mut w = world();
    let mut credential = credential_input(
        &w.issuer.key,
        &public_notes("urn:vc:1", "active"),
        b"x",
        &w.alice.public_key(),
    );
    credential.public_notes.push(' ');
    let action = UpsertCredentialAsInserter {
        id: Uuid::new_v4(),
        user_id: w.alice.id,
        credential,
    };
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), action.clone())),
        "bad_signature"
    );
    // And if a proposer includes it anyway, the block refuses it.
    let stx = w.net.sign(&w.issuer.signer(), action);
    let outcome = w.net.block(vec![stx.encode()]).remove(0);
    assert_eq!(code(outcome.result), "bad_signature");
}

#[test]
fn inserter_adds_attributes() {
    let mut w = world();
    let id = Uuid::new_v4();
    let add = |id| AddAttributeAsInserter {
        id,
        user_id: w.alice.id,
        attribute_key: "country".into(),
        value: "PT".into(),
    };
    w.net.submit(&w.issuer.signer(), add(id)).unwrap();
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), add(id))),
        "already_exists"
    );
    match w
        .net
        .read(&w.alice.wallet, Query::GetAttributes { page: first() })
        .unwrap()
    {
        QueryOutput::Attributes(Page { items: a, .. }) => {
            assert_eq!((a.len(), a[0].inserter.as_deref()), (1, Some("Acme KYC")))
        }
        other => panic!("{other:?}"),
    }
}

// ----- users -----------------------------------------------------------------------------

#[test]
fn a_wallet_without_a_profile_gets_no_profile() {
    let w = world();
    let stranger = SigningKey::generate_evm();
    assert_eq!(code(w.net.read(&stranger, Query::GetUser)), "no_profile");
    assert_eq!(
        w.net
            .query(&SignedQuery::anonymous(
                CHAIN_ID,
                Query::HasProfile {
                    address: stranger.identity()
                }
            ))
            .unwrap()
            .output,
        QueryOutput::Bool(false)
    );
    assert_eq!(
        w.net
            .query(&SignedQuery::anonymous(
                CHAIN_ID,
                Query::HasProfile {
                    address: w.alice.wallet.identity()
                }
            ))
            .unwrap()
            .output,
        QueryOutput::Bool(true)
    );
}

#[test]
fn users_add_list_and_remove_wallets_but_not_the_one_they_sign_with() {
    let mut w = world();
    let second = SigningKey::generate_ed25519();
    let proof = wallet_proof(&second, &w.alice.id, CHAIN_ID, Uuid::new_v4());
    let second_id = proof.id;
    w.net
        .submit(&w.alice.wallet, AddWallet { wallet: proof })
        .unwrap();
    let wallets = match w
        .net
        .read(&second, Query::GetWallets { page: first() })
        .unwrap()
    {
        QueryOutput::Wallets(ws) => ws.items,
        other => panic!("{other:?}"),
    };
    assert_eq!(wallets.len(), 2);
    let first_id = wallets
        .iter()
        .find(|x| x.address == w.alice.wallet.identity())
        .unwrap()
        .id;
    assert_eq!(
        code(w.net.submit(&second, RemoveWallet { id: second_id })),
        "connected_wallet"
    );
    // Bob cannot remove Alice's wallet.
    let bob = w.net.add_user(&w.issuer, false);
    assert_eq!(
        code(w.net.submit(&bob.wallet, RemoveWallet { id: first_id })),
        "not_found"
    );
    w.net
        .submit(&second, RemoveWallet { id: first_id })
        .unwrap();
    assert_eq!(
        code(w.net.read(&w.alice.wallet, Query::GetUser)),
        "no_profile"
    );
}

#[test]
fn users_add_edit_and_remove_their_credentials() {
    let mut w = world();
    let id = Uuid::new_v4();
    let credential = credential_input(
        &w.issuer.key,
        &public_notes("urn:vc:9", "active"),
        b"mine",
        &w.alice.public_key(),
    );
    w.net
        .submit(
            &w.alice.wallet,
            AddCredential {
                id,
                credential: credential.clone(),
            },
        )
        .unwrap();
    assert_eq!(
        code(w.net.submit(
            &w.alice.wallet,
            AddCredential {
                id,
                credential: credential.clone()
            }
        )),
        "already_exists"
    );
    let listed = credentials(
        w.net
            .read(&w.alice.wallet, Query::GetCredentials { page: first() })
            .unwrap(),
    );
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].inserter, None);
    let edited = credential_input(
        &w.issuer.key,
        &public_notes("urn:vc:9", "active"),
        b"mine v2",
        &w.alice.public_key(),
    );
    w.net
        .submit(
            &w.alice.wallet,
            EditCredential {
                id,
                credential: edited,
            },
        )
        .unwrap();
    match w
        .net
        .read(&w.alice.wallet, Query::GetCredentialOwned { id })
        .unwrap()
    {
        QueryOutput::Credential(c) => {
            assert_eq!(
                &decrypt(&c.content, &c.encryptor_public_key, &w.alice.secret).unwrap()[..],
                b"mine v2"
            )
        }
        other => panic!("{other:?}"),
    }
    let bob = w.net.add_user(&w.issuer, false);
    assert_eq!(
        code(w.net.read(&bob.wallet, Query::GetCredentialOwned { id })),
        "not_found"
    );
    assert_eq!(
        code(w.net.submit(&bob.wallet, RemoveCredential { id })),
        "not_found"
    );
    assert_eq!(
        code(w.net.submit(&bob.wallet, EditCredential { id, credential })),
        "not_found"
    );
    w.net
        .submit(&w.alice.wallet, RemoveCredential { id })
        .unwrap();
    assert!(
        credentials(
            w.net
                .read(&w.alice.wallet, Query::GetCredentials { page: first() })
                .unwrap()
        )
        .is_empty()
    );
}

#[test]
fn sharing_creates_a_copy_and_a_grant_the_grantee_can_read_and_decrypt() {
    let mut w = world();
    let original = w.issue("urn:vc:share");
    let (grantee, grantee_secret, copy_id, grant_id) = w.share(original, "urn:vc:share", 0);
    let copy = match w
        .net
        .read(&grantee, Query::GetCredentialShared { id: copy_id })
        .unwrap()
    {
        QueryOutput::Credential(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(copy.original_id, Some(original));
    assert_eq!(
        copy.public_notes,
        public_notes("urn:vc:share", "active"),
        "copies carry the original's public notes"
    );
    let plain = decrypt(&copy.content, &copy.encryptor_public_key, &grantee_secret).unwrap();
    assert_eq!(&plain[..], &plaintext("urn:vc:share")[..]);
    let given = grants(
        w.net
            .read(
                &w.alice.wallet,
                Query::GetAccessGrantsOwned { page: first() },
            )
            .unwrap(),
    );
    assert_eq!(given.len(), 1);
    assert_eq!(given[0].id, grant_id);
    assert_eq!(
        given[0].content_hash,
        content_hash(&plaintext("urn:vc:share"))
    );
    // Nobody else reads the copy.
    assert_eq!(
        code(w.net.read(
            &SigningKey::generate_evm(),
            Query::GetCredentialShared { id: copy_id }
        )),
        "not_found"
    );
    assert_eq!(
        code(
            w.net
                .read(&w.alice.wallet, Query::GetCredentialShared { id: copy_id })
        ),
        "not_found"
    );
}

#[test]
fn sharing_refuses_copies_public_notes_foreign_originals_and_duplicate_grants() {
    let mut w = world();
    let original = w.issue("urn:vc:a");
    let (grantee, _, copy_id, _) = w.share(original, "urn:vc:a", 0);
    let key = EncryptionSecretKey::generate().public_key();
    let signer = Ed25519SigningKey::generate();
    // Sharing a copy.
    let of_copy = share_action(&signer, copy_id, b"x", grantee.identity(), &key, 0);
    assert_eq!(
        code(w.net.submit(&w.alice.wallet, of_copy)),
        "credential_is_copy"
    );
    // Copies carry no public notes.
    let mut with_notes = share_action(&signer, original, b"x", grantee.identity(), &key, 0);
    with_notes.copy = credential_input(&signer, "{}", b"x", &key);
    assert_eq!(
        code(w.net.submit(&w.alice.wallet, with_notes)),
        "copy_has_public_notes"
    );
    // Someone else's original.
    let bob = w.net.add_user(&w.issuer, false);
    let foreign = share_action(&signer, original, b"x", grantee.identity(), &key, 0);
    assert_eq!(code(w.net.submit(&bob.wallet, foreign)), "not_found");
    // The same copy id again (same grantee and lock give the same grant id).
    let mut again = share_action(&signer, original, b"x", grantee.identity(), &key, 0);
    again.id = copy_id;
    assert_eq!(code(w.net.submit(&w.alice.wallet, again)), "already_exists");
}

/// idOS's rule ("forbidden if any grant points at it") never fires for an original, since
/// grants point at copies; here an original with copies cannot be rewritten, because a
/// grantee reads its copy with the original's public notes.
#[test]
fn shared_credentials_cannot_be_edited_nor_copies_edited() {
    let mut w = world();
    let original = w.issue("urn:vc:e");
    let (grantee, _, copy_id, grant_id) = w.share(original, "urn:vc:e", 0);
    let other_notes = credential_input(
        &w.issuer.key,
        &public_notes("urn:vc:other", "active"),
        b"y",
        &w.alice.public_key(),
    );
    let edit = |id| EditCredential {
        id,
        credential: other_notes.clone(),
    };
    assert_eq!(
        code(w.net.submit(&w.alice.wallet, edit(copy_id))),
        "credential_is_copy"
    );
    assert_eq!(
        code(w.net.submit(&w.alice.wallet, edit(original))),
        "credential_shared"
    );
    let upsert = UpsertCredentialAsInserter {
        id: original,
        user_id: w.alice.id,
        credential: other_notes.clone(),
    };
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), upsert.clone())),
        "credential_shared"
    );
    // The grantee still reads the notes it was shown; revoking the grant leaves the copy, so
    // the original stays shared.
    let notes = |w: &World| match w
        .net
        .read(&grantee, Query::GetCredentialShared { id: copy_id })
        .unwrap()
    {
        QueryOutput::Credential(c) => c.public_notes,
        other => panic!("{other:?}"),
    };
    assert_eq!(notes(&w), public_notes("urn:vc:e", "active"));
    w.net
        .submit(&w.alice.wallet, RevokeAccessGrant { id: grant_id })
        .unwrap();
    assert_eq!(
        code(w.net.submit(&w.alice.wallet, edit(original))),
        "credential_shared"
    );
    // Once the copy is gone, the original is the user's alone again.
    w.net
        .submit(&w.alice.wallet, RemoveCredential { id: copy_id })
        .unwrap();
    w.net.submit(&w.alice.wallet, edit(original)).unwrap();
    w.net.submit(&w.issuer.signer(), upsert).unwrap();
}

/// An original deleted while copies of it remain keeps its id: nothing new takes it over
/// (the copies name it, and lock entries under it stay until their grants go).
#[test]
fn the_id_of_a_deleted_shared_original_is_never_used_again() {
    let mut w = world();
    let shared = w.issue("urn:vc:s");
    let alone = w.issue("urn:vc:a");
    w.share(shared, "urn:vc:s", 0);
    for id in [shared, alone] {
        w.net
            .submit(&w.alice.wallet, RemoveCredential { id })
            .unwrap();
    }
    let credential = credential_input(
        &w.issuer.key,
        &public_notes("urn:vc:n", "active"),
        b"n",
        &w.alice.public_key(),
    );
    let add = |id| AddCredential {
        id,
        credential: credential.clone(),
    };
    assert_eq!(
        code(w.net.submit(&w.alice.wallet, add(shared))),
        "already_exists"
    );
    assert_eq!(
        code(w.net.submit(
            &w.issuer.signer(),
            UpsertCredentialAsInserter {
                id: shared,
                user_id: w.alice.id,
                credential: credential.clone()
            }
        )),
        "already_exists"
    );
    let mut as_copy = share_action(
        &Ed25519SigningKey::generate(),
        w.issue("urn:vc:t"),
        b"t",
        SigningKey::generate_evm().identity(),
        &EncryptionSecretKey::generate().public_key(),
        0,
    );
    as_copy.id = shared;
    assert_eq!(
        code(w.net.submit(&w.alice.wallet, as_copy)),
        "already_exists"
    );
    let now = w.net.time;
    let mut by_grant = dwg(&w, &w.issuer.key, now - 10, now + 3600, CHAIN_ID);
    by_grant.action.original_id = shared;
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), by_grant.action)),
        "already_exists"
    );
    // An original that was never shared leaves its id free, as in idOS.
    w.net.submit(&w.alice.wallet, add(alone)).unwrap();
}

#[test]
fn revoking_waits_for_the_time_lock() {
    let mut w = world();
    let original = w.issue("urn:vc:r");
    let lock = w.net.time + 100;
    let (_, _, _, grant_id) = w.share(original, "urn:vc:r", lock);
    assert_eq!(
        code(
            w.net
                .submit(&w.alice.wallet, RevokeAccessGrant { id: grant_id })
        ),
        "grant_locked"
    );
    let bob = w.net.add_user(&w.issuer, false);
    assert_eq!(
        code(
            w.net
                .submit(&bob.wallet, RevokeAccessGrant { id: grant_id })
        ),
        "not_found"
    );
    w.net.time = lock + 1;
    w.net
        .submit(&w.alice.wallet, RevokeAccessGrant { id: grant_id })
        .unwrap();
    assert!(
        grants(
            w.net
                .read(
                    &w.alice.wallet,
                    Query::GetAccessGrantsOwned { page: first() }
                )
                .unwrap()
        )
        .is_empty()
    );
    assert_eq!(
        code(
            w.net
                .submit(&w.alice.wallet, RevokeAccessGrant { id: grant_id })
        ),
        "not_found"
    );
}

/// idOS checks only the original's own grants, which never exist (grants point at copies).
#[test]
fn an_original_cannot_be_deleted_while_a_grant_on_any_copy_is_locked() {
    let mut w = world();
    let original = w.issue("urn:vc:d");
    let lock = w.net.time + 100;
    let (grantee, _, copy_id, _) = w.share(original, "urn:vc:d", lock);
    assert_eq!(
        w.net
            .read(
                &w.alice.wallet,
                Query::HasLockedAccessGrants { id: original }
            )
            .unwrap(),
        QueryOutput::Bool(true)
    );
    assert_eq!(
        code(
            w.net
                .submit(&w.alice.wallet, RemoveCredential { id: original })
        ),
        "grant_locked"
    );
    assert_eq!(
        code(
            w.net
                .submit(&w.alice.wallet, RemoveCredential { id: copy_id })
        ),
        "grant_locked"
    );
    w.net.time = lock + 1;
    w.net
        .submit(&w.alice.wallet, RemoveCredential { id: original })
        .unwrap();
    // The copy and its grant stay with the grantee, as in idOS.
    assert!(
        w.net
            .read(&grantee, Query::GetCredentialShared { id: copy_id })
            .is_ok()
    );
}

/// `locked_until` 0 is no lock (idOS): such a grant writes no lock entry, locks nothing, and
/// revoking or deleting needs no wait; a locked grant beside it still locks.
#[test]
fn a_grant_without_a_lock_writes_no_lock_entry_and_locks_nothing() {
    use node::state::directory::{List, count_entries};
    let lock_entries =
        |w: &World| count_entries(&**w.net.app.store(), List::LocksOnCredential).unwrap();
    let mut w = world();
    let original = w.issue("urn:vc:u");
    w.share(original, "urn:vc:u", 0);
    assert_eq!(lock_entries(&w), 0);
    let has_locked = |w: &World, id| {
        w.net
            .read(&w.alice.wallet, Query::HasLockedAccessGrants { id })
            .unwrap()
    };
    assert_eq!(has_locked(&w, original), QueryOutput::Bool(false));
    let locked = w.net.time + 100;
    w.share(original, "urn:vc:u", locked);
    // The locked grant's entries: under its copy and under the original.
    assert_eq!(lock_entries(&w), 2);
    assert_eq!(has_locked(&w, original), QueryOutput::Bool(true));
    w.net.time = locked + 1;
    w.net
        .submit(&w.alice.wallet, RemoveCredential { id: original })
        .unwrap();
}

/// Of the grants on an original's copies, the one locked longest decides, however the grants'
/// ids sort.
#[test]
fn the_latest_lock_among_an_originals_copies_decides() {
    for short_grant_sorts_first in [true, false] {
        let mut w = world();
        let original = w.issue("urn:vc:l");
        let now = w.net.time;
        let (short, long) = (now + 5, now + 1000);
        let key = EncryptionSecretKey::generate().public_key();
        let grantee = SigningKey::generate_evm();
        let share = |lock| {
            share_action(
                &Ed25519SigningKey::generate(),
                original,
                &plaintext("urn:vc:l"),
                grantee.identity(),
                &key,
                lock,
            )
        };
        let grant_id = |a: &ShareCredential| {
            access_grant_id(&grantee.identity().identifier(), &a.id, a.locked_until)
        };
        let (a, b) = loop {
            let (a, b) = (share(short), share(long));
            if (grant_id(&a) < grant_id(&b)) == short_grant_sorts_first {
                break (a, b);
            }
        };
        let long_grant = grant_id(&b);
        w.net.submit(&w.alice.wallet, a).unwrap();
        w.net.submit(&w.alice.wallet, b).unwrap();
        // Reads see the last block's time: an empty block moves it on.
        w.net.time = short + 10;
        w.net.block(vec![]);
        assert_eq!(
            w.net
                .read(
                    &w.alice.wallet,
                    Query::HasLockedAccessGrants { id: original }
                )
                .unwrap(),
            QueryOutput::Bool(true)
        );
        match w
            .net
            .submit(&w.alice.wallet, RemoveCredential { id: original })
        {
            Err(node::error::NodeError::GrantLocked {
                grant,
                locked_until,
            }) => assert_eq!((grant, locked_until), (long_grant, long)),
            other => panic!("{other:?}"),
        }
        w.net.time = long + 1;
        w.net.block(vec![]);
        assert_eq!(
            w.net
                .read(
                    &w.alice.wallet,
                    Query::HasLockedAccessGrants { id: original }
                )
                .unwrap(),
            QueryOutput::Bool(false)
        );
        w.net
            .submit(&w.alice.wallet, RemoveCredential { id: original })
            .unwrap();
    }
}

#[test]
fn users_manage_attributes_and_cannot_edit_shared_copies() {
    let mut w = world();
    let id = Uuid::new_v4();
    let alice = w.alice.wallet.clone();
    w.net
        .submit(
            &alice,
            AddAttribute {
                id,
                attribute_key: "email".into(),
                value: "a@example.com".into(),
            },
        )
        .unwrap();
    assert_eq!(
        code(w.net.submit(
            &alice,
            AddAttribute {
                id,
                attribute_key: "email".into(),
                value: "x".into()
            }
        )),
        "already_exists"
    );
    w.net
        .submit(
            &alice,
            EditAttribute {
                id,
                attribute_key: "email".into(),
                value: "b@example.com".into(),
            },
        )
        .unwrap();
    let copy = Uuid::new_v4();
    w.net
        .submit(
            &alice,
            ShareAttribute {
                id: copy,
                original_attribute_id: id,
                attribute_key: "email".into(),
                value: "enc".into(),
            },
        )
        .unwrap();
    assert_eq!(
        code(w.net.submit(
            &alice,
            EditAttribute {
                id: copy,
                attribute_key: "email".into(),
                value: "z".into()
            }
        )),
        "attribute_is_copy"
    );
    let bob = w.net.add_user(&w.issuer, false);
    assert_eq!(
        code(w.net.submit(&bob.wallet, RemoveAttribute { id })),
        "not_found"
    );
    assert_eq!(
        code(w.net.submit(
            &bob.wallet,
            ShareAttribute {
                id: Uuid::new_v4(),
                original_attribute_id: id,
                attribute_key: "k".into(),
                value: "v".into()
            }
        )),
        "not_found"
    );
    w.net.submit(&alice, RemoveAttribute { id }).unwrap();
    match w
        .net
        .read(&alice, Query::GetAttributes { page: first() })
        .unwrap()
    {
        QueryOutput::Attributes(Page { items: a, .. }) => {
            assert_eq!(a.iter().map(|a| a.id).collect::<Vec<_>>(), vec![copy])
        }
        other => panic!("{other:?}"),
    }
}

// ----- key rotation (the user alone, every original once) ------------------------------

fn reencrypt_all(
    w: &mut World,
    to: &EncryptionSecretKey,
    ids: &[Uuid],
) -> Vec<ReencryptedCredential> {
    ids.iter()
        .map(|id| {
            let c = match w
                .net
                .read(&w.alice.wallet, Query::GetCredentialOwned { id: *id })
                .unwrap()
            {
                QueryOutput::Credential(c) => c,
                other => panic!("{other:?}"),
            };
            let plain = decrypt(&c.content, &c.encryptor_public_key, &w.alice.secret).unwrap();
            let sealed = protocol::nacl_box::encrypt(&plain, &to.public_key()).unwrap();
            ReencryptedCredential {
                id: *id,
                content: sealed.content.into(),
                encryptor_public_key: sealed.encryptor_public_key,
            }
        })
        .collect()
}

#[test]
fn the_user_rotates_the_key_and_every_original_in_one_transaction() {
    let mut w = world();
    let a = w.issue("urn:vc:1");
    let b = w.issue("urn:vc:2");
    let (_, _, copy_id, _) = w.share(a, "urn:vc:1", 0);
    let new_key = EncryptionSecretKey::generate();
    let originals = reencrypt_all(&mut w, &new_key, &[a, b]);
    let rotate = |originals| RotateEncryptionKey {
        recipient_encryption_public_key: new_key.public_key(),
        encryption_password_store: PasswordStore::User,
        originals,
    };
    // Missing one original.
    assert_eq!(
        code(
            w.net
                .submit(&w.alice.wallet, rotate(originals[..1].to_vec()))
        ),
        "rotation_incomplete"
    );
    // Listing one twice.
    assert_eq!(
        code(w.net.submit(
            &w.alice.wallet,
            rotate(vec![originals[0].clone(), originals[0].clone()])
        )),
        "rotation_incomplete"
    );
    // Including a copy.
    let mut with_copy = originals.clone();
    with_copy.push(ReencryptedCredential {
        id: copy_id,
        ..originals[0].clone()
    });
    assert_eq!(
        code(w.net.submit(&w.alice.wallet, rotate(with_copy))),
        "rotation_incomplete"
    );
    // As many ids as she has originals, but one is a copy, or someone else's original.
    let mut copy_for_original = originals.clone();
    copy_for_original[1].id = copy_id;
    assert_eq!(
        code(w.net.submit(&w.alice.wallet, rotate(copy_for_original))),
        "rotation_incomplete"
    );
    let bob = w.net.add_user(&w.issuer, false);
    let bobs = Uuid::new_v4();
    let bobs_credential = credential_input(
        &w.issuer.key,
        &public_notes("urn:vc:bob", "active"),
        b"bob",
        &bob.public_key(),
    );
    w.net
        .submit(
            &w.issuer.signer(),
            UpsertCredentialAsInserter {
                id: bobs,
                user_id: bob.id,
                credential: bobs_credential,
            },
        )
        .unwrap();
    let mut foreign = originals.clone();
    foreign[1].id = bobs;
    assert_eq!(
        code(w.net.submit(&w.alice.wallet, rotate(foreign))),
        "rotation_incomplete"
    );
    // Issuers cannot rotate a user's key (they have no profile to rotate).
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), rotate(originals.clone()))),
        "no_profile"
    );
    w.net.submit(&w.alice.wallet, rotate(originals)).unwrap();
    match w.net.read(&w.alice.wallet, Query::GetUser).unwrap() {
        QueryOutput::User(u) => assert_eq!(u.recipient_encryption_public_key, new_key.public_key()),
        other => panic!("{other:?}"),
    }
    for id in [a, b] {
        let c = match w
            .net
            .read(&w.alice.wallet, Query::GetCredentialOwned { id })
            .unwrap()
        {
            QueryOutput::Credential(c) => c,
            other => panic!("{other:?}"),
        };
        assert!(decrypt(&c.content, &c.encryptor_public_key, &new_key).is_ok());
        assert!(decrypt(&c.content, &c.encryptor_public_key, &w.alice.secret).is_err());
    }
}

// ----- grantees --------------------------------------------------------------------------

/// Every page of a grantee's grants, read with `limit` and the cursors, as (grant ids, the
/// size of each page).
fn all_pages(
    w: &World,
    grantee: &SigningKey,
    user_id: Option<Uuid>,
    limit: u32,
) -> (Vec<Uuid>, Vec<usize>) {
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    let mut page = PageRequest::first(limit);
    loop {
        let out = match w
            .net
            .read(grantee, Query::GetAccessGrantsGranted { user_id, page })
            .unwrap()
        {
            QueryOutput::AccessGrants(p) => p,
            other => panic!("{other:?}"),
        };
        sizes.push(out.items.len());
        ids.extend(out.items.iter().map(|g| g.id));
        match out.next_cursor {
            Some(cursor) => page = PageRequest::after(cursor, limit),
            None => return (ids, sizes),
        }
    }
}

#[test]
fn grantees_list_count_and_page_grants_by_height_then_id() {
    let mut w = world();
    let bob = w.net.add_user(&w.issuer, false);
    let grantee = SigningKey::generate_ed25519();
    let key = EncryptionSecretKey::generate().public_key();
    let share = |original: Uuid, vc: &str| {
        share_action(
            &Ed25519SigningKey::generate(),
            original,
            &plaintext(vc),
            grantee.identity(),
            &key,
            0,
        )
    };
    let grant_of =
        |a: &ShareCredential| access_grant_id(&grantee.identity().identifier(), &a.id, 0);
    // One block with three of Alice's shares and one of Bob's, sent in descending grant id
    // order (the opposite of the order they must be listed in), then a later block with one
    // more of Alice's.
    let mut alices: Vec<ShareCredential> = (0..3)
        .map(|i| {
            let vc = format!("urn:vc:{i}");
            let original = w.issue(&vc);
            share(original, &vc)
        })
        .collect();
    alices.sort_by_key(|a| std::cmp::Reverse(grant_of(a)));
    let bobs_original = Uuid::new_v4();
    let bobs_credential = credential_input(
        &w.issuer.key,
        &public_notes("urn:vc:bob", "active"),
        &plaintext("urn:vc:bob"),
        &bob.public_key(),
    );
    w.net
        .submit(
            &w.issuer.signer(),
            UpsertCredentialAsInserter {
                id: bobs_original,
                user_id: bob.id,
                credential: bobs_credential,
            },
        )
        .unwrap();
    let bobs = share(bobs_original, "urn:vc:bob");
    let first_nonce = w.net.sign(&w.alice.wallet, alices[0].clone()).tx.nonce;
    let mut block: Vec<Vec<u8>> = alices
        .iter()
        .enumerate()
        .map(|(i, a)| {
            w.net
                .sign_with_nonce(&w.alice.wallet, a.clone(), first_nonce + i as u64)
                .encode()
        })
        .collect();
    block.insert(1, w.net.sign(&bob.wallet, bobs.clone()).encode());
    let outcomes = w.net.block(block);
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    let later = {
        let original = w.issue("urn:vc:later");
        share(original, "urn:vc:later")
    };
    w.net.submit(&w.alice.wallet, later.clone()).unwrap();

    let mut same_block: Vec<Uuid> = alices.iter().map(grant_of).collect();
    same_block.push(grant_of(&bobs));
    same_block.sort();
    let mut everything = same_block.clone();
    everything.push(grant_of(&later));
    let alices_only: Vec<Uuid> = everything
        .iter()
        .copied()
        .filter(|id| *id != grant_of(&bobs))
        .collect();
    assert_eq!(
        all_pages(&w, &grantee, None, 100),
        (everything.clone(), vec![5])
    );
    assert_eq!(
        all_pages(&w, &grantee, None, 2),
        (everything.clone(), vec![2, 2, 1])
    );
    assert_eq!(
        all_pages(&w, &grantee, Some(w.alice.id), 3),
        (alices_only, vec![3, 1])
    );
    assert_eq!(
        all_pages(&w, &grantee, Some(bob.id), 1),
        (vec![grant_of(&bobs)], vec![1])
    );
    assert_eq!(
        all_pages(&w, &grantee, Some(Uuid::new_v4()), 1),
        (vec![], vec![0])
    );
    let count = |w: &World, user_id| {
        w.net
            .read(&grantee, Query::GetAccessGrantsGrantedCount { user_id })
            .unwrap()
    };
    assert_eq!(count(&w, None), QueryOutput::Count(5));
    assert_eq!(count(&w, Some(w.alice.id)), QueryOutput::Count(4));
    assert_eq!(count(&w, Some(bob.id)), QueryOutput::Count(1));
    assert_eq!(count(&w, Some(Uuid::new_v4())), QueryOutput::Count(0));
    // Counts follow revocations.
    w.net
        .submit(
            &bob.wallet,
            RevokeAccessGrant {
                id: grant_of(&bobs),
            },
        )
        .unwrap();
    assert_eq!(count(&w, None), QueryOutput::Count(4));
    assert_eq!(count(&w, Some(bob.id)), QueryOutput::Count(0));
    // A zero or oversized limit is refused at decoding, a cursor of another read by the node.
    for limit in [0, protocol::query::MAX_PAGE_SIZE + 1] {
        assert_eq!(
            code(w.net.read(
                &grantee,
                Query::GetAccessGrantsGranted {
                    user_id: None,
                    page: PageRequest::first(limit),
                }
            )),
            "invalid_field"
        );
    }
    let foreign = protocol::records::Cursor::new(vec![0; 16]).unwrap();
    assert_eq!(
        code(w.net.read(
            &grantee,
            Query::GetAccessGrantsGranted {
                user_id: None,
                page: PageRequest::after(foreign, 2),
            }
        )),
        "invalid_field"
    );
}

#[test]
fn grantees_find_copies_by_credential_owner_issuer_and_content_hash() {
    let mut w = world();
    let original = w.issue("urn:vc:g");
    let (grantee, _, copy_id, grant_id) = w.share(original, "urn:vc:g", 0);
    let for_credential = grants(
        w.net
            .read(
                &grantee,
                Query::GetAccessGrantsForCredential {
                    credential_id: copy_id,
                    page: first(),
                },
            )
            .unwrap(),
    );
    assert_eq!(
        for_credential.iter().map(|g| g.id).collect::<Vec<_>>(),
        vec![grant_id]
    );
    let by_user = |issuer| {
        credentials(
            w.net
                .read(
                    &grantee,
                    Query::GetCredentialsSharedByUser {
                        user_id: w.alice.id,
                        original_issuer_auth_public_key: issuer,
                        page: first(),
                    },
                )
                .unwrap(),
        )
    };
    assert_eq!(by_user(None).len(), 1);
    assert_eq!(by_user(Some(w.issuer.key.public_key())).len(), 1);
    assert!(by_user(Some(Ed25519SigningKey::generate().public_key())).is_empty());
    let hash = content_hash(&plaintext("urn:vc:g"));
    assert_eq!(
        w.net
            .read(
                &grantee,
                Query::GetSiblingCredentialId { content_hash: hash }
            )
            .unwrap(),
        QueryOutput::CredentialId(Some(copy_id))
    );
    assert_eq!(
        w.net
            .read(
                &grantee,
                Query::GetSiblingCredentialId {
                    content_hash: Sha256Digest::from_bytes([0; 32])
                }
            )
            .unwrap(),
        QueryOutput::CredentialId(None)
    );
}

#[test]
fn grantees_rescind_what_was_shared_with_them_only() {
    let mut w = world();
    let original = w.issue("urn:vc:x");
    let (grantee, _, copy_id, _) = w.share(original, "urn:vc:x", 0);
    assert_eq!(
        code(w.net.submit(
            &SigningKey::generate_evm(),
            RescindSharedCredential {
                credential_id: copy_id
            }
        )),
        "not_found"
    );
    w.net
        .submit(
            &grantee,
            RescindSharedCredential {
                credential_id: copy_id,
            },
        )
        .unwrap();
    assert_eq!(
        code(
            w.net
                .read(&grantee, Query::GetCredentialShared { id: copy_id })
        ),
        "not_found"
    );
    let mine = credentials(
        w.net
            .read(&w.alice.wallet, Query::GetCredentials { page: first() })
            .unwrap(),
    );
    assert_eq!(
        mine.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![original]
    );
}

// ----- delegated write grants -----------------------------------------------------------

struct Dwg {
    action: CreateCredentialsByDwg,
    grantee: SigningKey,
}

fn dwg(w: &World, signer: &Ed25519SigningKey, from: i64, to: i64, chain: &str) -> Dwg {
    let grantee = SigningKey::generate_evm();
    let grantee_secret = EncryptionSecretKey::generate();
    let grant = DelegatedWriteGrant {
        owner_wallet_identifier: w.alice.wallet.identity(),
        grantee_wallet_identifier: grantee.identity(),
        issuer_public_key: signer.public_key(),
        id: Uuid::new_v4(),
        access_grant_timelock: format_rfc3339(w.net.time + 1000).unwrap(),
        not_usable_before: format_rfc3339(from).unwrap(),
        not_usable_after: format_rfc3339(to).unwrap(),
    };
    let grant_signature = w
        .alice
        .wallet
        .sign(grant.message(chain).unwrap().as_bytes())
        .into();
    let vc = format!("urn:vc:{}", grant.id);
    let body = plaintext(&vc);
    let action = CreateCredentialsByDwg {
        original_id: Uuid::new_v4(),
        original: credential_input(
            signer,
            &public_notes(&vc, "active"),
            &body,
            &w.alice.public_key(),
        ),
        copy_id: Uuid::new_v4(),
        copy: credential_input(signer, "", &body, &grantee_secret.public_key()),
        content_hash: content_hash(&body),
        grant,
        grant_signature,
    };
    Dwg { action, grantee }
}

#[test]
fn a_delegated_write_grant_writes_original_copy_and_grant_once() {
    let mut w = world();
    let now = w.net.time;
    let d = dwg(&w, &w.issuer.key, now - 10, now + 3600, CHAIN_ID);
    // The server-side canonical message is what the owner signed.
    let message = w
        .net
        .query(&SignedQuery::anonymous(
            CHAIN_ID,
            Query::DwgMessage {
                grant: d.action.grant.clone(),
            },
        ))
        .unwrap();
    assert_eq!(
        message.output,
        QueryOutput::Message(d.action.grant.message(CHAIN_ID).unwrap())
    );
    w.net.submit(&w.issuer.signer(), d.action.clone()).unwrap();
    let owned = credentials(
        w.net
            .read(&w.alice.wallet, Query::GetCredentials { page: first() })
            .unwrap(),
    );
    assert_eq!(owned.len(), 2);
    let granted = grants(
        w.net
            .read(
                &d.grantee,
                Query::GetAccessGrantsGranted {
                    user_id: None,
                    page: first(),
                },
            )
            .unwrap(),
    );
    assert_eq!(granted.len(), 1);
    assert_eq!(granted[0].data_id, d.action.copy_id);
    assert_eq!(granted[0].inserter_id, d.action.grant.id.to_string());
    // Single use, even with fresh credential ids.
    let mut again = d.action.clone();
    again.original_id = Uuid::new_v4();
    again.copy_id = Uuid::new_v4();
    assert_eq!(code(w.net.submit(&w.issuer.signer(), again)), "dwg_used");
}

#[test]
fn delegated_write_grants_are_refused_outside_their_window() {
    let mut w = world();
    let now = w.net.time;
    let expired = dwg(&w, &w.issuer.key, now - 7200, now - 3600, CHAIN_ID);
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), expired.action)),
        "dwg_not_usable"
    );
    let early = dwg(&w, &w.issuer.key, now + 3600, now + 7200, CHAIN_ID);
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), early.action)),
        "dwg_not_usable"
    );
    // Within the 65 s skew is fine.
    let skewed = dwg(&w, &w.issuer.key, now + 30, now + 7200, CHAIN_ID);
    w.net.submit(&w.issuer.signer(), skewed.action).unwrap();
}

#[test]
fn delegated_write_grants_need_the_owners_signature_for_this_chain() {
    let mut w = world();
    let now = w.net.time;
    let other_chain = dwg(&w, &w.issuer.key, now - 10, now + 3600, "idos-other");
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), other_chain.action)),
        "bad_signature"
    );
    let mut forged = dwg(&w, &w.issuer.key, now - 10, now + 3600, CHAIN_ID);
    forged.action.grant_signature = SigningKey::generate_evm().sign(b"x").into();
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), forged.action)),
        "bad_signature"
    );
    let mut bad_date = dwg(&w, &w.issuer.key, now - 10, now + 3600, CHAIN_ID);
    bad_date.action.grant.not_usable_after = "tomorrow".into();
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), bad_date.action)),
        "invalid_timestamp"
    );
}

#[test]
fn delegated_write_grant_issuer_and_signer_must_be_delegates_of_one_inserter() {
    let mut w = world();
    let other = w.net.add_issuer("Other KYC");
    let now = w.net.time;
    // Credential signed by another inserter's delegate, grant names ours.
    let mut mixed = dwg(&w, &w.issuer.key, now - 10, now + 3600, CHAIN_ID);
    let body = plaintext("urn:vc:mixed");
    mixed.action.original = credential_input(
        &other.key,
        &public_notes("urn:vc:mixed", "active"),
        &body,
        &w.alice.public_key(),
    );
    mixed.action.copy = credential_input(
        &other.key,
        "",
        &body,
        &EncryptionSecretKey::generate().public_key(),
    );
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), mixed.action)),
        "dwg_issuer_mismatch"
    );
    // A key that is no delegate at all.
    let rogue = Ed25519SigningKey::generate();
    let d = dwg(&w, &rogue, now - 10, now + 3600, CHAIN_ID);
    assert_eq!(
        code(w.net.submit(&w.issuer.signer(), d.action)),
        "unauthorized"
    );
}

#[test]
fn issuers_edit_public_notes_of_credentials_they_issued() {
    let mut w = world();
    let id = w.issue("urn:vc:notes");
    let revoked = public_notes("urn:vc:notes", "revoked");
    w.net
        .submit(
            &w.issuer.signer(),
            EditPublicNotesAsIssuer {
                public_notes_id: "urn:vc:notes".into(),
                public_notes: revoked.clone(),
            },
        )
        .unwrap();
    let owned = credentials(
        w.net
            .read(&w.alice.wallet, Query::GetCredentials { page: first() })
            .unwrap(),
    );
    assert_eq!(
        owned.iter().find(|c| c.id == id).unwrap().public_notes,
        revoked
    );
    let other = w.net.add_issuer("Other KYC");
    assert_eq!(
        code(w.net.submit(
            &other.signer(),
            EditPublicNotesAsIssuer {
                public_notes_id: "urn:vc:notes".into(),
                public_notes: "{}".into()
            }
        )),
        "not_found"
    );
    assert_eq!(
        code(w.net.submit(
            &w.alice.wallet,
            EditPublicNotesAsIssuer {
                public_notes_id: "urn:vc:notes".into(),
                public_notes: "{}".into()
            }
        )),
        "unauthorized"
    );
}

// ----- transactions ----------------------------------------------------------------------

#[test]
fn replayed_and_skipped_nonces_are_refused() {
    let mut w = world();
    let alice = w.alice.wallet.clone();
    let add = |n: u128| AddAttribute {
        id: Uuid::from_u128(n),
        attribute_key: "k".into(),
        value: "v".into(),
    };
    let stx = w.net.sign(&alice, add(1));
    w.net.submit_signed(&stx).unwrap();
    assert_eq!(code(w.net.submit_signed(&stx)), "bad_nonce");
    let skipped = w.net.sign_with_nonce(&alice, add(2), stx.tx.nonce + 5);
    assert_eq!(code(w.net.submit_signed(&skipped)), "bad_nonce");
    // In a block, too.
    assert_eq!(
        code(w.net.block(vec![stx.encode()]).remove(0).result),
        "bad_nonce"
    );
}

#[test]
fn a_refused_action_still_uses_up_its_nonce() {
    let mut w = world();
    let alice = w.alice.wallet.clone();
    let stx = w.net.sign(&alice, RemoveCredential { id: Uuid::new_v4() });
    assert_eq!(code(w.net.submit_signed(&stx)), "not_found");
    assert_eq!(code(w.net.submit_signed(&stx)), "bad_nonce");
}

#[test]
fn consecutive_nonces_of_one_signer_fit_in_one_block() {
    let mut w = world();
    let alice = w.alice.wallet.clone();
    let first = w.net.sign(
        &alice,
        AddAttribute {
            id: Uuid::new_v4(),
            attribute_key: "a".into(),
            value: "1".into(),
        },
    );
    let second = w.net.sign_with_nonce(
        &alice,
        AddAttribute {
            id: Uuid::new_v4(),
            attribute_key: "b".into(),
            value: "2".into(),
        },
        first.tx.nonce + 1,
    );
    w.net.app.check_tx(&first.encode()).unwrap();
    w.net.app.check_tx(&second.encode()).unwrap();
    // The mempool remembers the first: the same nonce again is refused before a block.
    assert_eq!(
        w.net.app.check_tx(&first.encode()).unwrap_err().code(),
        "bad_nonce"
    );
    let outcomes = w.net.block(vec![first.encode(), second.encode()]);
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
}

#[test]
fn transactions_for_another_chain_are_refused() {
    let mut w = world();
    let mut tx = w
        .net
        .sign(
            &w.alice.wallet,
            AddAttribute {
                id: Uuid::new_v4(),
                attribute_key: "a".into(),
                value: "1".into(),
            },
        )
        .tx;
    tx.chain_id = "idos-other".into();
    let stx = tx.sign(&w.alice.wallet).unwrap();
    assert_eq!(code(w.net.submit_signed(&stx)), "wrong_chain_id");
}

#[test]
fn tampered_transactions_are_refused() {
    let mut w = world();
    let mut stx = w.net.sign(
        &w.alice.wallet,
        AddAttribute {
            id: Uuid::new_v4(),
            attribute_key: "a".into(),
            value: "1".into(),
        },
    );
    stx.tx.action = AddAttribute {
        id: Uuid::new_v4(),
        attribute_key: "a".into(),
        value: "2".into(),
    }
    .into();
    assert_eq!(code(w.net.submit_signed(&stx)), "bad_signature");
    assert_eq!(
        w.net.app.check_tx(b"\x01garbage").unwrap_err().code(),
        "malformed"
    );
    assert_eq!(w.net.app.check_tx(b"").unwrap_err().code(), "malformed");
    assert_eq!(
        code(w.net.block(vec![b"\x07".to_vec()]).remove(0).result),
        "unsupported_version"
    );
}

// ----- reads -----------------------------------------------------------------------------

#[test]
fn reads_carry_the_height_and_app_hash_they_were_read_at() {
    let w = world();
    let answer = w
        .net
        .query(&SignedQuery::signed(
            CHAIN_ID,
            Query::GetUser,
            &w.alice.wallet,
            w.net.time,
        ))
        .unwrap();
    let committed = w.net.app.committed();
    assert_eq!(answer.height, committed.height);
    assert_eq!(answer.app_hash.as_bytes().to_vec(), committed.app_hash);
    assert_eq!(
        code(w.net.app.query(
            "/idos",
            &SignedQuery::anonymous(CHAIN_ID, Query::GetUser).encode(),
            1,
            w.net.time
        )),
        "historical_query"
    );
    assert_eq!(
        code(w.net.app.query("/store", b"", 0, w.net.time)),
        "unknown_path"
    );
}

#[test]
fn private_reads_need_a_caller_signature_or_a_trusted_gateway() {
    let w = world();
    assert_eq!(
        code(
            w.net
                .query(&SignedQuery::anonymous(CHAIN_ID, Query::GetUser))
        ),
        "unauthorized"
    );
    let by_gateway = SignedQuery::attested(
        CHAIN_ID,
        Query::GetUser,
        w.alice.wallet.identity(),
        &w.net.gateway,
        w.net.time,
    );
    assert!(matches!(
        w.net.query(&by_gateway).unwrap().output,
        QueryOutput::User(_)
    ));
    let rogue = Ed25519SigningKey::generate();
    let by_rogue = SignedQuery::attested(
        CHAIN_ID,
        Query::GetUser,
        w.alice.wallet.identity(),
        &rogue,
        w.net.time,
    );
    assert_eq!(code(w.net.query(&by_rogue)), "unauthorized");
    let stale = SignedQuery::signed(CHAIN_ID, Query::GetUser, &w.alice.wallet, w.net.time - 3600);
    assert_eq!(code(w.net.query(&stale)), "invalid_field");
    let other_chain =
        SignedQuery::signed("idos-other", Query::GetUser, &w.alice.wallet, w.net.time);
    assert_eq!(code(w.net.query(&other_chain)), "wrong_chain_id");
    assert_eq!(
        code(w.net.app.query("/idos", b"\x01\xff\xff", 0, w.net.time)),
        "malformed"
    );
}

#[test]
fn a_data_directory_refuses_another_genesis() {
    let dir = TempDir::new().unwrap();
    let net = TestNet::new(dir.path());
    let err = net
        .app
        .init_chain(Genesis {
            chain_id: "idos-other".into(),
            owner: SigningKey::generate_ed25519().identity(),
        })
        .unwrap_err();
    assert_eq!(err.code(), "unauthorized");
    // The same genesis again is fine (CometBFT repeats InitChain after a restart at height 0).
    net.app
        .init_chain(Genesis {
            chain_id: CHAIN_ID.into(),
            owner: net.owner.identity(),
        })
        .unwrap();
}

#[test]
fn fail_a_data_directory_whose_state_tree_is_in_an_earlier_layout_is_refused_at_open() {
    let dir = TempDir::new().unwrap();
    {
        let mut net = TestNet::new(dir.path());
        let issuer = net.add_issuer("Acme");
        net.add_user(&issuer, false);
    }
    // As an earlier node left it: no row naming the tree's layout.
    {
        let store = Store::open(dir.path(), false).unwrap();
        let mut earlier = Changes::default();
        earlier.delete(Table::Meta, b"state_tree_layout".to_vec());
        store.commit(&earlier).unwrap();
    }
    let store = Store::open(dir.path(), false).unwrap();
    let err = App::open(store, AppConfig::default()).unwrap_err();
    assert_eq!(err.code(), "configuration");
    assert!(err.to_string().contains("new data directory"), "{err}");
}

#[test]
fn state_survives_a_restart() {
    let dir = TempDir::new().unwrap();
    let (owner, gateway, alice_wallet, time, committed) = {
        let mut net = TestNet::new(dir.path());
        let issuer = net.add_issuer("Acme");
        let alice = net.add_user(&issuer, false);
        (
            net.owner.clone(),
            net.gateway.clone(),
            alice.wallet,
            net.time,
            net.app.committed(),
        )
    };
    let net = TestNet::open(dir.path(), owner, gateway, time);
    assert_eq!(net.app.committed(), committed);
    assert!(matches!(
        net.read(&alice_wallet, Query::GetUser).unwrap(),
        QueryOutput::User(_)
    ));
    let other = TempDir::new().unwrap();
    let store = Store::open(other.path(), false).unwrap();
    let fresh = App::open(store, AppConfig::default()).unwrap();
    assert_eq!(fresh.committed().height, 0);
    assert!(fresh.genesis().is_none());
}

#[test]
fn uninitialized_nodes_refuse_transactions_with_unavailable() {
    let dir = TempDir::new().unwrap();
    let app = App::open(
        Store::open(dir.path(), false).unwrap(),
        AppConfig::default(),
    )
    .unwrap();
    assert_eq!(app.check_tx(b"\x01").unwrap_err().code(), "unavailable");
}

/// An EVM signer's key is learned from its first transaction; later ones are verified against
/// it, and a forgery or tampering is still refused on that path.
#[test]
fn evm_signers_known_to_the_node_are_still_verified() {
    let mut w = world();
    let alice = w.alice.wallet.clone();
    let add = |n: u128| AddAttribute {
        id: Uuid::from_u128(n),
        attribute_key: "k".into(),
        value: "v".into(),
    };
    w.net.submit(&alice, add(1)).unwrap();
    let mut tampered = w.net.sign(&alice, add(2));
    tampered.tx.action = add(3).into();
    assert_eq!(code(w.net.submit_signed(&tampered)), "bad_signature");
    let impostor = SigningKey::generate_evm();
    let mut forged = w.net.sign(&alice, add(4));
    forged.signature = impostor.sign(forged.tx.signing_text().as_bytes()).into();
    assert_eq!(code(w.net.submit_signed(&forged)), "bad_signature");
    w.net.submit(&alice, add(5)).unwrap();
}

/// Cursors come from clients: any bytes, any length. Each list read answers a typed error or a
/// page of the caller's own rows, never a panic and never a row under another prefix.
#[test]
fn hostile_cursors_get_typed_errors_or_pages_of_the_callers_own_rows() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let mut w = world();
    let bob = w.net.add_user(&w.issuer, false);
    let grantee = SigningKey::generate_evm();
    for (owner, vc) in [(&w.alice, "urn:vc:a"), (&bob, "urn:vc:b")] {
        let id = Uuid::new_v4();
        let credential = credential_input(
            &w.issuer.key,
            &public_notes(vc, "active"),
            &plaintext(vc),
            &owner.public_key(),
        );
        w.net
            .submit(
                &w.issuer.signer(),
                UpsertCredentialAsInserter {
                    id,
                    user_id: owner.id,
                    credential,
                },
            )
            .unwrap();
        let share = share_action(
            &Ed25519SigningKey::generate(),
            id,
            &plaintext(vc),
            grantee.identity(),
            &EncryptionSecretKey::generate().public_key(),
            0,
        );
        w.net.submit(&owner.wallet, share).unwrap();
    }
    let alice_id = w.alice.id;
    let mut runner = TestRunner::new(Config::with_cases(256));
    runner
        .run(
            &(proptest::collection::vec(any::<u8>(), 0..80), 0usize..4),
            |(bytes, which)| {
                let Ok(cursor) = protocol::records::Cursor::new(bytes.clone()) else {
                    prop_assert!(bytes.len() > protocol::records::MAX_CURSOR_BYTES);
                    return Ok(());
                };
                let page = PageRequest::after(cursor, 5);
                let (key, query) = match which {
                    0 => (&w.alice.wallet, Query::GetCredentials { page }),
                    1 => (&w.alice.wallet, Query::GetAccessGrantsOwned { page }),
                    2 => (
                        &grantee,
                        Query::GetAccessGrantsGranted {
                            user_id: Some(alice_id),
                            page,
                        },
                    ),
                    _ => (&w.alice.wallet, Query::GetWallets { page }),
                };
                match w.net.read(key, query) {
                    Err(e) => prop_assert_eq!(e.code(), "invalid_field"),
                    Ok(QueryOutput::Credentials(p)) => {
                        prop_assert!(p.items.iter().all(|c| c.user_id == alice_id))
                    }
                    Ok(QueryOutput::AccessGrants(p)) => {
                        prop_assert!(p.items.iter().all(|g| g.ag_owner_user_id == alice_id))
                    }
                    Ok(QueryOutput::Wallets(p)) => {
                        prop_assert!(p.items.iter().all(|x| x.user_id == alice_id))
                    }
                    Ok(other) => prop_assert!(false, "{other:?}"),
                }
                Ok(())
            },
        )
        .unwrap();
}

/// A transaction's result names what it created or touched (the block's event attributes).
#[test]
fn actions_report_the_ids_they_touched() {
    let mut w = world();
    let id = Uuid::new_v4();
    let credential = credential_input(
        &w.issuer.key,
        &public_notes("urn:vc:fx", "active"),
        &plaintext("urn:vc:fx"),
        &w.alice.public_key(),
    );
    let effects = w
        .net
        .submit(&w.alice.wallet, AddCredential { id, credential })
        .unwrap();
    assert_eq!(effects, vec![("credential_id", id.to_string())]);
    let grantee = SigningKey::generate_evm();
    let share = share_action(
        &Ed25519SigningKey::generate(),
        id,
        &plaintext("urn:vc:fx"),
        grantee.identity(),
        &EncryptionSecretKey::generate().public_key(),
        0,
    );
    let copy = share.id;
    let effects = w.net.submit(&w.alice.wallet, share).unwrap();
    let grant = access_grant_id(&grantee.identity().identifier(), &copy, 0);
    assert_eq!(
        effects,
        vec![
            ("credential_id", copy.to_string()),
            ("grant_id", grant.to_string())
        ]
    );
    let effects = w
        .net
        .submit(
            &w.issuer.signer(),
            EditPublicNotesAsIssuer {
                public_notes_id: "urn:vc:fx".into(),
                public_notes: public_notes("urn:vc:fx", "revoked"),
            },
        )
        .unwrap();
    assert_eq!(effects, vec![("public_notes_id", "urn:vc:fx".to_owned())]);
}
