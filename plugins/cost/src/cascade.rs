//! Cascades (FrugalGPT's LLM cascade): answer with a cheap configuration,
//! score the answer, and escalate to a stronger configuration when the
//! score is below a threshold.
//!
//! The target is the strongest served configuration's quality: the question
//! a cascade answers is "that quality, for less". For every cheaper option,
//! the threshold is the one that meets the target at the lowest cost on the
//! training half of the prompts both options answered; the cascade is then
//! measured on the held-out half, which is what the proposal reports (so
//! the threshold is not judged on the data that chose it).
//!
//! The escalation decision uses the recorded score of the cheap answer. In
//! production that score must come from a scorer (a judge model or a
//! verifier) as good as the one that produced the records; its cost per
//! request is the `scorer_cost_usd` option (0 unless set), and the
//! rationale says so.

use aiopt_sdk::stats::bootstrap_interval;
use aiopt_sdk::{Proposal, Rng};

use crate::substitute::estimate;
use crate::{change, num, usd, Settings, COST_METRIC};
use aiopt_sdk::served::{held_out, shared_prompts, Served, ServedLog as Options};

/// One prompt as both options answered it: (cheap cost, cheap score,
/// strong cost, strong score).
type Pair = (f64, f64, f64, f64);

/// Mean cost and quality of the cascade with threshold `t` on `pairs`.
fn run(pairs: &[Pair], t: f64, scorer: f64) -> (f64, f64) {
    let n = pairs.len() as f64;
    let (cost, quality) = pairs.iter().fold((0.0, 0.0), |(c, q), p| {
        if p.1 < t {
            (c + p.0 + scorer + p.2, q + p.3)
        } else {
            (c + p.0 + scorer, q + p.1)
        }
    });
    (cost / n, quality / n)
}

/// The cheapest threshold on `train` whose quality reaches `target`
/// (`None` if even escalating everything does not).
fn learn(train: &[Pair], target: f64, scorer: f64) -> Option<f64> {
    let mut thresholds: Vec<f64> = train.iter().map(|p| p.1).collect();
    thresholds.push(f64::INFINITY);
    thresholds.sort_by(f64::total_cmp);
    thresholds.dedup();
    // Raising the threshold escalates more prompts: cost only grows, so the
    // first threshold that reaches the target is the cheapest.
    std::iter::once(f64::NEG_INFINITY)
        .chain(thresholds)
        .find(|&t| run(train, t, scorer).1 >= target)
}

/// A learned cascade measured on held-out prompts.
struct Measured<'a> {
    cheap: &'a Served,
    threshold: f64,
    train: usize,
    test: Vec<Pair>,
    cost: (f64, f64, f64),
    quality: (f64, f64, f64),
    /// Cascade quality minus the strong option's, per held-out prompt.
    difference: (f64, f64, f64),
    strong_cost: f64,
    strong_quality: f64,
}

impl Measured<'_> {
    fn escalated(&self) -> f64 {
        self.test.iter().filter(|p| p.1 < self.threshold).count() as f64 / self.test.len() as f64
    }

    /// Held-out evidence that it keeps the floor and is not worse than the
    /// strong option alone.
    fn holds(&self, floor: f64) -> bool {
        self.quality.1 >= floor && self.difference.2 >= 0.0 && self.cost.0 < self.strong_cost
    }
}

/// Learns the threshold for `cheap` → `strong` on the training prompts and
/// measures the cascade on the held-out ones.
fn measure<'a>(cheap: &'a Served, strong: &Served, s: &Settings, rng: &mut Rng) -> Option<Measured<'a>> {
    let pair = |p: &u64| {
        let (cc, cq) = cheap.by_prompt[p];
        let (sc, sq) = strong.by_prompt[p];
        (cc, cq, sc, sq)
    };
    let prompts = shared_prompts(cheap, strong);
    let (test_prompts, train_prompts): (Vec<u64>, Vec<u64>) =
        prompts.iter().partition(|p| held_out(**p, s.seed));
    let train: Vec<Pair> = train_prompts.iter().map(pair).collect();
    let test: Vec<Pair> = test_prompts.iter().map(pair).collect();
    if train.len() < 20 || test.len() < 20 {
        return None;
    }
    let target = train.iter().map(|p| p.3).sum::<f64>() / train.len() as f64;
    let t = learn(&train, target, s.scorer_cost)?;
    let scorer = s.scorer_cost;
    let cost = move |p: &Pair| p.0 + scorer + if p.1 < t { p.2 } else { 0.0 };
    let quality = move |p: &Pair| if p.1 < t { p.3 } else { p.1 };
    let mut interval = |value: &dyn Fn(&Pair) -> f64| {
        let mean = |idx: &[usize]| idx.iter().map(|&i| value(&test[i])).sum::<f64>() / idx.len() as f64;
        let all: Vec<usize> = (0..test.len()).collect();
        let (low, high) = bootstrap_interval(test.len(), s.resamples, rng, mean)?;
        Some((mean(&all), low, high))
    };
    let cost_ci = interval(&cost)?;
    let quality_ci = interval(&quality)?;
    let difference = interval(&|p: &Pair| quality(p) - p.3)?;
    let n = test.len() as f64;
    Some(Measured {
        cheap,
        threshold: t,
        train: train.len(),
        cost: cost_ci,
        quality: quality_ci,
        difference,
        strong_cost: test.iter().map(|p| p.2).sum::<f64>() / n,
        strong_quality: test.iter().map(|p| p.3).sum::<f64>() / n,
        test,
    })
}

pub(crate) fn propose(options: &Options, s: &Settings, rng: &mut Rng) -> Result<(f64, Proposal), String> {
    let strong = options
        .served
        .iter()
        .max_by(|a, b| {
            a.mean_score()
                .total_cmp(&b.mean_score())
                .then(b.label.cmp(&a.label))
        })
        .ok_or("Cascade: no served configuration.")?;
    let measured: Vec<Measured> = options
        .served
        .iter()
        .filter(|o| o.mean_cost() < strong.mean_cost())
        .filter_map(|cheap| measure(cheap, strong, s, rng))
        .collect();
    let cheapest = |m: &&Measured| m.cost.0;
    let Some(f) = measured
        .iter()
        .filter(|m| m.holds(s.floor))
        .min_by(|a, b| cheapest(a).total_cmp(&cheapest(b)))
    else {
        let tried = measured
            .iter()
            .min_by(|a, b| cheapest(a).total_cmp(&cheapest(b)))
            .map(|m| {
                format!(
                    " The cheapest learned, {} escalating below score {}, had {} {} on {} held-out prompts                      (95% CI {}–{}) against {} for {} alone (difference 95% CI {} to {}) at {} per request.",
                    m.cheap.label,
                    num(m.threshold),
                    s.quality,
                    num(m.quality.0),
                    m.test.len(),
                    num(m.quality.1),
                    num(m.quality.2),
                    num(m.strong_quality),
                    strong.label,
                    num(m.difference.1),
                    num(m.difference.2),
                    usd(m.cost.0)
                )
            })
            .unwrap_or_default();
        return Err(format!(
            "Cascade: no cascade into {} held up on held-out prompts (keeping the floor and not worse than {}              alone, for less).{tried}",
            strong.label, strong.label
        ));
    };
    let t = f.threshold;
    let rule = if t.is_infinite() {
        "always".to_string()
    } else {
        format!("when its score is below {}", num(t))
    };
    let mut rationale = format!(
        "Answer with {cheap} and escalate to {strong} {rule} (threshold learned on {train} prompts, measured \
         on {n} held-out ones): {share:.1}% of requests escalate; cost {cost} per request (95% CI {clo}–{chi}) \
         against {strong_cost} for {strong} alone ({saving}), {quality_name} {quality} (95% CI {qlo}–{qhi}) \
         against {strong_quality} (difference 95% CI {dlo} to {dhi}). The decision uses the cheap answer's \
         recorded score: in production a scorer must produce it",
        cheap = f.cheap.label,
        strong = strong.label,
        train = f.train,
        n = f.test.len(),
        share = 100.0 * f.escalated(),
        cost = usd(f.cost.0),
        clo = usd(f.cost.1),
        chi = usd(f.cost.2),
        strong_cost = usd(f.strong_cost),
        saving = change(f.cost.0, f.strong_cost),
        quality_name = s.quality,
        quality = num(f.quality.0),
        qlo = num(f.quality.1),
        qhi = num(f.quality.2),
        strong_quality = num(f.strong_quality),
        dlo = num(f.difference.1),
        dhi = num(f.difference.2),
    );
    if s.scorer_cost > 0.0 {
        rationale.push_str(&format!(
            ", and its {} per request is included.",
            usd(s.scorer_cost)
        ));
    } else {
        rationale.push_str(", whose cost is not included (set the scorer_cost_usd option).");
    }
    if let Some(b) = options.baseline.map(|i| &options.served[i]) {
        rationale.push_str(&format!(
            " Against the baseline {} ({} per request): cost {}.",
            b.label,
            usd(b.mean_cost()),
            change(f.cost.0, b.mean_cost())
        ));
    }
    let share = f.escalated();
    Ok((
        f.cost.0,
        Proposal {
            title: format!(
                "cascade: {} first, {} {}",
                f.cheap.label,
                strong.label,
                if t.is_infinite() {
                    "always".to_string()
                } else {
                    format!("below score {}", num(t))
                }
            ),
            config: f.cheap.config.clone(),
            predicted: vec![
                estimate(COST_METRIC, f.cost),
                estimate(&s.quality, f.quality),
                estimate("escalation_share", (share, share, share)),
            ],
            rationale,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cheapest_threshold_that_reaches_the_target_is_learned() {
        // Cheap answers: good (0.9) or bad (0.1); strong always 0.8.
        let pairs: Vec<Pair> = (0..10)
            .map(|i| {
                if i < 7 {
                    (1.0, 0.9, 10.0, 0.8)
                } else {
                    (1.0, 0.1, 10.0, 0.8)
                }
            })
            .collect();
        // Never escalating: quality 0.66; escalating the bad three: 0.87.
        assert_eq!(learn(&pairs, 0.6, 0.0), Some(f64::NEG_INFINITY));
        let t = learn(&pairs, 0.8, 0.0).unwrap();
        assert!(t > 0.1 && t <= 0.9, "{t}");
        let (cost, quality) = run(&pairs, t, 0.0);
        assert!(
            (cost - 4.0).abs() < 1e-12 && (quality - 0.87).abs() < 1e-12,
            "{cost} {quality}"
        );
        // Unreachable target.
        assert_eq!(learn(&pairs, 0.95, 0.0), None);
    }
}
