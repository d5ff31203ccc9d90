//! What a client trusts: the chain and its validators, pinned.

use tendermint::validator::{Info, Set};
use tendermint::{PublicKey, vote::Power};

/// The chain id and validator set a client pins. It must come from somewhere the relay does
/// not control: the dapp's code, the user's settings, the operator's published configuration.
/// When the validators change, the pin must change with them.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustRoot {
    pub chain_id: String,
    pub validators: Set,
}

impl TrustRoot {
    /// A chain run by validators with these Ed25519 public keys and (positive) voting powers.
    pub fn new(chain_id: impl Into<String>, validators: &[([u8; 32], u64)]) -> Option<TrustRoot> {
        let infos = validators
            .iter()
            .map(|(key, power)| {
                if *power == 0 {
                    return None;
                }
                let key = PublicKey::from_raw_ed25519(key)?;
                Some(Info::new(key, Power::try_from(*power).ok()?))
            })
            .collect::<Option<Vec<_>>>()?;
        if infos.is_empty() {
            return None;
        }
        Some(TrustRoot {
            chain_id: chain_id.into(),
            validators: Set::without_proposer(infos),
        })
    }

    /// Parses `<chain id>@<hex Ed25519 key>[:<power>],...` (power 10 when left out), the form
    /// the `idos` CLI and the dashboard settings take.
    pub fn parse(text: &str) -> Result<TrustRoot, String> {
        let (chain_id, keys) = text
            .split_once('@')
            .ok_or("a trust root is <chain id>@<validator key hex>[:<power>],...")?;
        if chain_id.is_empty() {
            return Err("the trust root names no chain id".into());
        }
        let mut validators = Vec::new();
        for item in keys.split(',') {
            let (key, power) = match item.split_once(':') {
                Some((key, power)) => (
                    key,
                    power
                        .parse::<u64>()
                        .map_err(|_| format!("{power:?} is not a voting power"))?,
                ),
                None => (item, 10),
            };
            let bytes: [u8; 32] = hex::decode(key)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| format!("{key:?} is not a 32-byte hex Ed25519 key"))?;
            validators.push((bytes, power));
        }
        TrustRoot::new(chain_id, &validators).ok_or_else(|| "invalid validator keys".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    #[test]
    fn a_trust_root_names_a_chain_and_its_validators() {
        let one = TrustRoot::parse(&format!("idos-1@{KEY}")).unwrap();
        assert_eq!(one.chain_id, "idos-1");
        assert_eq!(one.validators.validators().len(), 1);
        assert_eq!(one.validators.total_voting_power().value(), 10);
        let weighted = TrustRoot::parse(&format!("idos-1@{KEY}:7")).unwrap();
        assert_eq!(weighted.validators.total_voting_power().value(), 7);
        // The same validators in either order are the same set.
        let other = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
        let ab = TrustRoot::parse(&format!("c@{KEY},{other}")).unwrap();
        let ba = TrustRoot::parse(&format!("c@{other},{KEY}")).unwrap();
        assert_eq!(ab.validators.hash(), ba.validators.hash());
    }

    #[test]
    fn fail_trust_roots_that_do_not_parse() {
        for bad in [
            "".to_owned(),
            KEY.to_owned(),
            format!("@{KEY}"),
            "idos-1@".to_owned(),
            "idos-1@zz".to_owned(),
            format!("idos-1@{}", &KEY[..62]),
            format!("idos-1@{KEY}:"),
            format!("idos-1@{KEY}:-1"),
            format!("idos-1@{KEY}:0"),
            format!("idos-1@{KEY}:ten"),
            format!("idos-1@{KEY},"),
        ] {
            assert!(TrustRoot::parse(&bad).is_err(), "{bad:?} parsed");
        }
    }
}
