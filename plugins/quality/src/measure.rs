//! What every strategy of the records path shares: each served
//! configuration measured over all its requests and checked against the
//! constraints, the training-half favourite, and paired comparisons.

use aiopt_sdk::served::{held_out, shared_prompts, Served, ServedLog};
use aiopt_sdk::stats::bootstrap_interval;
use aiopt_sdk::{summarize, Config, Constraint, Estimate, Profile, Rng, TrialView};

use crate::{gain_metric, num, signed, usd, Settings, COST_METRIC};

/// A mean and its 95% interval: (value, low, high).
pub(crate) type Ci = (f64, f64, f64);

/// Fewest paired prompts a comparison rests on: below that, an interval
/// says little and a learned choice is not measured at all.
pub(crate) const MIN_PROMPTS: usize = 20;

/// Quality and cost intervals of one served configuration or ensemble.
#[derive(Clone, Copy)]
pub(crate) struct Intervals {
    pub quality: Ci,
    /// `None` when some of its records have no cost.
    pub cost: Option<Ci>,
}

/// One served configuration, measured over all its requests.
pub(crate) struct Candidate<'a> {
    pub served: &'a Served,
    /// Mean score over its records.
    pub mean: f64,
    /// Its intervals, when a bound needed them or it is the strongest (see
    /// [`candidates`]); [`Candidate::intervals`] fills the gap.
    pub measured: Option<Intervals>,
    /// Why it cannot take part in an ensemble: a constraint on a metric the
    /// records do not measure that its observations do not show it keeps,
    /// or a budget to keep and no cost. `None`: it can.
    pub unfit: Option<String>,
    /// Why it cannot be proposed on its own: `unfit`, or its own quality or
    /// cost breaking a bound. `None`: it can.
    pub blocked: Option<String>,
}

impl Candidate<'_> {
    /// The mean score over its training-half prompts (`None` if it answered
    /// none of them).
    pub(crate) fn train_score(&self, seed: u64) -> Option<f64> {
        mean_over(self.served, |p| !held_out(p, seed)).map(|m| m.0)
    }

    /// Its intervals, bootstrapped now if they were not before.
    pub(crate) fn intervals(&self, s: &Settings, rng: &mut Rng) -> Option<Intervals> {
        self.measured.or_else(|| measure(self.served, s, rng))
    }
}

/// Mean score, mean cost and count of `served`'s prompts that `keep`
/// selects.
pub(crate) fn mean_over(served: &Served, keep: impl Fn(u64) -> bool) -> Option<(f64, f64, usize)> {
    let (q, c, n) = served
        .by_prompt
        .iter()
        .filter(|(p, _)| keep(**p))
        .fold((0.0, 0.0, 0usize), |(q, c, n), (_, (cost, score))| {
            (q + score, c + cost, n + 1)
        });
    (n > 0).then(|| (q / n as f64, c / n as f64, n))
}

/// Quality and cost intervals over `served`'s records, from one set of
/// resamples.
fn measure(served: &Served, s: &Settings, rng: &mut Rng) -> Option<Intervals> {
    let rows: Vec<[f64; 2]> = served.records.iter().map(|r| [r.1, r.0]).collect();
    let [quality, cost] = intervals(&rows, s, rng)?;
    Some(Intervals {
        quality,
        cost: known(&rows, 1, cost),
    })
}

/// `ci` when column `k` of every row is finite (a known cost), else `None`.
pub(crate) fn known<const K: usize>(rows: &[[f64; K]], k: usize, ci: Ci) -> Option<Ci> {
    rows.iter().all(|r| r[k].is_finite()).then_some(ci)
}

/// Every served configuration, with whether it keeps the constraints.
///
/// Bootstrapping is the expensive part (the plugin runs on a fuel budget),
/// so it is done only where it decides something. A mean that already
/// breaks a bound decides alone (a 95% interval contains its mean); a mean
/// that keeps one is judged on its interval. Without bounds, only the
/// strongest configuration is measured here (it is the one reported).
pub(crate) fn candidates<'a>(
    profile: &Profile,
    log: &'a ServedLog,
    s: &Settings,
    rng: &mut Rng,
) -> Vec<Candidate<'a>> {
    let bounded = s.floor.is_some() || s.budget.is_some();
    let mut out: Vec<Candidate> = log
        .served
        .iter()
        .map(|served| {
            let cost = served.mean_cost();
            let unfit = other_constraints(profile, &served.config, &s.others).or_else(|| {
                (s.budget.is_some() && !cost.is_finite())
                    .then(|| "some of its records have no cost_usd".into())
            });
            let mean = served.mean_score();
            let blocked = unfit.clone().or_else(|| s.breaks_on_means(mean, cost));
            Candidate {
                served,
                mean,
                measured: None,
                unfit,
                blocked,
            }
        })
        .collect();
    out.sort_by(|a, b| by_quality(&a, &b));
    let judged = if bounded { usize::MAX } else { 1 };
    for c in out.iter_mut().filter(|c| c.blocked.is_none()).take(judged) {
        c.measured = measure(c.served, s, rng);
        c.blocked = match c.measured {
            Some(m) => s.breaks(m.quality, m.cost),
            None => Some("it has no record to measure".into()),
        };
    }
    out
}

/// Why `config` is not shown to keep the constraints in `others` (on
/// metrics the request records do not measure), judged on the mean of its
/// complete observations; `None` when it keeps them all.
fn other_constraints(profile: &Profile, config: &Config, others: &[Constraint]) -> Option<String> {
    if others.is_empty() {
        return None;
    }
    let key = profile.config_key(config);
    let trials: Vec<TrialView> = profile
        .completed_trials()
        .filter(|t| key.as_ref() == Some(&t.key()))
        .collect();
    others.iter().find_map(|c| {
        match profile
            .metric_index(&c.metric)
            .and_then(|k| summarize(&trials, k))
        {
            None => Some(format!(
                "no observation of {} shows it keeps {}",
                c.metric,
                bound(c)
            )),
            Some(m) if !c.is_satisfied_by(m.mean) => Some(format!(
                "its observed {} {} breaks {}",
                c.metric,
                num(m.mean),
                bound(c)
            )),
            Some(_) => None,
        }
    })
}

/// A constraint in words: `latency_p95_ms <= 250`.
pub(crate) fn bound(c: &Constraint) -> String {
    match (c.low, c.high) {
        (Some(l), Some(h)) => format!("{} in [{}, {}]", c.metric, num(l), num(h)),
        (Some(l), None) => format!("{} >= {}", c.metric, num(l)),
        (None, Some(h)) => format!("{} <= {}", c.metric, num(h)),
        (None, None) => format!("{} (unbounded)", c.metric),
    }
}

/// The configuration that keeps every constraint on its own with the
/// highest mean score on the training half: what learned ensembles must
/// beat on the held-out half (chosen on the same half they learn on, so
/// neither side has seen the held-out prompts).
pub(crate) fn train_best<'a, 'b>(candidates: &'b [Candidate<'a>], seed: u64) -> Option<&'b Candidate<'a>> {
    candidates
        .iter()
        .filter(|c| c.blocked.is_none())
        .filter_map(|c| Some((c, c.train_score(seed)?)))
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.served.label.cmp(&a.0.served.label)))
        .map(|(c, _)| c)
}

/// The order of strongest first: mean quality, then label.
pub(crate) fn by_quality(a: &&Candidate, b: &&Candidate) -> std::cmp::Ordering {
    b.mean
        .total_cmp(&a.mean)
        .then(a.served.label.cmp(&b.served.label))
}

/// A quality difference `a − b` and what it rests on.
pub(crate) struct Difference {
    pub ci: Ci,
    /// Prompts both answered (paired), or 0 when compared unpaired.
    pub paired: usize,
}

impl Difference {
    /// Whether the whole interval lies above zero.
    pub(crate) fn significant(&self) -> bool {
        self.ci.1 > 0.0
    }

    /// The difference in words: significantly better, worse, or neither.
    pub(crate) fn verdict(&self) -> &'static str {
        if self.significant() {
            "a significant improvement"
        } else if self.ci.2 < 0.0 {
            "significantly worse"
        } else {
            "not a significant improvement"
        }
    }

    /// "+0.2050 (95% CI +0.1843 to +0.2261) on the 805 prompts both answered".
    pub(crate) fn describe(&self) -> String {
        let on = if self.paired > 0 {
            format!("on the {} prompts both answered", self.paired)
        } else {
            "unpaired (no prompt answered by both)".to_string()
        };
        format!(
            "{} (95% CI {} to {}) {on}",
            signed(self.ci.0),
            signed(self.ci.1),
            signed(self.ci.2)
        )
    }
}

/// Quality of `a` minus quality of `b`: paired over the prompts both
/// answered when there are at least [`MIN_PROMPTS`] of them, else unpaired
/// over their records (two independent resamples). `None` when either has
/// no record.
pub(crate) fn difference(a: &Served, b: &Served, s: &Settings, rng: &mut Rng) -> Option<Difference> {
    let shared = shared_prompts(a, b);
    if shared.len() >= MIN_PROMPTS {
        let diffs: Vec<[f64; 1]> = shared
            .iter()
            .map(|p| [a.by_prompt[p].1 - b.by_prompt[p].1])
            .collect();
        let [ci] = intervals(&diffs, s, rng)?;
        return Some(Difference {
            ci,
            paired: shared.len(),
        });
    }
    let scores = |x: &Served| x.records.iter().map(|r| r.1).collect::<Vec<f64>>();
    let (qa, qb) = (scores(a), scores(b));
    if qa.is_empty() || qb.is_empty() {
        return None;
    }
    let mean = |v: &[f64], idx: &[usize]| idx.iter().map(|&i| v[i]).sum::<f64>() / idx.len() as f64;
    let all = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    // Independent resamples of each side: draw b's indices inside a's
    // statistic, one b resample per a resample.
    let mut other = Rng::new(rng.next_u64());
    let (low, high) = bootstrap_interval(qa.len(), s.resamples, rng, |idx| {
        let b_idx: Vec<usize> = (0..qb.len()).map(|_| other.index(qb.len())).collect();
        mean(&qa, idx) - mean(&qb, &b_idx)
    })?;
    Some(Difference {
        ci: (all(&qa) - all(&qb), low, high),
        paired: 0,
    })
}

/// Means and 95% percentile-bootstrap intervals of the `K` columns of
/// `rows`, all from the same resamples of rows (so statistics of one row,
/// like two options' scores on one prompt, stay paired, and one draw of
/// indices serves every column). The resampling is
/// `stats::bootstrap_interval`'s, and so is the percentile rule. `None`
/// when there are no rows.
pub(crate) fn intervals<const K: usize>(rows: &[[f64; K]], s: &Settings, rng: &mut Rng) -> Option<[Ci; K]> {
    let mut resampled: Vec<[f64; K]> = Vec::with_capacity(s.resamples);
    bootstrap_interval(rows.len(), s.resamples, rng, |idx| {
        let mut sums = [0.0; K];
        for &i in idx {
            for (sum, x) in sums.iter_mut().zip(&rows[i]) {
                *sum += x;
            }
        }
        let means = sums.map(|x| x / idx.len() as f64);
        resampled.push(means);
        means[0]
    })?;
    let n = rows.len() as f64;
    let mut out = [(0.0, 0.0, 0.0); K];
    for (k, ci) in out.iter_mut().enumerate() {
        let mut column: Vec<f64> = resampled.iter().map(|m| m[k]).collect();
        column.sort_by(f64::total_cmp);
        let at = |q: f64| column[((column.len() - 1) as f64 * q).round() as usize];
        *ci = (rows.iter().map(|r| r[k]).sum::<f64>() / n, at(0.025), at(0.975));
    }
    Some(out)
}

/// The gain of an ensemble over the baseline, from (ensemble score,
/// baseline score if it answered) per prompt: paired over the prompts the
/// baseline answered, `None` when fewer than [`MIN_PROMPTS`].
pub(crate) fn over_baseline(
    rows: impl Iterator<Item = (f64, Option<f64>)>,
    s: &Settings,
    rng: &mut Rng,
) -> Option<Difference> {
    let diffs: Vec<[f64; 1]> = rows.filter_map(|(q, b)| Some([q - b?])).collect();
    if diffs.len() < MIN_PROMPTS {
        return None;
    }
    let [ci] = intervals(&diffs, s, rng)?;
    Some(Difference {
        ci,
        paired: diffs.len(),
    })
}

/// The predictions of a policy measured on held-out prompts (routing,
/// best-of-n): quality, cost when every member's is known, and the gain
/// over the baseline, whose sentence goes into `rationale`.
pub(crate) fn held_out_estimates(
    s: &Settings,
    quality: Ci,
    cost: Option<Ci>,
    over_baseline: Option<&Difference>,
    rationale: &mut String,
) -> Vec<Estimate> {
    let mut predicted = vec![estimate(&s.quality, quality)];
    if let Some(cost) = cost {
        predicted.push(estimate(COST_METRIC, cost));
    }
    match over_baseline {
        Some(d) => {
            rationale.push_str(&format!(" Against the baseline: {} {}.", s.quality, d.describe()));
            predicted.push(estimate(&gain_metric(&s.quality), d.ci));
        }
        None => {
            rationale.push_str(" The baseline answered too few of these prompts to measure the gain over it.")
        }
    }
    predicted
}

pub(crate) fn estimate(metric: &str, (value, low, high): Ci) -> Estimate {
    Estimate {
        metric: metric.to_string(),
        value,
        low,
        high,
    }
}

/// "0.7050 (95% CI 0.6863–0.7231)".
pub(crate) fn with_ci(ci: Ci) -> String {
    format!("{} (95% CI {}–{})", num(ci.0), num(ci.1), num(ci.2))
}

/// "$0.0001740 (95% CI $0.0001690–$0.0001790)", or "an unknown cost".
pub(crate) fn cost_with_ci(ci: Option<Ci>) -> String {
    match ci {
        Some(c) => format!("{} (95% CI {}–{})", usd(c.0), usd(c.1), usd(c.2)),
        None => "an unknown cost (records without cost_usd)".into(),
    }
}
