//! The methods a host may call, their parameters, and what each needs from the user. Nothing
//! derived from plaintext (content, a field, whether a field matches) reaches the host without
//! an approval in the dialog: `release` and `share` ask every time, `filter` once per question
//! and page session, `view` and `backup` show their content in the dialog only. `verifyRead`
//! needs nothing from the user: it checks what a relay said.

use js_sys::Object;
use protocol::bytes::EncryptionPublicKey;
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use zeroize::Zeroizing;

use super::dialog_client::user_dialog;
use super::host::{parent_origin, post};
use super::keys::{self, ensure_key, expire_if_due, status};
use super::with;
use crate::consent::{IssuerCheck, Section, check_issuer, content_sections, fingerprint};
use crate::error::{EnclaveError, ErrorCode, Result};
use crate::filter::Clause;
use crate::filter::{Filter, MAX_CREDENTIALS};
use crate::vault::EncryptedCredential;
use crate::web::util::*;

/// The methods a host may call. Anything else is `unknown_method`.
pub const METHODS: &[&str] = &[
    "configure",
    "ensureKey",
    "encrypt",
    "share",
    "view",
    "release",
    "filter",
    "backup",
    "changePassword",
    "confirmPasswordChange",
    "abandonPasswordChange",
    "forget",
    "verifyRead",
];

/// Handles one request from the host's port; the answer goes back on it.
pub fn on_request(ev: web_sys::MessageEvent) {
    let data = ev.data();
    let id = get(&data, "id");
    let method = get_string(&data, "method").unwrap_or_default();
    let params = get(&data, "params");
    spawn_local(async move {
        let reply = match dispatch(&method, params).await {
            Ok(result) => obj(&[("id", id), ("result", result)]),
            Err(e) => obj(&[("id", id), ("error", error_js(&e))]),
        };
        post(&reply);
    });
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfigureParams {
    user_id: String,
    #[serde(default)]
    expected_public_key: Option<EncryptionPublicKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EncryptParams {
    plaintext: String,
    #[serde(default)]
    recipient_public_key: Option<EncryptionPublicKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ShareParams {
    credential: EncryptedCredential,
    grantee_public_key: EncryptionPublicKey,
    /// How the host names the grantee (shown to the user as the site's description).
    #[serde(default)]
    grantee_label: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialParams {
    credential: EncryptedCredential,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterParams {
    credentials: Vec<EncryptedCredential>,
    #[serde(default)]
    pick: std::collections::BTreeMap<String, Vec<String>>,
    #[serde(default)]
    omit: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePasswordParams {
    originals: Vec<EncryptedCredential>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfirmParams {
    public_key: EncryptionPublicKey,
}

fn params_or_empty(params: JsValue) -> JsValue {
    if params.is_undefined() || params.is_null() {
        Object::new().into()
    } else {
        params
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

async fn dispatch(method: &str, params: JsValue) -> Result<JsValue> {
    let params = params_or_empty(params);
    expire_if_due().await?;
    match method {
        "configure" => {
            let p: ConfigureParams = from_js(params, "configure")?;
            keys::configure(&p.user_id, p.expected_public_key).await
        }
        "ensureKey" => {
            ensure_key().await?;
            status()
        }
        "encrypt" => {
            let p: EncryptParams = from_js(params, "encrypt")?;
            with(|s| {
                to_js(
                    &s.vault
                        .encrypt(p.plaintext.as_bytes(), p.recipient_public_key.as_ref())?,
                )
            })
        }
        "share" => share(from_js(params, "share")?).await,
        "view" => {
            let p: CredentialParams = from_js(params, "view")?;
            let payload = credential_payload(&p.credential).await?;
            user_dialog("View credential", "view", payload).await?;
            Ok(Object::new().into())
        }
        "release" => {
            let p: CredentialParams = from_js(params, "release")?;
            let payload = credential_payload(&p.credential).await?;
            let answer = user_dialog("Review request", "release", payload).await?;
            approved(&answer, "the user declined to release this credential")?;
            let plaintext = decrypt_text(&p.credential)?;
            Ok(obj(&[("plaintext", JsValue::from_str(&plaintext))]))
        }
        "filter" => filter(from_js(params, "filter")?).await,
        "backup" => {
            ensure_key().await?;
            let (user_id, secret) = with(|s| -> Result<_> {
                Ok((s.vault.user_id()?.to_owned(), s.vault.key()?.to_base64()))
            })?;
            let payload = obj(&[
                ("origin", JsValue::from_str(&parent_origin()?)),
                ("userId", JsValue::from_str(&user_id)),
                ("secretKey", JsValue::from_str(&secret)),
            ]);
            user_dialog("Back up your idOS key", "backup", payload).await?;
            Ok(Object::new().into())
        }
        "changePassword" => {
            let p: ChangePasswordParams = from_js(params, "changePassword")?;
            to_js(&keys::change_password(&p.originals).await?)
        }
        "confirmPasswordChange" => {
            let p: ConfirmParams = from_js(params, "confirmPasswordChange")?;
            keys::confirm_change(&p.public_key).await?;
            status()
        }
        "abandonPasswordChange" => {
            keys::abandon_change();
            status()
        }
        "forget" => {
            keys::forget().await?;
            status()
        }
        "verifyRead" => super::verify_read::verify_read(params).await,
        other => Err(EnclaveError::new(
            ErrorCode::UnknownMethod,
            format!(
                "{:?} is not an enclave method; methods: {}",
                truncate(other),
                METHODS.join(", ")
            ),
        )),
    }
}

fn approved(answer: &JsValue, refusal: &str) -> Result<()> {
    if get(answer, "approved").as_bool() == Some(true) {
        Ok(())
    } else {
        Err(EnclaveError::new(ErrorCode::UserDenied, refusal))
    }
}

async fn share(p: ShareParams) -> Result<JsValue> {
    // The user chooses the grantee: a copy is made only after they approve.
    let payload = credential_payload(&p.credential).await?;
    let grantee = p.grantee_public_key;
    let label: String = p.grantee_label.chars().take(200).collect();
    for (key, value) in [
        ("granteePublicKey", grantee.to_text()),
        ("granteeFingerprint", fingerprint(grantee.as_bytes())),
        ("granteeLabel", label),
    ] {
        let _ = js_sys::Reflect::set(&payload, &key.into(), &value.into());
    }
    let answer = user_dialog("Review sharing request", "share", payload).await?;
    approved(&answer, "the user declined to share this credential")?;
    with(|s| to_js(&s.vault.share(&p.credential, &grantee)?))
}

/// `filter`: a question about private fields runs only once the user approved it (for this
/// origin, for this page's life). Limits are checked before anything is decrypted.
async fn filter(p: FilterParams) -> Result<JsValue> {
    let filter = Filter {
        pick: p.pick,
        omit: p.omit,
    };
    filter.validate()?;
    if p.credentials.len() > MAX_CREDENTIALS {
        return Err(EnclaveError::bad_request(format!(
            "a filter takes at most {MAX_CREDENTIALS} credentials"
        )));
    }
    if filter.is_empty() {
        // No question asked: the answer is every id given, and nothing is decrypted.
        let ids: Vec<_> = p.credentials.iter().map(|c| c.id).collect();
        return Ok(ids_js(&ids));
    }
    let question = filter.canonical();
    if !with(|s| s.approved_filters.contains(&question)) {
        let payload = obj(&[
            ("origin", JsValue::from_str(&parent_origin()?)),
            ("clauses", clauses_js(&filter.clauses())),
            (
                "credentialCount",
                JsValue::from_f64(p.credentials.len() as f64),
            ),
        ]);
        let answer = user_dialog("Review a question about your data", "filter", payload).await?;
        approved(&answer, "the user declined to answer this question")?;
        with(|s| s.approved_filters.push(question));
    }
    ensure_key().await?;
    let ids = with(|s| s.vault.filter(&p.credentials, &filter))?;
    Ok(ids_js(&ids))
}

fn decrypt_text(credential: &EncryptedCredential) -> Result<Zeroizing<String>> {
    let bytes = with(|s| s.vault.decrypt(credential))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        EnclaveError::new(
            ErrorCode::NotJson,
            "the decrypted credential is not UTF-8 text",
        )
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// What the dialog shows about a credential: the site's description (id, public notes) apart
/// from what the enclave checked (the issuer's signatures, the decrypted content as rows).
async fn credential_payload(credential: &EncryptedCredential) -> Result<JsValue> {
    // Signatures first: a credential that is not what its issuer signed is refused before the
    // user is asked anything.
    let issuer = check_issuer(credential)?;
    ensure_key().await?;
    let plaintext = decrypt_text(credential)?;
    let sections = match content_sections(&plaintext) {
        Some(s) => sections_js(&s),
        None => JsValue::NULL,
    };
    let issuer = match issuer {
        IssuerCheck::Verified {
            public_key,
            fingerprint,
        } => obj(&[
            ("status", "verified".into()),
            ("publicKey", public_key.to_text().into()),
            ("fingerprint", fingerprint.into()),
        ]),
        IssuerCheck::Unsigned => obj(&[("status", "unsigned".into())]),
    };
    Ok(obj(&[
        ("origin", JsValue::from_str(&parent_origin()?)),
        (
            "credentialId",
            JsValue::from_str(&credential.id.to_string()),
        ),
        ("publicNotes", JsValue::from_str(&credential.public_notes)),
        ("issuer", issuer),
        ("plaintext", JsValue::from_str(&plaintext)),
        ("sections", sections),
    ]))
}

// Built by hand rather than through serde: a few lines here weigh less in the wasm than a
// serializer per type.

fn strings_js(items: &[String]) -> JsValue {
    items
        .iter()
        .map(|s| JsValue::from_str(s))
        .collect::<js_sys::Array>()
        .into()
}

fn ids_js(ids: &[protocol::Uuid]) -> JsValue {
    let ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    obj(&[("ids", strings_js(&ids))])
}

fn clauses_js(clauses: &[Clause]) -> JsValue {
    clauses
        .iter()
        .map(|c| {
            obj(&[
                ("mustMatch", c.must_match.into()),
                ("path", c.path.as_str().into()),
                ("values", strings_js(&c.values)),
            ])
        })
        .collect::<js_sys::Array>()
        .into()
}

fn sections_js(sections: &[Section]) -> JsValue {
    sections
        .iter()
        .map(|s| {
            let rows: js_sys::Array = s
                .rows
                .iter()
                .map(|r| {
                    obj(&[
                        ("depth", JsValue::from_f64(f64::from(r.depth))),
                        ("label", r.label.as_str().into()),
                        (
                            "value",
                            r.value.as_deref().map_or(JsValue::NULL, JsValue::from_str),
                        ),
                    ])
                })
                .collect();
            obj(&[("title", s.title.as_str().into()), ("rows", rows.into())])
        })
        .collect::<js_sys::Array>()
        .into()
}
