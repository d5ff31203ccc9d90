//! The sample KYC credential the demo issuer issues, its public notes, and how levels compare.
//!
//! The private content is a W3C Verifiable Credential (JSON) about a made-up person, with a
//! fresh document number (so that every credential is unique, and a test can look for it). The
//! public notes are idOS's (`id`, `type`, `level`, `status`, `issuer`) plus the issuer's
//! signature over the content's SHA-256 (`idos_client::credential::issuer_public_notes`), which
//! a grantee checks after decrypting its copy.

use idos_client::credential::issuer_public_notes;
use protocol::identity::{Ed25519SigningKey, Identity};
use serde_json::{Value, json};
use uuid::Uuid;
use zeroize::Zeroizing;

/// The credential type in the public notes.
pub const KYC: &str = "KYC";
/// The status of a credential the issuer stands by.
pub const APPROVED: &str = "approved";

/// A sample credential, ready to seal.
pub struct Sample {
    /// The verifiable credential's id (`urn:uuid:…`), also the public notes' `id`.
    pub vc_id: String,
    /// The made-up document number inside the content (unique per credential).
    pub document_number: String,
    /// The content: the VC as JSON.
    pub plaintext: Zeroizing<Vec<u8>>,
}

/// A sample KYC credential of `level` for the holder of `wallet`, issued at `issued_at` (RFC
/// 3339) by `issuer_name` with key `issuer`.
pub fn sample_credential(
    wallet: &Identity,
    issuer: &Ed25519SigningKey,
    issuer_name: &str,
    level: &str,
    issued_at: &str,
) -> Sample {
    let vc_id = format!("urn:uuid:{}", Uuid::new_v4());
    let document_number =
        format!("DEMO{}", &Uuid::new_v4().simple().to_string()[..12]).to_uppercase();
    let holder = match wallet {
        Identity::Evm(_) => format!("did:pkh:eip155:1:{}", wallet.identifier()),
        Identity::Ed25519(_) => format!("did:key:ed25519:{}", wallet.identifier()),
        // CAIP-10 accounts: a NEAR key's implicit account (hex), XRPL and Stellar addresses.
        Identity::Near(key) => format!("did:pkh:near:mainnet:{key}"),
        Identity::Xrpl(address) => format!("did:pkh:xrpl:0:{address}"),
        Identity::Stellar(_) => format!("did:pkh:stellar:pubnet:{}", wallet.identifier()),
    };
    let vc = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": vc_id,
        "type": ["VerifiableCredential", "KYCCredential"],
        "issuer": {"id": format!("did:key:ed25519:{}", issuer.public_key()), "name": issuer_name},
        "validFrom": issued_at,
        "credentialSubject": {
            "id": holder,
            "level": level,
            "firstName": "Ada",
            "familyName": "Lovelace",
            "dateOfBirth": "1815-12-10",
            "nationality": "GB",
            "idDocumentCountry": "GB",
            "idDocumentType": "PASSPORT",
            "idDocumentNumber": document_number,
        },
    });
    Sample {
        vc_id,
        document_number,
        plaintext: Zeroizing::new(vc.to_string().into_bytes()),
    }
}

/// The public notes of `sample`: idOS's fields and the issuer's content signature.
pub fn public_notes(
    sample: &Sample,
    issuer: &Ed25519SigningKey,
    issuer_name: &str,
    level: &str,
) -> String {
    let signed = issuer_public_notes(&sample.vc_id, APPROVED, issuer, &sample.plaintext);
    let mut notes: serde_json::Map<String, Value> =
        serde_json::from_str(&signed).unwrap_or_default();
    notes.insert("type".into(), json!(KYC));
    notes.insert("level".into(), json!(level));
    notes.insert("issuer_name".into(), json!(issuer_name));
    Value::Object(notes).to_string()
}

/// The rank of a KYC level: `basic` 1, `plus` 2 (a `+liveness` or other suffix does not
/// change it); `None` for a level this demo does not know.
pub fn level_rank(level: &str) -> Option<u8> {
    match level.split('+').next()? {
        "basic" => Some(1),
        "plus" => Some(2),
        _ => None,
    }
}

/// Whether a credential of level `have` meets a requirement of level `want`.
pub fn meets_level(have: &str, want: &str) -> bool {
    matches!((level_rank(have), level_rank(want)), (Some(h), Some(w)) if h >= w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_compare_by_rank_and_unknown_levels_meet_nothing() {
        assert!(meets_level("basic", "basic"));
        assert!(meets_level("plus+liveness", "basic"));
        assert!(meets_level("basic+liveness", "basic"));
        assert!(!meets_level("basic", "plus"));
        assert!(!meets_level("gold", "basic"));
        assert!(!meets_level("basic", "gold"));
        assert!(!meets_level("", "basic"));
    }

    #[test]
    fn the_notes_carry_idos_fields_and_a_content_signature_the_grantee_checks() {
        let issuer = Ed25519SigningKey::generate();
        let wallet = Identity::parse("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266").unwrap();
        let sample = sample_credential(&wallet, &issuer, "Demo", "basic", "2026-01-01T00:00:00Z");
        let notes: Value =
            serde_json::from_str(&public_notes(&sample, &issuer, "Demo", "basic")).unwrap();
        assert_eq!(notes["type"], KYC);
        assert_eq!(notes["level"], "basic");
        assert_eq!(notes["status"], APPROVED);
        assert_eq!(notes["id"], sample.vc_id);
        assert_eq!(notes["issuer"], issuer.public_key().to_text());
        assert!(notes["content_signature"].is_string());
        let vc: Value = serde_json::from_slice(&sample.plaintext).unwrap();
        assert_eq!(
            vc["credentialSubject"]["idDocumentNumber"],
            sample.document_number
        );
    }
}
