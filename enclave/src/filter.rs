//! Private-field filters: `pick` and `omit` over dot-paths of a credential's decrypted JSON.
//!
//! - `pick`: every listed path must hold one of its allowed values;
//! - `omit`: a credential is rejected when any listed path holds one of its listed values.
//!
//! Values compare as text: a JSON string by its content, any other value by its JSON text
//! (`true`, `3`). A path that is absent never matches. Array elements are addressed by index
//! (`credentialSubject.0.level`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// `{pick: {path: [values]}, omit: {path: [values]}}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub pick: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub omit: BTreeMap<String, Vec<String>>,
}

fn lookup<'a>(value: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(value, |v, segment| match v {
        serde_json::Value::Object(map) => map.get(segment),
        serde_json::Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn holds(value: &serde_json::Value, path: &str, allowed: &[String]) -> bool {
    lookup(value, path)
        .map(text)
        .is_some_and(|t| allowed.contains(&t))
}

impl Filter {
    /// Whether a decrypted credential passes.
    pub fn matches(&self, value: &serde_json::Value) -> bool {
        self.pick
            .iter()
            .all(|(path, allowed)| holds(value, path, allowed))
            && !self
                .omit
                .iter()
                .any(|(path, denied)| holds(value, path, denied))
    }
}
