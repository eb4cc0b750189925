//! Reading and building the flat history.
//!
//! The contract sends history as a few row-major blocks (see the crate docs,
//! "History is flat"). [`Profile::trials`] cuts them into rows, one borrowed
//! [`TrialView`] per trial, without allocating; the lookups by name live on
//! [`Profile`], which holds the knob and metric names, and take the view.
//!
//! The blocks come from the host, so reading never panics on a malformed
//! history: the number of rows is the shorter of `numbers` and `states`, and
//! a row whose values or metrics the blocks do not hold in full reads as
//! empty (no values, nothing measured). The builders, [`History::push`] and
//! [`Profile::push_trial`], are for tests and examples and panic on
//! inconsistent input instead.

#![forbid(unsafe_code)]

use std::fmt;

use crate::{Assignment, Config, ConfigKey, History, Param, Profile, TrialState, Value};

/// One row of the history: a trial, borrowed from the profile's flat
/// blocks.
///
/// Get views from [`Profile::trials`], [`Profile::completed_trials`] or
/// [`Profile::trial`]. A view is `Copy` and costs nothing to make: its
/// fields are slices of the blocks. The knob values are encoded numbers
/// (see [`Domain::encode`](crate::Domain::encode)); decode one with
/// [`TrialView::value`], or compare them with an encoded configuration
/// ([`Profile::encode_config`]) directly.
#[derive(Clone, Copy)]
pub struct TrialView<'a> {
    /// The row: 0 for the oldest trial.
    pub index: usize,
    /// The trial's number.
    pub number: u32,
    /// Complete, failed, running or pruned.
    pub state: TrialState,
    /// One encoded value per knob, in search-space order; empty when the
    /// history does not hold the row's values (which the host never sends).
    pub values: &'a [f64],
    /// One entry per metric column (`profile.history.metric_names`), NaN
    /// where the trial did not measure the metric; empty when the history
    /// does not hold the row's metrics.
    pub metrics: &'a [f64],
    space: &'a [Param],
}

impl<'a> TrialView<'a> {
    /// The value of knob `j` (its position in the search space), decoded
    /// through its domain ([`Domain::decode`](crate::Domain::decode)); `None`
    /// when there is no such knob or the number encodes none of its values.
    /// By name: [`Profile::trial_value`].
    pub fn value(&self, j: usize) -> Option<Value> {
        self.space.get(j)?.domain.decode(*self.values.get(j)?)
    }

    /// The label of choice knob `j`, borrowed from the profile: the same as
    /// [`TrialView::value`] without cloning the label. `None` when knob `j`
    /// is not a choice or the index is not one of its labels.
    pub fn label(&self, j: usize) -> Option<&'a str> {
        let param = self.space.get(j)?;
        let crate::Domain::Choice(labels) = &param.domain else {
            return None;
        };
        let k = param.domain.grid_index_encoded(*self.values.get(j)?)?;
        labels.get(usize::try_from(k).ok()?).map(String::as_str)
    }

    /// The measurement in metric column `k` (see [`Profile::metric_index`]);
    /// `None` when the trial did not measure it (NaN) or the column does not
    /// exist. By name: [`Profile::trial_metric`].
    pub fn metric_at(&self, k: usize) -> Option<f64> {
        self.metrics.get(k).copied().filter(|x| !x.is_nan())
    }

    /// Whether the trial was measured (`TrialState::Complete`).
    pub fn is_complete(&self) -> bool {
        self.state == TrialState::Complete
    }

    /// The trial's configuration with knob names, in search-space order, as
    /// a proposal or a suggestion returns it; see [`Profile::trial_config`].
    pub fn config(&self) -> Config {
        self.space
            .iter()
            .zip(self.values)
            .filter_map(|(p, &x)| {
                Some(Assignment {
                    name: p.name.clone(),
                    value: p.domain.decode(x)?,
                })
            })
            .collect()
    }

    /// The exact identity of the trial's configuration: its row by bits,
    /// equal to [`Profile::config_key`] of a named configuration with the
    /// same values.
    pub fn key(&self) -> ConfigKey {
        ConfigKey::from_row(self.values)
    }
}

/// Shows the row without the search space it borrows.
impl fmt::Debug for TrialView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrialView")
            .field("index", &self.index)
            .field("number", &self.number)
            .field("state", &self.state)
            .field("values", &self.values)
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

/// Row `i` of a row-major block `width` numbers wide; empty when the block
/// does not hold it in full.
fn row(block: &[f64], i: usize, width: usize) -> &[f64] {
    i.checked_mul(width)
        .and_then(|start| block.get(start..start.checked_add(width)?))
        .unwrap_or(&[])
}

impl History {
    /// The number of rows (trials): the shorter of `numbers` and `states`,
    /// which the host sends equally long.
    pub fn len(&self) -> usize {
        self.numbers.len().min(self.states.len())
    }

    /// Whether the history holds no trial.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The column of metric `name` in `metrics` (the first, should the name
    /// be listed twice).
    pub fn metric_index(&self, name: &str) -> Option<usize> {
        self.metric_names.iter().position(|m| m == name)
    }

    /// The column of metric `name`, added (NaN, not measured, in every
    /// existing row) when the history does not have it yet.
    pub fn add_metric(&mut self, name: &str) -> usize {
        if let Some(k) = self.metric_index(name) {
            return k;
        }
        let width = self.metric_names.len();
        let old = std::mem::take(&mut self.metrics);
        self.metrics.reserve(self.len() * (width + 1));
        for i in 0..self.len() {
            let cells = row(&old, i, width);
            self.metrics.extend_from_slice(cells);
            self.metrics
                .extend(std::iter::repeat_n(f64::NAN, width + 1 - cells.len()));
        }
        self.metric_names.push(name.to_string());
        width
    }

    /// Appends a row: trial `number` in `state`, with encoded knob `values`
    /// in search-space order and one entry of `metrics` per metric column
    /// (NaN where not measured). [`Profile::push_trial`] does the same from
    /// values and metrics by name.
    ///
    /// # Panics
    ///
    /// When `metrics` does not have one entry per column, or `values` is
    /// not as long as every earlier row's.
    pub fn push(&mut self, number: u32, state: TrialState, values: &[f64], metrics: &[f64]) {
        assert_eq!(
            metrics.len(),
            self.metric_names.len(),
            "a history row needs one metric per column"
        );
        assert_eq!(
            self.values.len(),
            self.len() * values.len(),
            "every history row needs the same number of values"
        );
        self.numbers.push(number);
        self.states.push(state);
        self.values.extend_from_slice(values);
        self.metrics.extend_from_slice(metrics);
    }
}

impl Profile {
    /// The number of trials in the history.
    pub fn trial_count(&self) -> usize {
        self.history.len()
    }

    /// Trial `index` of the history (0 = the oldest), or `None` past the
    /// end.
    pub fn trial(&self, index: usize) -> Option<TrialView<'_>> {
        (index < self.trial_count()).then(|| self.view(index))
    }

    /// Row `index`, which must be below [`Profile::trial_count`].
    fn view(&self, index: usize) -> TrialView<'_> {
        let h = &self.history;
        TrialView {
            index,
            number: h.numbers[index],
            state: h.states[index],
            values: row(&h.values, index, self.space.len()),
            metrics: row(&h.metrics, index, h.metric_names.len()),
            space: &self.space,
        }
    }

    /// Every trial of the history, oldest first, in any state. Allocates
    /// nothing.
    pub fn trials(&self) -> impl DoubleEndedIterator<Item = TrialView<'_>> + ExactSizeIterator + Clone + '_ {
        (0..self.trial_count()).map(move |i| self.view(i))
    }

    /// The trials that were measured (`complete`), oldest first.
    pub fn completed_trials(&self) -> impl DoubleEndedIterator<Item = TrialView<'_>> + Clone + '_ {
        self.trials().filter(TrialView::is_complete)
    }

    /// The column of metric `name` in the history (the first, should the
    /// name be listed twice). Resolve it once, then read each trial with
    /// [`TrialView::metric_at`].
    pub fn metric_index(&self, name: &str) -> Option<usize> {
        self.history.metric_index(name)
    }

    /// `trial`'s measurement of metric `name`: `None` when the history has
    /// no such metric or the trial did not measure it.
    ///
    /// ```
    /// use aiopt_sdk::{Profile, TrialState};
    ///
    /// let mut profile = Profile::default();
    /// profile.history.metric_names = vec!["latency_ms".into(), "accuracy".into()];
    /// profile.history.push(0, TrialState::Complete, &[], &[312.0, f64::NAN]);
    /// let trial = profile.trial(0).unwrap();
    /// assert_eq!(profile.trial_metric(&trial, "latency_ms"), Some(312.0));
    /// assert_eq!(profile.trial_metric(&trial, "accuracy"), None); // not measured
    /// assert_eq!(profile.trial_metric(&trial, "cost_usd"), None); // no such metric
    /// // In a loop, resolve the column once.
    /// let latency = profile.metric_index("latency_ms").unwrap();
    /// let total: f64 = profile.trials().filter_map(|t| t.metric_at(latency)).sum();
    /// assert_eq!(total, 312.0);
    /// ```
    pub fn trial_metric(&self, trial: &TrialView<'_>, name: &str) -> Option<f64> {
        trial.metric_at(self.metric_index(name)?)
    }

    /// `trial`'s value of knob `name`, decoded; `None` when the space has no
    /// such knob or the row's number encodes none of its values.
    pub fn trial_value(&self, trial: &TrialView<'_>, name: &str) -> Option<Value> {
        trial.value(self.param_index(name)?)
    }

    /// `trial`'s configuration with knob names, in search-space order: what
    /// a proposal or a suggestion returns. Clones every name (and label), so
    /// call it for the few trials that are output, not for the whole
    /// history (compare encoded rows or [`TrialView::key`] instead). A knob
    /// whose number encodes none of its values (which the host never sends)
    /// is left out.
    pub fn trial_config(&self, trial: &TrialView<'_>) -> Config {
        trial.config()
    }

    /// Whether `trial`'s metrics keep every constraint of the profile.
    ///
    /// A constraint on a metric the trial did not measure (or that has no
    /// column at all) counts as broken (the configuration cannot be shown
    /// to be safe), and so does a NaN measurement. A profile without
    /// constraints finds every trial feasible, whatever its state; combine
    /// with [`TrialView::is_complete`] as needed.
    pub fn is_feasible(&self, trial: &TrialView<'_>) -> bool {
        self.constraints.iter().all(|c| {
            self.trial_metric(trial, &c.metric)
                .is_some_and(|v| c.is_satisfied_by(v))
        })
    }

    /// A named configuration as the row the history would hold for it: one
    /// encoded number per knob of the space, in space order whatever order
    /// `config` lists them in (knobs outside the space are ignored), so it
    /// compares with [`TrialView::values`] number for number. `None` when
    /// `config` does not set every knob of the space or sets one to a value
    /// its domain does not encode ([`Domain::encode`](crate::Domain::encode)):
    /// it then matches no trial.
    pub fn encode_config(&self, config: &[Assignment]) -> Option<Vec<f64>> {
        self.space
            .iter()
            .enumerate()
            .map(|(j, p)| {
                // Configurations are usually in space order: try there first.
                let value = match config.get(j) {
                    Some(a) if a.name == p.name => &a.value,
                    _ => &config.iter().find(|a| a.name == p.name)?.value,
                };
                p.domain.encode(value)
            })
            .collect()
    }

    /// Positional `values` (one per knob, in search-space order, as
    /// [`Profile::sample_values`] draws them) encoded as a history row;
    /// `None` when there is not one value per knob or one does not encode.
    pub fn encode_values(&self, values: &[Value]) -> Option<Vec<f64>> {
        if values.len() != self.space.len() {
            return None;
        }
        self.space
            .iter()
            .zip(values)
            .map(|(p, v)| p.domain.encode(v))
            .collect()
    }

    /// An encoded row named with the space's knobs: the inverse of
    /// [`Profile::encode_config`]. `None` when `row` does not hold one
    /// number per knob or one encodes none of its knob's values.
    pub fn decode_config(&self, row: &[f64]) -> Option<Config> {
        if row.len() != self.space.len() {
            return None;
        }
        self.space
            .iter()
            .zip(row)
            .map(|(p, &x)| {
                Some(Assignment {
                    name: p.name.clone(),
                    value: p.domain.decode(x)?,
                })
            })
            .collect()
    }

    /// The [`ConfigKey`] of a named configuration in any order: the key of
    /// [`Profile::encode_config`]'s row, so it equals the key of a trial
    /// with the same values. `None` when the configuration does not encode.
    pub fn config_key(&self, config: &[Assignment]) -> Option<ConfigKey> {
        Some(ConfigKey::from_row(&self.encode_config(config)?))
    }

    /// Appends a trial to the history from values and metrics by name, for
    /// tests and examples (the host sends history ready-made).
    ///
    /// `values` holds one value per knob, in search-space order; each is
    /// encoded through its domain. `metrics` names its metrics: a name
    /// without a column gets one (NaN in every earlier row), a column not
    /// named is NaN in this row, and a name given twice keeps its last
    /// value.
    ///
    /// ```
    /// use aiopt_sdk::{Domain, Param, Profile, TrialState, Value};
    ///
    /// let mut profile = Profile {
    ///     space: vec![Param::new("cache", Domain::Flag)],
    ///     ..Profile::default()
    /// };
    /// profile.push_trial(3, TrialState::Complete, &[Value::Flag(true)], &[("latency_ms", 80.0)]);
    /// profile.push_trial(4, TrialState::Failed, &[Value::Flag(false)], &[]);
    /// assert_eq!(profile.history.numbers, [3, 4]);
    /// assert_eq!(profile.history.values, [1.0, 0.0]);
    /// assert_eq!(profile.trial(0).unwrap().metric_at(0), Some(80.0));
    /// assert_eq!(profile.trial(1).unwrap().metric_at(0), None);
    /// ```
    ///
    /// # Panics
    ///
    /// When `values` does not hold one value per knob, or one is not a value
    /// of its knob's domain.
    pub fn push_trial(&mut self, number: u32, state: TrialState, values: &[Value], metrics: &[(&str, f64)]) {
        assert_eq!(values.len(), self.space.len(), "a trial needs one value per knob");
        let row: Vec<f64> = self
            .space
            .iter()
            .zip(values)
            .map(|(p, v)| {
                p.domain
                    .encode(v)
                    .unwrap_or_else(|| panic!("knob `{}`: {v:?} is not a value of {:?}", p.name, p.domain))
            })
            .collect();
        let columns: Vec<usize> = metrics.iter().map(|(m, _)| self.history.add_metric(m)).collect();
        let mut cells = vec![f64::NAN; self.history.metric_names.len()];
        for (&k, &(_, v)) in columns.iter().zip(metrics) {
            cells[k] = v;
        }
        self.history.push(number, state, &row, &cells);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Domain, RealRange};

    /// Knobs `t` (real, step 0.5 in [0, 2]), `n` (integer 1..=8), `m`
    /// (choice x, y, z), `f` (flag).
    fn profile() -> Profile {
        Profile {
            space: vec![
                Param::new(
                    "t",
                    Domain::Real(RealRange {
                        low: 0.0,
                        high: 2.0,
                        log: false,
                        step: Some(0.5),
                    }),
                ),
                Param::new("n", Domain::integer(1, 8)),
                Param::new("m", Domain::choice(["x", "y", "z"])),
                Param::new("f", Domain::Flag),
            ],
            ..Profile::default()
        }
    }

    fn values(t: f64, n: i64, m: &str, f: bool) -> [Value; 4] {
        [
            Value::Real(t),
            Value::Integer(n),
            Value::Choice(m.into()),
            Value::Flag(f),
        ]
    }

    #[test]
    fn rows_are_slices_of_the_blocks() {
        let mut p = profile();
        assert!(p.history.is_empty() && p.trials().next().is_none());
        p.push_trial(
            7,
            TrialState::Complete,
            &values(0.5, 3, "z", true),
            &[("lat", 10.0)],
        );
        p.push_trial(
            9,
            TrialState::Running,
            &values(1.5, 8, "x", false),
            &[("acc", 0.5)],
        );
        assert_eq!(p.history.values, [0.5, 3.0, 2.0, 1.0, 1.5, 8.0, 0.0, 0.0]);
        assert_eq!(p.history.metric_names, ["lat", "acc"]);
        // The column `acc` was added after row 0: NaN there.
        assert_eq!(
            p.history.metrics[..2]
                .iter()
                .map(|x| x.is_nan())
                .collect::<Vec<_>>(),
            [false, true]
        );
        assert_eq!(p.trial_count(), 2);
        assert!(p.trial(2).is_none());

        let all: Vec<TrialView> = p.trials().collect();
        assert_eq!(p.trials().len(), 2);
        assert_eq!(p.trials().rev().map(|t| t.number).collect::<Vec<_>>(), [9, 7]);
        let [first, second] = all[..] else { unreachable!() };
        assert_eq!(
            (first.index, first.number, first.state),
            (0, 7, TrialState::Complete)
        );
        assert_eq!(second.values, [1.5, 8.0, 0.0, 0.0]);
        assert_eq!(second.metric_at(1), Some(0.5));
        assert_eq!(second.metric_at(0), None);
        assert_eq!(p.completed_trials().count(), 1);

        let decoded: Vec<Option<Value>> = (0..5).map(|j| first.value(j)).collect();
        let expected = values(0.5, 3, "z", true).map(Some);
        assert_eq!(decoded[..4], expected);
        assert_eq!(decoded[4], None); // no fifth knob
        assert_eq!(first.label(2), Some("z"));
        assert_eq!(first.label(1), None); // not a choice
        assert_eq!(first.config(), p.trial_config(&first));
        assert_eq!(p.trial_value(&second, "f"), Some(Value::Flag(false)));
        let debug = format!("{first:?}");
        assert!(
            debug.starts_with("TrialView { index: 0, number: 7,") && !debug.contains("space"),
            "{debug}"
        );
    }

    #[test]
    fn a_malformed_history_reads_without_panicking() {
        let mut p = profile();
        p.history = History {
            numbers: vec![0, 1, 2],
            states: vec![TrialState::Complete, TrialState::Complete],
            // Row 0 in full, row 1 cut short; row 0 has an unknown label.
            values: vec![0.5, 3.0, 9.0, 1.0, 1.0, 2.0],
            metric_names: vec!["lat".into()],
            metrics: vec![1.0],
        };
        // Two states: two rows.
        assert_eq!(p.trial_count(), 2);
        let t0 = p.trial(0).unwrap();
        let t1 = p.trial(1).unwrap();
        assert_eq!(t0.value(2), None);
        assert_eq!(t0.label(2), None);
        // The undecodable knob is left out of the named configuration.
        assert_eq!(
            t0.config().iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            ["t", "n", "f"]
        );
        assert_eq!(p.decode_config(t0.values), None);
        assert!(t1.values.is_empty() && t1.metrics.is_empty());
        assert_eq!(t1.value(0), None);
        assert_eq!(t1.metric_at(0), None);
        assert!(t1.config().is_empty());
        // A new column keeps the rows' existing cells, NaN for missing ones.
        assert_eq!(p.history.add_metric("lat"), 0);
        assert_eq!(p.history.add_metric("acc"), 1);
        assert_eq!(p.history.metrics[0], 1.0);
        assert_eq!(p.history.metrics.len(), 4);
        assert!(p.history.metrics[1..].iter().all(|x| x.is_nan()));
    }

    #[test]
    fn encoded_configs_compare_with_rows() {
        let mut p = profile();
        p.push_trial(0, TrialState::Complete, &values(1.0, 2, "y", false), &[]);
        let t = p.trial(0).unwrap();
        let config = p.trial_config(&t);
        assert_eq!(p.encode_config(&config), Some(t.values.to_vec()));
        assert_eq!(
            p.encode_values(&values(1.0, 2, "y", false)),
            Some(t.values.to_vec())
        );
        assert_eq!(p.encode_values(&values(1.0, 2, "y", false)[..3]), None);
        assert_eq!(p.decode_config(t.values), Some(config.clone()));
        assert_eq!(p.decode_config(&t.values[..3]), None);
        // Off the step grid, or not a label: no row.
        assert_eq!(p.encode_values(&values(1.25, 2, "y", false)), None);
        assert_eq!(p.encode_values(&values(1.0, 2, "w", false)), None);
        assert_eq!(p.config_key(&config), Some(t.key()));
    }

    #[test]
    #[should_panic(expected = "one metric per column")]
    fn push_needs_every_metric_column() {
        let mut h = History {
            metric_names: vec!["lat".into()],
            ..History::default()
        };
        h.push(0, TrialState::Complete, &[], &[]);
    }

    #[test]
    #[should_panic(expected = "same number of values")]
    fn push_needs_rows_of_one_width() {
        let mut h = History::default();
        h.push(0, TrialState::Complete, &[1.0, 2.0], &[]);
        h.push(1, TrialState::Complete, &[1.0], &[]);
    }

    #[test]
    #[should_panic(expected = "is not a value of")]
    fn push_trial_needs_values_of_the_domain() {
        let mut p = profile();
        p.push_trial(0, TrialState::Complete, &values(0.5, 9, "x", true), &[]);
    }
}
