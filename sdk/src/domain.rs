//! Sampling, counting and enumerating the values of one knob.
//!
//! Every strategy needs the same answers about a domain: is it valid, how
//! many values does it hold, draw one, list them in order. They live here once
//! so that all strategies agree on them, in particular on the exact floats a
//! stepped real produces: two strategies (or a strategy and the host) that
//! compute `low + k * step` the same way recognise the same configuration.

#![forbid(unsafe_code)]

use std::fmt;

use crate::{Domain, Error, IntRange, Param, RealRange, Rng, Value};

/// More grid points than this and `low + k * step` can no longer be counted
/// exactly in an f64, so such a step is refused as invalid.
const MAX_REAL_GRID: f64 = 9_007_199_254_740_992.0; // 2^53

/// How far, relative to the step, a real may sit from a grid point and still
/// be that grid point. Covers decimal input such as `0.3` against the
/// computed `0.0 + 3 * 0.1 = 0.30000000000000004`.
const GRID_TOLERANCE: f64 = 1e-9;

/// Integers up to this magnitude are exact in an f64, so the history encodes
/// integer knobs within it (the host refuses integer bounds beyond it).
const MAX_EXACT_INT: f64 = 9_007_199_254_740_992.0; // 2^53

/// `x` as an integer when it is a whole number within ±2^53, the range an
/// f64 holds exactly.
fn whole(x: f64) -> Option<i64> {
    (x.fract() == 0.0 && x.abs() <= MAX_EXACT_INT).then_some(x as i64)
}

impl RealRange {
    /// The last grid index `n` (the grid is `low + k * step` for `k` in
    /// `0..=n`), or `None` without a step. Assumes a valid range.
    fn grid_last(&self) -> Option<u64> {
        let step = self.step?;
        let r = (self.high - self.low) / step;
        // Tolerate rounding: (1.0 - 0.0) / 0.1 is 9.999999999999998.
        let n = (r + GRID_TOLERANCE * r.max(1.0)).floor();
        (0.0..MAX_REAL_GRID).contains(&n).then_some(n as u64)
    }

    /// Grid point `k`, clamped to `high` so rounding never leaves the range.
    fn grid_point(&self, k: u64) -> f64 {
        let step = self.step.unwrap_or(0.0);
        (self.low + k as f64 * step).min(self.high)
    }

    /// The grid index nearest `x`, clamped to the grid.
    fn nearest_index(&self, x: f64, last: u64) -> u64 {
        let step = self.step.unwrap_or(1.0);
        ((x - self.low) / step).round().clamp(0.0, last as f64) as u64
    }

    /// Uniform in log space over `[low, high]` (one draw).
    fn log_uniform(&self, rng: &mut Rng) -> f64 {
        let x = rng.range_f64(self.low.ln(), self.high.ln()).exp();
        x.clamp(self.low, self.high)
    }

    fn problem(&self) -> Option<String> {
        let RealRange { low, high, log, step } = *self;
        if !low.is_finite() || !high.is_finite() {
            return Some(format!("a real needs finite bounds, got [{low:?}, {high:?}]"));
        }
        if low > high {
            return Some(format!("low ({low:?}) is above high ({high:?})"));
        }
        if log && low <= 0.0 {
            return Some(format!("a log-scaled real needs low > 0, got {low:?}"));
        }
        if let Some(step) = step {
            if !(step.is_finite() && step > 0.0) {
                return Some(format!("step must be a positive number, got {step:?}"));
            }
            if self.grid_last().is_none() {
                return Some(format!(
                    "step {step:?} is too fine for [{low:?}, {high:?}] (more than 2^53 values)"
                ));
            }
        }
        None
    }
}

impl IntRange {
    /// The step, 1 when absent. Assumes a valid range.
    fn step_or_one(&self) -> i64 {
        self.step.unwrap_or(1)
    }

    /// The last grid index `n` (values are `low + k * step`, `k` in `0..=n`).
    /// Assumes a valid range; fits a u64 because `high - low < 2^64`.
    fn grid_last(&self) -> u64 {
        let span = i128::from(self.high) - i128::from(self.low);
        (span / i128::from(self.step_or_one())) as u64
    }

    fn grid_point(&self, k: u64) -> i64 {
        (i128::from(self.low) + i128::from(k) * i128::from(self.step_or_one())) as i64
    }

    fn problem(&self) -> Option<String> {
        let IntRange { low, high, log, step } = *self;
        if low > high {
            return Some(format!("low ({low}) is above high ({high})"));
        }
        if log && low < 1 {
            return Some(format!("a log-scaled integer needs low >= 1, got {low}"));
        }
        if let Some(step) = step {
            if step <= 0 {
                return Some(format!("step must be positive, got {step}"));
            }
        }
        None
    }
}

impl Domain {
    /// A continuous real knob over `[low, high]`, uniform, without step.
    pub fn real(low: f64, high: f64) -> Domain {
        Domain::Real(RealRange {
            low,
            high,
            log: false,
            step: None,
        })
    }

    /// An integer knob over `[low, high]` (inclusive), uniform, every value.
    pub fn integer(low: i64, high: i64) -> Domain {
        Domain::Integer(IntRange {
            low,
            high,
            log: false,
            step: None,
        })
    }

    /// A choice among `labels`, in the given order.
    pub fn choice<I, S>(labels: I) -> Domain
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Domain::Choice(labels.into_iter().map(Into::into).collect())
    }

    /// Whether the domain can be sampled; the error says what to change.
    ///
    /// A real needs finite bounds with `low <= high`, `low > 0` when `log`,
    /// and a positive step giving at most 2^53 grid points; an integer needs
    /// `low <= high`, `low >= 1` when `log` and a positive step; a choice
    /// needs at least one label and no label twice. Strategies should check
    /// this (e.g. through [`Profile::validate_space`](crate::Profile::validate_space))
    /// before sampling, because the other methods answer invalid domains with
    /// placeholders rather than errors.
    pub fn validate(&self) -> Result<(), Error> {
        match self.problem() {
            None => Ok(()),
            Some(problem) => Err(Error::InvalidInput(problem)),
        }
    }

    fn problem(&self) -> Option<String> {
        match self {
            Domain::Real(r) => r.problem(),
            Domain::Integer(r) => r.problem(),
            Domain::Choice(labels) => {
                if labels.is_empty() {
                    return Some("a choice needs at least one label".into());
                }
                labels.iter().enumerate().find_map(|(i, label)| {
                    labels[..i]
                        .contains(label)
                        .then(|| format!("label {label:?} is listed twice"))
                })
            }
            Domain::Flag => None,
        }
    }

    /// How many distinct values [`Domain::sample`] can return: `None` when
    /// infinite, i.e. a real without `step` whose bounds differ.
    ///
    /// A stepped real has `floor((high - low) / step) + 1` values (with a
    /// relative tolerance of 1e-9 for rounding), a stepped integer
    /// `(high - low) / step + 1`; `log` does not change the count. A real with
    /// `low == high` has one value. An invalid domain has `Some(0)`.
    pub fn cardinality(&self) -> Option<u128> {
        if self.problem().is_some() {
            return Some(0);
        }
        match self {
            Domain::Real(r) => match r.grid_last() {
                Some(n) => Some(u128::from(n) + 1),
                None if r.low == r.high => Some(1),
                None => None,
            },
            Domain::Integer(r) => Some(u128::from(r.grid_last()) + 1),
            Domain::Choice(labels) => Some(labels.len() as u128),
            Domain::Flag => Some(2),
        }
    }

    /// Draws one value, uniformly over the domain as its fields describe.
    ///
    /// * Real, no step: uniform in `[low, high)` (exactly `low` when
    ///   `low == high`); with `log`, `exp` of a uniform draw in
    ///   `[ln low, ln high)`, clamped to `[low, high]`.
    /// * Real with step: the grid `low + k * step` (`k = 0..=n`, the last point
    ///   clamped to `high`); without `log` each grid point is equally likely;
    ///   with `log` a log-uniform draw is snapped to the nearest grid point, so
    ///   small values stay more likely, as `log` intends.
    /// * Integer: uniform over `low..=high`, or over the grid `low + k * step`
    ///   with a step; with `log`, `exp` of a uniform draw in
    ///   `[ln(low - 0.5), ln(high + 0.5))` rounded (then snapped to the step
    ///   grid), so each integer's weight is proportional to its share of log
    ///   space.
    /// * Choice: each label equally likely. Flag: a fair coin.
    ///
    /// Each call makes one draw from `rng` (more only when an unbiased
    /// integer pick rejects a draw, which is rare). On an invalid domain
    /// (see [`Domain::validate`]) it returns a placeholder (`low`, the first
    /// label or an empty label) instead of panicking.
    pub fn sample(&self, rng: &mut Rng) -> Value {
        if self.problem().is_some() {
            return self.placeholder();
        }
        match self {
            Domain::Real(r) => Value::Real(match (r.log, r.grid_last()) {
                (false, None) => rng.range_f64(r.low, r.high),
                (false, Some(n)) => r.grid_point(rng.below(n + 1)),
                (true, None) => r.log_uniform(rng),
                (true, Some(n)) => r.grid_point(r.nearest_index(r.log_uniform(rng), n)),
            }),
            Domain::Integer(r) => {
                let n = r.grid_last();
                Value::Integer(if r.log {
                    let lo = (r.low as f64 - 0.5).ln();
                    let hi = (r.high as f64 + 0.5).ln();
                    let x = rng.range_f64(lo, hi).exp();
                    let k = ((x - r.low as f64) / r.step_or_one() as f64)
                        .round()
                        .clamp(0.0, n as f64) as u64;
                    r.grid_point(k)
                } else if r.step_or_one() == 1 {
                    rng.range_i64(r.low, r.high)
                } else {
                    // A step of 2 or more keeps `n + 1` within u64.
                    r.grid_point(rng.below(n + 1))
                })
            }
            Domain::Choice(labels) => Value::Choice(labels[rng.index(labels.len())].clone()),
            Domain::Flag => Value::Flag(rng.bool()),
        }
    }

    fn placeholder(&self) -> Value {
        match self {
            Domain::Real(r) => Value::Real(r.low),
            Domain::Integer(r) => Value::Integer(r.low),
            Domain::Choice(labels) => Value::Choice(labels.first().cloned().unwrap_or_default()),
            Domain::Flag => Value::Flag(false),
        }
    }

    /// Value number `k` of a finite domain, in order: grid points from `low`
    /// up, labels in listed order, `false` before `true`. `None` when `k` is
    /// out of range, the domain is infinite or invalid. The inverse of
    /// [`Domain::grid_index`]; grid search and exhaustive enumeration use it.
    pub fn grid_value(&self, k: u128) -> Option<Value> {
        if k >= self.cardinality()? {
            return None;
        }
        Some(match self {
            Domain::Real(r) => Value::Real(r.grid_point(k as u64)),
            Domain::Integer(r) => Value::Integer(r.grid_point(k as u64)),
            Domain::Choice(labels) => Value::Choice(labels[k as usize].clone()),
            Domain::Flag => Value::Flag(k == 1),
        })
    }

    /// The position of `value` in [`Domain::grid_value`]'s order, or `None`
    /// when the value is not one of a finite domain's values (wrong kind, off
    /// the grid, out of range) or the domain is infinite or invalid.
    ///
    /// A stepped real matches the nearest grid point within 1e-9 of a step,
    /// so a typed `0.3` and the computed `0.30000000000000004` are the same
    /// value; everything else matches exactly.
    pub fn grid_index(&self, value: &Value) -> Option<u128> {
        self.cardinality().filter(|&c| c > 0)?;
        match (self, value) {
            (Domain::Real(r), Value::Real(v)) => match (r.grid_last(), r.step) {
                (Some(n), Some(step)) => {
                    if !(r.low - GRID_TOLERANCE * step..=r.high + GRID_TOLERANCE * step).contains(v) {
                        return None;
                    }
                    let k = r.nearest_index(*v, n);
                    ((r.grid_point(k) - v).abs() <= GRID_TOLERANCE * step).then_some(u128::from(k))
                }
                _ => (*v == r.low).then_some(0),
            },
            (Domain::Integer(r), Value::Integer(v)) => {
                let offset = i128::from(*v) - i128::from(r.low);
                let step = i128::from(r.step_or_one());
                (*v >= r.low && *v <= r.high && offset % step == 0).then(|| (offset / step) as u128)
            }
            (Domain::Choice(labels), Value::Choice(v)) => {
                labels.iter().position(|l| l == v).map(|i| i as u128)
            }
            (Domain::Flag, Value::Flag(b)) => Some(u128::from(*b)),
            _ => None,
        }
    }

    /// `value` as the number the history holds for it (see
    /// [`History`](crate::History)): a real as itself, an integer as the same
    /// number, a choice as the index of its label in the domain's list, a
    /// flag as 0 (`false`) or 1 (`true`).
    ///
    /// `None` when the domain does not contain the value
    /// ([`Domain::contains`]: wrong kind, outside the bounds, off the step
    /// grid, an unknown label, a NaN) or when it is an integer beyond ±2^53,
    /// which an f64 cannot hold exactly. Distinct values of a domain encode
    /// to distinct numbers, and [`Domain::decode`] gives the value back.
    ///
    /// ```
    /// use aiopt_sdk::{Domain, Value};
    ///
    /// let model = Domain::choice(["small", "large"]);
    /// assert_eq!(model.encode(&Value::Choice("large".into())), Some(1.0));
    /// assert_eq!(model.encode(&Value::Choice("huge".into())), None);
    /// assert_eq!(Domain::Flag.encode(&Value::Flag(true)), Some(1.0));
    /// assert_eq!(Domain::integer(1, 64).encode(&Value::Integer(8)), Some(8.0));
    /// assert_eq!(Domain::real(0.0, 1.0).encode(&Value::Real(0.25)), Some(0.25));
    /// assert_eq!(Domain::real(0.0, 1.0).encode(&Value::Integer(0)), None); // wrong kind
    /// ```
    pub fn encode(&self, value: &Value) -> Option<f64> {
        match (self, value) {
            (Domain::Real(_), Value::Real(x)) => self.contains(value).then_some(*x),
            (Domain::Integer(_), Value::Integer(i)) => {
                (i.unsigned_abs() <= MAX_EXACT_INT as u64 && self.contains(value)).then_some(*i as f64)
            }
            // A label's grid index is its position in the list.
            (Domain::Choice(_), Value::Choice(_)) => self.grid_index(value).map(|k| k as f64),
            (Domain::Flag, Value::Flag(b)) => Some(if *b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }

    /// The value a history number `x` stands for (see
    /// [`Domain::encode`]): `Value::Real(x)` for a real, the integer for an
    /// integer, the label at index `x` for a choice, `false` for 0 and
    /// `true` for 1 for a flag.
    ///
    /// `None` when `x` encodes no value of the domain: not finite, not a
    /// whole number where one is needed, beyond ±2^53 for an integer, a
    /// label index out of range, a flag other than 0 or 1, or a value the
    /// domain does not contain ([`Domain::contains`], e.g. outside the
    /// bounds); always `None` for an invalid domain. A choice clones its
    /// label; [`TrialView::label`](crate::TrialView::label) borrows it.
    ///
    /// ```
    /// use aiopt_sdk::{Domain, Value};
    ///
    /// let model = Domain::choice(["small", "large"]);
    /// assert_eq!(model.decode(1.0), Some(Value::Choice("large".into())));
    /// assert_eq!(model.decode(2.0), None);
    /// assert_eq!(model.decode(0.5), None);
    /// assert_eq!(Domain::Flag.decode(0.0), Some(Value::Flag(false)));
    /// assert_eq!(Domain::integer(1, 64).decode(8.0), Some(Value::Integer(8)));
    /// assert_eq!(Domain::real(0.0, 1.0).decode(f64::NAN), None);
    /// ```
    pub fn decode(&self, x: f64) -> Option<Value> {
        match self {
            Domain::Real(_) => Some(Value::Real(x)).filter(|v| self.contains(v)),
            Domain::Integer(_) => Some(Value::Integer(whole(x)?)).filter(|v| self.contains(v)),
            Domain::Choice(_) | Domain::Flag => self.grid_value(u128::try_from(whole(x)?).ok()?),
        }
    }

    /// The position of the value encoded as `x` in [`Domain::grid_value`]'s
    /// order: the same as `grid_index(&decode(x)?)`, without building the
    /// value (no label is cloned). For grid searches and exhaustive
    /// enumerations that index the history.
    ///
    /// ```
    /// use aiopt_sdk::Domain;
    ///
    /// let tenths = Domain::Real(aiopt_sdk::RealRange { low: 0.0, high: 1.0, log: false, step: Some(0.1) });
    /// assert_eq!(tenths.grid_index_encoded(0.3), Some(3)); // within 1e-9 of a step
    /// assert_eq!(tenths.grid_index_encoded(0.35), None);
    /// assert_eq!(Domain::choice(["a", "b"]).grid_index_encoded(1.0), Some(1));
    /// assert_eq!(Domain::real(0.0, 1.0).grid_index_encoded(0.5), None); // infinite domain
    /// ```
    pub fn grid_index_encoded(&self, x: f64) -> Option<u128> {
        match self {
            Domain::Real(_) => self.grid_index(&Value::Real(x)),
            Domain::Integer(_) => self.grid_index(&Value::Integer(whole(x)?)),
            Domain::Choice(_) | Domain::Flag => {
                let k = u128::try_from(whole(x)?).ok()?;
                (k < self.cardinality()?).then_some(k)
            }
        }
    }

    /// Whether `value` is one the domain allows: the right kind, within the
    /// bounds and, when stepped, on the grid (with [`Domain::grid_index`]'s
    /// tolerance). Always false for an invalid domain.
    pub fn contains(&self, value: &Value) -> bool {
        match (self, value) {
            (Domain::Real(r), Value::Real(v)) if r.step.is_none() => {
                self.problem().is_none() && (r.low..=r.high).contains(v)
            }
            _ => self.grid_index(value).is_some(),
        }
    }
}

impl Param {
    /// A knob named `name` over `domain`.
    pub fn new(name: impl Into<String>, domain: Domain) -> Param {
        Param {
            name: name.into(),
            domain,
        }
    }

    /// [`Domain::validate`], with the knob's name in the message.
    pub fn validate(&self) -> Result<(), Error> {
        match self.domain.problem() {
            None => Ok(()),
            Some(problem) => Err(Error::InvalidInput(format!("knob `{}`: {problem}", self.name))),
        }
    }
}

impl Value {
    /// The number in a real or integer value (integers converted), for
    /// options and knobs that accept either.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Real(x) => Some(*x),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The integer in an integer value.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The label of a choice value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Choice(s) => Some(s),
            _ => None,
        }
    }

    /// The state of a flag value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Flag(b) => Some(*b),
            _ => None,
        }
    }

    /// The WIT name of the value's case, for error messages.
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            Value::Real(_) => "real",
            Value::Integer(_) => "integer",
            Value::Choice(_) => "choice",
            Value::Flag(_) => "flag",
        }
    }
}

/// Shows the value as a user would type it: reals in Rust's shortest
/// round-trip form (`0.1`, `1.0`, `1e-7`), labels unquoted.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Real(x) => write!(f, "{x:?}"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Choice(s) => f.write_str(s),
            Value::Flag(b) => write!(f, "{b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real(low: f64, high: f64, log: bool, step: Option<f64>) -> Domain {
        Domain::Real(RealRange { low, high, log, step })
    }

    fn int(low: i64, high: i64, log: bool, step: Option<i64>) -> Domain {
        Domain::Integer(IntRange { low, high, log, step })
    }

    fn samples(domain: &Domain, n: usize) -> Vec<Value> {
        let mut rng = Rng::new(11);
        (0..n).map(|_| domain.sample(&mut rng)).collect()
    }

    fn reals(values: &[Value]) -> Vec<f64> {
        values.iter().map(|v| v.as_f64().unwrap()).collect()
    }

    #[test]
    fn uniform_real_stays_in_bounds_and_spreads() {
        let d = real(-1.0, 3.0, false, None);
        let xs = reals(&samples(&d, 10_000));
        assert!(xs.iter().all(|x| (-1.0..3.0).contains(x)));
        let below_one = xs.iter().filter(|&&x| x < 1.0).count();
        assert!((4_700..5_300).contains(&below_one), "{below_one}");
        assert_eq!(d.cardinality(), None);
        assert_eq!(real(2.0, 2.0, false, None).cardinality(), Some(1));
        assert_eq!(
            samples(&real(2.0, 2.0, false, None), 3),
            vec![Value::Real(2.0); 3]
        );
    }

    #[test]
    fn log_real_is_uniform_in_log_space() {
        let d = real(1e-4, 1.0, true, None);
        let xs = reals(&samples(&d, 10_000));
        assert!(xs.iter().all(|x| (1e-4..=1.0).contains(x)));
        // Each decade holds a quarter of the mass.
        let small = xs.iter().filter(|&&x| x < 1e-3).count();
        assert!((2_300..2_700).contains(&small), "{small}");
    }

    #[test]
    fn stepped_real_hits_every_grid_point_and_nothing_else() {
        let d = real(0.0, 1.0, false, Some(0.1));
        assert_eq!(d.cardinality(), Some(11));
        let mut counts = [0u32; 11];
        for v in samples(&d, 11_000) {
            let k = d.grid_index(&v).expect("on the grid") as usize;
            assert_eq!(d.grid_value(k as u128), Some(v.clone()));
            counts[k] += 1;
        }
        assert!(counts.iter().all(|&c| (850..1150).contains(&c)), "{counts:?}");
        assert_eq!(d.grid_value(10), Some(Value::Real(1.0)));
        assert_eq!(d.grid_value(11), None);
        // Decimal input matches the computed grid point.
        assert_eq!(d.grid_index(&Value::Real(0.3)), Some(3));
        assert!(d.contains(&Value::Real(0.3)));
        assert!(!d.contains(&Value::Real(0.35)));
        assert!(!d.contains(&Value::Real(1.1)));
    }

    #[test]
    fn stepped_real_whose_range_is_not_a_multiple_stops_below_high() {
        let d = real(0.0, 1.0, false, Some(0.3));
        assert_eq!(d.cardinality(), Some(4)); // 0, 0.3, 0.6, 0.9
        assert!(reals(&samples(&d, 1000)).iter().all(|&x| x <= 0.9 + 1e-12));
    }

    #[test]
    fn log_stepped_real_snaps_to_grid_and_favours_small_values() {
        let d = real(1.0, 100.0, true, Some(1.0));
        assert_eq!(d.cardinality(), Some(100));
        let xs = reals(&samples(&d, 10_000));
        assert!(xs.iter().all(|&x| x.fract() == 0.0 && (1.0..=100.0).contains(&x)));
        let small = xs.iter().filter(|&&x| x <= 10.0).count();
        assert!(small > 4_000, "{small}");
    }

    #[test]
    fn integer_is_inclusive_and_uniform() {
        let d = int(1, 4, false, None);
        assert_eq!(d.cardinality(), Some(4));
        let mut counts = [0u32; 4];
        for v in samples(&d, 8_000) {
            counts[(v.as_i64().unwrap() - 1) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (1_800..2_200).contains(&c)), "{counts:?}");
    }

    #[test]
    fn stepped_integer_stays_on_grid() {
        let d = int(8, 64, false, Some(8));
        assert_eq!(d.cardinality(), Some(8));
        for v in samples(&d, 1000) {
            let i = v.as_i64().unwrap();
            assert!((8..=64).contains(&i) && i % 8 == 0, "{i}");
        }
        assert!(d.contains(&Value::Integer(16)));
        assert!(!d.contains(&Value::Integer(17)));
        assert!(!d.contains(&Value::Real(16.0)));
        // The grid may stop short of high.
        assert_eq!(int(0, 10, false, Some(4)).cardinality(), Some(3));
    }

    #[test]
    fn log_integer_favours_small_values_and_reaches_both_ends() {
        let d = int(1, 1000, true, None);
        let xs: Vec<i64> = samples(&d, 20_000).iter().map(|v| v.as_i64().unwrap()).collect();
        assert!(xs.iter().all(|x| (1..=1000).contains(x)));
        assert!(xs.contains(&1));
        let small = xs.iter().filter(|&&x| x <= 31).count();
        // ln(31.5 / 0.5) / ln(1000.5 / 0.5) ≈ 0.545.
        assert!((10_300..11_500).contains(&small), "{small}");
        let stepped = int(2, 512, true, Some(2));
        for v in samples(&stepped, 1000) {
            let i = v.as_i64().unwrap();
            assert!((2..=512).contains(&i) && i % 2 == 0, "{i}");
        }
    }

    #[test]
    fn extreme_integer_bounds_do_not_overflow() {
        let d = int(i64::MIN, i64::MAX, false, None);
        assert_eq!(d.cardinality(), Some(1u128 << 64));
        let _ = samples(&d, 100);
        let stepped = int(i64::MIN, i64::MAX, false, Some(i64::MAX));
        assert_eq!(stepped.cardinality(), Some(3));
        for v in samples(&stepped, 100) {
            assert!(stepped.contains(&v), "{v:?}");
        }
    }

    #[test]
    fn choice_and_flag_are_uniform() {
        let d = Domain::choice(["a", "b", "c"]);
        assert_eq!(d.cardinality(), Some(3));
        let vs = samples(&d, 3_000);
        for label in ["a", "b", "c"] {
            let n = vs.iter().filter(|v| v.as_str() == Some(label)).count();
            assert!((900..1100).contains(&n), "{label}: {n}");
        }
        assert_eq!(d.grid_value(1), Some(Value::Choice("b".into())));
        assert_eq!(d.grid_index(&Value::Choice("c".into())), Some(2));
        assert!(!d.contains(&Value::Choice("d".into())));

        assert_eq!(Domain::Flag.cardinality(), Some(2));
        let heads = samples(&Domain::Flag, 2_000)
            .iter()
            .filter(|v| v.as_bool() == Some(true))
            .count();
        assert!((900..1100).contains(&heads), "{heads}");
        assert_eq!(Domain::Flag.grid_value(0), Some(Value::Flag(false)));
    }

    #[test]
    fn invalid_domains_are_reported_and_never_panic() {
        let invalid = [
            real(2.0, 1.0, false, None),
            real(0.0, 1.0, true, None),
            real(0.0, f64::INFINITY, false, None),
            real(0.0, 1.0, false, Some(0.0)),
            real(0.0, 1.0, false, Some(-1.0)),
            real(0.0, 1.0, false, Some(f64::NAN)),
            real(0.0, 1e300, false, Some(1e-300)),
            int(3, 2, false, None),
            int(0, 10, true, None),
            int(0, 10, false, Some(0)),
            Domain::choice(Vec::<String>::new()),
            Domain::choice(["a", "a"]),
        ];
        let mut rng = Rng::new(0);
        for d in &invalid {
            assert!(matches!(d.validate(), Err(Error::InvalidInput(_))), "{d:?}");
            assert_eq!(d.cardinality(), Some(0), "{d:?}");
            let v = d.sample(&mut rng);
            assert!(!d.contains(&v), "{d:?}");
            assert_eq!(d.grid_value(0), None);
        }
        let p = Param::new("temperature", real(1.0, 0.0, false, None));
        let Err(Error::InvalidInput(msg)) = p.validate() else {
            panic!("accepted")
        };
        assert!(msg.contains("temperature"), "{msg}");
    }

    #[test]
    fn encoding_is_exact_and_checks_the_domain() {
        let model = Domain::choice(["a", "b", "c"]);
        let tenths = real(0.0, 1.0, false, Some(0.1));
        let batch = int(8, 64, false, Some(8));
        let cases: [(&Domain, Value, Option<f64>); 14] = [
            (&model, Value::Choice("c".into()), Some(2.0)),
            (&model, Value::Choice("d".into()), None),
            (&model, Value::Integer(0), None),
            (&Domain::Flag, Value::Flag(false), Some(0.0)),
            (&Domain::Flag, Value::Flag(true), Some(1.0)),
            (&batch, Value::Integer(16), Some(16.0)),
            (&batch, Value::Integer(17), None),
            (&batch, Value::Real(16.0), None),
            (&tenths, Value::Real(0.3), Some(0.3)),
            (&tenths, Value::Real(0.35), None),
            (&tenths, Value::Real(f64::NAN), None),
            (&real(-1.0, 1.0, false, None), Value::Real(-0.0), Some(-0.0)),
            (
                &int(i64::MIN, i64::MAX, false, None),
                Value::Integer((1 << 53) + 1),
                None,
            ),
            (
                &int(i64::MIN, i64::MAX, false, None),
                Value::Integer(-(1 << 53)),
                Some(-9_007_199_254_740_992.0),
            ),
        ];
        for (domain, value, encoded) in cases {
            let got = domain.encode(&value);
            assert_eq!(
                got.map(f64::to_bits),
                encoded.map(f64::to_bits),
                "{domain:?} {value:?}"
            );
            if let Some(x) = got {
                assert_eq!(domain.decode(x), Some(value.clone()), "{domain:?} {x}");
            }
        }
        // Every value of a finite domain round-trips, in grid order.
        for domain in [&model, &tenths, &batch, &Domain::Flag] {
            for k in 0..domain.cardinality().unwrap() {
                let value = domain.grid_value(k).unwrap();
                let x = domain.encode(&value).unwrap();
                assert_eq!(domain.decode(x), Some(value));
                assert_eq!(domain.grid_index_encoded(x), Some(k));
            }
        }
    }

    #[test]
    fn decoding_rejects_what_encodes_no_value() {
        let model = Domain::choice(["a", "b"]);
        for x in [-1.0, 2.0, 0.5, f64::NAN, f64::INFINITY] {
            assert_eq!(model.decode(x), None, "{x}");
            assert_eq!(model.grid_index_encoded(x), None, "{x}");
        }
        assert_eq!(model.decode(-0.0), Some(Value::Choice("a".into())));
        for x in [2.0, -1.0, 0.5, f64::NAN] {
            assert_eq!(Domain::Flag.decode(x), None, "{x}");
        }
        let batch = int(1, 64, false, None);
        for x in [0.0, 65.0, 8.5, f64::INFINITY, f64::NAN] {
            assert_eq!(batch.decode(x), None, "{x}");
        }
        assert_eq!(int(i64::MIN, i64::MAX, false, None).decode(2f64.powi(60)), None);
        let unit = real(0.0, 1.0, false, None);
        assert_eq!(unit.decode(0.5), Some(Value::Real(0.5)));
        for x in [1.5, -0.1, f64::NAN, f64::INFINITY] {
            assert_eq!(unit.decode(x), None, "{x}");
        }
        // Stepped reals keep the value as sent, within 1e-9 of a step.
        let tenths = real(0.0, 1.0, false, Some(0.1));
        assert_eq!(tenths.decode(0.3), Some(Value::Real(0.3)));
        assert_eq!(tenths.grid_index_encoded(0.1 + 0.2), Some(3));
        assert_eq!(tenths.decode(0.35), None);
        // Invalid domains contain nothing.
        assert_eq!(Domain::choice(["a", "a"]).decode(0.0), None);
        assert_eq!(real(1.0, 0.0, false, None).decode(0.5), None);
        // An infinite domain has no grid.
        assert_eq!(unit.grid_index_encoded(0.5), None);
        assert_eq!(real(2.0, 2.0, false, None).grid_index_encoded(2.0), Some(0));
    }

    #[test]
    fn value_accessors_and_display() {
        assert_eq!(Value::Integer(3).as_f64(), Some(3.0));
        assert_eq!(Value::Real(0.5).as_i64(), None);
        assert_eq!(Value::Real(0.1).to_string(), "0.1");
        assert_eq!(Value::Real(1.0).to_string(), "1.0");
        assert_eq!(Value::Choice("gpt".into()).to_string(), "gpt");
        assert_eq!(Value::Flag(true).to_string(), "true");
        assert_eq!(Value::Integer(-4).to_string(), "-4");
    }
}
