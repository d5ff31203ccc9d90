//! What the dialog shows a person before they decide, computed without browser APIs: which
//! issuer signed a credential (checked here, not taken from the host), short key fingerprints a
//! person can compare, and a credential's content as labelled rows.
//!
//! The host page describes a request (credential id, public notes, grantee label); the enclave
//! verifies what it can (signatures, the decrypted content, the key a copy is encrypted to).
//! The dialog keeps the two apart.

use protocol::bytes::{Ed25519PublicKey, Ed25519Signature};
use protocol::credential::{CredentialSignatures, content_hash, verify_credential_signatures};

use crate::error::{EnclaveError, Result};
use crate::vault::EncryptedCredential;

/// A short, comparable fingerprint of a public key: the first 10 bytes of SHA-256 over the key
/// bytes, as lowercase hex in five groups of four (`3f2a 9c01 …`). A recipient shows theirs
/// the same way, so a person can compare them.
pub fn fingerprint(key: &[u8]) -> String {
    let digest = content_hash(key);
    let hex = protocol::codec::hex_encode(&digest.as_bytes()[..10]);
    hex.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Who signed a credential, as the enclave checked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerCheck {
    /// Both signatures verify under this issuer key: the public notes and the content are the
    /// ones the key's holder signed.
    Verified {
        /// The issuer's Ed25519 key (hex).
        public_key: Ed25519PublicKey,
        /// Its [`fingerprint`].
        fingerprint: String,
    },
    /// The request carried no signatures: nothing proves who wrote the credential.
    Unsigned,
}

/// Verifies the issuer's signatures a request carries over the credential's public notes and
/// content. A signature that does not verify is an error (`bad_signature`): the content or
/// notes are not what the issuer signed, and the dialog does not open.
pub fn check_issuer(credential: &EncryptedCredential) -> Result<IssuerCheck> {
    match (
        &credential.issuer_auth_public_key,
        &credential.public_notes_signature,
        &credential.broader_signature,
    ) {
        (None, None, None) => Ok(IssuerCheck::Unsigned),
        (Some(key), Some(notes), Some(broader)) => {
            verify(key, notes, broader, credential).map_err(|e| {
                e.context(format!(
                    "credential {}: the issuer signatures do not match its notes and content",
                    credential.id
                ))
            })?;
            Ok(IssuerCheck::Verified {
                public_key: *key,
                fingerprint: fingerprint(key.as_bytes()),
            })
        }
        _ => Err(EnclaveError::bad_request(
            "give all of issuerAuthPublicKey, publicNotesSignature and broaderSignature, or none",
        )),
    }
}

fn verify(
    key: &Ed25519PublicKey,
    notes: &Ed25519Signature,
    broader: &Ed25519Signature,
    credential: &EncryptedCredential,
) -> Result<()> {
    Ok(verify_credential_signatures(
        key,
        &credential.public_notes,
        &credential.content,
        &CredentialSignatures {
            public_notes_signature: *notes,
            broader_signature: *broader,
        },
    )?)
}

/// One line of a credential's content as the dialog lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Nesting level (0: a top-level field of the section).
    pub depth: u8,
    /// A readable label (`dateOfBirth` → `Date of birth`).
    pub label: String,
    /// The value as text; `None` for an object or list whose members follow, one level deeper.
    pub value: Option<String>,
}

/// A titled group of rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub title: String,
    pub rows: Vec<Row>,
}

/// Nesting deeper than this is shown as JSON text.
const MAX_DEPTH: u8 = 6;
/// Rows beyond this are summarised in one last row (the raw JSON has everything).
const MAX_ROWS: usize = 300;

/// Readable words from a JSON key: `dateOfBirth`, `date_of_birth` → `Date of birth`. ASCII
/// case only (other letters pass unchanged), so the wasm needs no Unicode case tables.
pub fn label(key: &str) -> String {
    let mut words = String::with_capacity(key.len() + 4);
    let mut previous_lower = false;
    for ch in key.chars() {
        if ch == '_' || ch == '-' {
            words.push(' ');
            previous_lower = false;
        } else if ch.is_ascii_uppercase() && previous_lower {
            words.push(' ');
            words.push(ch.to_ascii_lowercase());
            previous_lower = false;
        } else {
            previous_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
            words.push(ch);
        }
    }
    let words = words.trim();
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => std::iter::once(first.to_ascii_uppercase())
            .chain(chars)
            .collect(),
        None => key.to_owned(),
    }
}

fn scalar(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "(empty)".to_owned(),
        other => other.to_string(),
    }
}

fn push_rows(rows: &mut Vec<Row>, depth: u8, name: String, value: &serde_json::Value) {
    if rows.len() >= MAX_ROWS {
        return;
    }
    let nested = match value {
        serde_json::Value::Object(map) if !map.is_empty() => true,
        serde_json::Value::Array(items) if !items.is_empty() => true,
        _ => false,
    };
    if !nested || depth >= MAX_DEPTH {
        let text = if nested {
            value.to_string()
        } else {
            scalar(value)
        };
        rows.push(Row {
            depth,
            label: name,
            value: Some(text),
        });
        return;
    }
    rows.push(Row {
        depth,
        label: name,
        value: None,
    });
    push_children(rows, depth + 1, value);
}

fn push_children(rows: &mut Vec<Row>, depth: u8, value: &serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                push_rows(rows, depth, label(k), v);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                push_rows(rows, depth, format!("#{}", i + 1), v);
            }
        }
        other => push_rows(rows, depth, String::new(), other),
    }
}

fn finish(mut rows: Vec<Row>) -> Vec<Row> {
    if rows.len() >= MAX_ROWS {
        rows.push(Row {
            depth: 0,
            label: "…".to_owned(),
            value: Some("more fields: see the raw JSON".to_owned()),
        });
    }
    rows
}

/// A credential's content as sections of labelled rows (fields in alphabetical order, list
/// items in theirs), or `None` when it is not a JSON object (the dialog then shows the text as
/// it is). A W3C credential's `credentialSubject`
/// comes first ("About you"); its other fields follow ("About the credential"), except
/// `@context` and `proof`, which only the raw JSON shows.
pub fn content_sections(plaintext: &str) -> Option<Vec<Section>> {
    let value: serde_json::Value = serde_json::from_str(plaintext).ok()?;
    let map = value.as_object()?;
    let mut sections = Vec::new();
    if let Some(subject) = map.get("credentialSubject") {
        let mut rows = Vec::new();
        push_children(&mut rows, 0, subject);
        sections.push(Section {
            title: "About you".to_owned(),
            rows: finish(rows),
        });
    }
    let mut rows = Vec::new();
    for (k, v) in map {
        if matches!(k.as_str(), "credentialSubject" | "@context" | "proof") {
            continue;
        }
        push_rows(&mut rows, 0, label(k), v);
    }
    if !rows.is_empty() {
        let title = if sections.is_empty() {
            "Content"
        } else {
            "About the credential"
        };
        sections.push(Section {
            title: title.to_owned(),
            rows: finish(rows),
        });
    }
    Some(sections)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Uuid;
    use protocol::credential::sign_credential;
    use protocol::identity::Ed25519SigningKey;

    #[test]
    fn labels_read_as_words() {
        assert_eq!(label("dateOfBirth"), "Date of birth");
        assert_eq!(label("date_of_birth"), "Date of birth");
        assert_eq!(label("id"), "Id");
        assert_eq!(label("residentialAddress2"), "Residential address2");
        assert_eq!(label(""), "");
    }

    #[test]
    fn fingerprints_are_short_and_stable() {
        let f = fingerprint(&[7u8; 32]);
        assert_eq!(f.len(), 24);
        assert_eq!(f.split(' ').count(), 5);
        assert_eq!(f, fingerprint(&[7u8; 32]));
        assert_ne!(f, fingerprint(&[8u8; 32]));
    }

    #[test]
    fn a_w3c_credential_lists_its_subject_first_with_nesting() {
        let vc = r#"{"@context":["x"],"type":["VerifiableCredential"],"issuer":"did:example:1",
            "credentialSubject":{"givenName":"Ada","address":{"country":"GB","city":"London"},"ids":["a","b"]},
            "proof":{"jws":"..."}}"#;
        let s = content_sections(vc).unwrap();
        assert_eq!(s[0].title, "About you");
        let row = |depth, label: &str, value: Option<&str>| Row {
            depth,
            label: label.to_owned(),
            value: value.map(str::to_owned),
        };
        assert_eq!(
            s[0].rows,
            [
                row(0, "Address", None),
                row(1, "City", Some("London")),
                row(1, "Country", Some("GB")),
                row(0, "Given name", Some("Ada")),
                row(0, "Ids", None),
                row(1, "#1", Some("a")),
                row(1, "#2", Some("b")),
            ]
        );
        assert_eq!(s[1].title, "About the credential");
        let labels: Vec<_> = s[1].rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["Issuer", "Type", "#1"]);
        assert!(content_sections("not json").is_none());
        assert!(content_sections("[1,2]").is_none());
    }

    #[test]
    fn deep_or_huge_content_is_bounded() {
        let mut deep = String::from("1");
        for _ in 0..20 {
            deep = format!("{{\"a\":{deep}}}");
        }
        let s = content_sections(&deep).unwrap();
        assert!(s[0].rows.iter().all(|r| r.depth <= MAX_DEPTH));
        let subject: serde_json::Map<String, serde_json::Value> =
            (0..1000).map(|i| (format!("k{i}"), i.into())).collect();
        let big = serde_json::json!({ "credentialSubject": subject });
        let s = content_sections(&big.to_string()).unwrap();
        assert_eq!(s[0].rows.len(), MAX_ROWS + 1);
    }

    fn signed(notes: &str, content: &[u8]) -> (EncryptedCredential, Ed25519SigningKey) {
        let issuer = Ed25519SigningKey::from_seed(&[9; 32]);
        let sigs = sign_credential(&issuer, notes, content);
        let c = EncryptedCredential {
            id: Uuid::nil(),
            content: content.to_vec().into(),
            encryptor_public_key: protocol::bytes::EncryptionPublicKey([1; 32]),
            public_notes: notes.to_owned(),
            issuer_auth_public_key: Some(issuer.public_key()),
            public_notes_signature: Some(sigs.public_notes_signature),
            broader_signature: Some(sigs.broader_signature),
        };
        (c, issuer)
    }

    #[test]
    fn issuer_signatures_are_verified_not_believed() {
        let (c, issuer) = signed("{\"level\":\"plus\"}", &[5u8; 80]);
        assert_eq!(
            check_issuer(&c).unwrap(),
            IssuerCheck::Verified {
                public_key: issuer.public_key(),
                fingerprint: fingerprint(issuer.public_key().as_bytes()),
            }
        );
        let mut notes_changed = c.clone();
        notes_changed.public_notes = "{\"level\":\"basic\"}".into();
        assert_eq!(
            check_issuer(&notes_changed).unwrap_err().code.as_str(),
            "bad_signature"
        );
        let mut content_changed = c.clone();
        content_changed.content.0[50] ^= 1;
        assert_eq!(
            check_issuer(&content_changed).unwrap_err().code.as_str(),
            "bad_signature"
        );
        let mut partial = c.clone();
        partial.broader_signature = None;
        assert_eq!(
            check_issuer(&partial).unwrap_err().code.as_str(),
            "bad_request"
        );
        let mut unsigned = c;
        unsigned.issuer_auth_public_key = None;
        unsigned.public_notes_signature = None;
        unsigned.broader_signature = None;
        assert_eq!(check_issuer(&unsigned).unwrap(), IssuerCheck::Unsigned);
    }
}
