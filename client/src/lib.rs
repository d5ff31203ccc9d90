//! A Rust client of the idOS relay's REST API (`/api/v1`), over `reqwest`.
//!
//! One method per route, bearer-token sessions, and errors that carry the relay's stable
//! `{code, message}` and HTTP status apart from transport failures ([`ClientError`]). Records,
//! pages and actions are the `protocol` crate's types. Keys never leave the caller: the client
//! signs the exact text the relay prepared (after checking it is the transaction asked for)
//! and sends only the signature; [`credential`] encrypts and decrypts on the caller's machine.
//!
//! ```no_run
//! # async fn demo() -> Result<(), idos_client::ClientError> {
//! use idos_client::{Client, SiweOptions};
//! use protocol::action::AddAttribute;
//! use protocol::identity::SigningKey;
//!
//! let wallet = SigningKey::generate_evm();
//! let relay = Client::new("http://localhost:8080")?;
//! // Sign in with EIP-4361; the returned client sends the session's bearer token.
//! let me = relay.sign_in_siwe(&wallet, &SiweOptions::default()).await?;
//! let profile = me.me().await?;
//! println!("profile {} at height {}", profile.data.id, profile.height);
//! // Prepare, sign and submit a transaction, waiting for its block.
//! let done = relay
//!     .submit_action(
//!         &wallet,
//!         AddAttribute {
//!             id: uuid::Uuid::new_v4(),
//!             attribute_key: "residence".into(),
//!             value: "CH".into(),
//!         },
//!     )
//!     .await?;
//! assert!(done.is_committed());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod credential;
pub mod error;
pub mod sign_in;
pub mod types;

use std::time::Duration;

use protocol::action::Action;
use protocol::bytes::{Ed25519PublicKey, Sha256Digest};
use protocol::grant::DelegatedWriteGrant;
use protocol::identity::{Identity, SigningKey};
use protocol::query::Query;
use protocol::records::QueryOutput;
use protocol::records::{
    AccessGrantRecord, AttributeRecord, CredentialRecord, CredentialSummary, Page, UserRecord,
    WalletRecord,
};
use protocol::tx::Transaction;
use reqwest::{Method, RequestBuilder, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use uuid::Uuid;

pub use error::{ClientError, Result};
pub use idos_verify::{Freshness, ProvenRead, TrustRoot, Verified, VerifyError, verify_read};
pub use sign_in::SiweOptions;
pub use types::{
    AccessPage, AccessRecord, Answer, ChainInfo, ErrorBody, PageQuery, PreparedTransaction,
    Session, TxStatus,
};

/// How long [`Client::submit_action`] keeps asking for a transaction's block after the relay's
/// own bounded wait, by default.
pub const DEFAULT_COMMIT_TIMEOUT: Duration = Duration::from_secs(60);

/// How many times [`Client::submit_action`] and [`Client::submit_dwg_action`] prepare, sign
/// and submit one action when each try loses its nonce to another transaction of the same
/// signer. Each round of racing transactions lands at least one of them, so this is enough
/// for five at once. A relay that lies `bad_nonce` gets the same action signed this many
/// times; each try names the same ids, so at most one of them takes effect
/// (`relay/tests/journey.rs`).
pub const NONCE_ATTEMPTS: u32 = 5;

/// A client of one relay, optionally signed in. Cheap to clone (the connection pool is
/// shared).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
    commit_timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("signed_in", &self.token.is_some())
            .finish()
    }
}

/// The signature to submit with a prepared transaction.
#[derive(Serialize)]
struct SubmitBody<'a> {
    unsigned: &'a str,
    signature: &'a str,
}

impl Client {
    /// A client of the relay at `base_url` (e.g. `https://relay.example.com`), not signed in.
    pub fn new(base_url: &str) -> Result<Self> {
        let base = Url::parse(base_url)
            .map_err(|e| ClientError::InvalidArgument(format!("relay URL {base_url:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::InvalidArgument(format!(
                "relay URL {base_url:?}: expected http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok(Client {
            http,
            base,
            token: None,
            commit_timeout: DEFAULT_COMMIT_TIMEOUT,
        })
    }

    /// The relay's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// This client sending `token` as `Authorization: Bearer` (a session from another sign-in,
    /// for example one saved by a command-line tool).
    pub fn with_token(&self, token: impl Into<String>) -> Client {
        Client {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    /// This client signed in as `session`.
    pub fn with_session(&self, session: &Session) -> Client {
        self.with_token(session.token.clone())
    }

    /// This client with no session.
    pub fn anonymous(&self) -> Client {
        Client {
            token: None,
            ..self.clone()
        }
    }

    /// This client waiting at most `timeout` for a transaction's block in
    /// [`Client::submit_action`] and [`Client::sign_and_submit`].
    pub fn with_commit_timeout(&self, timeout: Duration) -> Client {
        Client {
            commit_timeout: timeout,
            ..self.clone()
        }
    }

    /// Whether this client sends a session token.
    pub fn is_signed_in(&self) -> bool {
        self.token.is_some()
    }

    // ---- plumbing -----------------------------------------------------------------------

    fn url(&self, path: &str) -> Result<Url> {
        let mut text = self.base.as_str().trim_end_matches('/').to_owned();
        text.push_str(path);
        Url::parse(&text).map_err(|e| ClientError::InvalidArgument(format!("{path}: {e}")))
    }

    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder> {
        let mut req = self.http.request(method, self.url(path)?);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        Ok(req)
    }

    async fn send(req: RequestBuilder) -> Result<reqwest::Response> {
        let response = req.send().await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        Err(match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => ClientError::Api {
                status: status.as_u16(),
                code: body.code,
                message: body.message,
            },
            Err(_) => ClientError::Api {
                status: status.as_u16(),
                code: format!("http_{}", status.as_u16()),
                message: text.chars().take(200).collect(),
            },
        })
    }

    async fn json<T: DeserializeOwned>(req: RequestBuilder) -> Result<T> {
        let response = Self::send(req).await?;
        let bytes = response.bytes().await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::BadAnswer(format!("the answer does not decode: {e}")))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T> {
        Self::json(self.request(Method::GET, path)?.query(query)).await
    }

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: &B,
    ) -> Result<T> {
        Self::json(self.request(Method::POST, path)?.query(query).json(body)).await
    }

    // ---- proven reads ---------------------------------------------------------------------

    /// `POST /api/v1/proven-read`: `query`, read as the signed-in `caller` and verified against
    /// `trust` alone (the header signed by the pinned validators, every proof against its app
    /// hash, the read re-run over the proven entries; see `idos-verify`). The relay is trusted
    /// for nothing: an altered, incomplete or stale answer is a [`ClientError::Unverified`]
    /// with the check's code. The answer, or the refusal the state gives (a
    /// [`ClientError::Refused`] with the node's code), is the client's own computation.
    pub async fn proven_read(
        &self,
        caller: &Identity,
        query: Query,
        trust: &TrustRoot,
        freshness: &Freshness,
    ) -> Result<Verified> {
        let read: ProvenRead = self
            .post("/api/v1/proven-read", &[], &json!({ "query": &query }))
            .await?;
        let verified = verify_read(
            trust,
            freshness,
            &read,
            Some(caller),
            &query,
            tendermint::Time::now(),
        )
        .map_err(|e| ClientError::Unverified {
            code: e.code(),
            message: e.to_string(),
        })?;
        Ok(verified)
    }

    /// [`Client::proven_read`] whose refusals are errors: the verified output and the header
    /// height that proved it.
    pub async fn proven_output(
        &self,
        caller: &Identity,
        query: Query,
        trust: &TrustRoot,
        freshness: &Freshness,
    ) -> Result<(QueryOutput, u64)> {
        let verified = self.proven_read(caller, query, trust, freshness).await?;
        let height = verified.header_height;
        match verified.output {
            Ok(output) => Ok((output, height)),
            Err(e) => Err(ClientError::ReadRefused {
                code: e.code().to_owned(),
                message: e.to_string(),
            }),
        }
    }

    // ---- sign-in ------------------------------------------------------------------------

    /// `GET /api/v1/auth/nonce`: a fresh single-use sign-in nonce.
    pub async fn auth_nonce(&self) -> Result<String> {
        #[derive(serde::Deserialize)]
        struct NonceBody {
            nonce: String,
        }
        let body: NonceBody = self.get("/api/v1/auth/nonce", &[]).await?;
        Ok(body.nonce)
    }

    /// `POST /api/v1/auth/siwe` with a message and its `0x` signature, as a wallet signed them.
    pub async fn siwe(&self, message: &str, signature: &str) -> Result<Session> {
        self.post(
            "/api/v1/auth/siwe",
            &[],
            &json!({"message": message, "signature": signature}),
        )
        .await
    }

    /// Signs in an EVM wallet key with EIP-4361 (see [`Client::sign_in_siwe_session`]) and
    /// returns this client signed in.
    pub async fn sign_in_siwe(&self, key: &SigningKey, options: &SiweOptions) -> Result<Client> {
        let session = self.sign_in_siwe_session(key, options).await?;
        Ok(self.with_session(&session))
    }

    /// Signs in an EVM wallet key with EIP-4361: gets a nonce, builds the message
    /// ([`sign_in::siwe_message`]), signs it (`personal_sign`) and returns the session.
    pub async fn sign_in_siwe_session(
        &self,
        key: &SigningKey,
        options: &SiweOptions,
    ) -> Result<Session> {
        let nonce = self.auth_nonce().await?;
        let origin = options
            .origin
            .clone()
            .unwrap_or_else(|| sign_in::origin_of(&self.base));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let message = sign_in::siwe_message(
            &key.identity(),
            &origin,
            options.chain_id,
            options.statement.as_deref(),
            &nonce,
            now,
        )?;
        self.siwe(&message, &sign_in::sign_hex(key, &message)).await
    }

    /// `POST /api/v1/auth/ed25519` with a public key, the nonce and the hex signature.
    pub async fn ed25519_sign_in(
        &self,
        public_key: &Ed25519PublicKey,
        nonce: &str,
        signature_hex: &str,
    ) -> Result<Session> {
        self.post(
            "/api/v1/auth/ed25519",
            &[],
            &json!({"public_key": public_key.to_text(), "nonce": nonce, "signature": signature_hex}),
        )
        .await
    }

    /// Signs in an Ed25519 key (see [`Client::sign_in_ed25519_session`]) and returns this
    /// client signed in.
    pub async fn sign_in_ed25519(&self, key: &SigningKey, origin: Option<&str>) -> Result<Client> {
        let session = self.sign_in_ed25519_session(key, origin).await?;
        Ok(self.with_session(&session))
    }

    /// Signs in an Ed25519 key (issuers, consumers, dapp back ends): gets a nonce and the chain
    /// id (the sign-in text's network), signs [`sign_in::ed25519_sign_in_text`] for `origin`
    /// (`None`: the base URL's origin) and returns the session.
    pub async fn sign_in_ed25519_session(
        &self,
        key: &SigningKey,
        origin: Option<&str>,
    ) -> Result<Session> {
        let Identity::Ed25519(public_key) = key.identity() else {
            return Err(ClientError::InvalidArgument(
                "Ed25519 sign-in needs an Ed25519 key; sign in EVM wallets with sign_in_siwe"
                    .into(),
            ));
        };
        let network = self.chain().await?.chain_id;
        let nonce = self.auth_nonce().await?;
        let origin = origin
            .map(str::to_owned)
            .unwrap_or_else(|| sign_in::origin_of(&self.base));
        let text = sign_in::ed25519_sign_in_text(&origin, &network, &public_key, &nonce);
        let signature = hex::encode(key.sign(text.as_bytes()));
        self.ed25519_sign_in(&public_key, &nonce, &signature).await
    }

    /// `POST /api/v1/auth/wallet` with the wallet's type, identifier, the nonce and the hex
    /// signature.
    pub async fn wallet_sign_in(
        &self,
        wallet: &Identity,
        nonce: &str,
        signature_hex: &str,
    ) -> Result<Session> {
        self.post(
            "/api/v1/auth/wallet",
            &[],
            &json!({
                "wallet_type": protocol::wallet::WalletType::of(wallet),
                "wallet": wallet.identifier(),
                "nonce": nonce,
                "signature": signature_hex,
            }),
        )
        .await
    }

    /// Signs in a wallet of any type (see [`Client::sign_in_wallet_session`]) and returns this
    /// client signed in.
    pub async fn sign_in_wallet(&self, key: &SigningKey, origin: Option<&str>) -> Result<Client> {
        let session = self.sign_in_wallet_session(key, origin).await?;
        Ok(self.with_session(&session))
    }

    /// Signs in a wallet of any type (NEAR, XRPL, Stellar, FaceSign, EVM): gets a nonce and the
    /// chain id, signs [`sign_in::wallet_sign_in_text`] for `origin` (`None`: the base URL's
    /// origin) with the wallet's own scheme, and returns the session.
    pub async fn sign_in_wallet_session(
        &self,
        key: &SigningKey,
        origin: Option<&str>,
    ) -> Result<Session> {
        let wallet = key.identity();
        let network = self.chain().await?.chain_id;
        let nonce = self.auth_nonce().await?;
        let origin = origin
            .map(str::to_owned)
            .unwrap_or_else(|| sign_in::origin_of(&self.base));
        let text = sign_in::wallet_sign_in_text(&origin, &network, &wallet, &nonce);
        let signature = hex::encode(key.sign(text.as_bytes()));
        self.wallet_sign_in(&wallet, &nonce, &signature).await
    }

    /// `POST /api/v1/auth/logout`: ends this client's session on the relay.
    pub async fn logout(&self) -> Result<()> {
        Self::send(self.request(Method::POST, "/api/v1/auth/logout")?).await?;
        Ok(())
    }

    // ---- profile ------------------------------------------------------------------------

    /// `GET /api/v1/me`: the caller's profile.
    pub async fn me(&self) -> Result<Answer<UserRecord>> {
        self.get("/api/v1/me", &[]).await
    }

    /// `GET /api/v1/wallets`: the caller's wallets.
    pub async fn wallets(&self, page: &PageQuery) -> Result<Answer<Page<WalletRecord>>> {
        self.get("/api/v1/wallets", &page.pairs()).await
    }

    /// `GET /api/v1/attributes`: the caller's attributes.
    pub async fn attributes(&self, page: &PageQuery) -> Result<Answer<Page<AttributeRecord>>> {
        self.get("/api/v1/attributes", &page.pairs()).await
    }

    /// `GET /api/v1/profiles/{address}/exists`: whether a profile has this wallet.
    pub async fn has_profile(&self, address: &Identity) -> Result<Answer<bool>> {
        self.get(&format!("/api/v1/profiles/{address}/exists"), &[])
            .await
    }

    // ---- credentials --------------------------------------------------------------------

    /// `GET /api/v1/credentials`: the caller's credentials, without content.
    pub async fn credentials(&self, page: &PageQuery) -> Result<Answer<Page<CredentialSummary>>> {
        self.get("/api/v1/credentials", &page.pairs()).await
    }

    /// `GET /api/v1/credentials/{id}`: one of the caller's credentials, with its ciphertext.
    pub async fn credential(&self, id: Uuid) -> Result<Answer<CredentialRecord>> {
        self.get(&format!("/api/v1/credentials/{id}"), &[]).await
    }

    /// `GET /api/v1/credentials/{id}/public-notes`.
    pub async fn credential_public_notes(&self, id: Uuid) -> Result<Answer<String>> {
        self.get(&format!("/api/v1/credentials/{id}/public-notes"), &[])
            .await
    }

    /// `GET /api/v1/credentials/{id}/locked`: whether a grant on it is still time-locked.
    pub async fn credential_locked(&self, id: Uuid) -> Result<Answer<bool>> {
        self.get(&format!("/api/v1/credentials/{id}/locked"), &[])
            .await
    }

    // ---- grants -------------------------------------------------------------------------

    /// `GET /api/v1/grants/owned`: grants the caller gave.
    pub async fn grants_owned(&self, page: &PageQuery) -> Result<Answer<Page<AccessGrantRecord>>> {
        self.get("/api/v1/grants/owned", &page.pairs()).await
    }

    /// `GET /api/v1/grants/granted`: grants given to the caller (optionally by one user).
    pub async fn grants_granted(
        &self,
        user_id: Option<Uuid>,
        page: &PageQuery,
    ) -> Result<Answer<Page<AccessGrantRecord>>> {
        let mut query = page.pairs();
        if let Some(user) = user_id {
            query.push(("user_id", user.to_string()));
        }
        self.get("/api/v1/grants/granted", &query).await
    }

    /// `GET /api/v1/grants/granted/count`.
    pub async fn grants_granted_count(&self, user_id: Option<Uuid>) -> Result<Answer<u64>> {
        let query: Vec<(&str, String)> = user_id
            .map(|u| vec![("user_id", u.to_string())])
            .unwrap_or_default();
        self.get("/api/v1/grants/granted/count", &query).await
    }

    /// `GET /api/v1/grants/by-credential/{id}`: grants to the caller on one copy.
    pub async fn grants_for_credential(
        &self,
        credential_id: Uuid,
        page: &PageQuery,
    ) -> Result<Answer<Page<AccessGrantRecord>>> {
        self.get(
            &format!("/api/v1/grants/by-credential/{credential_id}"),
            &page.pairs(),
        )
        .await
    }

    /// `POST /api/v1/grants/{id}/revoke`: the caller's revoke transaction, to sign.
    pub async fn prepare_revoke(
        &self,
        grant_id: Uuid,
        nonce: Option<u64>,
    ) -> Result<PreparedTransaction> {
        self.post(
            &format!("/api/v1/grants/{grant_id}/revoke"),
            &[],
            &json!({"nonce": nonce}),
        )
        .await
    }

    // ---- shared copies ------------------------------------------------------------------

    /// `GET /api/v1/shared/{id}`: a copy shared with the caller, with its ciphertext (the read
    /// goes into the owner's access log).
    pub async fn shared_credential(&self, copy_id: Uuid) -> Result<Answer<CredentialRecord>> {
        self.get(&format!("/api/v1/shared/{copy_id}"), &[]).await
    }

    /// `GET /api/v1/shared/by-user/{user_id}`: copies of one user's credentials shared with the
    /// caller (optionally only those whose original `issuer` signed).
    pub async fn shared_by_user(
        &self,
        user_id: Uuid,
        issuer: Option<&Ed25519PublicKey>,
        page: &PageQuery,
    ) -> Result<Answer<Page<CredentialSummary>>> {
        let mut query = page.pairs();
        if let Some(issuer) = issuer {
            query.push(("issuer", issuer.to_text()));
        }
        self.get(&format!("/api/v1/shared/by-user/{user_id}"), &query)
            .await
    }

    /// `GET /api/v1/shared/sibling/{content_hash}`.
    pub async fn sibling_credential(
        &self,
        content_hash: &Sha256Digest,
    ) -> Result<Answer<Option<Uuid>>> {
        self.get(&format!("/api/v1/shared/sibling/{content_hash}"), &[])
            .await
    }

    /// `POST /api/v1/shared/{id}/rescind`: the caller's rescind transaction, to sign.
    pub async fn prepare_rescind(
        &self,
        copy_id: Uuid,
        nonce: Option<u64>,
    ) -> Result<PreparedTransaction> {
        self.post(
            &format!("/api/v1/shared/{copy_id}/rescind"),
            &[],
            &json!({"nonce": nonce}),
        )
        .await
    }

    /// `GET /api/v1/access-log`: reads of the caller's data through this relay, newest first.
    pub async fn access_log(&self, page: &PageQuery) -> Result<AccessPage> {
        self.get("/api/v1/access-log", &page.pairs()).await
    }

    // ---- delegated write grants ---------------------------------------------------------

    /// `POST /api/v1/dwg/message`: the text the owner's wallet signs for `grant`.
    pub async fn dwg_message(&self, grant: &DelegatedWriteGrant) -> Result<String> {
        let answer: Answer<String> = self
            .post("/api/v1/dwg/message", &[], &json!({"grant": grant}))
            .await?;
        Ok(answer.data)
    }

    /// `POST /api/v1/dwg`: submits a signed `create_credentials_by_dwg` transaction.
    pub async fn submit_dwg(
        &self,
        unsigned: &str,
        signature: &str,
        wait_commit: bool,
    ) -> Result<TxStatus> {
        self.post(
            "/api/v1/dwg",
            &wait_query(wait_commit),
            &SubmitBody {
                unsigned,
                signature,
            },
        )
        .await
    }

    // ---- transactions -------------------------------------------------------------------

    /// `POST /api/v1/tx/prepare`: the exact text to sign for `action` by `signer`.
    pub async fn prepare(
        &self,
        action: &Action,
        signer: &Identity,
        nonce: Option<u64>,
    ) -> Result<PreparedTransaction> {
        self.post(
            "/api/v1/tx/prepare",
            &[],
            &json!({"action": action, "signer": signer, "nonce": nonce}),
        )
        .await
    }

    /// `POST /api/v1/tx`: submits a prepared transaction's `unsigned` encoding with the
    /// signature over its text; with `wait_commit`, the relay answers once it is in a block
    /// (within its own bound).
    pub async fn submit(
        &self,
        unsigned: &str,
        signature: &str,
        wait_commit: bool,
    ) -> Result<TxStatus> {
        self.post(
            "/api/v1/tx",
            &wait_query(wait_commit),
            &SubmitBody {
                unsigned,
                signature,
            },
        )
        .await
    }

    /// `GET /api/v1/tx/{hash}` (with `wait=commit`: waits, bounded, for its block).
    pub async fn tx_status(&self, hash: &str, wait_commit: bool) -> Result<TxStatus> {
        self.get(&format!("/api/v1/tx/{hash}"), &wait_query(wait_commit))
            .await
    }

    /// `GET /api/v1/nonce/{account}`: the nonce of the account's next transaction.
    pub async fn next_nonce(&self, account: &Identity) -> Result<u64> {
        let answer: Answer<u64> = self.get(&format!("/api/v1/nonce/{account}"), &[]).await?;
        Ok(answer.data)
    }

    /// `GET /api/v1/chain`: the chain and node behind the relay.
    pub async fn chain(&self) -> Result<ChainInfo> {
        self.get("/api/v1/chain", &[]).await
    }

    // ---- high level ---------------------------------------------------------------------

    /// Prepares `action` for `signer`, signs the exact signing text, submits it and waits for
    /// its block: the committed status, or [`ClientError::Refused`] with the node's code.
    ///
    /// When another transaction of the same signer took the nonce first (two tabs, or a
    /// script beside the dashboard), the node refuses this one with `bad_nonce` before running
    /// it; the action is then prepared again with the next free nonce and signed again, up to
    /// [`NONCE_ATTEMPTS`] times in all. Every other refusal is returned at once.
    pub async fn submit_action(
        &self,
        signer: &SigningKey,
        action: impl Into<Action>,
    ) -> Result<TxStatus> {
        let action = action.into();
        self.with_fresh_nonce(|| async {
            let prepared = self.prepare(&action, &signer.identity(), None).await?;
            self.sign_and_submit(signer, &prepared, Some(&action)).await
        })
        .await
    }

    /// Runs `attempt` (prepare, sign, submit, wait) again while it fails only because its
    /// nonce was taken (`bad_nonce`, at CheckTx or in the block), at most [`NONCE_ATTEMPTS`]
    /// times. A transaction refused for its nonce never ran, so trying again cannot apply
    /// the action twice.
    async fn with_fresh_nonce<F, Fut>(&self, attempt: F) -> Result<TxStatus>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<TxStatus>>,
    {
        let mut left = NONCE_ATTEMPTS;
        loop {
            left -= 1;
            match attempt().await {
                Err(e) if left > 0 && e.code() == "bad_nonce" => continue,
                other => return other,
            }
        }
    }

    /// Signs a prepared transaction with `signer` after checking it is what was asked for (its
    /// encoding decodes to a transaction by `signer`, whose signing text is the one shown, and
    /// whose action is `expected` when given), submits it and waits for its block.
    pub async fn sign_and_submit(
        &self,
        signer: &SigningKey,
        prepared: &PreparedTransaction,
        expected: Option<&Action>,
    ) -> Result<TxStatus> {
        let signature = sign_prepared(signer, prepared, expected)?;
        let status = self.submit(&prepared.unsigned, &signature, true).await?;
        self.until_committed(status).await
    }

    /// Like [`Client::submit_action`] for a `create_credentials_by_dwg` transaction, through
    /// `POST /api/v1/dwg` (tried again after a `bad_nonce` the same way).
    pub async fn submit_dwg_action(
        &self,
        signer: &SigningKey,
        action: impl Into<Action>,
    ) -> Result<TxStatus> {
        let action = action.into();
        self.with_fresh_nonce(|| async {
            let prepared = self.prepare(&action, &signer.identity(), None).await?;
            let signature = sign_prepared(signer, &prepared, Some(&action))?;
            let status = self
                .submit_dwg(&prepared.unsigned, &signature, true)
                .await?;
            self.until_committed(status).await
        })
        .await
    }

    /// Asks for `status`'s block until it is committed, refused or the commit timeout passes.
    async fn until_committed(&self, mut status: TxStatus) -> Result<TxStatus> {
        let deadline = std::time::Instant::now() + self.commit_timeout;
        loop {
            match status.status.as_str() {
                "committed" => return Ok(status),
                "refused" => {
                    let error = status.error.unwrap_or(ErrorBody {
                        code: "refused".into(),
                        message: "refused without a reason".into(),
                    });
                    return Err(ClientError::Refused {
                        code: error.code,
                        message: error.message,
                        hash: status.hash,
                    });
                }
                _ if std::time::Instant::now() >= deadline => {
                    return Err(ClientError::NotCommitted { hash: status.hash });
                }
                _ => {}
            }
            status = match self.tx_status(&status.hash, true).await {
                Ok(found) => found,
                Err(ClientError::Api { code, .. }) if code == "tx_not_found" => status,
                Err(e) => return Err(e),
            };
        }
    }
}

fn wait_query(wait_commit: bool) -> Vec<(&'static str, String)> {
    if wait_commit {
        vec![("wait", "commit".to_owned())]
    } else {
        Vec::new()
    }
}

/// `signer`'s signature (`0x` hex) over a prepared transaction's text, after checking that
/// its `unsigned` encoding is a transaction by `signer` whose signing text is exactly
/// `prepared.signing_text` and, when given, whose action is `expected`. A relay cannot get a
/// signature over anything else.
pub fn sign_prepared(
    signer: &SigningKey,
    prepared: &PreparedTransaction,
    expected: Option<&Action>,
) -> Result<String> {
    let bytes = hex::decode(&prepared.unsigned)
        .map_err(|_| ClientError::PreparedMismatch("`unsigned` is not hex".into()))?;
    let tx = Transaction::decode(&bytes)
        .map_err(|e| ClientError::PreparedMismatch(format!("`unsigned` does not decode: {e}")))?;
    if tx.signer != signer.identity() {
        return Err(ClientError::PreparedMismatch(format!(
            "the transaction is for signer {}, not {}",
            tx.signer,
            signer.identity()
        )));
    }
    if tx.signing_text() != prepared.signing_text {
        return Err(ClientError::PreparedMismatch(
            "the signing text shown is not the encoded transaction's".into(),
        ));
    }
    if let Some(expected) = expected
        && &tx.action != expected
    {
        return Err(ClientError::PreparedMismatch(format!(
            "the transaction's action is {}, not the {} asked for",
            tx.action.name(),
            expected.name()
        )));
    }
    Ok(sign_in::sign_hex(signer, &prepared.signing_text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::action::{AddAttribute, RemoveAttribute};

    fn prepared(key: &SigningKey, action: Action) -> PreparedTransaction {
        let tx = Transaction {
            chain_id: "idos-local".into(),
            nonce: 1,
            signer: key.identity(),
            action,
        };
        PreparedTransaction {
            chain_id: tx.chain_id.clone(),
            nonce: 1,
            signer: key.identity().identifier(),
            signing_text: tx.signing_text(),
            unsigned: hex::encode(tx.encode()),
        }
    }

    #[test]
    fn fail_a_prepared_transaction_other_than_asked_is_not_signed() {
        let key = SigningKey::generate_evm();
        let asked: Action = AddAttribute {
            id: Uuid::nil(),
            attribute_key: "k".into(),
            value: "v".into(),
        }
        .into();
        let good = prepared(&key, asked.clone());
        let signature = sign_prepared(&key, &good, Some(&asked)).unwrap();
        key.identity()
            .verify(
                "signature",
                good.signing_text.as_bytes(),
                &hex::decode(&signature[2..]).unwrap(),
            )
            .unwrap();

        let other = prepared(&key, RemoveAttribute { id: Uuid::nil() }.into());
        let err = sign_prepared(&key, &other, Some(&asked)).unwrap_err();
        assert_eq!(err.code(), "prepared_mismatch");
        let mut shown = good.clone();
        shown.signing_text.push('x');
        assert_eq!(
            sign_prepared(&key, &shown, None).unwrap_err().code(),
            "prepared_mismatch"
        );
        let someone = SigningKey::generate_evm();
        assert_eq!(
            sign_prepared(&someone, &good, None).unwrap_err().code(),
            "prepared_mismatch"
        );
    }

    #[test]
    fn fail_a_base_url_that_is_not_http_is_refused() {
        assert_eq!(
            Client::new("ftp://x").unwrap_err().code(),
            "invalid_argument"
        );
        assert_eq!(
            Client::new("not a url").unwrap_err().code(),
            "invalid_argument"
        );
        let c = Client::new("http://127.0.0.1:9/prefix/").unwrap();
        assert_eq!(
            c.url("/api/v1/me").unwrap().as_str(),
            "http://127.0.0.1:9/prefix/api/v1/me"
        );
    }
}
