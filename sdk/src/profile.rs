//! Questions every strategy asks of a profile and its trials.
//!
//! They are inherent methods on the generated types (which this crate owns),
//! so authors need no import to call them and all strategies agree on the
//! answers, e.g. on what "feasible" means.
//!
//! The history's methods (trials, metrics by name, encoding configurations)
//! are in the `history` module; these answer questions about the space,
//! the baseline and the options.

#![forbid(unsafe_code)]

use crate::{Assignment, Config, Constraint, Direction, Error, Param, Profile, Rng, Value};

impl Profile {
    /// The knob called `name` in the search space.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.space.iter().find(|p| p.name == name)
    }

    /// The position of knob `name` in the search space, which is also the
    /// index of its value in every [`TrialView::values`](crate::TrialView).
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.space.iter().position(|p| p.name == name)
    }

    /// Names positional `values` (one per knob, in search-space order) with
    /// the space's knob names. Extra values, or knobs without a value, are
    /// left out; the result has `min(values, knobs)` assignments.
    pub fn config_from_values(&self, values: impl IntoIterator<Item = Value>) -> Config {
        self.space
            .iter()
            .zip(values)
            .map(|(p, value)| Assignment {
                name: p.name.clone(),
                value,
            })
            .collect()
    }

    /// The configuration a request log's `served_by` label stands for: the
    /// baseline with the label's knobs changed.
    ///
    /// A label is either `knob=value;knob=value` (each knob in the space,
    /// each value inside its domain: a choice's label, a flag's `true` or
    /// `false`, a number), or a bare value of exactly one choice knob (the
    /// common case of one `model` knob). `None` when the label is neither,
    /// so a strategy can say which labels it could not place.
    pub fn config_for_label(&self, label: &str) -> Option<Config> {
        let mut config = self.baseline.clone();
        let mut set = |name: &str, value: Value| -> Option<()> {
            let param = self.param(name)?;
            if !param.domain.contains(&value) {
                return None;
            }
            match config.iter_mut().find(|a| a.name == name) {
                Some(a) => a.value = value,
                None => config.push(Assignment {
                    name: name.to_string(),
                    value,
                }),
            }
            Some(())
        };
        if label.contains('=') {
            for part in label.split(';') {
                let (name, text) = part.split_once('=')?;
                let (name, text) = (name.trim(), text.trim());
                let value = value_from_text(&self.param(name)?.domain, text)?;
                set(name, value)?;
            }
            return Some(config);
        }
        let mut owners = self.space.iter().filter(|p| match &p.domain {
            crate::Domain::Choice(labels) => labels.iter().any(|l| l == label),
            _ => false,
        });
        let owner = owners.next()?;
        if owners.next().is_some() {
            return None;
        }
        set(&owner.name.clone(), Value::Choice(label.to_string()))?;
        Some(config)
    }

    /// The value the baseline (today's configuration) gives knob `name`.
    pub fn baseline_value(&self, name: &str) -> Option<&Value> {
        self.baseline.iter().find(|a| a.name == name).map(|a| &a.value)
    }

    /// The user's value for strategy option `name`, if they set one.
    pub fn option(&self, name: &str) -> Option<&Value> {
        self.options.iter().find(|a| a.name == name).map(|a| &a.value)
    }

    /// Option `name` as a real, `default` when unset. Integers are accepted
    /// and converted; any other kind is an [`Error::InvalidInput`] naming the
    /// option, because silently using the default would hide a typo'd value.
    pub fn option_f64(&self, name: &str, default: f64) -> Result<f64, Error> {
        match self.option(name) {
            None => Ok(default),
            Some(v) => v.as_f64().ok_or_else(|| wrong_option(name, "a number", v)),
        }
    }

    /// Option `name` for a number whose default the strategy derives from
    /// the profile: `None` when unset or the label `auto` (the convention
    /// for such options, since an option's declared default must be a
    /// value), else a finite number; anything else is an
    /// [`Error::InvalidInput`] naming the option.
    pub fn option_auto_f64(&self, name: &str) -> Result<Option<f64>, Error> {
        match self.option(name) {
            None => Ok(None),
            Some(Value::Choice(auto)) if auto == "auto" => Ok(None),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(wrong_option(name, "a number or auto", v)),
            },
        }
    }

    /// Option `name` as a non-negative integer, `default` when unset; a
    /// negative integer or another kind is an [`Error::InvalidInput`].
    pub fn option_u64(&self, name: &str, default: u64) -> Result<u64, Error> {
        match self.option(name) {
            None => Ok(default),
            Some(v) => v
                .as_i64()
                .and_then(|i| u64::try_from(i).ok())
                .ok_or_else(|| wrong_option(name, "a non-negative integer", v)),
        }
    }

    /// Option `name` as a flag, `default` when unset; another kind is an
    /// [`Error::InvalidInput`].
    pub fn option_bool(&self, name: &str, default: bool) -> Result<bool, Error> {
        match self.option(name) {
            None => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| wrong_option(name, "a flag", v)),
        }
    }

    /// Option `name` as a label, `default` when unset; another kind is an
    /// [`Error::InvalidInput`].
    pub fn option_str<'a>(&'a self, name: &str, default: &'a str) -> Result<&'a str, Error> {
        match self.option(name) {
            None => Ok(default),
            Some(v) => v.as_str().ok_or_else(|| wrong_option(name, "a label", v)),
        }
    }

    /// Checks that the search space can be sampled: at least one knob, no
    /// name twice, every domain valid (see [`crate::Domain::validate`]).
    pub fn validate_space(&self) -> Result<(), Error> {
        if self.space.is_empty() {
            return Err(Error::InvalidInput(
                "the search space is empty: add at least one knob".into(),
            ));
        }
        for (i, param) in self.space.iter().enumerate() {
            if self.space[..i].iter().any(|p| p.name == param.name) {
                return Err(Error::InvalidInput(format!(
                    "knob `{}` is listed twice in the search space",
                    param.name
                )));
            }
            param.validate()?;
        }
        Ok(())
    }

    /// The number of distinct configurations in the space: the product of
    /// the knobs' [`crate::Domain::cardinality`]. `None` when some knob is
    /// continuous or the product exceeds `u128`; `Some(0)` when some domain
    /// is invalid or the space is empty.
    pub fn space_size(&self) -> Option<u128> {
        if self.space.is_empty() {
            return Some(0);
        }
        let mut size: u128 = 1;
        for p in &self.space {
            let c = p.domain.cardinality()?;
            if c == 0 {
                return Some(0);
            }
            size = size.checked_mul(c)?;
        }
        Some(size)
    }

    /// One configuration drawn with [`crate::Domain::sample`] for every knob,
    /// in space order (one draw per knob, rarely more).
    pub fn sample_config(&self, rng: &mut Rng) -> Config {
        self.space
            .iter()
            .map(|p| Assignment {
                name: p.name.clone(),
                value: p.domain.sample(rng),
            })
            .collect()
    }

    /// The values [`Profile::sample_config`] would draw from the same `rng`
    /// state, without names, in search-space order: for checking a draw
    /// against the history ([`Profile::encode_values`]) before naming it
    /// with [`Profile::config_from_values`].
    pub fn sample_values(&self, rng: &mut Rng) -> Vec<Value> {
        self.space.iter().map(|p| p.domain.sample(rng)).collect()
    }
}

fn wrong_option(name: &str, expected: &str, got: &Value) -> Error {
    Error::InvalidInput(format!(
        "option `{name}` must be {expected}, got the {} `{got}`",
        got.kind_name()
    ))
}

impl Constraint {
    /// Whether `value` keeps the bound: `low <= value <= high`, a missing
    /// side being unbounded. NaN never does.
    pub fn is_satisfied_by(&self, value: f64) -> bool {
        !value.is_nan()
            && self.low.is_none_or(|low| value >= low)
            && self.high.is_none_or(|high| value <= high)
    }
}

impl Direction {
    /// Whether `a` is strictly better than `b` for this direction: smaller
    /// when minimizing, larger when maximizing. A NaN on either side is
    /// never better, so a failed measurement cannot win.
    pub fn is_better(self, a: f64, b: f64) -> bool {
        match self {
            Direction::Minimize => a < b,
            Direction::Maximize => a > b,
        }
    }

    /// "lowest" or "highest": how rationales name the best value.
    pub fn superlative(self) -> &'static str {
        match self {
            Direction::Minimize => "lowest",
            Direction::Maximize => "highest",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConfigExt, ConfigKey, Domain, History, TrialState};

    /// The metric columns of [`profile`]'s history.
    const METRICS: [&str; 3] = ["latency_ms", "cost", "x"];

    /// Appends to `p`'s history a trial measuring `metrics` by name (names
    /// must be in [`METRICS`]), with the knob values `batch = 1, model = a`;
    /// returns its row.
    fn push(p: &mut Profile, number: u32, metrics: &[(&str, f64)], state: TrialState) -> usize {
        let mut cells = [f64::NAN; METRICS.len()];
        for (m, v) in metrics {
            cells[METRICS.iter().position(|c| c == m).expect("a known metric")] = *v;
        }
        // batch = 1, model = label 0 ("a").
        p.history.push(number, state, &[1.0, 0.0], &cells);
        p.trial_count() - 1
    }

    /// Whether `p` finds feasible a trial of it measuring `metrics`.
    fn feasible(p: &Profile, metrics: &[(&str, f64)], state: TrialState) -> bool {
        let mut p = p.clone();
        p.history = History {
            metric_names: METRICS.iter().map(|m| m.to_string()).collect(),
            ..History::default()
        };
        let row = push(&mut p, 0, metrics, state);
        p.is_feasible(&p.trial(row).unwrap())
    }

    fn profile() -> Profile {
        Profile {
            space: vec![
                Param::new("batch", Domain::integer(1, 4)),
                Param::new("model", Domain::choice(["a", "b"])),
            ],
            baseline: vec![Assignment {
                name: "batch".into(),
                value: Value::Integer(2),
            }],
            constraints: vec![Constraint {
                metric: "latency_ms".into(),
                low: None,
                high: Some(100.0),
            }],
            options: vec![
                Assignment {
                    name: "alpha".into(),
                    value: Value::Integer(3),
                },
                Assignment {
                    name: "mode".into(),
                    value: Value::Choice("fast".into()),
                },
                Assignment {
                    name: "neg".into(),
                    value: Value::Integer(-1),
                },
            ],
            history: History {
                metric_names: METRICS.iter().map(|m| m.to_string()).collect(),
                ..History::default()
            },
            ..Profile::default()
        }
    }

    #[test]
    fn lookups() {
        let p = profile();
        assert_eq!(p.param("model").unwrap().name, "model");
        assert!(p.param("nope").is_none());
        assert_eq!(p.baseline_value("batch"), Some(&Value::Integer(2)));
        assert_eq!(p.baseline_value("model"), None);
        assert_eq!(p.space_size(), Some(8));
    }

    #[test]
    fn typed_options_use_defaults_and_reject_wrong_kinds() {
        let p = profile();
        assert_eq!(p.option_f64("alpha", 0.5), Ok(3.0));
        assert_eq!(p.option_f64("beta", 0.5), Ok(0.5));
        assert_eq!(p.option_u64("alpha", 1), Ok(3));
        assert!(p.option_u64("neg", 1).is_err());
        assert_eq!(p.option_str("mode", "slow"), Ok("fast"));
        assert_eq!(p.option_bool("verbose", true), Ok(true));
        let Err(Error::InvalidInput(msg)) = p.option_bool("mode", false) else {
            panic!("accepted a label as a flag");
        };
        assert!(msg.contains("`mode`") && msg.contains("fast"), "{msg}");
    }

    #[test]
    fn feasibility_needs_every_constrained_metric() {
        let p = profile();
        assert!(feasible(&p, &[("latency_ms", 80.0)], TrialState::Complete));
        assert!(feasible(&p, &[("latency_ms", 100.0)], TrialState::Complete));
        assert!(!feasible(&p, &[("latency_ms", 120.0)], TrialState::Complete));
        assert!(!feasible(&p, &[("cost", 1.0)], TrialState::Complete));
        assert!(!feasible(&p, &[("latency_ms", f64::NAN)], TrialState::Complete));
        let open = Profile::default();
        assert!(feasible(&open, &[], TrialState::Failed));
        // A constraint on a metric no trial has is never kept.
        let mut unknown = profile();
        unknown.constraints[0].metric = "throughput".into();
        assert!(!feasible(&unknown, &[("latency_ms", 80.0)], TrialState::Complete));
    }

    #[test]
    fn completed_trials_and_metrics() {
        let mut p = profile();
        push(&mut p, 0, &[("x", 1.0)], TrialState::Complete);
        push(&mut p, 1, &[], TrialState::Failed);
        push(&mut p, 2, &[], TrialState::Running);
        push(&mut p, 3, &[("x", 3.0)], TrialState::Complete);
        let numbers: Vec<u32> = p.completed_trials().map(|t| t.number).collect();
        assert_eq!(numbers, [0, 3]);
        let rows: Vec<usize> = p.completed_trials().map(|t| t.index).collect();
        assert_eq!(rows, [0, 3]);
        let (t0, t3) = (p.trial(0).unwrap(), p.trial(3).unwrap());
        assert_eq!(p.trial_metric(&t0, "x"), Some(1.0));
        // A column the trial did not measure, and a metric with no column.
        assert_eq!(p.trial_metric(&t0, "cost"), None);
        assert_eq!(p.trial_metric(&t0, "y"), None);
        assert_eq!(p.metric_index("x"), Some(2));
        assert_eq!(t3.metric_at(2), Some(3.0));
        assert_eq!(t3.metric_at(0), None);
        assert_eq!(t3.metric_at(99), None);
        assert!(t3.is_complete() && !p.trial(1).unwrap().is_complete());
        // A name listed twice reads the first column.
        let column = p.history.add_metric("x (again)");
        p.history.metric_names[column] = "x".into();
        p.history.metrics[column] = 2.0; // row 0
        assert_eq!(p.trial_metric(&p.trial(0).unwrap(), "x"), Some(1.0));
    }

    #[test]
    fn trials_are_named_by_the_space() {
        let mut p = profile();
        push(&mut p, 0, &[], TrialState::Complete);
        let t = p.trial(0).unwrap();
        assert_eq!(p.param_index("model"), Some(1));
        assert_eq!(p.param_index("nope"), None);
        assert_eq!(p.trial_value(&t, "model"), Some(Value::Choice("a".into())));
        assert_eq!(p.trial_value(&t, "nope"), None);
        let config = p.trial_config(&t);
        assert_eq!(config.describe(), "batch=1, model=a");
        // A named configuration and the trial agree on the key, in any order.
        assert_eq!(p.config_key(&config), Some(t.key()));
        let reversed: Config = config.iter().rev().cloned().collect();
        assert_eq!(p.encode_config(&reversed).as_deref(), Some(t.values));
        assert_eq!(p.config_key(&reversed), Some(t.key()));
        // Positional values must be in space order.
        let values: Vec<Value> = reversed.iter().map(|a| a.value.clone()).collect();
        assert_eq!(p.encode_values(&values), None);
        let mut extra = reversed.clone();
        extra.push(Assignment {
            name: "old_knob".into(),
            value: Value::Flag(true),
        });
        assert_eq!(p.config_key(&extra), Some(t.key()));
        // The baseline sets only `batch`: it is no full configuration.
        assert_eq!(p.config_key(&p.baseline), None);
        assert_eq!(p.decode_config(t.values), Some(config.clone()));
        // An integer 1 is not the real 1.0, nor a label outside the domain.
        let mut real_batch = config.clone();
        real_batch[0].value = Value::Real(1.0);
        assert_eq!(p.config_key(&real_batch), None);
        let mut unknown = config;
        unknown[1].value = Value::Choice("z".into());
        assert_eq!(p.encode_config(&unknown), None);
        assert_ne!(ConfigKey::from_row(&[0.0, 1.0]), t.key());
    }

    #[test]
    fn direction_is_strict_and_nan_never_wins() {
        assert!(Direction::Minimize.is_better(1.0, 2.0));
        assert!(!Direction::Minimize.is_better(2.0, 2.0));
        assert!(Direction::Maximize.is_better(3.0, 2.0));
        assert!(!Direction::Maximize.is_better(f64::NAN, 2.0));
        assert!(!Direction::Minimize.is_better(1.0, f64::NAN));
    }

    #[test]
    fn space_validation() {
        assert!(profile().validate_space().is_ok());
        assert!(Profile::default().validate_space().is_err());
        let mut twice = profile();
        twice.space.push(Param::new("batch", Domain::Flag));
        assert!(twice.validate_space().is_err());
        let mut bad = profile();
        bad.space.push(Param::new("t", Domain::real(1.0, 0.0)));
        assert!(bad.validate_space().is_err());
        assert_eq!(bad.space_size(), Some(0));
        let mut continuous = profile();
        continuous.space.push(Param::new("t", Domain::real(0.0, 1.0)));
        assert_eq!(continuous.space_size(), None);
    }

    #[test]
    fn sample_config_follows_space_order() {
        let p = profile();
        let mut rng = Rng::new(3);
        let c = p.sample_config(&mut rng);
        let names: Vec<&str> = c.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["batch", "model"]);
        for (a, param) in c.iter().zip(&p.space) {
            assert!(param.domain.contains(&a.value));
        }
        // Positional draws are the same draws.
        let values = p.sample_values(&mut Rng::new(3));
        assert_eq!(p.encode_values(&values), p.encode_config(&c));
        assert_eq!(p.config_from_values(values), c);
    }
}

/// A knob value written as text in a `served_by` label, read by its domain.
fn value_from_text(domain: &crate::Domain, text: &str) -> Option<Value> {
    match domain {
        crate::Domain::Choice(_) => Some(Value::Choice(text.to_string())),
        crate::Domain::Flag => text.parse().ok().map(Value::Flag),
        crate::Domain::Integer(_) => text.parse().ok().map(Value::Integer),
        crate::Domain::Real(_) => text.parse().ok().filter(|x: &f64| x.is_finite()).map(Value::Real),
    }
}

#[cfg(test)]
mod label_tests {
    use crate::{ConfigExt, Domain, IntRange, Param, Profile, Value};

    fn profile() -> Profile {
        let mut p = Profile {
            space: vec![
                Param::new("model", Domain::choice(["small", "large"])),
                Param::new("style", Domain::choice(["default", "concise"])),
                Param::new(
                    "batch",
                    Domain::Integer(IntRange {
                        low: 1,
                        high: 8,
                        log: false,
                        step: None,
                    }),
                ),
            ],
            ..Profile::default()
        };
        p.baseline = p.config_from_values([
            Value::Choice("large".into()),
            Value::Choice("default".into()),
            Value::Integer(4),
        ]);
        p
    }

    #[test]
    fn a_label_names_a_configuration() {
        let p = profile();
        let bare = p.config_for_label("small").unwrap();
        assert_eq!(bare.value("model"), Some(&Value::Choice("small".into())));
        assert_eq!(
            bare.value("batch"),
            Some(&Value::Integer(4)),
            "other knobs keep the baseline"
        );
        let full = p.config_for_label("model=small;style=concise;batch=2").unwrap();
        assert_eq!(full.value("style"), Some(&Value::Choice("concise".into())));
        assert_eq!(full.value("batch"), Some(&Value::Integer(2)));
        // Unknown knobs, values outside the domain and unknown bare labels.
        assert!(p.config_for_label("model=medium").is_none());
        assert!(p.config_for_label("batch=9").is_none());
        assert!(p.config_for_label("colour=red").is_none());
        assert!(p.config_for_label("medium").is_none());
    }
}
