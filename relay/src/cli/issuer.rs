//! `idos issuer ...`: an issuer (a delegate of an inserter, with an Ed25519 key) creating
//! profiles and issuing credentials through a relay. Encryption and signing happen here; the
//! relay only carries ciphertext and signatures.

use std::path::PathBuf;

use clap::Subcommand;
use idos_client::credential::{REVOKED, issuer_public_notes, seal_credential};
use protocol::action::{
    AddUserAsInserter, CreateCredentialsByDwg, EditPublicNotesAsIssuer, PasswordStore,
    UpsertCredentialAsInserter, UpsertWalletAsInserter,
};
use protocol::bytes::{Bytes, EncryptionPublicKey};
use protocol::credential::content_hash;
use protocol::grant::DelegatedWriteGrant;
use protocol::identity::{Ed25519SigningKey, Identity, SigningKey};
use protocol::wallet::WalletProof;
use uuid::Uuid;

use super::output::CliError;
use super::remote::{KeyArgs, RelayArgs, block_on, print, print_committed, read_file};

#[derive(Debug, Subcommand)]
pub enum IssuerCommand {
    /// Create a profile and link the user's wallet to it (two transactions).
    CreateProfile {
        #[command(flatten)]
        relay: RelayArgs,
        #[command(flatten)]
        key: KeyArgs,
        /// The new profile's id; the wallet's ownership proof names it.
        #[arg(long)]
        user_id: Uuid,
        /// The user's encryption public key (base64).
        #[arg(long)]
        encryption_public_key: String,
        /// A JSON file with the wallet's ownership proof `{id, wallet, nonce, signature}`: the
        /// wallet's signature over the idOS wallet ownership message for `--user-id`.
        #[arg(long, value_name = "FILE")]
        wallet_proof: PathBuf,
    },
    /// Issue a credential: encrypt the file to the user's key, sign notes and content.
    Issue {
        #[command(flatten)]
        relay: RelayArgs,
        #[command(flatten)]
        key: KeyArgs,
        /// The profile's id.
        #[arg(long)]
        user_id: Uuid,
        /// The user's encryption public key (base64).
        #[arg(long)]
        recipient: String,
        /// The credential's plaintext.
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// The credential's id in its public notes, which `revoke` names (default: a fresh
        /// `urn:uuid:`).
        #[arg(long)]
        credential_id: Option<String>,
    },
    /// Print the message a profile owner's wallet signs to let this issuer write a credential
    /// and share it with a grantee (a delegated write grant).
    DwgMessage {
        #[command(flatten)]
        relay: RelayArgs,
        #[command(flatten)]
        key: KeyArgs,
        /// The owner's wallet identifier.
        #[arg(long)]
        owner: String,
        /// The grantee's wallet identifier.
        #[arg(long)]
        grantee: String,
        /// Until when the access grant cannot be revoked (RFC 3339, UTC).
        #[arg(long)]
        timelock: String,
        /// The grant cannot be used before (RFC 3339, UTC).
        #[arg(long)]
        not_before: String,
        /// The grant cannot be used after (RFC 3339, UTC).
        #[arg(long)]
        not_after: String,
        /// Write the grant (JSON) to this file, for `issue-by-dwg`.
        #[arg(long, value_name = "FILE")]
        grant_out: PathBuf,
    },
    /// Write a credential, its copy for the grantee and the access grant in one transaction,
    /// with a delegated write grant the owner's wallet signed.
    IssueByDwg {
        #[command(flatten)]
        relay: RelayArgs,
        #[command(flatten)]
        key: KeyArgs,
        /// The grant, as `dwg-message --grant-out` wrote it.
        #[arg(long, value_name = "FILE")]
        grant: PathBuf,
        /// A file with the owner wallet's signature over the grant's message (hex).
        #[arg(long, value_name = "FILE")]
        grant_signature: PathBuf,
        /// The owner's encryption public key (base64).
        #[arg(long)]
        recipient: String,
        /// The grantee's encryption public key (base64).
        #[arg(long)]
        grantee_encryption_key: String,
        /// The credential's plaintext.
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// The credential's id in its public notes (default: a fresh `urn:uuid:`).
        #[arg(long)]
        credential_id: Option<String>,
    },
    /// Revoke credentials this issuer issued: replace their public notes (status `revoked`).
    Revoke {
        #[command(flatten)]
        relay: RelayArgs,
        #[command(flatten)]
        key: KeyArgs,
        /// The credential id in the public notes (`issue --credential-id`).
        #[arg(long)]
        credential_id: String,
        /// The new public notes (default: `{"id": <credential id>, "status": "revoked"}`).
        #[arg(long, value_name = "FILE")]
        public_notes: Option<PathBuf>,
    },
}

fn ed25519(key: &SigningKey) -> Result<&Ed25519SigningKey, CliError> {
    match key {
        SigningKey::Ed25519(k) => Ok(k),
        _ => Err(CliError::Usage(
            "an issuer key is a raw Ed25519 key (idos keys generate --kind ed25519)".into(),
        )),
    }
}

fn json_file<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T, CliError> {
    serde_json::from_slice(&read_file(path)?)
        .map_err(|e| CliError::Usage(format!("{}: not the expected JSON: {e}", path.display())))
}

pub fn run(cmd: IssuerCommand) -> Result<(), CliError> {
    match cmd {
        IssuerCommand::CreateProfile {
            relay,
            key,
            user_id,
            encryption_public_key,
            wallet_proof,
        } => {
            let issuer = key.signing_key()?;
            let recipient = EncryptionPublicKey::parse(&encryption_public_key)?;
            let proof: WalletProof = json_file(&wallet_proof)?;
            let wallet = proof.wallet;
            let client = relay.client()?;
            let status = block_on(async {
                client
                    .submit_action(
                        &issuer,
                        AddUserAsInserter {
                            id: user_id,
                            recipient_encryption_public_key: recipient,
                            encryption_password_store: PasswordStore::User,
                        },
                    )
                    .await?;
                Ok(client
                    .submit_action(
                        &issuer,
                        UpsertWalletAsInserter {
                            user_id,
                            wallet: proof,
                            approval: None,
                        },
                    )
                    .await?)
            })?;
            print_committed(
                relay.json,
                &status,
                &[
                    ("user_id", user_id.to_string()),
                    ("wallet", wallet.identifier()),
                ],
            )
        }
        IssuerCommand::Issue {
            relay,
            key,
            user_id,
            recipient,
            file,
            credential_id,
        } => {
            let issuer = key.signing_key()?;
            let recipient = EncryptionPublicKey::parse(&recipient)?;
            let plaintext = read_file(&file)?;
            let vc_id = credential_id.unwrap_or_else(|| format!("urn:uuid:{}", Uuid::new_v4()));
            let notes = issuer_public_notes(&vc_id, "valid", ed25519(&issuer)?, &plaintext);
            let credential = seal_credential(ed25519(&issuer)?, &recipient, &plaintext, &notes)?;
            let id = Uuid::new_v4();
            let client = relay.client()?;
            let status = block_on(async {
                Ok(client
                    .submit_action(
                        &issuer,
                        UpsertCredentialAsInserter {
                            id,
                            user_id,
                            credential,
                        },
                    )
                    .await?)
            })?;
            print_committed(
                relay.json,
                &status,
                &[
                    ("id", id.to_string()),
                    ("credential_id", vc_id),
                    ("content_hash", content_hash(&plaintext).to_text()),
                ],
            )
        }
        IssuerCommand::DwgMessage {
            relay,
            key,
            owner,
            grantee,
            timelock,
            not_before,
            not_after,
            grant_out,
        } => {
            let issuer = key.signing_key()?;
            let grant = DelegatedWriteGrant {
                owner_wallet_identifier: Identity::parse(&owner)?,
                grantee_wallet_identifier: Identity::parse(&grantee)?,
                issuer_public_key: ed25519(&issuer)?.public_key(),
                id: Uuid::new_v4(),
                access_grant_timelock: timelock,
                not_usable_before: not_before,
                not_usable_after: not_after,
            };
            let client = relay.client()?;
            let message = block_on(async { Ok(client.dwg_message(&grant).await?) })?;
            let grant_json = serde_json::to_value(&grant)
                .map_err(|e| CliError::Usage(format!("cannot render the grant: {e}")))?;
            std::fs::write(&grant_out, format!("{grant_json}\n")).map_err(|e| {
                CliError::Usage(format!("cannot write {}: {e}", grant_out.display()))
            })?;
            print(
                relay.json,
                &format!("{message}\n"),
                &serde_json::json!({"grant": grant_json, "message": message}),
            )
        }
        IssuerCommand::IssueByDwg {
            relay,
            key,
            grant,
            grant_signature,
            recipient,
            grantee_encryption_key,
            file,
            credential_id,
        } => {
            let issuer = key.signing_key()?;
            let grant: DelegatedWriteGrant = json_file(&grant)?;
            let signature_text = read_file(&grant_signature)?;
            let signature_text = String::from_utf8_lossy(&signature_text);
            let signature_text = signature_text.trim();
            let grant_signature = hex::decode(
                signature_text.strip_prefix("0x").unwrap_or(signature_text),
            )
            .map_err(|_| protocol::Error::InvalidHex {
                field: "--grant-signature",
            })?;
            let recipient = EncryptionPublicKey::parse(&recipient)?;
            let grantee_key = EncryptionPublicKey::parse(&grantee_encryption_key)?;
            let plaintext = read_file(&file)?;
            let vc_id = credential_id.unwrap_or_else(|| format!("urn:uuid:{}", Uuid::new_v4()));
            let signer = ed25519(&issuer)?;
            let notes = issuer_public_notes(&vc_id, "valid", signer, &plaintext);
            let original = seal_credential(signer, &recipient, &plaintext, &notes)?;
            let copy = seal_credential(signer, &grantee_key, &plaintext, "")?;
            let (original_id, copy_id) = (Uuid::new_v4(), Uuid::new_v4());
            let action = CreateCredentialsByDwg {
                original_id,
                original,
                copy_id,
                copy,
                content_hash: content_hash(&plaintext),
                grant,
                grant_signature: Bytes::from(grant_signature),
            };
            let client = relay.client()?;
            let status = block_on(async { Ok(client.submit_dwg_action(&issuer, action).await?) })?;
            print_committed(
                relay.json,
                &status,
                &[
                    ("original_id", original_id.to_string()),
                    ("copy_id", copy_id.to_string()),
                    ("credential_id", vc_id),
                ],
            )
        }
        IssuerCommand::Revoke {
            relay,
            key,
            credential_id,
            public_notes,
        } => {
            let issuer = key.signing_key()?;
            let notes = match public_notes {
                Some(path) => String::from_utf8(read_file(&path)?.to_vec())
                    .map_err(|_| CliError::Usage(format!("{} is not UTF-8", path.display())))?,
                None => serde_json::json!({"id": credential_id, "status": REVOKED}).to_string(),
            };
            let client = relay.client()?;
            let status = block_on(async {
                Ok(client
                    .submit_action(
                        &issuer,
                        EditPublicNotesAsIssuer {
                            public_notes_id: credential_id.clone(),
                            public_notes: notes,
                        },
                    )
                    .await?)
            })?;
            print_committed(
                relay.json,
                &status,
                &[("credential_id", credential_id.clone())],
            )
        }
    }
}
