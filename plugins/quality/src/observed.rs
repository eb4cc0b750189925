//! Without request records: the profile's observations (its benchmark
//! history) stand in. The proposal is the feasible configuration with the
//! highest measured quality; replicates of a configuration give its mean
//! and 95% t-interval (SDK `group_replicates`, `stats::Summary`), and the
//! gain over the baseline a Welch t-interval, so a gain within the noise is
//! flagged. With one measurement per configuration there is no noise to
//! measure, and the rationale says the result rests on one measurement.

use aiopt_sdk::stats::{t_critical_95, Summary};
use aiopt_sdk::{
    group_replicates, summarize, ConfigExt, Error, Estimate, Profile, Proposal, Replicates, Report, TrialView,
};

use crate::measure::{bound, estimate, Ci};
use crate::{change, gain_metric, num, signed, usd, Settings, COST_METRIC};

/// How many near-ties a rationale names.
const TIES_NAMED: usize = 3;

/// A configuration's replicates and its quality over them.
struct Group<'a> {
    replicates: Replicates<'a>,
    quality: Summary,
}

/// The report from observations, or `Error::Unsupported` saying what is
/// needed when they do not measure the quality metric. `records_why` is
/// why the request records could not be used.
pub(crate) fn recommend(
    profile: &Profile,
    seed: u64,
    named: Option<String>,
    records_why: &str,
) -> Result<Report, Error> {
    let records = if profile.requests.records.is_empty() {
        "the profile has no request records".to_string()
    } else {
        format!("its request records cannot be used ({})", reason(records_why))
    };
    let unsupported = |what: &str, observations: &str| {
        Error::Unsupported(format!(
            "needs request records with columns served_by and score, or observations of {what}: {records}, \
             and {observations}; add a `requests` file or observations to the profile's [data] (see \
             docs/profile.md)"
        ))
    };
    let Some(metric) = named else {
        return Err(unsupported("a quality metric", "the profile maximises no metric"));
    };
    let s = crate::settings(profile, seed, metric)?;
    let complete: Vec<TrialView> = profile.completed_trials().collect();
    let column = profile.metric_index(&s.quality);
    let groups: Vec<Group> = group_replicates(complete.iter().copied())
        .into_iter()
        .filter_map(|replicates| {
            let quality = replicates.summary(column?)?;
            Some(Group { replicates, quality })
        })
        .collect();
    let (Some(column), false) = (column, groups.is_empty()) else {
        return Err(unsupported(
            &s.quality,
            &format!("no complete observation measures {}", s.quality),
        ));
    };
    let mut notes = vec![
        "No usable request records: routing by category, best-of-n and majority vote need per-request \
         scores and were not evaluated; the proposal comes from the observations."
            .to_string(),
    ];
    if !profile.requests.records.is_empty() {
        notes.push(format!("Request records not used: {}.", reason(records_why)));
    }
    let proposals = match decide(profile, &s, column, &complete, &groups, &mut notes) {
        Some(p) => vec![p],
        None => Vec::new(),
    };
    notes.push(format!(
        "Quality metric {}; cost budget: {}; intervals are 95% t-intervals over replicates (Welch for \
         differences).",
        s.quality,
        match s.budget {
            Some(b) => format!("{} per request ({})", usd(b), s.budget_source),
            None => s.budget_source.clone(),
        }
    ));
    Ok(Report { proposals, notes })
}

/// The reason inside the SDK's "needs request records with columns ...
/// (reason); add ..." message, or the whole message.
fn reason(why: &str) -> &str {
    match (why.find('('), why.rfind(')')) {
        (Some(open), Some(close)) if open < close => &why[open + 1..close],
        _ => why,
    }
}

/// Whether every replicate of `g` keeps every constraint, and its cost
/// keeps the budget.
fn feasible(profile: &Profile, s: &Settings, g: &Group) -> bool {
    let constraints = g.replicates.trials.iter().all(|t| profile.is_feasible(t));
    let budget = s.budget.is_none_or(|b| {
        profile
            .metric_index(COST_METRIC)
            .and_then(|k| g.replicates.summary(k))
            .is_some_and(|c| c.mean <= b)
    });
    constraints && budget
}

/// The proposal, or `None` with a note saying why there is none.
fn decide(
    profile: &Profile,
    s: &Settings,
    column: usize,
    complete: &[TrialView],
    groups: &[Group],
    notes: &mut Vec<String>,
) -> Option<Proposal> {
    let feasible: Vec<&Group> = groups.iter().filter(|g| feasible(profile, s, g)).collect();
    if feasible.len() < groups.len() {
        notes.push(format!(
            "{} of the {} measured configurations were left out: a replicate breaks a constraint or does not \
             measure a constrained metric{}.",
            groups.len() - feasible.len(),
            groups.len(),
            if s.budget.is_some() { ", or the cost breaks the budget" } else { "" }
        ));
    }
    // The highest mean; ties keep the first measured.
    let best = feasible.iter().copied().fold(None::<&Group>, |b, g| match b {
        Some(b) if b.quality.mean >= g.quality.mean => Some(b),
        _ => Some(g),
    });
    let Some(best) = best else {
        notes.push(format!(
            "No measured configuration keeps every constraint, so there is no proposal for {}.",
            s.quality
        ));
        return None;
    };
    let (key, base_trials) = profile.baseline_trials(complete);
    if key.as_ref() == Some(&best.replicates.key) {
        notes.push(format!(
            "The baseline already has the highest {} ({}) of the {} feasible measured configurations.",
            s.quality,
            value(&best.quality),
            feasible.len()
        ));
        return None;
    }
    let base = summarize(&base_trials, column);
    let base_feasible = !base_trials.is_empty() && base_trials.iter().all(|t| profile.is_feasible(t));
    let gain = base.as_ref().map(|b| welch(&best.quality, b));
    let describe = profile.trial_config(&best.replicates.trials[0]).describe();
    if let (Some(b), Some(Some(g))) = (&base, gain) {
        if g.1 <= 0.0 && base_feasible {
            notes.push(format!(
                "{describe} has the highest {} ({}), but its gain over the baseline ({}) is {} (95% CI {} to \
                 {}): within the noise of the replicates, so it is not proposed.",
                s.quality,
                value(&best.quality),
                value(b),
                signed(g.0),
                signed(g.1),
                signed(g.2)
            ));
            return None;
        }
    }
    Some(proposal(profile, s, best, &feasible, base, base_feasible, gain))
}

/// `mean(a) − mean(b)` with a Welch 95% t-interval; `None` when either has
/// a single measurement (no spread to judge noise by).
fn welch(a: &Summary, b: &Summary) -> Option<Ci> {
    if a.n < 2 || b.n < 2 {
        return None;
    }
    let d = a.mean - b.mean;
    let va = a.std_dev * a.std_dev / a.n as f64;
    let vb = b.std_dev * b.std_dev / b.n as f64;
    let se = (va + vb).sqrt();
    if se == 0.0 {
        return Some((d, d, d));
    }
    // Welch–Satterthwaite degrees of freedom, rounded down (conservative).
    let df = (va + vb).powi(2) / (va * va / (a.n - 1) as f64 + vb * vb / (b.n - 1) as f64);
    let half = t_critical_95(df.floor().max(1.0) as u64) * se;
    Some((d, d - half, d + half))
}

/// "0.8424" for one measurement, "mean 0.9966 over 2 replicates (95% CI
/// 0.9957–0.9975)" for several.
fn value(s: &Summary) -> String {
    if s.n == 1 {
        num(s.mean)
    } else {
        format!(
            "mean {} over {} replicates, 95% CI {}–{}",
            num(s.mean),
            s.n,
            num(s.low),
            num(s.high)
        )
    }
}

fn proposal(
    profile: &Profile,
    s: &Settings,
    best: &Group,
    feasible: &[&Group],
    base: Option<Summary>,
    base_feasible: bool,
    gain: Option<Option<Ci>>,
) -> Proposal {
    let trial = &best.replicates.trials[0];
    let describe = profile.trial_config(trial).describe();
    let mut rationale = format!(
        "{describe} has the highest {} ({}) of the {} measured configurations that keep every constraint.",
        s.quality,
        value(&best.quality),
        feasible.len()
    );
    let mut predicted = predicted(profile, best, &s.quality);
    match (base, gain) {
        (Some(b), Some(Some(g))) => {
            let verdict = if g.1 > 0.0 {
                "a significant gain".to_string()
            } else {
                "within the noise of the replicates; it is proposed because the baseline breaks a constraint"
                    .to_string()
            };
            rationale.push_str(&format!(
                " Against the baseline ({}): {} (95% CI {} to {}), {verdict}.",
                value(&b),
                signed(g.0),
                signed(g.1),
                signed(g.2)
            ));
            predicted.push(estimate(&gain_metric(&s.quality), g));
        }
        (Some(b), _) => {
            let d = best.quality.mean - b.mean;
            rationale.push_str(&format!(
                " Against the baseline ({}): {} ({}). This rests on one measurement{}, so whether the gain \
                 exceeds the noise cannot be told; replicate it before relying on it.",
                value(&b),
                signed(d),
                change(best.quality.mean, b.mean),
                if best.quality.n == 1 && b.n == 1 {
                    " of each"
                } else {
                    " on one side"
                }
            ));
            predicted.push(estimate(&gain_metric(&s.quality), (d, d, d)));
        }
        (None, _) => rationale.push_str(" The baseline was not measured, so the gain over it is unknown."),
    }
    if !base_feasible {
        rationale.push_str(&baseline_breaks(profile));
    }
    rationale.push_str(&margins(profile, best));
    rationale.push_str(&trade_offs(profile, best, &s.quality));
    rationale.push_str(&ties(best, feasible, profile, &s.quality));
    Proposal {
        title: format!("switch to {describe}"),
        config: profile.trial_config(trial),
        predicted,
        rationale,
    }
}

/// The constraints the baseline's observations break, in a sentence.
fn baseline_breaks(profile: &Profile) -> String {
    let complete: Vec<TrialView> = profile.completed_trials().collect();
    let (_, base) = profile.baseline_trials(&complete);
    if base.is_empty() {
        return " The baseline was not measured, so whether it keeps the constraints is unknown.".into();
    }
    let broken: Vec<String> = profile
        .constraints
        .iter()
        .filter(|c| {
            base.iter().any(|t| {
                !profile
                    .trial_metric(t, &c.metric)
                    .is_some_and(|v| c.is_satisfied_by(v))
            })
        })
        .map(|c| {
            let measured = profile
                .metric_index(&c.metric)
                .and_then(|k| summarize(&base, k))
                .map_or("not measured".to_string(), |m| {
                    format!("measured {}", num(m.mean))
                });
            format!("{} ({measured})", bound(c))
        })
        .collect();
    format!(" The baseline breaks {}.", broken.join(" and "))
}

/// Constraints the best keeps in every replicate but not across its 95%
/// interval: the margin is within the noise, in a sentence each.
fn margins(profile: &Profile, best: &Group) -> String {
    profile
        .constraints
        .iter()
        .filter_map(|c| {
            let m = best.replicates.summary(profile.metric_index(&c.metric)?)?;
            let crosses = m.n > 1 && (c.low.is_some_and(|l| m.low < l) || c.high.is_some_and(|h| m.high > h));
            crosses.then(|| {
                format!(
                    " Every replicate keeps {}, but its {} interval ({}–{}) reaches past the bound: that margin \
                     is within the noise.",
                    bound(c),
                    c.metric,
                    num(m.low),
                    num(m.high)
                )
            })
        })
        .collect()
}

/// The quality estimate first, then every other metric the configuration
/// measured, each name once.
fn predicted(profile: &Profile, best: &Group, quality: &str) -> Vec<Estimate> {
    let names = &profile.history.metric_names;
    let mut out = vec![best.quality.estimate(quality)];
    out.extend(
        names
            .iter()
            .enumerate()
            .filter(|&(k, name)| name != quality && !names[..k].contains(name))
            .filter_map(|(k, name)| best.replicates.summary(k).map(|s| s.estimate(name))),
    );
    out
}

/// What the other objectives give up or gain against the baseline: the
/// cost of the quality, in the profile's own terms.
fn trade_offs(profile: &Profile, best: &Group, quality: &str) -> String {
    let complete: Vec<TrialView> = profile.completed_trials().collect();
    let (_, base) = profile.baseline_trials(&complete);
    let parts: Vec<String> = profile
        .objectives
        .iter()
        .filter(|o| o.metric != quality)
        .filter_map(|o| {
            let k = profile.metric_index(&o.metric)?;
            let (b, x) = (summarize(&base, k)?, best.replicates.summary(k)?);
            Some(format!(
                "{} {} → {} ({})",
                o.metric,
                num(b.mean),
                num(x.mean),
                change(x.mean, b.mean)
            ))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" Other objectives against the baseline: {}.", parts.join(", "))
    }
}

/// The feasible configurations the best is not significantly better than,
/// in a sentence (only replicates can tell).
fn ties(best: &Group, feasible: &[&Group], profile: &Profile, quality: &str) -> String {
    let mut tied: Vec<&&Group> = feasible
        .iter()
        .filter(|g| g.replicates.key != best.replicates.key)
        .filter(|g| welch(&best.quality, &g.quality).is_some_and(|d| d.1 <= 0.0))
        .collect();
    tied.sort_by(|a, b| b.quality.mean.total_cmp(&a.quality.mean));
    let tied: Vec<String> = tied
        .into_iter()
        .map(|g| {
            format!(
                "{} ({})",
                profile.trial_config(&g.replicates.trials[0]).describe(),
                num(g.quality.mean)
            )
        })
        .collect();
    if tied.is_empty() {
        return String::new();
    }
    let named: Vec<String> = tied.iter().take(TIES_NAMED).cloned().collect();
    format!(
        " It is not significantly better than {} other feasible configuration(s), e.g. {}: the choice \
         among them is within the noise of {quality}, and their other metrics may decide.",
        tied.len(),
        named.join("; ")
    )
}
