//! `idos consumer ...`: a grantee (a consumer with an Ed25519 key, or a wallet of any type:
//! `--key-kind`) listing what was shared
//! with it, reading and decrypting a copy, and giving one up, through a relay. Every command
//! signs in with the key first (Ed25519 sign-in, or the wallet sign-in for other kinds).

use clap::Subcommand;
use idos_client::credential::open_shared;
use idos_client::{Client, ClientError, Freshness, PageQuery, TrustRoot};
use protocol::action::RescindSharedCredential;
use protocol::bytes::Ed25519PublicKey;
use protocol::identity::Identity;
use protocol::query::{PageRequest, Query};
use protocol::records::AccessGrantRecord;
use protocol::records::{CredentialRecord, QueryOutput};
use serde_json::json;
use uuid::Uuid;

use super::output::{CliError, write_stdout};
use super::remote::{
    EncryptionKeyArgs, KeyArgs, RelayArgs, block_on, print, print_committed, sign_in,
};

#[derive(Debug, Subcommand)]
pub enum ConsumerCommand {
    /// List the access grants given to this key (every page).
    Grants {
        #[command(flatten)]
        relay: RelayArgs,
        #[command(flatten)]
        key: KeyArgs,
        /// Only grants from this user (profile id).
        #[arg(long)]
        user_id: Option<Uuid>,
    },
    /// Read a copy shared with this key. With `--decrypt`, print exactly its plaintext, and
    /// only after checking it: the access grant's content hash, and the trusted issuer's
    /// signature in the public notes (not revoked).
    Fetch {
        #[command(flatten)]
        relay: RelayArgs,
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        encryption: EncryptionKeyArgs,
        /// The copy's id.
        copy_id: Uuid,
        /// Decrypt, check, and write the plaintext bytes to standard output.
        #[arg(long, requires = "issuer")]
        decrypt: bool,
        /// The issuer's Ed25519 public key (hex) whose signature the credential must carry.
        #[arg(long)]
        issuer: Option<String>,
        /// Verify both reads against this chain and validator set instead of trusting the
        /// relay: `<chain id>@<validator key hex>[:<power>],...` (`idos serve` prints its
        /// bundled node's). Prints the height the answer is verified at.
        #[arg(long, env = "IDOS_TRUST")]
        trust: Option<String>,
        /// With `--trust`: refuse answers proven by a header older than this many seconds (the
        /// bundled node's idle chain makes an empty block every 30 s, so 90 is safe there).
        #[arg(long, requires = "trust")]
        max_header_age: Option<u64>,
    },
    /// Give up a copy shared with this key (the owner's grant on it ends).
    Rescind {
        #[command(flatten)]
        relay: RelayArgs,
        #[command(flatten)]
        key: KeyArgs,
        /// The copy's id.
        copy_id: Uuid,
    },
}

fn unverified(code: &'static str, message: &str) -> CliError {
    CliError::Client(ClientError::Unverified {
        code,
        message: message.to_owned(),
    })
}

/// The copy and the caller's grant on it, each read proven and verified against `trust`; the
/// height of the state they were verified at (the older of the two).
async fn fetch_verified(
    me: &Client,
    caller: &Identity,
    copy_id: Uuid,
    trust: &TrustRoot,
    fresh: &Freshness,
) -> Result<(CredentialRecord, Option<AccessGrantRecord>, Option<u64>), ClientError> {
    let grants = me
        .proven_read(
            caller,
            Query::GetAccessGrantsForCredential {
                credential_id: copy_id,
                page: PageRequest::default(),
            },
            trust,
            fresh,
        )
        .await?;
    let copy = me
        .proven_read(
            caller,
            Query::GetCredentialShared { id: copy_id },
            trust,
            fresh,
        )
        .await?;
    let height = grants.state_height().min(copy.state_height());
    let grant = match grants.output {
        Ok(QueryOutput::AccessGrants(page)) => page.items.into_iter().next(),
        Ok(_) => return Err(ClientError::BadAnswer("not a page of grants".into())),
        Err(e) => return Err(read_refused(e)),
    };
    let copy = match copy.output {
        Ok(QueryOutput::Credential(copy)) => copy,
        Ok(_) => return Err(ClientError::BadAnswer("not a credential".into())),
        Err(e) => return Err(read_refused(e)),
    };
    Ok((copy, grant, Some(height)))
}

fn read_refused(e: node::error::NodeError) -> ClientError {
    ClientError::ReadRefused {
        code: e.code().to_owned(),
        message: e.to_string(),
    }
}

pub fn run(cmd: ConsumerCommand) -> Result<(), CliError> {
    match cmd {
        ConsumerCommand::Grants {
            relay,
            key,
            user_id,
        } => {
            let key = key.signing_key()?;
            let client = relay.client()?;
            let grants = block_on(async {
                let me = sign_in(&client, &key).await?;
                let mut all: Vec<AccessGrantRecord> = Vec::new();
                let mut page = PageQuery::first();
                loop {
                    let answer = me.grants_granted(user_id, &page).await?;
                    all.extend(answer.data.items);
                    match answer.data.next_cursor {
                        Some(cursor) => page = PageQuery::after(&cursor),
                        None => break,
                    }
                }
                me.logout().await?;
                Ok(all)
            })?;
            let human: String = grants
                .iter()
                .map(|g| {
                    format!(
                        "grant {} copy {} owner {} locked_until {} content_hash {}\n",
                        g.id, g.data_id, g.ag_owner_user_id, g.locked_until, g.content_hash
                    )
                })
                .collect();
            print(relay.json, &human, &json!({ "grants": grants }))
        }
        ConsumerCommand::Fetch {
            relay,
            key,
            encryption,
            copy_id,
            decrypt,
            issuer,
            trust,
            max_header_age,
        } => {
            let freshness = Freshness {
                max_header_age: max_header_age.map(std::time::Duration::from_secs),
                ..Freshness::default()
            };
            let key = key.signing_key()?;
            let trusted = issuer.as_deref().map(Ed25519PublicKey::parse).transpose()?;
            let trust = trust
                .as_deref()
                .map(TrustRoot::parse)
                .transpose()
                .map_err(|e| CliError::Usage(format!("--trust: {e}")))?;
            let secret = if decrypt {
                Some(encryption.secret_key()?)
            } else {
                None
            };
            let client = relay.client()?;
            let (copy, grant, verified_at) = block_on(async {
                let me = sign_in(&client, &key).await?;
                let fetched = match &trust {
                    None => {
                        let grants = me
                            .grants_for_credential(copy_id, &PageQuery::first())
                            .await?;
                        let copy = me.shared_credential(copy_id).await?;
                        (copy.data, grants.data.items.into_iter().next(), None)
                    }
                    Some(trust) => {
                        fetch_verified(&me, &key.identity(), copy_id, trust, &freshness).await?
                    }
                };
                me.logout().await?;
                Ok(fetched)
            })?;
            if let Some(height) = verified_at {
                eprintln!(
                    "verified at height {height} (signed by the pinned validators of {})",
                    trust.as_ref().map_or("", |t| t.chain_id.as_str())
                );
            }
            match (secret, trusted) {
                (Some(secret), Some(trusted)) => {
                    let grant = grant.ok_or_else(|| {
                        unverified("no_grant", "no access grant to this key names this copy")
                    })?;
                    let plaintext = open_shared(&copy, &grant.content_hash, &trusted, &secret)
                        .map_err(CliError::Client)?;
                    write_stdout(&plaintext)
                }
                _ => {
                    let content = protocol::codec::base64_encode(&copy.content[..]);
                    let human = format!(
                        "id: {}\nowner: {}\nissuer_auth_public_key: {}\npublic_notes: {}\nencryptor_public_key: {}\ncontent (encrypted, base64): {content}\n",
                        copy.id,
                        copy.user_id,
                        copy.issuer_auth_public_key,
                        copy.public_notes,
                        copy.encryptor_public_key,
                    );
                    print(
                        relay.json,
                        &human,
                        &json!({ "credential": copy, "verified_height": verified_at }),
                    )
                }
            }
        }
        ConsumerCommand::Rescind {
            relay,
            key,
            copy_id,
        } => {
            let key = key.signing_key()?;
            let client: Client = relay.client()?;
            let status = block_on(async {
                let me = sign_in(&client, &key).await?;
                let prepared = me.prepare_rescind(copy_id, None).await?;
                let expected = RescindSharedCredential {
                    credential_id: copy_id,
                }
                .into();
                let status = me.sign_and_submit(&key, &prepared, Some(&expected)).await?;
                me.logout().await?;
                Ok(status)
            })?;
            print_committed(relay.json, &status, &[("copy_id", copy_id.to_string())])
        }
    }
}
