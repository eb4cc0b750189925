//! Constraints over measured metrics, and what to say when nothing meets
//! them: the constraints in words, the closest trial, and whether the
//! profile's own observations hold a configuration that would.

use crate::profile::{Constraint, Profile, TrialState};
use crate::report;
use crate::store::StudyTrial;

/// No complete trial of a study satisfies the profile's constraints.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.explain())]
pub struct NoFeasibleTrial {
    pub study: String,
    /// The constraints, as `metric >= low` etc., comma-separated.
    pub constraints: String,
    pub complete: usize,
    /// The complete trial that misses the constraints by the least, in words.
    pub closest: Option<String>,
    /// `(feasible, all)` among the profile's observations, when the study
    /// measures against them (the table evaluator).
    pub observations: Option<(usize, usize)>,
    /// How many trials failed, and the first one's reason.
    pub failed: (usize, Option<String>),
}

impl NoFeasibleTrial {
    fn explain(&self) -> String {
        if self.complete == 0 {
            let mut text = format!("study `{}` has no complete trial yet", self.study);
            if let (n, Some(reason)) = &self.failed {
                text.push_str(&format!(": {n} failed, the first because {reason}"));
            }
            return text;
        }
        let mut text = if self.constraints.is_empty() {
            format!(
                "study `{}`: none of its {} complete trials measured the objective",
                self.study, self.complete
            )
        } else {
            format!(
                "no configuration satisfies the constraints ({}): all {} complete trials of study `{}` \
                 break at least one",
                self.constraints, self.complete, self.study
            )
        };
        if let Some(closest) = &self.closest {
            text.push_str(&format!("; the closest was {closest}"));
        }
        match self.observations {
            Some((0, all)) if all > 0 && !self.constraints.is_empty() => text.push_str(&format!(
                ". None of the profile's {all} measured configurations satisfies them either: relax a \
                 constraint or measure other configurations"
            )),
            Some((feasible, all)) if feasible > 0 => text.push_str(&format!(
                ". {feasible} of the profile's {all} measured configurations do: run more trials"
            )),
            _ => {}
        }
        text
    }
}

/// Whether `metrics` keep every constraint (a missing metric breaks it).
pub fn is_feasible(constraints: &[Constraint], metrics: &[(String, f64)]) -> bool {
    violation(constraints, metrics) == 0.0
}

/// How far `metrics` lie outside the constraints, summed; a missing or NaN
/// metric is infinitely far.
pub fn violation(constraints: &[Constraint], metrics: &[(String, f64)]) -> f64 {
    constraints
        .iter()
        .map(|c| match metrics.iter().find(|(m, _)| *m == c.metric) {
            Some(&(_, v)) if !v.is_nan() => {
                c.low.map_or(0.0, |l| (l - v).max(0.0)) + c.high.map_or(0.0, |h| (v - h).max(0.0))
            }
            _ => f64::INFINITY,
        })
        .sum()
}

/// The constraints in words: `quality >= 0.5, latency_ms <= 20`.
pub fn describe(constraints: &[Constraint]) -> String {
    let n = |x: f64| report::format_number(x);
    constraints
        .iter()
        .map(|c| match (c.low, c.high) {
            (Some(l), Some(h)) => format!("{} <= {} <= {}", n(l), c.metric, n(h)),
            (Some(l), None) => format!("{} >= {}", c.metric, n(l)),
            (None, Some(h)) => format!("{} <= {}", c.metric, n(h)),
            (None, None) => format!("{} measured", c.metric),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The explanation for a study of `profile` without a feasible best trial.
/// `against_observations`: the trials were measured by looking them up in
/// the profile's observations, so say whether any of those is feasible.
pub fn no_feasible_trial(
    study: &str,
    profile: &Profile,
    trials: &[StudyTrial],
    against_observations: bool,
) -> NoFeasibleTrial {
    let complete: Vec<&StudyTrial> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .collect();
    let closest = complete
        .iter()
        .map(|t| (violation(&profile.constraints, &t.metrics), t))
        .filter(|(v, _)| v.is_finite() && *v > 0.0)
        .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.number.cmp(&b.1.number)))
        .map(|(_, t)| {
            let metrics: Vec<String> = profile
                .constraints
                .iter()
                .filter_map(|c| t.metrics.iter().find(|(m, _)| *m == c.metric))
                .map(|(m, v)| format!("{m} {}", report::format_number(*v)))
                .collect();
            format!(
                "trial {} ({}: {})",
                t.number,
                report::config_line(&t.config),
                metrics.join(", ")
            )
        });
    let observations = against_observations.then(|| {
        let feasible = profile
            .trials
            .iter()
            .filter(|t| is_feasible(&profile.constraints, &t.metrics))
            .count();
        (feasible, profile.trials.len())
    });
    let failed: Vec<&StudyTrial> = trials.iter().filter(|t| t.state == TrialState::Failed).collect();
    let first_failure = failed.first().and_then(|t| t.reason.clone());
    NoFeasibleTrial {
        failed: (failed.len(), first_failure),
        study: study.to_string(),
        constraints: describe(&profile.constraints),
        complete: complete.len(),
        closest,
        observations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constraint(metric: &str, low: Option<f64>, high: Option<f64>) -> Constraint {
        Constraint {
            metric: metric.into(),
            low,
            high,
        }
    }

    #[test]
    fn violation_sums_distances_and_a_missing_metric_is_infinite() {
        let cs = [
            constraint("recall", Some(0.99), None),
            constraint("latency_ms", None, Some(20.0)),
        ];
        let m = |r: f64, l: f64| vec![("recall".to_string(), r), ("latency_ms".to_string(), l)];
        assert_eq!(violation(&cs, &m(0.995, 10.0)), 0.0);
        assert!((violation(&cs, &m(0.98, 25.0)) - 5.01).abs() < 1e-12);
        assert!(violation(&cs, &[("recall".to_string(), 1.0)]).is_infinite());
        assert_eq!(describe(&cs), "recall >= 0.9900, latency_ms <= 20");
    }

    #[test]
    fn a_study_whose_trials_all_failed_says_why_not_run_more() {
        let e = NoFeasibleTrial {
            study: "s".into(),
            constraints: "recall >= 0.99".into(),
            complete: 0,
            closest: None,
            observations: Some((22, 192)),
            failed: (12, Some("it was never measured".into())),
        };
        assert_eq!(
            e.to_string(),
            "study `s` has no complete trial yet: 12 failed, the first because it was never measured"
        );
    }
}
