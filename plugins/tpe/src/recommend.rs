//! `recommend`: the best feasible measured configuration (one objective) or
//! the Pareto front (several), with intervals and reasons.

use aiopt_sdk::text::num;
use aiopt_sdk::{
    group_replicates, summarize, ConfigKey, Error, Estimate, Profile, Proposal, Replicates as Group, Report,
    TrialState, TrialView,
};

use crate::rank::{dominates, objective_columns};

/// The most proposals a Pareto front is reported with.
const MAX_FRONT: usize = 10;

/// Proposals for the profile.
///
/// Only `complete` trials that keep every constraint compete; replicates
/// (equal encoded values) form one configuration whose value is their mean
/// with a 95% t-interval (`aiopt_sdk::stats`; one measurement gives the
/// value itself as its interval). With one objective the proposal is the
/// configuration with the best mean; with several, one proposal per
/// configuration of the Pareto front of means (up to 10, best first by the
/// first objective). Each proposal predicts every metric measured for its
/// configuration and explains, with numbers, how it compares with the
/// baseline when the baseline was measured. (Knob importance is the host's
/// analysis of a study, for every strategy: `aiopt study show`.)
///
/// Does not depend on `seed`. Errors (`Error::InvalidInput`): no
/// objectives; no complete trial; no complete trial keeping the
/// constraints (the message names them).
pub fn recommend(profile: &Profile, seed: u64) -> Result<Report, Error> {
    let _ = seed;
    let complete = profile.measured_trials()?;
    let groups = group_replicates(complete.iter().copied().filter(|t| profile.is_feasible(t)));
    if groups.is_empty() {
        let bounds: Vec<String> = profile.constraints.iter().map(describe_constraint).collect();
        return Err(Error::InvalidInput(format!(
            "no configuration satisfies the constraints ({}): all {} complete trials break at least \
             one; relax a constraint or measure other configurations",
            bounds.join(", "),
            complete.len()
        )));
    }

    let columns = objective_columns(profile);
    // Each group's signed objective means (to minimise), when all measured.
    let means: Vec<Option<Vec<f64>>> = groups
        .iter()
        .map(|g| {
            columns
                .iter()
                .map(|&(c, sign)| Some(sign * g.summary(c?)?.mean))
                .collect()
        })
        .collect();
    let measured: Vec<usize> = (0..groups.len()).filter(|&i| means[i].is_some()).collect();
    if measured.is_empty() {
        let names: Vec<&str> = profile.objectives.iter().map(|o| o.metric.as_str()).collect();
        return Err(Error::InvalidInput(format!(
            "no feasible complete trial measured every objective ({})",
            names.join(", ")
        )));
    }
    let mean = |i: usize| means[i].as_ref().expect("measured");
    let mut chosen: Vec<usize> = if columns.len() == 1 {
        // Ties go to the configuration measured first.
        let best = measured
            .iter()
            .copied()
            .fold(None::<usize>, |b, i| match b {
                Some(b) if mean(b)[0] <= mean(i)[0] => Some(b),
                _ => Some(i),
            })
            .expect("non-empty");
        vec![best]
    } else {
        measured
            .iter()
            .copied()
            .filter(|&i| !measured.iter().any(|&j| j != i && dominates(mean(j), mean(i))))
            .collect()
    };
    chosen.sort_by(|&a, &b| mean(a)[0].total_cmp(&mean(b)[0]).then(a.cmp(&b)));
    let front_size = chosen.len();
    chosen.truncate(MAX_FRONT);

    let (baseline_key, baseline) = profile.baseline_trials(&complete);

    let proposals = chosen
        .iter()
        .enumerate()
        .map(|(rank, &i)| {
            proposal(
                profile,
                &groups[i],
                rank,
                measured.len(),
                front_size,
                &baseline,
                baseline_key.as_ref(),
            )
        })
        .collect();

    let mut notes = Vec::new();
    if front_size > MAX_FRONT {
        notes.push(format!(
            "The Pareto front holds {front_size} configurations; the {MAX_FRONT} with the best {} are shown.",
            profile.objectives[0].metric
        ));
    }
    let infeasible = complete.iter().filter(|t| !profile.is_feasible(t)).count();
    if infeasible > 0 {
        notes.push(format!(
            "{infeasible} of {} complete trials were skipped as infeasible.",
            complete.len()
        ));
    }
    let others = profile
        .trials()
        .filter(|t| t.state != TrialState::Complete)
        .count();
    if others > 0 {
        notes.push(format!(
            "{others} failed, pruned or running trials were not considered."
        ));
    }
    Ok(Report { proposals, notes })
}

fn describe_constraint(c: &aiopt_sdk::Constraint) -> String {
    match (c.low, c.high) {
        (Some(l), Some(h)) => format!("{} <= {} <= {}", num(l), c.metric, num(h)),
        (Some(l), None) => format!("{} >= {}", c.metric, num(l)),
        (None, Some(h)) => format!("{} <= {}", c.metric, num(h)),
        (None, None) => format!("{} measured", c.metric),
    }
}

fn proposal(
    profile: &Profile,
    group: &Group,
    rank: usize,
    competitors: usize,
    front_size: usize,
    baseline: &[TrialView],
    baseline_key: Option<&ConfigKey>,
) -> Proposal {
    let is_baseline = baseline_key == Some(&group.key);
    let first = group.trials[0].number;
    let title = match (is_baseline, front_size > 1 || profile.objectives.len() > 1) {
        (true, _) => "Keep the baseline".to_string(),
        (false, false) => format!("Use trial {first}'s configuration"),
        (false, true) => format!(
            "Pareto-optimal trade-off {}: trial {first}'s configuration",
            rank + 1
        ),
    };
    let names = &profile.history.metric_names;
    let predicted: Vec<Estimate> = names
        .iter()
        .enumerate()
        .filter(|&(c, n)| !names[..c].contains(n))
        .filter_map(|(c, n)| group.summary(c).map(|s| s.estimate(n)))
        .collect();
    let mut sentences = Vec::new();
    for o in &profile.objectives {
        let Some(column) = profile.metric_index(&o.metric) else {
            continue;
        };
        let Some(s) = group.summary(column) else {
            continue;
        };
        let value = if s.n == 1 {
            format!("{} (measured once)", num(s.mean))
        } else {
            format!(
                "mean {} over {} replicates, 95% CI {} to {}",
                num(s.mean),
                s.n,
                num(s.low),
                num(s.high)
            )
        };
        let mut text = format!("{} {value}", o.metric);
        if !is_baseline {
            if let Some(base) = summarize(baseline, column) {
                text.push_str(&format!(" vs baseline {}", num(base.mean)));
                if base.mean != 0.0 {
                    let change = (s.mean - base.mean) / base.mean.abs() * 100.0;
                    let sign = if change < 0.0 { '−' } else { '+' };
                    text.push_str(&format!(" ({sign}{:.1}%)", change.abs()));
                }
            }
        }
        sentences.push(text);
    }
    let lead = if profile.objectives.len() == 1 {
        let o = &profile.objectives[0];
        let best = o.direction.superlative();
        let best = best[..1].to_uppercase() + &best[1..];
        format!(
            "{best} {} of {competitors} feasible measured configurations: ",
            o.metric
        )
    } else {
        format!("Not dominated by any of the {competitors} feasible measured configurations: ")
    };
    let mut rationale = format!("{lead}{}.", sentences.join("; "));
    if is_baseline {
        rationale.push_str(" This is the baseline configuration, so keep it.");
    }
    if !profile.constraints.is_empty() {
        rationale.push_str(" It keeps every constraint.");
    }
    Proposal {
        title,
        config: profile.trial_config(&group.trials[0]),
        predicted,
        rationale,
    }
}
