//! Model substitution: the cheapest served configuration whose quality
//! keeps the floor.

use aiopt_sdk::stats::{bootstrap_interval, bootstrap_mean};
use aiopt_sdk::{Estimate, Proposal, Rng};

use crate::{change, num, usd, Settings, COST_METRIC};
use aiopt_sdk::served::{shared_prompts, Served, ServedLog as Options};

/// Mean and 95% interval of quality and cost over an option's records.
struct Measured<'a> {
    served: &'a Served,
    quality: (f64, f64, f64),
    cost: (f64, f64, f64),
}

fn measure<'a>(served: &'a Served, s: &Settings, rng: &mut Rng) -> Option<Measured<'a>> {
    let scores: Vec<f64> = served.records.iter().map(|r| r.1).collect();
    let costs: Vec<f64> = served.records.iter().map(|r| r.0).collect();
    Some(Measured {
        served,
        quality: bootstrap_mean(&scores, s.resamples, rng)?,
        cost: bootstrap_mean(&costs, s.resamples, rng)?,
    })
}

/// The proposal and its expected cost per request, or why there is none.
pub(crate) fn propose(options: &Options, s: &Settings, rng: &mut Rng) -> Result<(f64, Proposal), String> {
    let measured: Vec<Measured> = options.served.iter().filter_map(|o| measure(o, s, rng)).collect();
    let baseline = options.baseline.map(|i| &options.served[i]);
    let keeps = |m: &&Measured| m.quality.1 >= s.floor;
    let Some(best) = measured
        .iter()
        .filter(keeps)
        .filter(|m| baseline.is_none_or(|b| !std::ptr::eq(m.served, b)))
        .min_by(|a, b| {
            a.cost
                .0
                .total_cmp(&b.cost.0)
                .then(a.served.label.cmp(&b.served.label))
        })
    else {
        let closest = measured
            .iter()
            .max_by(|a, b| a.quality.1.total_cmp(&b.quality.1))
            .map(|m| {
                format!(
                    "; the closest, {}, has {} {} (95% CI {}–{})",
                    m.served.label,
                    s.quality,
                    num(m.quality.0),
                    num(m.quality.1),
                    num(m.quality.2)
                )
            })
            .unwrap_or_default();
        return Err(format!(
            "Substitution: no other served configuration keeps {} >= {} with 95% confidence{closest}.",
            s.quality,
            num(s.floor)
        ));
    };
    let mut rationale = format!(
        "{} costs {} per request (95% CI {}–{}) over {} requests, and its {} is {} (95% CI {}–{}), above the \
         floor {} ({}).",
        best.served.label,
        usd(best.cost.0),
        usd(best.cost.1),
        usd(best.cost.2),
        best.served.records.len(),
        s.quality,
        num(best.quality.0),
        num(best.quality.1),
        num(best.quality.2),
        num(s.floor),
        s.floor_source
    );
    if let Some(b) = baseline {
        let (b_cost, b_quality) = (b.mean_cost(), b.mean_score());
        if best.cost.0 >= b_cost {
            return Err(format!(
                "Substitution: the baseline {} is already the cheapest configuration that keeps {} >= {}.",
                b.label,
                s.quality,
                num(s.floor)
            ));
        }
        rationale.push_str(&format!(
            " Against the baseline {} ({} per request, {} {}): cost {}, {} {}.",
            b.label,
            usd(b_cost),
            s.quality,
            num(b_quality),
            change(best.cost.0, b_cost),
            s.quality,
            change(best.quality.0, b_quality)
        ));
        rationale.push_str(&paired_saving(best.served, b, s, rng));
    }
    let mut predicted = vec![
        estimate(COST_METRIC, best.cost),
        estimate(&s.quality, best.quality),
    ];
    if let Some(rpd) = s.requests_per_day {
        let (m, lo, hi) = best.cost;
        predicted.push(estimate("cost_per_day_usd", (m * rpd, lo * rpd, hi * rpd)));
        if let Some(b) = baseline {
            rationale.push_str(&format!(
                " At the profile's {} requests a day that saves {} a day.",
                num(rpd),
                usd((b.mean_cost() - m) * rpd)
            ));
        }
    }
    Ok((
        best.cost.0,
        Proposal {
            title: format!("switch to {}", best.served.label),
            config: best.served.config.clone(),
            predicted,
            rationale,
        },
    ))
}

/// The saving per request against the baseline on the prompts both
/// answered, with its paired interval.
fn paired_saving(option: &Served, baseline: &Served, s: &Settings, rng: &mut Rng) -> String {
    let prompts = shared_prompts(option, baseline);
    let diffs: Vec<f64> = prompts
        .iter()
        .map(|p| baseline.by_prompt[p].0 - option.by_prompt[p].0)
        .collect();
    let quality: Vec<f64> = prompts
        .iter()
        .map(|p| option.by_prompt[p].1 - baseline.by_prompt[p].1)
        .collect();
    let mean = |v: &[f64], idx: &[usize]| idx.iter().map(|&i| v[i]).sum::<f64>() / idx.len() as f64;
    let (Some((lo, hi)), Some((qlo, qhi))) = (
        bootstrap_interval(diffs.len(), s.resamples, rng, |idx| mean(&diffs, idx)),
        bootstrap_interval(quality.len(), s.resamples, rng, |idx| mean(&quality, idx)),
    ) else {
        return String::new();
    };
    let all: Vec<usize> = (0..diffs.len()).collect();
    format!(
        " On the {} prompts both answered it saves {} per request (95% CI {}–{}) with a {} difference of \
         {} (95% CI {} to {}).",
        prompts.len(),
        usd(mean(&diffs, &all)),
        usd(lo),
        usd(hi),
        s.quality,
        num(mean(&quality, &all)),
        num(qlo),
        num(qhi)
    )
}

pub(crate) fn estimate(metric: &str, (value, low, high): (f64, f64, f64)) -> Estimate {
    Estimate {
        metric: metric.to_string(),
        value,
        low,
        high,
    }
}
