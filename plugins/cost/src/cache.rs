//! Exact-match caching: replay the requests in order and count those whose
//! prompt was already answered by the same configuration.

use aiopt_sdk::stats::bootstrap_interval;
use aiopt_sdk::{Domain, Profile, Proposal, Value};

use crate::substitute::estimate;
use crate::{usd, Settings, COST_METRIC};
use aiopt_sdk::served::ServedLog as Options;

pub(crate) fn propose(profile: &Profile, options: &Options, s: &Settings) -> Result<(f64, Proposal), String> {
    // Today's traffic: the baseline's requests, else all of them.
    let served: Vec<_> = match options.baseline {
        Some(i) => vec![&options.served[i]],
        None => options.served.iter().collect(),
    };
    let mut requests = 0;
    let mut with_prompt = 0;
    // Per record: (cost, 1 if a cache would have answered it).
    let mut replay: Vec<(f64, f64)> = Vec::new();
    for option in &served {
        let mut seen = std::collections::BTreeSet::new();
        for ((cost, _), (prompt, _)) in option.records.iter().zip(&option.prompts) {
            requests += 1;
            let hit = match prompt {
                Some(p) => {
                    with_prompt += 1;
                    !seen.insert(*p)
                }
                None => false,
            };
            replay.push((*cost, if hit { 1.0 } else { 0.0 }));
        }
    }
    if with_prompt == 0 {
        return Err(
            "Caching: needs request records with column prompt (a prompt id or hash) to tell repeats.".into(),
        );
    }
    let hits = replay.iter().filter(|r| r.1 > 0.0).count();
    if hits == 0 {
        return Err(format!(
            "Caching: no prompt repeats in the {requests} requests {}: an exact-match cache would not have hit.",
            if served.len() == 1 { format!("served by {}", served[0].label) } else { "recorded".to_string() }
        ));
    }
    let n = replay.len();
    let mean = |idx: &[usize], f: &dyn Fn(&(f64, f64)) -> f64| {
        idx.iter().map(|&i| f(&replay[i])).sum::<f64>() / idx.len() as f64
    };
    let all: Vec<usize> = (0..n).collect();
    let after = |r: &(f64, f64)| r.0 * (1.0 - r.1);
    let mut rng = aiopt_sdk::Rng::new(aiopt_sdk::Rng::derive(s.seed, 3));
    let (clo, chi) =
        bootstrap_interval(n, s.resamples, &mut rng, |idx| mean(idx, &after)).unwrap_or((f64::NAN, f64::NAN));
    let (hlo, hhi) = bootstrap_interval(n, s.resamples, &mut rng, |idx| mean(idx, &|r| r.1))
        .unwrap_or((f64::NAN, f64::NAN));
    let cost_after = mean(&all, &after);
    let cost_before = mean(&all, &|r| r.0);
    let hit_rate = hits as f64 / n as f64;
    // Turn on a cache flag knob when the space has one.
    let mut config = profile.baseline.clone();
    if let Some(flag) = profile
        .space
        .iter()
        .find(|p| matches!(p.domain, Domain::Flag) && p.name.contains("cache"))
    {
        if let Some(a) = config.iter_mut().find(|a| a.name == flag.name) {
            a.value = Value::Flag(true);
        }
    }
    Ok((
        cost_after,
        Proposal {
            title: "add an exact-match cache".into(),
            config,
            predicted: vec![
                estimate(COST_METRIC, (cost_after, clo, chi)),
                estimate("cache_hit_rate", (hit_rate, hlo, hhi)),
            ],
            rationale: format!(
                "Replaying {requests} requests in order, {hits} ({:.1}%) repeat a prompt already answered, so \
                 an exact-match cache keyed by the prompt would have served them: cost {} → {} per request \
                 (95% CI {}–{}), quality unchanged (the cached answer is the one given before).",
                100.0 * hit_rate,
                usd(cost_before),
                usd(cost_after),
                usd(clo),
                usd(chi)
            ),
        },
    ))
}
