//! Private-field filters: `pick` and `omit` over dot-paths of a credential's decrypted JSON.
//!
//! - `pick`: every listed path must hold one of its allowed values;
//! - `omit`: a credential is rejected when any listed path holds one of its listed values.
//!
//! Values compare as text: a JSON string by its content, any other value by its JSON text
//! (`true`, `3`). A path that is absent never matches. Array elements are addressed by index
//! (`credentialSubject.0.level`).
//!
//! A filter answers questions about private data, so the enclave runs one only after the user
//! approved it in the dialog ([`Filter::clauses`] is what the dialog shows). The limits keep
//! every question short enough for a person to read in full, and evaluation never stops early,
//! so the time a filter takes does not depend on which clause a value fails.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{EnclaveError, Result};

/// At most this many paths in `pick` and `omit` together.
pub const MAX_PATHS: usize = 8;
/// At most this many values per path.
pub const MAX_VALUES: usize = 16;
/// At most this many characters in a path.
pub const MAX_PATH_CHARS: usize = 120;
/// At most this many characters in a value.
pub const MAX_VALUE_CHARS: usize = 120;
/// At most this many credentials per request.
pub const MAX_CREDENTIALS: usize = 500;

/// `{pick: {path: [values]}, omit: {path: [values]}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub pick: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub omit: BTreeMap<String, Vec<String>>,
}

/// One condition of a filter, as the dialog shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// `true` for `pick` ("have"), `false` for `omit` ("do not have").
    pub must_match: bool,
    /// The dot-path into the credential.
    pub path: String,
    /// The values it is compared with.
    pub values: Vec<String>,
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

/// Whether `path` holds one of `listed`; compares with every listed value (no early exit).
fn holds(value: &serde_json::Value, path: &str, listed: &[String]) -> bool {
    let Some(found) = lookup(value, path).map(text) else {
        return false;
    };
    listed
        .iter()
        .fold(false, |hit, candidate| hit | (*candidate == found))
}

impl Filter {
    /// Whether the filter asks nothing (no path at all).
    pub fn is_empty(&self) -> bool {
        self.pick.is_empty() && self.omit.is_empty()
    }

    /// Checks the limits; the message names the limit, never a credential's content.
    pub fn validate(&self) -> Result<()> {
        let paths = self.pick.len() + self.omit.len();
        if paths > MAX_PATHS {
            return Err(EnclaveError::bad_request(format!(
                "a filter may name at most {MAX_PATHS} paths in pick and omit together, this one names {paths}"
            )));
        }
        for (path, values) in self.pick.iter().chain(&self.omit) {
            if path.is_empty() || path.chars().count() > MAX_PATH_CHARS {
                return Err(EnclaveError::bad_request(format!(
                    "a filter path must have 1 to {MAX_PATH_CHARS} characters"
                )));
            }
            if values.is_empty() || values.len() > MAX_VALUES {
                return Err(EnclaveError::bad_request(format!(
                    "filter path {path:?} lists {} values; list 1 to {MAX_VALUES}",
                    values.len()
                )));
            }
            if values.iter().any(|v| v.chars().count() > MAX_VALUE_CHARS) {
                return Err(EnclaveError::bad_request(format!(
                    "a filter value may have at most {MAX_VALUE_CHARS} characters"
                )));
            }
        }
        if self.pick.keys().any(|p| self.omit.contains_key(p)) {
            return Err(EnclaveError::bad_request(
                "a path may appear in pick or in omit, not in both",
            ));
        }
        Ok(())
    }

    /// The filter's conditions in a fixed order, values sorted and without duplicates: two
    /// filters that ask the same question have the same clauses.
    pub fn clauses(&self) -> Vec<Clause> {
        let clause = |must_match: bool| {
            move |(path, values): (&String, &Vec<String>)| {
                let mut values = values.clone();
                values.sort();
                values.dedup();
                Clause {
                    must_match,
                    path: path.clone(),
                    values,
                }
            }
        };
        self.pick
            .iter()
            .map(clause(true))
            .chain(self.omit.iter().map(clause(false)))
            .collect()
    }

    /// A canonical text of the question, the key of the user's approval: each clause as
    /// `+` or `-`, the path and the sorted values, every part length-prefixed (so no two
    /// questions share a text).
    pub fn canonical(&self) -> String {
        let mut text = String::new();
        let mut part = |p: &str| {
            text.push_str(&p.len().to_string());
            text.push(':');
            text.push_str(p);
        };
        for clause in self.clauses() {
            part(if clause.must_match { "+" } else { "-" });
            part(&clause.path);
            part(&clause.values.len().to_string());
            for v in &clause.values {
                part(v);
            }
        }
        text
    }

    /// Whether a decrypted credential passes. Every clause is evaluated.
    pub fn matches(&self, value: &serde_json::Value) -> bool {
        let picked = self
            .pick
            .iter()
            .fold(true, |ok, (path, allowed)| ok & holds(value, path, allowed));
        let omitted = self.omit.iter().fold(false, |hit, (path, denied)| {
            hit | holds(value, path, denied)
        });
        picked & !omitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(json: &str) -> Filter {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn pick_and_omit_select_as_documented() {
        let f = filter(r#"{"pick":{"level":["plus"]},"omit":{"residency.country":["US"]}}"#);
        let v = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert!(f.matches(&v(r#"{"level":"plus","residency":{"country":"DE"}}"#)));
        assert!(!f.matches(&v(r#"{"level":"basic","residency":{"country":"DE"}}"#)));
        assert!(!f.matches(&v(r#"{"level":"plus","residency":{"country":"US"}}"#)));
        assert!(!f.matches(&v(r#"{"residency":{"country":"DE"}}"#)));
        let f = filter(r#"{"pick":{"a.1":["3"]}}"#);
        assert!(f.matches(&v(r#"{"a":[1,3]}"#)));
    }

    #[test]
    fn the_same_question_has_the_same_canonical_text() {
        let a = filter(r#"{"pick":{"n":["FR","DE","DE"]}}"#);
        let b = filter(r#"{"pick":{"n":["DE","FR"]},"omit":{}}"#);
        assert_eq!(a.canonical(), b.canonical());
        let c = filter(r#"{"omit":{"n":["DE","FR"]}}"#);
        assert_ne!(a.canonical(), c.canonical());
        // Lengths keep parts apart: a value with a separator in it is still one value.
        let d = filter(r#"{"pick":{"n":["DE:2:FR"]}}"#);
        assert_ne!(a.canonical(), d.canonical());
        let e = filter(r#"{"pick":{"n":["DE"],"m":["FR"]}}"#);
        assert_ne!(a.canonical(), e.canonical());
        assert_eq!(
            a.clauses(),
            [Clause {
                must_match: true,
                path: "n".into(),
                values: vec!["DE".into(), "FR".into()]
            }]
        );
    }

    #[test]
    fn fail_too_many_values_paths_or_characters() {
        let many: Vec<String> = (0..=MAX_VALUES).map(|i| i.to_string()).collect();
        let f = Filter {
            pick: [("birthDate".to_owned(), many)].into(),
            ..Default::default()
        };
        assert_eq!(f.validate().unwrap_err().code.as_str(), "bad_request");
        let f = Filter {
            pick: (0..=MAX_PATHS)
                .map(|i| (format!("p{i}"), vec!["x".to_owned()]))
                .collect(),
            ..Default::default()
        };
        assert!(f.validate().is_err());
        let f = filter(r#"{"pick":{"a":[]}}"#);
        assert!(f.validate().is_err());
        let f = Filter {
            pick: [("a".to_owned(), vec!["x".repeat(MAX_VALUE_CHARS + 1)])].into(),
            ..Default::default()
        };
        assert!(f.validate().is_err());
        let f = filter(r#"{"pick":{"a":["1"]},"omit":{"a":["2"]}}"#);
        assert!(f.validate().is_err());
        let f = Filter {
            pick: [(
                "a".to_owned(),
                (0..MAX_VALUES).map(|i| i.to_string()).collect(),
            )]
            .into(),
            ..Default::default()
        };
        f.validate().unwrap();
    }
}
