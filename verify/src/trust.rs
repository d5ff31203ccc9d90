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
    /// A chain run by validators with these Ed25519 public keys and voting powers.
    pub fn new(chain_id: impl Into<String>, validators: &[([u8; 32], u64)]) -> Option<TrustRoot> {
        let infos = validators
            .iter()
            .map(|(key, power)| {
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
