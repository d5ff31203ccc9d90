//! Access grants and delegated write grants.

use uuid::Uuid;

use crate::bytes::Ed25519PublicKey;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::time::parse_rfc3339;

/// The UUIDv5 namespace idOS uses for access-grant ids.
pub const ACCESS_GRANT_NAMESPACE: Uuid = Uuid::from_u128(0x31276fd4_105f_4ff7_9f64_644942c14b79);

/// The deterministic id of an access grant: UUIDv5 over `"{grantee}-{data_id}-{locked_until}"`.
/// `grantee` is the grantee's identifier text (use [`Identity::identifier`] for the canonical
/// form), `data_id` the copy credential's id.
pub fn access_grant_id(grantee: &str, data_id: &Uuid, locked_until: i64) -> Uuid {
    let name = format!("{grantee}-{}-{locked_until}", data_id.hyphenated());
    Uuid::new_v5(&ACCESS_GRANT_NAMESPACE, name.as_bytes())
}

/// Who wrote an access grant, as idOS's `inserter_type`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum GrantInserterType {
    /// The owner shared the credential themselves.
    User,
    /// An issuer wrote it with the owner's delegated write grant.
    DelegatedWriteGrant,
}

impl GrantInserterType {
    /// idOS's text for it.
    pub const fn as_str(self) -> &'static str {
        match self {
            GrantInserterType::User => "user",
            GrantInserterType::DelegatedWriteGrant => "delegated_write_grant",
        }
    }
}

/// A delegated write grant (DWG): the owner's signed permission for an issuer to write one
/// credential to the owner's profile, together with a copy for `grantee` and an access grant.
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
pub struct DelegatedWriteGrant {
    /// The wallet of the profile owner who signs the grant.
    pub owner_wallet_identifier: Identity,
    /// Who receives the copy and the access grant.
    pub grantee_wallet_identifier: Identity,
    /// The issuer's Ed25519 key (a delegate of an inserter).
    pub issuer_public_key: Ed25519PublicKey,
    /// The grant's id: single use.
    pub id: Uuid,
    /// Until when the access grant cannot be revoked (RFC 3339).
    pub access_grant_timelock: String,
    /// The grant cannot be used before this time (RFC 3339).
    pub not_usable_before: String,
    /// The grant cannot be used after this time (RFC 3339).
    pub not_usable_after: String,
}

/// A delegated write grant's times in unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DwgTimes {
    pub access_grant_timelock: i64,
    pub not_usable_before: i64,
    pub not_usable_after: i64,
}

/// Allowed clock skew between the grant's `not_usable_before` and the block time, as idOS.
pub const DWG_CLOCK_SKEW_SECONDS: i64 = 65;

impl DelegatedWriteGrant {
    /// Validates the three timestamps (strict RFC 3339; before earlier than after).
    pub fn times(&self) -> Result<DwgTimes> {
        let times = DwgTimes {
            access_grant_timelock: parse_rfc3339(
                "access_grant_timelock",
                &self.access_grant_timelock,
            )?,
            not_usable_before: parse_rfc3339("not_usable_before", &self.not_usable_before)?,
            not_usable_after: parse_rfc3339("not_usable_after", &self.not_usable_after)?,
        };
        if times.not_usable_before >= times.not_usable_after {
            return Err(Error::invalid(
                "not_usable_before",
                "must be earlier than not_usable_after",
            ));
        }
        if times.access_grant_timelock < 0 {
            return Err(Error::invalid(
                "access_grant_timelock",
                "must not be before 1970",
            ));
        }
        Ok(times)
    }

    /// Whether the grant may be used at `now` (unix seconds), allowing
    /// [`DWG_CLOCK_SKEW_SECONDS`] of skew on the start.
    pub fn usable_at(times: &DwgTimes, now: i64) -> bool {
        times.not_usable_before <= now.saturating_add(DWG_CLOCK_SKEW_SECONDS)
            && now <= times.not_usable_after
    }

    /// The canonical text the owner signs with their wallet. It is built only here (the
    /// node serves it to clients), so no client ever assembles it by hand. Unlike idOS's,
    /// it names the chain, so a grant cannot be replayed on another network.
    pub fn message(&self, chain_id: &str) -> Result<String> {
        self.times()?;
        Ok(format!(
            "operation: delegatedWriteGrant\nowner: {}\ngrantee: {}\nissuer public key: {}\nid: {}\n\
             access grant timelock: {}\nnot usable before: {}\nnot usable after: {}\nchain id: {}",
            self.owner_wallet_identifier.identifier(),
            self.grantee_wallet_identifier.identifier(),
            self.issuer_public_key,
            self.id.hyphenated(),
            self.access_grant_timelock,
            self.not_usable_before,
            self.not_usable_after,
            chain_id,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dwg() -> DelegatedWriteGrant {
        DelegatedWriteGrant {
            owner_wallet_identifier: Identity::parse("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
                .unwrap(),
            grantee_wallet_identifier: Identity::parse(&"ab".repeat(32)).unwrap(),
            issuer_public_key: Ed25519PublicKey::from_bytes([1; 32]),
            id: Uuid::from_u128(1),
            access_grant_timelock: "2026-01-01T00:00:00Z".into(),
            not_usable_before: "2026-01-01T00:00:00Z".into(),
            not_usable_after: "2026-01-02T00:00:00Z".into(),
        }
    }

    #[test]
    fn dwg_message_is_canonical() {
        let text = dwg().message("idos-local").unwrap();
        assert_eq!(
            text,
            "operation: delegatedWriteGrant\nowner: 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\n\
             grantee: abababababababababababababababababababababababababababababababab\n\
             issuer public key: 0101010101010101010101010101010101010101010101010101010101010101\n\
             id: 00000000-0000-0000-0000-000000000001\naccess grant timelock: 2026-01-01T00:00:00Z\n\
             not usable before: 2026-01-01T00:00:00Z\nnot usable after: 2026-01-02T00:00:00Z\nchain id: idos-local"
        );
    }

    #[test]
    fn dwg_window_allows_65_seconds_of_skew() {
        let times = dwg().times().unwrap();
        let start = times.not_usable_before;
        assert!(DelegatedWriteGrant::usable_at(&times, start - 65));
        assert!(!DelegatedWriteGrant::usable_at(&times, start - 66));
        assert!(DelegatedWriteGrant::usable_at(
            &times,
            times.not_usable_after
        ));
        assert!(!DelegatedWriteGrant::usable_at(
            &times,
            times.not_usable_after + 1
        ));
    }

    #[test]
    fn fail_dwg_with_reversed_window_or_bad_dates() {
        let mut g = dwg();
        g.not_usable_after = g.not_usable_before.clone();
        assert_eq!(g.message("c").unwrap_err().code(), "invalid_field");
        let mut g = dwg();
        g.access_grant_timelock = "2026-01-01T00:00:00.000Z".into();
        assert_eq!(g.times().unwrap_err().code(), "invalid_timestamp");
    }

    #[test]
    fn dwg_timelock_may_be_the_epoch_but_not_before() {
        let mut g = dwg();
        g.access_grant_timelock = "1970-01-01T00:00:00Z".into();
        assert_eq!(g.times().unwrap().access_grant_timelock, 0);
        g.access_grant_timelock = "1969-12-31T23:59:59Z".into();
        let err = g.times().unwrap_err();
        assert_eq!(err.code(), "invalid_field");
        assert!(err.to_string().contains("access_grant_timelock"), "{err}");
    }

    #[test]
    fn inserter_type_text_is_its_json_form() {
        for t in [
            GrantInserterType::User,
            GrantInserterType::DelegatedWriteGrant,
        ] {
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
        }
        assert_eq!(GrantInserterType::User.as_str(), "user");
        assert_eq!(
            GrantInserterType::DelegatedWriteGrant.as_str(),
            "delegated_write_grant"
        );
    }

    #[test]
    fn grant_id_depends_on_every_part() {
        let d = Uuid::from_u128(5);
        let a = access_grant_id("g", &d, 0);
        assert_ne!(a, access_grant_id("h", &d, 0));
        assert_ne!(a, access_grant_id("g", &Uuid::from_u128(6), 0));
        assert_ne!(a, access_grant_id("g", &d, 1));
        assert_eq!(a.get_version_num(), 5);
    }
}
