//! Reading and comparing configurations.
//!
//! A [`Config`](crate::Config) is a `Vec<Assignment>` (a WIT `list`), so its
//! helpers are an extension trait rather than inherent methods. `Vec` already
//! has a `get(usize)`, which would shadow a `get(name)`, hence the name
//! [`ConfigExt::value`].

#![forbid(unsafe_code)]

use std::fmt::Write as _;

use crate::{Assignment, Value};

/// Helpers on a configuration (`Config`, or any slice of assignments).
pub trait ConfigExt {
    /// The value assigned to the knob `name`, if the configuration sets it.
    fn value(&self, name: &str) -> Option<&Value>;

    /// The exact identity of the configuration's values, in the order the
    /// configuration lists them; see [`ConfigKey`]. For a configuration in
    /// search-space order (as the contract requires of every `config`, and
    /// as every SDK helper builds them) it equals the key of a trial with the
    /// same values, [`ConfigKey::from_values`]. For a configuration that may
    /// list its knobs in another order, use
    /// [`Profile::config_key`](crate::Profile::config_key).
    fn key(&self) -> ConfigKey;

    /// A one-line human form, `name=value, name=value`, in the
    /// configuration's order, for titles and rationales.
    fn describe(&self) -> String;
}

impl ConfigExt for [Assignment] {
    fn value(&self, name: &str) -> Option<&Value> {
        self.iter().find(|a| a.name == name).map(|a| &a.value)
    }

    fn key(&self) -> ConfigKey {
        ConfigKey::new(self)
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
/// values, one per knob in search-space order.
///
/// `Config` and `Value` cannot implement `Eq` or `Hash` because they hold
/// floats, yet strategies must recognise a configuration they already tried.
/// The key compares reals by their bits (so `0.1 + 0.2` and `0.3` differ,
/// `-0.0` and `0.0` differ, and a NaN equals the same NaN), and an integer
/// `1` never equals the real `1.0`.
///
/// The key is positional, like the history it is compared with
/// ([`Trial::values`](crate::Trial)): it holds no knob names, so a history
/// trial ([`ConfigKey::from_values`]) and a named configuration in space
/// order ([`ConfigExt::key`], or [`Profile::config_key`](crate::Profile::config_key)
/// for any order) give equal keys for equal values. Keys of different search
/// spaces are therefore not comparable. Keys order totally and
/// deterministically, so they can live in a `BTreeSet` or `BTreeMap` whose
/// iteration must not depend on a random hasher seed.
///
/// ```
/// use aiopt_sdk::{Assignment, ConfigExt, ConfigKey, Trial, TrialState, Value};
///
/// let trial = Trial {
///     number: 0,
///     values: vec![Value::Integer(8), Value::Choice("small".into())],
///     metrics: vec![],
///     state: TrialState::Complete,
/// };
/// let suggested = vec![
///     Assignment { name: "batch".into(), value: Value::Integer(8) },
///     Assignment { name: "model".into(), value: Value::Choice("small".into()) },
/// ];
/// assert_eq!(suggested.key(), ConfigKey::from_values(&trial.values));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigKey(Vec<KeyValue>);

/// A value with floats replaced by their bits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum KeyValue {
    Real(u64),
    Integer(i64),
    Choice(String),
    Flag(bool),
}

impl KeyValue {
    fn of(value: &Value) -> KeyValue {
        match value {
            Value::Real(x) => KeyValue::Real(x.to_bits()),
            Value::Integer(i) => KeyValue::Integer(*i),
            Value::Choice(s) => KeyValue::Choice(s.clone()),
            Value::Flag(b) => KeyValue::Flag(*b),
        }
    }
}

impl ConfigKey {
    /// The key of `config`'s values in the order it lists them; the same as
    /// [`ConfigExt::key`].
    pub fn new(config: &[Assignment]) -> ConfigKey {
        ConfigKey(config.iter().map(|a| KeyValue::of(&a.value)).collect())
    }

    /// The key of positional values, one per knob in search-space order, as
    /// a [`Trial`](crate::Trial) holds them.
    pub fn from_values(values: &[Value]) -> ConfigKey {
        ConfigKey::from_value_refs(values.iter())
    }

    /// The key of values given by reference, in order.
    pub(crate) fn from_value_refs<'v>(values: impl Iterator<Item = &'v Value>) -> ConfigKey {
        ConfigKey(values.map(KeyValue::of).collect())
    }
}

impl From<&[Assignment]> for ConfigKey {
    fn from(config: &[Assignment]) -> ConfigKey {
        ConfigKey::new(config)
    }
}

impl From<&[Value]> for ConfigKey {
    fn from(values: &[Value]) -> ConfigKey {
        ConfigKey::from_values(values)
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
        let c1 = [a("x", Value::Real(0.3)), a("m", Value::Choice("a".into()))];
        let c3 = [a("x", Value::Real(0.1 + 0.2)), a("m", Value::Choice("a".into()))];
        let c4 = [a("x", Value::Real(0.3))];
        assert_ne!(c1.key(), c3.key());
        assert_ne!(c1.key(), c4.key());
        assert_ne!(
            [a("x", Value::Real(0.0))].key(),
            [a("x", Value::Real(-0.0))].key()
        );
        assert_eq!(
            [a("x", Value::Real(f64::NAN))].key(),
            [a("x", Value::Real(f64::NAN))].key()
        );
        // An integer 1 is not the real 1.0.
        assert_ne!(
            [a("x", Value::Integer(1))].key(),
            [a("x", Value::Real(1.0))].key()
        );
        // A named configuration in space order and positional values agree.
        let values = [Value::Real(0.3), Value::Choice("a".into())];
        assert_eq!(c1.key(), ConfigKey::from_values(&values));
        assert_eq!(ConfigKey::from(&values[..]), ConfigKey::from(&c1[..]));
        assert_ne!(c3.key(), ConfigKey::from_values(&values));
        // Order matters: a key is positional.
        assert_ne!(
            ConfigKey::from_values(&[Value::Integer(1), Value::Integer(2)]),
            ConfigKey::from_values(&[Value::Integer(2), Value::Integer(1)])
        );
        let mut set = std::collections::HashSet::new();
        assert!(set.insert(c1.key()));
        assert!(!set.insert(ConfigKey::from_values(&values)));
    }
}
