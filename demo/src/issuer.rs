//! The demo issuer's back end (`/issuer/api/…` on the app origin; the page is `www/issuer/`).
//!
//! It onboards a user as idOS issuers do: the page connects the user's wallet, creates the
//! user's key in the enclave (for a new profile, salted with the user id this issuer picks), and
//! has the wallet sign two texts this back end prepared: the wallet-ownership proof (so the
//! issuer, an inserter's delegate, may create the profile and link that wallet) and a delegated
//! write grant (so it may write a credential to the profile, with a copy for itself). The back
//! end checks both signatures before it spends a transaction, then creates the profile
//! (`add_user_as_inserter`, `upsert_wallet_as_inserter`) and issues a sample KYC credential
//! encrypted to the user's key (`create_credentials_by_dwg`), through the relay with the client
//! library. It never sees the user's password or key, only their public key.
//!
//! Before it can write, its key must be a delegate of an inserter. With the bundled node,
//! `idos serve` hands it the development network-owner key and it registers itself
//! (`add_inserter_as_owner`, `add_delegate_as_owner`; an earlier registration is kept).
//! Against another network, the operator registers its key (`GET /issuer/api/info` names it).

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use idos_client::credential::seal_credential;
use protocol::action::{
    AddDelegate, AddInserter, AddUserAsInserter, CreateCredentialsByDwg, PasswordStore,
    UpsertWalletAsInserter,
};
use protocol::bytes::{Bytes, EncryptionPublicKey, Nonce128};
use protocol::credential::content_hash;
use protocol::grant::DelegatedWriteGrant;
use protocol::identity::{Ed25519SigningKey, Identity, SignatureScheme, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use protocol::wallet::{WalletProof, wallet_ownership_message};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::{DemoError, Json};
use crate::relay::RelayTarget;
use crate::sample::{public_notes, sample_credential};

/// The largest request body the issuer's routes read.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// How long a delegated write grant this issuer prepares stays usable.
pub const GRANT_VALIDITY_SECS: i64 = 3600;

/// Namespace of the issuer's inserter id (UUIDv5 over its public key), so that registering
/// again names the same inserter.
const INSERTER_NAMESPACE: Uuid = Uuid::from_u128(0x6b1c_2f6e_8a0d_4d6e_9b3e_5c1f_7a2d_0e41);

/// What the demo issuer is.
#[derive(Clone)]
pub struct IssuerConfig {
    /// The relay it writes through.
    pub relay: RelayTarget,
    /// Its Ed25519 key (a delegate of its inserter).
    pub key: Ed25519SigningKey,
    /// Its X25519 key: the copy of each credential it keeps is encrypted to it.
    pub box_key: Arc<EncryptionSecretKey>,
    /// Its name (the inserter's name, and in the credentials it issues).
    pub name: String,
    /// The KYC level of the credentials it issues.
    pub level: String,
    /// The network owner's key file, to register itself (the bundled node's development key);
    /// `None`: the operator registers it.
    pub owner_key_file: Option<PathBuf>,
}

impl std::fmt::Debug for IssuerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerConfig")
            .field("public_key", &self.key.public_key().to_text())
            .field("name", &self.name)
            .field("level", &self.level)
            .field("owner_key_file", &self.owner_key_file)
            .finish()
    }
}

/// Where the issuer's registration stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Registration {
    /// Not tried yet.
    Pending,
    /// A delegate of its inserter: it can write.
    Registered,
    /// It could not register itself; `message` says what to do.
    Failed {
        /// What went wrong and what to do.
        message: String,
    },
}

/// The demo issuer. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Issuer(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    config: IssuerConfig,
    registration: tokio::sync::Mutex<Registration>,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn rfc3339(unix: i64) -> String {
    protocol::time::format_rfc3339(unix).unwrap_or_default()
}

/// A field that did not parse: its code is the protocol's, its message names the field.
fn field_error(field: &str, e: protocol::Error) -> DemoError {
    DemoError::bad_request(e.code(), format!("{field}: {e}"))
}

fn parse_signature(field: &str, text: &str) -> Result<Bytes, DemoError> {
    let hex_text = text.strip_prefix("0x").unwrap_or(text);
    hex::decode(hex_text).map(Bytes::from).map_err(|_| {
        DemoError::bad_request(
            "invalid_hex",
            format!("{field}: expected the wallet's signature as 0x-prefixed hex"),
        )
    })
}

impl Issuer {
    /// The demo issuer described by `config`.
    pub fn new(config: IssuerConfig) -> Self {
        Issuer(Arc::new(Inner {
            config,
            registration: tokio::sync::Mutex::new(Registration::Pending),
        }))
    }

    /// Its public key.
    pub fn public_key(&self) -> protocol::bytes::Ed25519PublicKey {
        self.0.config.key.public_key()
    }

    fn signer(&self) -> SigningKey {
        SigningKey::Ed25519(self.0.config.key.clone())
    }

    fn identity(&self) -> Identity {
        Identity::Ed25519(self.public_key())
    }

    /// Its inserter's id.
    pub fn inserter_id(&self) -> Uuid {
        Uuid::new_v5(&INSERTER_NAMESPACE, self.public_key().as_bytes())
    }

    /// Where its registration stands.
    pub async fn registration(&self) -> Registration {
        self.0.registration.lock().await.clone()
    }

    /// Registers the issuer as its inserter's delegate with the owner key file, once; a
    /// registration already on the ledger counts. Without an owner key file, or when it fails,
    /// the state says what the operator must do.
    pub async fn ensure_registered(&self) -> Registration {
        let mut state = self.0.registration.lock().await;
        if *state == Registration::Registered {
            return state.clone();
        }
        *state = match self.register().await {
            Ok(()) => Registration::Registered,
            Err(message) => {
                tracing::warn!(%message, "the demo issuer could not register itself");
                Registration::Failed { message }
            }
        };
        state.clone()
    }

    async fn register(&self) -> Result<(), String> {
        let config = &self.0.config;
        let manual = format!(
            "register the demo issuer's key {} as a delegate of an inserter: \
             `idos admin add-inserter --name \"{}\"`, then `idos admin add-delegate --inserter-id <id> --address {}`",
            self.public_key(),
            config.name,
            self.public_key()
        );
        let Some(path) = &config.owner_key_file else {
            return Err(manual);
        };
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the network owner's key {} ({e}); {manual}",
                path.display()
            )
        })?);
        let owner = SigningKey::from_hex(SignatureScheme::Ed25519, text.trim())
            .map_err(|_| format!("{} is not an Ed25519 key file; {manual}", path.display()))?;
        let client = &config.relay.client;
        let tolerate =
            |result: Result<idos_client::TxStatus, idos_client::ClientError>| match result {
                Ok(_) => Ok(()),
                Err(e) if e.code() == "already_exists" => Ok(()),
                Err(e) => Err(format!("{e}; {manual}")),
            };
        tolerate(
            client
                .submit_action(
                    &owner,
                    AddInserter {
                        id: self.inserter_id(),
                        name: config.name.clone(),
                    },
                )
                .await,
        )?;
        tolerate(
            client
                .submit_action(
                    &owner,
                    AddDelegate {
                        address: self.identity(),
                        inserter_id: self.inserter_id(),
                    },
                )
                .await,
        )
    }

    async fn require_registered(&self) -> Result<(), DemoError> {
        match self.ensure_registered().await {
            Registration::Registered => Ok(()),
            Registration::Failed { message } => Err(DemoError::unavailable(
                "issuer_not_registered",
                format!("the demo issuer cannot write to idOS yet: {message}"),
            )),
            Registration::Pending => Err(DemoError::unavailable(
                "issuer_not_registered",
                "the demo issuer is still registering; try again in a moment",
            )),
        }
    }
}

/// `GET /issuer/api/info`.
#[derive(Debug, Serialize, Deserialize)]
pub struct InfoResponse {
    /// The issuer's name.
    pub name: String,
    /// Its Ed25519 key (hex): what a grantee trusts.
    pub public_key: String,
    /// The level of the credentials it issues.
    pub level: String,
    /// Its registration (`{"state": "registered" | "pending" | "failed", "message"?}`).
    pub registration: Value,
}

async fn info(State(issuer): State<Issuer>) -> axum::Json<InfoResponse> {
    let registration = issuer.registration().await;
    let config = &issuer.0.config;
    axum::Json(InfoResponse {
        name: config.name.clone(),
        public_key: issuer.public_key().to_text(),
        level: config.level.clone(),
        registration: serde_json::to_value(registration).unwrap_or(Value::Null),
    })
}

/// `POST /issuer/api/start`: the texts the wallet signs.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// The user's wallet (an EVM address).
    pub wallet: String,
    /// The id of a key the user already made for a new profile (a UUIDv4: the key derivation's
    /// salt); default: a fresh one.
    #[serde(default)]
    pub user_id: Option<Uuid>,
}

/// The wallet-ownership proof to sign (for a new profile).
#[derive(Debug, Serialize, Deserialize)]
pub struct ProofToSign {
    /// The wallet row's id.
    pub id: Uuid,
    /// The proof's nonce (hex).
    pub nonce: String,
    /// The exact text the wallet signs (`personal_sign`).
    pub message: String,
}

/// What the page needs to onboard the wallet.
#[derive(Debug, Serialize, Deserialize)]
pub struct StartResponse {
    /// Whether the wallet already has a profile (then only the grant is needed).
    pub has_profile: bool,
    /// A fresh profile id (UUIDv4), for a new profile: the enclave salts the user's key with it.
    pub user_id: Uuid,
    /// The ownership proof the wallet signs, for a new profile.
    pub proof: ProofToSign,
    /// The delegated write grant the wallet signs: this issuer may write one credential and keep
    /// a copy, within the next hour.
    pub grant: DelegatedWriteGrant,
    /// The exact text of the grant the wallet signs (`personal_sign`).
    pub grant_message: String,
}

async fn start(
    State(issuer): State<Issuer>,
    Json(request): Json<StartRequest>,
) -> Result<axum::Json<StartResponse>, DemoError> {
    // Any wallet type idOS verifies: EVM, NEAR, XRPL, Stellar, FaceSign (raw Ed25519).
    let wallet = Identity::parse(&request.wallet).map_err(|e| field_error("wallet", e))?;
    let relay = &issuer.0.config.relay;
    let chain_id = relay.chain_id().await?;
    let has_profile = relay.client.has_profile(&wallet).await?.data;
    let user_id = match request.user_id {
        Some(id) if id.get_version_num() != 4 => {
            return Err(DemoError::bad_request(
                "invalid_user_id",
                "user_id: a profile id is a random UUID (version 4), the salt of the user's key",
            ));
        }
        Some(id) => id,
        None => Uuid::new_v4(),
    };
    let proof_id = Uuid::new_v4();
    let nonce = Nonce128::from_bytes(*Uuid::new_v4().as_bytes());
    let now = now();
    let grant = DelegatedWriteGrant {
        owner_wallet_identifier: wallet,
        grantee_wallet_identifier: issuer.identity(),
        issuer_public_key: issuer.public_key(),
        id: Uuid::new_v4(),
        // The issuer's own copy is not locked: nothing stops the user from revoking it.
        access_grant_timelock: rfc3339(now),
        not_usable_before: rfc3339(now),
        not_usable_after: rfc3339(now + GRANT_VALIDITY_SECS),
    };
    let grant_message = grant
        .message(&chain_id)
        .map_err(|e| field_error("grant", e))?;
    Ok(axum::Json(StartResponse {
        has_profile,
        user_id,
        proof: ProofToSign {
            id: proof_id,
            nonce: nonce.to_text(),
            message: wallet_ownership_message(&user_id, &wallet, &chain_id, &nonce),
        },
        grant,
        grant_message,
    }))
}

/// The wallet's signed ownership proof.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedProof {
    /// The wallet row's id (from `start`).
    pub id: Uuid,
    /// The nonce (from `start`).
    pub nonce: String,
    /// The wallet's `personal_sign` signature over the proof's text (0x hex).
    pub signature: String,
}

/// `POST /issuer/api/profile`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileRequest {
    /// The profile's id (from `start`).
    pub user_id: Uuid,
    /// The wallet to link.
    pub wallet: String,
    /// The user's encryption public key (base64), from the enclave.
    pub encryption_public_key: String,
    /// The wallet's ownership proof.
    pub proof: SignedProof,
}

/// A committed transaction.
#[derive(Debug, Serialize, Deserialize)]
pub struct Committed {
    /// Its hash.
    pub tx_hash: String,
    /// Its block.
    pub height: Option<u64>,
}

/// The profile created.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProfileResponse {
    /// The profile's id.
    pub user_id: Uuid,
    /// The linked wallet.
    pub wallet: String,
    /// The wallet link's transaction.
    pub committed: Committed,
}

async fn profile(
    State(issuer): State<Issuer>,
    Json(request): Json<ProfileRequest>,
) -> Result<axum::Json<ProfileResponse>, DemoError> {
    let wallet = Identity::parse(&request.wallet).map_err(|e| field_error("wallet", e))?;
    let recipient = EncryptionPublicKey::parse(&request.encryption_public_key)
        .map_err(|e| field_error("encryption_public_key", e))?;
    let nonce = Nonce128::parse(&request.proof.nonce).map_err(|e| field_error("proof.nonce", e))?;
    let proof = WalletProof {
        id: request.proof.id,
        wallet,
        nonce,
        signature: parse_signature("proof.signature", &request.proof.signature)?,
    };
    let relay = &issuer.0.config.relay;
    let chain_id = relay.chain_id().await?;
    proof.verify(&request.user_id, &chain_id).map_err(|_| {
        DemoError::unprocessable(
            "bad_wallet_proof",
            "the wallet's signature does not prove ownership of this wallet for this profile: sign the proof text again with the same wallet",
        )
    })?;
    if relay.client.has_profile(&wallet).await?.data {
        return Err(DemoError::new(
            StatusCode::CONFLICT,
            "profile_exists",
            "this wallet already has an idOS profile: sign in and ask for the credential only",
        ));
    }
    issuer.require_registered().await?;
    let signer = issuer.signer();
    relay
        .client
        .submit_action(
            &signer,
            AddUserAsInserter {
                id: request.user_id,
                recipient_encryption_public_key: recipient,
                encryption_password_store: PasswordStore::User,
            },
        )
        .await?;
    let linked = relay
        .client
        .submit_action(
            &signer,
            UpsertWalletAsInserter {
                user_id: request.user_id,
                wallet: proof,
                approval: None,
            },
        )
        .await?;
    tracing::info!(user_id = %request.user_id, wallet = %wallet, "demo issuer created a profile");
    Ok(axum::Json(ProfileResponse {
        user_id: request.user_id,
        wallet: wallet.identifier(),
        committed: Committed {
            tx_hash: linked.hash,
            height: linked.height,
        },
    }))
}

/// `POST /issuer/api/credential`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRequest {
    /// The user's encryption public key (base64): the credential is encrypted to it.
    pub encryption_public_key: String,
    /// The delegated write grant from `start`, unchanged.
    pub grant: DelegatedWriteGrant,
    /// The owner wallet's `personal_sign` signature over `grant_message` (0x hex).
    pub grant_signature: String,
}

/// The credential issued.
#[derive(Debug, Serialize, Deserialize)]
pub struct CredentialResponse {
    /// The user's original.
    pub original_id: Uuid,
    /// The issuer's own copy.
    pub copy_id: Uuid,
    /// The verifiable credential's id (its public notes' `id`).
    pub credential_id: String,
    /// Its type and level.
    pub r#type: String,
    /// Its level.
    pub level: String,
    /// SHA-256 of the content (hex).
    pub content_hash: String,
    /// The made-up document number inside it (sample data).
    pub document_number: String,
    /// The transaction.
    pub committed: Committed,
}

async fn credential(
    State(issuer): State<Issuer>,
    Json(request): Json<CredentialRequest>,
) -> Result<axum::Json<CredentialResponse>, DemoError> {
    let config = &issuer.0.config;
    let recipient = EncryptionPublicKey::parse(&request.encryption_public_key)
        .map_err(|e| field_error("encryption_public_key", e))?;
    let grant = request.grant;
    if grant.issuer_public_key != issuer.public_key()
        || grant.grantee_wallet_identifier != issuer.identity()
    {
        return Err(DemoError::unprocessable(
            "grant_not_for_this_issuer",
            "the grant does not name this issuer as issuer and grantee: start again to get a grant to sign",
        ));
    }
    let times = grant.times().map_err(|e| field_error("grant", e))?;
    if !DelegatedWriteGrant::usable_at(&times, now()) {
        return Err(DemoError::unprocessable(
            "grant_expired",
            "the grant is outside its validity window (an hour from when it was prepared): start again",
        ));
    }
    let signature = parse_signature("grant_signature", &request.grant_signature)?;
    let relay = &config.relay;
    let chain_id = relay.chain_id().await?;
    let message = grant
        .message(&chain_id)
        .map_err(|e| field_error("grant", e))?;
    grant
        .owner_wallet_identifier
        .verify("grant_signature", message.as_bytes(), &signature)
        .map_err(|_| {
            DemoError::unprocessable(
                "bad_grant_signature",
                "the grant's signature is not the owner wallet's over this grant: sign the grant text again with the same wallet",
            )
        })?;
    if !relay
        .client
        .has_profile(&grant.owner_wallet_identifier)
        .await?
        .data
    {
        return Err(DemoError::new(
            StatusCode::CONFLICT,
            "no_profile",
            "this wallet has no idOS profile yet: create the profile first",
        ));
    }
    issuer.require_registered().await?;
    let issued_at = rfc3339(now());
    let sample = sample_credential(
        &grant.owner_wallet_identifier,
        &config.key,
        &config.name,
        &config.level,
        &issued_at,
    );
    let notes = public_notes(&sample, &config.key, &config.name, &config.level);
    let original = seal_credential(&config.key, &recipient, &sample.plaintext, &notes)?;
    let copy = seal_credential(
        &config.key,
        &config.box_key.public_key(),
        &sample.plaintext,
        "",
    )?;
    let hash = content_hash(&sample.plaintext);
    let (original_id, copy_id) = (Uuid::new_v4(), Uuid::new_v4());
    let status = relay
        .client
        .submit_dwg_action(
            &issuer.signer(),
            CreateCredentialsByDwg {
                original_id,
                original,
                copy_id,
                copy,
                content_hash: hash,
                grant,
                grant_signature: signature,
            },
        )
        .await?;
    tracing::info!(%original_id, credential_id = %sample.vc_id, "demo issuer issued a credential");
    Ok(axum::Json(CredentialResponse {
        original_id,
        copy_id,
        credential_id: sample.vc_id.clone(),
        r#type: crate::sample::KYC.to_owned(),
        level: config.level.clone(),
        content_hash: hash.to_text(),
        document_number: sample.document_number.clone(),
        committed: Committed {
            tx_hash: status.hash,
            height: status.height,
        },
    }))
}

async fn no_route() -> DemoError {
    DemoError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "the demo issuer has no such endpoint",
    )
}

/// The issuer's routes, under `/issuer/api/`.
pub fn router(issuer: Issuer) -> Router {
    Router::new()
        .route("/issuer/api/info", get(info))
        .route("/issuer/api/start", post(start))
        .route("/issuer/api/profile", post(profile))
        .route("/issuer/api/credential", post(credential))
        .route("/issuer/api/{*rest}", axum::routing::any(no_route))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(issuer)
}
