//! Ranking proposals from different strategies in one report.
//!
//! The score of a proposal is the mean, over the profile's objectives that
//! it predicts and whose baseline value was measured, of its relative
//! improvement in the objective's direction: `(after − before) / |before|`
//! for a maximised metric, `(before − after) / |before|` for a minimised
//! one. A proposal that predicts none of the objectives scores 0. So a
//! proposal that cuts cost by 99% and keeps quality ranks above one that
//! raises quality by 5% at the same cost, and both rank above one that
//! changes nothing the profile cares about. Ties keep the strategies'
//! order. The score is a ranking aid, printed with each proposal, not a
//! claim: the intervals and rationale are the evidence.

use crate::profile::{Direction, Profile};

use super::Proposal;

/// The ranking score of `proposal` (see the module docs).
pub fn score(profile: &Profile, before: &[(String, f64)], proposal: &Proposal) -> f64 {
    let gains: Vec<f64> = profile
        .objectives
        .iter()
        .filter_map(|o| {
            let after = proposal.predicted.iter().find(|e| e.metric == o.metric)?.value;
            let before = before.iter().find(|(m, _)| *m == o.metric)?.1;
            if before == 0.0 || !before.is_finite() || !after.is_finite() {
                return None;
            }
            let gain = (after - before) / before.abs();
            Some(match o.direction {
                Direction::Maximize => gain,
                Direction::Minimize => -gain,
            })
        })
        .collect();
    if gains.is_empty() {
        0.0
    } else {
        gains.iter().sum::<f64>() / gains.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Objective;
    use crate::report::Estimate;

    fn proposal(predicted: &[(&str, f64)]) -> Proposal {
        Proposal {
            title: "p".into(),
            config: Vec::new(),
            predicted: predicted
                .iter()
                .map(|(m, v)| Estimate {
                    metric: m.to_string(),
                    value: *v,
                    low: *v,
                    high: *v,
                })
                .collect(),
            rationale: String::new(),
        }
    }

    #[test]
    fn improvements_count_in_each_objectives_direction() {
        let mut profile = Profile {
            name: "m".into(),
            kind: "k".into(),
            description: None,
            baseline: Vec::new(),
            space: Vec::new(),
            objectives: Vec::new(),
            constraints: Vec::new(),
            workload: Default::default(),
            trials: Vec::new(),
            requests: Default::default(),
            options: Vec::new(),
        };
        profile.objectives = vec![
            Objective {
                metric: "quality".into(),
                direction: Direction::Maximize,
            },
            Objective {
                metric: "cost".into(),
                direction: Direction::Minimize,
            },
        ];
        let before = vec![("quality".to_string(), 0.5), ("cost".to_string(), 0.01)];
        let cheaper = score(&profile, &before, &proposal(&[("quality", 0.5), ("cost", 0.001)]));
        assert!((cheaper - 0.45).abs() < 1e-12, "{cheaper}");
        let better = score(&profile, &before, &proposal(&[("quality", 0.55), ("cost", 0.01)]));
        assert!((better - 0.05).abs() < 1e-12, "{better}");
        assert_eq!(score(&profile, &before, &proposal(&[("other", 1.0)])), 0.0);
    }
}
