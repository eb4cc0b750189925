//! A study's `suggest` input, kept between asks and brought up to date.
//!
//! Every ask sends the strategy the whole history, so converting it afresh
//! made an ask's host-side cost grow with the study: on a 10,000-trial study
//! it was most of the server's time per ask (`cargo xtask bench-api`). Trials
//! only ever change in two ways, and both are cheap to apply to the
//! converted blocks: a new trial is appended, and a tell rewrites one row's
//! state and metrics (a configuration never changes). Anything else (a trial
//! gone after a rolled-back ask, another numbering, a metric without a
//! column) rebuilds the input from scratch, so the result always equals a
//! fresh conversion (a test checks this after every kind of change).

use super::super::bindings::wit;
use super::{self as convert, TrialRef};
use crate::profile::{Param, Profile, TrialState};

/// The WIT profile a study's asks send, with the history as of the last
/// [`StudyInput::update`]. Made for one profile: give it that one only.
pub struct StudyInput {
    input: wit::Profile,
    /// The profile's search space in the host's model, which the strategy's
    /// suggestions are validated against (`runtime::validate`).
    space: Vec<Param>,
    /// What each trial given to the last update was, in order.
    seen: Vec<Seen>,
    /// Scratch space for encoding one row.
    row: Vec<f64>,
    /// How many updates rebuilt everything (tests check the cheap path is
    /// the usual one).
    rebuilds: usize,
}

/// What a converted trial looked like, to notice a tell.
#[derive(Debug, Clone, Copy)]
struct Seen {
    number: u32,
    state: TrialState,
    metrics: usize,
    /// Its row in the history blocks; `None` when its configuration is
    /// incomplete and it has none.
    row: Option<usize>,
}

impl StudyInput {
    /// `profile` with no history yet.
    pub fn new(profile: &Profile) -> Self {
        StudyInput {
            input: convert::profile_with_history(profile, &[]),
            space: profile.space.clone(),
            seen: Vec::new(),
            row: Vec::with_capacity(profile.space.len()),
            rebuilds: 0,
        }
    }

    /// The input, for `suggest`.
    pub(crate) fn wit(&self) -> &wit::Profile {
        &self.input
    }

    /// The search space the input was made for, to validate suggestions.
    pub(crate) fn space(&self) -> &[Param] {
        &self.space
    }

    /// Makes the history `trials` (in order, each read through `view`):
    /// appends the new ones and rewrites the rows of trials whose outcome
    /// changed since the last update; rebuilds when the change is of
    /// another kind. A trial with an incomplete configuration has no row.
    pub fn update<T>(&mut self, profile: &Profile, trials: &[T], view: impl Fn(&T) -> TrialRef<'_>) {
        if !self.apply_changes(profile, trials, &view) {
            let trials: Vec<TrialRef<'_>> = trials.iter().map(view).collect();
            self.rebuild(profile, &trials);
        }
    }

    /// The cheap path of [`StudyInput::update`]; `false` when it cannot
    /// apply the change (the blocks may then be half updated: rebuild).
    fn apply_changes<T>(
        &mut self,
        profile: &Profile,
        trials: &[T],
        view: &impl Fn(&T) -> TrialRef<'_>,
    ) -> bool {
        if trials.len() < self.seen.len() {
            return false;
        }
        let history = &mut self.input.history;
        for (t, seen) in trials.iter().zip(self.seen.iter_mut()) {
            let t = &view(t);
            if seen.number != t.number {
                return false;
            }
            if seen.state == t.state && seen.metrics == t.metrics.len() {
                continue;
            }
            if !convert::has_columns_for(history, t) {
                return false;
            }
            if let Some(row) = seen.row {
                convert::rewrite_outcome(history, row, t);
            }
            seen.state = t.state;
            seen.metrics = t.metrics.len();
        }
        for t in &trials[self.seen.len()..] {
            let t = &view(t);
            if !convert::has_columns_for(&self.input.history, t) {
                return false;
            }
            self.append(profile, t);
        }
        true
    }

    fn rebuild(&mut self, profile: &Profile, trials: &[TrialRef<'_>]) {
        self.rebuilds += 1;
        let history = &mut self.input.history;
        *history = convert::history_to_wit(profile, &[]);
        history.metric_names = convert::metric_columns(profile, trials);
        self.seen.clear();
        for t in trials {
            self.append(profile, t);
        }
    }

    /// Appends `t` (its row, if its configuration is complete) and
    /// remembers what it looked like.
    fn append(&mut self, profile: &Profile, t: &TrialRef<'_>) {
        let history = &mut self.input.history;
        let next_row = history.numbers.len();
        let row = convert::push_trial(history, profile, t, &mut self.row).then_some(next_row);
        self.seen.push(Seen {
            number: t.number,
            state: t.state,
            metrics: t.metrics.len(),
            row,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Config, Value};

    const PROFILE: &str = r#"name = "study-input"
kind = "test"

[[space]]
name = "x"
type = "real"
low = 0.0
high = 1.0

[[space]]
name = "n"
type = "integer"
low = 1
high = 8

[baseline]
x = 0.5
n = 2

[[objectives]]
metric = "loss"
direction = "minimize"
"#;

    struct Trial {
        number: u32,
        config: Config,
        metrics: Vec<(String, f64)>,
        state: TrialState,
    }

    fn refs(trials: &[Trial]) -> Vec<TrialRef<'_>> {
        trials
            .iter()
            .map(|t| TrialRef {
                number: t.number,
                config: &t.config,
                metrics: &t.metrics,
                state: t.state,
            })
            .collect()
    }

    fn running(number: u32) -> Trial {
        Trial {
            number,
            config: vec![
                ("x".into(), Value::Real(f64::from(number) / 100.0)),
                ("n".into(), Value::Integer(i64::from(number % 8) + 1)),
            ],
            metrics: Vec::new(),
            state: TrialState::Running,
        }
    }

    /// Updates `input` with `trials` and checks it against a fresh
    /// conversion, NaNs included (hence the bits).
    fn check(input: &mut StudyInput, profile: &Profile, trials: &[Trial]) {
        input.update(profile, trials, |t| TrialRef {
            number: t.number,
            config: &t.config,
            metrics: &t.metrics,
            state: t.state,
        });
        let fresh = convert::history_to_wit(profile, &refs(trials));
        let kept = &input.wit().history;
        assert_eq!(kept.numbers, fresh.numbers);
        assert_eq!(kept.states, fresh.states);
        assert_eq!(kept.metric_names, fresh.metric_names);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&kept.values), bits(&fresh.values));
        assert_eq!(bits(&kept.metrics), bits(&fresh.metrics));
    }

    #[test]
    fn every_kind_of_change_gives_a_fresh_conversion() {
        let profile = crate::profile::parse(std::path::Path::new("test.toml"), PROFILE).expect("valid");
        let mut input = StudyInput::new(&profile);
        let mut trials: Vec<Trial> = Vec::new();
        check(&mut input, &profile, &trials);
        // Asks append running trials.
        trials.extend((0..5).map(running));
        check(&mut input, &profile, &trials);
        // Tells rewrite rows: complete, failed, pruned.
        trials[1].state = TrialState::Complete;
        trials[1].metrics = vec![("loss".into(), 0.25)];
        trials[3].state = TrialState::Failed;
        trials[4].state = TrialState::Pruned;
        check(&mut input, &profile, &trials);
        assert_eq!(input.rebuilds, 0, "asks and tells are applied, not rebuilt");
        // A metric without a column (rebuilds), then more asks.
        trials[0].state = TrialState::Complete;
        trials[0].metrics = vec![("loss".into(), 0.5), ("latency_ms".into(), 12.0)];
        trials.extend((5..8).map(running));
        check(&mut input, &profile, &trials);
        assert_eq!(input.rebuilds, 1);
        // Metrics in another order than the columns.
        trials[5].state = TrialState::Complete;
        trials[5].metrics = vec![("latency_ms".into(), 3.0), ("loss".into(), 0.1)];
        check(&mut input, &profile, &trials);
        // A trial with no complete configuration has no row.
        let mut broken = running(8);
        broken.config.pop();
        trials.push(broken);
        trials.push(running(9));
        check(&mut input, &profile, &trials);
        trials[8].state = TrialState::Failed;
        trials[9].state = TrialState::Complete;
        trials[9].metrics = vec![("loss".into(), 0.7)];
        check(&mut input, &profile, &trials);
        assert_eq!(
            input.rebuilds, 1,
            "metrics out of column order and rowless trials are applied"
        );
        // An ask rolled back: the last trial is gone.
        trials.pop();
        check(&mut input, &profile, &trials);
        // Another numbering (another study's trials).
        for t in &mut trials {
            t.number += 100;
        }
        check(&mut input, &profile, &trials);
        trials.clear();
        check(&mut input, &profile, &trials);
    }
}
