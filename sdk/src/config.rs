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

    /// The exact identity of the configuration, for de-duplication and
    /// grouping replicates; see [`ConfigKey`].
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

/// The exact identity of a configuration: equal keys mean the same knobs set
/// to the same values.
///
/// `Config` cannot implement `Eq` or `Hash` because it holds floats, yet
/// strategies must recognise a configuration they already tried. The key
/// compares reals by their bits (so `0.1 + 0.2` and `0.3` differ, `-0.0` and
/// `0.0` differ, and a NaN equals the same NaN) and ignores the order of the
/// assignments, because a configuration means the same whatever order its
/// knobs are listed in. Keys order totally and deterministically, so they can
/// live in a `BTreeSet` or `BTreeMap` whose iteration must not depend on a
/// random hasher seed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigKey(Vec<(String, KeyValue)>);

/// A value with floats replaced by their bits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum KeyValue {
    Real(u64),
    Integer(i64),
    Choice(String),
    Flag(bool),
}

impl ConfigKey {
    /// The key of `config`.
    pub fn new(config: &[Assignment]) -> ConfigKey {
        let mut parts: Vec<(String, KeyValue)> = config
            .iter()
            .map(|a| {
                let v = match &a.value {
                    Value::Real(x) => KeyValue::Real(x.to_bits()),
                    Value::Integer(i) => KeyValue::Integer(*i),
                    Value::Choice(s) => KeyValue::Choice(s.clone()),
                    Value::Flag(b) => KeyValue::Flag(*b),
                };
                (a.name.clone(), v)
            })
            .collect();
        parts.sort();
        ConfigKey(parts)
    }
}

impl From<&[Assignment]> for ConfigKey {
    fn from(config: &[Assignment]) -> ConfigKey {
        ConfigKey::new(config)
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
    fn keys_are_exact_and_order_insensitive() {
        let c1 = [a("x", Value::Real(0.3)), a("m", Value::Choice("a".into()))];
        let c2 = [a("m", Value::Choice("a".into())), a("x", Value::Real(0.3))];
        let c3 = [a("x", Value::Real(0.1 + 0.2)), a("m", Value::Choice("a".into()))];
        let c4 = [a("x", Value::Real(0.3))];
        assert_eq!(c1.key(), c2.key());
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
        let mut set = std::collections::HashSet::new();
        assert!(set.insert(c1.key()));
        assert!(!set.insert(c2.key()));
    }
}
