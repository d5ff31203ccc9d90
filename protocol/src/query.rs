//! Reads: what can be asked, and how the caller proves who asks.
//!
//! A read names its caller in one of three ways:
//! - [`QueryAuth::Anonymous`], only for the reads anyone may make (`has_profile`, message
//!   builders, nonces);
//! - [`QueryAuth::Caller`]: the caller's own signature over [`query_signing_text`], fresh
//!   within [`QUERY_FRESHNESS_SECONDS`];
//! - [`QueryAuth::Gateway`]: an Ed25519 attestation by a gateway (relay) key that the node's
//!   configuration lists, saying "this session belongs to `caller`".
//!
//! The node never trusts a caller field that is not covered by one of these signatures.

use uuid::Uuid;

use crate::bytes::{Bytes, Ed25519PublicKey, Ed25519Signature, Nonce128, Sha256Digest};
use crate::error::{Error, Result};
use crate::grant::DelegatedWriteGrant;
use crate::identity::{Ed25519SigningKey, Identity, SigningKey};
use crate::records::Cursor;
use crate::time::format_rfc3339;
use crate::tx::{digest_of, validate_chain_id};

/// The envelope version of reads.
pub const QUERY_VERSION: u8 = 1;

/// Largest encoded read accepted.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// How far a signed read's `issued_at` may be from the node's clock.
pub const QUERY_FRESHNESS_SECONDS: i64 = 300;

/// Largest page of a list read.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// The page size of a list read that names none (JSON clients may leave `page` out).
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// Which page of a list read to answer. Every list read is paginated, so that a read costs
/// the node work in proportion to its page, never to everything the caller has.
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
pub struct PageRequest {
    /// The previous page's `next_cursor`; `None` for the first page.
    #[serde(default)]
    pub after: Option<Cursor>,
    /// The most rows to return, 1 to [`MAX_PAGE_SIZE`].
    #[serde(default = "default_page_size")]
    pub limit: u32,
}

fn default_page_size() -> u32 {
    DEFAULT_PAGE_SIZE
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest::first(DEFAULT_PAGE_SIZE)
    }
}

impl PageRequest {
    /// The first page, of at most `limit` rows.
    pub fn first(limit: u32) -> Self {
        PageRequest { after: None, limit }
    }

    /// The page after `cursor` (a previous page's `next_cursor`).
    pub fn after(cursor: Cursor, limit: u32) -> Self {
        PageRequest {
            after: Some(cursor),
            limit,
        }
    }

    /// Stateless checks: the limit's bounds and the cursor's length.
    pub fn validate(&self) -> Result<()> {
        if self.limit < 1 || self.limit > MAX_PAGE_SIZE {
            return Err(Error::invalid(
                "limit",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        match &self.after {
            Some(cursor) => cursor.validate(),
            None => Ok(()),
        }
    }
}

/// Something to read. Names are idOS's view names.
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
#[serde(tag = "query", rename_all = "snake_case")]
// Exhaustive on purpose: a new read must make the node's `match` say who may make it and what
// it returns, which a wildcard arm would hide.
pub enum Query {
    /// The caller's profile.
    GetUser,
    /// A profile, for an inserter.
    GetUserAsInserter { id: Uuid },
    /// Whether a credential exists, for an inserter.
    CredentialExistAsInserter { id: Uuid },
    /// The caller's wallets, in id order.
    GetWallets {
        #[serde(default)]
        page: PageRequest,
    },
    /// The caller's credentials (originals and copies), without content, in id order.
    GetCredentials {
        #[serde(default)]
        page: PageRequest,
    },
    /// One of the caller's credentials with its content.
    GetCredentialOwned { id: Uuid },
    /// The caller's attributes, in id order.
    GetAttributes {
        #[serde(default)]
        page: PageRequest,
    },
    /// Access grants the caller gave, in id order.
    GetAccessGrantsOwned {
        #[serde(default)]
        page: PageRequest,
    },
    /// Whether a credential has a grant still time-locked.
    HasLockedAccessGrants { id: Uuid },
    /// Access grants given to the caller (optionally only by one user), ordered by height then
    /// id.
    GetAccessGrantsGranted {
        user_id: Option<Uuid>,
        #[serde(default)]
        page: PageRequest,
    },
    /// How many access grants the caller has received (optionally from one user).
    GetAccessGrantsGrantedCount { user_id: Option<Uuid> },
    /// Access grants to the caller on one copy.
    GetAccessGrantsForCredential {
        credential_id: Uuid,
        #[serde(default)]
        page: PageRequest,
    },
    /// A copy shared with the caller, with its original's public notes.
    GetCredentialShared { id: Uuid },
    /// Copies of one user's credentials shared with the caller (optionally only those whose
    /// original an issuer key signed), ordered by the height then id of their grants. With the
    /// issuer filter a page looks at `limit` grants and may hold fewer copies.
    GetCredentialsSharedByUser {
        user_id: Uuid,
        original_issuer_auth_public_key: Option<Ed25519PublicKey>,
        #[serde(default)]
        page: PageRequest,
    },
    /// The id of a credential shared with the caller whose grant has this content hash.
    GetSiblingCredentialId { content_hash: Sha256Digest },
    /// Whether any profile has this wallet. Anyone may ask.
    HasProfile { address: Identity },
    /// The text an owner signs for a delegated write grant. Anyone may ask.
    DwgMessage { grant: DelegatedWriteGrant },
    /// The text a wallet signs to prove it belongs to a user. Anyone may ask.
    WalletProofMessage {
        user_id: Uuid,
        wallet: Identity,
        nonce: Nonce128,
    },
    /// The nonce an account's next transaction must carry. Anyone may ask.
    NextNonce { account: Identity },
    /// The text a wallet of a profile signs to approve linking another wallet (see
    /// [`crate::wallet::WalletApproval`]). Anyone may ask.
    WalletApprovalMessage {
        user_id: Uuid,
        approver: Identity,
        new_wallet: Identity,
        proof_nonce: Nonce128,
    },
}

impl Query {
    /// idOS's name of the read.
    pub fn name(&self) -> &'static str {
        match self {
            Query::GetUser => "get_user",
            Query::GetUserAsInserter { .. } => "get_user_as_inserter",
            Query::CredentialExistAsInserter { .. } => "credential_exist_as_inserter",
            Query::GetWallets { .. } => "get_wallets",
            Query::GetCredentials { .. } => "get_credentials",
            Query::GetCredentialOwned { .. } => "get_credential_owned",
            Query::GetAttributes { .. } => "get_attributes",
            Query::GetAccessGrantsOwned { .. } => "get_access_grants_owned",
            Query::HasLockedAccessGrants { .. } => "has_locked_access_grants",
            Query::GetAccessGrantsGranted { .. } => "get_access_grants_granted",
            Query::GetAccessGrantsGrantedCount { .. } => "get_access_grants_granted_count",
            Query::GetAccessGrantsForCredential { .. } => "get_access_grants_for_credential",
            Query::GetCredentialShared { .. } => "get_credential_shared",
            Query::GetCredentialsSharedByUser { .. } => "get_credentials_shared_by_user",
            Query::GetSiblingCredentialId { .. } => "get_sibling_credential_id",
            Query::HasProfile { .. } => "has_profile",
            Query::DwgMessage { .. } => "dwg_message",
            Query::WalletProofMessage { .. } => "wallet_proof_message",
            Query::NextNonce { .. } => "next_nonce",
            Query::WalletApprovalMessage { .. } => "wallet_approval_message",
        }
    }

    /// Whether anyone may make this read without proving who they are.
    pub fn is_public(&self) -> bool {
        // Every read is named, so a new one cannot be added without deciding this.
        match self {
            Query::HasProfile { .. }
            | Query::DwgMessage { .. }
            | Query::WalletProofMessage { .. }
            | Query::NextNonce { .. }
            | Query::WalletApprovalMessage { .. } => true,
            Query::GetUser
            | Query::GetUserAsInserter { .. }
            | Query::CredentialExistAsInserter { .. }
            | Query::GetWallets { .. }
            | Query::GetCredentials { .. }
            | Query::GetCredentialOwned { .. }
            | Query::GetAttributes { .. }
            | Query::GetAccessGrantsOwned { .. }
            | Query::HasLockedAccessGrants { .. }
            | Query::GetAccessGrantsGranted { .. }
            | Query::GetAccessGrantsGrantedCount { .. }
            | Query::GetAccessGrantsForCredential { .. }
            | Query::GetCredentialShared { .. }
            | Query::GetCredentialsSharedByUser { .. }
            | Query::GetSiblingCredentialId { .. } => false,
        }
    }

    /// The page a list read asks for (`None` for reads of one row or one value).
    pub fn page(&self) -> Option<&PageRequest> {
        match self {
            Query::GetWallets { page }
            | Query::GetCredentials { page }
            | Query::GetAttributes { page }
            | Query::GetAccessGrantsOwned { page }
            | Query::GetAccessGrantsGranted { page, .. }
            | Query::GetAccessGrantsForCredential { page, .. }
            | Query::GetCredentialsSharedByUser { page, .. } => Some(page),
            Query::GetUser
            | Query::GetUserAsInserter { .. }
            | Query::CredentialExistAsInserter { .. }
            | Query::GetCredentialOwned { .. }
            | Query::HasLockedAccessGrants { .. }
            | Query::GetAccessGrantsGrantedCount { .. }
            | Query::GetCredentialShared { .. }
            | Query::GetSiblingCredentialId { .. }
            | Query::HasProfile { .. }
            | Query::DwgMessage { .. }
            | Query::WalletProofMessage { .. }
            | Query::NextNonce { .. }
            | Query::WalletApprovalMessage { .. } => None,
        }
    }

    /// Stateless checks (page bounds, cursor length).
    pub fn validate(&self) -> Result<()> {
        match self.page() {
            Some(page) => page.validate(),
            None => Ok(()),
        }
    }
}

/// How the caller of a read is proven.
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
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QueryAuth {
    /// No caller (public reads only).
    Anonymous,
    /// The caller signed the read.
    Caller {
        signer: Identity,
        issued_at: i64,
        signature: Bytes,
    },
    /// A listed gateway key attests that the read comes from `caller`.
    Gateway {
        caller: Identity,
        gateway: Ed25519PublicKey,
        issued_at: i64,
        signature: Ed25519Signature,
    },
}

/// A read with its caller's proof.
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
pub struct SignedQuery {
    pub chain_id: String,
    pub query: Query,
    pub auth: QueryAuth,
}

/// The text a caller (or, with `gateway`, a gateway key) signs to make a read.
pub fn query_signing_text(
    chain_id: &str,
    query: &Query,
    caller: &Identity,
    issued_at: i64,
    gateway: Option<&Ed25519PublicKey>,
) -> String {
    let when = format_rfc3339(issued_at).unwrap_or_else(|| issued_at.to_string());
    let heading = if gateway.is_some() {
        "idOS gateway attestation"
    } else {
        "idOS read request"
    };
    let gateway_line = gateway
        .map(|g| format!("Gateway: {g}\n"))
        .unwrap_or_default();
    format!(
        "{heading}\nQuery: {}\n\nCaller: {}\n{gateway_line}Arguments digest: {}\nIssued at: {when}\nChain ID: {chain_id}\nVersion: {QUERY_VERSION}\n",
        query.name(),
        caller.display_name(),
        digest_of(query),
    )
}

impl SignedQuery {
    /// A read anyone may make.
    pub fn anonymous(chain_id: impl Into<String>, query: Query) -> Self {
        SignedQuery {
            chain_id: chain_id.into(),
            query,
            auth: QueryAuth::Anonymous,
        }
    }

    /// A read signed by the caller's own key.
    pub fn signed(
        chain_id: impl Into<String>,
        query: Query,
        key: &SigningKey,
        issued_at: i64,
    ) -> Self {
        let chain_id = chain_id.into();
        let signer = key.identity();
        let text = query_signing_text(&chain_id, &query, &signer, issued_at, None);
        let signature = key.sign(text.as_bytes()).into();
        SignedQuery {
            chain_id,
            query,
            auth: QueryAuth::Caller {
                signer,
                issued_at,
                signature,
            },
        }
    }

    /// A read attested by a gateway key on behalf of `caller`.
    pub fn attested(
        chain_id: impl Into<String>,
        query: Query,
        caller: Identity,
        gateway: &Ed25519SigningKey,
        issued_at: i64,
    ) -> Self {
        let chain_id = chain_id.into();
        let gateway_key = gateway.public_key();
        let text = query_signing_text(&chain_id, &query, &caller, issued_at, Some(&gateway_key));
        let signature = gateway.sign(text.as_bytes());
        SignedQuery {
            chain_id,
            query,
            auth: QueryAuth::Gateway {
                caller,
                gateway: gateway_key,
                issued_at,
                signature,
            },
        }
    }

    /// Canonical bytes: version byte, then Borsh.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![QUERY_VERSION];
        borsh::to_writer(&mut out, self).expect("borsh encoding into a Vec cannot fail");
        out
    }

    /// Decodes and statelessly validates a read. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_QUERY_BYTES {
            return Err(Error::TooLarge {
                what: "query",
                actual: bytes.len(),
                limit: MAX_QUERY_BYTES,
            });
        }
        let (&version, body) = bytes
            .split_first()
            .ok_or_else(|| Error::malformed("query", "empty input"))?;
        if version != QUERY_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "query",
                version,
                supported: QUERY_VERSION,
            });
        }
        let query: SignedQuery =
            borsh::from_slice(body).map_err(|e| Error::malformed("query", e))?;
        validate_chain_id(&query.chain_id)?;
        query.query.validate()?;
        Ok(query)
    }

    /// Verifies the caller's proof and returns the proven caller (`None` for anonymous reads).
    /// `now` is the verifier's clock (unix seconds); `is_trusted_gateway` says whether a
    /// gateway key is listed in the verifier's configuration.
    pub fn authenticate(
        &self,
        now: i64,
        is_trusted_gateway: impl Fn(&Ed25519PublicKey) -> bool,
    ) -> Result<Option<Identity>> {
        let fresh = |issued_at: i64| {
            if now.abs_diff(issued_at) > QUERY_FRESHNESS_SECONDS.unsigned_abs() {
                Err(Error::invalid(
                    "issued_at",
                    format!(
                        "the read was signed at {issued_at}, more than {QUERY_FRESHNESS_SECONDS} s from now ({now})"
                    ),
                ))
            } else {
                Ok(())
            }
        };
        match &self.auth {
            QueryAuth::Anonymous => Ok(None),
            QueryAuth::Caller {
                signer,
                issued_at,
                signature,
            } => {
                fresh(*issued_at)?;
                let text =
                    query_signing_text(&self.chain_id, &self.query, signer, *issued_at, None);
                signer.verify("query signature", text.as_bytes(), signature)?;
                Ok(Some(*signer))
            }
            QueryAuth::Gateway {
                caller,
                gateway,
                issued_at,
                signature,
            } => {
                if !is_trusted_gateway(gateway) {
                    return Err(Error::invalid(
                        "gateway",
                        "this gateway key is not trusted by the node",
                    ));
                }
                fresh(*issued_at)?;
                let text = query_signing_text(
                    &self.chain_id,
                    &self.query,
                    caller,
                    *issued_at,
                    Some(gateway),
                );
                crate::identity::verify_ed25519(
                    "gateway attestation",
                    gateway,
                    text.as_bytes(),
                    signature,
                )?;
                Ok(Some(*caller))
            }
        }
    }
}
