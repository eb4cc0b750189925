//! Reading and comparing configurations.
//!
//! A [`Config`](crate::Config) is a `Vec<Assignment>` (a WIT `list`), so its
//! helpers are an extension trait rather than inherent methods. `Vec` already
//! has a `get(usize)`, which would shadow a `get(name)`, hence the name
//! [`ConfigExt::value`]. [`ConfigKey`] identifies a configuration exactly by
//! its encoded row, the form the history holds.

#![forbid(unsafe_code)]

use std::fmt::Write as _;

use crate::{Assignment, Value};

/// Helpers on a configuration (`Config`, or any slice of assignments).
///
/// To recognise a configuration in the history, which holds encoded numbers
/// rather than values, encode it with
/// [`Profile::encode_config`](crate::Profile::encode_config) or key it with
/// [`Profile::config_key`](crate::Profile::config_key): both need the
/// profile's domains.
pub trait ConfigExt {
    /// The value assigned to the knob `name`, if the configuration sets it.
    fn value(&self, name: &str) -> Option<&Value>;

    /// A one-line human form, `name=value, name=value`, in the
    /// configuration's order, for titles and rationales.
    fn describe(&self) -> String;
}

impl ConfigExt for [Assignment] {
    fn value(&self, name: &str) -> Option<&Value> {
        self.iter().find(|a| a.name == name).map(|a| &a.value)
    }

    fn describe(&self) -> String {
        let mut out = String::new();
        for (i, a) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}={}", a.name, a.value);
        }
        out
    }
}

/// The exact identity of a configuration within one search space: its
/// encoded row (one number per knob, in search-space order, as the history
/// holds it; see [`Domain::encode`](crate::Domain::encode)) compared by the
/// bits of each number.
///
/// Configurations cannot implement `Eq` or `Hash` because they hold floats,
/// yet strategies must recognise a configuration they already tried. The
/// key compares by bits, so `0.1 + 0.2` and `0.3` differ, `-0.0` and `0.0`
/// differ, and a NaN equals the same NaN. Because every domain encodes its
/// values one-to-one (a choice by its label's index, a flag as 0 or 1, an
/// integer exactly), equal keys mean equal configurations.
///
/// Get one from a history row ([`TrialView::key`](crate::TrialView::key),
/// [`ConfigKey::from_row`]) or from a named configuration in any order
/// ([`Profile::config_key`](crate::Profile::config_key)); keys hold no
/// names, so keys of different search spaces are not comparable. Keys order
/// totally and deterministically (by bits, not numerically), so they can
/// live in a `BTreeSet` or `BTreeMap` whose iteration must not depend on a
/// random hasher seed.
///
/// ```
/// use aiopt_sdk::{Assignment, ConfigKey, Domain, Param, Profile, TrialState, Value};
///
/// let mut profile = Profile {
///     space: vec![
///         Param::new("batch", Domain::integer(1, 64)),
///         Param::new("model", Domain::choice(["large", "small"])),
///     ],
///     ..Profile::default()
/// };
/// // Batch 8 with "small", the label at index 1.
/// profile.history.push(0, TrialState::Complete, &[8.0, 1.0], &[]);
/// let trial = profile.trial(0).unwrap();
/// let suggested = vec![
///     Assignment { name: "model".into(), value: Value::Choice("small".into()) },
///     Assignment { name: "batch".into(), value: Value::Integer(8) },
/// ];
/// assert_eq!(profile.config_key(&suggested), Some(trial.key()));
/// assert_eq!(trial.key(), ConfigKey::from_row(&[8.0, 1.0]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigKey(Vec<u64>);

impl ConfigKey {
    /// The key of an encoded row: one number per knob, in search-space
    /// order, as [`History`](crate::History) holds them.
    pub fn from_row(row: &[f64]) -> ConfigKey {
        ConfigKey(row.iter().map(|x| x.to_bits()).collect())
    }
}

impl From<&[f64]> for ConfigKey {
    fn from(row: &[f64]) -> ConfigKey {
        ConfigKey::from_row(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(name: &str, value: Value) -> Assignment {
        Assignment {
            name: name.into(),
            value,
        }
    }

    #[test]
    fn value_finds_by_name() {
        let c: crate::Config = [a("x", Value::Integer(1)), a("y", Value::Flag(true))].to_vec();
        assert_eq!(c.value("y"), Some(&Value::Flag(true)));
        assert_eq!(c.value("z"), None);
        assert_eq!(c.describe(), "x=1, y=true");
    }

    #[test]
    fn keys_are_exact_and_positional() {
        let key = |row: &[f64]| ConfigKey::from_row(row);
        assert_eq!(key(&[0.3, 1.0]), key(&[0.3, 1.0]));
        assert_ne!(key(&[0.3, 1.0]), key(&[0.1 + 0.2, 1.0]));
        assert_ne!(key(&[0.3, 1.0]), key(&[0.3]));
        assert_ne!(key(&[0.0]), key(&[-0.0]));
        assert_eq!(key(&[f64::NAN]), key(&[f64::NAN]));
        // Order matters: a key is positional.
        assert_ne!(key(&[1.0, 2.0]), key(&[2.0, 1.0]));
        assert_eq!(ConfigKey::from(&[1.0, 2.0][..]), key(&[1.0, 2.0]));
        let mut set = std::collections::HashSet::new();
        assert!(set.insert(key(&[0.3, 1.0])));
        assert!(!set.insert(key(&[0.3, 1.0])));
    }
}
