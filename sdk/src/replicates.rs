//! What `recommend` implementations share: the measured trials, grouped
//! into configurations (replicates are trials with equal encoded values),
//! and each metric summarised over a group.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use crate::config::ConfigKey;
use crate::history::TrialView;
use crate::stats::Summary;
use crate::{Error, Profile};

/// One configuration and the trials that measured it.
#[derive(Debug, Clone)]
pub struct Replicates<'a> {
    /// The configuration's encoded row, as a key.
    pub key: ConfigKey,
    /// Its trials, in history order.
    pub trials: Vec<TrialView<'a>>,
}

impl Replicates<'_> {
    /// The finite measurements of metric `column` over the replicates.
    pub fn summary(&self, column: usize) -> Option<Summary> {
        summarize(&self.trials, column)
    }
}

/// The finite measurements of metric `column` in `trials`, summarised
/// (mean and 95% t-interval); `None` when there are none.
pub fn summarize(trials: &[TrialView<'_>], column: usize) -> Option<Summary> {
    let values: Vec<f64> = trials
        .iter()
        .filter_map(|t| t.metric_at(column))
        .filter(|v| v.is_finite())
        .collect();
    Summary::of(&values)
}

/// Groups `trials` by configuration, groups in order of first appearance.
pub fn group_replicates<'a>(trials: impl IntoIterator<Item = TrialView<'a>>) -> Vec<Replicates<'a>> {
    let mut groups: Vec<Replicates<'a>> = Vec::new();
    let mut by_key: BTreeMap<ConfigKey, usize> = BTreeMap::new();
    for trial in trials {
        let key = trial.key();
        let slot = *by_key.entry(key.clone()).or_insert_with(|| {
            groups.push(Replicates {
                key,
                trials: Vec::new(),
            });
            groups.len() - 1
        });
        groups[slot].trials.push(trial);
    }
    groups
}

impl Profile {
    /// The baseline as a key, and the trials among `complete` that measured
    /// it (possibly none): what improvements are stated against. The key is
    /// `None` when the baseline does not give every knob a value of its
    /// domain, so it matches no trial.
    pub fn baseline_trials<'a>(&self, complete: &[TrialView<'a>]) -> (Option<ConfigKey>, Vec<TrialView<'a>>) {
        let key = if self.baseline.is_empty() {
            None
        } else {
            self.config_key(&self.baseline)
        };
        let trials = match &key {
            Some(key) => complete.iter().copied().filter(|t| t.key() == *key).collect(),
            None => Vec::new(),
        };
        (key, trials)
    }

    /// The complete trials a `recommend` works from, or the
    /// `Error::InvalidInput` every strategy gives when there is nothing to
    /// recommend from: no objectives, or no complete trial.
    pub fn measured_trials(&self) -> Result<Vec<TrialView<'_>>, Error> {
        if self.objectives.is_empty() {
            return Err(Error::InvalidInput(
                "the profile has no objectives: add at least one metric to minimize or maximize".into(),
            ));
        }
        let complete: Vec<TrialView> = self.completed_trials().collect();
        if complete.is_empty() {
            return Err(Error::InvalidInput(format!(
                "no measured trials: recommend needs at least one complete trial, and the profile has \
                 {} trials, none complete",
                self.trial_count()
            )));
        }
        Ok(complete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Direction, Domain, Objective, Param, TrialState, Value};

    fn profile() -> Profile {
        let mut p = Profile {
            space: vec![Param::new("k", Domain::integer(0, 9))],
            objectives: vec![Objective {
                metric: "loss".into(),
                direction: Direction::Minimize,
            }],
            ..Profile::default()
        };
        for (number, k, loss) in [(0, 1, 3.0), (1, 2, 5.0), (2, 1, 4.0)] {
            p.push_trial(
                number,
                TrialState::Complete,
                &[Value::Integer(k)],
                &[("loss", loss)],
            );
        }
        p.push_trial(3, TrialState::Running, &[Value::Integer(3)], &[]);
        p
    }

    #[test]
    fn groups_replicates_in_first_seen_order_and_summarises_them() {
        let p = profile();
        let groups = group_replicates(p.measured_trials().unwrap());
        assert_eq!(groups.len(), 2);
        assert_eq!(
            groups[0].trials.iter().map(|t| t.number).collect::<Vec<_>>(),
            vec![0, 2]
        );
        let column = p.metric_index("loss").unwrap();
        let summary = groups[0].summary(column).unwrap();
        assert_eq!((summary.n, summary.mean), (2, 3.5));
        assert!(summary.low < 3.5 && summary.high > 3.5);
    }

    #[test]
    fn nothing_to_recommend_from_is_invalid_input() {
        let mut p = profile();
        p.objectives.clear();
        assert!(matches!(p.measured_trials(), Err(Error::InvalidInput(m)) if m.contains("no objectives")));
        let mut empty = profile();
        empty.history = Default::default();
        assert!(
            matches!(empty.measured_trials(), Err(Error::InvalidInput(m)) if m.contains("no measured trials"))
        );
    }
}
