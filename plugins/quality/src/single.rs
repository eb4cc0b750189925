//! The best single configuration: the served configuration with the
//! highest mean score among those that keep every constraint, proposed only
//! when it beats the baseline with a paired interval above zero.

use aiopt_sdk::served::Served;
use aiopt_sdk::{Proposal, Rng};

use crate::measure::{by_quality, cost_with_ci, difference, estimate, with_ci, Candidate};
use crate::{change, gain_metric, num, usd, Findings, Settings, COST_METRIC};

/// Proposes the best single configuration into `out`, or notes why not.
pub(crate) fn propose(
    candidates: &[Candidate],
    baseline: Option<&Served>,
    s: &Settings,
    rng: &mut Rng,
    out: &mut Findings,
) {
    let mut ranked: Vec<&Candidate> = candidates.iter().filter(|c| c.blocked.is_none()).collect();
    ranked.sort_by(by_quality);
    let Some(&best) = ranked.first() else {
        out.notes.push(format!(
            "Best single configuration: none of the {} served configurations keeps every constraint: {}.",
            candidates.len(),
            blocked_reasons(candidates)
        ));
        return;
    };
    let Some(m) = best.intervals(s, rng) else {
        return;
    };
    if baseline.is_some_and(|b| std::ptr::eq(best.served, b)) {
        out.notes.push(format!(
            "Best single configuration: the baseline {} already has the highest {} of the {} served \
             configurations that keep every constraint ({}).",
            best.served.label,
            s.quality,
            ranked.len(),
            with_ci(m.quality)
        ));
        return;
    }
    let gain = baseline.and_then(|b| Some((b, difference(best.served, b, s, rng)?)));
    if let Some((b, d)) = &gain {
        if !d.significant() {
            out.notes.push(format!(
                "Best single configuration: {} has {} {} against {} for the baseline {}, a difference of {}: \
                 {}, so it is not proposed.",
                best.served.label,
                s.quality,
                with_ci(m.quality),
                num(b.mean_score()),
                b.label,
                d.describe(),
                d.verdict()
            ));
            return;
        }
    }
    let runner_up = ranked.get(1).map(|r| runner_up(best, r, s, rng));
    let mut rationale = format!(
        "{} has the highest {} of the {} served configurations that keep every constraint: {} over {} \
         requests, at {} per request.",
        best.served.label,
        s.quality,
        ranked.len(),
        with_ci(m.quality),
        best.served.records.len(),
        cost_with_ci(m.cost)
    );
    let mut predicted = vec![estimate(&s.quality, m.quality)];
    if let Some(cost) = m.cost {
        predicted.push(estimate(COST_METRIC, cost));
    }
    match &gain {
        Some((b, d)) => {
            rationale.push_str(&format!(
                " Against the baseline {} ({} {}, {} per request): {} {} ({}), cost {}.",
                b.label,
                s.quality,
                num(b.mean_score()),
                usd(b.mean_cost()),
                s.quality,
                d.describe(),
                change(m.quality.0, b.mean_score()),
                change(m.cost.map_or(f64::NAN, |c| c.0), b.mean_cost())
            ));
            predicted.push(estimate(&gain_metric(&s.quality), d.ci));
        }
        None => rationale
            .push_str(" The baseline served no recorded request, so the gain over it is not measured."),
    }
    if let Some(sentence) = runner_up {
        rationale.push_str(&sentence);
    }
    if let (Some(rpd), Some(cost)) = (s.requests_per_day, m.cost) {
        predicted.push(estimate(
            "cost_per_day_usd",
            (cost.0 * rpd, cost.1 * rpd, cost.2 * rpd),
        ));
    }
    out.proposals.push((
        m.quality.0,
        Proposal {
            title: format!("switch to {}", best.served.label),
            config: best.served.config.clone(),
            predicted,
            rationale,
        },
    ));
}

/// Whether the best is significantly better than the runner-up, in a
/// sentence: if not, the choice between them is within the noise and the
/// runner-up's cost may decide.
fn runner_up(best: &Candidate, next: &Candidate, s: &Settings, rng: &mut Rng) -> String {
    let Some(d) = difference(best.served, next.served, s, rng) else {
        return String::new();
    };
    let verdict = if d.significant() {
        "significantly better"
    } else {
        "not significantly better: the choice between them is within the noise"
    };
    let cost = next.served.mean_cost();
    format!(
        " Over the runner-up {} ({} {}, {} per request) it is {}, {verdict}.",
        next.served.label,
        s.quality,
        num(next.mean),
        if cost.is_finite() {
            usd(cost)
        } else {
            "an unknown cost".into()
        },
        d.describe()
    )
}

/// Every configuration's reason, `label (reason)`, joined.
fn blocked_reasons(candidates: &[Candidate]) -> String {
    candidates
        .iter()
        .filter_map(|c| Some(format!("{} ({})", c.served.label, c.blocked.as_ref()?)))
        .collect::<Vec<_>>()
        .join("; ")
}
